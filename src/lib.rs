//! Composition root: settings, wiring adapters into use cases, and the HTTP app.

pub mod settings;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use adapters_memory::{MemoryStore, SystemClock, UuidV7Ids};
use adapters_postgres::{PgSettings, PgStore};
use adapters_redis::{InProcessLocks, RedisLockSettings, RedisLocks};
use anyhow::Context;
use app::buy_nft::{BuyNft, BuyNftUowFactory};
use app::create_manager::{CreateManager, CreateManagerUowFactory};
use app::create_partner::{CreatePartner, CreatePartnerUowFactory};
use app::deposit::{CreditDeposit, DepositUowFactory};
use app::health::{Health, HealthCheck};
use app::queries::ReadModel;
use app::register_nft::{RegisterNft, RegisterNftUowFactory};
use app::set_nft_price::{SetNftPrice, SetNftPriceUowFactory};
use app::{RetryPolicy, Services};
use domain::ports::{Clock, LockManager};
use domain::FeeRule;
use http_api::{AppState, AuthConfig, UseCases};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub use settings::Settings;

/// Everything a store adapter must provide to run the service.
pub trait Store:
    BuyNftUowFactory
    + SetNftPriceUowFactory
    + DepositUowFactory
    + RegisterNftUowFactory
    + CreateManagerUowFactory
    + CreatePartnerUowFactory
    + ReadModel
    + 'static
{
}

impl<T> Store for T where
    T: BuyNftUowFactory
        + SetNftPriceUowFactory
        + DepositUowFactory
        + RegisterNftUowFactory
        + CreateManagerUowFactory
        + CreatePartnerUowFactory
        + ReadModel
        + 'static
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
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (locks, lock_health): (Arc<dyn LockManager>, Arc<dyn HealthCheck>) =
        match &settings.redis_url {
            Some(url) => {
                let settings = RedisLockSettings {
                    wait: settings.lock_wait(),
                    ..Default::default()
                };
                let redis = Arc::new(
                    RedisLocks::new(url, settings)
                        .map_err(|e| anyhow::anyhow!("bad REDIS_URL: {e}"))?,
                );
                (redis.clone(), redis)
            }
            None => {
                let local = Arc::new(InProcessLocks::new(settings.lock_wait()));
                (local.clone(), local)
            }
        };
    let services = Services {
        clock: clock.clone(),
        ids: Arc::new(UuidV7Ids),
        locks,
        retry: RetryPolicy::default(),
    };
    let auth = AuthConfig {
        bot_token: settings.bot_token.clone().context("BOT_TOKEN is not set")?,
        staff_tokens: settings.staff_tokens.clone(),
        max_age: Duration::from_secs(settings.auth_max_age_seconds),
        clock,
    };
    let fees = FeeRule::new(settings.fee_bps);
    let (state, pg) = match &settings.database_url {
        Some(url) => {
            let pool = adapters_postgres::connect(
                url,
                &PgSettings {
                    max_connections: settings.db_max_connections,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
            adapters_postgres::migrate(&pool)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = Arc::new(PgStore::new(pool));
            (
                wire(store.clone(), false, services, fees, auth, lock_health),
                Some((*store).clone()),
            )
        }
        None => (
            wire(
                Arc::new(MemoryStore::new()),
                true,
                services,
                fees,
                auth,
                lock_health,
            ),
            None,
        ),
    };
    Ok(App {
        state: Arc::new(state),
        pg,
    })
}

fn wire<S: Store>(
    store: Arc<S>,
    embedded: bool,
    services: Services,
    fees: FeeRule,
    auth: AuthConfig,
    locks: Arc<dyn HealthCheck>,
) -> AppState {
    let uc = UseCases {
        buy_nft: BuyNft::new(store.clone(), services.clone(), fees),
        set_nft_price: SetNftPrice::new(store.clone(), services.clone()),
        deposit: CreditDeposit::new(store.clone(), services.clone()),
        register_nft: RegisterNft::new(store.clone(), services.clone()),
        create_manager: CreateManager::new(store.clone(), services.clone()),
        create_partner: CreatePartner::new(store.clone(), services),
    };
    let reads: Arc<dyn ReadModel> = store;
    let health: Vec<Arc<dyn HealthCheck>> = vec![
        Arc::new(DatabaseHealth {
            reads: reads.clone(),
            embedded,
        }),
        locks,
    ];
    let handle = metrics_handle();
    AppState::new(uc, reads, auth, health, Arc::new(move || handle.render()))
}

/// Runs the audit over a store; returns the violations.
pub async fn audit(reads: &dyn ReadModel) -> anyhow::Result<Vec<app::audit::Violation>> {
    let facts = reads
        .audit_facts()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(app::audit::check(&facts))
}
