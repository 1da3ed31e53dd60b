//! Test helpers: services with a fixed clock, and fake Units of Work composed of mocks that
//! record whether they were committed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use domain::ports::*;

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
    Services { clock: Arc::new(clock), ids: Arc::new(ids), locks: Arc::new(NoLocks), retry: RetryPolicy::default() }
}

/// Whether a fake Unit of Work was committed.
#[derive(Clone, Default)]
pub struct Committed(Arc<AtomicBool>);

impl Committed {
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst)
    }
}

/// `fake_uow!(Name: UowTrait / FactoryTrait { repo: MockType => PortTrait, … })` defines a fake
/// Unit of Work holding one mock per repository, and a factory handing it out once.
#[macro_export]
macro_rules! fake_uow {
    ($name:ident: $uow:path, $factory:ident: $factory_trait:path { $($repo:ident: $mock:ty => $port:path),* $(,)? }) => {
        #[derive(Default)]
        pub struct $name {
            $(pub $repo: $mock,)*
            pub idempotency: domain::idempotency::MockIdempotencyRepo,
            pub committed: $crate::testing::Committed,
        }

        #[async_trait::async_trait]
        impl $uow for $name {
            $(fn $repo(&mut self) -> &mut dyn $port { &mut self.$repo })*
            fn idempotency(&mut self) -> &mut dyn domain::idempotency::IdempotencyRepo { &mut self.idempotency }
            async fn commit(self: Box<Self>) -> Result<(), domain::RepoError> {
                self.committed.set();
                Ok(())
            }
        }

        pub struct $factory(std::sync::Mutex<Option<$name>>);

        impl $factory {
            pub fn new(uow: $name) -> (std::sync::Arc<Self>, $crate::testing::Committed) {
                let committed = uow.committed.clone();
                (std::sync::Arc::new(Self(std::sync::Mutex::new(Some(uow)))), committed)
            }
        }

        #[async_trait::async_trait]
        impl $factory_trait for $factory {
            async fn begin(&self) -> Result<Box<dyn $uow>, domain::RepoError> {
                let uow = self.0.lock().unwrap().take().expect("the use case began a second unit of work");
                Ok(Box::new(uow))
            }
        }
    };
}

pub fn m(s: &str) -> domain::Money {
    domain::Money::parse(s).unwrap()
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
