//! The connections Units of Work and reads run on, kept by us in front of sqlx's pool.
//!
//! sqlx sends a `Sync` (its ping) on every connection it takes back, a round trip per Unit of Work
//! and per read. Here a connection whose work ended cleanly — a commit, a read that ran to its
//! end — goes back on a stack of our own without one; the next user takes it from there (most
//! recently used first) and pings it only if it sat idle more than a second. A connection whose
//! work did not end cleanly (an error, a Unit of Work dropped without commit, a read abandoned
//! halfway) goes back to sqlx, whose ping flushes a queued `ROLLBACK` or finds it broken and
//! closes it. A semaphore bounds the connections in use, first come first served; a gated handle
//! ([`Conns::gated`]) bounds its own users further (reads: a few at a time keep a small machine's
//! cores busy without sharing them among dozens of backends, so a cheap read never waits behind a
//! crowd of expensive ones in the CPU's run queue — it waits its turn in ours).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgQueryResult, PgRow, PgStatement, PgTypeInfo};
use sqlx::{Connection, Describe, Either, Execute, Executor, PgPool, Postgres};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections idle longer than this are pinged before use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// A handle on the connections (cheap to clone).
#[derive(Clone)]
pub struct Conns {
    inner: Arc<Inner>,
    /// Bounds this handle's users beyond the shared bound, first come first served.
    gate: Option<Arc<Semaphore>>,
}

struct Inner {
    pool: PgPool,
    idle: Mutex<Vec<(PoolConnection<Postgres>, Instant)>>,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Conns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conns")
            .field("available", &self.inner.permits.available_permits())
            .field("gate", &self.gate.as_ref().map(|g| g.available_permits()))
            .finish()
    }
}

impl Conns {
    /// At most `max` connections in use at once, taken from `pool` (which must allow that many).
    pub fn new(pool: PgPool, max: u32, acquire_timeout: Duration) -> Self {
        let inner = Inner {
            pool,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            acquire_timeout,
        };
        Self { inner: Arc::new(inner), gate: None }
    }

    /// The same connections, of which this handle's users hold at most `max` at once.
    pub fn gated(&self, max: u32) -> Self {
        Self { inner: self.inner.clone(), gate: Some(Arc::new(Semaphore::new(max.max(1) as usize))) }
    }

    /// A connection: a kept one if there is one, else one from sqlx's pool.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        let inner = &self.inner;
        let deadline = tokio::time::Instant::now() + inner.acquire_timeout;
        let permit = |semaphore: &Arc<Semaphore>| tokio::time::timeout_at(deadline, semaphore.clone().acquire_owned());
        let gate = match &self.gate {
            Some(gate) => {
                Some(permit(gate).await.map_err(|_| sqlx::Error::PoolTimedOut)?.map_err(|_| sqlx::Error::PoolClosed)?)
            }
            None => None,
        };
        let permits = (
            permit(&inner.permits)
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?,
            gate,
        );
        loop {
            let kept = inner.idle.lock().expect("poisoned").pop();
            let Some((mut conn, since)) = kept else { break };
            if since.elapsed() <= IDLE_BEFORE_PING || conn.ping().await.is_ok() {
                return Ok(Conn { conn: Some(conn), home: inner.clone(), clean: false, _permits: permits });
            }
            // Dead (say the server restarted): sqlx closes it when it comes back.
        }
        let conn = inner.pool.acquire().await?;
        Ok(Conn { conn: Some(conn), home: inner.clone(), clean: false, _permits: permits })
    }

    pub fn is_closed(&self) -> bool {
        self.inner.pool.is_closed()
    }
}

/// A connection in use. Dropped, it goes back on the stack if its work ended cleanly
/// ([`Conn::clean`]), else to sqlx.
pub struct Conn {
    conn: Option<PoolConnection<Postgres>>,
    home: Arc<Inner>,
    clean: bool,
    /// The shared bound's, and the gate's if the handle had one.
    _permits: (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>),
}

impl Conn {
    /// The work on this connection ended: nothing is pending on it, no transaction is open.
    pub fn clean(&mut self) {
        self.clean = true;
    }
}

impl std::ops::Deref for Conn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.clean && !self.home.pool.is_closed() {
            self.home.idle.lock().expect("poisoned").push((conn, Instant::now()));
        }
        // Otherwise `conn` drops here: back to sqlx, which pings it (or closes it).
    }
}

/// Reads run on a kept connection; their rows are read to the end before the connection goes
/// back (reads here are pages and counts, never unbounded).
impl<'p> Executor<'p> for &'_ Conns {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let conns = self.clone();
        futures_util::stream::once(async move {
            let mut conn = conns.acquire().await?;
            let all: Vec<_> = (&mut *conn).fetch_many(query).try_collect().await?;
            conn.clean();
            Ok::<_, sqlx::Error>(futures_util::stream::iter(all.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let conns = self.clone();
        Box::pin(async move {
            let mut conn = conns.acquire().await?;
            let row = (&mut *conn).fetch_optional(query).await?;
            conn.clean();
            Ok(row)
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        let conns = self.clone();
        Box::pin(async move {
            let mut conn = conns.acquire().await?;
            let statement = (&mut *conn).prepare_with(sql, parameters).await?;
            conn.clean();
            Ok(statement)
        })
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        let conns = self.clone();
        Box::pin(async move {
            let mut conn = conns.acquire().await?;
            let described = (&mut *conn).describe(sql).await?;
            conn.clean();
            Ok(described)
        })
    }
}
