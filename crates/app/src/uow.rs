//! The Unit of Work: how a use case names what it touches, how a storage adapter satisfies every
//! use case without a list of them, and the runner that retries a whole Unit of Work.
//!
//! - A use case declares its own Unit-of-Work trait with [`define_uow!`](crate::define_uow): one
//!   accessor per repository it touches, `idempotency()` and `commit`. That declaration is the
//!   only place its ports are named.
//! - An adapter implements the repository ports and [`Transaction`] on its transaction type and
//!   [`BeginTransaction`] on its store. The macro's blanket impls make every transaction type that
//!   [`Provides`] a use case's ports implement that use case's trait, and every store whose
//!   transactions do implement [`Begin`] for it.
//! - [`Storage`] erases the adapter: one value that begins a Unit of Work for any use case, so
//!   use cases are built anywhere from a [`Context`](crate::Context) without generics.
//!
//! `commit` consumes a Unit of Work; `rollback` ends one that found nothing to do, silently;
//! dropping it rolls everything back too (and the adapters log the drop with the use case's name:
//! on a success path it is a forgotten commit). Business code never rolls back to clean up after
//! an error: it returns its error.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::ports::IdempotencyRepo;
use domain::ports::*;
use domain::RepoError;

use crate::error::Error;

/// One open transaction of a storage adapter. Committing consumes it; dropping it rolls back.
#[async_trait]
pub trait Transaction: Send + 'static {
    /// Makes every change visible at once, or none of them.
    ///
    /// # Errors
    /// MUST return [`RepoError::Transient`] for a serialization failure or deadlock found at
    /// commit, so the caller runs the whole Unit of Work again.
    async fn commit(self) -> Result<(), RepoError>;

    /// Ends the transaction without keeping anything, silently: the normal end of a Unit of Work
    /// that found nothing to do. (Dropping one without either is logged as a forgotten commit.)
    async fn rollback(self);
}

/// A storage adapter: begins transactions.
#[async_trait]
pub trait BeginTransaction: Send + Sync + 'static {
    type Tx: Transaction;

    /// `use_case` names the caller; a transaction dropped without commit is logged with it.
    ///
    /// # Errors
    /// [`RepoError::Unavailable`] when the store cannot be reached.
    async fn begin(&self, use_case: &'static str) -> Result<Self::Tx, RepoError>;
}

/// A transaction that hands out the repository port `P`, borrowed from the transaction so a
/// repository cannot outlive it.
pub trait Provides<P: ?Sized> {
    fn repo(&mut self) -> &mut P;
}

/// Begins the Unit of Work `U` (a use case's own trait object). Implemented by the blanket impl
/// [`define_uow!`](crate::define_uow) emits for every store whose transactions provide `U`'s ports.
#[async_trait]
pub trait Begin<U: ?Sized>: Send + Sync {
    async fn begin(&self, use_case: &'static str) -> Result<Box<U>, RepoError>;
}

/// What a use case holds to begin its Unit of Work.
pub type Uows<U> = Arc<dyn Begin<U>>;

/// Declares every port a complete storage adapter implements on its transaction type, how such
/// a transaction provides each, and how a type-erased transaction does.
macro_rules! ports {
    ($($port:ident),* $(,)?) => {
        /// Every repository port: what a complete storage adapter implements on its transaction.
        pub trait Ports: $($port +)* Send {}
        impl<T: $($port +)* Send> Ports for T {}

        $(
            impl<T: $port + 'static> Provides<dyn $port> for T {
                fn repo(&mut self) -> &mut (dyn $port + 'static) {
                    self
                }
            }

            impl Provides<dyn $port> for Box<dyn AnyTransaction> {
                fn repo(&mut self) -> &mut (dyn $port + 'static) {
                    &mut **self
                }
            }
        )*
    };
}

ports!(
    AccountRepo,
    NftRepo,
    SaleRepo,
    OfferRepo,
    AuctionRepo,
    PresaleRepo,
    WithdrawalRepo,
    LedgerRepo,
    OutboxRepo,
    EventRepo,
    DepositRepo,
    ChainRepo,
    UnmatchedDepositRepo,
    ClientRepo,
    ManagerRepo,
    ManagerBindRepo,
    StaffActionRepo,
    TradeRepo,
    ChannelSaleRepo,
    IdempotencyRepo,
);

/// A transaction of some complete adapter, its type erased.
#[async_trait]
pub trait AnyTransaction: Ports {
    async fn commit_boxed(self: Box<Self>) -> Result<(), RepoError>;
    async fn rollback_boxed(self: Box<Self>);
}

#[async_trait]
impl<T: Ports + Transaction> AnyTransaction for T {
    async fn commit_boxed(self: Box<Self>) -> Result<(), RepoError> {
        (*self).commit().await
    }

    async fn rollback_boxed(self: Box<Self>) {
        (*self).rollback().await
    }
}

#[async_trait]
impl Transaction for Box<dyn AnyTransaction> {
    async fn commit(self) -> Result<(), RepoError> {
        self.commit_boxed().await
    }

    async fn rollback(self) {
        self.rollback_boxed().await
    }
}

#[async_trait]
trait AnyStore: Send + Sync {
    async fn begin_any(&self, use_case: &'static str) -> Result<Box<dyn AnyTransaction>, RepoError>;
}

#[async_trait]
impl<S: BeginTransaction> AnyStore for S
where
    S::Tx: Ports,
{
    async fn begin_any(&self, use_case: &'static str) -> Result<Box<dyn AnyTransaction>, RepoError> {
        Ok(Box::new(self.begin(use_case).await?))
    }
}

/// Any complete storage adapter with its type erased: begins a Unit of Work for every use case.
pub struct Storage {
    inner: Box<dyn AnyStore>,
}

impl Storage {
    pub fn new<S: BeginTransaction>(store: S) -> Self
    where
        S::Tx: Ports,
    {
        Self { inner: Box::new(store) }
    }
}

#[async_trait]
impl BeginTransaction for Storage {
    type Tx = Box<dyn AnyTransaction>;

