//! NFTs: lists, detail, buy, listing, return to Telegram.

pub mod dto;

use std::sync::Arc;

use app::nfts::back::{BackNft, BackNftCommand};
use app::nfts::buy::{BuyNft, BuyNftCommand};
use app::nfts::set_price::{SetNftPrice, SetNftPriceCommand};
use app::ports::reads::NftFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::NftId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::dto::*;
use crate::auth::CurrentUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, IdemJson};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(buy))
        .routes(routes!(set_price))
        .routes(routes!(back))
}

/// NFTs, newest first; filter by listing, owner (`me` or an id) and collection.
#[utoipa::path(get, path = "/api/nfts", tag = "nft", security(("tma" = [])), params(NftListParams),
    responses((status = 200, body = NftPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<NftListParams>,
) -> Result<Json<NftPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let owner = match q.owner.as_deref() {
        None => None,
        Some("me") => Some(user.id),
        Some(id) => Some(super::user_id("owner", id)?),
    };
    let collection = q.collection.map(|c| super::text("collection", &c, 200)).transpose()?;
    let filter = NftFilter { listed: q.listed, owner, collection };
    Ok(Json(state.reads.nfts(&filter, page).await?.into()))
}

/// One NFT (NFTs are public).
#[utoipa::path(get, path = "/api/nfts/{id}", tag = "nft", security(("tma" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = NftDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<NftDto>, ApiError> {
    let nft = state.reads.nft(NftId(id)).await?.ok_or_else(|| ApiError::not_found("no such NFT"))?;
    Ok(Json(nft.into()))
}

/// Buy a listed NFT at its current price (fee included in the price).
#[utoipa::path(post, path = "/api/nft/buy", tag = "nft", security(("tma" = [])), request_body = BuyNftRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = BuyNftResponse), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "insufficient_funds, not_for_sale, price_changed, own_item, nft_unavailable", body = Problem),
        (status = 422, body = Problem)))]
pub async fn buy(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<BuyNftRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = BuyNftCommand {
        buyer: user.id,
        nft_id: NftId(req.nft_id),
        expected_price: req.expected_price.map(|a| a.0),
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let p = BuyNft::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await?;
    let body = BuyNftResponse { nft: p.nft.into(), price: p.price.to_string(), fee: p.fee.to_string() };
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body).await)
}

/// List (price) or unlist (`null`) one of your NFTs.
#[utoipa::path(post, path = "/api/nft/set-price", tag = "nft", security(("tma" = [])), request_body = SetNftPriceRequest,
    responses((status = 200, body = NftDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_price(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<SetNftPriceRequest>,
) -> Result<Json<NftDto>, ApiError> {
    let price = req.price.ok_or_else(|| ApiError::field("price", "is required (null unlists)"))?;
    let cmd = SetNftPriceCommand { owner: user.id, nft_id: NftId(req.nft_id), price: price.map(|a| a.0) };
    let nft = SetNftPrice::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(Json(nft.into()))
}

/// Return one of your gifts to your Telegram account: unlisted, open offers refunded, `withdrawing`,
/// the return fee (`GIFT_WITHDRAWAL_FEE`) charged. Before Telegram lets the gift leave: 409
/// `gift_locked`.
#[utoipa::path(post, path = "/api/nft/back", tag = "nft", security(("tma" = [])), request_body = NftIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 202, body = NftDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "nft_unavailable, gift_locked (the detail says when), insufficient_funds (the return fee)", body = Problem)))]
pub async fn back(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<NftIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = BackNftCommand { owner: user.id, nft_id: NftId(req.nft_id), idempotency: key.clone() };
    let fee = state.ctx.rules.gift_withdrawal_fee;
    let nft = BackNft::new(state.ctx.uows(), state.ctx.services(), fee).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::ACCEPTED, &NftDto::from(nft)).await)
}
