//! The caller's account and ledger.

pub mod dto;

use std::sync::Arc;

use app::deposits::memo::DepositMemo;
use axum::extract::State;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::dto::*;
use crate::auth::CurrentUser;
use crate::dto::PageParams;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(me)).routes(routes!(ledger)).routes(routes!(deposit)).routes(routes!(portfolio))
}

/// The caller's account and balances.
#[utoipa::path(get, path = "/api/me", tag = "me", security(("tma" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = Problem)))]
pub async fn me(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<MeResponse>, ApiError> {
    let found = state.reads.user(user.id).await?.ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok(Json(found.into()))
}

/// The caller's ledger entries, newest first.
#[utoipa::path(get, path = "/api/me/ledger", tag = "me", security(("tma" = [])), params(PageParams),
    responses((status = 200, body = LedgerPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn ledger(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<LedgerPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    Ok(Json(state.reads.ledger(user.id, page).await?.into()))
}

/// How to deposit TON: the marketplace's address and the caller's memo, to put in the transfer's
/// comment (the deposit watcher credits the transfer to its memo's owner). 404 when the TON rails
/// are not configured.
#[utoipa::path(get, path = "/api/me/deposit", tag = "me", security(("tma" = [])),
    responses((status = 200, body = DepositInstructions), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn deposit(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<DepositInstructions>, ApiError> {
    let address =
        state.deposit_address.clone().ok_or_else(|| ApiError::not_found("TON deposits are not configured"))?;
    let memo = DepositMemo::new(state.ctx.uows(), state.ctx.services()).execute(user.id).await?;
    Ok(Json(DepositInstructions { address, memo }))
}

/// The caller's NFTs in custody valued at floor: each at the lowest listed price of its collection
/// and model, else of its collection, else 0; by collection.
#[utoipa::path(get, path = "/api/me/portfolio", tag = "me", security(("tma" = [])),
    responses((status = 200, body = PortfolioDto), (status = 401, body = Problem)))]
pub async fn portfolio(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<PortfolioDto>, ApiError> {
    Ok(Json(state.reads.portfolio(user.id).await?.into()))
}
