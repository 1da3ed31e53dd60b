//! What handlers share.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use app::health::HealthCheck;
use app::idempotency::IdempotencyLog;
use app::queries::ReadModel;
use app::Context;

use crate::auth::AuthConfig;
use crate::rate_limit::RateLimits;

pub struct AppState {
    /// What every use case is built from (per request: a few `Arc` clones).
    pub ctx: Context,
    pub reads: Arc<dyn ReadModel>,
    pub auth: AuthConfig,
    /// Dependencies `/readyz` reports; the one named `database` decides readiness.
    pub health: Vec<Arc<dyn HealthCheck>>,
    /// Renders `/metrics`.
    pub render_metrics: Arc<dyn Fn() -> String + Send + Sync>,
    /// Responses of requests that carried an `Idempotency-Key`.
    pub idempotency: Arc<dyn IdempotencyLog>,
    /// Request rate limits (per user, per address).
    pub limits: RateLimits,
    /// Users already stored, with the username last seen (saves a write per request).
    pub(crate) known_users: Mutex<HashSet<(i64, Option<String>)>>,
    /// Where users send TON deposits (with their memo), when the TON rails are configured.
    pub deposit_address: Option<String>,
}

impl AppState {
    pub fn new(
        ctx: Context,
        reads: Arc<dyn ReadModel>,
        auth: AuthConfig,
        health: Vec<Arc<dyn HealthCheck>>,
        render_metrics: Arc<dyn Fn() -> String + Send + Sync>,
        idempotency: Arc<dyn IdempotencyLog>,
        limits: RateLimits,
    ) -> Self {
        Self {
            ctx,
            reads,
            auth,
            health,
            render_metrics,
            idempotency,
            limits,
            known_users: Mutex::default(),
            deposit_address: None,
        }
    }

    /// Enables `GET /api/me/deposit`.
    pub fn with_deposit_address(mut self, address: Option<String>) -> Self {
        self.deposit_address = address;
        self
    }
}
