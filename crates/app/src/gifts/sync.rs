//! The reconciler (SPEC §5b): pages the business account's gifts and takes in what the webhook
//! missed; compares the account with what custody says it holds.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use domain::ports::{GiftInboxRepo, GiftInventory};

use super::receive::{ReceiveGift, ReceiveGiftCommand, Received};
use super::Custody;
use crate::jobs::JobMark;
use crate::ports::reads::GiftReads;
use crate::uow::Uows;
use crate::{Context, Error};

const NAME: &str = "record_gift_custody";

/// Pages asked in one pass at most (100 gifts each).
const MAX_PAGES: usize = 1_000;

crate::define_uow!(
    /// The gifts found missing from the account.
    RecordGiftCustodyUow { gifts: GiftInboxRepo }
);

/// What one reconciliation pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GiftSyncReport {
    /// Whether a pass ran (the cadence decides).
    pub ran: bool,
    pub seen: usize,
    pub registered: usize,
    pub came_back: usize,
    /// Newly kept for staff.
    pub unmatched: usize,
    pub unreadable: usize,
    /// NFTs in custody the account does not list (only after a complete pass).
    pub missing: Vec<String>,
    /// Telegram or the store failed: the pass stopped (the next one starts over).
    pub failures: usize,
}

/// Reconciles the business account with custody every `every`. Safe on several instances: each
/// gift is taken in once whoever sees it first.
pub struct GiftSync {
    ctx: Context,
    inventory: Arc<dyn GiftInventory>,
    reads: Arc<dyn GiftReads>,
    every: chrono::Duration,
    last_started: Mutex<Option<DateTime<Utc>>>,
    completed_at: JobMark,
}

impl GiftSync {
    pub fn new(
        ctx: Context,
        inventory: Arc<dyn GiftInventory>,
        reads: Arc<dyn GiftReads>,
        every: chrono::Duration,
    ) -> Self {
        Self { ctx, inventory, reads, every, last_started: Mutex::default(), completed_at: JobMark::default() }
    }

