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
    Services {
        clock: Arc::new(clock),
        ids: Arc::new(ids),
        locks: Arc::new(NoLocks),
        retry: RetryPolicy::default(),
    }
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
            pub committed: $crate::testing::Committed,
        }

        #[async_trait::async_trait]
        impl $uow for $name {
            $(fn $repo(&mut self) -> &mut dyn $port { &mut self.$repo })*
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
