//! Background jobs: offer expiry (the seed's `clear_old_offers`), auction settlement, presale
//! deadlines, trade expiry and channel sales awaiting transfer (released when Telegram shows the
//! buyer as the owner, refunded past their deadline). Each finds due items with a plain query, then handles each in its own Unit of Work
//! that locks the row and re-checks it, so several instances running at once act exactly once
//! per item and a failure on one item does not hold the others back.

use std::sync::Arc;

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use domain::ChannelSaleId;

use crate::auctions::settle::{SettleAuction, SettleAuctionCommand};
use crate::channels::check::{CheckChannelSale, CheckChannelSaleCommand};
use crate::collection_offers::expire::ExpireCollectionOffer;
use crate::offers::expire::{ExpireOffer, ExpireOfferCommand};
use crate::ports::reads::{AwaitingTransfer, ReadModel};
use crate::ports::IdempotencyLog;
use crate::ports::OutboxQueue;
use crate::presales::expire::{ExpirePresale, ExpirePresaleCommand};
use crate::trades::expire::{ExpireTrade, ExpireTradeCommand};
use crate::{Context, Error};

/// When a job last caught up (the deposit watcher with the chain, the gift sync with the
/// business account), shared with whoever shows its lag (the operator console). Per instance.
#[derive(Clone, Debug, Default)]
pub struct JobMark(Arc<Mutex<Option<DateTime<Utc>>>>);

impl JobMark {
    /// When it last caught up, if it has since this process started.
    pub fn get(&self) -> Option<DateTime<Utc>> {
        *self.0.lock().expect("job mark poisoned")
    }

    /// It caught up at `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("job mark poisoned") = Some(at);
    }
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    pub offers_expired: usize,
    pub collection_offers_expired: usize,
    pub auctions_settled: usize,
    pub presales_expired: usize,
    pub trades_expired: usize,
    pub channel_sales_settled: usize,
    pub keys_reaped: u64,
    pub outbox_purged: u64,
    /// The deposit watcher's pass (when TON is configured).
    pub deposits: crate::deposits::watch::WatchReport,
    /// The gift reconciler's pass (when a business connection is configured).
    pub gifts: crate::gifts::sync::GiftSyncReport,
    pub failures: usize,
}

/// How much the jobs do per pass and how long what they clean up is kept.
#[derive(Clone, Copy, Debug)]
pub struct JobSettings {
    /// Most items handled per kind and pass.
    pub batch: u32,
    /// Idempotency keys older than this are forgotten.
    pub key_retention: chrono::Duration,
    /// Delivered outbox rows older than this are forgotten.
    pub outbox_retention: chrono::Duration,
    /// A channel sale awaiting transfer is checked with Telegram at most this often (a sale past
    /// its deadline at once).
    pub channel_check_every: chrono::Duration,
}

pub struct Jobs {
    ctx: Context,
    reads: Arc<dyn ReadModel>,
    keys: Arc<dyn IdempotencyLog>,
    outbox: Arc<dyn OutboxQueue>,
    settings: JobSettings,
    /// When each awaiting channel sale was last checked (business time).
    channel_checked: Mutex<HashMap<ChannelSaleId, DateTime<Utc>>>,
    /// Watches the deposit account on chain, when TON is configured.
    deposits: Option<crate::deposits::watch::DepositWatcher>,
    /// Reconciles the business account's gifts, when a business connection is configured.
    gifts: Option<crate::gifts::sync::GiftSync>,
}

fn note<T>(job: &'static str, r: Result<Option<T>, Error>, done: &mut usize, failures: &mut usize) {
    match r {
        Ok(Some(_)) => {
            *done += 1;
            metrics::counter!("job_items_total", "job" => job).increment(1);
        }
        Ok(None) => {}
        Err(e) => {
            *failures += 1;
            metrics::counter!("job_failures_total", "job" => job).increment(1);
            tracing::error!(job, error = %e, "job item failed; will retry next pass");
        }
    }
}

impl Jobs {
    pub fn new(
        ctx: Context,
        reads: Arc<dyn ReadModel>,
        keys: Arc<dyn IdempotencyLog>,
        outbox: Arc<dyn OutboxQueue>,
        settings: JobSettings,
    ) -> Self {
        Self { ctx, reads, keys, outbox, settings, channel_checked: Mutex::default(), deposits: None, gifts: None }
    }

    /// Also reconciles the business account's gifts, at the sync's own cadence.
    pub fn with_gift_sync(mut self, sync: Option<crate::gifts::sync::GiftSync>) -> Self {
        self.gifts = sync;
        self
    }

    /// Also watches the deposit account on chain each pass.
    pub fn with_deposit_watcher(mut self, watcher: Option<crate::deposits::watch::DepositWatcher>) -> Self {
        self.deposits = watcher;
        self
    }

