//! One user looked up by id: their balances, ledger, NFTs and withdrawals (the reads behind
//! `/api/me`, `/api/me/ledger`, `/api/nfts?owner=` and `/api/market/withdrawals`, for that user),
//! and a deposit recorded for them through the same use case and command as
//! `POST /api/admin/deposits`.

use std::sync::Arc;

use app::deposits::credit::CreditDeposit;
use app::ports::reads::{NftCursor, NftFilter, NftQuery, NftSort, Page, PageRequest};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{LedgerEntry, Money, Nft, User, UserId, Withdrawal};
use maud::{html, Markup};

use super::deposits::typed_user_id;
use super::layout::{csrf, failed, page, pager_of, respond, ton, when, wide, Here, Input, Problem};
use super::session::{Action, Desk, Fields};
use crate::error::ApiError;
use crate::routes::admin::deposit_command;
use crate::state::AppState;

const TITLE: &str = "Users";

/// A cursor given in the query under `name`, if any.
fn cursor<'a>(query: &'a Fields, name: &str) -> Option<&'a str> {
    Some(query.get(name)).filter(|c| !c.is_empty())
}

/// What the page shows of one user: each list at the page its cursor asks for.
struct Account {
    id: UserId,
    user: Option<User>,
    ledger: (Option<String>, Page<LedgerEntry>),
    nfts: (Option<String>, Page<Nft>),
    withdrawals: (Option<String>, Page<Withdrawal>),
}

/// A deposit that was not recorded: what was posted, and why.
struct Refusal {
    tx_hash: String,
    amount: String,
    problem: Problem,
}

async fn account(state: &AppState, id: UserId, query: &Fields) -> Result<Account, ApiError> {
    let (ledger_at, nfts_at, withdrawals_at) =
        (cursor(query, "ledger"), cursor(query, "nfts"), cursor(query, "withdrawals"));
    let ledger_page = crate::routes::page(None, ledger_at)
        .map_err(|_| ApiError::field("ledger", "is not a cursor this API gave out"))?;
    let withdrawals_page = crate::routes::page(None, withdrawals_at)
        .map_err(|_| ApiError::field("withdrawals", "is not a cursor this API gave out"))?;
    let sort = NftSort::default();
    let after = nfts_at
        .map(|c| NftCursor::decode(sort, c).ok_or_else(|| ApiError::field("nfts", "is not a cursor this API gave out")))
        .transpose()?;
    let filter = NftFilter { owner: Some(id), ..NftFilter::default() };
    let nft_query = NftQuery { filter, sort, after, limit: PageRequest::DEFAULT_LIMIT };
    let (user, ledger, nfts, withdrawals) = tokio::join!(
        state.reads.user(id),
        state.reads.ledger(id, ledger_page),
        state.reads.nfts(&nft_query),
        state.reads.withdrawals(id, withdrawals_page),
    );
    let own = |c: Option<&str>| c.map(str::to_string);
    Ok(Account {
        id,
        user: user?,
        ledger: (own(ledger_at), ledger?),
        nfts: (own(nfts_at), nfts?),
        withdrawals: (own(withdrawals_at), withdrawals?),
    })
}

/// `GET /console/users?id=&ledger=&nfts=&withdrawals=` (the last three: each list's cursor).
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk, RawQuery(query): RawQuery) -> Response {
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    let typed = query.get("id").trim().to_string();
    if typed.is_empty() {
        return respond(StatusCode::OK, render(&desk, "", None, None));
    }
    let id = match typed_user_id(&typed).and_then(|id| crate::routes::admin::user_id("id", id)) {
        Ok(id) => id,
        Err(_) => {
            let problem = Problem::from(ApiError::field("id", "must be a Telegram user id"));
            return respond(problem.status, render(&desk, &typed, None, Some(&problem)));
        }
    };
    match account(&state, id, &query).await {
        Ok(account) => respond(StatusCode::OK, render(&desk, &typed, Some((&account, None)), None)),
        Err(e) => failed(&desk, Here::Users, TITLE, e),
    }
}

