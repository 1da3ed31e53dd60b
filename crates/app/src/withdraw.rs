//! Market output: withdraw available funds to a TON address.

use std::sync::Arc;

use domain::ports::{AccountRepo, LedgerRepo, OutboxRepo, WithdrawalRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
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
        Self {
            uows,
            services,
            min,
        }
    }

    /// Moves `amount` from available to pending payouts, records a `pending` withdrawal and
    /// writes its payout message to the outbox; the payout worker sends it after commit.
    #[tracing::instrument(name = "withdraw", skip_all, fields(user = %user))]
    pub async fn execute(
        &self,
        user: UserId,
        amount: Money,
        address: TonAddress,
    ) -> Result<Withdrawal, WithdrawError> {
        if amount < self.min {
            return Err(WithdrawError::BelowMinimum(self.min));
        }
        self.services
            .run("withdraw", || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
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
                fx.send(OutboxPayload::Payout {
                    withdrawal_id: withdrawal.id,
                });
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok(withdrawal)
            })
            .await
    }
}
