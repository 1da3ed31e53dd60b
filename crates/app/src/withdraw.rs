//! Market output: withdraw available funds to a TON address.

use std::sync::Arc;

use domain::ports::{AccountRepo, LedgerRepo, OutboxRepo, WithdrawalRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::{IdempotencyError, IdempotencyKey};
use crate::Services;

crate::define_uow!(
    /// Requesting a withdrawal: the user's funds, the withdrawal, the ledger, the payout message.
    WithdrawUow, WithdrawUowFactory { accounts: AccountRepo, withdrawals: WithdrawalRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    #[error("the smallest withdrawal is {0} TON")]
    BelowMinimum(Money),
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl crate::UseCaseError for WithdrawError {
    fn is_transient(&self) -> bool {
        matches!(self, WithdrawError::Storage(e) if e.is_transient())
    }
    fn reason(&self) -> &'static str {
        match self {
            WithdrawError::BelowMinimum(_) => "validation_failed",
            WithdrawError::Rule(r) => r.code(),
            WithdrawError::Idempotency(_) => "idempotency",
            WithdrawError::Storage(_) => "storage",
        }
    }
}

pub struct Withdraw {
    uows: Arc<dyn WithdrawUowFactory>,
    services: Services,
    min: Money,
}

impl Withdraw {
    pub fn new(uows: Arc<dyn WithdrawUowFactory>, services: Services, min: Money) -> Self {
        Self { uows, services, min }
    }

    /// Moves `amount` from available to pending payouts, records a `pending` withdrawal and
    /// writes its payout message to the outbox; the payout worker sends it after commit.
    #[tracing::instrument(name = "withdraw", skip_all, fields(user = %user))]
    pub async fn execute(
        &self,
        user: UserId,
        amount: Money,
        address: TonAddress,
        key: Option<&IdempotencyKey>,
    ) -> Result<Withdrawal, WithdrawError> {
        if amount < self.min {
            return Err(WithdrawError::BelowMinimum(self.min));
        }
        self.services
            .run("withdraw", || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
                let mut accounts = Accounts::lock(uow.accounts(), &[user]).await?;
                accounts.payer(user)?.debit(amount)?;
                let withdrawal = Withdrawal {
                    id: self.services.new_id(),
                    user_id: user,
                    amount,
                    address: address.to_string(),
                    status: WithdrawalStatus::Pending,
                    tx_hash: None,
                    created_at: fx.now,
                };
                uow.withdrawals().insert(&withdrawal).await?;
                fx.record(fx.posting(Operation::Withdrawal, withdrawal.id).transfer(
                    (Some(user), Account::Available),
                    (Some(user), Account::PendingPayouts),
                    amount,
                ));
                fx.send(OutboxPayload::Payout { withdrawal_id: withdrawal.id });
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok(withdrawal)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::UseCaseError;
    use domain::idempotency::KeyClaim;
    use domain::ports::*;

    crate::fake_uow!(FakeUow: WithdrawUow, FakeFactory: WithdrawUowFactory {
        accounts: MockAccountRepo => AccountRepo, withdrawals: MockWithdrawalRepo => WithdrawalRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });

    fn address() -> TonAddress {
        TonAddress::parse("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N").unwrap()
    }

    #[tokio::test]
    async fn a_withdrawal_moves_funds_to_pending_writes_the_payout_and_commits() {
        let mut uow = FakeUow::default();
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "10", "0")]));
        uow.accounts.expect_save().withf(|u| u.available == m("6")).times(1).returning(|_| Ok(()));
        uow.withdrawals.expect_insert().withf(|w| w.status == WithdrawalStatus::Pending).times(1).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox
            .expect_enqueue()
            .withf(|m| matches!(m.payload, OutboxPayload::Payout { .. }))
            .times(1)
            .returning(|_| Ok(()));
        let (f, committed) = FakeFactory::new(uow);
        Withdraw::new(f, services(), m("1")).execute(UserId(1), m("4"), address(), None).await.unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn too_small_or_too_large_a_withdrawal_commits_nothing() {
        let (f, committed) = FakeFactory::new(FakeUow::default());
        let e = Withdraw::new(f, services(), m("1")).execute(UserId(1), m("0.5"), address(), None).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("validation_failed", false));

        let mut uow = FakeUow::default();
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "3", "0")]));
        let (f, committed) = FakeFactory::new(uow);
        let e = Withdraw::new(f, services(), m("1")).execute(UserId(1), m("4"), address(), None).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("insufficient_funds", false));
    }

    fn key() -> IdempotencyKey {
        IdempotencyKey {
            owner: "user:1".into(),
            route: "POST /api/market/output".into(),
            key: "k".into(),
            request_hash: "h".into(),
        }
    }

    #[tokio::test]
    async fn the_key_is_claimed_in_the_same_unit_of_work_that_commits_the_withdrawal() {
        let mut uow = FakeUow::default();
        uow.idempotency.expect_claim().withf(|k, _| k.key == "k").times(1).returning(|_, _| Ok(KeyClaim::Claimed));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "10", "0")]));
        uow.accounts.expect_save().returning(|_| Ok(()));
        uow.withdrawals.expect_insert().returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = FakeFactory::new(uow);
        Withdraw::new(f, services(), m("1")).execute(UserId(1), m("4"), address(), Some(&key())).await.unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn a_key_in_use_or_already_done_writes_nothing() {
        for claim in [KeyClaim::InUse, KeyClaim::Reused, KeyClaim::Replay { status: 202, body: b"{}".to_vec() }] {
            let mut uow = FakeUow::default();
            let c = claim.clone();
            uow.idempotency.expect_claim().returning(move |_, _| Ok(c.clone()));
            let (f, committed) = FakeFactory::new(uow);
            let e = Withdraw::new(f, services(), m("1"))
                .execute(UserId(1), m("4"), address(), Some(&key()))
                .await
                .unwrap_err();
            assert!(matches!(e, WithdrawError::Idempotency(_)), "{claim:?}");
            assert!(!committed.get(), "{claim:?}");
        }
    }
}
