//! Staff: money in, gifts into custody, the audit.

pub mod dto;

use std::sync::Arc;

use app::deposits::assign::{AssignUnmatchedDeposit, AssignUnmatchedDepositCommand};
use app::deposits::credit::{CreditDeposit, CreditDepositCommand};
use app::gifts::assign::{AssignUnmatchedGift, AssignUnmatchedGiftCommand};
use app::idempotency::IdempotencyKey;
use app::nfts::register::{RegisterNft, RegisterNftCommand};
use app::withdrawals::resolve::{ResolveWithdrawal, ResolveWithdrawalCommand};
use app::withdrawals::Concluded;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use domain::{Attribute, AttributeError, GiftTraits, UnmatchedDepositId, UnmatchedGiftId, UserId, WithdrawalId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::dto::*;
use super::text;
use crate::auth::Staff;
use crate::dto::PageParams;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery, IdemJson};
use crate::routes::market::dto::WithdrawalDto;
use crate::routes::nfts::dto::NftDto;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(deposit))
        .routes(routes!(register_nft))
        .routes(routes!(audit))
        .routes(routes!(resolve_withdrawal))
        .routes(routes!(unmatched_deposits))
        .routes(routes!(assign_deposit))
        .routes(routes!(unmatched_gifts))
        .routes(routes!(assign_gift))
}

pub(crate) fn user_id(field: &str, id: i64) -> Result<UserId, ApiError> {
    if id <= 0 {
        return Err(ApiError::field(field, "must be a Telegram user id"));
    }
    Ok(UserId(id))
}

/// Credit an on-chain deposit. Idempotent on `tx_hash`: 201 the first time, 200 with the same
/// deposit on a replay, 409 `duplicate` when the hash comes with another user or amount.
#[utoipa::path(post, path = "/api/admin/deposits", tag = "admin", security(("staff" = [])), request_body = DepositRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 201, body = DepositDto), (status = 200, description = "replay", body = DepositDto),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn deposit(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    idem: IdemJson<DepositRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = deposit_command(staff.actor, req.user_id, req.amount.0, &req.tx_hash, key.clone())?;
    let outcome = CreditDeposit::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    let status = if outcome.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok(super::respond(&state, key.as_ref(), status, &DepositDto::from(outcome.deposit)).await)
}

/// What crediting `amount` to `user` for transaction `tx_hash` asks of the use case, by `actor`
/// (the API and the console alike).
pub(crate) fn deposit_command(
    actor: String,
    user: i64,
    amount: domain::Money,
    tx_hash: &str,
    idempotency: Option<IdempotencyKey>,
) -> Result<CreditDepositCommand, ApiError> {
    Ok(CreditDepositCommand {
        actor,
        user_id: user_id("user_id", user)?,
        amount,
        tx_hash: text("tx_hash", tx_hash, 200)?,
        idempotency,
    })
}

/// A model, backdrop or symbol as the domain keeps it; a bad one names its field.
fn attribute(field: &str, a: Option<AttributeRequest>) -> Result<Option<Attribute>, ApiError> {
    let Some(a) = a else { return Ok(None) };
    let name = text(&format!("{field}.name"), &a.name, domain::gift::MAX_ATTRIBUTE_NAME)?;
    Attribute::new(&name, a.rarity_per_mille).map(Some).map_err(|e| {
        let part = if e == AttributeError::RarityOutOfRange { "rarity_per_mille" } else { "name" };
        ApiError::field(&format!("{field}.{part}"), e.to_string())
    })
}

/// Register a gift that arrived in custody as an `available` NFT of its owner.
#[utoipa::path(post, path = "/api/admin/nfts", tag = "admin", security(("staff" = [])), request_body = RegisterNftRequest, params(crate::extract::IdempotencyKeyHeader),
    responses((status = 201, body = NftDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn register_nft(
    State(state): State<Arc<AppState>>,
    _staff: Staff,
    idem: IdemJson<RegisterNftRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = RegisterNftCommand {
        owner_id: user_id("owner_id", req.owner_id)?,
        gift_id: text("gift_id", &req.gift_id, 200)?,
        title: req.title.as_deref().map(|t| text("title", t, 200)).transpose()?,
        collection: text("collection", &req.collection, 200)?,
        traits: GiftTraits {
            number: match req.number {
                Some(0) => return Err(ApiError::field("number", "must be at least 1")),
                n => n,
            },
            model: attribute("model", req.model)?,
            backdrop: attribute("backdrop", req.backdrop)?,
            symbol: attribute("symbol", req.symbol)?,
        },
        idempotency: key.clone(),
    };
    let nft = RegisterNft::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
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

/// Resolve a `stuck` withdrawal by hand: `sent` (with the transaction hash found on chain; pending
/// payouts → external) or `failed` (the funds go back to the user). Recorded in the audit trail.
#[utoipa::path(post, path = "/api/admin/withdrawals/{id}/resolve", tag = "admin", security(("staff" = [])),
    params(crate::extract::IdempotencyKeyHeader, ("id" = Uuid, Path)), request_body = ResolveWithdrawalRequest,
    responses((status = 200, body = WithdrawalDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "withdrawal_not_stuck", body = Problem),
        (status = 422, body = Problem)))]
pub async fn resolve_withdrawal(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    idem: IdemJson<ResolveWithdrawalRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = resolve_command(staff.actor, id, req, key.clone())?;
    let w = ResolveWithdrawal::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &WithdrawalDto::from(w)).await)
}

