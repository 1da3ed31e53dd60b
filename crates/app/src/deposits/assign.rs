//! Staff credit an unmatched deposit to the user it belongs to: once, with an audit trail.

use domain::ports::{AccountRepo, DepositRepo, LedgerRepo, StaffActionRepo, UnmatchedDepositRepo};
use domain::*;

use crate::deposits::credit::{credit_ports, credit_within};
use crate::effects::Effects;
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "assign_unmatched_deposit";

crate::define_uow!(
    /// The unmatched record, the deposit, the balance, the ledger, the audit trail.
    AssignUnmatchedDepositUow {
        unmatched: UnmatchedDepositRepo,
        deposits: DepositRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        staff_actions: StaffActionRepo,
    }
);

credit_ports!(AssignUnmatchedDepositUow);

#[derive(Clone, Debug)]
pub struct AssignUnmatchedDepositCommand {
    pub actor: String,
    pub id: UnmatchedDepositId,
    pub user_id: UserId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct AssignUnmatchedDeposit {
    uows: Uows<dyn AssignUnmatchedDepositUow>,
    services: Services,
}

impl AssignUnmatchedDeposit {
    pub fn new(uows: Uows<dyn AssignUnmatchedDepositUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Credits the deposit to `user_id` (created if new) as a deposit of its transaction hash;
    /// an assigned one again: 409 `duplicate`.
    #[tracing::instrument(level = "debug", name = "assign_unmatched_deposit", skip_all, fields(id = %cmd.id, user = %cmd.user_id))]
    pub async fn execute(&self, cmd: AssignUnmatchedDepositCommand) -> Result<(UnmatchedDeposit, Deposit), Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &AssignUnmatchedDepositCommand) -> Result<(UnmatchedDeposit, Deposit), Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut kept = uow.unmatched().lock(cmd.id).await?.ok_or(Error::NotFound("unmatched deposit"))?;
            if let Some(to) = kept.assigned_to {
                return Err(
                    RuleViolation::Duplicate { what: format!("this deposit, assigned to user {to} already") }.into()
                );
            }
            let credited =
                credit_within(&mut *uow, &mut fx, &self.services, cmd.user_id, kept.amount, &kept.tx_hash).await?;
            kept.assigned_to = Some(cmd.user_id);
            kept.assigned_at = Some(fx.now);
            uow.unmatched().update(&kept).await?;
            let action = StaffAction {
                id: self.services.new_id(),
                actor: cmd.actor.clone(),
                action: NAME.into(),
                subject: kept.id.to_string(),
                detail: format!("credited {} TON of {} to user {}", kept.amount, kept.tx_hash, cmd.user_id),
                created_at: fx.now,
            };
            uow.staff_actions().record(&action).await?;
            Ok((kept, credited.deposit))
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn kept(assigned: Option<i64>) -> UnmatchedDeposit {
        UnmatchedDeposit {
            id: UnmatchedDepositId(uuid::Uuid::nil()),
            tx_hash: "h".into(),
            sender: "0:abc".into(),
            amount: m("4"),
            comment: None,
            received_at: now(),
            assigned_to: assigned.map(UserId),
            assigned_at: assigned.map(|_| now()),
        }
    }

    async fn assign(tx: FakeTx) -> (Result<(UnmatchedDeposit, Deposit), Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = AssignUnmatchedDepositCommand {
            actor: "staff:x".into(),
            id: UnmatchedDepositId(uuid::Uuid::nil()),
            user_id: UserId(9),
            idempotency: None,
        };
        let r = AssignUnmatchedDeposit::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn an_assignment_credits_once_and_is_recorded() {
        let mut tx = FakeTx::default();
        tx.unmatched.expect_lock().returning(|_| Ok(Some(kept(None))));
        tx.deposits.expect_find_by_tx_hash().returning(|_| Ok(None));
        tx.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(9, "0", "0")]));
        tx.deposits.expect_insert().times(1).returning(|_| Ok(()));
        tx.accounts.expect_save().withf(|u| u.available == m("4")).times(1).returning(|_| Ok(()));
        tx.ledger.expect_append().times(1).returning(|_| Ok(()));
        tx.unmatched.expect_update().withf(|u| u.assigned_to == Some(UserId(9))).times(1).returning(|_| Ok(()));
        tx.staff_actions.expect_record().times(1).returning(|_| Ok(()));
        let (r, committed) = assign(tx).await;
        let (kept, deposit) = r.unwrap();
        assert_eq!((kept.assigned_to, deposit.user_id, deposit.tx_hash.as_str()), (Some(UserId(9)), UserId(9), "h"));
        assert!(committed);
    }

    #[tokio::test]
    async fn an_assigned_deposit_is_not_credited_again() {
        let mut tx = FakeTx::default();
        tx.unmatched.expect_lock().returning(|_| Ok(Some(kept(Some(3)))));
        let (r, committed) = assign(tx).await;
        assert!(matches!(r, Err(Error::Rule(RuleViolation::Duplicate { .. }))));
        assert!(!committed);
    }
}
