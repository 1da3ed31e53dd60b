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
//! A use case writes its body as one `async` block over the open Unit of Work and hands the
//! outcome to [`finish`]: `Ok` commits, `Err` (a rule violated, a row missing, storage failing)
//! rolls back, silently — that is the normal end of an operation that did not happen. Dropping a
//! Unit of Work without either still rolls everything back, and the adapters log it with the use
//! case's name: only a forgotten commit gets there.

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

/// How a use case ends its Unit of Work: every `define_uow!` trait has these two.
#[async_trait]
pub trait UnitOfWork: Send {
    /// Makes every change of this Unit of Work visible at once, or none of them.
    ///
    /// # Errors
    /// As [`Transaction::commit`]: [`RepoError::Transient`] when the whole Unit of Work should run
    /// again.
    async fn commit(self: Box<Self>) -> Result<(), RepoError>;
    /// Ends this Unit of Work keeping nothing, silently.
    async fn rollback(self: Box<Self>);
}

#[async_trait]
impl<T: Transaction> UnitOfWork for T {
    async fn commit(self: Box<Self>) -> Result<(), RepoError> {
        Transaction::commit(*self).await
    }

    async fn rollback(self: Box<Self>) {
        Transaction::rollback(*self).await
    }
}

/// Ends `uow` as its body ended: commits after `Ok`, rolls back (silently) after `Err` and
/// returns that error. A failed commit is the outcome then.
pub async fn finish<U: UnitOfWork + ?Sized, T>(uow: Box<U>, done: Result<T, Error>) -> Result<T, Error> {
    match done {
        Ok(value) => {
            uow.commit().await?;
            Ok(value)
        }
        Err(e) => {
            uow.rollback().await;
            Err(e)
        }
    }
}

