//! The overview: the audit with each violation, money totals, what waits for staff, the jobs'
//! lags, readiness. The audit reads every ledger entry, so the overview shows a recent one (kept
//! [`AUDIT_TTL`] per instance) and a button runs it again; everything else is an index read.

use std::sync::{Arc, Mutex};

use app::audit::Violation;
use app::jobs::JobMark;
use app::ports::reads::{AuditFacts, DeskBacklog, Page, PageRequest};
use app::ports::Health;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use domain::{RepoError, Withdrawal, WithdrawalStatus};
use maud::{html, Markup};
use rust_decimal::Decimal;

use super::layout::{csrf, page, respond, ton, when, wide, Here};
use super::session::{Action, Desk};
use crate::error::ApiError;
use crate::routes::ops::readiness;
use crate::state::AppState;

/// How many stuck withdrawals the overview lists (the withdrawals page pages through all).
const STUCK_SHOWN: u32 = 10;

/// How long the overview shows the same audit before running it again.
pub(crate) const AUDIT_TTL: Duration = Duration::seconds(30);

/// One audit's outcome and when it ran.
#[derive(Clone)]
pub(crate) struct Audited {
    pub at: DateTime<Utc>,
    pub facts: Arc<AuditFacts>,
    pub violations: Arc<Vec<Violation>>,
}

/// How long a page waits for an audit it started before it shows the last one (or says one is
/// running): at B5's scale the audit reads 5,000,000 ledger entries for seconds, and a page must
/// not wait for that.
const AUDIT_WAIT: std::time::Duration = std::time::Duration::from_millis(60);
/// How long the button waits for the audit it asked for.
const RERUN_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The last audit the overview ran on this instance, and the one running (at most one at a time,
/// in the background, so no page waits for the whole audit).
#[derive(Default)]
pub(crate) struct AuditCache {
    last: Mutex<Option<Result<Audited, RepoError>>>,
    running: std::sync::atomic::AtomicBool,
    done: tokio::sync::Notify,
}

impl AuditCache {
    /// The last audit if it ran less than [`AUDIT_TTL`] before `now` and `fresh` is not asked
    /// for; otherwise one is started in the background (unless one runs) and awaited a moment
    /// ([`AUDIT_WAIT`], or [`RERUN_WAIT`] when `fresh`): what the page gets is the newest result
    /// there is then — `None` while the first one still runs.
    pub(crate) async fn audit(
        state: &Arc<AppState>,
        now: DateTime<Utc>,
        fresh: bool,
    ) -> Option<Result<Audited, RepoError>> {
        let cache = &state.console_audit;
        if !fresh {
            let last = cache.last.lock().expect("poisoned");
            if let Some(Ok(a)) = last.as_ref().filter(|r| matches!(r, Ok(a) if now - a.at < AUDIT_TTL)) {
                return Some(Ok(a.clone()));
            }
        }
        let finished = cache.done.notified();
        tokio::pin!(finished);
        finished.as_mut().enable();
        if !cache.running.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let state = state.clone();
            tokio::spawn(async move {
                let result = state.reads.audit_facts().await.map(|facts| {
                    let violations = app::audit::check(&facts);
                    Audited { at: now, facts: Arc::new(facts), violations: Arc::new(violations) }
                });
                let cache = &state.console_audit;
                *cache.last.lock().expect("poisoned") = Some(result);
                cache.running.store(false, std::sync::atomic::Ordering::SeqCst);
                cache.done.notify_waiters();
            });
        }
        let _ = tokio::time::timeout(if fresh { RERUN_WAIT } else { AUDIT_WAIT }, finished).await;
        cache.last.lock().expect("poisoned").clone()
    }
}

/// `POST /console/audit`: runs the audit now, then back to the overview.
pub(crate) async fn rerun(State(state): State<Arc<AppState>>, action: Action) -> Response {
    let now = state.ctx.services.now();
    let (ok, text) = match AuditCache::audit(&state, now, true).await {
        Some(Ok(a)) if a.at < now => (true, "The audit is still running; reload in a moment.".to_string()),
        Some(Ok(a)) if a.violations.is_empty() => (true, "Audit run again: clean.".to_string()),
        Some(Ok(a)) => (false, format!("Audit run again: {} violation(s).", a.violations.len())),
        Some(Err(e)) => (false, ApiError::from(e).detail),
        None => (true, "The audit is still running; reload in a moment.".to_string()),
    };
    action.desk.flash(&state, ok, text).await;
    Redirect::to("/console").into_response()
}

