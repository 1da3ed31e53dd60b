//! What handlers share.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use app::ports::reads::ReadModel;
use app::ports::{HealthCheck, IdempotencyLog, UserSignup};
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
    /// Creates users on their first request.
    pub signup: Arc<dyn UserSignup>,
    /// Request rate limits (per user, per address).
    pub limits: RateLimits,
    /// Users already stored, with the username last seen (saves a write per request).
    pub(crate) known_users: Mutex<HashSet<(i64, Option<String>)>>,
    /// Where users send TON deposits (with their memo), when the TON rails are configured.
    pub deposit_address: Option<String>,
    /// The live event stream's fan-out.
    pub live: Arc<crate::live::Hub>,
    /// Collection statistics, kept for a moment.
    pub stats: crate::live::StatsCache,
}

impl AppState {
    pub fn new(
        ctx: Context,
        reads: Arc<dyn ReadModel>,
        auth: AuthConfig,
        health: Vec<Arc<dyn HealthCheck>>,
        idempotency: Arc<dyn IdempotencyLog>,
        signup: Arc<dyn UserSignup>,
        limits: RateLimits,
    ) -> Self {
        Self {
            ctx,
            reads: reads.clone(),
            auth,
            health,
            render_metrics: Arc::new(String::new),
            idempotency,
            signup,
            limits,
            known_users: Mutex::default(),
            deposit_address: None,
            live: Arc::new(crate::live::Hub::new(reads, Arc::default(), crate::live::LiveSettings::default())),
            stats: crate::live::StatsCache::new(std::time::Duration::from_secs(1)),
        }
    }

    /// The live stream woken by `wake` (commits on any instance), within `settings`; statistics
    /// kept for `stats_ttl`.
    pub fn with_live(
        mut self,
        wake: Arc<tokio::sync::Notify>,
        settings: crate::live::LiveSettings,
        stats_ttl: std::time::Duration,
        on_start: impl FnOnce() + Send + 'static,
    ) -> Self {
        self.live = Arc::new(crate::live::Hub::new(self.reads.clone(), wake, settings).on_start(on_start));
        self.stats = crate::live::StatsCache::new(stats_ttl);
        self
    }

    /// What `/metrics` shows (nothing until set).
    pub fn with_metrics(mut self, render: Arc<dyn Fn() -> String + Send + Sync>) -> Self {
        self.render_metrics = render;
        self
    }

    /// Enables `GET /api/me/deposit`.
    pub fn with_deposit_address(mut self, address: Option<String>) -> Self {
        self.deposit_address = address;
        self
    }
}
