//! Reads: plain queries outside any Unit of Work.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::*;
use rust_decimal::Decimal;
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

/// Filters of the NFT list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NftFilter {
    pub listed: Option<bool>,
    pub owner: Option<UserId>,
    pub collection: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuctionFilter {
    pub status: Option<AuctionStatus>,
    pub nft: Option<NftId>,
}

/// Offers on one NFT, or offers a user made or received (on NFTs they own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferFilter {
    Nft(NftId),
    Involving(UserId),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresaleFilter {
    pub status: Option<PresaleStatus>,
    pub seller: Option<UserId>,
}

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

/// A client with the managers bound to it, by priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientView {
    pub client: Client,
    pub managers: Vec<(ManagerBind, Manager)>,
}

/// Raw facts the audit checks; adapters compute them with plain queries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFacts {
    pub users: Vec<UserFacts>,
    /// Operations whose entries do not sum to zero, with their sum.
    pub unbalanced_operations: Vec<(OperationId, Decimal)>,
    pub total_deposits: Decimal,
    pub total_sent_payouts: Decimal,
    pub fees: Decimal,
    pub pending_payouts: Decimal,
    /// NFTs whose owner has no account.
    pub orphan_nfts: Vec<NftId>,
    /// NFTs with more than one active auction.
    pub nfts_with_several_auctions: Vec<NftId>,
    /// Sum of `pending` and `stuck` withdrawals (must equal `pending_payouts`).
    pub pending_withdrawals: Decimal,
    /// NFTs `in_trade` that are not offered by exactly one open trade, and NFTs offered by an
    /// open trade that are not `in_trade` (or not the maker's).
    pub misplaced_trade_nfts: Vec<NftId>,
}

/// One user's balances beside what the ledger and open obligations say they should be.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFacts {
    pub id: i64,
    pub available: Decimal,
    pub held: Decimal,
    pub ledger_available: Decimal,
    pub ledger_held: Decimal,
    /// Sum of what must be held: open offers, leading bids, bought-undelivered presales,
    /// presale collateral, open trades' `give` amounts, channel escrows awaiting transfer.
    pub obligations: Decimal,
}

/// Users, their balances and their ledger.
#[async_trait]
pub trait UserReads: Send + Sync {
    /// Creates the user on first sight (zero balances), refreshing the username; returns it.
    async fn ensure_user(&self, id: UserId, username: Option<String>) -> Result<User, RepoError>;
    async fn user(&self, id: UserId) -> Result<Option<User>, RepoError>;
    /// The user's ledger entries, newest first.
    async fn ledger(&self, user: UserId, page: PageRequest) -> Result<Page<LedgerEntry>, RepoError>;
}

#[async_trait]
pub trait NftReads: Send + Sync {
    /// NFTs matching the filter, newest first.
    async fn nfts(&self, filter: &NftFilter, page: PageRequest) -> Result<Page<Nft>, RepoError>;
    async fn nft(&self, id: NftId) -> Result<Option<Nft>, RepoError>;
}

#[async_trait]
pub trait AuctionReads: Send + Sync {
    /// Auctions, newest first.
    async fn auctions(&self, filter: &AuctionFilter, page: PageRequest) -> Result<Page<Auction>, RepoError>;
    /// One auction with its bids, highest first.
    async fn auction(&self, id: AuctionId) -> Result<Option<(Auction, Vec<Bid>)>, RepoError>;
    /// Active auctions past their end (the settlement job's work).
    async fn due_auctions(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<AuctionId>, RepoError>;
}

#[async_trait]
pub trait OfferReads: Send + Sync {
    /// Offers, newest first.
    async fn offers(&self, filter: &OfferFilter, page: PageRequest) -> Result<Page<Offer>, RepoError>;
    async fn offer(&self, id: OfferId) -> Result<Option<Offer>, RepoError>;
    /// Open offers past expiry, oldest first (the expiry job's work).
    async fn due_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OfferId>, RepoError>;
}

#[async_trait]
pub trait PresaleReads: Send + Sync {
    /// Presales, newest first.
    async fn presales(&self, filter: &PresaleFilter, page: PageRequest) -> Result<Page<Presale>, RepoError>;
    async fn presale(&self, id: PresaleId) -> Result<Option<Presale>, RepoError>;
    /// Open or sold presales past `deliver_by` (the deadline job's work).
    async fn due_presales(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<PresaleId>, RepoError>;
}

#[async_trait]
pub trait WithdrawalReads: Send + Sync {
    /// A user's withdrawals, newest first.
    async fn withdrawals(&self, user: UserId, page: PageRequest) -> Result<Page<Withdrawal>, RepoError>;
    async fn withdrawal(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError>;
}

/// Which public market events to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub collection: Option<String>,
    pub nft_id: Option<NftId>,
    pub kind: Option<EventKind>,
}

/// Which events a read of the live stream wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StreamScope {
    /// Every event, public and private (an instance's fan-out sorts them out).
    #[default]
    All,
    /// One stream's: the public events its filters admit, and its user's private ones.
    Stream { user: UserId, collection: Option<String>, nft_id: Option<NftId>, auction_id: Option<AuctionId> },
}

impl StreamScope {
    /// Whether `e` is in scope (the adapters' queries say the same).
    pub fn admits(&self, e: &MarketEvent) -> bool {
        match self {
            StreamScope::All => true,
            StreamScope::Stream { user, collection, nft_id, auction_id } => match e.recipient {
                Some(r) => r == *user,
                None => public_event_matches(collection.as_deref(), *nft_id, *auction_id, e),
            },
        }
    }
}

/// Whether a public event matches a stream's filters (each `None` admits all).
pub fn public_event_matches(
    collection: Option<&str>,
    nft_id: Option<NftId>,
    auction_id: Option<AuctionId>,
    e: &MarketEvent,
) -> bool {
    collection.is_none_or(|c| e.collection.as_deref() == Some(c))
        && nft_id.is_none_or(|n| e.nft_id == Some(n))
        && auction_id.is_none_or(|a| e.auction_id == Some(a))
}

/// A collection's market, now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionStats {
    pub name: String,
    /// NFTs listed for sale, and the lowest price among them.
    pub listed: u64,
    pub floor: Option<Money>,
    /// Distinct owners of its NFTs in custody.
    pub owners: u64,
    pub sales_24h: u64,
    pub volume_24h: Money,
    pub sales_7d: u64,
    pub volume_7d: Money,
    pub last_sale: Option<(Money, DateTime<Utc>)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
}

