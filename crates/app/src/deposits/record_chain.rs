//! One transaction of the deposit account, handled exactly once: a transfer with a known memo is
//! credited (idempotent on its hash), one without is kept for staff, anything else only moves the
//! cursor — in the Unit of Work that advances the cursor, so a crash anywhere repeats nothing
//! and skips nothing.

use domain::chain::memo_in;
use domain::ports::{AccountRepo, ChainRepo, DepositRepo, LedgerRepo, UnmatchedDepositRepo};
use domain::*;

use crate::deposits::credit::{credit_ports, credit_within};
use crate::effects::Effects;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "record_chain_transaction";

crate::define_uow!(
    /// The watcher's cursor (locked first), memos, the deposit or the unmatched record, the
    /// balance, the ledger.
    RecordChainTransactionUow {
        chain: ChainRepo,
        deposits: DepositRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        unmatched: UnmatchedDepositRepo,
    }
);

credit_ports!(RecordChainTransactionUow);

#[derive(Clone, Debug)]
pub struct RecordChainTransactionCommand {
    /// The deposit account the transaction belongs to.
    pub account: String,
    pub transaction: ChainTransaction,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainOutcome {
    /// The cursor is past it: another watcher (or an earlier pass) handled it.
    AlreadyHandled,
    Credited(Deposit),
    Unmatched(UnmatchedDeposit),
    /// Not money in (outgoing, bounced, aborted, zero), or a hash credited differently before.
    Skipped,
}

pub struct RecordChainTransaction {
    uows: Uows<dyn RecordChainTransactionUow>,
    services: Services,
}

impl RecordChainTransaction {
    pub fn new(uows: Uows<dyn RecordChainTransactionUow>, services: Services) -> Self {
        Self { uows, services }
    }

