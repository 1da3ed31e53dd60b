//! Test helpers: services with a fixed clock, and one fake transaction holding a mock of every
//! repository port. It satisfies every use case's Unit-of-Work trait through the same blanket
//! impls the adapters use, and records whether it was committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use domain::ports::*;
use domain::ports::{IdempotencyRepo, MockIdempotencyRepo};
use domain::RepoError;

use crate::uow::{BeginTransaction, Provides, Transaction};
use crate::{RetryPolicy, Services};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

struct NoLocks;

#[async_trait]
impl LockManager for NoLocks {
    async fn acquire(&self, _key: &str) -> LockOutcome {
        LockOutcome::Unavailable
    }
}

pub fn services() -> Services {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    clock.expect_sleep().returning(|_| ());
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id().returning(uuid::Uuid::now_v7);
    ids.expect_secret().returning(|| *uuid::Uuid::new_v4().as_bytes());
    Services { clock: Arc::new(clock), ids: Arc::new(ids), locks: Arc::new(NoLocks), retry: RetryPolicy::default() }
}

/// Whether a fake Unit of Work was committed.
#[derive(Clone, Default)]
pub struct Committed(Arc<AtomicBool>);

impl Committed {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

macro_rules! fake_tx {
    ($($repo:ident: $mock:ident => $port:ident),* $(,)?) => {
        /// A transaction of mocks. A mock without expectations panics when called, so a test
        /// that sets none for a repository also asserts that the use case never touches it.
        #[derive(Default)]
        pub struct FakeTx {
            $(pub $repo: $mock,)*
            pub committed: Committed,
            /// Begun and not yet committed or rolled back: dropping one then fails the test (a
            /// use case must end every Unit of Work it began, after an error too).
            open: bool,
        }

        $(impl Provides<dyn $port> for FakeTx {
            fn repo(&mut self) -> &mut (dyn $port + 'static) {
                &mut self.$repo
            }
        })*
    };
}

fake_tx!(
    accounts: MockAccountRepo => AccountRepo,
    nfts: MockNftRepo => NftRepo,
    gifts: MockGiftInboxRepo => GiftInboxRepo,
    sales: MockSaleRepo => SaleRepo,
    offers: MockOfferRepo => OfferRepo,
    collection_offers: MockCollectionOfferRepo => CollectionOfferRepo,
    auctions: MockAuctionRepo => AuctionRepo,
    presales: MockPresaleRepo => PresaleRepo,
    withdrawals: MockWithdrawalRepo => WithdrawalRepo,
    ledger: MockLedgerRepo => LedgerRepo,
    outbox: MockOutboxRepo => OutboxRepo,
    events: MockEventRepo => EventRepo,
    deposits: MockDepositRepo => DepositRepo,
    chain: MockChainRepo => ChainRepo,
    unmatched: MockUnmatchedDepositRepo => UnmatchedDepositRepo,
    clients: MockClientRepo => ClientRepo,
    managers: MockManagerRepo => ManagerRepo,
    manager_binds: MockManagerBindRepo => ManagerBindRepo,
    staff_actions: MockStaffActionRepo => StaffActionRepo,
    trades: MockTradeRepo => TradeRepo,
    channel_sales: MockChannelSaleRepo => ChannelSaleRepo,
    idempotency: MockIdempotencyRepo => IdempotencyRepo,
);

#[async_trait]
impl Transaction for FakeTx {
    async fn commit(mut self) -> Result<(), RepoError> {
        self.committed.0.store(true, Ordering::SeqCst);
        self.open = false;
        Ok(())
    }

    async fn rollback(mut self) {
        self.open = false;
    }
}

impl FakeTx {
    /// Marks this transaction handed out by a store: from now on it must be ended.
    pub fn begun(mut self) -> Self {
        self.open = true;
        self
    }
}

impl Drop for FakeTx {
    fn drop(&mut self) {
        if self.open && !std::thread::panicking() {
            panic!("a unit of work was dropped without commit or rollback: a forgotten commit, or an error path that leaks it");
        }
    }
}

/// Hands out its [`FakeTx`]s in order; one `begin` too many fails the test.
pub struct FakeStore(Mutex<std::collections::VecDeque<FakeTx>>);

#[async_trait]
impl BeginTransaction for FakeStore {
    type Tx = FakeTx;

