//! What handlers share.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::live::{Hub, LiveSettings, Reader, StatsCache, Wake};
use app::ports::reads::ReadModel;
use app::ports::{ConsoleSessions, HealthCheck, IdempotencyLog, UserSignup};
use app::Context;
use domain::ports::Clock;

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
    pub live: Arc<Hub>,
    /// Collection statistics, kept for a moment.
    pub stats: StatsCache,
    /// `POST /telegram/webhook`, when `TELEGRAM_WEBHOOK_SECRET` is set.
    pub telegram_webhook: Option<crate::routes::telegram::TelegramWebhook>,
    /// The operator console's signed-in sessions, kept by the store (every instance over it
    /// shares them).
    pub(crate) console: Arc<dyn ConsoleSessions>,
    /// The overview's last audit, reused for a while (the audit reads every ledger entry).
    pub(crate) console_audit: crate::console::AuditCache,
    /// When the deposit watcher last caught up with the chain (`None`: TON is not configured).
    pub deposit_watch: Option<app::jobs::JobMark>,
    /// When the gift sync last read the whole business account (`None`: no business connection).
    pub gift_sync: Option<app::jobs::JobMark>,
}

/// Runs the live hub's reader on the runtime serving the requests.
fn spawn_reader(reader: Reader) {
    drop(tokio::spawn(reader));
}

impl AppState {
    /// What every handler needs (the live stream and the deposit address come after, `with_…`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ctx: Context,
        reads: Arc<dyn ReadModel>,
        auth: AuthConfig,
        health: Vec<Arc<dyn HealthCheck>>,
        idempotency: Arc<dyn IdempotencyLog>,
        signup: Arc<dyn UserSignup>,
        limits: RateLimits,
        console: Arc<dyn ConsoleSessions>,
    ) -> Self {
        // Until `with_live`: a hub reading on its timer alone, on the real clock (authentication's).
        let clock = auth.clock.clone();
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
            live: Arc::new(
                Hub::new(reads, clock.clone(), Wake::new(), LiveSettings::default()).spawn_with(spawn_reader),
            ),
            stats: StatsCache::new(Duration::from_secs(1), clock),
            telegram_webhook: None,
            console,
            console_audit: Default::default(),
            deposit_watch: None,
            gift_sync: None,
        }
    }

    /// The live stream woken by `wake` (commits on any instance), within `settings`; statistics
    /// kept for `stats_ttl`; both on `clock`'s time. The hub's reader runs on this runtime from
    /// the first stream on.
    pub fn with_live(
        mut self,
        clock: Arc<dyn Clock>,
        wake: Wake,
        settings: LiveSettings,
        stats_ttl: Duration,
        on_start: impl FnOnce() + Send + 'static,
    ) -> Self {
        let hub = Hub::new(self.reads.clone(), clock.clone(), wake, settings).on_start(on_start);
        self.live = Arc::new(hub.spawn_with(spawn_reader));
        self.stats = StatsCache::new(stats_ttl, clock);
        self
    }

    /// What `/metrics` shows (nothing until set).
    pub fn with_metrics(mut self, render: Arc<dyn Fn() -> String + Send + Sync>) -> Self {
        self.render_metrics = render;
        self
    }

    /// Enables `POST /telegram/webhook` (404 without).
    pub fn with_telegram_webhook(mut self, webhook: Option<crate::routes::telegram::TelegramWebhook>) -> Self {
        self.telegram_webhook = webhook;
        self
    }

    /// The marks of the deposit watcher and the gift sync this process runs, for the console's
    /// lags (`None`: that job is not configured).
    pub fn with_job_marks(
        mut self,
        deposit_watch: Option<app::jobs::JobMark>,
        gift_sync: Option<app::jobs::JobMark>,
    ) -> Self {
        self.deposit_watch = deposit_watch;
        self.gift_sync = gift_sync;
        self
    }

    /// Enables `GET /api/me/deposit`.
    pub fn with_deposit_address(mut self, address: Option<String>) -> Self {
        self.deposit_address = address;
        self
    }
}
