//! One module per resource: its handlers (each a thin translation between HTTP and one use case
//! or read), its request and response bodies (`dto.rs`), and `routes()`, which registers them —
//! so a new route touches only its resource's module.

pub mod admin;
pub mod auctions;
pub mod channels;
pub mod collection_offers;
pub mod live;
pub mod market;
pub mod me;
pub mod nfts;
pub mod offers;
pub mod ops;
pub mod partners;
pub mod presales;
pub mod telegram;
pub mod trades;

use app::idempotency::IdempotencyKey;
use app::ports::reads::PageRequest;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Validates `limit` and `cursor`.
pub fn page(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let limit = limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 100"));
    }
    let after = match cursor {
        None => None,
        Some(c) => Some(
            PageRequest::decode_cursor(c)
                .ok_or_else(|| ApiError::field("cursor", "is not a cursor this API gave out"))?,
        ),
    };
    Ok(PageRequest { limit, after })
}

/// A user id given as text (a query parameter): digits only, positive.
pub fn user_id(field: &str, value: &str) -> Result<domain::UserId, ApiError> {
    let plain = (1..=18).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) && !value.starts_with('0');
    match value.parse::<i64>() {
        Ok(id) if plain => Ok(domain::UserId(id)),
        _ => Err(ApiError::field(field, "must be `me` or a user id")),
    }
}

/// Checks a required, bounded line of text (trimmed, no control characters).
pub fn text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    domain::text::line(value, max).map_err(|m| ApiError::field(field, m))
}

/// Sends `body` with `status`; when the request carried an `Idempotency-Key`, stores exactly these
/// bytes so a replay gets the same answer.
pub async fn respond<T: serde::Serialize>(
    state: &AppState,
    key: Option<&IdempotencyKey>,
    status: StatusCode,
    body: &T,
) -> Response {
    let bytes = serde_json::to_vec(body).expect("response bodies serialize");
    if let Some(k) = key {
        if let Err(e) = state.idempotency.save_response(k, status.as_u16(), &bytes).await {
            // The key stays "in use" for replays until reaped: never run twice, at worst refused.
            tracing::warn!(error = %e, "cannot store the idempotent response");
        }
    }
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], bytes).into_response()
}
