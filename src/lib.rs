//! Composition root: settings, wiring adapters into use cases, and the HTTP app.

pub mod settings;
pub mod system;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use adapters_memory::{InProcessLocks, MemoryStore};
use adapters_postgres::{PgSettings, PgStore};
use adapters_redis::{RedisLockSettings, RedisLocks};
use anyhow::Context as _;
use app::deposits::watch::DepositWatcher;
use app::jobs::{JobSettings, Jobs};
use app::ports::reads::ReadModel;
use app::ports::{Health, HealthCheck, IdempotencyLog, OutboxQueue, UserSignup, WalletJournal};
use app::relay::{Receivers, Relay, RelayPolicy};
use app::uow::{BeginTransaction, Ports};
use app::{Context, RetryPolicy, Rules, Services, Storage};
use domain::ports::{ChannelDirectory, GiftTransfer, Notifier, PayoutGateway};
use domain::ports::{Clock, LockManager};
use domain::FeeRule;
use http_api::{AppState, AuthConfig, RateLimitSettings, RateLimits};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub use settings::Settings;
use system::{SystemClock, UuidV7Ids};

/// Everything a storage adapter provides to run the service: Units of Work for every use case
/// (its transactions implement every port), the read side, the relay's queue, idempotent responses.
pub trait Store:
    BeginTransaction<Tx: Ports> + ReadModel + UserSignup + OutboxQueue + IdempotencyLog + WalletJournal + Clone
{
}

impl<T> Store for T where
    T: BeginTransaction<Tx: Ports> + ReadModel + UserSignup + OutboxQueue + IdempotencyLog + WalletJournal + Clone
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
            let store = PgStore::new(pool);
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
    relay: RelayPolicy,
}

/// The indexer, and the wallet and deposit account when configured.
struct TonRails {
    api: adapters_gateways::TonCenter,
    wallet: Option<adapters_gateways::MarketWallet>,
    /// The deposit account: `TON_DEPOSIT_ADDRESS`, else the wallet's own address.
    deposit_address: Option<String>,
}

