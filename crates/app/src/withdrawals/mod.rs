//! Market output: withdrawals of funds to TON addresses and the payouts that carry them out.

pub mod record_payout;
pub mod request;
pub mod resolve;
pub mod wallet_payouts;

pub use wallet_payouts::WalletPayouts;

use domain::ports::AccountRepo;
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::Error;

/// How a payout ended for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Concluded {
    /// Paid on chain with this transaction hash.
    Sent { tx_hash: String },
    /// Nothing was or will be paid.
    Failed { reason: String },
}

/// Closes a withdrawal whose payout ended, shared by the relay's outcome and staff resolution:
/// `Sent` moves pending payouts → external; `Failed` returns the funds to available. The user is
/// told either way.
async fn conclude(
    w: &mut Withdrawal,
    outcome: &Concluded,
    accounts: &mut dyn AccountRepo,
    fx: &mut Effects<'_>,
) -> Result<(), Error> {
    let user = w.user_id;
    match outcome {
        Concluded::Sent { tx_hash } => {
            w.status = WithdrawalStatus::Sent;
            w.tx_hash = Some(tx_hash.clone());
            fx.record(fx.posting(Operation::PayoutSent, w.id).transfer(
                (Some(user), Account::PendingPayouts),
                (None, Account::External),
                w.amount,
            ));
            fx.notify(user, format!("Your withdrawal of {} TON was sent. Transaction: {tx_hash}", w.amount));
        }
        Concluded::Failed { reason } => {
            w.status = WithdrawalStatus::Failed;
            let mut locked = Accounts::lock(accounts, &[user]).await?;
            locked.payee(user)?.credit(w.amount);
            locked.save(accounts).await?;
            fx.record(fx.posting(Operation::PayoutFailed, w.id).transfer(
                (Some(user), Account::PendingPayouts),
                (Some(user), Account::Available),
                w.amount,
            ));
            fx.notify(
                user,
                format!("Your withdrawal of {} TON failed ({reason}); the funds are available again.", w.amount),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod fixtures {
    use super::*;
    use crate::testing::*;

    pub fn withdrawal(status: WithdrawalStatus) -> Withdrawal {
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
}
