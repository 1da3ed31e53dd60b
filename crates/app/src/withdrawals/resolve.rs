//! Staff resolve a `stuck` withdrawal by hand: it was paid (with the transaction hash that
//! proves it) or it was not (the funds go back). Recorded in the audit trail.

use domain::ports::{AccountRepo, LedgerRepo, OutboxRepo, StaffActionRepo, WithdrawalRepo};
use domain::*;

use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::withdrawals::Concluded;
use crate::{Error, Services};

const NAME: &str = "resolve_withdrawal";

crate::define_uow!(
    /// Resolving: the withdrawal, the user's funds, the ledger, the notice, the audit trail.
    ResolveWithdrawalUow {
        withdrawals: WithdrawalRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
        staff_actions: StaffActionRepo,
    }
);

#[derive(Clone, Debug)]
pub struct ResolveWithdrawalCommand {
    /// Who resolves (`staff:<fingerprint>`), for the audit trail.
    pub actor: String,
    pub withdrawal_id: WithdrawalId,
    pub outcome: Concluded,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct ResolveWithdrawal {
    uows: Uows<dyn ResolveWithdrawalUow>,
    services: Services,
}

impl ResolveWithdrawal {
    pub fn new(uows: Uows<dyn ResolveWithdrawalUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Only a `stuck` withdrawal (else `withdrawal_not_stuck`): `Sent` moves pending payouts →
    /// external with the hash; `Failed` refunds. The user is told; the action is recorded.
    #[tracing::instrument(level = "debug", name = "resolve_withdrawal", skip_all, fields(withdrawal = %cmd.withdrawal_id, actor = %cmd.actor))]
    pub async fn execute(&self, cmd: ResolveWithdrawalCommand) -> Result<Withdrawal, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &ResolveWithdrawalCommand) -> Result<Withdrawal, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut w = uow.withdrawals().lock(cmd.withdrawal_id).await?.ok_or(Error::NotFound("withdrawal"))?;
            if w.status != WithdrawalStatus::Stuck {
                return Err(RuleViolation::WithdrawalNotStuck.into());
            }
            super::conclude(&mut w, &cmd.outcome, uow.accounts(), &mut fx).await?;
            let detail = match &cmd.outcome {
                Concluded::Sent { tx_hash } => format!("sent: {tx_hash}"),
                Concluded::Failed { reason } => format!("failed: {reason}"),
            };
            let action = StaffAction {
                id: self.services.new_id(),
                actor: cmd.actor.clone(),
                action: NAME.into(),
                subject: w.id.to_string(),
                detail,
                created_at: fx.now,
            };
            uow.staff_actions().record(&action).await?;
            uow.withdrawals().update(&w).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(w)
        }
        .await;
        crate::uow::finish(uow, done).await
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

    async fn resolve(tx: FakeTx, outcome: Concluded) -> (Result<Withdrawal, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = ResolveWithdrawalCommand {
            actor: "staff:ab12".into(),
            withdrawal_id: withdrawal(WithdrawalStatus::Stuck).id,
            outcome,
            idempotency: None,
        };
        let r = ResolveWithdrawal::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn a_stuck_payout_found_on_chain_is_sent_and_the_action_recorded() {
        let mut tx = with(WithdrawalStatus::Stuck);
        tx.withdrawals
            .expect_update()
            .withf(|w| w.status == WithdrawalStatus::Sent && w.tx_hash.as_deref() == Some("abc"))
            .times(1)
            .returning(|_| Ok(()));
        tx.staff_actions
            .expect_record()
            .withf(|a| a.actor == "staff:ab12" && a.action == "resolve_withdrawal" && a.detail == "sent: abc")
            .times(1)
            .returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox = any_outbox();
        let (r, committed) = resolve(tx, Concluded::Sent { tx_hash: "abc".into() }).await;
        assert_eq!(r.unwrap().status, WithdrawalStatus::Sent);
        assert!(committed);
    }

    #[tokio::test]
    async fn a_stuck_payout_that_never_left_is_refunded() {
        let mut tx = with(WithdrawalStatus::Stuck);
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "0")]));
        tx.accounts.expect_save().withf(|u| u.available == m("5")).times(1).returning(|_| Ok(()));
        tx.withdrawals.expect_update().withf(|w| w.status == WithdrawalStatus::Failed).times(1).returning(|_| Ok(()));
        tx.staff_actions.expect_record().times(1).returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox = any_outbox();
        let (r, committed) = resolve(tx, Concluded::Failed { reason: "resolved by staff".into() }).await;
        assert_eq!(r.unwrap().status, WithdrawalStatus::Failed);
        assert!(committed);
    }

    #[tokio::test]
    async fn only_a_stuck_withdrawal_can_be_resolved() {
        for status in [WithdrawalStatus::Pending, WithdrawalStatus::Sent, WithdrawalStatus::Failed] {
            let (r, committed) = resolve(with(status), Concluded::Sent { tx_hash: "abc".into() }).await;
            assert_eq!((r.unwrap_err(), committed), (RuleViolation::WithdrawalNotStuck.into(), false), "{status:?}");
        }
    }
}
