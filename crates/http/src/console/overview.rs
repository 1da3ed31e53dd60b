//! The overview: the audit with each violation, money totals, what waits for staff, readiness.

use std::sync::Arc;

use app::ports::reads::{AuditFacts, DeskBacklog, Page, PageRequest};
use app::ports::Health;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::{Withdrawal, WithdrawalStatus};
use maud::{html, Markup};
use rust_decimal::Decimal;

use super::layout::{page, respond, ton, when, wide, Here};
use super::session::Desk;
use crate::error::ApiError;
use crate::routes::ops::readiness;
use crate::state::AppState;

/// How many stuck withdrawals the overview lists (the withdrawals page pages through all).
const STUCK_SHOWN: u32 = 10;

/// `GET /console`: every section read at once; one that cannot be read says so, the others show.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk) -> Response {
    let (facts, backlog, stuck, (worst, checks)) = tokio::join!(
        state.reads.audit_facts(),
        state.reads.desk_backlog(),
        state.reads.withdrawals_in(WithdrawalStatus::Stuck, PageRequest::first(STUCK_SHOWN)),
        readiness(&state),
    );
    let body = html! {
        section aria-labelledby="audit" {
            h2 #audit { "Audit" }
            @match &facts {
                Ok(facts) => (audit(facts)),
                Err(e) => (unreadable(ApiError::from(e.clone()))),
            }
        }
        section aria-labelledby="backlog" {
            h2 #backlog { "Waiting for staff" }
            @match (&backlog, &stuck) {
                (Ok(backlog), Ok(stuck)) => (waiting(backlog, stuck)),
                (Err(e), _) | (_, Err(e)) => (unreadable(ApiError::from(e.clone()))),
            }
        }
        section aria-labelledby="ready" {
            h2 #ready { "Readiness" }
            p { "Overall: " strong.state.(worst.as_str()) { (worst.as_str()) } }
            (wide("Dependencies", html! {
                table {
                    caption { "Each dependency as " code { "/readyz" } " reports it" }
                    thead { tr { th scope="col" { "Dependency" } th scope="col" { "State" } } }
                    tbody {
                        @for (name, health) in &checks {
                            tr { th scope="row" { (name) } td { span.state.(health.as_str()) { (health.as_str()) } } }
                        }
                    }
                }
            }))
        }
    };
    let status = if worst == Health::Down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    respond(status, page("Overview", Here::Overview, &desk, body))
}

fn unreadable(e: ApiError) -> Markup {
    html! { p.flash.bad role="alert" { "Cannot read this now: " (e.detail) } }
}

fn audit(facts: &AuditFacts) -> Markup {
    let violations = app::audit::check(facts);
    let available: Decimal = facts.users.iter().map(|u| u.available).sum();
    let held: Decimal = facts.users.iter().map(|u| u.held).sum();
    let totals = [
        ("Σ available", available),
        ("Σ held", held),
        ("Fees", facts.fees),
        ("Pending payouts", facts.pending_payouts),
        ("Sent payouts", facts.total_sent_payouts),
        ("Deposits", facts.total_deposits),
    ];
    html! {
        @if violations.is_empty() {
            p.flash.ok #audit-result { "Clean: every money invariant holds." }
        } @else {
            p.flash.bad #audit-result role="alert" { (violations.len()) " invariant " (plural(violations.len() as u64, "violation")) ": a person must look now." }
            (wide("Audit violations", html! {
                table.violations {
                    caption { "Each violation the audit found" }
                    thead { tr { th scope="col" { "Invariant" } th scope="col" { "Detail" } } }
                    tbody {
                        @for v in &violations {
                            tr { th scope="row" { code { (v.invariant) } } td { (v.detail) } }
                        }
                    }
                }
            }))
        }
        (wide("Money", html! {
            table.money {
                caption { "Money inside the market, over " (facts.users.len()) " user " (plural(facts.users.len() as u64, "account")) }
                thead { tr { th scope="col" { "Account" } th scope="col" class="num" { "Amount" } } }
                tbody {
                    @for (name, amount) in totals {
                        tr { th scope="row" { (name) } td.num { (ton(amount)) } }
                    }
                }
            }
        }))
    }
}

fn waiting(backlog: &DeskBacklog, stuck: &Page<Withdrawal>) -> Markup {
    html! {
        ul.counts {
            li { a href="/console/withdrawals?status=stuck" { strong #stuck-count { (backlog.stuck_withdrawals) } " stuck " (plural(backlog.stuck_withdrawals, "withdrawal")) } }
            li { a href="/console/deposits" { strong #unmatched-deposits-count { (backlog.unassigned_deposits) } " unmatched " (plural(backlog.unassigned_deposits, "deposit")) } }
            li { a href="/console/gifts" { strong #unmatched-gifts-count { (backlog.unassigned_gifts) } " unmatched " (plural(backlog.unassigned_gifts, "gift")) } }
        }
        @if !stuck.items.is_empty() {
            (wide("Stuck withdrawals", html! {
                table #stuck {
                    caption { "Stuck withdrawals, newest first" @if stuck.next_cursor.is_some() { " (the first " (STUCK_SHOWN) ")" } }
                    thead { tr {
                        th scope="col" { "Withdrawal" } th scope="col" { "User" } th scope="col" class="num" { "Amount" }
                        th scope="col" { "Requested" }
                    } }
                    tbody {
                        @for w in &stuck.items {
                            tr {
                                th scope="row" { code { (w.id) } }
                                td { (w.user_id) }
                                td.num { (ton(w.amount.as_decimal())) }
                                td { (when(w.created_at)) }
                            }
                        }
                    }
                }
            }))
            p { a href="/console/withdrawals?status=stuck" { "Resolve them on the withdrawals page" } }
        }
    }
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else {
        format!("{noun}s")
    }
}
