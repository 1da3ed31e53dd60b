//! The market at a glance: the collections by name with floor, listed and 24 h volume (one
//! statement per page, live — the API's full statistics count every owner and a week of sales,
//! too slow for a page of big collections), and the public activity feed (the read behind
//! `GET /api/activity`), each paged with the API's cursors.

use std::sync::Arc;

use app::ports::reads::{ActivityFilter, CollectionGlance, Page, PageRequest};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::MarketEvent;
use maud::{html, Markup};

use super::layout::{failed, page, pager_of, respond, ton, when, wide, Here};
use super::session::{Desk, Fields};
use crate::error::ApiError;
use crate::routes::live::collection_names_page;
use crate::state::AppState;

const TITLE: &str = "Market";

struct Market {
    collections: (Option<String>, Vec<CollectionGlance>, Option<String>),
    activity: (Option<String>, Page<MarketEvent>),
}

async fn read(state: &AppState, query: &Fields) -> Result<Market, ApiError> {
    let cursor = |name: &str| Some(query.get(name)).filter(|c| !c.is_empty()).map(str::to_string);
    let (collections_at, activity_at) = (cursor("collections"), cursor("activity"));
    let activity_page = crate::routes::page(None, activity_at.as_deref())
        .map_err(|_| ApiError::field("activity", "is not a cursor this API gave out"))?;
    let everything = ActivityFilter::default();
    let collections = async {
        let (names, next) =
            collection_names_page(state, Some(PageRequest::DEFAULT_LIMIT), collections_at.as_deref()).await?;
        let glances = state.reads.collection_glances(&names, state.auth.clock.now()).await?;
        Ok::<_, ApiError>((glances, next))
    };
    let (collections, activity) = tokio::join!(collections, state.reads.activity(&everything, activity_page));
    // The API names its one cursor `cursor`; here it is the collections' of two.
    let (stats, next) = collections.map_err(|e| match e.errors.iter().any(|f| f.field == "cursor") {
        true => ApiError::field("collections", "is not a cursor this API gave out"),
        false => e,
    })?;
    Ok(Market { collections: (collections_at, stats, next), activity: (activity_at, activity?) })
}

/// `GET /console/market?collections=&activity=` (each list's cursor).
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk, RawQuery(query): RawQuery) -> Response {
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    match read(&state, &query).await {
        Ok(market) => respond(StatusCode::OK, render(&desk, &market)),
        Err(e) => failed(&desk, Here::Market, TITLE, e),
    }
}

fn render(desk: &Desk, m: &Market) -> Markup {
    let (collections_at, stats, collections_next) = &m.collections;
    let body = html! {
        section aria-labelledby="collections" {
            h2 #collections { "Collections" }
            @if stats.is_empty() {
                p { "No collections yet." }
            } @else {
                (wide("Collections", html! {
                    table #market-collections {
                        caption { "Collections by name" }
                        thead { tr {
                            th scope="col" { "Collection" } th scope="col" class="num" { "Floor" }
                            th scope="col" class="num" { "Listed" }
                            th scope="col" class="num" { "Sales 24 h" } th scope="col" class="num" { "Volume 24 h" }
                            th scope="col" { "Last sale" }
                        } }
                        tbody {
                            @for c in stats {
                                tr {
                                    th scope="row" { (c.name) }
                                    td.num { @if let Some(f) = c.floor { (ton(f.as_decimal())) } @else { "—" } }
                                    td.num { (c.listed) }
                                    td.num { (c.sales_24h) }
                                    td.num { (ton(c.volume_24h.as_decimal())) }
                                    td { @if let Some((price, at)) = c.last_sale { (ton(price.as_decimal())) " " (when(at)) } @else { "—" } }
                                }
                            }
                        }
                    }
                }))
            }
            (pager_of("/console/market", "collections", "Collection pages", collections_at.as_deref(), collections_next.as_deref()))
        }
        section aria-labelledby="activity" {
            h2 #activity { "Activity" }
            @if m.activity.1.items.is_empty() {
                p { "No market activity yet." }
            } @else {
                (wide("Activity", html! {
                    table #market-activity {
                        caption { "Public market events, newest first" }
                        thead { tr {
                            th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "Collection" }
                            th scope="col" { "NFT" } th scope="col" class="num" { "Price" }
                        } }
                        tbody {
                            @for e in &m.activity.1.items {
                                tr {
                                    th scope="row" { (when(e.created_at)) }
                                    td { (e.kind.as_str()) }
                                    td { @if let Some(c) = &e.collection { (c) } @else { "—" } }
                                    td { @if let Some(n) = e.nft_id { code { (n) } } @else { "—" } }
                                    td.num { @if let Some(p) = e.price { (ton(p.as_decimal())) } @else { "—" } }
                                }
                            }
                        }
                    }
                }))
            }
            (pager_of("/console/market", "activity", "Activity pages", m.activity.0.as_deref(), m.activity.1.next_cursor.as_deref()))
        }
    };
    page(TITLE, Here::Market, desk, body)
}
