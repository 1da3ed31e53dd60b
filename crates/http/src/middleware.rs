//! Request observation: a span with the request id around every request, access log, metrics.

use std::any::Any;
use std::time::Instant;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::auth::identify;
use crate::error::ApiError;
use crate::state::AppState;

pub async fn observe(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let span = tracing::info_span!("request", %method, %route, %request_id);
    let started = Instant::now();
    let res = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    // A formatted line per request costs more than some requests do: 5xx always, the rest at debug.
    if status >= 500 {
        span.in_scope(|| tracing::warn!(status, elapsed_ms = elapsed.as_secs_f64() * 1e3, "request failed"));
    } else {
        span.in_scope(|| tracing::debug!(status, elapsed_ms = elapsed.as_secs_f64() * 1e3, "request done"));
    }
    res
}

/// Decides who the request is from (once: the extractors read it), then takes a token from
/// their rate-limit bucket: 429 `rate_limited` with `Retry-After` when there is none.
pub async fn authenticate(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let caller = identify(&state.auth, req.headers());
    let address = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    // Telegram's webhook is one address sending as fast as gifts arrive; its secret guards it.
    let exempt = req.uri().path() == "/telegram/webhook";
    let checked = if exempt { Ok(()) } else { state.limits.check(&caller, address) };
    if let Err(limited) = checked {
        let seconds = limited.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let mut res = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            domain::code::RATE_LIMITED,
            format!("too many requests from this {}; retry in {seconds} s", limited.by),
        )
        .into_response();
        res.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        return res;
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    ApiError::internal(format!("handler panicked: {what}")).into_response()
}
