//! Oversized bodies get an answer the client can read.
//!
//! A server that answers before it has read the request (413 over the body limit, 401, 429…) and
//! then closes the connection leaves the unread bytes in its socket; the kernel resets the
//! connection, and a client still sending never sees the answer. So every request that may carry
//! a body is read here first: up to [`BODY_LIMIT`](crate::BODY_LIMIT) + 1 bytes are kept for the
//! handler (which then answers exactly as it would have — 413 `payload_too_large` when it reads a
//! body), the rest is read and thrown away — at most [`DRAIN_LIMIT`] (16 MiB) bytes, within the request
//! timeout — and the answer to an oversized request closes the connection (`Connection: close`)
//! once written, so nothing is left unread.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

use crate::BODY_LIMIT;

/// Most bytes of an oversized body read and dropped so its answer can be read; a larger body's
/// connection is closed unread (its sender may then see a reset).
pub const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

pub async fn read_whole_body(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut kept: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    let mut failure = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                seen += bytes.len();
                let room = (BODY_LIMIT + 1).saturating_sub(kept.len());
                kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let oversized = seen > BODY_LIMIT;
    let body = match failure {
        None => Body::from(kept),
        // The handler sees what came and then the same failure it would have seen.
        Some(e) => Body::from_stream(futures_util::stream::iter([Ok(Bytes::from(kept)), Err(e)])),
    };
    let mut res = next.run(Request::from_parts(parts, body)).await;
    if oversized {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}
