//! PostgreSQL adapter: one Unit-of-Work type, [`PgUow`], owning a `Transaction<'static, Postgres>`
//! and implementing every repository port — so it satisfies every use case's Unit-of-Work trait
//! through the blanket impls of `app::define_uow!`. One file per aggregate or port holds its
//! repository (on [`PgUow`]), its reads (on [`PgStore`]) and its row mapper.
//!
//! Rows that an operation changes are locked with `SELECT … FOR UPDATE` in the global order of
//! `docs/adr/002-locking.md`; invariants on rows that may not exist yet are unique indexes;
//! balances carry `CHECK (… >= 0)`. Driver errors become [`domain::RepoError`]s in `error.rs`.

mod accounts;
mod auctions;
mod chain;
mod channels;
mod collection_offers;
pub mod conns;
mod console_sessions;
mod deferred;
mod deposits;
mod error;
mod events;
mod gifts;
mod health;
mod idempotency;
mod ledger;
mod nfts;
mod offers;
mod outbox;
mod partners;
mod presales;
mod rows;
mod staff_actions;
mod trades;
mod withdrawals;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::RepoError;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{PgPool, Postgres, Row, TransactionManager};

use crate::deferred::Deferred;
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

/// Connections idle longer than this are pinged before use.
const IDLE_BEFORE_PING: std::time::Duration = std::time::Duration::from_secs(1);
/// Connections of the pool beyond `max_connections`, left for what does not go through
/// [`conns::Conns`] (the `NOTIFY` sender, the readiness check's transaction, migrations).
const SPARE_CONNECTIONS: u32 = 2;
/// How many dead pooled connections one `begin` may discard before giving up.
const BEGIN_RETRIES: u32 = 4;

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
        .max_connections(settings.max_connections + SPARE_CONNECTIONS)
        .acquire_timeout(settings.acquire_timeout)
        // A ping before every acquire is a round trip per Unit of Work and per read. Under load
        // connections are reused within milliseconds, so only one idle for a while is checked;
        // a connection that died anyway fails its `BEGIN`, which `PgStore::begin` retries.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(map_err)
}

/// Reads at once by default: two per core this process may use (measured on B5's discovery mix,
/// 2 cores: 4 at once keep every kind's p99 near 30 ms where 32 at once let it reach 115).
pub fn default_read_connections() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u32) * 2
}

/// Applies pending migrations (safe to run from several processes: sqlx takes an advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), RepoError> {
    MIGRATOR.run(pool).await.map_err(|e| RepoError::Other(format!("migration failed: {e}")))
}

/// The store: a pool. Begins Units of Work and serves reads.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// What Units of Work run on (see [`conns`]).
    conns: conns::Conns,
    /// The same connections, for reads: at most [`PgStore::with_read_connections`] at once.
    reads: conns::Conns,
    /// Woken when a Unit of Work that wrote market events commits on this instance.
    events_committed: Arc<tokio::sync::Notify>,
}

impl PgStore {
    /// A store on a pool made by [`connect`] (all but its spare connections serve Units of Work
    /// and reads).
    pub fn new(pool: PgPool) -> Self {
        let options = pool.options();
        let max = options.get_max_connections().saturating_sub(SPARE_CONNECTIONS).max(1);
        let conns = conns::Conns::new(pool.clone(), max, options.get_acquire_timeout());
        let reads = conns.gated(default_read_connections());
        Self { pool, conns, reads, events_committed: Arc::default() }
    }

    /// Reads (and other single statements outside Units of Work) hold at most `max`
    /// connections at once; 0 means [`default_read_connections`]. A read keeps PostgreSQL busy
    /// from its first byte to its last — it never waits on this process mid-transaction as a Unit
    /// of Work does — so a few per core saturate the machine; more only share its cores among
    /// more backends, and a cheap read then waits behind every expensive one in the run queue.
    pub fn with_read_connections(mut self, max: u32) -> Self {
        let max = if max == 0 { default_read_connections() } else { max };
        self.reads = self.conns.gated(max);
        self
    }

