//! Offers: bids on an NFT whoever owns it.

pub mod dto;

use std::sync::Arc;

use app::offers::accept::{AcceptOffer, AcceptOfferCommand};
use app::offers::cancel::{CancelOffer, CancelOfferCommand};
use app::offers::new::{NewOffer, NewOfferCommand};
use app::offers::refuse::{RefuseOffer, RefuseOfferCommand};
use app::offers::set_price::{SetOfferPrice, SetOfferPriceCommand};
use app::ports::reads::OfferFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::Duration;
use domain::{NftId, Offer, OfferId, UserId};
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
        .routes(routes!(list))
        .routes(routes!(mine))
        .routes(routes!(create))
        .routes(routes!(accept))
        .routes(routes!(refuse))
        .routes(routes!(cancel))
        .routes(routes!(set_price))
}

/// The offerer and the NFT's current owner see who made an offer; others see the rest.
async fn view(state: &AppState, viewer: UserId, offer: Offer) -> Result<OfferDto, ApiError> {
    let sees = offer.offerer_id == viewer || state.reads.nft(offer.nft_id).await?.is_some_and(|n| n.owner_id == viewer);
    Ok(OfferDto::new(offer, sees, state.ctx.services.now()))
}

/// The offer as its offerer or the NFT's owner (who just acted on it) sees it.
fn own(state: &AppState, offer: Offer) -> OfferDto {
    OfferDto::new(offer, true, state.ctx.services.now())
}

/// Offers on one NFT, newest first (public fields).
#[utoipa::path(get, path = "/api/offers", tag = "offers", security(("tma" = [])), params(OfferListParams),
    responses((status = 200, body = OfferPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<OfferListParams>,
) -> Result<Json<OfferPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let owner = state.reads.nft(NftId(q.nft_id)).await?.map(|n| n.owner_id);
    let found = state.reads.offers(&OfferFilter::Nft(NftId(q.nft_id)), page).await?;
    let now = state.ctx.services.now();
    let items = found.items.into_iter().map(|o| {
        let sees = o.offerer_id == user.id || owner == Some(user.id);
        OfferDto::new(o, sees, now)
    });
    Ok(Json(OfferPage { items: items.collect(), next_cursor: found.next_cursor }))
}

/// Offers the caller made, and offers on NFTs the caller owns, newest first.
#[utoipa::path(get, path = "/api/me/offers", tag = "offers", security(("tma" = [])), params(PageParams),
    responses((status = 200, body = OfferPage), (status = 401, body = Problem)))]
pub async fn mine(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<OfferPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let found = state.reads.offers(&OfferFilter::Involving(user.id), page).await?;
    let items = found.items.into_iter().map(|o| own(&state, o)).collect();
    Ok(Json(OfferPage { items, next_cursor: found.next_cursor }))
}

/// Make an offer on an NFT (listed or not); the price is held. One open offer per NFT.
#[utoipa::path(post, path = "/api/offers/new", tag = "offers", security(("tma" = [])), request_body = NewOfferRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 201, body = OfferDto), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "own_item, nft_unavailable, offer_exists, insufficient_funds", body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<NewOfferRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let secs = req.expires_in_seconds.unwrap_or(7 * 86_400);
    if !(60..=30 * 86_400).contains(&secs) {
        return Err(ApiError::field("expires_in_seconds", "must be between 60 seconds and 30 days"));
    }
    let cmd = NewOfferCommand {
        offerer: user.id,
        nft_id: NftId(req.nft_id),
        price: req.price.0,
        expires_in: Duration::seconds(secs),
        idempotency: key.clone(),
    };
    let offer = NewOffer::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::CREATED, &own(&state, offer)).await)
}

/// The NFT's owner accepts: the held price goes to them minus the fee, the NFT to the offerer.
#[utoipa::path(post, path = "/api/offers/accept", tag = "offers", security(("tma" = [])), request_body = OfferIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = OfferDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "offer_not_open, nft_unavailable", body = Problem)))]
pub async fn accept(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<OfferIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = AcceptOfferCommand { owner: user.id, offer_id: OfferId(req.offer_id), idempotency: key.clone() };
    let ctx = &state.ctx;
    let offer = AcceptOffer::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &own(&state, offer)).await)
}

/// The NFT's owner refuses: the offerer's hold is released.
#[utoipa::path(post, path = "/api/offers/refuse", tag = "offers", security(("tma" = [])), request_body = OfferIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = OfferDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn refuse(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<OfferIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = RefuseOfferCommand { owner: user.id, offer_id: OfferId(req.offer_id), idempotency: key.clone() };
    let offer = RefuseOffer::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &own(&state, offer)).await)
}

/// The offerer cancels an open offer: the hold is released.
#[utoipa::path(post, path = "/api/offers/cancel", tag = "offers", security(("tma" = [])), request_body = OfferIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = OfferDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<OfferIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = CancelOfferCommand { offerer: user.id, offer_id: OfferId(req.offer_id), idempotency: key.clone() };
    let offer = CancelOffer::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &own(&state, offer)).await)
}

/// The offerer changes the price of a live offer; the hold follows.
#[utoipa::path(post, path = "/api/offers/set-price", tag = "offers", security(("tma" = [])), request_body = SetOfferPriceRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = OfferDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "offer_not_open, insufficient_funds", body = Problem), (status = 422, body = Problem)))]
pub async fn set_price(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<SetOfferPriceRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = SetOfferPriceCommand {
        offerer: user.id,
        offer_id: OfferId(req.offer_id),
        price: req.price.0,
        idempotency: key.clone(),
    };
    let offer = SetOfferPrice::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    let body = view(&state, user.id, offer).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body).await)
}
