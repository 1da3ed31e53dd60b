//! Channel sales by status, newest first, paged with the API's cursors (those awaiting the
//! seller's transfer by default); a disputed one settled (`complete` pays the seller, `refund`
//! returns the escrow) through the same use case and command as
//! `POST /api/admin/channels/{id}/resolve`.

use std::sync::Arc;

use app::channels::resolve::ResolveChannelSale;
use app::ports::reads::Page;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{ChannelSale, ChannelSaleStatus};
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::{csrf, failed, list_url, page, pager, respond, status_filter, ton, when, wide, Here, Problem};
use super::session::{Action, Desk, Fields, Paging};
use crate::error::ApiError;
use crate::routes::channels::resolve_command;
use crate::state::AppState;

/// The page's title when the list cannot be read.
const TITLE: &str = "Channel sales";

const STATUSES: [ChannelSaleStatus; 5] = [
    ChannelSaleStatus::AwaitingTransfer,
    ChannelSaleStatus::Listed,
    ChannelSaleStatus::Completed,
    ChannelSaleStatus::Refunded,
    ChannelSaleStatus::Deleted,
];

/// One page of channel sales in a status, as asked for.
struct Listing {
    status: ChannelSaleStatus,
    limit: Option<u32>,
    cursor: Option<String>,
    page: Page<ChannelSale>,
}

/// A resolution that did not go through: which sale, and why.
struct Refusal {
    id: Uuid,
    problem: Problem,
}

/// The page's title for a status, and what it says when there are none.
fn words(status: ChannelSaleStatus) -> (&'static str, &'static str) {
    match status {
        ChannelSaleStatus::AwaitingTransfer => {
            ("Channel sales awaiting transfer", "No channel sales awaiting transfer.")
        }
        ChannelSaleStatus::Listed => ("Channels listed for sale", "No channels listed for sale."),
        ChannelSaleStatus::Completed => ("Completed channel sales", "No completed channel sales."),
        ChannelSaleStatus::Refunded => ("Refunded channel sales", "No refunded channel sales."),
        ChannelSaleStatus::Deleted => ("Deleted channel listings", "No deleted channel listings."),
    }
}

/// One page of the sales in the asked status: one query (`channel_sales_in`).
async fn list(state: &AppState, query: &Fields) -> Result<Listing, ApiError> {
    let status = match query.get("status") {
        "" => ChannelSaleStatus::AwaitingTransfer,
        s => ChannelSaleStatus::parse(s).ok_or_else(|| {
            ApiError::field("status", "must be awaiting_transfer, listed, completed, refunded or deleted")
        })?,
    };
    let Paging { limit, cursor, request } = query.paging()?;
    let page = state.reads.channel_sales_in(status, request).await?;
    Ok(Listing { status, limit, cursor, page })
}

/// `GET /console/channels?status=awaiting_transfer&limit=&cursor=`.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk, RawQuery(query): RawQuery) -> Response {
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    match list(&state, &query).await {
        Ok(listing) => respond(StatusCode::OK, render(&desk, &listing, None)),
        Err(e) => failed(&desk, Here::Channels, TITLE, e),
    }
}

