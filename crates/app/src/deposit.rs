//! Credit an on-chain deposit, idempotently on its transaction hash.

use std::sync::Arc;

use domain::ports::{AccountRepo, DepositRepo, LedgerRepo};
use domain::*;

use crate::idempotency::{IdempotencyError, IdempotencyKey};
use crate::services::Services;
use crate::uow::UseCaseError;

crate::define_uow!(
    /// What a deposit touches: the deposit record, the user's balance, the ledger.
    DepositUow, DepositUowFactory {
        deposits: DepositRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
    }
);

#[derive(Clone, Debug)]
pub struct DepositCommand {
    pub user_id: UserId,
    pub amount: Money,
    pub tx_hash: String,
    pub idempotency: Option<IdempotencyKey>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepositOutcome {
    pub deposit: Deposit,
    /// `true` when this hash was credited before (nothing moved this time).
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DepositError {
    #[error("transaction {0} was already credited with a different user or amount")]
    Conflict(String),
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl UseCaseError for DepositError {
    fn is_transient(&self) -> bool {
        matches!(self, DepositError::Storage(e) if e.is_transient())
    }
    fn reason(&self) -> &'static str {
        match self {
            DepositError::Conflict(_) => "duplicate",
            DepositError::Idempotency(_) => "idempotency",
            DepositError::Storage(_) => "storage",
        }
    }
}

pub struct CreditDeposit {
    uows: Arc<dyn DepositUowFactory>,
    services: Services,
}

impl CreditDeposit {
    pub fn new(uows: Arc<dyn DepositUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Creates the user if needed and credits their available balance. The same hash again
    /// returns the first deposit; the same hash for another user or amount is a conflict.
    #[tracing::instrument(name = "deposit", skip_all, fields(user = %cmd.user_id, tx_hash = %cmd.tx_hash))]
    pub async fn execute(&self, cmd: DepositCommand) -> Result<DepositOutcome, DepositError> {
        self.services.run("deposit", || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &DepositCommand) -> Result<DepositOutcome, DepositError> {
        let now = self.services.now();
        let mut uow = self.uows.begin().await?;
        crate::idempotency::claim(uow.idempotency(), cmd.idempotency.as_ref(), self.services.now()).await??;
        if let Some(existing) = uow.deposits().find_by_tx_hash(&cmd.tx_hash).await? {
            return replay(existing, cmd);
        }
        let mut user = uow.accounts().ensure_locked(cmd.user_id, None).await?;
        let deposit = domain::Deposit {
            id: self.services.new_id(),
            user_id: cmd.user_id,
            amount: cmd.amount,
            tx_hash: cmd.tx_hash.clone(),
            created_at: now,
        };
        match uow.deposits().insert(&deposit).await {
            // Someone credited the same hash while we waited: run again and see theirs.
            Err(RepoError::Duplicate(c)) => {
                return Err(RepoError::Transient(format!("concurrent deposit ({c})")).into())
            }
            other => other?,
        }
        user.credit(cmd.amount);
        uow.accounts().save(&user).await?;
        let entries = Posting::new(self.services.new_id(), Operation::Deposit, cmd.tx_hash.clone(), now)
            .transfer((None, Account::External), (Some(user.id), Account::Available), cmd.amount)
            .finish(|| self.services.new_id());
        uow.ledger().append(&entries).await?;
        uow.commit().await?;
        Ok(DepositOutcome { deposit, replayed: false })
    }
}

fn replay(existing: domain::Deposit, cmd: &DepositCommand) -> Result<DepositOutcome, DepositError> {
    if existing.same_as(cmd.user_id, cmd.amount) {
        Ok(DepositOutcome { deposit: existing, replayed: true })
    } else {
        Err(DepositError::Conflict(cmd.tx_hash.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{now, services};
    use domain::ports::*;

    crate::fake_uow!(FakeUow: DepositUow, FakeFactory: DepositUowFactory {
        deposits: MockDepositRepo => DepositRepo,
        accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo,
    });

    fn cmd() -> DepositCommand {
        DepositCommand {
            user_id: UserId(5),
            amount: Money::parse("3").unwrap(),
            tx_hash: "abc".into(),
            idempotency: None,
        }
    }

    fn recorded(user: i64, amount: &str) -> domain::Deposit {
        domain::Deposit {
            id: DepositId(uuid::Uuid::nil()),
            user_id: UserId(user),
            amount: Money::parse(amount).unwrap(),
            tx_hash: "abc".into(),
            created_at: now(),
        }
    }

    async fn run(uow: FakeUow) -> (Result<DepositOutcome, DepositError>, bool) {
        let (factory, committed) = FakeFactory::new(uow);
        let r = CreditDeposit::new(factory, services()).execute(cmd()).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn a_new_deposit_credits_the_user_and_the_ledger() {
        let mut uow = FakeUow::default();
        uow.deposits.expect_find_by_tx_hash().returning(|_| Ok(None));
        uow.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        uow.deposits.expect_insert().times(1).returning(|_| Ok(()));
        uow.accounts.expect_save().withf(|u| u.available == Money::parse("3").unwrap()).times(1).returning(|_| Ok(()));
        uow.ledger.expect_append().withf(|e| e.len() == 2).times(1).returning(|_| Ok(()));
        let (r, committed) = run(uow).await;
        assert!(!r.unwrap().replayed);
        assert!(committed);
    }

    #[tokio::test]
    async fn the_same_hash_again_is_a_replay_that_moves_nothing() {
        let mut uow = FakeUow::default();
        uow.deposits.expect_find_by_tx_hash().returning(|_| Ok(Some(recorded(5, "3.0"))));
        let (r, committed) = run(uow).await;
        assert!(r.unwrap().replayed);
        assert!(!committed);
    }

    #[tokio::test]
    async fn the_same_hash_with_another_amount_is_a_conflict() {
        let mut uow = FakeUow::default();
        uow.deposits.expect_find_by_tx_hash().returning(|_| Ok(Some(recorded(5, "4"))));
        let (r, committed) = run(uow).await;
        assert!(matches!(r, Err(DepositError::Conflict(_))));
        assert!(!committed);
    }
}
