//! The read side: plain queries outside any Unit of Work, one port per aggregate, grouped by
//! area. They never write; a read sees only what committed. Every method fails only with
//! [`RepoError::Unavailable`](domain::RepoError::Unavailable) or
//! [`RepoError::Other`](domain::RepoError::Other) (the store failed); what is absent is `None`
//! or an empty page, never an error.

mod accounts;
mod activity;
mod audit;
mod deals;
mod market;
mod partners;

pub use accounts::*;
pub use activity::*;
pub use audit::*;
pub use deals::*;
pub use market::*;
pub use partners::*;

use uuid::Uuid;

/// A page request: `limit` items after the opaque cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;

    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// Encodes the position after `id` as an opaque cursor.
    pub fn encode_cursor(id: Uuid) -> String {
        format!("c1{}", id.simple())
    }

    /// Decodes a cursor made by [`PageRequest::encode_cursor`].
    pub fn decode_cursor(cursor: &str) -> Option<Uuid> {
        let hex = cursor.strip_prefix("c1")?;
        let exact = hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        exact.then(|| Uuid::try_parse(hex).ok()).flatten()
    }
}

/// Items in order and, when more may follow, the cursor of the next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items (the extra one only says "more").
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> Uuid) -> Self {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more { items.last().map(|t| PageRequest::encode_cursor(id_of(t))) } else { None };
        Page { items, next_cursor }
    }
}

/// The whole read side: every aggregate's plain queries, outside any Unit of Work.
pub trait ReadModel:
    UserReads
    + NftReads
    + AuctionReads
    + OfferReads
    + PresaleReads
    + WithdrawalReads
    + DepositReads
    + ActivityReads
    + TradeReads
    + ChannelReads
    + PartnerReads
    + StoreHealth
{
}

impl<T> ReadModel for T where
    T: UserReads
        + NftReads
        + AuctionReads
        + OfferReads
        + PresaleReads
        + WithdrawalReads
        + DepositReads
        + ActivityReads
        + TradeReads
        + ChannelReads
        + PartnerReads
        + StoreHealth
{
}