/// `POST /console/channels/{id}/resolve` (`outcome` = `complete` or `refund`).
pub(crate) async fn resolve(
    State(state): State<Arc<AppState>>,
    id: Result<Path<Uuid>, PathRejection>,
    Action { desk, fields }: Action,
) -> Response {
    let Ok(Path(id)) = id else {
        desk.flash(&state, false, "No such channel sale.").await;
        return Redirect::to("/console/channels").into_response();
    };
    let outcome = match resolve_command(desk.actor.clone(), id, fields.get("outcome"), None) {
        Ok(cmd) => {
            let ctx = &state.ctx;
            ResolveChannelSale::new(ctx.uows(), ctx.services(), ctx.rules.fees)
                .execute(cmd)
                .await
                .map_err(Problem::from)
        }
        Err(e) => Err(Problem::from(e)),
    };
    match outcome {
        Ok(sale) => {
            let text = match (sale.status, sale.buyer_id) {
                (ChannelSaleStatus::Completed, _) => {
                    format!(
                        "Channel sale {} completed: seller {} was paid for {}.",
                        sale.id, sale.seller_id, sale.title
                    )
                }
                (_, Some(buyer)) => {
                    format!("Channel sale {} refunded: {} TON went back to user {buyer}.", sale.id, sale.price)
                }
                _ => format!("Channel sale {} is now {}.", sale.id, sale.status.as_str()),
            };
            desk.flash(&state, true, text).await;
            Redirect::to("/console/channels").into_response()
        }
        Err(problem) => {
            let refusal = Refusal { id, problem };
            match list(&state, &Fields::default()).await {
                Ok(listing) => respond(refusal.problem.status, render(&desk, &listing, Some(&refusal))),
                Err(e) => failed(&desk, Here::Channels, TITLE, e),
            }
        }
    }
}

fn render(desk: &Desk, listing: &Listing, refusal: Option<&Refusal>) -> Markup {
    let (title, none) = words(listing.status);
    let base = list_url(&format!("/console/channels?status={}", listing.status.as_str()), listing.limit);
    let awaiting = listing.status == ChannelSaleStatus::AwaitingTransfer;
    let body = html! {
        @if let Some(r) = refusal {
            p.flash.bad role="alert" { "Channel sale " code { (r.id) } " was not resolved: " (r.problem.summary(&[])) }
        }
        (status_filter("/console/channels", STATUSES.iter().map(|s| s.as_str()), listing.status.as_str()))
        @if awaiting {
            p.hint {
                "Channels bought and paid for (the price held in escrow) whose seller has still to hand the channel "
                "over. The market completes or refunds one at its deadline by itself; settle a disputed one here: "
                "complete pays the seller, refund returns the escrow to the buyer. Recorded with your token's label."
            }
        }
        @if listing.page.items.is_empty() {
            p #empty { (none) }
        } @else {
            (wide(title, html! {
                table #channels {
                    caption { (title) ", newest first" }
                    thead { tr {
                        th scope="col" { "Channel" } th scope="col" { "Seller" } th scope="col" { "Buyer" }
                        th scope="col" class="num" { "Price" } th scope="col" { "Listed" } th scope="col" { "Transfer by" }
                        @if awaiting { th scope="col" { "Resolve" } }
                    } }
                    tbody {
                        @for s in &listing.page.items {
                            tr id=(format!("c-{}", s.id)) {
                                th scope="row" {
                                    (s.title)
                                    @if let Some(u) = &s.username { " " span.hint { "@" (u) } }
                                    br; code { (s.id) }
                                }
                                td { (s.seller_id) }
                                td { @if let Some(b) = s.buyer_id { (b) } @else { "—" } }
                                td.num { (ton(s.price.as_decimal())) }
                                td { (when(s.created_at)) }
                                td { @if let Some(at) = s.transfer_by { (when(at)) } @else { "—" } }
                                @if awaiting { td.actions { (resolve_forms(desk, s)) } }
                            }
                        }
                    }
                }
            }))
        }
        (pager(&base, listing.cursor.as_deref(), listing.page.next_cursor.as_deref()))
    };
    page(title, Here::Channels, desk, body)
}

fn resolve_forms(desk: &Desk, s: &ChannelSale) -> Markup {
    let action = format!("/console/channels/{}/resolve", s.id);
    html! {
        form.inline method="post" action=(action) {
            (csrf(desk))
            input type="hidden" name="outcome" value="complete";
            button type="submit" { "Complete and pay the seller" span.sr { " (" (s.title) ")" } }
        }
        form.inline method="post" action=(action) {
            (csrf(desk))
            input type="hidden" name="outcome" value="refund";
            button.danger type="submit" { "Refund the buyer" span.sr { " (" (s.title) ")" } }
        }
    }
}
