//! The outbox relay: delivers what Units of Work wrote to the outbox, after they committed.
//!
//! Rows are claimed for a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several relays split
//! the work), delivered with no transaction open, then marked delivered, rescheduled with capped
//! exponential backoff and full jitter (never sooner than a `retry_after` the receiver asked for),
//! or given up after `max_attempts` with a metric and an error log. Delivery is at least once;
//! receivers deduplicate by message or withdrawal id.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::*;
use domain::*;

use crate::nfts::record_gift_return::{RecordGiftReturn, RecordGiftReturnCommand};
use crate::ports::reads::ReadModel;
use crate::ports::{ClaimedMessage, OutboxQueue};
use crate::withdrawals::record_payout::{PayoutOutcome, RecordPayout, RecordPayoutCommand};
use crate::Context;

#[derive(Clone, Debug)]
pub struct RelayPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub lease: Duration,
    pub batch: u32,
}

impl Default for RelayPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            // Rows of a batch are delivered one after another: the lease must outlast a batch of
            // timed-out calls (10 × 10 s) or another relay would take rows still in flight.
            lease: Duration::from_secs(300),
            batch: 10,
        }
    }
}

impl RelayPolicy {
    /// Full jitter over `min(max_delay, base × 2^attempt)`, but never below `at_least`.
    pub fn delay(&self, attempt: u32, at_least: Option<Duration>) -> Duration {
        let ceiling =
            self.base_delay.saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX)).min(self.max_delay);
        ceiling.mul_f64(fastrand::f64()).max(at_least.unwrap_or_default())
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayReport {
    /// Rows claimed: a full batch means more may be due at once.
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub gave_up: usize,
    /// Not deliverable yet (a gift Telegram still locks, Stars short): asked again later.
    pub waiting: usize,
}

enum Step {
    Done,
    Retry(Option<Duration>, String),
    Fail(String),
    /// Not deliverable yet (the receiver says when): asked again then, no attempt used up.
    Wait(Duration, String),
}

/// Where the relay delivers each kind of message.
#[derive(Clone)]
pub struct Receivers {
    pub notifier: Arc<dyn Notifier>,
    pub gifts: Arc<dyn GiftTransfer>,
    pub payouts: Arc<dyn PayoutGateway>,
}

pub struct Relay {
    ctx: Context,
    /// When the backlog gauge was last read (milliseconds since the epoch): once a second is
    /// enough, and counting a long backlog on every pass of a draining relay is not free.
    backlog_read_at: std::sync::atomic::AtomicI64,
    queue: Arc<dyn OutboxQueue>,
    reads: Arc<dyn ReadModel>,
    notifier: Arc<dyn Notifier>,
    gifts: Arc<dyn GiftTransfer>,
    payouts: Arc<dyn PayoutGateway>,
    policy: RelayPolicy,
}

fn from_delivery(d: Delivery) -> Step {
    match d {
        Delivery::Delivered => Step::Done,
        Delivery::Retry { after, reason } => Step::Retry(after, reason),
        Delivery::Rejected(reason) => Step::Fail(reason),
        Delivery::NotYet { after, reason } => Step::Wait(after, reason),
    }
}

impl Relay {
    /// A relay over `queue`, delivering to `to` with `policy`'s retries.
    pub fn new(
        ctx: Context,
        queue: Arc<dyn OutboxQueue>,
        reads: Arc<dyn ReadModel>,
        to: Receivers,
        policy: RelayPolicy,
    ) -> Self {
        Self {
            ctx,
            backlog_read_at: Default::default(),
            queue,
            reads,
            notifier: to.notifier,
            gifts: to.gifts,
            payouts: to.payouts,
            policy,
        }
    }

    /// Its retry policy (the pace of its loop follows it).
    pub fn policy(&self) -> &RelayPolicy {
        &self.policy
    }

