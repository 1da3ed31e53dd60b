//! Channel sales: public while listed, private to their two parties once sold.

pub mod dto;

use std::sync::Arc;

use app::channels::buy::{BuyChannel, BuyChannelCommand};
use app::channels::confirm::{ConfirmChannelSale, ConfirmChannelSaleCommand};
use app::channels::delete::{DeleteChannelListing, DeleteChannelListingCommand};
use app::channels::list::{ListChannel, ListChannelCommand};
use app::channels::resolve::{ChannelOutcome, ResolveChannelSale, ResolveChannelSaleCommand};
use app::channels::set_price::{SetChannelPrice, SetChannelPriceCommand};
use app::ports::reads::ChannelFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::{ChannelRef, ChannelSaleId, ChannelSaleStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::dto::*;
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
        .routes(routes!(confirm))
        .routes(routes!(resolve))
}

/// Listed channels, and your own listings and sales, newest first.
#[utoipa::path(get, path = "/api/channels", tag = "channels", security(("tma" = [])), params(ChannelListParams),
    responses((status = 200, body = ChannelSalePage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<ChannelListParams>,
) -> Result<Json<ChannelSalePage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => {
            Some(ChannelSaleStatus::parse(s).ok_or_else(|| ApiError::field("status", "is not a channel sale status"))?)
        }
    };
    Ok(Json(state.reads.channel_sales(&ChannelFilter { viewer: user.id, status }, page).await?.into()))
}

/// A listed channel, or one of your sales (someone else's sale is 404).
#[utoipa::path(get, path = "/api/channels/{id}", tag = "channels", security(("tma" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ChannelSaleDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ChannelSaleDto>, ApiError> {
    let sale = state
        .reads
        .channel_sale(ChannelSaleId(id))
        .await?
        .filter(|s| s.visible_to(user.id))
        .ok_or_else(|| ApiError::not_found("no such channel sale"))?;
    Ok(Json(sale.into()))
}

/// List a channel you created, with the marketplace bot as an administrator (checked with
/// Telegram). Nothing is held from you.
#[utoipa::path(post, path = "/api/channels/new", tag = "channels", security(("tma" = [])), request_body = NewChannelRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 201, body = ChannelSaleDto), (status = 401, body = Problem),
        (status = 409, description = "channel_listed", body = Problem),
        (status = 422, description = "validation_failed, channel_not_verified", body = Problem),
        (status = 503, description = "Telegram cannot be asked now", body = Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<NewChannelRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let channel = ChannelRef::parse(&req.channel).map_err(|m| ApiError::field("channel", m))?;
    let description = match req.description {
        Some(d) => domain::text::paragraph(&d, 2000).map_err(|m| ApiError::field("description", m))?,
        None => None,
    };
    let cmd =
        ListChannelCommand { seller: user.id, channel, price: req.price.0, description, idempotency: key.clone() };
    let ctx = &state.ctx;
    let sale = ListChannel::new(ctx.uows(), ctx.services(), ctx.channels.clone()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::CREATED, &ChannelSaleDto::from(sale)).await)
}

/// Change the price of your listed channel.
#[utoipa::path(post, path = "/api/channels/set-price", tag = "channels", security(("tma" = [])), request_body = SetChannelPriceRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = ChannelSaleDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "not_for_sale", body = Problem), (status = 422, body = Problem)))]
pub async fn set_price(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<SetChannelPriceRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let price = req.price;
    let cmd = SetChannelPriceCommand {
        seller: user.id,
        sale_id: ChannelSaleId(req.channel_sale_id),
        price: price.0,
        idempotency: key.clone(),
    };
    let sale = SetChannelPrice::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &ChannelSaleDto::from(sale)).await)
}

/// Withdraw your listed channel.
#[utoipa::path(post, path = "/api/channels/delete", tag = "channels", security(("tma" = [])), request_body = ChannelSaleIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = ChannelSaleDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "not_for_sale", body = Problem), (status = 422, body = Problem)))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<ChannelSaleIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = DeleteChannelListingCommand {
        seller: user.id,
        sale_id: ChannelSaleId(req.channel_sale_id),
        idempotency: key.clone(),
    };
    let sale = DeleteChannelListing::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &ChannelSaleDto::from(sale)).await)
}

/// Buy a listed channel: the price is held in escrow until you own the channel (or refunded at
/// `transfer_by`).
#[utoipa::path(post, path = "/api/channels/buy", tag = "channels", security(("tma" = [])), request_body = BuyChannelRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = ChannelSaleDto), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "not_for_sale, own_item, price_changed, insufficient_funds", body = Problem),
        (status = 422, body = Problem)))]
pub async fn buy(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<BuyChannelRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = BuyChannelCommand {
        buyer: user.id,
        sale_id: ChannelSaleId(req.channel_sale_id),
        expected_price: req.expected_price.map(|a| a.0),
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let sale = BuyChannel::new(ctx.uows(), ctx.services(), ctx.rules.channel_transfer).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &ChannelSaleDto::from(sale)).await)
}

/// Confirm the transfer. The buyer's word releases the escrow at once; the seller's releases it
/// only when Telegram shows the buyer as the channel's creator (else the sale is returned as is).
#[utoipa::path(post, path = "/api/channels/confirm", tag = "channels", security(("tma" = [])), request_body = ChannelSaleIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = ChannelSaleDto), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "channel_sale_closed", body = Problem), (status = 422, body = Problem),
        (status = 503, description = "Telegram cannot be asked now", body = Problem)))]
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<ChannelSaleIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = ConfirmChannelSaleCommand {
        by: user.id,
        sale_id: ChannelSaleId(req.channel_sale_id),
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let sale =
        ConfirmChannelSale::new(ctx.uows(), ctx.services(), ctx.rules.fees, ctx.channels.clone()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &ChannelSaleDto::from(sale)).await)
}

/// Staff: settle a disputed sale awaiting transfer — `complete` pays the seller, `refund` returns
/// the escrow. Recorded in the audit trail.
#[utoipa::path(post, path = "/api/admin/channels/{id}/resolve", tag = "admin", security(("staff" = [])),
    params(crate::extract::IdempotencyKeyHeader, ("id" = Uuid, Path)), request_body = ResolveChannelRequest,
    responses((status = 200, body = ChannelSaleDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "channel_sale_closed", body = Problem),
        (status = 422, body = Problem)))]
pub async fn resolve(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    idem: IdemJson<ResolveChannelRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = resolve_command(staff.actor, id, &req.outcome, key.clone())?;
    let ctx = &state.ctx;
    let sale = ResolveChannelSale::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &ChannelSaleDto::from(sale)).await)
}

/// What settling channel sale `id` with `outcome` (`complete` or `refund`) asks of the use case,
/// by `actor` (the API and the console alike).
pub(crate) fn resolve_command(
    actor: String,
    id: Uuid,
    outcome: &str,
    idempotency: Option<app::idempotency::IdempotencyKey>,
) -> Result<ResolveChannelSaleCommand, ApiError> {
    let outcome = match outcome {
        "complete" => ChannelOutcome::Complete,
        "refund" => ChannelOutcome::Refund,
        _ => return Err(ApiError::field("outcome", "must be complete or refund")),
    };
    Ok(ResolveChannelSaleCommand { actor, sale_id: ChannelSaleId(id), outcome, idempotency })
}