/// [`finish`] for a body that answers `Ok(None)` when it found nothing to do: that rolls back too.
pub async fn finish_some<U: UnitOfWork + ?Sized, T>(
    uow: Box<U>,
    done: Result<Option<T>, Error>,
) -> Result<Option<T>, Error> {
    match done {
        Ok(None) => {
            uow.rollback().await;
            Ok(None)
        }
        other => finish(uow, other).await,
    }
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
    CollectionOfferRepo,
    AuctionRepo,
    PresaleRepo,
    WithdrawalRepo,
    LedgerRepo,
    OutboxRepo,
    EventRepo,
    DepositRepo,
    ChainRepo,
    UnmatchedDepositRepo,
    GiftInboxRepo,
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
/// // then: uows: Uows<dyn BuyNftUow>; let mut uow = uows.begin("buy_nft").await?;
/// //       let done = async { …; Ok(purchase) }.await; finish(uow, done).await
/// ```
#[macro_export]
macro_rules! define_uow {
    ($(#[$meta:meta])* $uow:ident { $($repo:ident: $port:ident),* $(,)? }) => {
        $(#[$meta])*
        pub trait $uow: $crate::uow::UnitOfWork {
            $(fn $repo(&mut self) -> &mut dyn $port;)*
            /// Idempotency keys, claimed in this Unit of Work.
            fn idempotency(&mut self) -> &mut dyn domain::ports::IdempotencyRepo;
        }

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
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Mutex;

    use chrono::{DateTime, Utc};
    use domain::idempotency::{IdempotencyKey, KeyClaim};
    use domain::*;

    use crate::testing::{services, FakeTx};

    fn clock() -> MockClock {
        let mut c = MockClock::new();
        c.expect_sleep().returning(|_| ());
        c
    }

    fn transient() -> Error {
        Error::Storage(RepoError::Transient("40001".into()))
    }

    /// Counts the attempts; a runner that retries without bound fails the test instead of hanging.
    fn counted(calls: &AtomicU32) -> u32 {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        assert!(n < 50, "retried without bound");
        n
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let r = run("t", &RetryPolicy::default(), &clock(), || async {
            let n = counted(&calls);
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
            counted(&calls);
            Err(transient())
        })
        .await;
        assert!(matches!(r, Err(Error::Storage(RepoError::Transient(_)))));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_single_attempt_policy_never_retries() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy { max_attempts: 1, ..Default::default() };
        let r: Result<(), Error> = run("t", &policy, &clock(), || async {
            counted(&calls);
            Err(transient())
        })
        .await;
        assert!(r.unwrap_err().is_transient());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let r: Result<(), Error> = run("t", &RetryPolicy::default(), &clock(), || async {
            counted(&calls);
            Err(Error::NotFound("NFT"))
        })
        .await;
        assert!(matches!(r, Err(Error::NotFound("NFT"))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn each_retry_waits_a_backoff_that_grows_with_the_retries() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(25),
        };
        let slept = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut c = MockClock::new();
        let log = slept.clone();
        c.expect_sleep().returning(move |d| log.lock().unwrap().push(d));
        let calls = AtomicU32::new(0);
        let _: Result<(), Error> = run("t", &policy, &c, || async {
            counted(&calls);
            Err(transient())
        })
        .await;
        let slept = slept.lock().unwrap().clone();
        assert_eq!(slept.len(), 3, "one wait between each two attempts");
        // Retry n waits at most min(25 ms, 10 ms × 2^n).
        for (d, cap) in slept.iter().zip([20, 25, 25]) {
            assert!(*d <= Duration::from_millis(cap), "{d:?} > {cap} ms");
        }
    }

    /// A transaction as a store hands it out, and its commit flag.
    fn open_tx() -> (Box<FakeTx>, crate::testing::Committed) {
        let tx = FakeTx::default().begun();
        let committed = tx.committed.clone();
        (Box::new(tx), committed)
    }

    // A FakeTx dropped while open fails the test, so each of these also checks the Unit of Work
    // was ended, not leaked.
    #[tokio::test]
    async fn finish_commits_after_ok_and_rolls_back_after_err() {
        let (tx, committed) = open_tx();
        assert_eq!(finish(tx, Ok(7)).await.unwrap(), 7);
        assert!(committed.get());

        let (tx, committed) = open_tx();
        let r: Result<(), Error> = finish(tx, Err(Error::NotFound("NFT"))).await;
        assert!(matches!(r, Err(Error::NotFound("NFT"))));
        assert!(!committed.get());
    }

    #[tokio::test]
    async fn finish_some_rolls_back_when_there_was_nothing_to_do() {
        let (tx, committed) = open_tx();
        assert_eq!(finish_some::<_, u8>(tx, Ok(None)).await.unwrap(), None);
        assert!(!committed.get());

        let (tx, committed) = open_tx();
        assert_eq!(finish_some(tx, Ok(Some(1))).await.unwrap(), Some(1));
        assert!(committed.get());

        let (tx, committed) = open_tx();
        let r: Result<Option<u8>, Error> = finish_some(tx, Err(Error::NotFound("NFT"))).await;
        assert!(r.is_err());
        assert!(!committed.get());
    }

    #[test]
    fn backoff_never_exceeds_its_cap() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            assert!(p.backoff(retry) <= p.max_delay);
        }
    }

    #[test]
    fn backoff_is_jittered_up_to_base_times_two_to_the_retry() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(3600),
        };
        for (retry, ceiling) in [(0, 10), (1, 20), (3, 80)] {
            let ceiling = Duration::from_millis(ceiling);
            let samples: Vec<_> = (0..200).map(|_| p.backoff(retry)).collect();
            assert!(samples.iter().all(|d| *d <= ceiling), "retry {retry}");
            assert!(samples.iter().any(|d| *d > ceiling / 2), "retry {retry}: jitter spans the whole range");
            assert!(samples.iter().any(|d| *d < ceiling / 2), "retry {retry}: jitter spans the whole range");
        }
    }

    /// A transaction of a complete adapter, type-erased by [`Storage`]: every port forwards to a
    /// [`FakeTx`]'s mocks; commit and rollback are recorded.
    struct ErasedTx {
        inner: FakeTx,
        commit: Result<(), RepoError>,
        rolled_back: std::sync::Arc<AtomicBool>,
    }

    macro_rules! forward {
        ($($port:ident via $field:ident { $(fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* })*) => {$(
            #[async_trait]
            impl $port for ErasedTx {
                $(async fn $name(&mut self $(, $arg: $ty)*) -> $ret {
                    self.inner.$field.$name($($arg),*).await
                })*
            }
        )*};
    }

    forward!(
        AccountRepo via accounts {
            fn get(&mut self, id: UserId) -> Result<Option<User>, RepoError>;
            fn lock(&mut self, ids: &[UserId]) -> Result<Vec<User>, RepoError>;
            fn ensure_locked(&mut self, id: UserId, username: Option<String>) -> Result<User, RepoError>;
            fn save(&mut self, user: &User) -> Result<(), RepoError>;
        }
        NftRepo via nfts {
            fn get(&mut self, id: NftId) -> Result<Option<Nft>, RepoError>;
            fn lock(&mut self, id: NftId) -> Result<Option<Nft>, RepoError>;
            fn lock_all(&mut self, ids: &[NftId]) -> Result<Vec<Nft>, RepoError>;
            fn insert(&mut self, nft: &Nft) -> Result<(), RepoError>;
            fn update(&mut self, nft: &Nft) -> Result<(), RepoError>;
            fn lock_by_gift_id(&mut self, gift_id: &str) -> Result<Option<Nft>, RepoError>;
            fn update_custody(&mut self, nft: &Nft) -> Result<(), RepoError>;
            fn cheapest_listed(&mut self, criteria: &OfferCriteria, max_price: Money, not_owner: UserId, limit: u32) -> Result<Vec<NftId>, RepoError>;
        }
        GiftInboxRepo via gifts {
            fn claim_update(&mut self, update_id: i64, at: DateTime<Utc>) -> Result<bool, RepoError>;
            fn insert_unmatched(&mut self, gift: &UnmatchedGift) -> Result<bool, RepoError>;
            fn lock_unmatched(&mut self, id: UnmatchedGiftId) -> Result<Option<UnmatchedGift>, RepoError>;
            fn update_unmatched(&mut self, gift: &UnmatchedGift) -> Result<(), RepoError>;
            fn replace_missing(&mut self, gift_ids: &[String], at: DateTime<Utc>) -> Result<(), RepoError>;
        }
        SaleRepo via sales {
            fn lock_sale(&mut self, nft: NftId, buyer: UserId) -> Result<Option<SaleLocks>, RepoError>;
        }
        OfferRepo via offers {
            fn get(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError>;
            fn lock(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError>;
            fn lock_open_by(&mut self, nft: NftId, offerer: UserId) -> Result<Option<Offer>, RepoError>;
            fn lock_open_for_nft(&mut self, nft: NftId) -> Result<Vec<Offer>, RepoError>;
            fn lock_open_by_on(&mut self, offerer: UserId, nfts: &[NftId]) -> Result<Vec<Offer>, RepoError>;
            fn insert(&mut self, offer: &Offer) -> Result<(), RepoError>;
            fn update(&mut self, offer: &Offer) -> Result<(), RepoError>;
        }
        CollectionOfferRepo via collection_offers {
            fn lock(&mut self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, RepoError>;
            fn count_open(&mut self, user: UserId, now: chrono::DateTime<chrono::Utc>) -> Result<u32, RepoError>;
            fn best_for(&mut self, nft: &Nft, not_by: UserId, now: chrono::DateTime<chrono::Utc>) -> Result<Option<CollectionOffer>, RepoError>;
            fn insert(&mut self, offer: &CollectionOffer) -> Result<(), RepoError>;
            fn update(&mut self, offer: &CollectionOffer) -> Result<(), RepoError>;
        }
        AuctionRepo via auctions {
            fn lock(&mut self, id: AuctionId) -> Result<Option<Auction>, RepoError>;
            fn insert(&mut self, auction: &Auction) -> Result<(), RepoError>;
            fn update(&mut self, auction: &Auction) -> Result<(), RepoError>;
            fn insert_bid(&mut self, bid: &Bid) -> Result<(), RepoError>;
        }
        TradeRepo via trades {
            fn lock(&mut self, id: TradeId) -> Result<Option<Trade>, RepoError>;
            fn insert(&mut self, trade: &Trade) -> Result<(), RepoError>;
            fn update(&mut self, trade: &Trade) -> Result<(), RepoError>;
            fn count_live_by_maker(&mut self, maker: UserId, now: DateTime<Utc>) -> Result<u32, RepoError>;
        }
        ChannelSaleRepo via channel_sales {
            fn lock(&mut self, id: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError>;
            fn insert(&mut self, sale: &ChannelSale) -> Result<(), RepoError>;
            fn update(&mut self, sale: &ChannelSale) -> Result<(), RepoError>;
        }
        PresaleRepo via presales {
            fn lock(&mut self, id: PresaleId) -> Result<Option<Presale>, RepoError>;
            fn insert(&mut self, presale: &Presale) -> Result<(), RepoError>;
            fn update(&mut self, presale: &Presale) -> Result<(), RepoError>;
        }
        WithdrawalRepo via withdrawals {
            fn lock(&mut self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError>;
            fn insert(&mut self, withdrawal: &Withdrawal) -> Result<(), RepoError>;
            fn update(&mut self, withdrawal: &Withdrawal) -> Result<(), RepoError>;
        }
        LedgerRepo via ledger {
            fn append(&mut self, entries: &[LedgerEntry]) -> Result<(), RepoError>;
        }
        OutboxRepo via outbox {
            fn enqueue(&mut self, message: &OutboxMessage) -> Result<(), RepoError>;
        }
        DepositRepo via deposits {
            fn find_by_tx_hash(&mut self, tx_hash: &str) -> Result<Option<Deposit>, RepoError>;
            fn insert(&mut self, deposit: &Deposit) -> Result<(), RepoError>;
        }
        ChainRepo via chain {
            fn memo_of(&mut self, user: UserId) -> Result<Option<String>, RepoError>;
            fn insert_memo(&mut self, user: UserId, memo: &str) -> Result<(), RepoError>;
            fn user_by_memo(&mut self, memo: &str) -> Result<Option<UserId>, RepoError>;
            fn lock_cursor(&mut self, account: &str) -> Result<Option<ChainCursor>, RepoError>;
            fn save_cursor(&mut self, account: &str, cursor: &ChainCursor) -> Result<(), RepoError>;
        }
        UnmatchedDepositRepo via unmatched {
            fn insert(&mut self, deposit: &UnmatchedDeposit) -> Result<bool, RepoError>;
            fn lock(&mut self, id: UnmatchedDepositId) -> Result<Option<UnmatchedDeposit>, RepoError>;
            fn update(&mut self, deposit: &UnmatchedDeposit) -> Result<(), RepoError>;
        }
        EventRepo via events {
            fn append(&mut self, events: &[MarketEvent]) -> Result<(), RepoError>;
        }
        StaffActionRepo via staff_actions {
            fn record(&mut self, action: &StaffAction) -> Result<(), RepoError>;
        }
        ClientRepo via clients {
            fn insert(&mut self, client: &Client) -> Result<(), RepoError>;
        }
        ManagerRepo via managers {
            fn get_for_share(&mut self, id: ManagerId) -> Result<Option<Manager>, RepoError>;
            fn insert(&mut self, manager: &Manager) -> Result<(), RepoError>;
        }
        ManagerBindRepo via manager_binds {
            fn insert(&mut self, bind: &ManagerBind) -> Result<(), RepoError>;
        }
        IdempotencyRepo via idempotency {
            fn claim(&mut self, key: &IdempotencyKey, now: DateTime<Utc>) -> Result<KeyClaim, RepoError>;
        }
    );

    #[async_trait]
    impl Transaction for ErasedTx {
        async fn commit(self) -> Result<(), RepoError> {
            if self.commit.is_ok() {
                Transaction::commit(self.inner).await?;
            }
            self.commit
        }

        async fn rollback(self) {
            self.rolled_back.store(true, Ordering::SeqCst);
        }
    }

    struct ErasedStore(Mutex<Option<ErasedTx>>);

    #[async_trait]
    impl BeginTransaction for ErasedStore {
        type Tx = ErasedTx;

        async fn begin(&self, _use_case: &'static str) -> Result<ErasedTx, RepoError> {
            self.0.lock().unwrap().take().ok_or_else(|| RepoError::Unavailable("no more transactions".into()))
        }
    }

    /// A [`Storage`] over one transaction of `inner`, how its commit ends, and the flags saying
    /// whether it was committed or rolled back.
    fn storage(inner: FakeTx, commit: Result<(), RepoError>) -> (Storage, crate::testing::Committed, Arc<AtomicBool>) {
        let committed = inner.committed.clone();
        let rolled_back = Arc::new(AtomicBool::new(false));
        let tx = ErasedTx { inner, commit, rolled_back: rolled_back.clone() };
        (Storage::new(ErasedStore(Mutex::new(Some(tx)))), committed, rolled_back)
    }

    #[tokio::test]
    async fn an_erased_transaction_reaches_the_adapters_ports_and_commits_through() {
        let mut inner = FakeTx::default();
        inner.accounts.expect_get().times(1).returning(|id| Ok(Some(User::new(id, None))));
        let (storage, committed, rolled_back) = storage(inner, Ok(()));
        let mut tx = BeginTransaction::begin(&storage, "t").await.unwrap();
        let found = Provides::<dyn AccountRepo>::repo(&mut tx).get(UserId(3)).await.unwrap();
        assert_eq!(found.map(|u| u.id), Some(UserId(3)));
        Transaction::commit(tx).await.unwrap();
        assert!(committed.get());
        assert!(!rolled_back.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn an_erased_transactions_failed_commit_is_returned() {
        let (storage, committed, _) = storage(FakeTx::default(), Err(RepoError::Transient("40001".into())));
        let tx = BeginTransaction::begin(&storage, "t").await.unwrap();
        assert_eq!(Transaction::commit(tx).await, Err(RepoError::Transient("40001".into())));
        assert!(!committed.get());
    }

    #[tokio::test]
    async fn an_erased_transaction_rolls_back_through() {
        let (storage, committed, rolled_back) = storage(FakeTx::default(), Ok(()));
        let tx = BeginTransaction::begin(&storage, "t").await.unwrap();
        Transaction::rollback(tx).await;
        assert!(rolled_back.load(Ordering::SeqCst));
        assert!(!committed.get());
    }

    #[tokio::test]
    async fn a_store_that_cannot_begin_says_so_through_the_storage() {
        let (storage, _, _) = storage(FakeTx::default(), Ok(()));
        drop(BeginTransaction::begin(&storage, "t").await.unwrap());
        assert_eq!(
            BeginTransaction::begin(&storage, "t").await.err(),
            Some(RepoError::Unavailable("no more transactions".into()))
        );
    }

    #[tokio::test]
    async fn a_use_case_runs_over_the_erased_storage() {
        use crate::nfts::set_price::{SetNftPrice, SetNftPriceCommand};
        let mut inner = FakeTx::default();
        inner.nfts.expect_lock().returning(|_| Ok(Some(crate::testing::nft(1, None))));
        inner.nfts.expect_update().times(1).returning(|_| Ok(()));
        inner.events.expect_append().times(1).returning(|_| Ok(()));
        let (storage, committed, _) = storage(inner, Ok(()));
        let cmd = SetNftPriceCommand {
            owner: UserId(1),
            nft_id: crate::testing::nft(1, None).id,
            price: Some(crate::testing::m("3")),
        };
        let listed = SetNftPrice::new(Arc::new(storage), services()).execute(cmd).await.unwrap();
        assert_eq!(listed.price, Some(crate::testing::m("3")));
        assert!(committed.get());
    }
}
