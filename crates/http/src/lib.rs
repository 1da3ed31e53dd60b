//! The HTTP adapter: axum router, auth extractors, DTOs, problem+json errors, OpenAPI.

pub mod auth;
mod body;
mod console;
pub mod dto;
pub mod error;
pub mod extract;
mod middleware;
mod openapi;
pub mod rate_limit;
pub mod routes;
mod state;

pub use auth::{init_data, AuthConfig, Caller};
pub use error::ApiError;
pub use openapi::api_doc;
pub use rate_limit::{RateLimitSettings, RateLimits};
pub use state::AppState;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The whole HTTP surface: API, health, metrics, OpenAPI and Swagger UI, and the operator
/// console (HTML, outside the document).
pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    let (api, doc) = openapi::router_and_doc();
    let docs = utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", doc);
    Router::new()
        .merge(api)
        .merge(docs)
        .nest("/console", console::router())
        .route("/console/", console::trailing_slash())
        .fallback(routes::ops::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::authenticate))
        .with_state(state)
        .layer(axum::middleware::from_fn(middleware::observe))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(body::read_whole_body))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, request_timeout))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
