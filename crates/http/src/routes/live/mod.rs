//! The live market: the activity feed, collection statistics and charts, and the server-sent
//! event stream (`app::live` fans events out; this turns them into SSE frames).

pub mod dto;

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;

use app::live::{LiveEvent, Refused, StreamFilter};
use app::ports::reads::{ActivityFilter, CollectionStats, Interval, PageRequest};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use chrono::Utc;
use domain::{AuctionId, EventKind, NftId};
use futures_util::stream::{self, Stream, StreamExt};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::dto::*;
use crate::auth::CurrentUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(activity))
        .routes(routes!(collections))
        .routes(routes!(collection))
        .routes(routes!(history))
        .routes(routes!(attributes))
        .routes(routes!(events))
}

/// Public market events, newest first: listings, sales, offers, auctions, trades, presales.
/// Pages stay stable while new events arrive (the cursor is a position in time).
#[utoipa::path(get, path = "/api/activity", tag = "market", security(("tma" = [])), params(ActivityParams),
    responses((status = 200, body = ActivityPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn activity(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiQuery(q): ApiQuery<ActivityParams>,
) -> Result<Json<ActivityPage>, ApiError> {
    let page = super::page(q.limit, q.cursor.as_deref())?;
    let kind = match q.kind.as_deref() {
        None => None,
        Some(k) => match EventKind::parse(k) {
            Some(kind) if kind != EventKind::OfferReceived => Some(kind),
            _ => return Err(ApiError::field("kind", "is not a public event kind")),
        },
    };
    let filter = ActivityFilter {
        collection: q.collection.map(|c| super::text("collection", &c, 200)).transpose()?,
        nft_id: q.nft_id.map(NftId),
        kind,
    };
    Ok(Json(state.reads.activity(&filter, page).await?.into()))
}

/// The collections with NFTs in custody, by name, each with its market now.
#[utoipa::path(get, path = "/api/collections", tag = "market", security(("tma" = [])), params(CollectionsParams),
    responses((status = 200, body = CollectionList), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn collections(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiQuery(q): ApiQuery<CollectionsParams>,
) -> Result<Json<CollectionList>, ApiError> {
    let (stats, next_cursor) = collections_page(&state, q.limit, q.cursor.as_deref()).await?;
    Ok(Json(CollectionList { items: stats.into_iter().map(Into::into).collect(), next_cursor }))
}

/// One page of collections by name with their market now, and the next page's cursor (the API
/// and the console alike).
pub(crate) async fn collections_page(
    state: &AppState,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(Vec<CollectionStats>, Option<String>), ApiError> {
    let (names, next_cursor) = collection_names_page(state, limit, cursor).await?;
    let mut items = Vec::with_capacity(names.len());
    for name in names {
        if let Some(stats) = state.stats.get(&*state.reads, &name).await? {
            items.push(stats);
        }
    }
    Ok((items, next_cursor))
}

/// A page of collection names by name (`limit` by default [`PageRequest::DEFAULT_LIMIT`]) after
/// the name `cursor` encodes, and the next page's cursor.
pub(crate) async fn collection_names_page(
    state: &AppState,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(Vec<String>, Option<String>), ApiError> {
    let limit = limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 100"));
    }
    let after = match cursor {
        None => None,
        Some(c) => {
            Some(decode_name_cursor(c).ok_or_else(|| ApiError::field("cursor", "is not a cursor this API gave out"))?)
        }
    };
    let mut names = state.reads.collections(after.as_deref(), limit + 1).await?;
    let more = names.len() > limit as usize;
    names.truncate(limit as usize);
    let next_cursor = if more { names.last().map(|n| encode_name_cursor(n)) } else { None };
    Ok((names, next_cursor))
}

/// A position after a collection's name, as an opaque cursor (its UTF-8 bytes in hex).
fn encode_name_cursor(name: &str) -> String {
    let mut out = String::with_capacity(2 + name.len() * 2);
    out.push_str("n1");
    for b in name.bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn decode_name_cursor(cursor: &str) -> Option<String> {
    let hex = cursor.strip_prefix("n1")?;
    if hex.is_empty() || hex.len() % 2 != 0 || hex.len() > 1600 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            let pair = hex.get(i..i + 2)?;
            pair.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)).then_some(())?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok().filter(|name| !name.chars().any(char::is_control))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_cursor_gives_back_its_name_and_nothing_else_is_a_cursor() {
        for name in ["pepe", "Plush Pepe", "Клевер", "🐸 frog"] {
            assert_eq!(decode_name_cursor(&encode_name_cursor(name)).as_deref(), Some(name));
        }
        for bad in ["", "n1", "pepe", "n17", "n1zz", "n1FF", "n1ff", "n100", "c17065", "n1 70"] {
            assert_eq!(decode_name_cursor(bad), None, "{bad}");
        }
    }
}

/// One collection's market: listed, floor, owners, sales and volume over 24 h and 7 days, last sale.
#[utoipa::path(get, path = "/api/collections/{name}", tag = "market", security(("tma" = [])), params(CollectionPath),
    responses((status = 200, body = CollectionDto), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn collection(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<CollectionDto>, ApiError> {
    let name = super::text("name", &name, 200)?;
    let stats =
        state.stats.get(&*state.reads, &name).await?.ok_or_else(|| ApiError::not_found("no such collection"))?;
    Ok(Json(stats.into()))
}

/// A collection's attribute values — per model, backdrop and symbol: rarity, NFTs in custody,
/// listed, floor — the numbers a filter panel shows beside each value, rarest first.
#[utoipa::path(get, path = "/api/collections/{name}/attributes", tag = "market", security(("tma" = [])),
    params(CollectionPath),
    responses((status = 200, body = AttributePanelDto), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn attributes(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<AttributePanelDto>, ApiError> {
    let name = super::text("name", &name, 200)?;
    let panel = state.reads.attribute_panel(&name).await?.ok_or_else(|| ApiError::not_found("no such collection"))?;
    Ok(Json(panel.into()))
}

/// Price points for a chart: per hour (the last 7 days) or per day (the last 90 days).
#[utoipa::path(get, path = "/api/collections/{name}/history", tag = "market", security(("tma" = [])),
    params(CollectionPath, HistoryParams),
    responses((status = 200, body = PriceHistory), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn history(
    State(state): State<Arc<AppState>>,
    _user: CurrentUser,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<HistoryParams>,
) -> Result<Json<PriceHistory>, ApiError> {
    let name = super::text("name", &name, 200)?;
    let (interval, back, label) = match q.interval.as_deref() {
        Some("hour") => (Interval::Hour, chrono::Duration::days(7), "hour"),
        None | Some("day") => (Interval::Day, chrono::Duration::days(90), "day"),
        Some(_) => return Err(ApiError::field("interval", "must be hour or day")),
    };
    let points = state.reads.collection_history(&name, interval, Utc::now() - back).await?;
    Ok(Json(PriceHistory {
        collection: name,
        interval: label.into(),
        points: points.into_iter().map(Into::into).collect(),
    }))
}

fn sse_event(e: &LiveEvent) -> Event {
    let (kind, data) = match e {
        LiveEvent::Market(m) => (m.kind.as_str(), serde_json::to_string(&ActivityDto::from(m.clone()))),
        LiveEvent::Balance { id, operation, at, .. } => {
            ("balance", serde_json::to_string(&BalanceEventDto { id: *id, operation: operation.clone(), at: *at }))
        }
    };
    Event::default().id(e.id().to_string()).event(kind).data(data.unwrap_or_default())
}

/// Server-sent events: the market's public events (filtered by collection, NFT or auction) and
/// the caller's private ones (`offer_received`, `balance`), pushed as they commit on any
/// instance. Every event has an `id:`; reconnecting with `Last-Event-ID` replays what was missed.
/// A comment every 15 s (`SSE_KEEP_ALIVE_MS`) keeps the connection alive. Too many streams (per user or in total):
/// 503. A client that stops reading is dropped.
#[utoipa::path(get, path = "/api/events", tag = "market", security(("tma" = [])), params(StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "the `id` of the last event received")),
    responses((status = 200, description = "an event stream", content_type = "text/event-stream", body = String),
        (status = 401, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn events(
    State(state): State<Arc<AppState>>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<StreamParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let filter = StreamFilter {
        collection: q.collection.map(|c| super::text("collection", &c, 200)).transpose()?,
        nft_id: q.nft_id.map(NftId),
        auction_id: q.auction_id.map(AuctionId),
    };
    let last = match headers.get("last-event-id").map(|v| v.to_str().map(|s| s.trim().parse::<uuid::Uuid>())) {
        None => None,
        Some(Ok(Ok(id))) => Some(id),
        Some(_) => return Err(ApiError::field("Last-Event-ID", "is not an event id")),
    };
    // Subscribe first, then replay: nothing committed in between is missed (duplicates are skipped).
    let subscription = state.live.subscribe(user.id, filter.clone()).map_err(|r| match r {
        Refused::TooManyForUser => ApiError::unavailable("too many event streams open for this user"),
        Refused::TooMany => ApiError::unavailable("too many event streams open"),
    })?;
    let replay = match last {
        Some(last) => state.live.replay(user.id, &filter, last).await?,
        None => Vec::new(),
    };
    let replayed: HashSet<uuid::Uuid> = replay.iter().map(LiveEvent::id).collect();
    let live = subscription.filter(move |e| std::future::ready(!replayed.contains(&e.id())));
    let all = stream::iter(replay).chain(live).map(|e| Ok(sse_event(&e)));
    Ok(Sse::new(all).keep_alive(KeepAlive::new().interval(state.live.settings().keep_alive).text("keep-alive")))
}
