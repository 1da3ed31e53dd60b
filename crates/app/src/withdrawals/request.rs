//! Market output: withdraw available funds to a TON address.

use domain::ports::{AccountRepo, LedgerRepo, OutboxRepo, WithdrawalRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "withdraw";

crate::define_uow!(
    /// Requesting a withdrawal: the user's funds, the withdrawal, the ledger, the payout message.
    WithdrawUow { accounts: AccountRepo, withdrawals: WithdrawalRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Debug)]
pub struct WithdrawCommand {
    pub user: UserId,
    pub amount: Money,
    pub address: TonAddress,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct Withdraw {
    uows: Uows<dyn WithdrawUow>,
    services: Services,
    min: Money,
}

impl Withdraw {
    pub fn new(uows: Uows<dyn WithdrawUow>, services: Services, min: Money) -> Self {
        Self { uows, services, min }
    }

    /// Moves `amount` from available to pending payouts, records a `pending` withdrawal and
    /// writes its payout message to the outbox; the payout worker sends it after commit.
    #[tracing::instrument(level = "debug", name = "withdraw", skip_all, fields(user = %cmd.user))]
    pub async fn execute(&self, cmd: WithdrawCommand) -> Result<Withdrawal, Error> {
        if cmd.amount < self.min {
            return Err(Error::Invalid(vec![FieldError::new("amount", format!("must be at least {}", self.min))]));
        }
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &WithdrawCommand) -> Result<Withdrawal, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.user]).await?;
            accounts.payer(cmd.user)?.debit(cmd.amount)?;
            let withdrawal = Withdrawal {
                id: self.services.new_id(),
                user_id: cmd.user,
                amount: cmd.amount,
                address: cmd.address.to_string(),
                status: WithdrawalStatus::Pending,
                tx_hash: None,
                created_at: fx.now,
            };
            uow.withdrawals().insert(&withdrawal).await?;
            fx.record(fx.posting(Operation::Withdrawal, withdrawal.id).transfer(
                (Some(cmd.user), Account::Available),
                (Some(cmd.user), Account::PendingPayouts),
                cmd.amount,
            ));
            fx.send(OutboxPayload::Payout { withdrawal_id: withdrawal.id });
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(withdrawal)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::IdempotencyError;
    use crate::testing::*;
    use domain::idempotency::KeyClaim;

    fn cmd(amount: &str, key: Option<IdempotencyKey>) -> WithdrawCommand {
        WithdrawCommand {
            user: UserId(1),
            amount: m(amount),
            address: TonAddress::parse("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N").unwrap(),
            idempotency: key,
        }
    }

    async fn withdraw(tx: FakeTx, cmd: WithdrawCommand) -> (Result<Withdrawal, Error>, bool) {
        let (store, committed) = store(tx);
        let r = Withdraw::new(store, services(), m("1")).execute(cmd).await;
        (r, committed.get())
    }

    fn key() -> IdempotencyKey {
        IdempotencyKey {
            owner: "user:1".into(),
            route: "POST /api/market/output".into(),
            key: "k".into(),
            request_hash: "h".into(),
        }
    }

    fn funded() -> FakeTx {
        let mut tx = FakeTx::default();
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "10", "0")]));
        tx.accounts.expect_save().withf(|u| u.available == m("6")).times(1).returning(|_| Ok(()));
        tx.withdrawals.expect_insert().withf(|w| w.status == WithdrawalStatus::Pending).times(1).returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox
            .expect_enqueue()
            .withf(|m| matches!(m.payload, OutboxPayload::Payout { .. }))
            .times(1)
            .returning(|_| Ok(()));
        tx
    }

    #[tokio::test]
    async fn a_withdrawal_moves_funds_to_pending_writes_the_payout_and_commits() {
        let (r, committed) = withdraw(funded(), cmd("4", None)).await;
        assert_eq!(r.unwrap().status, WithdrawalStatus::Pending);
        assert!(committed);
    }

    #[tokio::test]
    async fn a_withdrawal_of_exactly_the_minimum_is_accepted() {
        let mut tx = FakeTx::default();
        let (accounts, saved) = accounts_saving(vec![user(1, "10", "0")]);
        tx.accounts = accounts;
        tx.withdrawals
            .expect_insert()
            .withf(|w| w.amount == m("1") && w.user_id == UserId(1) && w.status == WithdrawalStatus::Pending)
            .times(1)
            .returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = withdraw(tx, cmd("1", None)).await;
        let w = r.unwrap();
        assert!(committed);
        assert_eq!(saved.all(), [user(1, "9", "0")]);
        assert_eq!(
            entries.lines(),
            [(Some(1), Account::Available, d("-1")), (Some(1), Account::PendingPayouts, d("1"))]
        );
        assert_eq!(
            sent.all().into_iter().map(|m| m.payload).collect::<Vec<_>>(),
            [OutboxPayload::Payout { withdrawal_id: w.id }]
        );
    }

    #[tokio::test]
    async fn a_withdrawal_below_the_minimum_commits_nothing() {
        let (r, committed) = withdraw(FakeTx::default(), cmd("0.5", None)).await;
        assert_eq!(
            (r.unwrap_err(), committed),
            (Error::Invalid(vec![FieldError::new("amount", "must be at least 1")]), false)
        );
    }

    #[tokio::test]
    async fn a_withdrawal_beyond_the_funds_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "3", "0")]));
        let (r, committed) = withdraw(tx, cmd("4", None)).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::InsufficientFunds.into(), false));
    }

    #[tokio::test]
    async fn the_key_is_claimed_in_the_same_unit_of_work_that_commits_the_withdrawal() {
        let mut tx = funded();
        tx.idempotency.expect_claim().withf(|k, _| k.key == "k").times(1).returning(|_, _| Ok(KeyClaim::Claimed));
        let (r, committed) = withdraw(tx, cmd("4", Some(key()))).await;
        r.unwrap();
        assert!(committed);
    }

    #[tokio::test]
    async fn a_key_in_use_or_already_done_writes_nothing() {
        let cases = [
            (KeyClaim::InUse, IdempotencyError::InUse),
            (KeyClaim::Reused, IdempotencyError::Reused),
            (
                KeyClaim::Replay { status: 202, body: b"{}".to_vec() },
                IdempotencyError::Replay { status: 202, body: b"{}".to_vec() },
            ),
        ];
        for (claim, expected) in cases {
            let mut tx = FakeTx::default();
            tx.idempotency.expect_claim().returning(move |_, _| Ok(claim.clone()));
            let (r, committed) = withdraw(tx, cmd("4", Some(key()))).await;
            assert_eq!(r.unwrap_err(), expected.clone().into());
            assert!(!committed, "{expected:?}");
        }
    }
}