    /// Claims one batch and delivers it.
    pub async fn run_once(&self) -> RelayReport {
        let now = self.ctx.services.now();
        let lease_until = now + chrono::Duration::from_std(self.policy.lease).unwrap_or_default();
        let mut report = RelayReport::default();
        let ms = now.timestamp_millis();
        let last = self.backlog_read_at.load(std::sync::atomic::Ordering::Relaxed);
        if ms - last >= 1000 || ms < last {
            self.backlog_read_at.store(ms, std::sync::atomic::Ordering::Relaxed);
            match self.queue.backlog().await {
                Ok(n) => metrics::gauge!("outbox_backlog").set(n as f64),
                Err(e) => tracing::warn!(error = %e, "cannot read the outbox backlog"),
            }
        }
        let claimed = match self.queue.claim(now, self.policy.batch, lease_until).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim outbox rows");
                return report;
            }
        };
        report.claimed = claimed.len();
        // Deliveries are recorded together, in one write after the batch (a crash in between
        // delivers those rows again when their lease ends: receivers deduplicate).
        let mut delivered = Vec::with_capacity(claimed.len());
        for c in claimed {
            if let Some(done) = self.handle(c, &mut report).await {
                delivered.push(done);
            }
        }
        if let Err(e) = self.queue.delivered(&delivered, self.ctx.services.now()).await {
            tracing::warn!(error = %e, rows = delivered.len(), "cannot record deliveries; they will be made again");
        }
        report
    }

    /// Delivers one row; records a retry or a give-up at once, and returns a delivered row for
    /// the batch's one write.
    async fn handle(&self, c: ClaimedMessage, report: &mut RelayReport) -> Option<(OutboxId, u32)> {
        let kind = c.message.payload.kind();
        let attempt = c.attempts + 1;
        let step = self.deliver(&c).await;
        let now = self.ctx.services.now();
        let written = match step {
            Step::Done => {
                report.delivered += 1;
                metrics::counter!("outbox_delivered_total", "kind" => kind).increment(1);
                return Some((c.message.id, attempt));
            }
            Step::Retry(after, reason) if attempt < self.policy.max_attempts => {
                report.retried += 1;
                metrics::counter!("outbox_retries_total", "kind" => kind).increment(1);
                let wait = self.policy.delay(c.attempts, after);
                tracing::info!(kind, attempt, wait_ms = wait.as_millis() as u64, %reason, "delivery failed, will retry");
                self.queue
                    .retry_at(
                        c.message.id,
                        attempt,
                        now + chrono::Duration::from_std(wait).unwrap_or_default(),
                        &reason,
                    )
                    .await
            }
            Step::Wait(after, reason) => {
                report.waiting += 1;
                metrics::counter!("outbox_waits_total", "kind" => kind).increment(1);
                tracing::info!(kind, wait_s = after.as_secs(), %reason, "not deliverable yet; asked again later");
                let at = now + chrono::Duration::from_std(after).unwrap_or_default();
                self.queue.retry_at(c.message.id, c.attempts, at, &reason).await
            }
            Step::Retry(_, reason) | Step::Fail(reason) => {
                report.gave_up += 1;
                metrics::counter!("outbox_failures_total", "kind" => kind).increment(1);
                self.exhausted(&c, &reason).await;
                tracing::error!(kind, attempt, %reason, id = %c.message.id, "outbox delivery given up");
                self.queue.give_up(c.message.id, attempt, &reason, now).await
            }
        };
        if let Err(e) = written {
            // The lease runs out and the row is delivered again: receivers are idempotent.
            tracing::warn!(error = %e, "cannot record the delivery outcome");
        }
        None
    }

    async fn deliver(&self, c: &ClaimedMessage) -> Step {
        match &c.message.payload {
            OutboxPayload::Notify { user_id, text } => {
                from_delivery(self.notifier.notify(*user_id, text, c.message.id).await)
            }
            OutboxPayload::GiftTransfer { nft_id, gift_id, user_id, owned_gift_id, star_count, fee } => {
                let gift = GiftReturn {
                    gift_id: gift_id.clone(),
                    owned_gift_id: owned_gift_id.clone(),
                    star_count: *star_count,
                    to: *user_id,
                };
                match self.gifts.transfer(&gift, c.message.id).await {
                    Delivery::Delivered => self.gift_returned(*nft_id, true, *fee).await,
                    Delivery::Rejected(reason) => {
                        tracing::warn!(%reason, nft = %nft_id, "gift return refused by Telegram; NFT available again");
                        self.gift_returned(*nft_id, false, *fee).await
                    }
                    other => from_delivery(other),
                }
            }
            OutboxPayload::Payout { withdrawal_id } => self.pay(*withdrawal_id, c.attempts).await,
        }
    }

    fn record<T>(&self, r: Result<T, crate::Error>) -> Step {
        match r {
            Ok(_) => Step::Done,
            Err(e) => Step::Retry(None, e.to_string()),
        }
    }

    async fn gift_returned(&self, nft_id: NftId, delivered: bool, fee: Money) -> Step {
        let uc = RecordGiftReturn::new(self.ctx.uows(), self.ctx.services());
        self.record(uc.execute(RecordGiftReturnCommand { nft_id, delivered, fee }).await)
    }

    async fn payout(
        &self,
        withdrawal_id: WithdrawalId,
        outcome: PayoutOutcome,
    ) -> Result<Option<Withdrawal>, crate::Error> {
        let uc = RecordPayout::new(self.ctx.uows(), self.ctx.services());
        uc.execute(RecordPayoutCommand { withdrawal_id, outcome }).await
    }

    /// Sends a payout. From the second attempt on, the gateway is asked first: an earlier attempt
    /// may have been applied with its answer lost, and a payout is never sent under a new key.
    async fn pay(&self, id: WithdrawalId, attempts: u32) -> Step {
        let w = match self.reads.withdrawal(id).await {
            Ok(Some(w)) => w,
            Ok(None) => return Step::Fail(format!("withdrawal {id} does not exist")),
            Err(e) => return Step::Retry(None, e.to_string()),
        };
        if w.status != WithdrawalStatus::Pending {
            return Step::Done;
        }
        let request = PayoutRequest { withdrawal_id: id, address: w.address.clone(), amount: w.amount };
        let status = if attempts > 0 {
            match self.payouts.lookup(id).await {
                Ok(PayoutStatus::NotFound) => self.payouts.send(&request).await,
                other => other,
            }
        } else {
            self.payouts.send(&request).await
        };
        match status {
            Ok(PayoutStatus::Sent { tx_hash }) => self.record(self.payout(id, PayoutOutcome::Sent { tx_hash }).await),
            Ok(PayoutStatus::Rejected(reason)) => self.record(self.payout(id, PayoutOutcome::Failed { reason }).await),
            Ok(PayoutStatus::Pending) => Step::Retry(None, "payout pending at the gateway".into()),
            Ok(PayoutStatus::NotFound) => Step::Retry(None, "payout not found after sending".into()),
            Err(e) => Step::Retry(e.retry_after, e.reason),
        }
    }

    /// Attempts ran out: a payout becomes `stuck` (alerted, never refunded automatically); a gift
    /// return stays `withdrawing` for staff to look at.
    async fn exhausted(&self, c: &ClaimedMessage, reason: &str) {
        match &c.message.payload {
            OutboxPayload::Payout { withdrawal_id } => {
                metrics::counter!("payouts_stuck_total").increment(1);
                tracing::error!(withdrawal = %withdrawal_id, %reason, "ALERT: payout stuck; needs a person");
                if let Err(e) = self.payout(*withdrawal_id, PayoutOutcome::Stuck).await {
                    tracing::error!(error = %e, "cannot mark the withdrawal stuck");
                }
            }
            OutboxPayload::GiftTransfer { nft_id, .. } => {
                tracing::error!(nft = %nft_id, %reason, "ALERT: gift return stuck; NFT stays withdrawing");
            }
            OutboxPayload::Notify { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::ports::{MockGiftTransfer, MockNotifier, MockPayoutGateway};
    use mockall::predicate::eq;

    use super::*;
    use crate::jobs::support::*;
    use crate::testing::{any_outbox, balanced_ledger, m, nft, now, user, FakeTx};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Three attempts at most; the backoff is at most 1 ms, so a retry lands where the receiver
    /// asked, or within 1 ms of now.
    fn policy() -> RelayPolicy {
        RelayPolicy { max_attempts: 3, base_delay: ms(1), max_delay: ms(1), ..Default::default() }
    }

    fn row(n: u128, payload: OutboxPayload, attempts: u32) -> ClaimedMessage {
        ClaimedMessage { message: OutboxMessage { id: oid(n), payload, created_at: now() }, attempts }
    }

    fn oid(n: u128) -> OutboxId {
        OutboxId(uuid::Uuid::from_u128(n))
    }

    fn notice() -> OutboxPayload {
        OutboxPayload::Notify { user_id: UserId(1), text: "hi".into() }
    }

    fn gift() -> OutboxPayload {
        OutboxPayload::GiftTransfer {
            nft_id: nft(1, None).id,
            gift_id: "gift".into(),
            user_id: UserId(1),
            owned_gift_id: Some("5123".into()),
            star_count: Some(25),
            fee: Money::ZERO,
        }
    }

    fn wid() -> WithdrawalId {
        WithdrawalId(uuid::Uuid::from_u128(4))
    }

    fn payout() -> OutboxPayload {
        OutboxPayload::Payout { withdrawal_id: wid() }
    }

    fn withdrawal(status: WithdrawalStatus) -> Withdrawal {
        Withdrawal {
            id: wid(),
            user_id: UserId(1),
            amount: m("5"),
            address: "0:ab".into(),
            status,
            tx_hash: None,
            created_at: now(),
        }
    }

    fn retry(after: Option<Duration>) -> Delivery {
        Delivery::Retry { after, reason: "busy".into() }
    }

    #[derive(Default)]
    struct Mocks {
        notifier: MockNotifier,
        gifts: MockGiftTransfer,
        payouts: MockPayoutGateway,
    }

    struct Rig {
        relay: Relay,
        queue: Arc<FakeQueue>,
        txs: Arc<Txs>,
        clock: Arc<TestClock>,
    }

    fn rig(rows: Vec<ClaimedMessage>, mocks: Mocks, reads: FakeReads, txs: Vec<FakeTx>) -> Rig {
        rig_with(FakeQueue { rows: rows.into(), ..Default::default() }, mocks, reads, txs)
    }

    fn rig_with(queue: FakeQueue, mocks: Mocks, reads: FakeReads, txs: Vec<FakeTx>) -> Rig {
        let (txs, clock, queue) = (Txs::new(txs), TestClock::new(now()), Arc::new(queue));
        let to = Receivers {
            notifier: Arc::new(mocks.notifier),
            gifts: Arc::new(mocks.gifts),
            payouts: Arc::new(mocks.payouts),
        };
        let relay = Relay::new(context(&txs, &clock), queue.clone(), Arc::new(reads), to, policy());
        Rig { relay, queue, txs, clock }
    }

    fn report(claimed: usize, delivered: usize, retried: usize, gave_up: usize) -> RelayReport {
        RelayReport { claimed, delivered, retried, gave_up, waiting: 0 }
    }

    /// A withdrawal locked as `status` and written once as `to`.
    fn recording(status: WithdrawalStatus, to: WithdrawalStatus) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.withdrawals.expect_lock().with(eq(wid())).times(1).returning(move |_| Ok(Some(withdrawal(status))));
        tx.withdrawals.expect_update().withf(move |w| w.status == to).times(1).returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox = any_outbox();
        tx
    }

    fn sent(tx_hash: &str) -> Result<PayoutStatus, domain::ports::GatewayUnavailable> {
        Ok(PayoutStatus::Sent { tx_hash: tx_hash.into() })
    }

    #[test]
    fn the_delay_is_capped_jittered_and_never_below_retry_after() {
        let p = RelayPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            ..Default::default()
        };
        for attempt in 0..40 {
            assert!(p.delay(attempt, None) <= Duration::from_secs(60));
            assert!(p.delay(attempt, Some(Duration::from_secs(90))) >= Duration::from_secs(90));
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| p.delay(5, None)).collect();
        assert!(spread.len() > 1, "full jitter spreads retries");
    }

    #[test]
    fn the_delay_doubles_per_attempt_up_to_its_cap_and_spreads_below_it() {
        let p = RelayPolicy { base_delay: ms(1_000), max_delay: ms(100_000), ..Default::default() };
        let samples: Vec<Duration> = (0..400).map(|_| p.delay(3, None)).collect();
        assert!(samples.iter().all(|d| *d <= ms(8_000)), "1 s × 2³ at most");
        assert!(samples.iter().any(|d| *d > ms(4_000)), "and more than attempt 2's cap");
        assert!(samples.iter().any(|d| *d < ms(4_000)), "jittered below it");
        assert!((0..100).all(|_| p.delay(u32::MAX, None) <= ms(100_000)), "a huge attempt stays capped");
        assert!((0..100).all(|_| p.delay(0, None) <= ms(1_000)), "the first retry within the base");
        assert!((0..100).all(|_| p.delay(0, Some(ms(500))) >= ms(500)), "at least what was asked, below the cap too");
        assert_eq!(p.delay(3, Some(ms(200_000))), ms(200_000), "what was asked, beyond the cap");
    }

    #[test]
    fn the_relay_keeps_the_policy_it_was_given() {
        let r = rig(vec![], Mocks::default(), FakeReads::default(), vec![]);
        assert_eq!(r.relay.policy().max_attempts, 3);
        assert_eq!(r.relay.policy().max_delay, ms(1));
    }

    #[tokio::test]
    async fn delivered_rows_are_recorded_with_their_attempt_in_one_write_after_the_batch() {
        let mut mocks = Mocks::default();
        mocks.notifier.expect_notify().times(2).returning(|_, _, _| Delivery::Delivered);
        let r = rig(vec![row(1, notice(), 0), row(2, notice(), 2)], mocks, FakeReads::default(), vec![]);

        assert_eq!(r.relay.run_once().await, report(2, 2, 0, 0));
        assert_eq!(*r.queue.delivered.lock().unwrap(), [(vec![(oid(1), 1), (oid(2), 3)], now())]);
        assert_eq!(
            *r.queue.claims.lock().unwrap(),
            [(now(), 10, now() + chrono::Duration::seconds(300))],
            "a batch, leased for the policy's lease"
        );
        assert!(r.queue.retried.lock().unwrap().is_empty() && r.queue.given_up.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_notice_goes_to_its_user_with_its_row_id() {
        let mut mocks = Mocks::default();
        mocks
            .notifier
            .expect_notify()
            .withf(|u, text, id| *u == UserId(1) && text == "hi" && *id == oid(1))
            .times(1)
            .returning(|_, _, _| Delivery::Delivered);
        let r = rig(vec![row(1, notice(), 0)], mocks, FakeReads::default(), vec![]);
        assert_eq!(r.relay.run_once().await, report(1, 1, 0, 0));
    }

    #[tokio::test]
    async fn a_failed_delivery_is_retried_until_its_last_attempt_then_given_up() {
        let mut mocks = Mocks::default();
        mocks.notifier.expect_notify().times(3).returning(|_, _, _| retry(Some(Duration::from_secs(10))));
        // Attempts 1, 2 and 3 of a policy of 3.
        let rows = vec![row(1, notice(), 0), row(2, notice(), 1), row(3, notice(), 2)];
        let r = rig(rows, mocks, FakeReads::default(), vec![]);

        assert_eq!(r.relay.run_once().await, report(3, 0, 2, 1));
        let at = now() + chrono::Duration::seconds(10);
        assert_eq!(
            *r.queue.retried.lock().unwrap(),
            [(oid(1), 1, at, "busy".to_string()), (oid(2), 2, at, "busy".to_string())],
            "not before the receiver asked"
        );
        assert_eq!(*r.queue.given_up.lock().unwrap(), [(oid(3), 3, "busy".to_string(), now())]);
        assert_eq!(*r.queue.delivered.lock().unwrap(), [(vec![], now())]);
    }

    #[tokio::test]
    async fn a_retry_is_scheduled_within_the_backoff_of_its_attempt() {
        let mut mocks = Mocks::default();
        mocks.notifier.expect_notify().times(1).returning(|_, _, _| retry(None));
        let r = rig(vec![row(1, notice(), 1)], mocks, FakeReads::default(), vec![]);
        assert_eq!(r.relay.run_once().await, report(1, 0, 1, 0));
        let (id, attempt, at, _) = r.queue.retried.lock().unwrap()[0].clone();
        assert_eq!((id, attempt), (oid(1), 2));
        assert!(at >= now() && at <= now() + chrono::Duration::milliseconds(1), "{at}");
    }

    #[tokio::test]
    async fn a_rejected_delivery_is_given_up_at_once() {
        let mut mocks = Mocks::default();
        mocks.notifier.expect_notify().times(1).returning(|_, _, _| Delivery::Rejected("blocked".into()));
        let r = rig(vec![row(1, notice(), 0)], mocks, FakeReads::default(), vec![]);
        assert_eq!(r.relay.run_once().await, report(1, 0, 0, 1));
        assert_eq!(*r.queue.given_up.lock().unwrap(), [(oid(1), 1, "blocked".to_string(), now())]);
        assert_eq!(r.txs.begun(), 0, "a notice leaves nothing to record");
    }

    #[tokio::test]
    async fn outcomes_that_cannot_be_written_are_still_counted_and_the_batch_goes_on() {
        let mut mocks = Mocks::default();
        let mut answers = vec![Delivery::Delivered, retry(None), Delivery::Rejected("no".into())].into_iter();
        mocks.notifier.expect_notify().times(3).returning(move |_, _, _| answers.next().unwrap());
        let queue = FakeQueue {
            rows: vec![row(1, notice(), 0), row(2, notice(), 0), row(3, notice(), 0)].into(),
            unwritable: true,
            ..Default::default()
        };
        let r = rig_with(queue, mocks, FakeReads::default(), vec![]);
        assert_eq!(r.relay.run_once().await, report(3, 1, 1, 1));
    }

    #[tokio::test]
    async fn a_queue_that_cannot_be_claimed_ends_the_pass_with_nothing_done() {
        let queue = FakeQueue { rows: vec![row(1, notice(), 0)].into(), unclaimable: true, ..Default::default() };
        let r = rig_with(queue, Mocks::default(), FakeReads::default(), vec![]);
        assert_eq!(r.relay.run_once().await, RelayReport::default());
        assert!(r.queue.delivered.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_backlog_is_read_at_most_once_a_second_and_again_after_the_clock_went_back() {
        let r = rig(vec![], Mocks::default(), FakeReads::default(), vec![]);
        let reads = |r: &Rig| r.queue.backlog_reads.load(std::sync::atomic::Ordering::SeqCst);
        let at = |ms: i64| now() + chrono::Duration::milliseconds(ms);
        for (t, expected) in [(0, 1), (0, 1), (999, 1), (1_000, 2), (1_500, 2), (1_999, 2), (2_000, 3), (1_999, 4)] {
            r.clock.set(at(t));
            r.relay.run_once().await;
            assert_eq!(reads(&r), expected, "at +{t} ms");
        }
        r.clock.set(at(1_999));
        r.relay.run_once().await;
        assert_eq!(reads(&r), 4, "once read at the earlier time, the second counts from there");
    }

    #[tokio::test]
    async fn a_returned_gift_is_recorded_withdrawn() {
        let mut mocks = Mocks::default();
        mocks
            .gifts
            .expect_transfer()
            .withf(|g, id| {
                *g == GiftReturn {
                    gift_id: "gift".into(),
                    owned_gift_id: Some("5123".into()),
                    star_count: Some(25),
                    to: UserId(1),
                } && *id == oid(1)
            })
            .times(1)
            .returning(|_, _| Delivery::Delivered);
        let r = rig(vec![row(1, gift(), 0)], mocks, FakeReads::default(), vec![gift_return(NftStatus::Withdrawn)]);
        assert_eq!(r.relay.run_once().await, report(1, 1, 0, 0));
        assert_eq!(r.txs.left(), 0);
    }

    /// The NFT is withdrawing, and written once as `to`.
    fn gift_return(to: NftStatus) -> FakeTx {
        let mut tx = FakeTx::default();
        let mut leaving = nft(1, None);
        leaving.status = NftStatus::Withdrawing;
        tx.nfts.expect_lock().times(1).returning(move |_| Ok(Some(leaving.clone())));
        tx.nfts.expect_update().withf(move |n| n.status == to).times(1).returning(|_| Ok(()));
        tx.outbox = any_outbox();
        tx
    }

    #[tokio::test]
    async fn a_gift_telegram_cannot_take_yet_waits_the_time_it_names_without_using_an_attempt() {
        let mut mocks = Mocks::default();
        mocks
            .gifts
            .expect_transfer()
            .times(1)
            .returning(|_, _| Delivery::NotYet { after: Duration::from_secs(3_600), reason: "too early".into() });
        // On its last attempt: waiting is not failing.
        let r = rig(vec![row(1, gift(), 2)], mocks, FakeReads::default(), vec![]);
        let report = r.relay.run_once().await;
        assert_eq!((report.waiting, report.retried, report.gave_up, report.delivered), (1, 0, 0, 0));
        let retried = r.queue.retried.lock().unwrap().clone();
        assert_eq!(retried.len(), 1);
        assert_eq!((retried[0].1, retried[0].2), (2, now() + chrono::Duration::seconds(3_600)), "attempts kept");
        assert!(r.queue.given_up.lock().unwrap().is_empty());
        assert_eq!(r.txs.begun(), 0, "nothing recorded: the NFT stays withdrawing");
    }

    #[tokio::test]
    async fn a_gift_refused_for_good_is_available_again_and_the_row_done() {
        let mut mocks = Mocks::default();
        mocks.gifts.expect_transfer().times(1).returning(|_, _| Delivery::Rejected("privacy".into()));
        let r = rig(vec![row(1, gift(), 0)], mocks, FakeReads::default(), vec![gift_return(NftStatus::Available)]);
        assert_eq!(r.relay.run_once().await, report(1, 1, 0, 0));
        assert_eq!(r.txs.left(), 0);
    }

    #[tokio::test]
    async fn a_gift_return_is_retried_when_telegram_or_the_store_cannot_answer_and_stays_put_when_exhausted() {
        let mut mocks = Mocks::default();
        let mut answers = vec![retry(None), Delivery::Delivered, retry(None)].into_iter();
        mocks.gifts.expect_transfer().times(3).returning(move |_, _| answers.next().unwrap());
        // Telegram busy; delivered but the store down; busy on the last attempt.
        let rows = vec![row(1, gift(), 0), row(2, gift(), 0), row(3, gift(), 2)];
        let r = rig(rows, mocks, FakeReads::default(), vec![]);
        assert_eq!(r.relay.run_once().await, report(3, 0, 2, 1));
        assert_eq!(r.txs.begun(), 1, "only the delivered one is recorded; an exhausted one is left withdrawing");
        let retried = r.queue.retried.lock().unwrap().clone();
        assert_eq!(retried[1].3, "storage unavailable: no unit of work left");
    }

    #[tokio::test]
    async fn a_first_payout_is_sent_without_a_lookup_and_recorded_sent() {
        let mut mocks = Mocks::default();
        mocks.payouts.expect_lookup().times(0);
        mocks
            .payouts
            .expect_send()
            .withf(|p| *p == PayoutRequest { withdrawal_id: wid(), address: "0:ab".into(), amount: m("5") })
            .times(1)
            .returning(|_| sent("tx1"));
        let reads =
            FakeReads { withdrawal: Some(Ok(Some(withdrawal(WithdrawalStatus::Pending)))), ..Default::default() };
        let tx = recording(WithdrawalStatus::Pending, WithdrawalStatus::Sent);
        let committed = tx.committed.clone();
        let r = rig(vec![row(1, payout(), 0)], mocks, reads, vec![tx]);
        assert_eq!(r.relay.run_once().await, report(1, 1, 0, 0));
        assert!(committed.get() && r.txs.left() == 0, "recorded as sent");
    }

    #[tokio::test]
    async fn a_later_payout_attempt_asks_the_gateway_first_and_never_sends_twice() {
        let mut mocks = Mocks::default();
        mocks.payouts.expect_lookup().with(eq(wid())).times(1).returning(|_| sent("tx1"));
        mocks.payouts.expect_send().times(0);
        let reads =
            FakeReads { withdrawal: Some(Ok(Some(withdrawal(WithdrawalStatus::Pending)))), ..Default::default() };
        let r = rig(
            vec![row(1, payout(), 1)],
            mocks,
            reads,
            vec![recording(WithdrawalStatus::Pending, WithdrawalStatus::Sent)],
        );
        assert_eq!(r.relay.run_once().await, report(1, 1, 0, 0));
        assert_eq!(r.txs.left(), 0);
    }

    #[tokio::test]
    async fn a_payout_the_gateway_never_saw_is_sent_and_one_pending_retried() {
        let mut mocks = Mocks::default();
        mocks.payouts.expect_lookup().times(1).returning(|_| Ok(PayoutStatus::NotFound));
        mocks.payouts.expect_send().times(1).returning(|_| Ok(PayoutStatus::Pending));
        let reads =
            FakeReads { withdrawal: Some(Ok(Some(withdrawal(WithdrawalStatus::Pending)))), ..Default::default() };
        let r = rig(vec![row(1, payout(), 1)], mocks, reads, vec![]);
        assert_eq!(r.relay.run_once().await, report(1, 0, 1, 0));
        assert_eq!(r.queue.retried.lock().unwrap()[0].3, "payout pending at the gateway");
        assert_eq!(r.txs.begun(), 0, "nothing recorded yet");
    }

    #[tokio::test]
    async fn a_payout_not_found_after_sending_or_a_gateway_down_is_retried_as_it_asks() {
        let mut mocks = Mocks::default();
        let mut answers = vec![
            Ok(PayoutStatus::NotFound),
            Err(domain::ports::GatewayUnavailable {
                retry_after: Some(Duration::from_secs(30)),
                reason: "down".into(),
            }),
        ]
        .into_iter();
        mocks.payouts.expect_send().times(2).returning(move |_| answers.next().unwrap());
        let reads =
            FakeReads { withdrawal: Some(Ok(Some(withdrawal(WithdrawalStatus::Pending)))), ..Default::default() };
        let r = rig(vec![row(1, payout(), 0), row(2, payout(), 0)], mocks, reads, vec![]);
        assert_eq!(r.relay.run_once().await, report(2, 0, 2, 0));
        let retried = r.queue.retried.lock().unwrap().clone();
        assert_eq!(retried[0].3, "payout not found after sending");
        assert_eq!((retried[1].2, retried[1].3.as_str()), (now() + chrono::Duration::seconds(30), "down"));
    }

    #[tokio::test]
    async fn a_payout_refused_by_the_gateway_is_recorded_failed_and_the_funds_returned() {
        let mut mocks = Mocks::default();
        mocks.payouts.expect_send().times(1).returning(|_| Ok(PayoutStatus::Rejected("bad address".into())));
        let reads =
            FakeReads { withdrawal: Some(Ok(Some(withdrawal(WithdrawalStatus::Pending)))), ..Default::default() };
        let mut tx = recording(WithdrawalStatus::Pending, WithdrawalStatus::Failed);
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "0")]));
        tx.accounts.expect_save().withf(|u| u.available == m("5")).times(1).returning(|_| Ok(()));
        let r = rig(vec![row(1, payout(), 0)], mocks, reads, vec![tx]);
        assert_eq!(r.relay.run_once().await, report(1, 1, 0, 0));
        assert_eq!(r.txs.left(), 0);
    }

    #[tokio::test]
    async fn a_payout_no_longer_pending_is_done_without_the_gateway() {
        let reads = FakeReads { withdrawal: Some(Ok(Some(withdrawal(WithdrawalStatus::Sent)))), ..Default::default() };
        let r = rig(vec![row(1, payout(), 0)], Mocks::default(), reads, vec![]);
        assert_eq!(r.relay.run_once().await, report(1, 1, 0, 0));
        assert_eq!(*r.queue.delivered.lock().unwrap(), [(vec![(oid(1), 1)], now())]);
    }

    #[tokio::test]
    async fn a_payout_whose_withdrawal_cannot_be_read_is_retried() {
        let reads =
            FakeReads { withdrawal: Some(Err(RepoError::Unavailable("reads down".into()))), ..Default::default() };
        let r = rig(vec![row(1, payout(), 0)], Mocks::default(), reads, vec![]);
        assert_eq!(r.relay.run_once().await, report(1, 0, 1, 0));
    }

    #[tokio::test]
    async fn a_payout_of_a_missing_withdrawal_is_given_up() {
        let reads = FakeReads { withdrawal: Some(Ok(None)), ..Default::default() };
        // Giving up marks the withdrawal stuck: it is not there either.
        let mut tx = FakeTx::default();
        tx.withdrawals.expect_lock().times(1).returning(|_| Ok(None));
        let r = rig(vec![row(1, payout(), 0)], Mocks::default(), reads, vec![tx]);
        assert_eq!(r.relay.run_once().await, report(1, 0, 0, 1));
        let given_up = r.queue.given_up.lock().unwrap().clone();
        assert_eq!(given_up[0].2, format!("withdrawal {} does not exist", wid()));
    }

    #[tokio::test]
    async fn a_payout_out_of_attempts_is_marked_stuck() {
        let mut mocks = Mocks::default();
        mocks.payouts.expect_lookup().times(1).returning(|_| Ok(PayoutStatus::Pending));
        let reads =
            FakeReads { withdrawal: Some(Ok(Some(withdrawal(WithdrawalStatus::Pending)))), ..Default::default() };
        let tx = recording(WithdrawalStatus::Pending, WithdrawalStatus::Stuck);
        let committed = tx.committed.clone();
        let r = rig(vec![row(1, payout(), 2)], mocks, reads, vec![tx]);
        assert_eq!(r.relay.run_once().await, report(1, 0, 0, 1));
        assert!(committed.get() && r.txs.left() == 0, "marked stuck");
    }
}
