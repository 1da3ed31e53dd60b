//! The withdrawal state machine after the payout gateway (or staff) answered:
//! `pending` → `sent` | `failed` | `stuck`; `stuck` → `sent` | `failed` by staff.

use domain::ports::{AccountRepo, LedgerRepo, OutboxRepo, WithdrawalRepo};
use domain::*;

use crate::effects::Effects;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "record_payout";

crate::define_uow!(
    /// Recording a payout's outcome: the withdrawal, the user's funds, the ledger, the notice.
    RecordPayoutUow { withdrawals: WithdrawalRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

/// What became of a payout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayoutOutcome {
    /// Paid on chain with this transaction hash.
    Sent { tx_hash: String },
    /// Definitely refused: nothing was or will be paid.
    Failed { reason: String },
    /// Attempts ran out with the outcome unknown.
    Stuck,
}

#[derive(Clone, Debug)]
pub struct RecordPayoutCommand {
    pub withdrawal_id: WithdrawalId,
    pub outcome: PayoutOutcome,
}

pub struct RecordPayout {
    uows: Uows<dyn RecordPayoutUow>,
    services: Services,
}

impl RecordPayout {
    pub fn new(uows: Uows<dyn RecordPayoutUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// `Sent`: pending payouts → external, `sent` with the hash, user told (a `stuck` withdrawal
    /// may still be resolved this way). `Failed`: the funds go back to available, `failed`, user
    /// told. `Stuck`: no money moves — a stuck payout may have been paid, so it is never
    /// refunded automatically. `Ok(None)` for a repeat or a withdrawal already resolved.
    #[tracing::instrument(level = "debug", name = "record_payout", skip_all, fields(withdrawal = %cmd.withdrawal_id))]
    pub async fn execute(&self, cmd: RecordPayoutCommand) -> Result<Option<Withdrawal>, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &RecordPayoutCommand) -> Result<Option<Withdrawal>, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut w = uow.withdrawals().lock(cmd.withdrawal_id).await?.ok_or(Error::NotFound("withdrawal"))?;
            let open = match cmd.outcome {
                PayoutOutcome::Sent { .. } => matches!(w.status, WithdrawalStatus::Pending | WithdrawalStatus::Stuck),
                PayoutOutcome::Failed { .. } | PayoutOutcome::Stuck => w.status == WithdrawalStatus::Pending,
            };
            if !open {
                return Ok(None);
            }
            match &cmd.outcome {
                PayoutOutcome::Sent { tx_hash } => {
                    let sent = super::Concluded::Sent { tx_hash: tx_hash.clone() };
                    super::conclude(&mut w, &sent, uow.accounts(), &mut fx).await?
                }
                PayoutOutcome::Failed { reason } => {
                    let failed = super::Concluded::Failed { reason: reason.clone() };
                    super::conclude(&mut w, &failed, uow.accounts(), &mut fx).await?
                }
                PayoutOutcome::Stuck => w.status = WithdrawalStatus::Stuck,
            }
            uow.withdrawals().update(&w).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(Some(w))
        }
        .await;
        crate::uow::finish_some(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::withdrawals::fixtures::withdrawal;

    fn with(status: WithdrawalStatus) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.withdrawals.expect_lock().returning(move |_| Ok(Some(withdrawal(status))));
        tx
    }

    async fn record(tx: FakeTx, outcome: PayoutOutcome) -> (Option<Withdrawal>, bool) {
        let (store, committed) = store(tx);
        let cmd = RecordPayoutCommand { withdrawal_id: withdrawal(WithdrawalStatus::Pending).id, outcome };
        let r = RecordPayout::new(store, services()).execute(cmd).await.unwrap();
        (r, committed.get())
    }

    #[tokio::test]
    async fn sent_moves_pending_to_external_and_commits() {
        for status in [WithdrawalStatus::Pending, WithdrawalStatus::Stuck] {
            let mut tx = with(status);
            tx.withdrawals
                .expect_update()
                .withf(|w| w.status == WithdrawalStatus::Sent && w.tx_hash.as_deref() == Some("tx1"))
                .times(1)
                .returning(|_| Ok(()));
            let (ledger, entries) = ledger_recording();
            tx.ledger = ledger;
            let (outbox, sent) = outbox_recording();
            tx.outbox = outbox;
            let (r, committed) = record(tx, PayoutOutcome::Sent { tx_hash: "tx1".into() }).await;
            assert_eq!(r.map(|w| w.status), Some(WithdrawalStatus::Sent), "{status:?}");
            assert!(committed);
            assert_eq!(
                entries.lines(),
                [(Some(1), Account::PendingPayouts, d("-5")), (None, Account::External, d("5"))]
            );
            assert_eq!(sent.notified(), [1]);
        }
    }

    #[tokio::test]
    async fn failed_returns_the_funds_and_commits() {
        let mut tx = with(WithdrawalStatus::Pending);
        let (accounts, saved) = accounts_saving(vec![user(1, "0", "0")]);
        tx.accounts = accounts;
        tx.withdrawals.expect_update().withf(|w| w.status == WithdrawalStatus::Failed).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = record(tx, PayoutOutcome::Failed { reason: "bad address".into() }).await;
        assert_eq!(r.map(|w| w.status), Some(WithdrawalStatus::Failed));
        assert!(committed);
        assert_eq!(saved.all(), [user(1, "5", "0")]);
        assert_eq!(
            entries.lines(),
            [(Some(1), Account::PendingPayouts, d("-5")), (Some(1), Account::Available, d("5"))]
        );
        assert_eq!(sent.notified(), [1]);
    }

    #[tokio::test]
    async fn stuck_moves_no_money_and_tells_nobody() {
        let mut tx = with(WithdrawalStatus::Pending);
        tx.withdrawals.expect_update().withf(|w| w.status == WithdrawalStatus::Stuck).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (r, committed) = record(tx, PayoutOutcome::Stuck).await;
        assert_eq!(r.map(|w| w.status), Some(WithdrawalStatus::Stuck));
        assert!(committed);
        assert_eq!(entries.lines(), []);
    }

    #[tokio::test]
    async fn a_payout_is_not_stuck_twice() {
        let (r, committed) = record(with(WithdrawalStatus::Stuck), PayoutOutcome::Stuck).await;
        assert_eq!((r, committed), (None, false));
    }

    #[tokio::test]
    async fn a_resolved_withdrawal_is_never_changed_again() {
        for status in [WithdrawalStatus::Sent, WithdrawalStatus::Failed] {
            let (r, committed) = record(with(status), PayoutOutcome::Failed { reason: "late".into() }).await;
            assert_eq!((r, committed), (None, false));
        }
        let (r, committed) =
            record(with(WithdrawalStatus::Stuck), PayoutOutcome::Failed { reason: "late".into() }).await;
        assert_eq!((r, committed), (None, false), "a stuck payout is never refunded automatically");
    }
}