/// What resolving `id` as `req` asks of the use case, by `actor` (the API and the console alike).
pub(crate) fn resolve_command(
    actor: String,
    id: Uuid,
    req: ResolveWithdrawalRequest,
    idempotency: Option<IdempotencyKey>,
) -> Result<ResolveWithdrawalCommand, ApiError> {
    let outcome = match req {
        ResolveWithdrawalRequest::Sent { tx_hash } => Concluded::Sent { tx_hash: text("tx_hash", &tx_hash, 200)? },
        ResolveWithdrawalRequest::Failed {} => Concluded::Failed { reason: "resolved by staff".into() },
    };
    Ok(ResolveWithdrawalCommand { actor, withdrawal_id: WithdrawalId(id), outcome, idempotency })
}

/// Incoming TON transfers whose comment matched no user's memo, newest first (assigned ones too).
#[utoipa::path(get, path = "/api/admin/deposits/unmatched", tag = "admin", security(("staff" = [])), params(PageParams),
    responses((status = 200, body = UnmatchedDepositPage), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn unmatched_deposits(
    State(state): State<Arc<AppState>>,
    _staff: Staff,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<UnmatchedDepositPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    Ok(Json(state.reads.unmatched_deposits(page).await?.into()))
}

/// Credit an unmatched deposit to the user it belongs to (a deposit of its transaction hash), once:
/// an assigned one again is 409 `duplicate`. Recorded in the audit trail.
#[utoipa::path(post, path = "/api/admin/deposits/unmatched/{id}/assign", tag = "admin", security(("staff" = [])),
    params(crate::extract::IdempotencyKeyHeader, ("id" = Uuid, Path)), request_body = AssignDepositRequest,
    responses((status = 200, body = AssignedDepositDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "duplicate", body = Problem), (status = 422, body = Problem)))]
pub async fn assign_deposit(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    idem: IdemJson<AssignDepositRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = assign_deposit_command(staff.actor, id, req.user_id, key.clone())?;
    let (unmatched, deposit) = AssignUnmatchedDeposit::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    let body = AssignedDepositDto { unmatched: unmatched.into(), deposit: deposit.into() };
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body).await)
}

/// What crediting unmatched deposit `id` to `user` asks of the use case, by `actor` (the API and
/// the console alike).
pub(crate) fn assign_deposit_command(
    actor: String,
    id: Uuid,
    user: i64,
    idempotency: Option<IdempotencyKey>,
) -> Result<AssignUnmatchedDepositCommand, ApiError> {
    Ok(AssignUnmatchedDepositCommand {
        actor,
        id: UnmatchedDepositId(id),
        user_id: user_id("user_id", user)?,
        idempotency,
    })
}

/// Gifts on the business account the gift rail could not register (no sender, or from the
/// blockchain), newest first; assigned ones included.
#[utoipa::path(get, path = "/api/admin/gifts/unmatched", tag = "admin", security(("staff" = [])), params(PageParams),
    responses((status = 200, body = UnmatchedGiftPage), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn unmatched_gifts(
    State(state): State<Arc<AppState>>,
    _staff: Staff,
    ApiQuery(q): ApiQuery<PageParams>,
) -> Result<Json<UnmatchedGiftPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    Ok(Json(state.reads.unmatched_gifts(page).await?.into()))
}

/// Register an unmatched gift as the NFT of the user it belongs to (the same NFT if the gift had
/// left custody before), once: an assigned one again is 409 `duplicate`. Recorded in the audit
/// trail.
#[utoipa::path(post, path = "/api/admin/gifts/unmatched/{id}/assign", tag = "admin", security(("staff" = [])),
    params(crate::extract::IdempotencyKeyHeader, ("id" = Uuid, Path)), request_body = AssignGiftRequest,
    responses((status = 200, body = AssignedGiftDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "duplicate", body = Problem), (status = 422, body = Problem)))]
pub async fn assign_gift(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
    idem: IdemJson<AssignGiftRequest>,
) -> Result<Response, ApiError> {
    let (req, key) = idem.for_staff();
    let cmd = assign_gift_command(staff.actor, id, req.user_id, key.clone())?;
    let (unmatched, nft) = AssignUnmatchedGift::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    let body = AssignedGiftDto { unmatched: unmatched.into(), nft: NftDto::from(nft) };
    Ok(super::respond(&state, key.as_ref(), StatusCode::OK, &body).await)
}

/// What registering unmatched gift `id` to `user` asks of the use case, by `actor` (the API and
/// the console alike).
pub(crate) fn assign_gift_command(
    actor: String,
    id: Uuid,
    user: i64,
    idempotency: Option<IdempotencyKey>,
) -> Result<AssignUnmatchedGiftCommand, ApiError> {
    Ok(AssignUnmatchedGiftCommand { actor, id: UnmatchedGiftId(id), user_id: user_id("user_id", user)?, idempotency })
}