/// Reads the TON settings; refuses a wallet and a payout gateway at once (which one pays?).
fn ton_rails(settings: &Settings) -> anyhow::Result<Option<TonRails>> {
    let Some(url) = &settings.ton_api_url else {
        if settings.ton_wallet_mnemonic.is_some() || settings.ton_deposit_address.is_some() {
            anyhow::bail!("TON_WALLET_MNEMONIC and TON_DEPOSIT_ADDRESS need TON_API_URL");
        }
        return Ok(None);
    };
    if settings.ton_wallet_mnemonic.is_some() && settings.payout_gateway_url.is_some() {
        anyhow::bail!("set TON_WALLET_MNEMONIC (wallet payouts) or PAYOUT_GATEWAY_URL (a payout gateway), not both");
    }
    let timeouts = adapters_gateways::HttpTimeouts {
        request: Duration::from_millis(settings.gateway_timeout_ms),
        ..Default::default()
    };
    if settings.ton_testnet && settings.ton_wallet_version.eq_ignore_ascii_case("v5r1") {
        // A v5r1 wallet's id depends on the network; the one built here is mainnet's.
        anyhow::bail!("on testnet use TON_WALLET_VERSION=v4r2 (v5r1 wallets are built with mainnet's wallet id)");
    }
    let api = adapters_gateways::TonCenter::new(url, settings.ton_api_key.clone(), timeouts);
    let wallet = match &settings.ton_wallet_mnemonic {
        Some(words) => Some(
            adapters_gateways::MarketWallet::from_mnemonic(words, &settings.ton_wallet_version, settings.ton_testnet)
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
        None => None,
    };
    let deposit_address = match (&settings.ton_deposit_address, &wallet) {
        (Some(a), _) => {
            domain::TonAddress::parse(a).map_err(|e| anyhow::anyhow!("TON_DEPOSIT_ADDRESS: {e}"))?;
            Some(a.clone())
        }
        (None, Some(w)) => Some(w.address()),
        (None, None) => None,
    };
    match (&wallet, &deposit_address) {
        (Some(w), _) => tracing::info!(wallet = %w.address(), "TON: wallet payouts on"),
        (None, _) => tracing::info!("TON: no wallet (TON_WALLET_MNEMONIC); payouts as before"),
    }
    match &deposit_address {
        Some(a) => tracing::info!(address = %a, "TON: deposit watcher on"),
        None => tracing::warn!("TON: no deposit address (TON_DEPOSIT_ADDRESS or a wallet); the deposit watcher is off"),
    }
    Ok(Some(TonRails { api, wallet, deposit_address }))
}

/// The outside world: what the relay delivers to, and Telegram's view of channels.
struct Gateways {
    notifier: Arc<dyn Notifier>,
    gifts: Arc<dyn GiftTransfer>,
    payouts: Arc<dyn PayoutGateway>,
    channels: Arc<dyn ChannelDirectory>,
}

/// Real gateways where configured, log adapters otherwise.
fn gateways(settings: &Settings) -> Gateways {
    use adapters_gateways::*;
    let timeouts = HttpTimeouts { request: Duration::from_millis(settings.gateway_timeout_ms), ..Default::default() };
    let telegram = match (settings.telegram_delivery.as_str(), &settings.bot_token) {
        ("log", _) | (_, None) => None,
        ("auto", Some(_)) if settings.bot_token_generated => None,
        (_, Some(token)) => Some(Arc::new(TelegramBot::new(
            &settings.telegram_api_url,
            token,
            settings.telegram_business_connection_id.clone(),
            timeouts,
        ))),
    };
    let notifier: Arc<dyn Notifier> = match &telegram {
        Some(t) => t.clone(),
        None => Arc::new(LogNotifier),
    };
    let gifts: Arc<dyn GiftTransfer> = match &telegram {
        Some(t) if settings.telegram_business_connection_id.is_some() => t.clone(),
        _ => Arc::new(LogGiftTransfer),
    };
    let payouts: Arc<dyn PayoutGateway> = match &settings.payout_gateway_url {
        Some(url) => Arc::new(HttpPayoutGateway::new(url, &settings.payout_gateway_key, timeouts)),
        None => {
            tracing::warn!("no PAYOUT_GATEWAY_URL: payouts are SIMULATED by the log adapter; nothing is paid");
            Arc::new(LogPayoutGateway::default())
        }
    };
    let channels: Arc<dyn ChannelDirectory> = match &telegram {
        Some(t) => t.clone(),
        None => {
            tracing::warn!(
                "Telegram is not configured: channel ownership checks are SIMULATED (the seller's claim is trusted)"
            );
            Arc::new(SimulatedChannelDirectory)
        }
    };
    Gateways { notifier, gifts, payouts, channels }
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
    let jobs =
        Jobs::new(ctx.clone(), reads.clone(), store.clone(), store.clone(), settings).with_deposit_watcher(watcher);
    let receivers =
        Receivers { notifier: config.gateways.notifier.clone(), gifts: config.gateways.gifts.clone(), payouts };
    let relay = Relay::new(ctx.clone(), store.clone(), reads.clone(), receivers, config.relay.clone());
    let health: Vec<Arc<dyn HealthCheck>> = vec![Arc::new(DatabaseHealth { reads: reads.clone(), embedded }), locks];
    let handle = metrics_handle();
    let limits = RateLimits::new(config.rate_limits);
    let state = AppState::new(ctx, reads, auth, health, store.clone(), store, limits)
        .with_metrics(Arc::new(move || handle.render()))
        .with_deposit_address(config.ton.as_ref().and_then(|t| t.deposit_address.clone()))
        // The stream's pace and the statistics' age on the real clock, as authentication's.
        .with_live(Arc::new(SystemClock), live.wake, config.live, config.stats_ttl, live.on_start);
    (state, jobs, relay)
}

/// Runs job passes every `interval` until `stop` resolves.
pub async fn run_jobs(jobs: Arc<Jobs>, interval: Duration, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        let report = jobs.run_once().await;
        if report != Default::default() {
            tracing::info!(?report, "job pass");
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Runs relay passes until `stop` resolves: one after another while they find full batches (the
/// relay keeps up with the market), every `interval` once the outbox is drained.
pub async fn run_relay(relay: Arc<Relay>, interval: Duration, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        let report = relay.run_once().await;
        if report != Default::default() {
            tracing::debug!(?report, "relay pass");
        }
        // A receiver that asks to wait (a retry) is not called again at once for the next rows.
        let more = report.claimed >= relay.policy().batch as usize && report.retried == 0 && report.gave_up == 0;
        let pause = if more { Duration::ZERO } else { interval };
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Starts the jobs and the relay in the background; they stop when `true` is sent.
pub fn spawn_background(
    app: &App,
    settings: &Settings,
) -> (tokio::sync::watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let jobs = tokio::spawn(run_jobs(app.jobs.clone(), settings.job_interval(), stopped(rx.clone())));
    let relay = tokio::spawn(run_relay(app.relay.clone(), settings.relay_interval(), stopped(rx)));
    (tx, vec![jobs, relay])
}

/// Runs the audit over a store; returns the violations.
pub async fn audit(reads: &dyn ReadModel) -> anyhow::Result<Vec<app::audit::Violation>> {
    let facts = reads.audit_facts().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(app::audit::check(&facts))
}
