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
use crate::offers::expire::{ExpireOffer, ExpireOfferCommand};
use crate::ports::reads::{AwaitingTransfer, ReadModel};
use crate::ports::IdempotencyLog;
use crate::ports::OutboxQueue;
use crate::presales::expire::{ExpirePresale, ExpirePresaleCommand};
use crate::trades::expire::{ExpireTrade, ExpireTradeCommand};
use crate::{Context, Error};

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    pub offers_expired: usize,
    pub auctions_settled: usize,
    pub presales_expired: usize,
    pub trades_expired: usize,
    pub channel_sales_settled: usize,
    pub keys_reaped: u64,
    pub outbox_purged: u64,
    /// The deposit watcher's pass (when TON is configured).
    pub deposits: crate::deposits::watch::WatchReport,
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
        Self { ctx, reads, keys, outbox, settings, channel_checked: Mutex::default(), deposits: None }
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
