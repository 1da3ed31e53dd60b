//! Reads of trades and channel sales.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::*;

use super::{Page, PageRequest};

/// A party's trades, optionally by role and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeFilter {
    pub party: UserId,
    pub role: Option<TradeParty>,
    pub status: Option<TradeStatus>,
}

/// Channel listings a viewer may see: every `listed` one plus their own sales (as seller or
/// buyer), optionally by status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelFilter {
    pub viewer: UserId,
    pub status: Option<ChannelSaleStatus>,
}

/// A channel sale awaiting its transfer, and by when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AwaitingTransfer {
    pub id: ChannelSaleId,
    pub transfer_by: DateTime<Utc>,
}

#[async_trait]
pub trait TradeReads: Send + Sync {
    /// Trades of one party, newest first.
    async fn trades(&self, filter: &TradeFilter, page: PageRequest) -> Result<Page<Trade>, RepoError>;
    /// One trade; `None` when it does not exist.
    async fn trade(&self, id: TradeId) -> Result<Option<Trade>, RepoError>;
    /// Open trades past their expiry (the expiry job's work).
    async fn due_trades(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<TradeId>, RepoError>;
}

#[async_trait]
pub trait ChannelReads: Send + Sync {
    /// Listings and sales the viewer may see, newest first.
    async fn channel_sales(&self, filter: &ChannelFilter, page: PageRequest) -> Result<Page<ChannelSale>, RepoError>;
    /// One listing or sale; `None` when it does not exist.
    async fn channel_sale(&self, id: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError>;
    /// Everyone's listings and sales in `status` (the staff desk's queue), newest first by id: the
    /// API's cursor for every status, most of which have no deadline (shown as a column instead).
    async fn channel_sales_in(
        &self,
        status: ChannelSaleStatus,
        page: PageRequest,
    ) -> Result<Page<ChannelSale>, RepoError>;
    /// Sales awaiting transfer with their deadlines, oldest deadline first (the confirmation
    /// job's work).
    async fn awaiting_channel_sales(&self, limit: u32) -> Result<Vec<AwaitingTransfer>, RepoError>;
}