/// `GET /console`: every section read at once; one that cannot be read says so, the others show.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk) -> Response {
    let now = state.ctx.services.now();
    let (audited, backlog, stuck, (worst, checks)) = tokio::join!(
        AuditCache::audit(&state, now, false),
        state.reads.desk_backlog(),
        state.reads.withdrawals_in(WithdrawalStatus::Stuck, PageRequest::first(STUCK_SHOWN)),
        readiness(&state),
    );
    let body = html! {
        section aria-labelledby="audit" {
            h2 #audit { "Audit" }
            @match &audited {
                Some(Ok(audited)) => {
                    (audit(audited))
                    @if now - audited.at >= AUDIT_TTL {
                        p role="status" { "A newer audit is running; reload in a moment to see it." }
                    }
                }
                Some(Err(e)) => (unreadable(ApiError::from(e.clone()))),
                None => p role="status" #audit-running { "The first audit is running; reload in a moment." },
            }
            form method="post" action="/console/audit" {
                (csrf(&desk))
                button type="submit" { "Re-run audit now" }
            }
        }
        section aria-labelledby="backlog" {
            h2 #backlog { "Waiting for staff" }
            @match (&backlog, &stuck) {
                (Ok(backlog), Ok(stuck)) => (waiting(backlog, stuck)),
                (Err(e), _) | (_, Err(e)) => (unreadable(ApiError::from(e.clone()))),
            }
        }
        section aria-labelledby="jobs" {
            h2 #jobs { "Background work" }
            (wide("Background work", html! {
                table #background {
                    caption { "The outbox and the jobs that follow the outside world (this instance's view)" }
                    thead { tr { th scope="col" { "What" } th scope="col" { "State" } } }
                    tbody {
                        tr {
                            th scope="row" { "Outbox backlog" }
                            td #outbox { @match &backlog {
                                Ok(b) => (outbox(b, now)),
                                Err(_) => "cannot be read now",
                            } }
                        }
                        tr {
                            th scope="row" { "Deposit watcher lag" }
                            td #deposit-lag { (lag(state.deposit_watch.as_ref(), now, "not configured (TON is off)")) }
                        }
                        tr {
                            th scope="row" { "Gift sync lag" }
                            td #gift-sync-lag { (lag(state.gift_sync.as_ref(), now, "not configured (no business connection)")) }
                        }
                    }
                }
            }))
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

/// A span of time as people read it: seconds, minutes, hours or days.
fn span(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..120 => format!("{s} s"),
        120..7_200 => format!("{} min", s / 60),
        7_200..172_800 => format!("{} h", s / 3_600),
        _ => format!("{} days", s / 86_400),
    }
}

fn outbox(b: &DeskBacklog, now: DateTime<Utc>) -> Markup {
    html! {
        strong #outbox-count { (b.outbox_backlog) } " undelivered " (plural(b.outbox_backlog, "row"))
        @if let Some(oldest) = b.oldest_outbox_at {
            "; the oldest written " span #outbox-age { (span(now - oldest)) } " ago (" (when(oldest)) ")"
        }
    }
}

fn lag(mark: Option<&JobMark>, now: DateTime<Utc>, off: &str) -> Markup {
    html! {
        @match mark.map(JobMark::get) {
            None => (off),
            Some(None) => "has not caught up since this instance started",
            Some(Some(at)) => { strong { (span(now - at)) } " (caught up " (when(at)) ")" }
        }
    }
}

fn audit(audited: &Audited) -> Markup {
    let (facts, violations) = (&*audited.facts, &*audited.violations);
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
        p #audited-at { "Audited at " time datetime=(audited.at.to_rfc3339()) { (audited.at.format("%H:%M:%S")) } " UTC (kept " (AUDIT_TTL.num_seconds()) " s)" }
        @if violations.is_empty() {
            p.flash.ok #audit-result { "Clean: every money invariant holds." }
        } @else {
            p.flash.bad #audit-result role="alert" { (violations.len()) " invariant " (plural(violations.len() as u64, "violation")) ": a person must look now." }
            (wide("Audit violations", html! {
                table.violations {
                    caption { "Each violation the audit found" }
                    thead { tr { th scope="col" { "Invariant" } th scope="col" { "Detail" } } }
                    tbody {
                        @for v in violations {
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
