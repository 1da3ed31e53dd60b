//! Collection offers: standing bids for any gift that matches (SPEC §3).

pub mod dto;

use std::sync::Arc;

use app::collection_offers::cancel::{CancelCollectionOffer, CancelCollectionOfferCommand};
use app::collection_offers::fill::{FillCollectionOffer, FillCollectionOfferCommand};
use app::collection_offers::new::{NewCollectionOffer, NewCollectionOfferCommand};
use app::collection_offers::set_price::{SetCollectionOfferPrice, SetCollectionOfferPriceCommand};
use app::ports::reads::{BookCursor, BookFilter, PageRequest};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::Duration;
use domain::{CollectionOfferId, NftId, OfferCriteria};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::dto::*;
use crate::auth::CurrentUser;
use crate::dto::PageParams;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiQuery, IdemJson};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(book))
        .routes(routes!(mine))
        .routes(routes!(create))
        .routes(routes!(fill))
        .routes(routes!(set_price))
        .routes(routes!(cancel))
}

/// The longest collection, model, backdrop or symbol name accepted.
const NAME_MAX: usize = 128;

/// An optional attribute name: trimmed, one line, not empty.
fn name(field: &str, v: Option<&str>) -> Result<Option<String>, ApiError> {
    v.map(|v| super::text(field, v, NAME_MAX)).transpose()
}

/// The criteria of a request: a collection, and any of model, backdrop, symbol by name.
pub fn criteria(
    collection: &str,
    model: Option<&str>,
    backdrop: Option<&str>,
    symbol: Option<&str>,
) -> Result<OfferCriteria, ApiError> {
    Ok(OfferCriteria {
        collection: super::text("collection", collection, NAME_MAX)?,
        model: name("model", model)?,
        backdrop: name("backdrop", backdrop)?,
        symbol: name("symbol", symbol)?,
    })
}

fn dto(state: &AppState, o: domain::CollectionOffer) -> CollectionOfferDto {
    CollectionOfferDto::new(o, state.ctx.services.now())
}

/// The order book: open offers, best price first, then oldest; filtered to what a gift of the
/// given collection and attributes could fill.
#[utoipa::path(get, path = "/api/collection-offers", tag = "collection offers", security(("tma" = [])), params(BookParams),
    responses((status = 200, body = CollectionOfferPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn book(
    State(state): State<Arc<AppState>>,
    CurrentUser(_user): CurrentUser,
    ApiQuery(q): ApiQuery<BookParams>,
) -> Result<Json<CollectionOfferPage>, ApiError> {
    let limit = q.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 100"));
    }
    let after = match q.cursor.as_deref() {
        Some(c) => {
            Some(BookCursor::decode(c).ok_or_else(|| ApiError::field("cursor", "is not a cursor this API gave out"))?)
        }
        None => None,
    };
    let filter = BookFilter {
        collection: name("collection", q.collection.as_deref())?,
        model: name("model", q.model.as_deref())?,
        backdrop: name("backdrop", q.backdrop.as_deref())?,
        symbol: name("symbol", q.symbol.as_deref())?,
    };
    let now = state.ctx.services.now();
    let found = state.reads.collection_offer_book(&filter, after.as_ref(), limit, now).await?;
    let items = found.items.into_iter().map(|o| dto(&state, o)).collect();
    Ok(Json(CollectionOfferPage { items, next_cursor: found.next_cursor }))
}

/// The caller's collection offers, any status, newest first.
#[utoipa::path(get, path = "/api/me/collection-offers", tag = "collection offers", security(("tma" = [])), params(PageParams),
    responses((status = 200, body = CollectionOfferPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn mine(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<CollectionOfferPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let found = state.reads.collection_offers_of(user.id, page).await?;
    let items = found.items.into_iter().map(|o| dto(&state, o)).collect();
    Ok(Json(CollectionOfferPage { items, next_cursor: found.next_cursor }))
}

/// Bid for up to `quantity` gifts matching the criteria at `price` each; `price × quantity` is held.
#[utoipa::path(post, path = "/api/collection-offers/new", tag = "collection offers", security(("tma" = [])), request_body = NewCollectionOfferRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 201, body = CollectionOfferDto), (status = 401, body = Problem),
        (status = 409, description = "insufficient_funds, too_many_open_offers", body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<NewCollectionOfferRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let secs = req.expires_in_seconds.unwrap_or(7 * 86_400);
    if !(60..=30 * 86_400).contains(&secs) {
        return Err(ApiError::field("expires_in_seconds", "must be between 60 seconds and 30 days"));
    }
    let cmd = NewCollectionOfferCommand {
        user: user.id,
        criteria: criteria(&req.collection, req.model.as_deref(), req.backdrop.as_deref(), req.symbol.as_deref())?,
        price: req.price.0,
        quantity: req.quantity,
        expires_in: Duration::seconds(secs),
        idempotency: key.clone(),
    };
    let offer = NewCollectionOffer::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::CREATED, &dto(&state, offer)).await)
}

/// Sell 1–10 of your NFTs into a collection offer, all or none: each at the offer's price (minus
/// the fee) from the offerer's held funds; a listing is removed.
#[utoipa::path(post, path = "/api/collection-offers/fill", tag = "collection offers", security(("tma" = [])), request_body = FillCollectionOfferRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = CollectionOfferDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "offer_not_open, nft_unavailable, own_item, price_changed", body = Problem),
        (status = 422, description = "criteria_mismatch, validation_failed", body = Problem)))]
pub async fn fill(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<FillCollectionOfferRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = FillCollectionOfferCommand {
        seller: user.id,
        offer_id: CollectionOfferId(req.offer_id),
        nft_ids: req.nft_ids.iter().map(|id| NftId(*id)).collect(),
        expected_price: req.expected_price.map(|a| a.0),
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let offer = FillCollectionOffer::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &dto(&state, offer)).await)
}

/// Change the price of your open collection offer: the hold follows what is left.
#[utoipa::path(post, path = "/api/collection-offers/set-price", tag = "collection offers", security(("tma" = [])), request_body = SetCollectionOfferPriceRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = CollectionOfferDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "offer_not_open, insufficient_funds", body = Problem), (status = 422, body = Problem)))]
pub async fn set_price(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<SetCollectionOfferPriceRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = SetCollectionOfferPriceCommand {
        user: user.id,
        offer_id: CollectionOfferId(req.offer_id),
        price: req.price.0,
        idempotency: key.clone(),
    };
    let offer = SetCollectionOfferPrice::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &dto(&state, offer)).await)
}

/// Cancel your open collection offer: what is left is released.
#[utoipa::path(post, path = "/api/collection-offers/cancel", tag = "collection offers", security(("tma" = [])), request_body = CollectionOfferIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = CollectionOfferDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "offer_not_open", body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<CollectionOfferIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = CancelCollectionOfferCommand {
        user: user.id,
        offer_id: CollectionOfferId(req.offer_id),
        idempotency: key.clone(),
    };
    let offer = CancelCollectionOffer::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &dto(&state, offer)).await)
}
