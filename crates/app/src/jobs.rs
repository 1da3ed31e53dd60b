//! Background jobs: offer expiry (the seed's `clear_old_offers`), auction settlement and presale
//! deadlines. Each finds due items with a plain query, then handles each in its own Unit of Work
//! that locks the row and re-checks it, so several instances running at once act exactly once
//! per item and a failure on one item does not hold the others back.

use std::sync::Arc;

use crate::auctions::settle::{SettleAuction, SettleAuctionCommand};
use crate::idempotency::IdempotencyLog;
use crate::offers::expire::{ExpireOffer, ExpireOfferCommand};
use crate::presales::expire::{ExpirePresale, ExpirePresaleCommand};
use crate::queries::ReadModel;
use crate::{Context, Error};

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobReport {
    pub offers_expired: usize,
    pub auctions_settled: usize,
    pub presales_expired: usize,
    pub keys_reaped: u64,
    pub failures: usize,
}

pub struct Jobs {
    pub ctx: Context,
    pub reads: Arc<dyn ReadModel>,
    /// Idempotency keys older than `key_retention` are forgotten.
    pub keys: Arc<dyn IdempotencyLog>,
    pub key_retention: chrono::Duration,
    /// Most items handled per kind and pass.
    pub batch: u32,
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
    /// One pass over every kind of due work.
    pub async fn run_once(&self) -> JobReport {
        let ctx = &self.ctx;
        let now = ctx.services.now();
        let mut report = JobReport::default();
        match self.reads.due_offers(now, self.batch).await {
            Ok(ids) => {
                let uc = ExpireOffer::new(ctx.uows(), ctx.services());
                for offer_id in ids {
                    let r = uc.execute(ExpireOfferCommand { offer_id }).await;
                    note("expire_offers", r, &mut report.offers_expired, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due offers"),
        }
        match self.reads.due_auctions(now, self.batch).await {
            Ok(ids) => {
                let uc = SettleAuction::new(ctx.uows(), ctx.services(), ctx.rules.fees);
                for auction_id in ids {
                    let r = uc.execute(SettleAuctionCommand { auction_id }).await;
                    note("settle_auctions", r, &mut report.auctions_settled, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due auctions"),
        }
        match self.reads.due_presales(now, self.batch).await {
            Ok(ids) => {
                let uc = ExpirePresale::new(ctx.uows(), ctx.services());
                for presale_id in ids {
                    let r = uc.execute(ExpirePresaleCommand { presale_id }).await;
                    note("presale_deadlines", r, &mut report.presales_expired, &mut report.failures);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due presales"),
        }
        match self.keys.reap(now - self.key_retention).await {
            Ok(n) => report.keys_reaped = n,
            Err(e) => tracing::warn!(error = %e, "cannot reap idempotency keys"),
        }
        report
    }
}
