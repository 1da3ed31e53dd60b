//! Unmatched gifts (gifts on the business account the gift rail could not register: no sender, or
//! from the blockchain), each registered to its user through the same use case and command as
//! `POST /api/admin/gifts/unmatched/{id}/assign`.

use std::sync::Arc;

use app::gifts::assign::AssignUnmatchedGift;
use app::ports::reads::Page;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::UnmatchedGift;
use maud::{html, Markup};
use uuid::Uuid;

use super::deposits::typed_user_id;
use super::layout::{csrf, failed, list_url, page, pager, respond, when, wide, Here, Input, Problem};
use super::session::{Action, Desk, Fields, Paging};
use crate::error::ApiError;
use crate::routes::admin::assign_gift_command;
use crate::state::AppState;

const TITLE: &str = "Unmatched gifts";

struct Listing {
    limit: Option<u32>,
    cursor: Option<String>,
    page: Page<UnmatchedGift>,
}

/// An assignment that did not go through: which gift, what was posted, and why.
struct Refusal {
    id: Uuid,
    user_id: String,
    problem: Problem,
}

async fn list(state: &AppState, query: &Fields) -> Result<Listing, ApiError> {
    let Paging { limit, cursor, request } = query.paging()?;
    let page = state.reads.unmatched_gifts(request).await?;
    Ok(Listing { limit, cursor, page })
}

/// `GET /console/gifts?limit=&cursor=`: newest first, assigned ones included.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk, RawQuery(query): RawQuery) -> Response {
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    match list(&state, &query).await {
        Ok(listing) => respond(StatusCode::OK, render(&desk, &listing, None)),
        Err(e) => failed(&desk, Here::Gifts, TITLE, e),
    }
}

/// `POST /console/gifts/{id}/assign` (`user_id`).
pub(crate) async fn assign(
    State(state): State<Arc<AppState>>,
    id: Result<Path<Uuid>, PathRejection>,
    Action { desk, fields }: Action,
) -> Response {
    let Ok(Path(id)) = id else {
        desk.flash(&state, false, "No such unmatched gift.").await;
        return Redirect::to("/console/gifts").into_response();
    };
    let user_id = fields.get("user_id").to_string();
    let outcome = match typed_user_id(&user_id).and_then(|u| assign_gift_command(desk.actor.clone(), id, u, None)) {
        Ok(cmd) => {
            AssignUnmatchedGift::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await.map_err(Problem::from)
        }
        Err(e) => Err(Problem::from(e)),
    };
    match outcome {
        Ok((unmatched, nft)) => {
            let text =
                format!("Gift {} registered to user {} as NFT {}.", unmatched.gift.gift_id, nft.owner_id, nft.id);
            desk.flash(&state, true, text).await;
            Redirect::to("/console/gifts").into_response()
        }
        Err(problem) => {
            let refusal = Refusal { id, user_id, problem };
            match list(&state, &Fields::default()).await {
                Ok(listing) => respond(refusal.problem.status, render(&desk, &listing, Some(&refusal))),
                Err(e) => failed(&desk, Here::Gifts, TITLE, e),
            }
        }
    }
}

fn render(desk: &Desk, listing: &Listing, refusal: Option<&Refusal>) -> Markup {
    let base = list_url("/console/gifts", listing.limit);
    let body = html! {
        @if let Some(r) = refusal {
            p.flash.bad role="alert" { "Gift " code { (r.id) } " was not assigned: " (r.problem.summary(&["user_id"])) }
        }
        p.hint {
            "Gifts on the business account that no NFT stands for: Telegram named no sender, or the gift came "
            "from the blockchain. Find whose it is, then register it to them as their NFT: once, recorded with "
            "your token's label."
        }
        @if listing.page.items.is_empty() {
            p #empty { "No unmatched gifts." }
        } @else {
            (wide(TITLE, html! {
                table #gifts {
                    caption { "Unmatched gifts, newest first" }
                    thead { tr {
                        th scope="col" { "Gift" } th scope="col" { "Collection" } th scope="col" { "Sender" }
                        th scope="col" { "Why kept" } th scope="col" { "Received" } th scope="col" { "Assign" }
                    } }
                    tbody {
                        @for u in &listing.page.items {
                            tr id=(format!("g-{}", u.id)) {
                                th scope="row" { code { (u.gift.gift_id) } }
                                td { (u.gift.collection) @if let Some(n) = u.gift.traits.number { " #" (n) } }
                                td { @if let Some(s) = u.sender_id { (s) } @else { "—" } }
                                td { (u.reason.as_str()) }
                                td { (when(u.received_at)) }
                                td.actions {
                                    @match (u.assigned_to, u.assigned_at) {
                                        (Some(user), Some(at)) => { "Registered to user " (user) " " (when(at)) }
                                        (Some(user), None) => { "Registered to user " (user) }
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
    page(TITLE, Here::Gifts, desk, body)
}

fn assign_form(desk: &Desk, u: &UnmatchedGift, refusal: Option<&Refusal>) -> Markup {
    html! {
        form.inline method="post" action=(format!("/console/gifts/{}/assign", u.id)) {
            (csrf(desk))
            (Input {
                value: refusal.map_or("", |r| r.user_id.as_str()),
                error: refusal.and_then(|r| r.problem.on("user_id")),
                attrs: &[("inputmode", "numeric"), ("autocomplete", "off"), ("required", "")],
                ..Input::new(format!("user-{}", u.id), "user_id", "User id")
            }.render())
            button type="submit" { "Assign" span.sr { " (gift " (u.gift.gift_id) ")" } }
        }
    }
}