    async fn begin(&self, use_case: &'static str) -> Result<Self::Tx, RepoError> {
        self.inner.begin_any(use_case).await
    }
}

/// Declares a use case's own Unit-of-Work trait — the repositories it touches and nothing else —
/// and the blanket impls that let any adapter satisfy it:
///
/// ```ignore
/// define_uow!(
///     /// What buying touches.
///     BuyNftUow { nfts: NftRepo, accounts: AccountRepo, ledger: LedgerRepo }
/// );
/// // then: uows: Uows<dyn BuyNftUow>; let mut uow = uows.begin("buy_nft").await?; … uow.commit().await?
/// ```
#[macro_export]
macro_rules! define_uow {
    ($(#[$meta:meta])* $uow:ident { $($repo:ident: $port:ident),* $(,)? }) => {
        $(#[$meta])*
        #[async_trait::async_trait]
        pub trait $uow: Send {
            $(fn $repo(&mut self) -> &mut dyn $port;)*
            /// Idempotency keys, claimed in this Unit of Work.
            fn idempotency(&mut self) -> &mut dyn domain::ports::IdempotencyRepo;
            /// Makes every change of this Unit of Work visible at once, or none of them.
            async fn commit(self: Box<Self>) -> Result<(), domain::RepoError>;
            /// Ends this Unit of Work keeping nothing, silently: there was nothing to do.
            async fn rollback(self: Box<Self>);
        }

        #[async_trait::async_trait]
        impl<T> $uow for T
        where
            T: $crate::uow::Transaction
                $(+ $crate::uow::Provides<dyn $port>)*
                + $crate::uow::Provides<dyn domain::ports::IdempotencyRepo>,
        {
            $(fn $repo(&mut self) -> &mut dyn $port {
                $crate::uow::Provides::<dyn $port>::repo(self)
            })*
            fn idempotency(&mut self) -> &mut dyn domain::ports::IdempotencyRepo {
                $crate::uow::Provides::<dyn domain::ports::IdempotencyRepo>::repo(self)
            }
            async fn commit(self: Box<Self>) -> Result<(), domain::RepoError> {
                $crate::uow::Transaction::commit(*self).await
            }
            async fn rollback(self: Box<Self>) {
                $crate::uow::Transaction::rollback(*self).await
            }
        }

        #[async_trait::async_trait]
        impl<S> $crate::uow::Begin<dyn $uow> for S
        where
            S: $crate::uow::BeginTransaction,
            S::Tx: $uow,
        {
            async fn begin(&self, use_case: &'static str) -> Result<Box<dyn $uow>, domain::RepoError> {
                Ok(Box::new($crate::uow::BeginTransaction::begin(self, use_case).await?))
            }
        }
    };
}

/// Bounded whole-UoW retries with capped exponential backoff and full jitter.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(200) }
    }
}

impl RetryPolicy {
    /// Full jitter: uniform in `[0, min(max_delay, base_delay × 2^retry)]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling =
            self.base_delay.saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX)).min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Runs `attempt` (which begins, uses and commits one Unit of Work) until it succeeds, fails for
/// good, or runs out of attempts on transient conflicts. Records commits, rollbacks by reason,
/// retries and duration under `use_case`.
pub async fn run<T, F, Fut>(
    use_case: &'static str,
    policy: &RetryPolicy,
    clock: &dyn Clock,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut tries = 1;
    let result = loop {
        match attempt().await {
            Err(e) if e.is_transient() && tries < policy.max_attempts => {
                metrics::counter!("uow_retries_total", "use_case" => use_case).increment(1);
                tracing::debug!(use_case, tries, error = %e, "transient conflict, retrying the unit of work");
                clock.sleep(policy.backoff(tries)).await;
                tries += 1;
            }
            other => break other,
        }
    };
    metrics::histogram!("uow_duration_seconds", "use_case" => use_case).record(started.elapsed().as_secs_f64());
    match &result {
        Ok(_) => metrics::counter!("uow_commits_total", "use_case" => use_case).increment(1),
        Err(e) => {
            metrics::counter!("uow_rollbacks_total", "use_case" => use_case, "reason" => e.code()).increment(1);
            if e.is_transient() {
                tracing::warn!(use_case, tries, error = %e, "giving up after transient conflicts");
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn clock() -> MockClock {
        let mut c = MockClock::new();
        c.expect_sleep().returning(|_| ());
        c
    }

    fn transient() -> Error {
        Error::Storage(RepoError::Transient("40001".into()))
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let r = run("t", &RetryPolicy::default(), &clock(), || async {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if n < 2 {
                Err(transient())
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 2);
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy { max_attempts: 3, ..Default::default() };
        let r: Result<(), Error> = run("t", &policy, &clock(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(transient())
        })
        .await;
        assert!(matches!(r, Err(Error::Storage(RepoError::Transient(_)))));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let r: Result<(), Error> = run("t", &RetryPolicy::default(), &clock(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::NotFound("NFT"))
        })
        .await;
        assert!(matches!(r, Err(Error::NotFound("NFT"))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_never_exceeds_its_cap() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            assert!(p.backoff(retry) <= p.max_delay);
        }
    }
}