    async fn begin(&self, _use_case: &'static str) -> Result<FakeTx, RepoError> {
        Ok(self.0.lock().unwrap().pop_front().expect("the use case began one unit of work too many").begun())
    }
}

/// A store handing out `tx`, and the flag that says whether it was committed.
pub fn store(tx: FakeTx) -> (Arc<FakeStore>, Committed) {
    let committed = tx.committed.clone();
    (Arc::new(FakeStore(Mutex::new([events_accepted(tx)].into()))), committed)
}

/// Market events are accepted unless a test expects them (its expectations come first).
fn events_accepted(mut tx: FakeTx) -> FakeTx {
    tx.events.expect_append().returning(|_| Ok(()));
    tx
}

/// A store handing out `txs` one after another (use cases that ask an outside service between
/// two Units of Work), and their commit flags.
pub fn stores(txs: Vec<FakeTx>) -> (Arc<FakeStore>, Vec<Committed>) {
    let committed = txs.iter().map(|t| t.committed.clone()).collect();
    let txs: Vec<FakeTx> = txs.into_iter().map(events_accepted).collect();
    (Arc::new(FakeStore(Mutex::new(txs.into()))), committed)
}

pub fn m(s: &str) -> domain::Money {
    domain::Money::parse(s).unwrap()
}

/// A signed amount, as ledger entries carry it.
pub fn d(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

pub fn user(id: i64, available: &str, held: &str) -> domain::User {
    domain::User { id: domain::UserId(id), username: None, available: m(available), held: m(held) }
}

pub fn nft(owner: i64, price: Option<&str>) -> domain::Nft {
    domain::Nft {
        id: domain::NftId(uuid::Uuid::from_u128(1)),
        gift_id: "gift".into(),
        title: "Plush Pepe".into(),
        collection: "pepe".into(),
        owner_id: domain::UserId(owner),
        price: price.map(m),
        status: domain::NftStatus::Available,
        created_at: now(),
        listed_at: None,
        traits: Default::default(),
        can_transfer_at: None,
        telegram: None,
    }
}

pub fn offer(offerer: i64, price: &str) -> domain::Offer {
    domain::Offer {
        id: domain::OfferId(uuid::Uuid::from_u128(2)),
        nft_id: nft(0, None).id,
        offerer_id: domain::UserId(offerer),
        price: m(price),
        status: domain::OfferStatus::Open,
        expires_at: now() + chrono::Duration::days(1),
        created_at: now(),
    }
}

/// Lets `lock` return the given users and accepts any number of saves.
pub fn accounts_with(users: Vec<domain::User>) -> MockAccountRepo {
    let mut a = MockAccountRepo::new();
    a.expect_lock().returning(move |ids| Ok(users.iter().filter(|u| ids.contains(&u.id)).cloned().collect()));
    a.expect_save().returning(|_| Ok(()));
    a
}

/// A ledger that checks every append is balanced.
pub fn balanced_ledger() -> MockLedgerRepo {
    let mut l = MockLedgerRepo::new();
    l.expect_append()
        .withf(|e| e.iter().map(|e| e.amount).sum::<rust_decimal::Decimal>().is_zero())
        .returning(|_| Ok(()));
    l
}

pub fn any_outbox() -> MockOutboxRepo {
    let mut o = MockOutboxRepo::new();
    o.expect_enqueue().returning(|_| Ok(()));
    o
}

/// What a mock recorded being written, in order.
#[derive(Clone)]
pub struct Written<T>(Arc<Mutex<Vec<T>>>);

impl<T: Clone> Written<T> {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }

    fn push(&self, items: impl IntoIterator<Item = T>) {
        self.0.lock().unwrap().extend(items);
    }

    /// Everything written so far.
    pub fn all(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
}

impl Written<domain::LedgerEntry> {
    /// Each entry as (user, account, signed amount), in the order written.
    pub fn lines(&self) -> Vec<(Option<i64>, domain::Account, rust_decimal::Decimal)> {
        self.all().into_iter().map(|e| (e.user_id.map(|u| u.0), e.account, e.amount)).collect()
    }
}

impl Written<domain::OutboxMessage> {
    /// The users notified, in order.
    pub fn notified(&self) -> Vec<i64> {
        self.all()
            .into_iter()
            .filter_map(|m| match m.payload {
                domain::OutboxPayload::Notify { user_id, .. } => Some(user_id.0),
                _ => None,
            })
            .collect()
    }
}

/// Like [`accounts_with`], but records every save.
pub fn accounts_saving(users: Vec<domain::User>) -> (MockAccountRepo, Written<domain::User>) {
    let saved = Written::new();
    let mut a = MockAccountRepo::new();
    a.expect_lock().returning(move |ids| Ok(users.iter().filter(|u| ids.contains(&u.id)).cloned().collect()));
    let w = saved.clone();
    a.expect_save().returning(move |u| {
        w.push([u.clone()]);
        Ok(())
    });
    (a, saved)
}

/// Like [`balanced_ledger`], but records every entry appended (each append still balanced).
pub fn ledger_recording() -> (MockLedgerRepo, Written<domain::LedgerEntry>) {
    let written = Written::new();
    let mut l = MockLedgerRepo::new();
    let w = written.clone();
    l.expect_append().withf(|e| e.iter().map(|e| e.amount).sum::<rust_decimal::Decimal>().is_zero()).returning(
        move |e| {
            w.push(e.iter().cloned());
            Ok(())
        },
    );
    (l, written)
}

/// Like [`any_outbox`], but records every message.
pub fn outbox_recording() -> (MockOutboxRepo, Written<domain::OutboxMessage>) {
    let written = Written::new();
    let mut o = MockOutboxRepo::new();
    let w = written.clone();
    o.expect_enqueue().returning(move |m| {
        w.push([m.clone()]);
        Ok(())
    });
    (o, written)
}

/// Records every market event appended (set on a [`FakeTx`] before [`store`], it comes before
/// the events accepted by default).
pub fn events_recording() -> (MockEventRepo, Written<domain::MarketEvent>) {
    let written = Written::new();
    let mut e = MockEventRepo::new();
    let w = written.clone();
    e.expect_append().returning(move |events| {
        w.push(events.iter().cloned());
        Ok(())
    });
    (e, written)
}
