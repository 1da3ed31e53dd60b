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
}

enum Step {
    Done,
    Retry(Option<Duration>, String),
    Fail(String),
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
            OutboxPayload::GiftTransfer { nft_id, gift_id, user_id } => {
                match self.gifts.transfer(gift_id, *user_id, c.message.id).await {
                    Delivery::Delivered => self.gift_returned(*nft_id, true).await,
                    Delivery::Rejected(reason) => {
                        tracing::warn!(%reason, nft = %nft_id, "gift return refused by Telegram; NFT available again");
                        self.gift_returned(*nft_id, false).await
                    }
                    Delivery::Retry { after, reason } => Step::Retry(after, reason),
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

    async fn gift_returned(&self, nft_id: NftId, delivered: bool) -> Step {
        let uc = RecordGiftReturn::new(self.ctx.uows(), self.ctx.services());
        self.record(uc.execute(RecordGiftReturnCommand { nft_id, delivered }).await)
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
    use super::*;

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
}
