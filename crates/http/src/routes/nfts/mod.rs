//! NFTs: lists, detail, buy, listing, return to Telegram.

pub mod dto;

use std::sync::Arc;

use app::nfts::back::{BackNft, BackNftCommand};
use app::nfts::buy::{BuyNft, BuyNftCommand};
use app::nfts::sell::{SellNft, SellNftCommand};
use app::nfts::set_price::{SetNftPrice, SetNftPriceCommand};
use app::nfts::sweep::{Sweep, SweepCommand, SweepOrder};
use app::ports::reads::{NftCursor, NftFilter, NftQuery, NftSort, PageRequest};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::{Money, NftId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::dto::*;
use crate::auth::CurrentUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiListQuery, ApiPath, IdemJson};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
        .routes(routes!(buy))
        .routes(routes!(sell))
        .routes(routes!(sweep))
        .routes(routes!(set_price))
        .routes(routes!(back))
}

/// Discovery: NFTs filtered by collection, model, backdrop, symbol (each may repeat: any of its
/// values; attributes together: all), number, listing, owner (`me` or an id) and price range, in
/// one of five sorts; keyset cursors stay stable while listings change.
#[utoipa::path(get, path = "/api/nfts", tag = "nft", security(("tma" = [])), params(NftListParams),
    responses((status = 200, body = NftPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiListQuery(q): ApiListQuery<NftListParams>,
) -> Result<Json<NftPage>, ApiError> {
    let limit = q.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 100"));
    }
    let sort = match q.sort.as_deref() {
        None => NftSort::default(),
        Some(s) => NftSort::parse(s)
            .ok_or_else(|| ApiError::field("sort", "must be newest, price_asc, price_desc, number_asc or rarity"))?,
    };
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            NftCursor::decode(sort, c)
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor this API gave out for this sort"))?,
        ),
    };
    let owner = match q.owner.as_deref() {
        None => None,
        Some("me") => Some(user.id),
        Some(id) => Some(super::user_id("owner", id)?),
    };
    let values = |field: &str, vs: Vec<String>| -> Result<Vec<String>, ApiError> {
        if vs.len() > 50 {
            return Err(ApiError::field(field, "at most 50 values"));
        }
        vs.iter().map(|v| super::text(field, v, 200)).collect()
    };
    let price = |field: &str, v: Option<String>| -> Result<Option<Money>, ApiError> {
        v.map(|p| Money::parse_amount(&p).map_err(|m| ApiError::field(field, m.to_string()))).transpose()
    };
    let number = match q.number {
        None => None,
        Some(n) => Some(
            u32::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::field("number", "must be between 1 and 4294967295"))?,
        ),
    };
    let filter = NftFilter {
        listed: q.listed,
        owner,
        collections: values("collection", q.collection)?,
        models: values("model", q.model)?,
        backdrops: values("backdrop", q.backdrop)?,
        symbols: values("symbol", q.symbol)?,
        number,
        min_price: price("min_price", q.min_price)?,
        max_price: price("max_price", q.max_price)?,
    };
    Ok(Json(state.reads.nfts(&NftQuery { filter, sort, after, limit }).await?.into()))
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

/// Sell your NFT at once to the best open bid — single offers on it and collection offers it
/// matches, highest price, then oldest — if it is at least `min_price`.
#[utoipa::path(post, path = "/api/nft/sell", tag = "nft", security(("tma" = [])), request_body = SellNftRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = SellNftResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "no_offer, nft_unavailable", body = Problem), (status = 422, body = Problem)))]
pub async fn sell(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<SellNftRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = SellNftCommand {
        owner: user.id,
        nft_id: NftId(req.nft_id),
        min_price: req.min_price.0,
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let sale = SellNft::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await?;
    let body = SellNftResponse {
        nft: sale.nft.into(),
        price: sale.price.to_string(),
        fee: sale.fee.to_string(),
        offer_id: sale.offer_id,
    };
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body).await)
}

/// Buy many listings in one go: named items, or the cheapest matching listings; each by `buy`'s
/// rules, in order, while the balance covers it. `all_or_nothing`: one failure, nothing bought.
#[utoipa::path(post, path = "/api/nft/sweep", tag = "nft", security(("tma" = [])), request_body = SweepRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = SweepResponse), (status = 401, body = Problem),
        (status = 409, description = "sweep_failed (with `failed`)", body = Problem), (status = 422, body = Problem)))]
pub async fn sweep(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<SweepRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let by_criteria = req.collection.is_some()
        || req.model.is_some()
        || req.backdrop.is_some()
        || req.symbol.is_some()
        || req.max_items.is_some()
        || req.max_price_per_item.is_some();
    let order = match (req.items, by_criteria) {
        (Some(_), true) => return Err(ApiError::field("items", "give either items or criteria, not both")),
        (Some(items), false) => SweepOrder::Items(items.into_iter().map(|i| (NftId(i.nft_id), i.price.0)).collect()),
        (None, _) => {
            let collection =
                req.collection.ok_or_else(|| ApiError::field("collection", "is required without items"))?;
            let max_items = req.max_items.ok_or_else(|| ApiError::field("max_items", "is required with criteria"))?;
            let max_price_per_item = req
                .max_price_per_item
                .ok_or_else(|| ApiError::field("max_price_per_item", "is required with criteria"))?
                .0;
            let criteria = super::collection_offers::criteria(
                &collection,
                req.model.as_deref(),
                req.backdrop.as_deref(),
                req.symbol.as_deref(),
            )?;
            SweepOrder::Cheapest { criteria, max_items, max_price_per_item }
        }
    };
    let cmd = SweepCommand {
        buyer: user.id,
        order,
        all_or_nothing: req.all_or_nothing.unwrap_or(false),
        idempotency: key.clone(),
    };
    let ctx = &state.ctx;
    let out = Sweep::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await?;
    let body = SweepResponse {
        purchased: out
            .purchased
            .into_iter()
            .map(|(id, price, fee)| SweepPurchase { nft_id: id.0, price: price.to_string(), fee: fee.to_string() })
            .collect(),
        failed: out.failed.into_iter().map(|(id, code)| SweepFailure { nft_id: id.0, code: code.into() }).collect(),
        spent: out.spent.to_string(),
    };
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
