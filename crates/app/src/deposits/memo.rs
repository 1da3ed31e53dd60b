//! A user's deposit memo: the comment that tells the deposit watcher whose money arrived.

use domain::chain::memo_from;
use domain::ports::ChainRepo;
use domain::*;

use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "deposit_memo";

crate::define_uow!(
    /// A memo is read or, the first time, created.
    DepositMemoUow { chain: ChainRepo }
);

pub struct DepositMemo {
    uows: Uows<dyn DepositMemoUow>,
    services: Services,
}

impl DepositMemo {
    pub fn new(uows: Uows<dyn DepositMemoUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// The user's memo, the same forever; made from fresh randomness the first time (a clash
    /// with another user's memo, or a concurrent first request, runs it again).
    #[tracing::instrument(level = "debug", name = "deposit_memo", skip_all, fields(user = %user))]
    pub async fn execute(&self, user: UserId) -> Result<String, Error> {
        self.services.run(NAME, || self.attempt(user)).await
    }

    async fn attempt(&self, user: UserId) -> Result<String, Error> {
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            if let Some(memo) = uow.chain().memo_of(user).await? {
                return Ok((memo, false));
            }
            let memo = memo_from(&self.services.secret());
            match uow.chain().insert_memo(user, &memo).await {
                Err(RepoError::Duplicate(c)) => return Err(RepoError::Transient(format!("memo taken ({c:?})")).into()),
                other => other?,
            }
            Ok((memo, true))
        }
        .await;
        match done {
            // The memo they have: nothing was written.
            Ok((memo, false)) => {
                uow.rollback().await;
                Ok(memo)
            }
            other => crate::uow::finish(uow, other).await.map(|(memo, _)| memo),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[tokio::test]
    async fn a_user_keeps_the_memo_they_have() {
        let mut tx = FakeTx::default();
        tx.chain.expect_memo_of().returning(|_| Ok(Some("abcdefghjk".into())));
        let (store, committed) = store(tx);
        assert_eq!(DepositMemo::new(store, services()).execute(UserId(1)).await.unwrap(), "abcdefghjk");
        assert!(!committed.get());
    }

    #[tokio::test]
    async fn the_first_memo_is_made_and_committed() {
        let mut tx = FakeTx::default();
        tx.chain.expect_memo_of().returning(|_| Ok(None));
        tx.chain.expect_insert_memo().withf(|_, m| m.len() == 10).times(1).returning(|_, _| Ok(()));
        let (store, committed) = store(tx);
        let memo = DepositMemo::new(store, services()).execute(UserId(1)).await.unwrap();
        assert_eq!(domain::chain::memo_in(&memo), Some(memo.clone()));
        assert!(committed.get());
    }
}
