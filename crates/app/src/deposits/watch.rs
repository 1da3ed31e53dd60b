//! The deposit watcher: a job that pages the deposit account's transactions from the indexer,
//! oldest first from the stored cursor, and hands each to [`RecordChainTransaction`]. Several
//! watchers (one per instance) may run at once: the cursor row is locked per transaction and a
//! transaction behind it is not handled again.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::ports::ChainIndexer;
use domain::ports::ChainRepo;
use domain::*;

use crate::deposits::record_chain::{ChainOutcome, RecordChainTransaction, RecordChainTransactionCommand};
use crate::jobs::JobMark;
use crate::{Context, Error};

crate::define_uow!(
    /// Where the watcher is.
    WatchCursorUow { chain: ChainRepo }
);

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatchReport {
    pub credited: usize,
    pub unmatched: usize,
    pub skipped: usize,
    /// The indexer could not be read, or a transaction could not be recorded (the pass stops
    /// there: nothing after it is handled before it).
    pub failures: usize,
}

pub struct DepositWatcher {
    ctx: Context,
    indexer: Arc<dyn ChainIndexer>,
    /// The deposit account (`TON_DEPOSIT_ADDRESS`).
    account: String,
    /// Transactions asked for per request.
    page: u32,
    /// Most pages per pass, so one pass cannot run for ever behind a long history.
    max_pages: u32,
    /// When a pass last reached the newest transaction.
    caught_up_at: JobMark,
}

impl DepositWatcher {
    /// Watches `account` through `indexer`, 100 transactions a request, at most 10 requests a pass.
    pub fn new(ctx: Context, indexer: Arc<dyn ChainIndexer>, account: String) -> Self {
        Self { ctx, indexer, account, page: 100, max_pages: 10, caught_up_at: JobMark::default() }
    }

    /// Asks for `page` transactions a request, at most `max_pages` requests a pass.
    pub fn with_paging(mut self, page: u32, max_pages: u32) -> Self {
        self.page = page;
        self.max_pages = max_pages;
        self
    }

    /// When a pass last reached the newest transaction of the account.
    pub fn caught_up_at(&self) -> Option<DateTime<Utc>> {
        self.caught_up_at.get()
    }

    /// When a pass last reached the newest transaction, as it moves (for the operator console).
    pub fn mark(&self) -> JobMark {
        self.caught_up_at.clone()
    }

    async fn cursor(&self) -> Result<Option<ChainCursor>, Error> {
        let uows: Arc<dyn crate::uow::Begin<dyn WatchCursorUow>> = self.ctx.uows();
        let mut uow = uows.begin("watch_deposits").await?;
        // Read under the row lock and let it go at once: nothing is written.
        let cursor = uow.chain().lock_cursor(&self.account).await;
        uow.rollback().await;
        Ok(cursor?)
    }

    pub async fn run_once(&self) -> WatchReport {
        let mut report = WatchReport::default();
        let uc = RecordChainTransaction::new(self.ctx.uows(), self.ctx.services());
        let now = self.ctx.services.now();
        let mut caught_up = false;
        'pages: for _ in 0..self.max_pages {
            let cursor = match self.cursor().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "deposit watcher: cannot read the cursor");
                    report.failures += 1;
                    break;
                }
            };
            let page = match self.indexer.transactions_after(&self.account, cursor, self.page).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, "deposit watcher: the indexer is unavailable; next pass");
                    metrics::counter!("ton_indexer_failures_total").increment(1);
                    report.failures += 1;
                    break;
                }
            };
            let full = page.len() as u32 >= self.page;
            for transaction in page {
                let hash = transaction.hash.clone();
                let cmd = RecordChainTransactionCommand { account: self.account.clone(), transaction };
                match uc.execute(cmd).await {
                    Ok(ChainOutcome::Credited(d)) => {
                        report.credited += 1;
                        metrics::counter!("ton_deposits_credited_total").increment(1);
                        tracing::info!(tx = %hash, user = %d.user_id, amount = %d.amount, "deposit credited");
                    }
                    Ok(ChainOutcome::Unmatched(u)) => {
                        report.unmatched += 1;
                        metrics::counter!("ton_unmatched_deposits_total").increment(1);
                        tracing::warn!(tx = %hash, amount = %u.amount, comment = ?u.comment, "deposit without a known memo: kept for staff");
                    }
                    Ok(ChainOutcome::Skipped) => report.skipped += 1,
                    Ok(ChainOutcome::AlreadyHandled) => {}
                    Err(e) => {
                        tracing::error!(tx = %hash, error = %e, "deposit watcher: cannot record a transaction; retrying next pass");
                        report.failures += 1;
                        break 'pages;
                    }
                }
            }
            if !full {
                caught_up = true;
                break;
            }
        }
        if caught_up {
            self.caught_up_at.set(now);
        }
        let at = self.caught_up_at.get();
        let lag = at.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1e3);
        metrics::gauge!("ton_deposit_lag_seconds").set(lag);
        report
    }
}

