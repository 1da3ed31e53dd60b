//! Market output: withdrawals to TON addresses.

pub mod dto;

use std::sync::Arc;

use app::withdrawals::request::{Withdraw, WithdrawCommand};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::{TonAddress, WithdrawalId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::dto::*;
use crate::auth::CurrentUser;
use crate::dto::PageParams;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery, IdemJson};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(output)).routes(routes!(list)).routes(routes!(get))
}

/// Withdraw available funds to a TON address. Answers 202: the payout is sent after commit.
#[utoipa::path(post, path = "/api/market/output", tag = "market", security(("tma" = [])), request_body = WithdrawRequest,
    params(crate::extract::RequiredIdempotencyKey),
    responses((status = 202, body = WithdrawalDto), (status = 400, description = "missing Idempotency-Key", body = Problem),
        (status = 401, body = Problem), (status = 409, description = "insufficient_funds", body = Problem), (status = 422, body = Problem)))]
pub async fn output(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    idem: IdemJson<WithdrawRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_user(user.id);
    let key = key.ok_or_else(|| ApiError::malformed("the Idempotency-Key header is required"))?;
    let address = TonAddress::parse(&req.address).map_err(|e| ApiError::field("address", e.to_string()))?;
    let cmd = WithdrawCommand { user: user.id, amount: req.amount.0, address, idempotency: Some(key.clone()) };
    let ctx = &state.ctx;
    let w = Withdraw::new(ctx.uows(), ctx.services(), ctx.rules.min_withdrawal).execute(cmd).await?;
    Ok(super::respond(&state, Some(&key), StatusCode::ACCEPTED, &WithdrawalDto::from(w)).await)
}

/// Your withdrawals, newest first.
#[utoipa::path(get, path = "/api/market/withdrawals", tag = "market", security(("tma" = [])), params(PageParams),
    responses((status = 200, body = WithdrawalPage), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<WithdrawalPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    Ok(Json(state.reads.withdrawals(user.id, page).await?.into()))
}

/// One of your withdrawals (someone else's is 404).
#[utoipa::path(get, path = "/api/market/withdrawals/{id}", tag = "market", security(("tma" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = WithdrawalDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WithdrawalDto>, ApiError> {
    let w = state
        .reads
        .withdrawal(WithdrawalId(id))
        .await?
        .filter(|w| w.user_id == user.id)
        .ok_or_else(|| ApiError::not_found("no such withdrawal"))?;
    Ok(Json(w.into()))
}