    /// One pass over every kind of due work.
    pub async fn run_once(&self) -> JobReport {
        let ctx = &self.ctx;
        let now = ctx.services.now();
        let mut report = JobReport::default();
        match self.reads.due_offers(now, self.settings.batch).await {
            Ok(ids) => {
                let uc = ExpireOffer::new(ctx.uows(), ctx.services());
                for offer_id in ids {
                    let r = uc.execute(ExpireOfferCommand { offer_id }).await;
                    note("expire_offers", r, &mut report.offers_expired, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due offers"),
        }
        match self.reads.due_collection_offers(now, self.settings.batch).await {
            Ok(ids) => {
                let uc = ExpireCollectionOffer::new(ctx.uows(), ctx.services());
                for id in ids {
                    let r = uc.execute(id).await;
                    note("expire_collection_offers", r, &mut report.collection_offers_expired, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due collection offers"),
        }
        match self.reads.due_auctions(now, self.settings.batch).await {
            Ok(ids) => {
                let uc = SettleAuction::new(ctx.uows(), ctx.services(), ctx.rules.fees);
                for auction_id in ids {
                    let r = uc.execute(SettleAuctionCommand { auction_id }).await;
                    note("settle_auctions", r, &mut report.auctions_settled, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due auctions"),
        }
        match self.reads.due_presales(now, self.settings.batch).await {
            Ok(ids) => {
                let uc = ExpirePresale::new(ctx.uows(), ctx.services());
                for presale_id in ids {
                    let r = uc.execute(ExpirePresaleCommand { presale_id }).await;
                    note("presale_deadlines", r, &mut report.presales_expired, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due presales"),
        }
        match self.reads.due_trades(now, self.settings.batch).await {
            Ok(ids) => {
                let uc = ExpireTrade::new(ctx.uows(), ctx.services());
                for trade_id in ids {
                    let r = uc.execute(ExpireTradeCommand { trade_id }).await;
                    note("expire_trades", r, &mut report.trades_expired, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due trades"),
        }
        match self.reads.awaiting_channel_sales(self.settings.batch).await {
            Ok(awaiting) => {
                let uc = CheckChannelSale::new(ctx.uows(), ctx.services(), ctx.rules.fees, ctx.channels.clone());
                for sale in awaiting {
                    if !self.channel_check_due(sale, now) {
                        continue;
                    }
                    let r = uc.execute(CheckChannelSaleCommand { sale_id: sale.id }).await;
                    note("check_channel_sales", r, &mut report.channel_sales_settled, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list channel sales awaiting transfer"),
        }
        if let Some(watcher) = &self.deposits {
            report.deposits = watcher.run_once().await;
        }
        if let Some(sync) = &self.gifts {
            report.gifts = sync.run_if_due().await;
        }
        match self.keys.reap(now - self.settings.key_retention).await {
            Ok(n) => report.keys_reaped = n,
            Err(e) => tracing::warn!(error = %e, "cannot reap idempotency keys"),
        }
        match self.outbox.purge_delivered(now - self.settings.outbox_retention, 1_000).await {
            Ok(n) => report.outbox_purged = n,
            Err(e) => tracing::warn!(error = %e, "cannot purge delivered outbox rows"),
        }
        report
    }

    /// Whether `sale` is due a check with Telegram (and notes that it is being checked now):
    /// never checked, not checked for `channel_check_every`, or past its deadline and not
    /// checked since — a sale past its deadline is settled at once, whatever the cadence.
    fn channel_check_due(&self, sale: AwaitingTransfer, now: DateTime<Utc>) -> bool {
        let mut checked = self.channel_checked.lock().expect("job state poisoned");
        if let Some(at) = checked.get(&sale.id) {
            let cadence_due = now - *at >= self.settings.channel_check_every;
            let deadline_due = sale.transfer_by <= now && *at < sale.transfer_by;
            if !cadence_due && !deadline_due {
                return false;
            }
        }
        if checked.len() > 100_000 {
            checked.clear();
        }
        checked.insert(sale.id, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{DateTime, Utc};
    use domain::ports::*;
    use domain::*;

    use super::support::*;
    use super::*;
    use crate::ports::reads::AwaitingTransfer;
    use crate::testing::{accounts_with, any_outbox, balanced_ledger, now, offer, user, FakeTx};

    fn settings() -> JobSettings {
        JobSettings {
            batch: 7,
            key_retention: chrono::Duration::days(1),
            outbox_retention: chrono::Duration::days(7),
            channel_check_every: chrono::Duration::seconds(60),
        }
    }

    struct Setup {
        jobs: Jobs,
        txs: Arc<Txs>,
        reads: Arc<FakeReads>,
        keys: Arc<FakeKeys>,
        queue: Arc<FakeQueue>,
    }

    /// Jobs over `reads`, handing out `txs`; the log reaps 3 keys and the queue purges 4 rows.
    fn setup(reads: FakeReads, txs: Vec<FakeTx>) -> Setup {
        let txs = Txs::new(txs);
        let ctx = context(&txs, &TestClock::new(now()));
        let reads = Arc::new(reads);
        let keys = Arc::new(FakeKeys { reaped: 3, ..Default::default() });
        let queue = Arc::new(FakeQueue { purged: 4, ..Default::default() });
        let jobs = Jobs::new(ctx, reads.clone(), keys.clone(), queue.clone(), settings());
        Setup { jobs, txs, reads, keys, queue }
    }

    fn id(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    fn sale(n: u128, transfer_by: DateTime<Utc>) -> AwaitingTransfer {
        AwaitingTransfer { id: ChannelSaleId(id(n)), transfer_by }
    }

    fn secs(s: i64) -> chrono::Duration {
        chrono::Duration::seconds(s)
    }

    /// A unit of work whose `lock` of the given repository finds nothing: the item fails.
    fn missing(set: impl FnOnce(&mut FakeTx)) -> FakeTx {
        let mut tx = FakeTx::default();
        set(&mut tx);
        tx
    }

    #[test]
    fn note_counts_a_done_item_ignores_nothing_to_do_and_counts_a_failure() {
        let (mut done, mut failures) = (0, 0);
        note("t", Ok(Some(())), &mut done, &mut failures);
        note("t", Ok(Some(())), &mut done, &mut failures);
        assert_eq!((done, failures), (2, 0));
        note::<()>("t", Ok(None), &mut done, &mut failures);
        assert_eq!((done, failures), (2, 0));
        note::<()>("t", Err(Error::NotFound("offer")), &mut done, &mut failures);
        note::<()>("t", Err(Error::NotFound("offer")), &mut done, &mut failures);
        assert_eq!((done, failures), (2, 2));
    }

    #[tokio::test]
    async fn a_pass_expires_a_due_offer_skips_a_live_one_and_counts_a_failed_one() {
        let mut due = offer(2, "10");
        due.expires_at = now();
        let mut expiring = FakeTx::default();
        expiring.offers.expect_lock().times(1).returning(move |_| Ok(Some(due.clone())));
        expiring.offers.expect_update().withf(|o| o.status == OfferStatus::Expired).times(1).returning(|_| Ok(()));
        expiring.accounts = accounts_with(vec![user(2, "0", "10")]);
        expiring.ledger = balanced_ledger();
        expiring.outbox = any_outbox();
        let mut live = FakeTx::default();
        live.offers.expect_lock().times(1).returning(|_| Ok(Some(offer(2, "10"))));
        let gone = missing(|tx| {
            tx.offers.expect_lock().with(mockall::predicate::eq(OfferId(id(3)))).times(1).returning(|_| Ok(None));
        });
        let reads = FakeReads { offers: vec![OfferId(id(1)), OfferId(id(2)), OfferId(id(3))], ..Default::default() };
        let s = setup(reads, vec![expiring, live, gone]);

        let report = s.jobs.run_once().await;
        assert_eq!(
            report,
            JobReport { offers_expired: 1, failures: 1, keys_reaped: 3, outbox_purged: 4, ..Default::default() }
        );
        assert_eq!((s.txs.begun(), s.txs.left()), (3, 0));
    }

    #[tokio::test]
    async fn each_kind_of_due_item_runs_in_its_own_unit_of_work_and_a_failure_holds_none_back() {
        let reads = FakeReads {
            collection_offers: vec![CollectionOfferId(id(5))],
            auctions: vec![AuctionId(id(1))],
            presales: vec![PresaleId(id(2))],
            trades: vec![TradeId(id(3))],
            awaiting: vec![sale(4, now() + secs(3_600))],
            ..Default::default()
        };
        let txs = vec![
            missing(|tx| {
                let five = CollectionOfferId(id(5));
                tx.collection_offers.expect_lock().withf(move |o| *o == five).times(1).returning(|_| Ok(None));
            }),
            missing(|tx| {
                tx.auctions.expect_lock().withf(|a| *a == AuctionId(id(1))).times(1).returning(|_| Ok(None));
            }),
            missing(|tx| {
                tx.presales.expect_lock().withf(|p| *p == PresaleId(id(2))).times(1).returning(|_| Ok(None));
            }),
            missing(|tx| {
                tx.trades.expect_lock().withf(|t| *t == TradeId(id(3))).times(1).returning(|_| Ok(None));
            }),
            missing(|tx| {
                tx.channel_sales.expect_lock().withf(|c| *c == ChannelSaleId(id(4))).times(1).returning(|_| Ok(None));
            }),
        ];
        let s = setup(reads, txs);

        let report = s.jobs.run_once().await;
        assert_eq!(report, JobReport { failures: 5, keys_reaped: 3, outbox_purged: 4, ..Default::default() });
        assert_eq!((s.txs.begun(), s.txs.left()), (5, 0));
        let asked = s.reads.asked.lock().unwrap().clone();
        assert_eq!(
            asked,
            [
                ("offers", Some(now()), 7),
                ("collection_offers", Some(now()), 7),
                ("auctions", Some(now()), 7),
                ("presales", Some(now()), 7),
                ("trades", Some(now()), 7),
                ("channel_sales", None, 7),
            ],
            "every kind, due as of now, a batch at most"
        );
    }

    #[tokio::test]
    async fn a_store_that_cannot_begin_fails_each_item_once_and_the_pass_goes_on() {
        let reads = FakeReads {
            offers: vec![OfferId(id(1)), OfferId(id(2))],
            trades: vec![TradeId(id(3))],
            ..Default::default()
        };
        let s = setup(reads, vec![]);
        let report = s.jobs.run_once().await;
        assert_eq!(report, JobReport { failures: 3, keys_reaped: 3, outbox_purged: 4, ..Default::default() });
        assert_eq!(s.txs.begun(), 3, "a store that is down is not retried within the pass");
    }

    #[tokio::test]
    async fn when_nothing_can_be_read_nothing_is_handled_yet_keys_and_rows_are_still_cleaned_up() {
        let reads = FakeReads { failing: true, offers: vec![OfferId(id(1))], ..Default::default() };
        let s = setup(reads, vec![FakeTx::default()]);
        let report = s.jobs.run_once().await;
        assert_eq!(report, JobReport { keys_reaped: 3, outbox_purged: 4, ..Default::default() });
        assert_eq!(s.txs.begun(), 0);
        assert_eq!(s.reads.asked.lock().unwrap().len(), 6, "every kind was asked for");
    }

    #[tokio::test]
    async fn keys_and_delivered_rows_are_forgotten_past_their_retention() {
        let s = setup(FakeReads::default(), vec![]);
        let report = s.jobs.run_once().await;
        assert_eq!((report.keys_reaped, report.outbox_purged), (3, 4));
        assert_eq!(*s.keys.reaps.lock().unwrap(), [now() - chrono::Duration::days(1)]);
        assert_eq!(*s.queue.purges.lock().unwrap(), [(now() - chrono::Duration::days(7), 1_000)]);
    }

    #[tokio::test]
    async fn a_failed_cleanup_reports_nothing_cleaned_and_no_failure() {
        let txs = Txs::new(vec![]);
        let keys = Arc::new(FakeKeys { failing: true, reaped: 3, ..Default::default() });
        let queue = Arc::new(FakeQueue { unwritable: true, purged: 4, ..Default::default() });
        let jobs = Jobs::new(
            context(&txs, &TestClock::new(now())),
            Arc::new(FakeReads::default()),
            keys.clone(),
            queue.clone(),
            settings(),
        );
        assert_eq!(jobs.run_once().await, JobReport::default());
        assert_eq!((keys.reaps.lock().unwrap().len(), queue.purges.lock().unwrap().len()), (1, 1));
    }

    #[tokio::test]
    async fn the_deposit_watcher_runs_with_the_jobs_and_its_report_is_theirs() {
        let mut indexer = MockChainIndexer::new();
        indexer
            .expect_transactions_after()
            .times(1)
            .returning(|_, _, _| Err(GatewayUnavailable { retry_after: None, reason: "indexer down".into() }));
        let mut cursor = FakeTx::default();
        cursor.chain.expect_lock_cursor().times(1).returning(|_| Ok(None));
        let txs = Txs::new(vec![cursor]);
        let clock = TestClock::new(now());
        let watcher =
            crate::deposits::watch::DepositWatcher::new(context(&txs, &clock), Arc::new(indexer), "0:dep".into());
        let s = setup(FakeReads::default(), vec![]);
        let jobs = s.jobs.with_deposit_watcher(Some(watcher));
        let report = jobs.run_once().await;
        assert_eq!(report.deposits, crate::deposits::watch::WatchReport { failures: 1, ..Default::default() });
        assert_eq!(report.failures, 0, "the watcher's failures are its own");
    }

    #[tokio::test]
    async fn only_the_channel_sales_due_a_check_are_checked() {
        let (checked_now, never_checked) = (sale(1, now() + secs(3_600)), sale(2, now() + secs(3_600)));
        let tx = missing(|tx| {
            tx.channel_sales.expect_lock().withf(|c| *c == ChannelSaleId(id(2))).times(1).returning(|_| Ok(None));
        });
        let reads = FakeReads { awaiting: vec![checked_now, never_checked], ..Default::default() };
        let s = setup(reads, vec![tx]);
        assert!(s.jobs.channel_check_due(checked_now, now()));

        let report = s.jobs.run_once().await;
        assert_eq!(report.failures, 1);
        assert_eq!((s.txs.begun(), s.txs.left()), (1, 0));
        assert!(!s.jobs.channel_check_due(never_checked, now()), "noted as checked by the pass");
    }

    #[test]
    fn a_channel_sale_never_checked_is_due_and_then_not_again_within_the_cadence() {
        let s = setup(FakeReads::default(), vec![]);
        let a = sale(1, now() + secs(3_600));
        assert!(s.jobs.channel_check_due(a, now()));
        assert!(!s.jobs.channel_check_due(a, now()));
        assert!(!s.jobs.channel_check_due(a, now() + secs(59)));
        assert!(s.jobs.channel_check_due(sale(2, now() + secs(3_600)), now()), "each sale has its own");
    }

    #[test]
    fn a_channel_sale_is_due_again_once_the_cadence_has_passed_and_counts_from_then() {
        let s = setup(FakeReads::default(), vec![]);
        let a = sale(1, now() + secs(3_600));
        assert!(s.jobs.channel_check_due(a, now()));
        assert!(!s.jobs.channel_check_due(a, now() + secs(59)));
        assert!(s.jobs.channel_check_due(a, now() + secs(60)), "exactly the cadence");
        assert!(!s.jobs.channel_check_due(a, now() + secs(119)), "the cadence counts from the last check");
        assert!(s.jobs.channel_check_due(a, now() + secs(120)));
    }

    #[test]
    fn a_channel_sale_reaching_its_deadline_is_checked_at_once_and_once() {
        let s = setup(FakeReads::default(), vec![]);
        let a = sale(1, now() + secs(10));
        assert!(s.jobs.channel_check_due(a, now()));
        assert!(!s.jobs.channel_check_due(a, now() + secs(9)), "before its deadline the cadence rules");
        assert!(s.jobs.channel_check_due(a, now() + secs(10)), "at its deadline, whatever the cadence");
        assert!(!s.jobs.channel_check_due(a, now() + secs(10)), "checked at the deadline: not again");
        assert!(!s.jobs.channel_check_due(a, now() + secs(30)), "past it, back to the cadence");
        assert!(s.jobs.channel_check_due(a, now() + secs(70)));
    }

    #[test]
    fn a_sale_first_checked_after_its_deadline_waits_for_the_cadence() {
        let s = setup(FakeReads::default(), vec![]);
        let a = sale(1, now() - secs(10));
        assert!(s.jobs.channel_check_due(a, now()));
        assert!(!s.jobs.channel_check_due(a, now() + secs(1)));
    }

    #[test]
    fn the_memory_of_checks_starts_over_beyond_100_000_sales() {
        let s = setup(FakeReads::default(), vec![]);
        let later = now() + secs(3_600);
        let first = sale(0, later);
        assert!(s.jobs.channel_check_due(first, now()));
        s.jobs.channel_checked.lock().unwrap().extend((1..100_000).map(|n| (ChannelSaleId(id(n)), now())));
        assert!(s.jobs.channel_check_due(sale(100_000, later), now()), "the 100 001st");
        assert!(!s.jobs.channel_check_due(first, now()), "100 000 are kept");
        assert!(s.jobs.channel_check_due(sale(100_001, later), now()));
        assert_eq!(s.jobs.channel_checked.lock().unwrap().len(), 1, "beyond, it starts over");
        assert!(s.jobs.channel_check_due(first, now()), "forgotten");
    }
}

/// Fakes to build a whole [`Context`] on mocks, for the background work's tests (the jobs, the
/// relay, the deposit watcher): a store handing out [`FakeTx`](crate::testing::FakeTx)s that
/// implement every port themselves (as a complete adapter's transactions do), a clock the test
/// moves, a read side with fixed answers, and an outbox queue and an idempotency log that record
/// what they were told.
#[cfg(test)]
pub(crate) mod support {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use domain::idempotency::{IdempotencyKey, KeyClaim};
    use domain::ports::*;
    use domain::*;

    use crate::ports::reads::*;
    use crate::ports::{ClaimedMessage, IdempotencyLog, OutboxQueue};
    use crate::testing::FakeTx;
    use crate::uow::{BeginTransaction, Storage, Transaction};
    use crate::{Context, Rules, Services};

    /// A [`FakeTx`] implementing every repository port by handing each call to its mock.
    pub struct Tx(FakeTx);

    macro_rules! delegate {
        ($($port:ident => $field:ident { $(fn $m:ident($($a:ident: $t:ty),*) -> $r:ty;)* })*) => {$(
            #[async_trait]
            impl $port for Tx {
                $(async fn $m(&mut self $(, $a: $t)*) -> Result<$r, RepoError> {
                    $port::$m(&mut self.0.$field $(, $a)*).await
                })*
            }
        )*};
    }

    delegate! {
        AccountRepo => accounts {
            fn get(id: UserId) -> Option<User>;
            fn lock(ids: &[UserId]) -> Vec<User>;
            fn ensure_locked(id: UserId, username: Option<String>) -> User;
            fn save(user: &User) -> ();
        }
        NftRepo => nfts {
            fn get(id: NftId) -> Option<Nft>;
            fn lock(id: NftId) -> Option<Nft>;
            fn lock_all(ids: &[NftId]) -> Vec<Nft>;
            fn insert(nft: &Nft) -> ();
            fn update(nft: &Nft) -> ();
            fn lock_by_gift_id(gift_id: &str) -> Option<Nft>;
            fn update_custody(nft: &Nft) -> ();
            fn cheapest_listed(criteria: &OfferCriteria, max_price: Money, not_owner: UserId, limit: u32) -> Vec<NftId>;
        }
        CollectionOfferRepo => collection_offers {
            fn lock(id: CollectionOfferId) -> Option<CollectionOffer>;
            fn count_open(user: UserId, now: DateTime<Utc>) -> u32;
            fn best_for(nft: &Nft, not_by: UserId, now: DateTime<Utc>) -> Option<CollectionOffer>;
            fn insert(offer: &CollectionOffer) -> ();
            fn update(offer: &CollectionOffer) -> ();
        }
        GiftInboxRepo => gifts {
            fn claim_update(update_id: i64, at: DateTime<Utc>) -> bool;
            fn insert_unmatched(gift: &UnmatchedGift) -> bool;
            fn lock_unmatched(id: UnmatchedGiftId) -> Option<UnmatchedGift>;
            fn update_unmatched(gift: &UnmatchedGift) -> ();
            fn replace_missing(gift_ids: &[String], at: DateTime<Utc>) -> ();
        }
        SaleRepo => sales {
            fn lock_sale(nft: NftId, buyer: UserId) -> Option<SaleLocks>;
        }
        OfferRepo => offers {
            fn get(id: OfferId) -> Option<Offer>;
            fn lock(id: OfferId) -> Option<Offer>;
            fn lock_open_by(nft: NftId, offerer: UserId) -> Option<Offer>;
            fn lock_open_for_nft(nft: NftId) -> Vec<Offer>;
            fn lock_open_by_on(offerer: UserId, nfts: &[NftId]) -> Vec<Offer>;
            fn insert(offer: &Offer) -> ();
            fn update(offer: &Offer) -> ();
        }
        AuctionRepo => auctions {
            fn lock(id: AuctionId) -> Option<Auction>;
            fn insert(auction: &Auction) -> ();
            fn update(auction: &Auction) -> ();
            fn insert_bid(bid: &Bid) -> ();
        }
        TradeRepo => trades {
            fn lock(id: TradeId) -> Option<Trade>;
            fn insert(trade: &Trade) -> ();
            fn update(trade: &Trade) -> ();
            fn count_live_by_maker(maker: UserId, now: DateTime<Utc>) -> u32;
        }
        ChannelSaleRepo => channel_sales {
            fn lock(id: ChannelSaleId) -> Option<ChannelSale>;
            fn insert(sale: &ChannelSale) -> ();
            fn update(sale: &ChannelSale) -> ();
        }
        PresaleRepo => presales {
            fn lock(id: PresaleId) -> Option<Presale>;
            fn insert(presale: &Presale) -> ();
            fn update(presale: &Presale) -> ();
        }
        WithdrawalRepo => withdrawals {
            fn lock(id: WithdrawalId) -> Option<Withdrawal>;
            fn insert(withdrawal: &Withdrawal) -> ();
            fn update(withdrawal: &Withdrawal) -> ();
        }
        LedgerRepo => ledger {
            fn append(entries: &[LedgerEntry]) -> ();
        }
        OutboxRepo => outbox {
            fn enqueue(message: &OutboxMessage) -> ();
        }
        DepositRepo => deposits {
            fn find_by_tx_hash(tx_hash: &str) -> Option<Deposit>;
            fn insert(deposit: &Deposit) -> ();
        }
        ChainRepo => chain {
            fn memo_of(user: UserId) -> Option<String>;
            fn insert_memo(user: UserId, memo: &str) -> ();
            fn user_by_memo(memo: &str) -> Option<UserId>;
            fn lock_cursor(account: &str) -> Option<ChainCursor>;
            fn save_cursor(account: &str, cursor: &ChainCursor) -> ();
        }
        UnmatchedDepositRepo => unmatched {
            fn insert(deposit: &UnmatchedDeposit) -> bool;
            fn lock(id: UnmatchedDepositId) -> Option<UnmatchedDeposit>;
            fn update(deposit: &UnmatchedDeposit) -> ();
        }
        EventRepo => events {
            fn append(events: &[MarketEvent]) -> ();
        }
        StaffActionRepo => staff_actions {
            fn record(action: &StaffAction) -> ();
        }
        ClientRepo => clients {
            fn insert(client: &Client) -> ();
        }
        ManagerRepo => managers {
            fn get_for_share(id: ManagerId) -> Option<Manager>;
            fn insert(manager: &Manager) -> ();
        }
        ManagerBindRepo => manager_binds {
            fn insert(bind: &ManagerBind) -> ();
        }
        IdempotencyRepo => idempotency {
            fn claim(key: &IdempotencyKey, now: DateTime<Utc>) -> KeyClaim;
        }
    }

    #[async_trait]
    impl Transaction for Tx {
        async fn commit(self) -> Result<(), RepoError> {
            self.0.commit().await
        }

        async fn rollback(self) {
            self.0.rollback().await
        }
    }

    /// Hands out its transactions in order (market events accepted); once they ran out, `begin`
    /// fails as an unreachable store does.
    #[derive(Default)]
    pub struct Txs {
        queue: Mutex<VecDeque<FakeTx>>,
        begun: AtomicUsize,
    }

    impl Txs {
        pub fn new(txs: Vec<FakeTx>) -> Arc<Self> {
            let queue = txs
                .into_iter()
                .map(|mut tx| {
                    tx.events.expect_append().returning(|_| Ok(()));
                    tx
                })
                .collect();
            Arc::new(Self { queue: Mutex::new(queue), begun: AtomicUsize::new(0) })
        }

        /// Units of Work begun (failed ones included).
        pub fn begun(&self) -> usize {
            self.begun.load(Ordering::SeqCst)
        }

        /// Transactions not handed out yet.
        pub fn left(&self) -> usize {
            self.queue.lock().unwrap().len()
        }
    }

    struct Shared(Arc<Txs>);

    #[async_trait]
    impl BeginTransaction for Shared {
        type Tx = Tx;

        async fn begin(&self, _use_case: &'static str) -> Result<Tx, RepoError> {
            self.0.begun.fetch_add(1, Ordering::SeqCst);
            let next = self.0.queue.lock().unwrap().pop_front();
            next.map(|tx| Tx(tx.begun())).ok_or_else(|| RepoError::Unavailable("no unit of work left".into()))
        }
    }

    /// Time the test sets; sleeping returns at once.
    pub struct TestClock(Mutex<DateTime<Utc>>);

    impl TestClock {
        pub fn new(at: DateTime<Utc>) -> Arc<Self> {
            Arc::new(Self(Mutex::new(at)))
        }

        pub fn set(&self, at: DateTime<Utc>) {
            *self.0.lock().unwrap() = at;
        }
    }

    #[async_trait]
    impl Clock for TestClock {
        fn now(&self) -> DateTime<Utc> {
            *self.0.lock().unwrap()
        }

        async fn sleep(&self, _: Duration) {}
    }

    /// A context on `txs`, at `clock`'s time, with a channel directory nobody may ask.
    pub fn context(txs: &Arc<Txs>, clock: &Arc<TestClock>) -> Context {
        context_with(txs, clock, Arc::new(MockChannelDirectory::new()))
    }

    pub fn context_with(txs: &Arc<Txs>, clock: &Arc<TestClock>, channels: Arc<dyn ChannelDirectory>) -> Context {
        Context {
            storage: Arc::new(Storage::new(Shared(txs.clone()))),
            services: Services { clock: clock.clone(), ..crate::testing::services() },
            rules: Rules::default(),
            channels,
        }
    }

    /// A list read: which, as of when (`None`: no time given), how many at most.
    pub type Asked = (&'static str, Option<DateTime<Utc>>, u32);
    /// `claim`'s arguments: now, limit, lease until.
    pub type Claim = (DateTime<Utc>, u32, DateTime<Utc>);
    /// `delivered`'s: the rows and their attempts, now.
    pub type Delivered = (Vec<(OutboxId, u32)>, DateTime<Utc>);
    /// `retry_at`'s: the row, its attempts, when, why.
    pub type Retried = (OutboxId, u32, DateTime<Utc>, String);
    /// `give_up`'s: the row, its attempts, why, now.
    pub type GivenUp = (OutboxId, u32, String, DateTime<Utc>);

    /// A read side with fixed answers: the due lists (all failing when `failing`), the channel
    /// sales awaiting transfer and one withdrawal. Records what the jobs asked for.
    #[derive(Default)]
    pub struct FakeReads {
        pub failing: bool,
        pub offers: Vec<OfferId>,
        pub collection_offers: Vec<CollectionOfferId>,
        pub auctions: Vec<AuctionId>,
        pub presales: Vec<PresaleId>,
        pub trades: Vec<TradeId>,
        pub awaiting: Vec<AwaitingTransfer>,
        /// `Err`: the read fails.
        pub withdrawal: Option<Result<Option<Withdrawal>, RepoError>>,
        pub asked: Mutex<Vec<Asked>>,
    }

    impl FakeReads {
        fn due<T: Clone>(
            &self,
            what: &'static str,
            now: Option<DateTime<Utc>>,
            limit: u32,
            items: &[T],
        ) -> Result<Vec<T>, RepoError> {
            self.asked.lock().unwrap().push((what, now, limit));
            if self.failing {
                return Err(RepoError::Unavailable("reads down".into()));
            }
            Ok(items.to_vec())
        }
    }

    #[async_trait]
    impl UserReads for FakeReads {
        async fn user(&self, _: UserId) -> Result<Option<User>, RepoError> {
            unimplemented!()
        }
        async fn ledger(&self, _: UserId, _: PageRequest) -> Result<Page<LedgerEntry>, RepoError> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl WithdrawalReads for FakeReads {
        async fn withdrawals(&self, _: UserId, _: PageRequest) -> Result<Page<Withdrawal>, RepoError> {
            unimplemented!()
        }
        async fn withdrawal(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError> {
            self.withdrawal.clone().expect("no withdrawal read expected").map(|w| w.filter(|w| w.id == id))
        }
        async fn withdrawals_in(&self, _: WithdrawalStatus, _: PageRequest) -> Result<Page<Withdrawal>, RepoError> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl DeskReads for FakeReads {
        async fn desk_backlog(&self) -> Result<DeskBacklog, RepoError> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl DepositReads for FakeReads {
        async fn unmatched_deposits(&self, _: PageRequest) -> Result<Page<UnmatchedDeposit>, RepoError> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl GiftReads for FakeReads {
        async fn unmatched_gifts(&self, _: PageRequest) -> Result<Page<UnmatchedGift>, RepoError> {
            unimplemented!()
        }
        async fn gifts_in_custody(&self, _: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl StoreHealth for FakeReads {
        async fn audit_facts(&self) -> Result<AuditFacts, RepoError> {
            unimplemented!()
        }
        async fn ping(&self) -> Result<(), RepoError> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl TradeReads for FakeReads {
        async fn trades(&self, _: &TradeFilter, _: PageRequest) -> Result<Page<Trade>, RepoError> {
            unimplemented!()
        }
        async fn trade(&self, _: TradeId) -> Result<Option<Trade>, RepoError> {
            unimplemented!()
        }
        async fn due_trades(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<TradeId>, RepoError> {
            self.due("trades", Some(now), limit, &self.trades)
        }
    }

    #[async_trait]
    impl ChannelReads for FakeReads {
        async fn channel_sales(&self, _: &ChannelFilter, _: PageRequest) -> Result<Page<ChannelSale>, RepoError> {
            unimplemented!()
        }
        async fn channel_sale(&self, _: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError> {
            unimplemented!()
        }
        async fn channel_sales_in(&self, _: ChannelSaleStatus, _: PageRequest) -> Result<Page<ChannelSale>, RepoError> {
            unimplemented!()
        }
        async fn awaiting_channel_sales(&self, limit: u32) -> Result<Vec<AwaitingTransfer>, RepoError> {
            self.due("channel_sales", None, limit, &self.awaiting)
        }
    }

    #[async_trait]
    impl NftReads for FakeReads {
        async fn nfts(&self, _: &NftQuery) -> Result<Page<Nft>, RepoError> {
            unimplemented!()
        }
        async fn nft(&self, _: NftId) -> Result<Option<Nft>, RepoError> {
            unimplemented!()
        }
        async fn attribute_panel(&self, _: &str) -> Result<Option<AttributePanel>, RepoError> {
            unimplemented!()
        }
        async fn portfolio(&self, _: UserId) -> Result<Portfolio, RepoError> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl AuctionReads for FakeReads {
        async fn auctions(&self, _: &AuctionFilter, _: PageRequest) -> Result<Page<Auction>, RepoError> {
            unimplemented!()
        }
        async fn auction(&self, _: AuctionId) -> Result<Option<(Auction, Vec<Bid>)>, RepoError> {
            unimplemented!()
        }
        async fn due_auctions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AuctionId>, RepoError> {
            self.due("auctions", Some(now), limit, &self.auctions)
        }
    }

    #[async_trait]
    impl OfferReads for FakeReads {
        async fn offers(&self, _: &OfferFilter, _: PageRequest) -> Result<Page<Offer>, RepoError> {
            unimplemented!()
        }
        async fn offer(&self, _: OfferId) -> Result<Option<Offer>, RepoError> {
            unimplemented!()
        }
        async fn due_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OfferId>, RepoError> {
            self.due("offers", Some(now), limit, &self.offers)
        }
    }

    #[async_trait]
    impl CollectionOfferReads for FakeReads {
        async fn collection_offer_book(
            &self,
            _: &BookFilter,
            _: Option<&BookCursor>,
            _: u32,
            _: DateTime<Utc>,
        ) -> Result<Page<CollectionOffer>, RepoError> {
            unimplemented!()
        }
        async fn collection_offers_of(&self, _: UserId, _: PageRequest) -> Result<Page<CollectionOffer>, RepoError> {
            unimplemented!()
        }
        async fn collection_offer(&self, _: CollectionOfferId) -> Result<Option<CollectionOffer>, RepoError> {
            unimplemented!()
        }
        async fn due_collection_offers(
            &self,
            now: DateTime<Utc>,
            limit: u32,
        ) -> Result<Vec<CollectionOfferId>, RepoError> {
            self.due("collection_offers", Some(now), limit, &self.collection_offers)
        }
    }

    #[async_trait]
    impl PresaleReads for FakeReads {
        async fn presales(&self, _: &PresaleFilter, _: PageRequest) -> Result<Page<Presale>, RepoError> {
            unimplemented!()
        }
        async fn presale(&self, _: PresaleId) -> Result<Option<Presale>, RepoError> {
            unimplemented!()
        }
        async fn due_presales(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PresaleId>, RepoError> {
            self.due("presales", Some(now), limit, &self.presales)
        }
    }

    #[async_trait]
    impl PartnerReads for FakeReads {
        async fn client(&self, _: ClientId) -> Result<Option<ClientView>, RepoError> {
            unimplemented!()
        }
        async fn manager_clients(&self, _: ManagerId) -> Result<Option<Vec<(ManagerBind, Client)>>, RepoError> {
            unimplemented!()
        }
    }

    #[async_trait]
    impl ActivityReads for FakeReads {
        async fn activity(&self, _: &ActivityFilter, _: PageRequest) -> Result<Page<MarketEvent>, RepoError> {
            unimplemented!()
        }
        async fn events_after(&self, _: uuid::Uuid, _: &StreamScope, _: u32) -> Result<Vec<MarketEvent>, RepoError> {
            unimplemented!()
        }
        async fn ledger_after(&self, _: uuid::Uuid, _: &[UserId], _: u32) -> Result<Vec<LedgerEntry>, RepoError> {
            unimplemented!()
        }
        async fn collections(&self, _: Option<&str>, _: u32) -> Result<Vec<String>, RepoError> {
            unimplemented!()
        }
        async fn collection_stats(&self, _: &str, _: DateTime<Utc>) -> Result<Option<CollectionStats>, RepoError> {
            unimplemented!()
        }
        async fn collection_history(
            &self,
            _: &str,
            _: Interval,
            _: DateTime<Utc>,
        ) -> Result<Vec<PricePoint>, RepoError> {
            unimplemented!()
        }
    }

    /// The outbox queue: hands out its rows once, records what the relay says of each.
    #[derive(Default)]
    pub struct FakeQueue {
        pub rows: Mutex<Vec<ClaimedMessage>>,
        /// `claim` fails.
        pub unclaimable: bool,
        /// `retry_at`, `give_up` and `delivered` fail (the relay goes on).
        pub unwritable: bool,
        pub backlog_reads: AtomicUsize,
        pub claims: Mutex<Vec<Claim>>,
        pub delivered: Mutex<Vec<Delivered>>,
        pub retried: Mutex<Vec<Retried>>,
        pub given_up: Mutex<Vec<GivenUp>>,
        /// `purge_delivered`'s arguments, and how many it says it forgot.
        pub purges: Mutex<Vec<(DateTime<Utc>, u32)>>,
        pub purged: u64,
    }

    impl FakeQueue {
        fn written(&self) -> Result<(), RepoError> {
            if self.unwritable {
                return Err(RepoError::Unavailable("queue down".into()));
            }
            Ok(())
        }
    }

    #[async_trait]
    impl OutboxQueue for FakeQueue {
        async fn claim(
            &self,
            now: DateTime<Utc>,
            limit: u32,
            lease_until: DateTime<Utc>,
        ) -> Result<Vec<ClaimedMessage>, RepoError> {
            self.claims.lock().unwrap().push((now, limit, lease_until));
            if self.unclaimable {
                return Err(RepoError::Unavailable("queue down".into()));
            }
            Ok(std::mem::take(&mut *self.rows.lock().unwrap()))
        }

        async fn delivered(&self, rows: &[(OutboxId, u32)], now: DateTime<Utc>) -> Result<(), RepoError> {
            self.delivered.lock().unwrap().push((rows.to_vec(), now));
            self.written()
        }

        async fn retry_at(&self, id: OutboxId, attempts: u32, at: DateTime<Utc>, error: &str) -> Result<(), RepoError> {
            self.retried.lock().unwrap().push((id, attempts, at, error.to_string()));
            self.written()
        }

        async fn give_up(&self, id: OutboxId, attempts: u32, error: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
            self.given_up.lock().unwrap().push((id, attempts, error.to_string(), now));
            self.written()
        }

        async fn backlog(&self) -> Result<u64, RepoError> {
            self.backlog_reads.fetch_add(1, Ordering::SeqCst);
            if self.unclaimable {
                return Err(RepoError::Unavailable("queue down".into()));
            }
            Ok(7)
        }

        async fn purge_delivered(&self, before: DateTime<Utc>, limit: u32) -> Result<u64, RepoError> {
            self.purges.lock().unwrap().push((before, limit));
            if self.unwritable {
                return Err(RepoError::Unavailable("queue down".into()));
            }
            Ok(self.purged)
        }
    }

    /// The idempotency log: reaps `reaped` keys (or fails), records before when.
    #[derive(Default)]
    pub struct FakeKeys {
        pub failing: bool,
        pub reaped: u64,
        pub reaps: Mutex<Vec<DateTime<Utc>>>,
    }

    #[async_trait]
    impl IdempotencyLog for FakeKeys {
        async fn save_response(&self, _: &IdempotencyKey, _: u16, _: &[u8]) -> Result<(), RepoError> {
            unimplemented!("the jobs store no responses")
        }

        async fn reap(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
            self.reaps.lock().unwrap().push(before);
            if self.failing {
                return Err(RepoError::Unavailable("keys down".into()));
            }
            Ok(self.reaped)
        }
    }
}
