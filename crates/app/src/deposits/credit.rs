//! Staff credit an on-chain deposit, idempotently on its transaction hash, with an audit trail.

use domain::ports::{AccountRepo, DepositRepo, LedgerRepo, StaffActionRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "credit_deposit";

crate::define_uow!(
    /// What a deposit touches: the deposit record, the user's balance, the ledger, the audit trail.
    CreditDepositUow { deposits: DepositRepo, accounts: AccountRepo, ledger: LedgerRepo, staff_actions: StaffActionRepo }
);

#[derive(Clone, Debug)]
pub struct CreditDepositCommand {
    /// Who records it (the staff token's audit label).
    pub actor: String,
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

pub struct CreditDeposit {
    uows: Uows<dyn CreditDepositUow>,
    services: Services,
}

impl CreditDeposit {
    pub fn new(uows: Uows<dyn CreditDepositUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Creates the user if needed and credits their available balance. The same hash again
    /// returns the first deposit; the same hash for another user or amount is a `duplicate`.
    /// Recorded as a staff action by `actor` in the same Unit of Work (a replay records nothing).
    #[tracing::instrument(level = "debug", name = "credit_deposit", skip_all, fields(user = %cmd.user_id, tx_hash = %cmd.tx_hash))]
    pub async fn execute(&self, cmd: CreditDepositCommand) -> Result<DepositOutcome, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &CreditDepositCommand) -> Result<DepositOutcome, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let outcome =
                credit_within(&mut *uow, &mut fx, &self.services, cmd.user_id, cmd.amount, &cmd.tx_hash).await?;
            if !outcome.replayed {
                let d = &outcome.deposit;
                let action = StaffAction {
                    id: self.services.new_id(),
                    actor: cmd.actor.clone(),
                    action: NAME.into(),
                    subject: d.id.to_string(),
                    detail: format!("credited {} TON of {} to user {}", d.amount, d.tx_hash, d.user_id),
                    created_at: fx.now,
                };
                uow.staff_actions().record(&action).await?;
            }
            Ok(outcome)
        }
        .await;
        match done {
            // The same deposit again: nothing was written.
            Ok(outcome) if outcome.replayed => {
                uow.rollback().await;
                Ok(outcome)
            }
            other => crate::uow::finish(uow, other).await,
        }
    }
}

/// What crediting a deposit touches, whatever Unit of Work it runs in.
pub(crate) trait CreditPorts {
    fn deposits(&mut self) -> &mut dyn DepositRepo;
    fn accounts(&mut self) -> &mut dyn AccountRepo;
    fn ledger(&mut self) -> &mut dyn LedgerRepo;
}

/// Implements [`CreditPorts`] for Units of Work that have the three repositories.
macro_rules! credit_ports {
    ($($uow:path),* $(,)?) => {$(
        impl $crate::deposits::credit::CreditPorts for dyn $uow {
            fn deposits(&mut self) -> &mut dyn domain::ports::DepositRepo {
                <Self as $uow>::deposits(self)
            }
            fn accounts(&mut self) -> &mut dyn domain::ports::AccountRepo {
                <Self as $uow>::accounts(self)
            }
            fn ledger(&mut self) -> &mut dyn domain::ports::LedgerRepo {
                <Self as $uow>::ledger(self)
            }
        }
    )*};
}
pub(crate) use credit_ports;

credit_ports!(CreditDepositUow);

/// Credits `amount` to `user` for the transaction `tx_hash` inside the caller's Unit of Work
/// (creating the user if needed), or finds it credited already (`replayed`, nothing written).
pub(crate) async fn credit_within<U: CreditPorts + ?Sized>(
    uow: &mut U,
    fx: &mut Effects<'_>,
    services: &Services,
    user: UserId,
    amount: Money,
    tx_hash: &str,
) -> Result<DepositOutcome, Error> {
    if let Some(existing) = uow.deposits().find_by_tx_hash(tx_hash).await? {
        return replay(existing, user, amount, tx_hash);
    }
    uow.accounts().ensure_locked(user, None).await?;
    let mut accounts = Accounts::lock(uow.accounts(), &[user]).await?;
    let deposit =
        Deposit { id: services.new_id(), user_id: user, amount, tx_hash: tx_hash.to_string(), created_at: fx.now };
    match uow.deposits().insert(&deposit).await {
        // Someone credited the same hash while we waited: run again and see theirs.
        Err(RepoError::Duplicate(c)) => return Err(RepoError::Transient(format!("concurrent deposit ({c:?})")).into()),
        other => other?,
    }
    accounts.payee(user)?.credit(amount);
    fx.record(fx.posting(Operation::Deposit, tx_hash).transfer(
        (None, Account::External),
        (Some(user), Account::Available),
        amount,
    ));
    accounts.save(uow.accounts()).await?;
    fx.write_ledger(uow.ledger()).await?;
    Ok(DepositOutcome { deposit, replayed: false })
}