    /// When a pass last read the whole account.
    pub fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at.get()
    }

    /// When a pass last read the whole account, as it moves (for the operator console).
    pub fn mark(&self) -> JobMark {
        self.completed_at.clone()
    }

    /// Runs a pass when one is due (never run, or `every` since the last one started).
    pub async fn run_if_due(&self) -> GiftSyncReport {
        let now = self.ctx.services.now();
        {
            let mut last = self.last_started.lock().expect("sync state poisoned");
            if last.is_some_and(|at| now - at < self.every) {
                self.record_lag(now);
                return GiftSyncReport::default();
            }
            *last = Some(now);
        }
        self.run_once().await
    }

    /// Pages every gift of the account (the webhook's misses registered or kept for staff),
    /// then, when the whole account was read, records which NFTs in custody it does not hold.
    pub async fn run_once(&self) -> GiftSyncReport {
        let started = self.ctx.services.now();
        let mut report = GiftSyncReport { ran: true, ..Default::default() };
        let receive = ReceiveGift::new(self.ctx.uows(), self.ctx.services());
        let mut seen = HashSet::new();
        let mut offset = String::new();
        let mut complete = false;
        for _ in 0..MAX_PAGES {
            let page = match self.inventory.owned_gifts(&offset).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(reason = %e.reason, "gift sync: Telegram cannot list the gifts now; next pass");
                    metrics::counter!("gift_sync_failures_total").increment(1);
                    report.failures += 1;
                    break;
                }
            };
            for why in &page.unreadable {
                tracing::warn!(%why, "gift sync: a gift on the account cannot be read");
            }
            report.unreadable += page.unreadable.len();
            metrics::counter!("gifts_unreadable_total").increment(page.unreadable.len() as u64);
            for owned in page.gifts {
                report.seen += 1;
                seen.insert(owned.gift.gift_id.clone());
                let cmd = ReceiveGiftCommand { update_id: None, sender: owned.sender, gift: owned.gift };
                match receive.execute(cmd).await {
                    Ok(Received::Custody(Custody::Registered(_))) => report.registered += 1,
                    Ok(Received::Custody(Custody::CameBack(_))) => report.came_back += 1,
                    Ok(Received::Custody(Custody::Unmatched(_, true))) => report.unmatched += 1,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "gift sync: a gift could not be taken in; next pass");
                        report.failures += 1;
                    }
                }
            }
            match page.next_offset.filter(|o| !o.is_empty()) {
                Some(next) => offset = next,
                None => {
                    complete = true;
                    break;
                }
            }
        }
        if complete && report.failures == 0 {
            match self.check_custody(&seen, started).await {
                Ok(missing) => {
                    self.completed_at.set(started);
                    report.missing = missing;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "gift sync: custody could not be compared");
                    report.failures += 1;
                }
            }
        }
        self.record_lag(self.ctx.services.now());
        report
    }

    /// NFTs registered before the pass started that the account did not list, recorded for
    /// `audit` (replacing the last pass's) and counted in a metric.
    async fn check_custody(&self, seen: &HashSet<String>, started: DateTime<Utc>) -> Result<Vec<String>, Error> {
        let mut missing: Vec<String> =
            self.reads.gifts_in_custody(started).await?.into_iter().filter(|g| !seen.contains(g)).collect();
        missing.sort();
        let uows: Uows<dyn RecordGiftCustodyUow> = self.ctx.uows();
        let services = self.ctx.services();
        services
            .run(NAME, || async {
                let mut uow = uows.begin(NAME).await?;
                let done = uow.gifts().replace_missing(&missing, started).await.map_err(Error::from);
                crate::uow::finish(uow, done).await
            })
            .await?;
        metrics::gauge!("gift_custody_mismatches").set(missing.len() as f64);
        if !missing.is_empty() {
            tracing::warn!(?missing, "gift sync: NFTs in custody that the business account does not hold");
        }
        Ok(missing)
    }

    fn record_lag(&self, now: DateTime<Utc>) {
        if let Some(at) = self.completed_at() {
            metrics::gauge!("gift_sync_lag_seconds").set((now - at).num_seconds() as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gifts::fixtures::*;
    use crate::jobs::support::*;
    use crate::testing::*;
    use async_trait::async_trait;
    use domain::ports::{GatewayUnavailable, MockGiftInventory, OwnedGift, OwnedGiftsPage};
    use domain::*;
    use mockall::predicate::eq;
    use mockall::Sequence;

    /// Custody as the read side shows it: these gifts, registered before any pass.
    struct Held(Vec<&'static str>);

    #[async_trait]
    impl GiftReads for Held {
        async fn unmatched_gifts(
            &self,
            _: crate::ports::reads::PageRequest,
        ) -> Result<crate::ports::reads::Page<UnmatchedGift>, RepoError> {
            unimplemented!()
        }
        async fn gifts_in_custody(&self, _: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
            Ok(self.0.iter().map(|g| g.to_string()).collect())
        }
    }

    fn page(gifts: Vec<OwnedGift>, next: Option<&str>) -> OwnedGiftsPage {
        OwnedGiftsPage {
            gifts,
            unreadable: vec!["one without owned_gift_id".into()],
            next_offset: next.map(Into::into),
        }
    }

    /// Two pages: a new gift with its sender and an anonymous one; then a gift held already.
    fn two_pages(inventory: &mut MockGiftInventory, second: Result<OwnedGiftsPage, GatewayUnavailable>) {
        let mut order = Sequence::new();
        let first = page(
            vec![
                OwnedGift { sender: Some(SENDER), gift: gift("new-1", "1") },
                OwnedGift { sender: None, gift: gift("anonymous-2", "2") },
            ],
            Some("page-2"),
        );
        inventory.expect_owned_gifts().with(eq("")).times(1).in_sequence(&mut order).return_once(move |_| Ok(first));
        inventory.expect_owned_gifts().with(eq("page-2")).times(1).in_sequence(&mut order).return_once(move |_| second);
    }

    fn registering() -> FakeTx {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock_by_gift_id().with(eq("new-1")).returning(|_| Ok(None));
        tx.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
        tx.nfts.expect_insert().withf(|n| n.gift_id == "new-1" && n.owner_id == SENDER).times(1).returning(|_| Ok(()));
        tx.outbox.expect_enqueue().times(1).returning(|_| Ok(()));
        tx
    }

    fn keeping() -> FakeTx {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock_by_gift_id().with(eq("anonymous-2")).returning(|_| Ok(None));
        tx.gifts
            .expect_insert_unmatched()
            .withf(|g| g.gift.gift_id == "anonymous-2" && g.reason == UnmatchedReason::UnknownSender)
            .times(1)
            .returning(|_| Ok(true));
        tx
    }

    fn held(slug: &'static str) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock_by_gift_id().with(eq(slug)).returning(|_| Ok(Some(nft(3, None))));
        tx
    }

    #[tokio::test]
    async fn a_pass_takes_in_what_the_webhook_missed_and_records_what_the_account_lacks() {
        let mut inventory = MockGiftInventory::new();
        two_pages(&mut inventory, Ok(page(vec![OwnedGift { sender: Some(SENDER), gift: gift("held-3", "3") }], None)));
        let mut record = FakeTx::default();
        record
            .gifts
            .expect_replace_missing()
            .withf(|ids, _| ids == ["lost-4".to_string(), "lost-5".to_string()])
            .times(1)
            .returning(|_, _| Ok(()));
        let txs = Txs::new(vec![registering(), keeping(), held("held-3"), record]);
        let clock = TestClock::new(now());
        let reads = Arc::new(Held(vec!["lost-5", "held-3", "new-1", "lost-4"]));
        let sync = GiftSync::new(context(&txs, &clock), Arc::new(inventory), reads, chrono::Duration::seconds(60));

        let report = sync.run_once().await;

        assert_eq!(
            report,
            GiftSyncReport {
                ran: true,
                seen: 3,
                registered: 1,
                came_back: 0,
                unmatched: 1,
                unreadable: 2,
                missing: vec!["lost-4".into(), "lost-5".into()],
                failures: 0,
            }
        );
        assert_eq!(txs.left(), 0);
        assert_eq!(sync.completed_at(), Some(now()));
    }

    #[tokio::test]
    async fn telegram_failing_midway_stops_the_pass_without_judging_custody() {
        let mut inventory = MockGiftInventory::new();
        two_pages(&mut inventory, Err(GatewayUnavailable { retry_after: None, reason: "502".into() }));
        let txs = Txs::new(vec![registering(), keeping()]);
        let clock = TestClock::new(now());
        let sync = GiftSync::new(
            context(&txs, &clock),
            Arc::new(inventory),
            Arc::new(Held(vec!["lost-4"])),
            chrono::Duration::seconds(60),
        );

        let report = sync.run_once().await;

        assert_eq!((report.registered, report.unmatched, report.failures), (1, 1, 1));
        assert!(report.missing.is_empty(), "half a list proves nothing missing");
        assert_eq!(txs.begun(), 2, "no custody record written");
        assert_eq!(sync.completed_at(), None);
    }

    /// Custody the read side cannot show.
    struct Unreadable;

    #[async_trait]
    impl GiftReads for Unreadable {
        async fn unmatched_gifts(
            &self,
            _: crate::ports::reads::PageRequest,
        ) -> Result<crate::ports::reads::Page<UnmatchedGift>, RepoError> {
            unimplemented!()
        }
        async fn gifts_in_custody(&self, _: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
            Err(RepoError::Unavailable("down".into()))
        }
    }

    #[tokio::test]
    async fn a_gift_that_came_back_is_counted_and_one_that_failed_stops_the_custody_check() {
        let mut inventory = MockGiftInventory::new();
        let gifts = vec![
            OwnedGift { sender: Some(SENDER), gift: gift("back-1", "11") },
            OwnedGift { sender: Some(SENDER), gift: gift("broken-2", "12") },
            OwnedGift { sender: Some(SENDER), gift: gift("back-3", "13") },
        ];
        inventory.expect_owned_gifts().times(1).return_once(move |_| Ok(page(gifts, None)));
        let came_back = |slug: &'static str| {
            let mut tx = FakeTx::default();
            let mut gone = nft(3, None);
            gone.status = NftStatus::Withdrawn;
            tx.nfts.expect_lock_by_gift_id().with(eq(slug)).returning(move |_| Ok(Some(gone.clone())));
            tx.accounts.expect_ensure_locked().returning(|id, _| Ok(User::new(id, None)));
            tx.nfts.expect_update_custody().times(1).returning(|_| Ok(()));
            tx.outbox.expect_enqueue().times(1).returning(|_| Ok(()));
            tx
        };
        let mut broken = FakeTx::default();
        broken.nfts.expect_lock_by_gift_id().returning(|_| Err(RepoError::Other("corrupt row".into())));
        let txs = Txs::new(vec![came_back("back-1"), broken, came_back("back-3")]);
        let clock = TestClock::new(now());
        let reads = Arc::new(Held(vec!["lost-4"]));
        let sync = GiftSync::new(context(&txs, &clock), Arc::new(inventory), reads, chrono::Duration::seconds(60));

        let report = sync.run_once().await;

        assert_eq!((report.seen, report.came_back, report.failures), (3, 2, 1), "{report:?}");
        assert!(report.missing.is_empty(), "a pass with a failure judges nothing missing");
        assert_eq!(txs.begun(), 3, "no custody record written");
        assert_eq!(sync.completed_at(), None);
    }

    #[tokio::test]
    async fn custody_that_cannot_be_read_is_a_failure_of_the_pass() {
        let mut inventory = MockGiftInventory::new();
        inventory.expect_owned_gifts().times(1).returning(|_| Ok(OwnedGiftsPage::default()));
        let txs = Txs::new(vec![]);
        let clock = TestClock::new(now());
        let sync = GiftSync::new(
            context(&txs, &clock),
            Arc::new(inventory),
            Arc::new(Unreadable),
            chrono::Duration::seconds(60),
        );

        let report = sync.run_once().await;

        assert_eq!(report.failures, 1);
        assert_eq!(sync.completed_at(), None);
    }

    #[tokio::test]
    async fn passes_run_at_their_cadence() {
        let mut inventory = MockGiftInventory::new();
        inventory.expect_owned_gifts().times(2).returning(|_| Ok(OwnedGiftsPage::default()));
        let mut records = Vec::new();
        for _ in 0..2 {
            let mut tx = FakeTx::default();
            tx.gifts.expect_replace_missing().times(1).returning(|_, _| Ok(()));
            records.push(tx);
        }
        let txs = Txs::new(records);
        let clock = TestClock::new(now());
        let sync = GiftSync::new(
            context(&txs, &clock),
            Arc::new(inventory),
            Arc::new(Held(vec![])),
            chrono::Duration::seconds(60),
        );

        assert!(sync.run_if_due().await.ran, "never run: due");
        clock.set(now() + chrono::Duration::seconds(59));
        assert!(!sync.run_if_due().await.ran, "59 s later: not due");
        clock.set(now() + chrono::Duration::seconds(60));
        assert!(sync.run_if_due().await.ran, "60 s later: due");
        assert_eq!(txs.left(), 0);
    }
}
