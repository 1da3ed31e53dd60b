//! The operator console (SPEC §8, ADR 018): HTML pages for staff at `/console`, served by this
//! router beside the API but outside its OpenAPI document. Rendered on the server (maud, checked
//! by rustc), no JavaScript: plain forms, POST → redirect → GET. Signed in with a staff token into
//! a server-side session; every form that changes something carries the session's CSRF token.
//! Each action runs the same use case, with the same command, as its API route.

mod channels;
mod deposits;
mod gifts;
mod layout;
mod market;
mod overview;
mod partners;
mod presales;
mod session;
mod sign_in;
mod users;
mod withdrawals;

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;

pub(crate) use overview::AuditCache;

use crate::state::AppState;

const CSS: &str = include_str!("assets/console.css");
const FAVICON: &str = include_str!("assets/favicon.svg");

/// Nothing from elsewhere, no script at all, no framing, forms only to here.
const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, to be nested at `/console`.
pub(crate) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(overview::show))
        .route("/audit", post(overview::rerun))
        .route("/sign-in", get(sign_in::show).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/withdrawals", get(withdrawals::show))
        .route("/withdrawals/{id}/resolve", post(withdrawals::resolve))
        .route("/deposits", get(deposits::show))
        .route("/deposits/{id}/assign", post(deposits::assign))
        .route("/gifts", get(gifts::show))
        .route("/gifts/{id}/assign", post(gifts::assign))
        .route("/presales", get(presales::show))
        .route("/presales/{id}/deliver", post(presales::deliver))
        .route("/channels", get(channels::show))
        .route("/channels/{id}/resolve", post(channels::resolve))
        .route("/users", get(users::show))
        .route("/users/{id}/deposits", post(users::deposit))
        .route("/market", get(market::show))
        .route("/partners", get(partners::show).post(partners::create_partner))
        .route("/managers", post(partners::create_manager))
        .route("/assets/console.css", get(|| asset("text/css; charset=utf-8", CSS)))
        .route("/assets/favicon.svg", get(|| asset("image/svg+xml", FAVICON)))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
}

/// `/console/` (outside the nest, which matches `/console` alone): to the overview.
pub(crate) fn trailing_slash() -> axum::routing::MethodRouter<Arc<AppState>> {
    get(|| async { axum::response::Redirect::permanent("/console") })
        .layer(axum::middleware::map_response(security_headers))
}

/// A file compiled into the binary; browsers keep it for a day.
async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=86400")], body).into_response()
}

async fn not_found() -> Response {
    let body = html! { p { "There is no such page. " a href="/console" { "Go to the overview" } "." } };
    layout::respond(StatusCode::NOT_FOUND, layout::bare("Not found", body))
}

/// On every console response: the policy above, no framing, no referrer, no sniffing, and pages
/// (anything not cached on purpose) never stored.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