/// `POST /console/users/{id}/deposits` (`tx_hash`, `amount` in TON).
pub(crate) async fn deposit(
    State(state): State<Arc<AppState>>,
    id: Result<Path<i64>, PathRejection>,
    Action { desk, fields }: Action,
) -> Response {
    let Ok(Path(id)) = id else {
        desk.flash(&state, false, "No such user.").await;
        return Redirect::to("/console/users").into_response();
    };
    let (tx_hash, amount) = (fields.get("tx_hash").to_string(), fields.get("amount").trim().to_string());
    let command = Money::parse_amount(&amount)
        .map_err(|m| ApiError::field("amount", m.to_string()))
        .and_then(|amount| deposit_command(desk.actor.clone(), id, amount, &tx_hash, None));
    let outcome = match command {
        Ok(cmd) => CreditDeposit::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await.map_err(Problem::from),
        Err(e) => Err(Problem::from(e)),
    };
    match outcome {
        Ok(outcome) => {
            let d = outcome.deposit;
            let text = if outcome.replayed {
                format!(
                    "Deposit {} was already recorded: {} TON to user {}; nothing changed.",
                    d.tx_hash, d.amount, d.user_id
                )
            } else {
                format!("Deposit {} of {} TON credited to user {}.", d.tx_hash, d.amount, d.user_id)
            };
            desk.flash(&state, true, text).await;
            Redirect::to(&format!("/console/users?id={id}")).into_response()
        }
        Err(problem) => {
            let refusal = Refusal { tx_hash, amount, problem };
            let Ok(user) = crate::routes::admin::user_id("user_id", id) else {
                return respond(refusal.problem.status, render(&desk, &id.to_string(), None, Some(&refusal.problem)));
            };
            match account(&state, user, &Fields::default()).await {
                Ok(account) => respond(
                    refusal.problem.status,
                    render(&desk, &id.to_string(), Some((&account, Some(&refusal))), None),
                ),
                Err(e) => failed(&desk, Here::Users, TITLE, e),
            }
        }
    }
}

fn render(desk: &Desk, typed: &str, shown: Option<(&Account, Option<&Refusal>)>, lookup: Option<&Problem>) -> Markup {
    let body = html! {
        @if let Some(problem) = lookup {
            p.flash.bad role="alert" { (problem.summary(&["id"])) }
        }
        form.filters method="get" action="/console/users" {
            (Input {
                value: typed,
                error: lookup.and_then(|p| p.on("id")),
                attrs: &[("inputmode", "numeric"), ("autocomplete", "off"), ("required", "")],
                ..Input::new("id", "id", "User id")
            }.render())
            button type="submit" { "Look up" }
        }
        @if let Some((account, refusal)) = shown {
            (user(desk, account, refusal))
        }
    };
    page(TITLE, Here::Users, desk, body)
}

