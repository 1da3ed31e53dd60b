use std::sync::Arc;

use app::deposit::DepositCommand;
use app::register_nft::RegisterNftCommand;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::UserId;

use crate::auth::Staff;
use crate::dto::*;
use crate::error::{ApiError, Problem};
use crate::extract::IdemJson;
use crate::handlers::text;
use crate::state::AppState;

fn user_id(field: &str, id: i64) -> Result<UserId, ApiError> {
    if id <= 0 {
        return Err(ApiError::field(field, "must be a Telegram user id"));
    }
    Ok(UserId(id))
}

/// Credit an on-chain deposit. Idempotent on `tx_hash`: 201 the first time, 200 with the same
/// deposit on a replay, 409 `duplicate` when the hash comes with another user or amount.
#[utoipa::path(post, path = "/api/admin/deposits", tag = "admin", security(("staff" = [])), request_body = DepositRequest,
    responses((status = 201, body = DepositDto), (status = 200, description = "replay", body = DepositDto),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn deposit(
    State(state): State<Arc<AppState>>,
    _staff: Staff,
    idem: IdemJson<DepositRequest>,
) -> Result<axum::response::Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = DepositCommand {
        user_id: user_id("user_id", req.user_id)?,
        amount: req.amount.0,
        tx_hash: text("tx_hash", &req.tx_hash, 200)?,
        idempotency: key.clone(),
    };
    let outcome = state.uc.deposit.execute(cmd).await?;
    let status = if outcome.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(super::respond(&state, key.as_ref(), status, &DepositDto::from(outcome.deposit)).await)
}

/// Register a gift that arrived in custody as an `available` NFT of its owner.
#[utoipa::path(post, path = "/api/admin/nfts", tag = "admin", security(("staff" = [])), request_body = RegisterNftRequest,
    responses((status = 201, body = NftDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register_nft(
    State(state): State<Arc<AppState>>,
    _staff: Staff,
    idem: IdemJson<RegisterNftRequest>,
) -> Result<axum::response::Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = RegisterNftCommand {
        owner_id: user_id("owner_id", req.owner_id)?,
        gift_id: text("gift_id", &req.gift_id, 200)?,
        title: text("title", &req.title, 200)?,
        collection: text("collection", &req.collection, 200)?,
        idempotency: key.clone(),
    };
    let nft = state.uc.register_nft.execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::CREATED, &NftDto::from(nft)).await)
}

/// Check every money invariant.
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", security(("staff" = [])),
    responses((status = 200, body = AuditReport), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn audit(State(state): State<Arc<AppState>>, _staff: Staff) -> Result<Json<AuditReport>, ApiError> {
    let facts = state.reads.audit_facts().await?;
    let violations: Vec<AuditViolation> = app::audit::check(&facts)
        .into_iter()
        .map(|v| AuditViolation { invariant: v.invariant.into(), detail: v.detail })
        .collect();
    Ok(Json(AuditReport { ok: violations.is_empty(), violations }))
}
