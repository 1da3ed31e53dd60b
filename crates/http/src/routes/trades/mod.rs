//! Trades: swaps between two users, private to them.

pub mod dto;

use std::sync::Arc;

use app::ports::reads::TradeFilter;
use app::trades::accept::{AcceptTrade, AcceptTradeCommand};
use app::trades::cancel::{CancelTrade, CancelTradeCommand};
use app::trades::decline::{DeclineTrade, DeclineTradeCommand};
use app::trades::propose::{ProposeTrade, ProposeTradeCommand};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::{TradeId, TradeParty, TradeStatus, TradeTerms, UserId};
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
        .routes(routes!(accept))
        .routes(routes!(decline))
        .routes(routes!(cancel))
}

fn body(state: &AppState, trade: domain::Trade) -> TradeDto {
    TradeDto::new(trade, state.ctx.services.now())
}

/// Your trades (made and received), newest first; filter by role and status.
#[utoipa::path(get, path = "/api/trades", tag = "trades", security(("tma" = [])), params(TradeListParams),
    responses((status = 200, body = TradePage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<TradeListParams>,
) -> Result<Json<TradePage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let role = match q.role.as_deref() {
        None => None,
        Some("maker") => Some(TradeParty::Maker),
        Some("taker") => Some(TradeParty::Taker),
        Some(_) => return Err(ApiError::field("role", "must be maker or taker")),
    };
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(TradeStatus::parse(s).ok_or_else(|| ApiError::field("status", "is not a trade status"))?),
    };
    let found = state.reads.trades(&TradeFilter { party: user.id, role, status }, page).await?;
    let items = found.items.into_iter().map(|t| body(&state, t)).collect();
    Ok(Json(TradePage { items, next_cursor: found.next_cursor }))
}

/// One of your trades (anyone else's is 404).
#[utoipa::path(get, path = "/api/trades/{id}", tag = "trades", security(("tma" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = TradeDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TradeDto>, ApiError> {
    let trade = state
        .reads
        .trade(TradeId(id))
        .await?
        .filter(|t| t.is_party(user.id))
        .ok_or_else(|| ApiError::not_found("no such trade"))?;
    Ok(Json(body(&state, trade)))
}

/// Propose a trade: your `give` NFTs go `in_trade` and your `give` amount is held until the taker
/// answers or the trade expires.
#[utoipa::path(post, path = "/api/trades/new", tag = "trades", security(("tma" = [])), request_body = NewTradeRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 201, body = TradeDto), (status = 401, body = Problem),
        (status = 403, description = "a give NFT is not yours", body = Problem),
        (status = 404, description = "no such taker or NFT", body = Problem),
        (status = 409, description = "nft_unavailable, too_many_open_trades, insufficient_funds", body = Problem),
        (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<NewTradeRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    if req.taker_id <= 0 {
        return Err(ApiError::field("taker_id", "must be a Telegram user id"));
    }
    let terms =
        TradeTerms::new(user.id, UserId(req.taker_id), req.give.into(), req.want.into(), req.expires_in_seconds)
            .map_err(ApiError::validation)?;
    let ctx = &state.ctx;
    let cmd = ProposeTradeCommand { terms, idempotency: key.clone() };
    let trade = ProposeTrade::new(ctx.uows(), ctx.services(), ctx.rules.max_open_trades).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::CREATED, &body(&state, trade)).await)
}

/// The taker accepts: every NFT changes owner and both amounts move (less the fee), at once.
#[utoipa::path(post, path = "/api/trades/accept", tag = "trades", security(("tma" = [])), request_body = TradeIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = TradeDto), (status = 401, body = Problem),
        (status = 403, description = "only the taker accepts", body = Problem), (status = 404, body = Problem),
        (status = 409, description = "trade_not_open, trade_stale, insufficient_funds", body = Problem), (status = 422, body = Problem)))]
pub async fn accept(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<TradeIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = AcceptTradeCommand { taker: user.id, trade_id: TradeId(req.trade_id), idempotency: key.clone() };
    let ctx = &state.ctx;
    let trade = AcceptTrade::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body(&state, trade)).await)
}

/// The taker declines: the maker's hold is released and the offered NFTs are free again.
#[utoipa::path(post, path = "/api/trades/decline", tag = "trades", security(("tma" = [])), request_body = TradeIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = TradeDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "trade_not_open", body = Problem), (status = 422, body = Problem)))]
pub async fn decline(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<TradeIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = DeclineTradeCommand { taker: user.id, trade_id: TradeId(req.trade_id), idempotency: key.clone() };
    let trade = DeclineTrade::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body(&state, trade)).await)
}

/// The maker withdraws the trade: the hold is released and the offered NFTs are free again.
#[utoipa::path(post, path = "/api/trades/cancel", tag = "trades", security(("tma" = [])), request_body = TradeIdRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 200, body = TradeDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "trade_not_open", body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<TradeIdRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let cmd = CancelTradeCommand { maker: user.id, trade_id: TradeId(req.trade_id), idempotency: key.clone() };
    let trade = CancelTrade::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body(&state, trade)).await)
}