/// Sales of one interval, for a price chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricePoint {
    pub at: DateTime<Utc>,
    pub min: Money,
    pub avg: Money,
    pub max: Money,
    pub volume: Money,
    pub sales: u64,
}

/// The smallest time-ordered id of `at` (ids are UUIDv7): a position in the event stream.
pub fn id_floor(at: DateTime<Utc>) -> uuid::Uuid {
    let ms = at.timestamp_millis().max(0) as u64;
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70;
    b[8] = 0x80;
    uuid::Uuid::from_bytes(b)
}

#[async_trait]
pub trait ActivityReads: Send + Sync {
    /// Public market events, newest first.
    async fn activity(&self, filter: &ActivityFilter, page: PageRequest) -> Result<Page<MarketEvent>, RepoError>;
    /// Events with an id above `after` in `scope`, oldest first.
    async fn events_after(
        &self,
        after: uuid::Uuid,
        scope: &StreamScope,
        limit: u32,
    ) -> Result<Vec<MarketEvent>, RepoError>;
    /// Ledger entries of `users` with an id above `after`, oldest first (what moved their
    /// balances).
    async fn ledger_after(
        &self,
        after: uuid::Uuid,
        users: &[UserId],
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, RepoError>;
    /// The collections of the NFTs registered here (in custody or withdrawn since), by name (in
    /// the store's order of text), the first `limit` after `after`.
    async fn collections(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, RepoError>;
    /// A collection's market at `now`; `None` when none of it was ever registered nor sold.
    async fn collection_stats(&self, name: &str, now: DateTime<Utc>) -> Result<Option<CollectionStats>, RepoError>;
    /// Sales per interval since `since`, oldest first (intervals without sales left out).
    async fn collection_history(
        &self,
        name: &str,
        interval: Interval,
        since: DateTime<Utc>,
    ) -> Result<Vec<PricePoint>, RepoError>;
}

#[async_trait]
pub trait DepositReads: Send + Sync {
    /// Incoming transfers no memo matched, newest first (assigned ones included).
    async fn unmatched_deposits(&self, page: PageRequest) -> Result<Page<UnmatchedDeposit>, RepoError>;
}

#[async_trait]
pub trait TradeReads: Send + Sync {
    /// Trades of one party, newest first.
    async fn trades(&self, filter: &TradeFilter, page: PageRequest) -> Result<Page<Trade>, RepoError>;
    async fn trade(&self, id: TradeId) -> Result<Option<Trade>, RepoError>;
    /// Open trades past their expiry (the expiry job's work).
    async fn due_trades(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<TradeId>, RepoError>;
}

#[async_trait]
pub trait ChannelReads: Send + Sync {
    /// Listings and sales the viewer may see, newest first.
    async fn channel_sales(&self, filter: &ChannelFilter, page: PageRequest) -> Result<Page<ChannelSale>, RepoError>;
    async fn channel_sale(&self, id: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError>;
    /// Sales awaiting transfer, oldest deadline first (the confirmation job's work).
    async fn awaiting_channel_sales(&self, limit: u32) -> Result<Vec<ChannelSaleId>, RepoError>;
}

#[async_trait]
pub trait PartnerReads: Send + Sync {
    async fn client(&self, id: ClientId) -> Result<Option<ClientView>, RepoError>;
    /// The manager's clients by priority (then by binding time); `None` if no such manager.
    async fn manager_clients(&self, id: ManagerId) -> Result<Option<Vec<(ManagerBind, Client)>>, RepoError>;
}

#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// The raw facts the audit checks.
    async fn audit_facts(&self) -> Result<AuditFacts, RepoError>;
    /// Whether the store answers.
    async fn ping(&self) -> Result<(), RepoError>;
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
