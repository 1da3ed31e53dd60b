//! Liveness, readiness, metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use app::ports::Health;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Liveness {
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Liveness)))]
pub async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: "ok".into() })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ok`, `degraded` (serving without an optional dependency) or `down`.
    pub status: String,
    /// Each dependency: `ok`, `degraded`, `down` or `embedded`.
    pub checks: BTreeMap<String, String>,
}

/// Readiness with each dependency's state; 503 when the database is down.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Readiness>) {
    let (worst, checks) = readiness(&state).await;
    let code = if worst == Health::Down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let checks = checks.into_iter().map(|(name, h)| (name.to_string(), h.as_str().to_string())).collect();
    (code, Json(Readiness { status: worst.as_str().into(), checks }))
}

/// Each dependency's state, and the worst of them (`/readyz`, the console's overview).
pub(crate) async fn readiness(state: &AppState) -> (Health, BTreeMap<&'static str, Health>) {
    let mut checks = BTreeMap::new();
    let mut worst = Health::Ok;
    for dep in &state.health {
        let h = dep.check().await;
        if h == Health::Down || (h == Health::Degraded && worst != Health::Down) {
            worst = h;
        }
        checks.insert(dep.name(), h);
    }
    (worst, checks)
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], (state.render_metrics)())
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}
