//! Withdrawals by status; a `stuck` one resolved as sent (with its transaction hash) or failed,
//! through the same use case and command as `POST /api/admin/withdrawals/{id}/resolve`.

use std::sync::Arc;

use app::ports::reads::Page;
use app::withdrawals::resolve::ResolveWithdrawal;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Withdrawal, WithdrawalStatus};
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::{
    csrf, failed, list_url, page, pager, respond, status_filter, ton, when, wide, Here, Input, Problem,
};
use super::session::{Action, Desk, Fields, Paging};
use crate::error::ApiError;
use crate::routes::admin::dto::ResolveWithdrawalRequest;
use crate::routes::admin::resolve_command;
use crate::state::AppState;

const STATUSES: [WithdrawalStatus; 4] =
    [WithdrawalStatus::Stuck, WithdrawalStatus::Pending, WithdrawalStatus::Sent, WithdrawalStatus::Failed];

/// One page of withdrawals in a status, as asked for.
struct Listing {
    status: WithdrawalStatus,
    limit: Option<u32>,
    cursor: Option<String>,
    page: Page<Withdrawal>,
}

/// A resolution that did not go through: which withdrawal, what was posted, and why.
struct Refusal {
    id: Uuid,
    tx_hash: String,
    problem: Problem,
}

async fn list(state: &AppState, query: &Fields) -> Result<Listing, ApiError> {
    let status = match query.get("status") {
        "" => WithdrawalStatus::Stuck,
        s => WithdrawalStatus::parse(s)
            .ok_or_else(|| ApiError::field("status", "must be stuck, pending, sent or failed"))?,
    };
    let Paging { limit, cursor, request } = query.paging()?;
    let page = state.reads.withdrawals_in(status, request).await?;
    Ok(Listing { status, limit, cursor, page })
}

/// `GET /console/withdrawals?status=stuck&limit=&cursor=`.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk, RawQuery(query): RawQuery) -> Response {
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    match list(&state, &query).await {
        Ok(listing) => respond(StatusCode::OK, render(&desk, &listing, None)),
        Err(e) => failed(&desk, Here::Withdrawals, "Withdrawals", e),
    }
}

/// `POST /console/withdrawals/{id}/resolve` (`outcome` = `sent` with `tx_hash`, or `failed`).
pub(crate) async fn resolve(
    State(state): State<Arc<AppState>>,
    id: Result<Path<Uuid>, PathRejection>,
    Action { desk, fields }: Action,
) -> Response {
    let Ok(Path(id)) = id else {
        desk.flash(&state, false, "No such withdrawal.").await;
        return Redirect::to("/console/withdrawals").into_response();
    };
    let tx_hash = fields.get("tx_hash").to_string();
    let request = match fields.get("outcome") {
        "sent" => Ok(ResolveWithdrawalRequest::Sent { tx_hash: tx_hash.clone() }),
        "failed" => Ok(ResolveWithdrawalRequest::Failed {}),
        _ => Err(ApiError::field("outcome", "must be sent or failed")),
    };
    let outcome = match request.and_then(|r| resolve_command(desk.actor.clone(), id, r, None)) {
        Ok(cmd) => {
            ResolveWithdrawal::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await.map_err(Problem::from)
        }
        Err(e) => Err(Problem::from(e)),
    };
    match outcome {
        Ok(w) => {
            let text = match &w.tx_hash {
                Some(hash) if w.status == WithdrawalStatus::Sent => {
                    format!("Withdrawal {} resolved as sent with transaction {hash}.", w.id)
                }
                _ => {
                    format!("Withdrawal {} resolved as failed: {} TON went back to user {}.", w.id, w.amount, w.user_id)
                }
            };
            desk.flash(&state, true, text).await;
            Redirect::to("/console/withdrawals?status=stuck").into_response()
        }
        Err(problem) => {
            let refusal = Refusal { id, tx_hash, problem };
            match list(&state, &Fields::default()).await {
                Ok(listing) => respond(refusal.problem.status, render(&desk, &listing, Some(&refusal))),
                Err(e) => failed(&desk, Here::Withdrawals, "Withdrawals", e),
            }
        }
    }
}

fn render(desk: &Desk, listing: &Listing, refusal: Option<&Refusal>) -> Markup {
    let status = listing.status.as_str();
    let base = list_url(&format!("/console/withdrawals?status={status}"), listing.limit);
    let stuck = listing.status == WithdrawalStatus::Stuck;
    let body = html! {
        @if let Some(r) = refusal {
            p.flash.bad role="alert" { "Withdrawal " code { (r.id) } " was not resolved: " (r.problem.summary(&["tx_hash"])) }
        }
        (status_filter("/console/withdrawals", STATUSES.iter().map(|s| s.as_str()), listing.status.as_str()))
        @if stuck {
            p.hint {
                "A stuck payout ran out of delivery attempts and may or may not have been paid. Look it up on chain: "
                "mark it sent with the transaction hash you found, or failed to give the amount back to the user."
            }
        }
        @if listing.page.items.is_empty() {
            p #empty { "No " (status) " withdrawals." }
        } @else {
            (wide("Withdrawals", html! {
                table #withdrawals {
                    caption { (capitalized(status)) " withdrawals, newest first" }
                    thead { tr {
                        th scope="col" { "Withdrawal" } th scope="col" { "User" } th scope="col" class="num" { "Amount" }
                        th scope="col" { "To address" } th scope="col" { "Transaction" } th scope="col" { "Requested" }
                        @if stuck { th scope="col" { "Resolve" } }
                    } }
                    tbody {
                        @for w in &listing.page.items {
                            tr id=(format!("w-{}", w.id)) {
                                th scope="row" { code { (w.id) } }
                                td { (w.user_id) }
                                td.num { (ton(w.amount.as_decimal())) }
                                td { code.addr { (w.address) } }
                                td { @if let Some(h) = &w.tx_hash { code { (h) } } @else { "—" } }
                                td { (when(w.created_at)) }
                                @if stuck { td.actions { (resolve_forms(desk, w, refusal.filter(|r| r.id == w.id.0))) } }
                            }
                        }
                    }
                }
            }))
        }
        (pager(&base, listing.cursor.as_deref(), listing.page.next_cursor.as_deref()))
    };
    page("Withdrawals", Here::Withdrawals, desk, body)
}

fn resolve_forms(desk: &Desk, w: &Withdrawal, refusal: Option<&Refusal>) -> Markup {
    let action = format!("/console/withdrawals/{}/resolve", w.id);
    let short = &w.id.to_string()[..8];
    html! {
        form.inline method="post" action=(action) {
            (csrf(desk))
            input type="hidden" name="outcome" value="sent";
            (Input {
                value: refusal.map_or("", |r| r.tx_hash.as_str()),
                error: refusal.and_then(|r| r.problem.on("tx_hash")),
                attrs: &[("autocomplete", "off")],
                ..Input::new(format!("tx-{}", w.id), "tx_hash", "Transaction hash")
            }.render())
            button type="submit" { "Mark sent" span.sr { " (withdrawal " (short) ")" } }
        }
        form.inline method="post" action=(action) {
            (csrf(desk))
            input type="hidden" name="outcome" value="failed";
            button.danger type="submit" { "Mark failed and refund" span.sr { " (withdrawal " (short) ")" } }
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