    #[tracing::instrument(level = "debug", name = "record_chain_transaction", skip_all, fields(tx = %cmd.transaction.hash))]
    pub async fn execute(&self, cmd: RecordChainTransactionCommand) -> Result<ChainOutcome, Error> {
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &RecordChainTransactionCommand) -> Result<ChainOutcome, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let tx = &cmd.transaction;
            let cursor = uow.chain().lock_cursor(&cmd.account).await?;
            if tx.is_behind(cursor.as_ref()) {
                return Ok(ChainOutcome::AlreadyHandled);
            }
            let outcome = match &tx.incoming {
                Some(incoming) if !incoming.amount.is_zero() => {
                    let user = match incoming.comment.as_deref().and_then(memo_in) {
                        Some(memo) => uow.chain().user_by_memo(&memo).await?,
                        None => None,
                    };
                    match user {
                        Some(user) => {
                            match credit_within(&mut *uow, &mut fx, &self.services, user, incoming.amount, &tx.hash).await {
                                Ok(credited) => ChainOutcome::Credited(credited.deposit),
                                Err(Error::Rule(RuleViolation::Duplicate { what })) => {
                                    tracing::warn!(tx = %tx.hash, %what, "transaction credited before to someone else: left as it is");
                                    ChainOutcome::Skipped
                                }
                                Err(e) => return Err(e),
                            }
                        }
                        None => {
                            let kept = UnmatchedDeposit {
                                id: self.services.new_id(),
                                tx_hash: tx.hash.clone(),
                                sender: incoming.sender.clone(),
                                amount: incoming.amount,
                                comment: incoming.comment.clone(),
                                received_at: tx.at,
                                assigned_to: None,
                                assigned_at: None,
                            };
                            // Kept already (staff saw it, or a crash came between): nothing new.
                            uow.unmatched().insert(&kept).await?;
                            ChainOutcome::Unmatched(kept)
                        }
                    }
                }
                _ => ChainOutcome::Skipped,
            };
            uow.chain().save_cursor(&cmd.account, &tx.cursor()).await?;
            Ok(outcome)
        }
        .await;
        match done {
            // Handled before: nothing was written.
            Ok(ChainOutcome::AlreadyHandled) => {
                uow.rollback().await;
                Ok(ChainOutcome::AlreadyHandled)
            }
            other => crate::uow::finish(uow, other).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn transfer(comment: Option<&str>, amount: &str) -> ChainTransaction {
        ChainTransaction {
            hash: "h2".into(),
            lt: 20,
            at: now(),
            incoming: Some(IncomingTransfer {
                sender: "0:abc".into(),
                amount: m(amount),
                comment: comment.map(String::from),
            }),
        }
    }

    async fn record(tx: FakeTx, t: ChainTransaction) -> (Result<ChainOutcome, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = RecordChainTransactionCommand { account: "0:dep".into(), transaction: t };
        let r = RecordChainTransaction::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    fn at_cursor(lt: u64) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.chain.expect_lock_cursor().returning(move |_| Ok(Some(ChainCursor { lt, hash: "h".into() })));
        tx
    }

    #[tokio::test]
    async fn a_known_memo_is_credited_and_the_cursor_moves_with_it() {
        let mut tx = at_cursor(10);
        tx.chain.expect_user_by_memo().withf(|m| m == "abcdefghjk").returning(|_| Ok(Some(UserId(7))));
        tx.deposits.expect_find_by_tx_hash().returning(|_| Ok(None));
        tx.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(7, "0", "0")]));
        tx.deposits.expect_insert().withf(|d| d.tx_hash == "h2" && d.amount == m("1.5")).times(1).returning(|_| Ok(()));
        tx.accounts.expect_save().withf(|u| u.available == m("1.5")).times(1).returning(|_| Ok(()));
        tx.ledger.expect_append().times(1).returning(|_| Ok(()));
        tx.chain.expect_save_cursor().withf(|_, c| c.lt == 20 && c.hash == "h2").times(1).returning(|_, _| Ok(()));
        let (r, committed) = record(tx, transfer(Some(" ABCDEFGHJK "), "1.5")).await;
        assert!(matches!(r.unwrap(), ChainOutcome::Credited(d) if d.user_id == UserId(7)));
        assert!(committed);
    }

    #[tokio::test]
    async fn an_unknown_or_missing_memo_is_kept_for_staff() {
        for comment in [None, Some("for pizza"), Some("zzzzzzzzzz")] {
            let mut tx = at_cursor(10);
            tx.chain.expect_user_by_memo().returning(|_| Ok(None));
            tx.unmatched
                .expect_insert()
                .withf(|u| u.tx_hash == "h2" && u.amount == m("2"))
                .times(1)
                .returning(|_| Ok(true));
            tx.chain.expect_save_cursor().times(1).returning(|_, _| Ok(()));
            let (r, committed) = record(tx, transfer(comment, "2")).await;
            assert!(matches!(r.unwrap(), ChainOutcome::Unmatched(_)), "{comment:?}");
            assert!(committed);
        }
    }

    #[tokio::test]
    async fn what_is_not_money_in_only_moves_the_cursor() {
        let mut tx = at_cursor(10);
        tx.chain.expect_save_cursor().times(1).returning(|_, _| Ok(()));
        let outgoing = ChainTransaction { incoming: None, ..transfer(None, "1") };
        let (r, committed) = record(tx, outgoing).await;
        assert_eq!(r.unwrap(), ChainOutcome::Skipped);
        assert!(committed);
    }

    #[tokio::test]
    async fn a_transfer_of_nothing_only_moves_the_cursor() {
        let mut tx = at_cursor(10);
        tx.chain.expect_save_cursor().withf(|_, c| c.lt == 20).times(1).returning(|_, _| Ok(()));
        let (r, committed) = record(tx, transfer(Some("abcdefghjk"), "0")).await;
        assert_eq!(r.unwrap(), ChainOutcome::Skipped);
        assert!(committed);
    }

    #[tokio::test]
    async fn a_transaction_behind_the_cursor_is_not_handled_again() {
        let tx = at_cursor(20);
        let mut t = transfer(Some("abcdefghjk"), "1");
        t.hash = "h".into();
        let (r, committed) = record(tx, t).await;
        assert_eq!(r.unwrap(), ChainOutcome::AlreadyHandled);
        assert!(!committed);
    }
}
