//! Wiring: the configured adapters connected into use cases, jobs, the relay and the HTTP state.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use adapters_memory::{InProcessLocks, MemoryStore};
use adapters_postgres::{PgSettings, PgStore};
use adapters_redis::{RedisLockSettings, RedisLocks};
use anyhow::Context as _;
use app::deposits::watch::DepositWatcher;
use app::jobs::{JobSettings, Jobs};
use app::ports::reads::ReadModel;
use app::ports::{ConsoleSessions, Health, HealthCheck, IdempotencyLog, OutboxQueue, UserSignup, WalletJournal};
use app::relay::{Receivers, Relay, RelayPolicy};
use app::uow::{BeginTransaction, Ports};
use app::{Context, RetryPolicy, Rules, Services, Storage};
use domain::ports::PayoutGateway;
use domain::ports::{Clock, LockManager};
use domain::FeeRule;
use http_api::{AppState, AuthConfig, RateLimitSettings, RateLimits};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::outside::{gateways, ton_rails, Gateways, TonRails};
use crate::settings::Settings;
use crate::system::{SystemClock, UuidV7Ids};

/// Everything a storage adapter provides to run the service: Units of Work for every use case
/// (its transactions implement every port), the read side, the relay's queue, idempotent
/// responses, the console's sessions.
pub trait Store:
    BeginTransaction<Tx: Ports>
    + ReadModel
    + UserSignup
    + OutboxQueue
    + IdempotencyLog
    + WalletJournal
    + ConsoleSessions
    + Clone
{
}

impl<T> Store for T where
    T: BeginTransaction<Tx: Ports>
        + ReadModel
        + UserSignup
        + OutboxQueue
        + IdempotencyLog
        + WalletJournal
        + ConsoleSessions
        + Clone
{
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests): then metrics go there.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

struct DatabaseHealth {
    reads: Arc<dyn ReadModel>,
    embedded: bool,
}

#[async_trait::async_trait]
impl HealthCheck for DatabaseHealth {
    fn name(&self) -> &'static str {
        "database"
    }
    async fn check(&self) -> Health {
        if self.embedded {
            return Health::Embedded;
        }
        match tokio::time::timeout(Duration::from_secs(2), self.reads.ping()).await {
            Ok(Ok(())) => Health::Ok,
            _ => Health::Down,
        }
    }
}

/// The wired application.
pub struct App {
    pub state: Arc<AppState>,
    pub jobs: Arc<Jobs>,
    pub relay: Arc<Relay>,
    /// `Some` when running on Postgres.
    pub pg: Option<PgStore>,
}

impl App {
    pub fn router(&self, settings: &Settings) -> axum::Router {
        http_api::router(self.state.clone(), settings.request_timeout())
    }
}

/// Connects the configured adapters (migrating Postgres) and builds the use cases.
pub async fn build(settings: &Settings) -> anyhow::Result<App> {
    build_with_clock(settings, Arc::new(SystemClock)).await
}

