//! Presales sold and awaiting delivery; one delivered (its gift arrived, with the gift's id)
//! through the same use case and command as `POST /api/admin/presales/{id}/deliver`.

use std::sync::Arc;

use app::ports::reads::{Page, PresaleFilter};
use app::presales::deliver::DeliverPresale;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Presale, PresaleStatus};
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::{csrf, failed, list_url, page, pager, respond, ton, when, wide, Here, Input, Problem};
use super::session::{Action, Desk, Fields, Paging};
use crate::error::ApiError;
use crate::routes::presales::deliver_command;
use crate::state::AppState;

const TITLE: &str = "Presales awaiting delivery";

struct Listing {
    limit: Option<u32>,
    cursor: Option<String>,
    page: Page<Presale>,
}

/// A delivery that did not go through: which presale, what was posted, and why.
struct Refusal {
    id: Uuid,
    gift_id: String,
    problem: Problem,
}

/// Sold presales, newest first: the same read as `GET /api/presales?status=sold`.
async fn list(state: &AppState, query: &Fields) -> Result<Listing, ApiError> {
    let Paging { limit, cursor, request } = query.paging()?;
    let filter = PresaleFilter { status: Some(PresaleStatus::Sold), seller: None };
    let page = state.reads.presales(&filter, request).await?;
    Ok(Listing { limit, cursor, page })
}

/// `GET /console/presales?limit=&cursor=`.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk, RawQuery(query): RawQuery) -> Response {
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    match list(&state, &query).await {
        Ok(listing) => respond(StatusCode::OK, render(&desk, &listing, None)),
        Err(e) => failed(&desk, Here::Presales, TITLE, e),
    }
}

/// `POST /console/presales/{id}/deliver` (`gift_id`).
pub(crate) async fn deliver(
    State(state): State<Arc<AppState>>,
    id: Result<Path<Uuid>, PathRejection>,
    Action { desk, fields }: Action,
) -> Response {
    let Ok(Path(id)) = id else {
        desk.flash(&state, false, "No such presale.").await;
        return Redirect::to("/console/presales").into_response();
    };
    let gift_id = fields.get("gift_id").to_string();
    let outcome = match deliver_command(desk.actor.clone(), id, &gift_id, None) {
        Ok(cmd) => {
            let ctx = &state.ctx;
            DeliverPresale::new(ctx.uows(), ctx.services(), ctx.rules.fees).execute(cmd).await.map_err(Problem::from)
        }
        Err(e) => Err(Problem::from(e)),
    };
    match outcome {
        Ok((presale, nft)) => {
            let text = format!(
                "Presale {} delivered: NFT {} ({}) went to user {}, and seller {} was paid.",
                presale.id, nft.id, nft.gift_id, nft.owner_id, presale.seller_id
            );
            desk.flash(&state, true, text).await;
            Redirect::to("/console/presales").into_response()
        }
        Err(problem) => {
            let refusal = Refusal { id, gift_id, problem };
            match list(&state, &Fields::default()).await {
                Ok(listing) => respond(refusal.problem.status, render(&desk, &listing, Some(&refusal))),
                Err(e) => failed(&desk, Here::Presales, TITLE, e),
            }
        }
    }
}

fn render(desk: &Desk, listing: &Listing, refusal: Option<&Refusal>) -> Markup {
    let base = list_url("/console/presales", listing.limit);
    let body = html! {
        @if let Some(r) = refusal {
            p.flash.bad role="alert" { "Presale " code { (r.id) } " was not delivered: " (r.problem.summary(&["gift_id"])) }
        }
        p.hint {
            "Gifts sold before they could be delivered. When the seller's gift arrives in custody, deliver it "
            "with the gift's id: the buyer gets it as an NFT, the seller is paid and their collateral released. "
            "One not delivered by its deadline is refunded to the buyer by the market."
        }
        @if listing.page.items.is_empty() {
            p #empty { "No presales awaiting delivery." }
        } @else {
            (wide(TITLE, html! {
                table #presales {
                    caption { "Sold presales, newest first" }
                    thead { tr {
                        th scope="col" { "Presale" } th scope="col" { "Title" } th scope="col" { "Seller" }
                        th scope="col" { "Buyer" } th scope="col" class="num" { "Price" }
                        th scope="col" class="num" { "Collateral" } th scope="col" { "Deliver by" }
                        th scope="col" { "Deliver" }
                    } }
                    tbody {
                        @for p in &listing.page.items {
                            tr id=(format!("p-{}", p.id)) {
                                th scope="row" { code { (p.id) } }
                                td { (p.title) " " span.hint { "(" (p.collection) ")" } }
                                td { (p.seller_id) }
                                td { @if let Some(b) = p.buyer_id { (b) } @else { "—" } }
                                td.num { (ton(p.price.as_decimal())) }
                                td.num { (ton(p.collateral.as_decimal())) }
                                td { (when(p.deliver_by)) }
                                td.actions { (deliver_form(desk, p, refusal.filter(|r| r.id == p.id.0))) }
                            }
                        }
                    }
                }
            }))
        }
        (pager(&base, listing.cursor.as_deref(), listing.page.next_cursor.as_deref()))
    };
    page(TITLE, Here::Presales, desk, body)
}

fn deliver_form(desk: &Desk, p: &Presale, refusal: Option<&Refusal>) -> Markup {
    html! {
        form.inline method="post" action=(format!("/console/presales/{}/deliver", p.id)) {
            (csrf(desk))
            (Input {
                value: refusal.map_or("", |r| r.gift_id.as_str()),
                error: refusal.and_then(|r| r.problem.on("gift_id")),
                attrs: &[("autocomplete", "off"), ("required", "")],
                ..Input::new(format!("gift-{}", p.id), "gift_id", "Gift id")
            }.render())
            button type="submit" { "Deliver" span.sr { " (presale " (p.title) ")" } }
        }
    }
}