fn user(desk: &Desk, a: &Account, refusal: Option<&Refusal>) -> Markup {
    let base = format!("/console/users?id={}", a.id);
    html! {
        section aria-labelledby="balances" {
            h2 #balances { "User " (a.id) @if let Some(name) = a.user.as_ref().and_then(|u| u.username.as_ref()) { " (@" (name) ")" } }
            @match &a.user {
                Some(u) => {
                    (wide("Balances", html! {
                        table #user-balances {
                            caption { "Balances" }
                            thead { tr { th scope="col" { "Account" } th scope="col" class="num" { "Amount" } } }
                            tbody {
                                tr { th scope="row" { "Available" } td.num #available { (ton(u.available.as_decimal())) } }
                                tr { th scope="row" { "Held" } td.num #held { (ton(u.held.as_decimal())) } }
                            }
                        }
                    }))
                }
                None => { p #no-user { "No such user yet: they have not signed in or been credited." } }
            }
        }
        section aria-labelledby="record-deposit" {
            h2 #record-deposit { "Record a deposit" }
            @if let Some(r) = refusal {
                p.flash.bad role="alert" { "The deposit was not recorded: " (r.problem.summary(&["tx_hash", "amount"])) }
            }
            p.hint { "A TON transfer to this user found on chain: credited once per transaction hash." }
            form method="post" action=(format!("/console/users/{}/deposits", a.id)) {
                (csrf(desk))
                (Input {
                    value: refusal.map_or("", |r| r.tx_hash.as_str()),
                    error: refusal.and_then(|r| r.problem.on("tx_hash")),
                    attrs: &[("autocomplete", "off"), ("required", "")],
                    ..Input::new("d-tx_hash", "tx_hash", "Transaction hash")
                }.render())
                (Input {
                    value: refusal.map_or("", |r| r.amount.as_str()),
                    error: refusal.and_then(|r| r.problem.on("amount")),
                    hint: Some("In TON, up to 9 decimals."),
                    attrs: &[("inputmode", "decimal"), ("autocomplete", "off"), ("required", "")],
                    ..Input::new("d-amount", "amount", "Amount")
                }.render())
                button type="submit" { "Credit the deposit" }
            }
        }
        section aria-labelledby="ledger" {
            h2 #ledger { "Ledger" }
            @if a.ledger.1.items.is_empty() {
                p { "No ledger entries." }
            } @else {
                (wide("Ledger", html! {
                    table #user-ledger {
                        caption { "Ledger entries, newest first" }
                        thead { tr {
                            th scope="col" { "When" } th scope="col" { "Operation" } th scope="col" { "Account" }
                            th scope="col" class="num" { "Amount" } th scope="col" { "Reference" }
                        } }
                        tbody {
                            @for e in &a.ledger.1.items {
                                tr {
                                    th scope="row" { (when(e.created_at)) }
                                    td { (e.operation.as_str()) }
                                    td { (e.account.as_str()) }
                                    td.num { (ton(e.amount)) }
                                    td { code { (e.reference) } }
                                }
                            }
                        }
                    }
                }))
            }
            (pager_of(&base, "ledger", "Ledger pages", a.ledger.0.as_deref(), a.ledger.1.next_cursor.as_deref()))
        }
        section aria-labelledby="nfts" {
            h2 #nfts { "NFTs" }
            @if a.nfts.1.items.is_empty() {
                p { "No NFTs." }
            } @else {
                (wide("NFTs", html! {
                    table #user-nfts {
                        caption { "NFTs, newest first" }
                        thead { tr {
                            th scope="col" { "NFT" } th scope="col" { "Gift" } th scope="col" { "Status" }
                            th scope="col" class="num" { "Price" }
                        } }
                        tbody {
                            @for n in &a.nfts.1.items {
                                tr {
                                    th scope="row" { (n.title) br; code { (n.id) } }
                                    td { code { (n.gift_id) } }
                                    td { (n.status.as_str()) }
                                    td.num { @if let Some(p) = n.price { (ton(p.as_decimal())) } @else { "—" } }
                                }
                            }
                        }
                    }
                }))
            }
            (pager_of(&base, "nfts", "NFT pages", a.nfts.0.as_deref(), a.nfts.1.next_cursor.as_deref()))
        }
        section aria-labelledby="user-withdrawals" {
            h2 #user-withdrawals { "Withdrawals" }
            @if a.withdrawals.1.items.is_empty() {
                p { "No withdrawals." }
            } @else {
                (wide("Withdrawals", html! {
                    table #user-withdrawals-table {
                        caption { "Withdrawals, newest first" }
                        thead { tr {
                            th scope="col" { "Withdrawal" } th scope="col" class="num" { "Amount" } th scope="col" { "Status" }
                            th scope="col" { "Transaction" } th scope="col" { "Requested" }
                        } }
                        tbody {
                            @for w in &a.withdrawals.1.items {
                                tr {
                                    th scope="row" { code { (w.id) } }
                                    td.num { (ton(w.amount.as_decimal())) }
                                    td { (w.status.as_str()) }
                                    td { @if let Some(h) = &w.tx_hash { code { (h) } } @else { "—" } }
                                    td { (when(w.created_at)) }
                                }
                            }
                        }
                    }
                }))
            }
            (pager_of(&base, "withdrawals", "Withdrawal pages", a.withdrawals.0.as_deref(), a.withdrawals.1.next_cursor.as_deref()))
        }
    }
}
