//! PostgreSQL adapter: one Unit-of-Work type owning a `Transaction<'static, Postgres>` that
//! implements every repository port and every use case's Unit-of-Work trait.
//!
//! Rows that an operation changes are locked with `SELECT … FOR UPDATE` in the global order of
//! `docs/adr/002-locking.md`; invariants on rows that may not exist yet are unique indexes;
//! balances carry `CHECK (… >= 0)`. Driver errors become [`domain::RepoError`]s in `error.rs`.

mod delivery;
mod error;
mod read;
mod read_market;
mod repos;
mod repos_market;
mod rows;

use std::time::Duration;

use domain::RepoError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

pub use error::map_err;

/// The migrations of the schema, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Pool settings.
#[derive(Clone, Debug)]
pub struct PgSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long a statement waits for a row lock before giving up (then retried whole).
    pub lock_timeout: Duration,
    pub statement_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(15),
        }
    }
}

/// Connects a pool whose sessions carry lock and statement timeouts.
pub async fn connect(url: &str, settings: &PgSettings) -> Result<PgPool, RepoError> {
    let options: PgConnectOptions =
        url.parse().map_err(|e| RepoError::Unavailable(format!("bad DATABASE_URL: {e}")))?;
    let options = options.options([
        ("lock_timeout", format!("{}ms", settings.lock_timeout.as_millis())),
        ("statement_timeout", format!("{}ms", settings.statement_timeout.as_millis())),
        ("idle_in_transaction_session_timeout", "60000ms".to_string()),
    ]);
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options)
        .await
        .map_err(map_err)
}

/// Applies pending migrations (safe to run from several processes: sqlx takes an advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), RepoError> {
    MIGRATOR.run(pool).await.map_err(|e| RepoError::Other(format!("migration failed: {e}")))
}

/// The store: a pool. Begins Units of Work and serves reads.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn begin(&self) -> Result<PgUow, RepoError> {
        let tx = self.pool.begin().await.map_err(map_err)?;
        Ok(PgUow { tx })
    }
}

/// One database transaction. Dropped without commit, the driver rolls it back.
pub struct PgUow {
    pub(crate) tx: Transaction<'static, Postgres>,
}

/// Maps one row to an entity.
pub(crate) type RowMap<T> = fn(&sqlx::postgres::PgRow) -> Result<T, RepoError>;

impl PgStore {
    /// Runs a page query (which must fetch `limit + 1` rows, newest first) and builds the page.
    pub(crate) async fn page<'q, T>(
        &self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
        limit: u32,
        map: RowMap<T>,
        id: fn(&T) -> uuid::Uuid,
    ) -> Result<app::queries::Page<T>, RepoError> {
        let found = query.fetch_all(self.pool()).await.map_err(map_err)?;
        let items = found.iter().map(map).collect::<Result<Vec<_>, _>>()?;
        Ok(app::queries::Page::from_overfetch(items, limit, id))
    }

    /// Runs a query taking one id (`$1`) and maps its row, if any.
    pub(crate) async fn one<T>(&self, sql: &str, id: uuid::Uuid, map: RowMap<T>) -> Result<Option<T>, RepoError> {
        let row = sqlx::query(sql).bind(id).fetch_optional(self.pool()).await.map_err(map_err)?;
        row.as_ref().map(map).transpose()
    }
}

impl PgUow {
    /// Runs a query taking one id (`$1`) in this transaction and maps its row, if any.
    pub(crate) async fn one<T>(&mut self, sql: &str, id: uuid::Uuid, map: RowMap<T>) -> Result<Option<T>, RepoError> {
        let row = sqlx::query(sql).bind(id).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        row.as_ref().map(map).transpose()
    }

    pub async fn commit(self) -> Result<(), RepoError> {
        self.tx.commit().await.map_err(map_err)
    }
}

macro_rules! impl_uow {
    ($($uow:path, $factory:path { $($repo:ident: $port:path),* $(,)? });* $(;)?) => {$(
        #[async_trait::async_trait]
        impl $uow for PgUow {
            $(fn $repo(&mut self) -> &mut dyn $port { self })*
            fn idempotency(&mut self) -> &mut dyn domain::idempotency::IdempotencyRepo { self }
            async fn commit(self: Box<Self>) -> Result<(), RepoError> {
                PgUow::commit(*self).await
            }
        }

        #[async_trait::async_trait]
        impl $factory for PgStore {
            async fn begin(&self) -> Result<Box<dyn $uow>, RepoError> {
                Ok(Box::new(PgStore::begin(self).await?))
            }
        }
    )*};
}

app::for_each_uow!(impl_uow);
