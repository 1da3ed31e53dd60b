//! The withdrawal state machine after the gateway answered:
//! `pending` → `sent` | `failed` | `stuck`.

use std::sync::Arc;

use domain::ports::{AccountRepo, LedgerRepo, OutboxRepo, WithdrawalRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::Services;

crate::define_uow!(
    /// Recording a payout's outcome: the withdrawal, the user's funds, the ledger, the notice.
    PayoutResultUow, PayoutResultUowFactory {
        withdrawals: WithdrawalRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
    }
);
crate::use_case_error!(PayoutResultError);

pub struct PayoutResults {
    uows: Arc<dyn PayoutResultUowFactory>,
    services: Services,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome<'a> {
    Sent(&'a str),
    Failed(&'a str),
    Stuck,
}

impl PayoutResults {
    pub fn new(uows: Arc<dyn PayoutResultUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Paid on chain: pending payouts → external, `sent` with the transaction hash; user told.
    /// A `stuck` withdrawal may still be resolved this way. Repeats are no-ops.
    pub async fn sent(&self, id: WithdrawalId, tx_hash: &str) -> Result<Option<Withdrawal>, PayoutResultError> {
        self.record(id, Outcome::Sent(tx_hash)).await
    }

    /// Definitely refused: the funds go back to available, `failed`; user told.
    pub async fn failed(&self, id: WithdrawalId, reason: &str) -> Result<Option<Withdrawal>, PayoutResultError> {
        self.record(id, Outcome::Failed(reason)).await
    }

    /// Attempts exhausted with the outcome unknown: `stuck`. No money moves: a stuck payout may
    /// have been paid, so it is never refunded automatically.
    pub async fn stuck(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, PayoutResultError> {
        self.record(id, Outcome::Stuck).await
    }

    async fn record(&self, id: WithdrawalId, outcome: Outcome<'_>) -> Result<Option<Withdrawal>, PayoutResultError> {
        self.services
            .run("payout_result", || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                let mut w = uow.withdrawals().lock(id).await?.ok_or(PayoutResultError::NotFound("withdrawal"))?;
                let open = match outcome {
                    Outcome::Sent(_) => matches!(w.status, WithdrawalStatus::Pending | WithdrawalStatus::Stuck),
                    Outcome::Failed(_) | Outcome::Stuck => w.status == WithdrawalStatus::Pending,
                };
                if !open {
                    return Ok(None);
                }
                let user = w.user_id;
                match outcome {
                    Outcome::Sent(tx) => {
                        w.status = WithdrawalStatus::Sent;
                        w.tx_hash = Some(tx.to_string());
                        fx.record(fx.posting(Operation::PayoutSent, w.id).transfer(
                            (Some(user), Account::PendingPayouts),
                            (None, Account::External),
                            w.amount,
                        ));
                        fx.notify(user, format!("Your withdrawal of {} TON was sent. Transaction: {tx}", w.amount));
                    }
                    Outcome::Failed(reason) => {
                        w.status = WithdrawalStatus::Failed;
                        let mut accounts = Accounts::lock(uow.accounts(), &[user]).await?;
                        accounts.payee(user)?.credit(w.amount);
                        accounts.save(uow.accounts()).await?;
                        fx.record(fx.posting(Operation::PayoutFailed, w.id).transfer(
                            (Some(user), Account::PendingPayouts),
                            (Some(user), Account::Available),
                            w.amount,
                        ));
                        fx.notify(
                            user,
                            format!(
                                "Your withdrawal of {} TON failed ({reason}); the funds are available again.",
                                w.amount
                            ),
                        );
                    }
                    Outcome::Stuck => w.status = WithdrawalStatus::Stuck,
                }
                uow.withdrawals().update(&w).await?;
                fx.write_ledger(uow.ledger()).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok(Some(w))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use domain::ports::*;

    crate::fake_uow!(FakeUow: PayoutResultUow, FakeFactory: PayoutResultUowFactory {
        withdrawals: MockWithdrawalRepo => WithdrawalRepo, accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });

    fn withdrawal(status: WithdrawalStatus) -> Withdrawal {
        Withdrawal {
            id: WithdrawalId(uuid::Uuid::from_u128(4)),
            user_id: UserId(1),
            amount: m("5"),
            address: "0:ab".into(),
            status,
            tx_hash: None,
            created_at: now(),
        }
    }

    fn uow_with(status: WithdrawalStatus) -> FakeUow {
        let mut uow = FakeUow::default();
        uow.withdrawals.expect_lock().returning(move |_| Ok(Some(withdrawal(status))));
        uow
    }

    #[tokio::test]
    async fn sent_moves_pending_to_external_and_commits() {
        let mut uow = uow_with(WithdrawalStatus::Pending);
        uow.withdrawals
            .expect_update()
            .withf(|w| w.status == WithdrawalStatus::Sent && w.tx_hash.as_deref() == Some("tx1"))
            .times(1)
            .returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = FakeFactory::new(uow);
        assert!(PayoutResults::new(f, services())
            .sent(withdrawal(WithdrawalStatus::Pending).id, "tx1")
            .await
            .unwrap()
            .is_some());
        assert!(committed.get());
    }

    #[tokio::test]
    async fn failed_returns_the_funds_and_commits() {
        let mut uow = uow_with(WithdrawalStatus::Pending);
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "0")]));
        uow.accounts.expect_save().withf(|u| u.available == m("5")).times(1).returning(|_| Ok(()));
        uow.withdrawals.expect_update().withf(|w| w.status == WithdrawalStatus::Failed).returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox = any_outbox();
        let (f, committed) = FakeFactory::new(uow);
        PayoutResults::new(f, services())
            .failed(withdrawal(WithdrawalStatus::Pending).id, "bad address")
            .await
            .unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn a_resolved_withdrawal_is_never_changed_again() {
        for status in [WithdrawalStatus::Sent, WithdrawalStatus::Failed] {
            let (f, committed) = FakeFactory::new(uow_with(status));
            let r = PayoutResults::new(f, services()).failed(withdrawal(status).id, "late").await.unwrap();
            assert_eq!((r, committed.get()), (None, false));
        }
        let (f, committed) = FakeFactory::new(uow_with(WithdrawalStatus::Stuck));
        let r = PayoutResults::new(f, services()).failed(withdrawal(WithdrawalStatus::Stuck).id, "late").await.unwrap();
        assert_eq!((r, committed.get()), (None, false), "a stuck payout is never refunded automatically");
    }
}
