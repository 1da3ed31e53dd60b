//! Channel sales awaiting the seller's transfer, oldest deadline first; a disputed one settled
//! (`complete` pays the seller, `refund` returns the escrow) through the same use case and command
//! as `POST /api/admin/channels/{id}/resolve`.

use std::sync::Arc;

use app::channels::resolve::ResolveChannelSale;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{ChannelSale, ChannelSaleStatus};
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::{csrf, failed, page, respond, ton, when, wide, Here, Problem};
use super::session::{Action, Desk};
use crate::error::ApiError;
use crate::routes::channels::resolve_command;
use crate::state::AppState;

const TITLE: &str = "Channel sales awaiting transfer";

/// How many the page shows: the read is the confirmation job's (oldest deadline first, not paged).
const SHOWN: u32 = 100;

/// A resolution that did not go through: which sale, and why.
struct Refusal {
    id: Uuid,
    problem: Problem,
}

/// The sales awaiting transfer (the confirmation job's read), each read in full; whether there
/// are more than [`SHOWN`].
async fn list(state: &AppState) -> Result<(Vec<ChannelSale>, bool), ApiError> {
    let awaiting = state.reads.awaiting_channel_sales(SHOWN + 1).await?;
    let more = awaiting.len() > SHOWN as usize;
    let mut sales = Vec::with_capacity(awaiting.len());
    for a in awaiting.iter().take(SHOWN as usize) {
        if let Some(sale) = state.reads.channel_sale(a.id).await? {
            if sale.status == ChannelSaleStatus::AwaitingTransfer {
                sales.push(sale);
            }
        }
    }
    Ok((sales, more))
}

/// `GET /console/channels`.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk) -> Response {
    match list(&state).await {
        Ok((sales, more)) => respond(StatusCode::OK, render(&desk, &sales, more, None)),
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
        desk.flash(&state, false, "No such channel sale.");
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
            desk.flash(&state, true, text);
            Redirect::to("/console/channels").into_response()
        }
        Err(problem) => {
            let refusal = Refusal { id, problem };
            match list(&state).await {
                Ok((sales, more)) => respond(refusal.problem.status, render(&desk, &sales, more, Some(&refusal))),
                Err(e) => failed(&desk, Here::Channels, TITLE, e),
            }
        }
    }
}

fn render(desk: &Desk, sales: &[ChannelSale], more: bool, refusal: Option<&Refusal>) -> Markup {
    let body = html! {
        @if let Some(r) = refusal {
            p.flash.bad role="alert" { "Channel sale " code { (r.id) } " was not resolved: " (r.problem.summary(&[])) }
        }
        p.hint {
            "Channels bought and paid for (the price held in escrow) whose seller has still to hand the channel "
            "over. The market completes or refunds one at its deadline by itself; settle a disputed one here: "
            "complete pays the seller, refund returns the escrow to the buyer. Recorded with your token's label."
        }
        @if sales.is_empty() {
            p #empty { "No channel sales awaiting transfer." }
        } @else {
            (wide(TITLE, html! {
                table #channels {
                    caption { "Channel sales awaiting transfer, oldest deadline first" @if more { " (the first " (SHOWN) ")" } }
                    thead { tr {
                        th scope="col" { "Channel" } th scope="col" { "Seller" } th scope="col" { "Buyer" }
                        th scope="col" class="num" { "Price" } th scope="col" { "Transfer by" } th scope="col" { "Resolve" }
                    } }
                    tbody {
                        @for s in sales {
                            tr id=(format!("c-{}", s.id)) {
                                th scope="row" {
                                    (s.title)
                                    @if let Some(u) = &s.username { " " span.hint { "@" (u) } }
                                    br; code { (s.id) }
                                }
                                td { (s.seller_id) }
                                td { @if let Some(b) = s.buyer_id { (b) } @else { "—" } }
                                td.num { (ton(s.price.as_decimal())) }
                                td { @if let Some(at) = s.transfer_by { (when(at)) } @else { "—" } }
                                td.actions { (resolve_forms(desk, s)) }
                            }
                        }
                    }
                }
            }))
        }
    };
    page(TITLE, Here::Channels, desk, body)
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
