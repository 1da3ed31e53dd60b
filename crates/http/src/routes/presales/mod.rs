//! Presales: gifts sold before they can be delivered.

pub mod dto;

use std::sync::Arc;

use app::ports::reads::PresaleFilter;
use app::presales::buy::{BuyPresale, BuyPresaleCommand};
use app::presales::delete::{DeletePresale, DeletePresaleCommand};
use app::presales::deliver::{DeliverPresale, DeliverPresaleCommand};
use app::presales::new::{NewPresale, NewPresaleCommand};
use app::presales::set_price::{SetPresalePrice, SetPresalePriceCommand};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::Duration;
use domain::{PresaleId, PresaleStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::dto::*;
use super::text;
use crate::auth::{CurrentUser, Staff};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery, IdemJson};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(create))
        .routes(routes!(set_price))
        .routes(routes!(delete))
        .routes(routes!(buy))
        .routes(routes!(deliver))
}

/// Presales, newest first; filter by status and seller (`me` or an id).
#[utoipa::path(get, path = "/api/presales", tag = "presales", security(("tma" = [])), params(PresaleListParams),
    responses((status = 200, body = PresalePage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<PresaleListParams>,
) -> Result<Json<PresalePage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(PresaleStatus::parse(s).ok_or_else(|| ApiError::field("status", "is not a presale status"))?),
    };
    let seller = match q.seller.as_deref() {
        None => None,
        Some("me") => Some(user.id),
        Some(id) => Some(super::user_id("seller", id)?),
    };
    let found = state.reads.presales(&PresaleFilter { status, seller }, page).await?;
    let items = found.items.into_iter().map(|p| PresaleDto::new(p, Some(user.id))).collect();
    Ok(Json(PresalePage { items, next_cursor: found.next_cursor }))
}

/// One presale (public fields; the buyer is shown to seller and buyer only).
#[utoipa::path(get, path = "/api/presales/{id}", tag = "presales", security(("tma" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = PresaleDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<PresaleDto>, ApiError> {
    let p = state.reads.presale(PresaleId(id)).await?.ok_or_else(|| ApiError::not_found("no such presale"))?;
    Ok(Json(PresaleDto::new(p, Some(user.id))))
}

/// Sell a gift you will deliver later; `PRESALE_COLLATERAL_PERCENT` of the price is held from you.
#[utoipa::path(post, path = "/api/presale/new", tag = "presales", security(("tma" = [])), request_body = NewPresaleRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 201, body = PresaleDto), (status = 401, body = Problem), (status = 409, description = "insufficient_funds", body = Problem),
        (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<NewPresaleRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let now = state.ctx.services.now();
    if req.deliver_by < now + Duration::hours(1) || req.deliver_by > now + Duration::days(60) {
        return Err(ApiError::field("deliver_by", "must be between 1 hour and 60 days ahead"));
    }
    let cmd = NewPresaleCommand {
        seller: user.id,
        title: text("title", &req.title, 200)?,
        collection: text("collection", &req.collection, 200)?,
        price: req.price.0,
        deliver_by: req.deliver_by,
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let p = NewPresale::new(ctx.uows(), ctx.services(), ctx.rules.collateral_percent).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::CREATED, &PresaleDto::new(p, None)).await)
}

/// Change the price while unsold; the collateral is re-held at the new price.
#[utoipa::path(post, path = "/api/presale/set-price", tag = "presales", security(("tma" = [])), request_body = SetPresalePriceRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = PresaleDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "presale_sold, insufficient_funds", body = Problem), (status = 422, body = Problem)))]
pub async fn set_price(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<SetPresalePriceRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = SetPresalePriceCommand {
        seller: user.id,
        presale_id: PresaleId(req.presale_id),
        price: req.price.0,
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let p = SetPresalePrice::new(ctx.uows(), ctx.services(), ctx.rules.collateral_percent).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &PresaleDto::new(p, None)).await)
}

/// Delete an unsold presale; the collateral is released.
#[utoipa::path(post, path = "/api/presale/delete", tag = "presales", security(("tma" = [])), request_body = PresaleIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = PresaleDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "presale_sold", body = Problem)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<PresaleIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = DeletePresaleCommand { seller: user.id, presale_id: PresaleId(req.presale_id), idempotency: key.clone() };
    let p = DeletePresale::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &PresaleDto::new(p, None)).await)
}

/// Buy a presale: the price is held until delivery (or refunded with compensation at the deadline).
#[utoipa::path(post, path = "/api/presale/buy", tag = "presales", security(("tma" = [])), request_body = BuyPresaleRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = PresaleDto), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "own_item, presale_sold, price_changed, insufficient_funds", body = Problem), (status = 422, body = Problem)))]
pub async fn buy(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<BuyPresaleRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = BuyPresaleCommand {
        buyer: user.id,
        presale_id: PresaleId(req.presale_id),
        expected_price: req.expected_price.map(|a| a.0),
        idempotency: key.clone(),
    };
    let p = BuyPresale::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &PresaleDto::new(p, None)).await)
}

/// Staff: the gift arrived. An NFT is created for the buyer, the seller is paid and their collateral released.
#[utoipa::path(post, path = "/api/admin/presales/{id}/deliver", tag = "admin", security(("staff" = [])), params(crate::extract::IdempotencyKeyHeader, ("id" = Uuid, Path)),
    request_body = DeliverPresaleRequest,
    responses((status = 200, body = DeliveredPresale), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "presale_not_sold, duplicate (gift id)", body = Problem), (status = 422, body = Problem)))]
pub async fn deliver(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    idem: IdemJson<DeliverPresaleRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = deliver_command(staff.actor, id, &req.gift_id, key.clone())?;
    let ctx = &state.ctx;
    let (presale, nft) = DeliverPresale::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await?;
    let body = DeliveredPresale { presale: PresaleDto::new(presale, None), nft: nft.into() };
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body).await)
}

/// What delivering presale `id` as gift `gift_id` asks of the use case, by `actor` (the API and
/// the console alike).
pub(crate) fn deliver_command(
    actor: String,
    id: Uuid,
    gift_id: &str,
    idempotency: Option<app::idempotency::IdempotencyKey>,
) -> Result<DeliverPresaleCommand, ApiError> {
    Ok(DeliverPresaleCommand { actor, presale_id: PresaleId(id), gift_id: text("gift_id", gift_id, 200)?, idempotency })
}