#[cfg(test)]
mod tests {
    use domain::ports::{GatewayUnavailable, MockChainIndexer};

    use super::*;
    use crate::jobs::support::*;
    use crate::live::testing::Recorded;
    use crate::testing::{m, now, user, FakeTx};

    const ACCOUNT: &str = "0:dep";

    fn cursor(lt: u64) -> ChainCursor {
        ChainCursor { lt, hash: format!("h{lt}") }
    }

    /// A transaction at logical time `lt`: money in with `comment` when `amount` is given.
    fn transaction(lt: u64, amount: Option<&str>, comment: Option<&str>) -> ChainTransaction {
        ChainTransaction {
            hash: format!("h{lt}"),
            lt,
            at: now(),
            incoming: amount.map(|a| IncomingTransfer {
                sender: "0:abc".into(),
                amount: m(a),
                comment: comment.map(String::from),
            }),
        }
    }

    fn outgoing(lt: u64) -> ChainTransaction {
        transaction(lt, None, None)
    }

    /// The watcher's look at its cursor.
    fn at(c: Option<ChainCursor>) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.chain.expect_lock_cursor().withf(|a| a == ACCOUNT).times(1).returning(move |_| Ok(c.clone()));
        tx
    }

    /// Recording transaction `lt` behind the cursor `before`: the cursor moves to it.
    fn recording(before: Option<ChainCursor>, lt: u64) -> FakeTx {
        let mut tx = at(before);
        tx.chain
            .expect_save_cursor()
            .withf(move |a, c| a == ACCOUNT && *c == cursor(lt))
            .times(1)
            .returning(|_, _| Ok(()));
        tx
    }

    fn unmatched(before: Option<ChainCursor>, lt: u64) -> FakeTx {
        let mut tx = recording(before, lt);
        tx.unmatched.expect_insert().times(1).returning(|_| Ok(true));
        tx
    }

    fn credited(before: Option<ChainCursor>, lt: u64) -> FakeTx {
        let mut tx = recording(before, lt);
        tx.chain.expect_user_by_memo().returning(|_| Ok(Some(UserId(7))));
        tx.deposits.expect_find_by_tx_hash().returning(|_| Ok(None));
        tx.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(7, "0", "0")]));
        tx.deposits.expect_insert().times(1).returning(|_| Ok(()));
        tx.accounts.expect_save().times(1).returning(|_| Ok(()));
        tx.ledger.expect_append().times(1).returning(|_| Ok(()));
        tx
    }

    struct Rig {
        watcher: DepositWatcher,
        txs: Arc<Txs>,
        clock: Arc<TestClock>,
    }

    /// A watcher asking for `page` transactions a request, `max_pages` requests a pass.
    fn rig(indexer: MockChainIndexer, txs: Vec<FakeTx>, page: u32, max_pages: u32) -> Rig {
        let (txs, clock) = (Txs::new(txs), TestClock::new(now()));
        let watcher =
            DepositWatcher::new(context(&txs, &clock), Arc::new(indexer), ACCOUNT.into()).with_paging(page, max_pages);
        Rig { watcher, txs, clock }
    }

    fn report(credited: usize, unmatched: usize, skipped: usize, failures: usize) -> WatchReport {
        WatchReport { credited, unmatched, skipped, failures }
    }

    fn down() -> GatewayUnavailable {
        GatewayUnavailable { retry_after: None, reason: "indexer down".into() }
    }

    #[tokio::test]
    async fn a_pass_pages_on_from_the_cursor_until_a_page_is_not_full_then_it_is_caught_up() {
        let mut indexer = MockChainIndexer::new();
        let mut order = mockall::Sequence::new();
        indexer
            .expect_transactions_after()
            .withf(|a, after, limit| a == ACCOUNT && after.is_none() && *limit == 2)
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(vec![outgoing(1), transaction(2, Some("2"), Some("for pizza"))]));
        indexer
            .expect_transactions_after()
            .withf(|_, after, limit| *after == Some(cursor(2)) && *limit == 2)
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _| Ok(vec![transaction(3, Some("1.5"), Some("abcdefghjk"))]));
        let txs = vec![
            at(None),
            recording(None, 1),
            unmatched(Some(cursor(1)), 2),
            at(Some(cursor(2))),
            credited(Some(cursor(2)), 3),
        ];
        let r = rig(indexer, txs, 2, 10);
        assert_eq!(r.watcher.caught_up_at(), None, "not before a pass");

        assert_eq!(r.watcher.run_once().await, report(1, 1, 1, 0));
        assert_eq!(r.txs.left(), 0);
        assert_eq!(r.watcher.caught_up_at(), Some(now()));
    }

    #[tokio::test]
    async fn a_pass_makes_at_most_its_requests_and_full_pages_are_not_caught_up() {
        let mut indexer = MockChainIndexer::new();
        let mut lt = 0;
        indexer.expect_transactions_after().times(2).returning(move |_, _, _| {
            lt += 1;
            Ok(vec![outgoing(lt)])
        });
        let txs = vec![at(None), recording(None, 1), at(Some(cursor(1))), recording(Some(cursor(1)), 2)];
        let r = rig(indexer, txs, 1, 2);
        assert_eq!(r.watcher.run_once().await, report(0, 0, 2, 0));
        assert_eq!(r.watcher.caught_up_at(), None, "more may follow");
    }

    #[tokio::test]
    async fn a_transaction_already_handled_counts_nothing() {
        let mut indexer = MockChainIndexer::new();
        indexer.expect_transactions_after().times(1).returning(|_, _, _| Ok(vec![outgoing(1)]));
        let r = rig(indexer, vec![at(None), at(Some(cursor(5)))], 2, 10);
        assert_eq!(r.watcher.run_once().await, WatchReport::default());
        assert_eq!(r.watcher.caught_up_at(), Some(now()));
    }

    #[tokio::test]
    async fn a_transaction_that_cannot_be_recorded_ends_the_pass_there_not_caught_up() {
        let mut indexer = MockChainIndexer::new();
        indexer
            .expect_transactions_after()
            .times(1)
            .returning(|_, _, _| Ok(vec![outgoing(1), outgoing(2), outgoing(3)]));
        // The second one finds the store down; the third is not tried.
        let r = rig(indexer, vec![at(None), recording(None, 1)], 5, 10);
        assert_eq!(r.watcher.run_once().await, report(0, 0, 1, 1));
        assert_eq!(r.txs.begun(), 3);
        assert_eq!(r.watcher.caught_up_at(), None);
    }

    #[tokio::test]
    async fn a_cursor_that_cannot_be_read_fails_the_pass_before_the_indexer() {
        let mut indexer = MockChainIndexer::new();
        indexer.expect_transactions_after().times(0);
        let r = rig(indexer, vec![], 2, 10);
        assert_eq!(r.watcher.run_once().await, report(0, 0, 0, 1));
        assert_eq!(r.txs.begun(), 1);
    }

    #[tokio::test]
    async fn an_indexer_down_fails_the_pass_and_the_lag_grows_from_the_last_catch_up() {
        let recorded = Recorded::default();
        let _guard = metrics::set_default_local_recorder(&recorded);
        let mut indexer = MockChainIndexer::new();
        let mut calls = 0;
        indexer.expect_transactions_after().times(3).returning(move |_, _, _| {
            calls += 1;
            if calls == 2 {
                Ok(vec![])
            } else {
                Err(down())
            }
        });
        let r = rig(indexer, vec![at(None), at(None), at(None)], 2, 10);

        assert_eq!(r.watcher.run_once().await, report(0, 0, 0, 1));
        assert_eq!((r.watcher.caught_up_at(), recorded.gauge("ton_deposit_lag_seconds")), (None, 0.0));
        assert_eq!(r.watcher.run_once().await, WatchReport::default(), "an empty page: caught up");
        assert_eq!(r.watcher.caught_up_at(), Some(now()));
        r.clock.set(now() + chrono::Duration::milliseconds(5_500));
        assert_eq!(r.watcher.run_once().await, report(0, 0, 0, 1));
        assert_eq!(r.watcher.caught_up_at(), Some(now()), "kept from the last pass that caught up");
        assert_eq!(recorded.gauge("ton_deposit_lag_seconds"), 5.5);
    }
}