fn replay(existing: Deposit, user: UserId, amount: Money, tx_hash: &str) -> Result<DepositOutcome, Error> {
    if existing.same_as(user, amount) {
        Ok(DepositOutcome { deposit: existing, replayed: true })
    } else {
        let what = format!("a deposit of transaction {tx_hash} for another user or amount");
        Err(RuleViolation::Duplicate { what }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn cmd() -> CreditDepositCommand {
        CreditDepositCommand {
            actor: "staff:ab12".into(),
            user_id: UserId(5),
            amount: m("3"),
            tx_hash: "abc".into(),
            idempotency: None,
        }
    }

    fn recorded(user: i64, amount: &str) -> Deposit {
        Deposit {
            id: DepositId(uuid::Uuid::nil()),
            user_id: UserId(user),
            amount: m(amount),
            tx_hash: "abc".into(),
            created_at: now(),
        }
    }

    async fn credit(tx: FakeTx) -> (Result<DepositOutcome, Error>, bool) {
        let (store, committed) = store(tx);
        let r = CreditDeposit::new(store, services()).execute(cmd()).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn a_new_deposit_credits_the_user_and_the_ledger() {
        let mut tx = FakeTx::default();
        tx.deposits.expect_find_by_tx_hash().returning(|_| Ok(None));
        tx.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(5, "0", "0")]));
        tx.deposits.expect_insert().times(1).returning(|_| Ok(()));
        tx.accounts.expect_save().withf(|u| u.available == m("3")).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        tx.staff_actions
            .expect_record()
            .withf(|a| {
                a.actor == "staff:ab12" && a.action == "credit_deposit" && a.detail == "credited 3 TON of abc to user 5"
            })
            .times(1)
            .returning(|_| Ok(()));
        let (r, committed) = credit(tx).await;
        let outcome = r.unwrap();
        assert!(!outcome.replayed);
        assert_eq!(
            (outcome.deposit.user_id, outcome.deposit.amount, outcome.deposit.tx_hash.as_str()),
            (UserId(5), m("3"), "abc")
        );
        assert!(committed);
        assert_eq!(entries.lines(), [(None, Account::External, d("-3")), (Some(5), Account::Available, d("3"))]);
        assert!(entries.all().iter().all(|e| e.operation == Operation::Deposit && e.reference == "abc"));
    }

    #[tokio::test]
    async fn the_same_hash_again_is_a_replay_that_moves_nothing() {
        let mut tx = FakeTx::default();
        tx.deposits.expect_find_by_tx_hash().returning(|_| Ok(Some(recorded(5, "3.0"))));
        let (r, committed) = credit(tx).await;
        assert!(r.unwrap().replayed);
        assert!(!committed);
    }

    #[tokio::test]
    async fn a_deposit_credited_concurrently_runs_again_and_finds_it() {
        let mut first = FakeTx::default();
        first.deposits.expect_find_by_tx_hash().times(1).returning(|_| Ok(None));
        first.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        first.accounts.expect_lock().returning(|_| Ok(vec![user(5, "0", "0")]));
        first.deposits.expect_insert().times(1).returning(|_| Err(RepoError::Duplicate(Constraint::DepositTxHash)));
        let mut again = FakeTx::default();
        again.deposits.expect_find_by_tx_hash().times(1).returning(|_| Ok(Some(recorded(5, "3"))));
        let (store, committed) = stores(vec![first, again]);
        let r = CreditDeposit::new(store, services()).execute(cmd()).await.unwrap();
        assert_eq!(r, DepositOutcome { deposit: recorded(5, "3"), replayed: true });
        assert_eq!(committed.iter().map(|c| c.get()).collect::<Vec<_>>(), [false, false]);
    }

    #[tokio::test]
    async fn the_same_hash_with_another_amount_is_a_duplicate() {
        for other in [recorded(5, "4"), recorded(6, "3")] {
            let mut tx = FakeTx::default();
            tx.deposits.expect_find_by_tx_hash().return_once(move |_| Ok(Some(other)));
            let (r, committed) = credit(tx).await;
            let what = "a deposit of transaction abc for another user or amount".to_string();
            assert_eq!(r.unwrap_err(), RuleViolation::Duplicate { what }.into());
            assert!(!committed);
        }
    }
}
