//! The deposit watcher: a job that pages the deposit account's transactions from the indexer,
//! oldest first from the stored cursor, and hands each to [`RecordChainTransaction`]. Several
//! watchers (one per instance) may run at once: the cursor row is locked per transaction and a
//! transaction behind it is not handled again.

use std::sync::Arc;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use domain::ports::ChainIndexer;
use domain::ports::ChainRepo;
use domain::*;

use crate::deposits::record_chain::{ChainOutcome, RecordChainTransaction, RecordChainTransactionCommand};
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
    caught_up_at: Mutex<Option<DateTime<Utc>>>,
}

impl DepositWatcher {
    /// Watches `account` through `indexer`, 100 transactions a request, at most 10 requests a pass.
    pub fn new(ctx: Context, indexer: Arc<dyn ChainIndexer>, account: String) -> Self {
        Self { ctx, indexer, account, page: 100, max_pages: 10, caught_up_at: Mutex::default() }
    }

    /// Asks for `page` transactions a request, at most `max_pages` requests a pass.
    pub fn with_paging(mut self, page: u32, max_pages: u32) -> Self {
        self.page = page;
        self.max_pages = max_pages;
        self
    }

    /// When a pass last reached the newest transaction of the account.
    pub fn caught_up_at(&self) -> Option<DateTime<Utc>> {
        *self.caught_up_at.lock().expect("watcher state poisoned")
    }

    async fn cursor(&self) -> Result<Option<ChainCursor>, Error> {
        let uows: Arc<dyn crate::uow::Begin<dyn WatchCursorUow>> = self.ctx.uows();
        let mut uow = uows.begin("watch_deposits").await?;
        // Read under the row lock and let it go at once (dropped: rolled back, nothing written).
        let cursor = uow.chain().lock_cursor(&self.account).await?;
        drop(uow);
        Ok(cursor)
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
        let mut at = self.caught_up_at.lock().expect("poisoned");
        if caught_up {
            *at = Some(now);
        }
        let lag = at.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1e3);
        metrics::gauge!("ton_deposit_lag_seconds").set(lag);
        report
    }
}
