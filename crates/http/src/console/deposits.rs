//! Unmatched deposits (transfers whose comment named no user's memo), each assigned to its user
//! through the same use case and command as `POST /api/admin/deposits/unmatched/{id}/assign`.

use std::sync::Arc;

use app::deposits::assign::AssignUnmatchedDeposit;
use app::ports::reads::Page;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::UnmatchedDeposit;
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::{csrf, failed, list_url, page, pager, respond, ton, when, wide, Here, Input, Problem};
use super::session::{Action, Desk, Fields, Paging};
use crate::error::ApiError;
use crate::routes::admin::assign_deposit_command;
use crate::state::AppState;

struct Listing {
    limit: Option<u32>,
    cursor: Option<String>,
    page: Page<UnmatchedDeposit>,
}

/// An assignment that did not go through: which deposit, what was posted, and why.
struct Refusal {
    id: Uuid,
    user_id: String,
    problem: Problem,
}

async fn list(state: &AppState, query: &Fields) -> Result<Listing, ApiError> {
    let Paging { limit, cursor, request } = query.paging()?;
    let page = state.reads.unmatched_deposits(request).await?;
    Ok(Listing { limit, cursor, page })
}

/// `GET /console/deposits?limit=&cursor=`: newest first, assigned ones included.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk, RawQuery(query): RawQuery) -> Response {
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    match list(&state, &query).await {
        Ok(listing) => respond(StatusCode::OK, render(&desk, &listing, None)),
        Err(e) => failed(&desk, Here::Deposits, "Unmatched deposits", e),
    }
}

/// A user id as typed: digits (the use case's command checks it is a Telegram user id).
pub(super) fn typed_user_id(value: &str) -> Result<i64, ApiError> {
    let value = value.trim();
    let digits = !value.is_empty() && value.len() <= 18 && value.bytes().all(|b| b.is_ascii_digit());
    value.parse().ok().filter(|_| digits).ok_or_else(|| ApiError::field("user_id", "must be a Telegram user id"))
}

/// `POST /console/deposits/{id}/assign` (`user_id`).
pub(crate) async fn assign(
    State(state): State<Arc<AppState>>,
    id: Result<Path<Uuid>, PathRejection>,
    Action { desk, fields }: Action,
) -> Response {
    let Ok(Path(id)) = id else {
        desk.flash(&state, false, "No such unmatched deposit.").await;
        return Redirect::to("/console/deposits").into_response();
    };
    let user_id = fields.get("user_id").to_string();
    let outcome = match typed_user_id(&user_id).and_then(|u| assign_deposit_command(desk.actor.clone(), id, u, None)) {
        Ok(cmd) => AssignUnmatchedDeposit::new(state.ctx.uows(), state.ctx.services())
            .execute(cmd)
            .await
            .map_err(Problem::from),
        Err(e) => Err(Problem::from(e)),
    };
    match outcome {
        Ok((unmatched, deposit)) => {
            let text = format!(
                "Deposit {} of {} TON credited to user {}.",
                unmatched.tx_hash, deposit.amount, deposit.user_id
            );
            desk.flash(&state, true, text).await;
            Redirect::to("/console/deposits").into_response()
        }
        Err(problem) => {
            let refusal = Refusal { id, user_id, problem };
            match list(&state, &Fields::default()).await {
                Ok(listing) => respond(refusal.problem.status, render(&desk, &listing, Some(&refusal))),
                Err(e) => failed(&desk, Here::Deposits, "Unmatched deposits", e),
            }
        }
    }
}

fn render(desk: &Desk, listing: &Listing, refusal: Option<&Refusal>) -> Markup {
    let base = list_url("/console/deposits", listing.limit);
    let body = html! {
        @if let Some(r) = refusal {
            p.flash.bad role="alert" { "Deposit " code { (r.id) } " was not assigned: " (r.problem.summary(&["user_id"])) }
        }
        p.hint {
            "Transfers to the deposit address whose comment named no user's memo. Find whose it is (ask the "
            "sender, match the amount), then credit it to them: once, recorded with your token's label."
        }
        @if listing.page.items.is_empty() {
            p #empty { "No unmatched deposits." }
        } @else {
            (wide("Unmatched deposits", html! {
                table #deposits {
                    caption { "Unmatched deposits, newest first" }
                    thead { tr {
                        th scope="col" { "Transaction" } th scope="col" class="num" { "Amount" } th scope="col" { "Sender" }
                        th scope="col" { "Comment" } th scope="col" { "Received" } th scope="col" { "Assign" }
                    } }
                    tbody {
                        @for u in &listing.page.items {
                            tr id=(format!("d-{}", u.id)) {
                                th scope="row" { code { (u.tx_hash) } }
                                td.num { (ton(u.amount.as_decimal())) }
                                td { code.addr { (u.sender) } }
                                td { @if let Some(c) = &u.comment { (c) } @else { "—" } }
                                td { (when(u.received_at)) }
                                td.actions {
                                    @match (u.assigned_to, u.assigned_at) {
                                        (Some(user), Some(at)) => { "Credited to user " (user) " " (when(at)) }
                                        (Some(user), None) => { "Credited to user " (user) }
                                        _ => (assign_form(desk, u, refusal.filter(|r| r.id == u.id.0))),
                                    }
                                }
                            }
                        }
                    }
                }
            }))
        }
        (pager(&base, listing.cursor.as_deref(), listing.page.next_cursor.as_deref()))
    };
    page("Unmatched deposits", Here::Deposits, desk, body)
}

fn assign_form(desk: &Desk, u: &UnmatchedDeposit, refusal: Option<&Refusal>) -> Markup {
    html! {
        form.inline method="post" action=(format!("/console/deposits/{}/assign", u.id)) {
            (csrf(desk))
            (Input {
                value: refusal.map_or("", |r| r.user_id.as_str()),
                error: refusal.and_then(|r| r.problem.on("user_id")),
                attrs: &[("inputmode", "numeric"), ("autocomplete", "off"), ("required", "")],
                ..Input::new(format!("user-{}", u.id), "user_id", "User id")
            }.render())
            button type="submit" { "Assign" span.sr { " (deposit " (u.tx_hash) ")" } }
        }
    }
}