/// Like [`build`], with the clock business rules run on (authentication keeps the real one).
pub async fn build_with_clock(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    let (locks, lock_health): (Arc<dyn LockManager>, Arc<dyn HealthCheck>) = match &settings.redis_url {
        Some(url) => {
            let settings = RedisLockSettings { wait: settings.lock_wait(), ..Default::default() };
            let wait = settings.wait;
            let redis = Arc::new(RedisLocks::new(url, settings).map_err(|e| anyhow::anyhow!("bad REDIS_URL: {e}"))?);
            // Redis is called only for contended keys (ADR 009).
            (Arc::new(InProcessLocks::new(wait).escalating_to(redis.clone())), redis)
        }
        None => {
            let local = Arc::new(InProcessLocks::new(settings.lock_wait()));
            (local.clone(), local)
        }
    };
    let services = Services { clock: clock.clone(), ids: Arc::new(UuidV7Ids), locks, retry: RetryPolicy::default() };
    let auth = AuthConfig {
        bot_token: settings.bot_token.clone().context("BOT_TOKEN is not set")?,
        staff_tokens: settings.staff_tokens.clone(),
        max_age: Duration::from_secs(settings.auth_max_age_seconds),
        clock: Arc::new(SystemClock),
    };
    let config = Config {
        rules: Rules {
            fees: FeeRule::new(settings.fee_bps),
            min_withdrawal: domain::Money::parse(&settings.min_withdrawal)
                .context("MIN_WITHDRAWAL is not an amount")?,
            anti_sniping: chrono::Duration::seconds(settings.anti_sniping_seconds as i64),
            collateral_percent: settings.presale_collateral_percent,
            max_open_trades: settings.max_open_trades,
            channel_transfer: chrono::Duration::seconds(settings.channel_transfer_seconds as i64),
            gift_withdrawal_fee: domain::Money::parse(settings.gift_withdrawal_fee.trim())
                .context("GIFT_WITHDRAWAL_FEE is not an amount")?,
        },
        channel_check_every: chrono::Duration::seconds(settings.channel_check_seconds as i64),
        outbox_retention: chrono::Duration::hours(settings.outbox_retention_hours as i64),
        rate_limits: RateLimitSettings { per_second: settings.rate_limit_per_second, burst: settings.rate_limit_burst },
        job_batch: settings.job_batch,
        gateways: gateways(settings),
        live: app::live::LiveSettings {
            max_connections: settings.sse_max_connections,
            max_per_user: settings.sse_max_per_user,
            keep_alive: Duration::from_millis(settings.sse_keep_alive_ms.max(100)),
            ..Default::default()
        },
        stats_ttl: Duration::from_millis(settings.stats_cache_ms),
        ton: ton_rails(settings)?,
        telegram_webhook: telegram_webhook(settings)?,
        gift_sync_every: chrono::Duration::seconds(settings.gift_sync_seconds.max(1) as i64),
        relay: RelayPolicy {
            max_attempts: settings.relay_max_attempts,
            base_delay: Duration::from_millis(settings.relay_base_delay_ms),
            max_delay: Duration::from_millis(settings.relay_max_delay_ms),
            ..Default::default()
        },
    };
    let ((state, jobs, relay), pg) = match &settings.database_url {
        Some(url) => {
            let pool = adapters_postgres::connect(
                url,
                &PgSettings { max_connections: settings.db_max_connections, ..Default::default() },
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
            adapters_postgres::migrate(&pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = PgStore::new(pool).with_read_connections(settings.db_read_connections);
            // Once this instance streams events: its commits wake it at once and the other
            // instances through NOTIFY, and it listens for theirs. (Until then it sends nothing:
            // an instance without streams costs its buys no NOTIFY; the others still read its
            // events when their timers fire.)
            let wake = app::live::Wake::new();
            let (notices, woken) = (store.clone(), wake.clone());
            let start = move || {
                drop(notices.spawn_event_notifier(woken.clone()));
                drop(notices.spawn_event_listener(woken));
            };
            let live = LiveWiring { wake, on_start: Box::new(start) };
            (wire(store.clone(), false, services, &config, auth, lock_health, live), Some(store))
        }
        None => {
            let store = MemoryStore::new();
            let live = LiveWiring { wake: store.events_committed(), on_start: Box::new(|| {}) };
            (wire(store, true, services, &config, auth, lock_health, live), None)
        }
    };
    Ok(App { state: Arc::new(state), jobs: Arc::new(jobs), relay: Arc::new(relay), pg })
}

/// The webhook's settings; a secret Telegram would refuse is refused here.
fn telegram_webhook(settings: &Settings) -> anyhow::Result<Option<http_api::routes::telegram::TelegramWebhook>> {
    let Some(secret) = &settings.telegram_webhook_secret else { return Ok(None) };
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if secret.is_empty() || secret.len() > 256 || !secret.chars().all(allowed) {
        anyhow::bail!("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -");
    }
    Ok(Some(http_api::routes::telegram::TelegramWebhook {
        secret: secret.clone(),
        business_connection_id: settings.telegram_business_connection_id.clone(),
    }))
}

/// What wakes the live event stream, and what to start with its first client.
struct LiveWiring {
    wake: app::live::Wake,
    on_start: Box<dyn FnOnce() + Send>,
}

/// The business settings use cases are built with, and the background work's.
struct Config {
    rules: Rules,
    outbox_retention: chrono::Duration,
    rate_limits: RateLimitSettings,
    channel_check_every: chrono::Duration,
    job_batch: u32,
    gateways: Gateways,
    live: app::live::LiveSettings,
    stats_ttl: Duration,
    /// TON itself (SPEC §5a), when `TON_API_URL` is set.
    ton: Option<TonRails>,
    /// How often the gift reconciler runs (with a business connection).
    gift_sync_every: chrono::Duration,
    /// The gift rail's webhook (SPEC §5b), when `TELEGRAM_WEBHOOK_SECRET` is set.
    telegram_webhook: Option<http_api::routes::telegram::TelegramWebhook>,
    relay: RelayPolicy,
}

fn wire<S: Store>(
    store: S,
    embedded: bool,
    services: Services,
    config: &Config,
    auth: AuthConfig,
    locks: Arc<dyn HealthCheck>,
    live: LiveWiring,
) -> (AppState, Jobs, Relay) {
    let store = Arc::new(store);
    let payouts: Arc<dyn PayoutGateway> = match config.ton.as_ref().and_then(|t| t.wallet.clone().map(|w| (t, w))) {
        Some((ton, wallet)) => Arc::new(app::withdrawals::WalletPayouts::new(
            Arc::new(ton.api.clone()),
            Arc::new(wallet),
            store.clone(),
            Arc::new(SystemClock),
        )),
        None => config.gateways.payouts.clone(),
    };
    let ctx = Context {
        storage: Arc::new(Storage::new((*store).clone())),
        services,
        rules: config.rules.clone(),
        channels: config.gateways.channels.clone(),
    };
    let reads: Arc<dyn ReadModel> = store.clone();
    let settings = JobSettings {
        batch: config.job_batch,
        key_retention: chrono::Duration::hours(24),
        outbox_retention: config.outbox_retention,
        channel_check_every: config.channel_check_every,
    };
    let watcher = config
        .ton
        .as_ref()
        .and_then(|t| Some(DepositWatcher::new(ctx.clone(), Arc::new(t.api.clone()), t.deposit_address.clone()?)));
    let gift_sync = config.gateways.inventory.clone().map(|inventory| {
        app::gifts::sync::GiftSync::new(ctx.clone(), inventory, store.clone(), config.gift_sync_every)
    });
    let marks = (watcher.as_ref().map(DepositWatcher::mark), gift_sync.as_ref().map(app::gifts::sync::GiftSync::mark));
    let jobs = Jobs::new(ctx.clone(), reads.clone(), store.clone(), store.clone(), settings)
        .with_deposit_watcher(watcher)
        .with_gift_sync(gift_sync);
    let receivers =
        Receivers { notifier: config.gateways.notifier.clone(), gifts: config.gateways.gifts.clone(), payouts };
    let relay = Relay::new(ctx.clone(), store.clone(), reads.clone(), receivers, config.relay.clone());
    let health: Vec<Arc<dyn HealthCheck>> = vec![Arc::new(DatabaseHealth { reads: reads.clone(), embedded }), locks];
    let handle = metrics_handle();
    let limits = RateLimits::new(config.rate_limits);
    // The console's sessions in the store: in PostgreSQL every instance shares them and a restart
    // keeps them; in memory they are this process's.
    let state = AppState::new(ctx, reads, auth, health, store.clone(), store.clone(), limits, store)
        .with_metrics(Arc::new(move || handle.render()))
        .with_deposit_address(config.ton.as_ref().and_then(|t| t.deposit_address.clone()))
        .with_job_marks(marks.0, marks.1)
        .with_telegram_webhook(config.telegram_webhook.clone())
        // The stream's pace and the statistics' age on the real clock, as authentication's.
        .with_live(Arc::new(SystemClock), live.wake, config.live, config.stats_ttl, live.on_start);
    (state, jobs, relay)
}

/// Runs the audit over a store; returns the violations.
pub async fn audit(reads: &dyn ReadModel) -> anyhow::Result<Vec<app::audit::Violation>> {
    let facts = reads.audit_facts().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(app::audit::check(&facts))
}