    /// Tells every instance when market events commit here: one `NOTIFY market_events` per 50 ms
    /// at most, after commits that wrote some, sent outside any Unit of Work (a `NOTIFY` inside
    /// one would take PostgreSQL's database-wide notify lock at every commit and serialise buys).
    /// `local` is woken at once. The events themselves are read from the table.
    pub fn spawn_event_notifier(&self, local: app::live::Wake) -> tokio::task::JoinHandle<()> {
        let (pool, committed) = (self.pool.clone(), self.events_committed.clone());
        tokio::spawn(async move {
            loop {
                committed.notified().await;
                local.wake();
                if let Err(e) = sqlx::query("NOTIFY market_events").execute(&pool).await {
                    tracing::debug!(error = %e, "cannot NOTIFY market_events");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    }

    /// Listens for other instances' notices (on a connection of its own, taken from the pool)
    /// and wakes `wake` on each; reconnects after a failure.
    pub fn spawn_event_listener(&self, wake: app::live::Wake) -> tokio::task::JoinHandle<()> {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(mut l) => {
                        if l.listen("market_events").await.is_ok() {
                            while l.recv().await.is_ok() {
                                wake.wake();
                            }
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "cannot LISTEN market_events"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    /// Reads run on this (an `Executor`).
    pub fn pool(&self) -> &conns::Conns {
        &self.reads
    }

    /// The pool underneath, for what needs a connection of its own.
    pub fn sqlx_pool(&self) -> &PgPool {
        &self.pool
    }

    /// Begins a transaction. A pooled connection that died unnoticed (the server restarted while
    /// it was idle) fails its `BEGIN` and is discarded; the next one is tried.
    pub async fn begin(&self, use_case: &'static str) -> Result<PgUow, RepoError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let begun = match self.conns.acquire().await {
                Ok(mut conn) => sqlx::postgres::PgTransactionManager::begin(&mut conn, None).await.map(|()| conn),
                Err(e) => Err(e),
            };
            match begun {
                Ok(conn) => {
                    return Ok(PgUow {
                        conn: Some(conn),
                        use_case,
                        deferred: Deferred::default(),
                        failed: Arc::default(),
                        events_committed: self.events_committed.clone(),
                    })
                }
                Err(e) => match map_err(e) {
                    RepoError::Unavailable(why) if tries <= BEGIN_RETRIES && !self.pool.is_closed() => {
                        tracing::debug!(%why, "a pooled connection failed its BEGIN: trying another");
                    }
                    other => return Err(other),
                },
            }
        }
    }

    /// Runs a page query (which must fetch `limit + 1` rows, newest first) and builds the page.
    pub(crate) async fn page<T>(
        &self,
        query: Query<'_, Postgres, PgArguments>,
        limit: u32,
        map: RowMap<T>,
        id: fn(&T) -> uuid::Uuid,
    ) -> Result<app::ports::reads::Page<T>, RepoError> {
        let found = query.fetch_all(self.pool()).await.map_err(map_err)?;
        let items = found.iter().map(map).collect::<Result<Vec<_>, _>>()?;
        Ok(app::ports::reads::Page::from_overfetch(items, limit, id))
    }

    /// Runs a query taking one id (`$1`) and maps its row, if any.
    pub(crate) async fn one<T>(&self, sql: &str, id: uuid::Uuid, map: RowMap<T>) -> Result<Option<T>, RepoError> {
        let row = sqlx::query(sql).bind(id).fetch_optional(self.pool()).await.map_err(map_err)?;
        row.as_ref().map(map).transpose()
    }

    /// Runs a due-work query (`$1` now, `$2` limit) returning ids.
    pub(crate) async fn due_ids(
        &self,
        sql: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<uuid::Uuid>, RepoError> {
        let found = sqlx::query(sql).bind(now).bind(i64::from(limit)).fetch_all(self.pool()).await.map_err(map_err)?;
        Ok(found.iter().map(|r| r.get::<uuid::Uuid, _>("id")).collect())
    }
}

#[async_trait]
impl app::BeginTransaction for PgStore {
    type Tx = PgUow;

    async fn begin(&self, use_case: &'static str) -> Result<PgUow, RepoError> {
        PgStore::begin(self, use_case).await
    }
}

/// One database transaction. Dropped without commit, it is rolled back (and it is logged).
pub struct PgUow {
    /// The connection, in a transaction until the commit.
    conn: Option<conns::Conn>,
    use_case: &'static str,
    /// Writes sent in one statement before the next statement or the commit.
    deferred: Deferred,
    /// A statement failed: PostgreSQL has aborted the transaction, and a `COMMIT` would quietly
    /// roll it back. Set by [`PgUow::fail`]; `commit` refuses.
    failed: Arc<AtomicBool>,
    events_committed: Arc<tokio::sync::Notify>,
}

/// Maps one row to an entity.
pub(crate) type RowMap<T> = fn(&PgRow) -> Result<T, RepoError>;

impl PgUow {
    /// The open transaction, to run a statement on, once the deferred writes before it are sent.
    pub(crate) async fn conn(&mut self) -> Result<&mut sqlx::PgConnection, RepoError> {
        let conn: &mut sqlx::PgConnection = self.conn.as_mut().expect("a unit of work is used only until it commits");
        if let Err(e) = self.deferred.flush(conn).await {
            self.failed.store(true, Ordering::Relaxed);
            return Err(e);
        }
        Ok(conn)
    }

    /// Maps a statement's error, remembering that the transaction is now aborted.
    pub(crate) fn fail(&self) -> impl Fn(sqlx::Error) -> RepoError {
        let failed = self.failed.clone();
        move |e| {
            failed.store(true, Ordering::Relaxed);
            map_err(e)
        }
    }

    /// Writes to send with the next statement (see [`deferred`]).
    pub(crate) fn defer(&mut self) -> &mut Deferred {
        &mut self.deferred
    }

    /// Runs a query taking one id (`$1`) in this transaction and maps its row, if any.
    pub(crate) async fn one<T>(&mut self, sql: &str, id: uuid::Uuid, map: RowMap<T>) -> Result<Option<T>, RepoError> {
        let row = sqlx::query(sql).bind(id).fetch_optional(self.conn().await?).await.map_err(self.fail())?;
        row.as_ref().map(map).transpose()
    }

    /// Commits, unless a statement failed: PostgreSQL aborted the transaction then, and its
    /// `COMMIT` would roll everything back while answering as if it had committed.
    pub async fn commit(mut self) -> Result<(), RepoError> {
        self.conn().await?;
        if self.failed.load(Ordering::Relaxed) {
            return Err(RepoError::Other(format!(
                "{}: a statement failed, so PostgreSQL rolled the transaction back; not committed",
                self.use_case
            )));
        }
        let mut conn = self.conn.take().expect("committed once");
        if let Err(e) = sqlx::postgres::PgTransactionManager::commit(&mut conn).await {
            // Whatever PostgreSQL made of it, the connection leaves with a ROLLBACK queued.
            sqlx::postgres::PgTransactionManager::start_rollback(&mut conn);
            return Err(map_err(e));
        }
        // Committed: nothing is pending on the connection, it can serve the next one as it is.
        conn.clean();
        if self.deferred.wrote_events {
            self.events_committed.notify_one();
        }
        Ok(())
    }
}

#[async_trait]
impl app::Transaction for PgUow {
    async fn commit(self) -> Result<(), RepoError> {
        PgUow::commit(self).await
    }

    /// Queues the `ROLLBACK` (sent when the connection serves again) without a warning.
    async fn rollback(mut self) {
        if let Some(mut conn) = self.conn.take() {
            sqlx::postgres::PgTransactionManager::start_rollback(&mut conn);
        }
    }
}

impl Drop for PgUow {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            // The ROLLBACK is queued; sqlx sends it when the connection goes back to it.
            sqlx::postgres::PgTransactionManager::start_rollback(conn);
            tracing::warn!(use_case = self.use_case, "unit of work dropped without commit: rolled back");
        }
    }
}

/// Discovery's statements (and the statistics' owner count, which reads discovery's `nft_keys`),
/// for the tests that read their plans on tables of realistic size.
pub mod discovery_sql {
    pub use crate::events::COLLECTION_OWNERS;
    pub use crate::nfts::{discovery_query, ATTRIBUTE_PANEL, PORTFOLIO};
}
