//! Background jobs: offer expiry (the seed's `clear_old_offers`), auction settlement and presale
//! deadlines. Each finds due items with a plain query, then handles each in its own Unit of Work
//! that locks the row and re-checks it, so several instances running at once act exactly once
//! per item and a failure on one item does not hold the others back.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::Clock;
use domain::*;

use crate::auctions::SettleAuction;
use crate::idempotency::IdempotencyLog;
use crate::offers::CloseOffer;
use crate::presales::ExpirePresale;

/// Finds work that is due. Reads only; the handling re-checks under a row lock.
#[async_trait]
pub trait DueWork: Send + Sync {
    /// Open offers past expiry, oldest first.
    async fn due_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OfferId>, RepoError>;
    /// Active auctions past their end.
    async fn due_auctions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AuctionId>, RepoError>;
    /// Open or sold presales past `deliver_by`.
    async fn due_presales(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PresaleId>, RepoError>;
}

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
    pub due: Arc<dyn DueWork>,
    pub clock: Arc<dyn Clock>,
    pub offers: Arc<CloseOffer>,
    pub auctions: Arc<SettleAuction>,
    pub presales: Arc<ExpirePresale>,
    /// Idempotency keys older than `key_retention` are forgotten.
    pub keys: Arc<dyn IdempotencyLog>,
    pub key_retention: chrono::Duration,
    /// Most items handled per kind and pass.
    pub batch: u32,
}

fn note<T, E: std::fmt::Display>(job: &'static str, r: Result<Option<T>, E>, done: &mut usize, failures: &mut usize) {
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
        let now = self.clock.now();
        let mut report = JobReport::default();
        match self.due.due_offers(now, self.batch).await {
            Ok(ids) => {
                for id in ids {
                    note(
                        "expire_offers",
                        self.offers.expire(id).await,
                        &mut report.offers_expired,
                        &mut report.failures,
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due offers"),
        }
        match self.due.due_auctions(now, self.batch).await {
            Ok(ids) => {
                for id in ids {
                    note(
                        "settle_auctions",
                        self.auctions.execute(id).await,
                        &mut report.auctions_settled,
                        &mut report.failures,
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list due auctions"),
        }
        match self.due.due_presales(now, self.batch).await {
            Ok(ids) => {
                for id in ids {
                    note(
                        "presale_deadlines",
                        self.presales.execute(id).await,
                        &mut report.presales_expired,
                        &mut report.failures,
                    );
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
