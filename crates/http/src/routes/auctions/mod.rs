//! Auctions.

pub mod dto;

use std::sync::Arc;

use app::auctions::bid::{PlaceBid, PlaceBidCommand};
use app::auctions::cancel::{CancelAuction, CancelAuctionCommand};
use app::auctions::new::{NewAuction, NewAuctionCommand};
use app::ports::reads::AuctionFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::{AuctionId, AuctionStatus, AuctionTerms, NftId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::dto::*;
use crate::auth::CurrentUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery, IdemJson};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(create))
        .routes(routes!(bid))
        .routes(routes!(cancel))
}

/// Auctions, newest first; filter by status and NFT.
#[utoipa::path(get, path = "/api/auctions", tag = "auctions", security(("tma" = [])), params(AuctionListParams),
    responses((status = 200, body = AuctionPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiQuery(q): ApiQuery<AuctionListParams>,
) -> Result<Json<AuctionPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            AuctionStatus::parse(s).ok_or_else(|| ApiError::field("status", "must be active, settled or cancelled"))?,
        ),
    };
    let filter = AuctionFilter { status, nft: q.nft_id.map(NftId) };
    Ok(Json(state.reads.auctions(&filter, page).await?.into()))
}

/// One auction with its bids.
#[utoipa::path(get, path = "/api/auctions/{id}", tag = "auctions", security(("tma" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = AuctionDetail), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AuctionDetail>, ApiError> {
    let found = state.reads.auction(AuctionId(id)).await?.ok_or_else(|| ApiError::not_found("no such auction"))?;
    Ok(Json(found.into()))
}

/// Put one of your NFTs up for auction (it is unlisted and goes `on_auction`).
#[utoipa::path(post, path = "/api/auctions/new", tag = "auctions", security(("tma" = [])), request_body = NewAuctionRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 201, body = AuctionDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "nft_unavailable", body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<NewAuctionRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let terms =
        AuctionTerms::new(req.start_price.0, req.step_percent, req.buy_now_price.map(|a| a.0), req.duration_seconds)
            .map_err(ApiError::validation)?;
    let cmd = NewAuctionCommand { seller: user.id, nft_id: NftId(req.nft_id), terms, idempotency: key.clone() };
    let auction = NewAuction::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::CREATED, &AuctionDto::from(auction)).await)
}

/// Bid: the amount is held and the previous leader released; a bid at the buy-now price settles at once.
#[utoipa::path(post, path = "/api/auctions/bid", tag = "auctions", security(("tma" = [])), request_body = BidRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = AuctionDto), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "own_item, auction_ended, bid_too_low, insufficient_funds", body = Problem), (status = 422, body = Problem)))]
pub async fn bid(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<BidRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = PlaceBidCommand {
        bidder: user.id,
        auction_id: AuctionId(req.auction_id),
        amount: req.amount.0,
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let auction =
        PlaceBid::new(ctx.uows(), ctx.services(), ctx.rules.fees, ctx.rules.anti_sniping).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &AuctionDto::from(auction)).await)
}

/// Cancel your auction while it has no bids.
#[utoipa::path(post, path = "/api/auctions/del", tag = "auctions", security(("tma" = [])), request_body = AuctionIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = AuctionDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "auction_has_bids, auction_ended", body = Problem)))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<AuctionIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = CancelAuctionCommand { seller: user.id, auction_id: AuctionId(req.auction_id), idempotency: key.clone() };
    let auction = CancelAuction::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &AuctionDto::from(auction)).await)
}
