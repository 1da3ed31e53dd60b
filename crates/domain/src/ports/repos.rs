//! Repositories: what a Unit of Work reads, locks and writes. Adapters implement them on their
//! transaction type.
//!
//! Repository methods run inside a Unit of Work: what they write is visible to the same Unit of
//! Work at once and to everyone else only after commit. Methods named `lock…` take row locks that
//! last until the Unit of Work ends; callers lock in the global order documented in
//! `docs/adr/002-locking.md` (trades, channel sales, auctions, nfts by ascending id, offers,
//! presales, users by ascending id) so that two
//! Units of Work never wait on each other in a cycle.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::auction::{Auction, Bid};
use crate::chain::{ChainCursor, UnmatchedDeposit};
use crate::channel::ChannelSale;
use crate::error::RepoError;
use crate::event::MarketEvent;
use crate::gift::UnmatchedGift;
use crate::idempotency::{IdempotencyKey, KeyClaim};
use crate::ids::*;
use crate::ledger::LedgerEntry;
use crate::outbox::OutboxMessage;
use crate::presale::Presale;
use crate::trade::Trade;
use crate::*;

/// Users and their balances.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AccountRepo: Send {
    /// Reads a user without locking it.
    async fn get(&mut self, id: UserId) -> Result<Option<User>, RepoError>;

    /// Locks the given users in ascending id order and returns those that exist, in that order.
    ///
    /// # Errors
    /// MUST return [`RepoError::Transient`] when the lock cannot be taken in time or a deadlock
    /// is detected, so the caller retries the whole Unit of Work.
    async fn lock(&mut self, ids: &[UserId]) -> Result<Vec<User>, RepoError>;

    /// Creates the user when missing (zero balances) and returns it locked.
    async fn ensure_locked(&mut self, id: UserId, username: Option<String>) -> Result<User, RepoError>;

    /// Writes the balances of a user locked in this Unit of Work.
    ///
    /// # Errors
    /// A [`User`] cannot hold a negative balance ([`Money`](crate::Money) refuses one); the store's
    /// check ([`Constraint::BalanceNonNegative`](crate::Constraint::BalanceNonNegative)) is the last
    /// guard. Deferred by some adapters: what the write breaks surfaces from the Unit of Work's
    /// next statement or its commit, not necessarily from this call.
    async fn save(&mut self, user: &User) -> Result<(), RepoError>;
}

/// NFTs in custody.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait NftRepo: Send {
    /// Reads one NFT without locking it; `None` when it does not exist.
    async fn get(&mut self, id: NftId) -> Result<Option<Nft>, RepoError>;

    /// Reads and locks one NFT.
    async fn lock(&mut self, id: NftId) -> Result<Option<Nft>, RepoError>;

    /// Locks the given NFTs in ascending id order and returns those that exist, in that order.
    async fn lock_all(&mut self, ids: &[NftId]) -> Result<Vec<Nft>, RepoError>;

    /// # Errors
    /// MUST return [`RepoError::Duplicate`] ([`Constraint::GiftId`](crate::Constraint::GiftId)) when
    /// `gift_id` is already registered, and [`RepoError::MissingReference`]
    /// ([`Constraint::NftOwner`](crate::Constraint::NftOwner)) when the owner has no account.
    async fn insert(&mut self, nft: &Nft) -> Result<(), RepoError>;

    /// Writes an NFT locked in this Unit of Work (owner, price, status).
    ///
    /// # Errors
    /// Deferred by some adapters: a constraint it breaks surfaces as that error from the Unit of
    /// Work's next statement or its commit, not necessarily from this call.
    async fn update(&mut self, nft: &Nft) -> Result<(), RepoError>;

    /// Reads and locks the NFT of a gift (`gift_id`, its slug); `None` when none stands for it.
    async fn lock_by_gift_id(&mut self, gift_id: &str) -> Result<Option<Nft>, RepoError>;

    /// Writes, at once, an NFT locked in this Unit of Work whose custody changed (a gift came
    /// back): owner, price, status, `can_transfer_at` and Telegram's handles.
    ///
    /// # Errors
    /// [`RepoError::MissingReference`] ([`Constraint::NftOwner`](crate::Constraint::NftOwner))
    /// when the owner has no account.
    async fn update_custody(&mut self, nft: &Nft) -> Result<(), RepoError>;

    /// The cheapest listed NFTs matching `criteria` at `max_price` or less that are not
    /// `not_owner`'s — price, then id — read without a lock (a sweep locks them next).
    async fn cheapest_listed(
        &mut self,
        criteria: &OfferCriteria,
        max_price: Money,
        not_owner: UserId,
        limit: u32,
    ) -> Result<Vec<NftId>, RepoError>;
}

/// What a sale of a listed NFT locks, taken together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleLocks {
    pub nft: Nft,
    /// The buyer's own open offer on the NFT, refunded when they buy it.
    pub own_offer: Option<Offer>,
    /// The accounts of the buyer and of the NFT's owner that exist, in ascending id order.
    pub parties: Vec<User>,
}

/// The locks of a sale in one request: a buy is the hottest path, and these three lookups are
/// the only reads it needs.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SaleRepo: Send {
    /// Locks, in the global lock order (NFT, offers, users by ascending id), the NFT, `buyer`'s
    /// open offer on it and the accounts of `buyer` and of the NFT's owner. `None` when the NFT
    /// does not exist. Waiting for the NFT, it sees the owner the NFT has once its lock is free.
    ///
    /// # Errors
    /// MUST return [`RepoError::Transient`] when a lock cannot be taken in time or a deadlock is
    /// detected.
    async fn lock_sale(&mut self, nft: NftId, buyer: UserId) -> Result<Option<SaleLocks>, RepoError>;
}

/// Offers on NFTs.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OfferRepo: Send {
    /// Reads one offer without locking it.
    async fn get(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError>;

    /// Reads and locks one offer.
    async fn lock(&mut self, id: OfferId) -> Result<Option<Offer>, RepoError>;

    /// Locks and returns the open offer of `offerer` on `nft`, if any (at most one exists).
    async fn lock_open_by(&mut self, nft: NftId, offerer: UserId) -> Result<Option<Offer>, RepoError>;

    /// Locks and returns every open offer on `nft`, oldest first.
    async fn lock_open_for_nft(&mut self, nft: NftId) -> Result<Vec<Offer>, RepoError>;

    /// Locks and returns the open offers `offerer` made on any of `nfts`, in id order.
    async fn lock_open_by_on(&mut self, offerer: UserId, nfts: &[NftId]) -> Result<Vec<Offer>, RepoError>;

    /// # Errors
    /// MUST return [`RepoError::Duplicate`] when the offerer already has an open offer on the NFT.
    async fn insert(&mut self, offer: &Offer) -> Result<(), RepoError>;

    /// Writes an offer locked in this Unit of Work.
    ///
    /// # Errors
    /// Deferred by some adapters: a constraint it breaks surfaces as that error from the Unit of
    /// Work's next statement or its commit, not necessarily from this call.
    async fn update(&mut self, offer: &Offer) -> Result<(), RepoError>;
}

/// Collection offers (SPEC §3). Locked after NFTs and before single offers and users.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait CollectionOfferRepo: Send {
    /// Reads and locks one.
    async fn lock(&mut self, id: CollectionOfferId) -> Result<Option<CollectionOffer>, RepoError>;

    /// How many live collection offers `user` has — open and not past expiry at `now` (callers
    /// hold the user's lock).
    async fn count_open(&mut self, user: UserId, now: DateTime<Utc>) -> Result<u32, RepoError>;

    /// The best live offer `nft` matches that is not `not_by`'s — highest price, then oldest —
    /// read without a lock (lock it, then check it again).
    async fn best_for(
        &mut self,
        nft: &Nft,
        not_by: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<CollectionOffer>, RepoError>;

    async fn insert(&mut self, offer: &CollectionOffer) -> Result<(), RepoError>;

    /// Writes one locked in this Unit of Work (deferred by some adapters, like every update).
    async fn update(&mut self, offer: &CollectionOffer) -> Result<(), RepoError>;
}

/// Auctions and their bids.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuctionRepo: Send {
    /// Reads and locks one auction.
    async fn lock(&mut self, id: AuctionId) -> Result<Option<Auction>, RepoError>;

    /// # Errors
    /// MUST return [`RepoError::Duplicate`] when the NFT already has an active auction.
    async fn insert(&mut self, auction: &Auction) -> Result<(), RepoError>;

    /// Writes an auction locked in this Unit of Work.
    async fn update(&mut self, auction: &Auction) -> Result<(), RepoError>;

    /// Records a bid of an auction locked in this Unit of Work.
    async fn insert_bid(&mut self, bid: &Bid) -> Result<(), RepoError>;
}

/// Trades between two users.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TradeRepo: Send {
    /// Reads and locks one trade.
    async fn lock(&mut self, id: TradeId) -> Result<Option<Trade>, RepoError>;

    /// Records a new trade.
    ///
    /// # Errors
    /// [`RepoError::MissingReference`] ([`Constraint::TradeParty`](crate::Constraint::TradeParty))
    /// when a party has no account.
    async fn insert(&mut self, trade: &Trade) -> Result<(), RepoError>;

    /// Writes a trade locked in this Unit of Work.
    async fn update(&mut self, trade: &Trade) -> Result<(), RepoError>;

    /// How many open trades `maker` has that have not expired at `now`. Callers hold the maker's
    /// row lock, so two proposals of one maker cannot both pass a limit.
    async fn count_live_by_maker(&mut self, maker: UserId, now: DateTime<Utc>) -> Result<u32, RepoError>;
}

/// Channel listings and sales.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ChannelSaleRepo: Send {
    /// Reads and locks one listing or sale.
    async fn lock(&mut self, id: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError>;

    /// # Errors
    /// MUST return [`RepoError::Duplicate`] when the channel (`chat_id`) already has a listing or
    /// sale that is `listed` or `awaiting_transfer` (also when that one commits while this waits).
    async fn insert(&mut self, sale: &ChannelSale) -> Result<(), RepoError>;

    /// Writes a listing or sale locked in this Unit of Work.
    async fn update(&mut self, sale: &ChannelSale) -> Result<(), RepoError>;
}

/// Presales.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PresaleRepo: Send {
    /// Reads and locks one presale.
    async fn lock(&mut self, id: PresaleId) -> Result<Option<Presale>, RepoError>;

    /// Records a new presale.
    async fn insert(&mut self, presale: &Presale) -> Result<(), RepoError>;

    /// Writes a presale locked in this Unit of Work.
    async fn update(&mut self, presale: &Presale) -> Result<(), RepoError>;
}

/// Withdrawals to TON addresses.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WithdrawalRepo: Send {
    /// Reads and locks one withdrawal.
    async fn lock(&mut self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError>;

    /// Records a new withdrawal.
    async fn insert(&mut self, withdrawal: &Withdrawal) -> Result<(), RepoError>;

    /// Writes a withdrawal locked in this Unit of Work.
    async fn update(&mut self, withdrawal: &Withdrawal) -> Result<(), RepoError>;
}

/// The append-only money ledger.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LedgerRepo: Send {
    /// Appends balanced entries (callers build them with `Posting`, which refuses unbalanced ones).
    ///
    /// # Errors
    /// Deferred by some adapters: a constraint it breaks surfaces as that error from the Unit of
    /// Work's next statement or its commit, not necessarily from this call.
    async fn append(&mut self, entries: &[LedgerEntry]) -> Result<(), RepoError>;
}

/// Side effects to deliver after commit.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OutboxRepo: Send {
    /// Queues a message; it is delivered after (and only if) this Unit of Work commits.
    ///
    /// # Errors
    /// Deferred by some adapters: a constraint it breaks surfaces as that error from the Unit of
    /// Work's next statement or its commit, not necessarily from this call.
    async fn enqueue(&mut self, message: &OutboxMessage) -> Result<(), RepoError>;
}

/// Credited on-chain deposits.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait DepositRepo: Send {
    /// The credited deposit of `tx_hash`, if any (committed, or written in this Unit of Work).
    async fn find_by_tx_hash(&mut self, tx_hash: &str) -> Result<Option<Deposit>, RepoError>;

    /// # Errors
    /// MUST return [`RepoError::Duplicate`] when `tx_hash` is already recorded (also when the
    /// other record is committed only while this call waits).
    async fn insert(&mut self, deposit: &Deposit) -> Result<(), RepoError>;
}

/// Deposit memos and the deposit watcher's cursor.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ChainRepo: Send {
    /// The user's deposit memo, if they have one.
    async fn memo_of(&mut self, user: UserId) -> Result<Option<String>, RepoError>;

    /// # Errors
    /// MUST return [`RepoError::Duplicate`] when the user has a memo already or the memo is
    /// someone else's.
    async fn insert_memo(&mut self, user: UserId, memo: &str) -> Result<(), RepoError>;

    /// Whose memo `memo` is, if anyone's.
    async fn user_by_memo(&mut self, memo: &str) -> Result<Option<UserId>, RepoError>;

    /// Locks the watcher's cursor of `account` (first in the lock order), creating it empty;
    /// returns where it is (`None`: nothing handled yet).
    async fn lock_cursor(&mut self, account: &str) -> Result<Option<ChainCursor>, RepoError>;

    /// Moves the watcher's cursor of `account` (locked by [`ChainRepo::lock_cursor`] in this
    /// Unit of Work).
    async fn save_cursor(&mut self, account: &str, cursor: &ChainCursor) -> Result<(), RepoError>;
}

/// Incoming transfers no memo matched, kept for staff.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UnmatchedDepositRepo: Send {
    /// Keeps it, unless its transaction is kept already (then nothing changes: `false`). Never
    /// fails on the duplicate, so the Unit of Work can go on.
    async fn insert(&mut self, deposit: &UnmatchedDeposit) -> Result<bool, RepoError>;

    /// Reads and locks one unmatched deposit; `None` when it does not exist.
    async fn lock(&mut self, id: UnmatchedDepositId) -> Result<Option<UnmatchedDeposit>, RepoError>;

    /// Writes an unmatched deposit locked in this Unit of Work (e.g. assigned to a user).
    ///
    /// # Errors
    /// [`RepoError::MissingReference`]
    /// ([`Constraint::UnmatchedDepositAssignee`](crate::Constraint::UnmatchedDepositAssignee)) when
    /// the user it is assigned to has no account.
    async fn update(&mut self, deposit: &UnmatchedDeposit) -> Result<(), RepoError>;
}

/// What the gift rail receives: the Telegram updates seen, and the gifts on the business account
/// no NFT stands for (kept for staff).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait GiftInboxRepo: Send {
    /// Notes a Telegram update as handled in this Unit of Work: `true` the first time, `false`
    /// when it was handled before (then nothing changes). Never fails on the repeat.
    async fn claim_update(&mut self, update_id: i64, at: DateTime<Utc>) -> Result<bool, RepoError>;

    /// Keeps an unmatched gift, unless the same gift is kept unassigned already (then nothing
    /// changes: `false`). Never fails on the duplicate, so the Unit of Work can go on.
    async fn insert_unmatched(&mut self, gift: &UnmatchedGift) -> Result<bool, RepoError>;

    /// Reads and locks one unmatched gift; `None` when it does not exist.
    async fn lock_unmatched(&mut self, id: UnmatchedGiftId) -> Result<Option<UnmatchedGift>, RepoError>;

    /// Writes an unmatched gift locked in this Unit of Work (assigned to a user).
    ///
    /// # Errors
    /// [`RepoError::MissingReference`] ([`Constraint::UnmatchedGiftAssignee`](crate::Constraint::UnmatchedGiftAssignee))
    /// when the user it is assigned to has no account.
    async fn update_unmatched(&mut self, gift: &UnmatchedGift) -> Result<(), RepoError>;

    /// Replaces the gifts the last complete reconciliation found missing from the business
    /// account (NFTs in custody Telegram does not list), as of `at`; `audit` reports them.
    async fn replace_missing(&mut self, gift_ids: &[String], at: DateTime<Utc>) -> Result<(), RepoError>;
}

/// Market events, appended in the Unit of Work that causes them.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait EventRepo: Send {
    /// Appends market events; readers see them once this Unit of Work commits.
    ///
    /// # Errors
    /// Deferred by some adapters: a constraint it breaks surfaces as that error from the Unit of
    /// Work's next statement or its commit, not necessarily from this call.
    async fn append(&mut self, events: &[MarketEvent]) -> Result<(), RepoError>;
}

/// The audit trail of staff interventions; append-only.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait StaffActionRepo: Send {
    /// Records the action in this Unit of Work: it is kept exactly when the action commits.
    async fn record(&mut self, action: &StaffAction) -> Result<(), RepoError>;
}

/// Partner desk clients.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ClientRepo: Send {
    /// # Errors
    /// MUST return [`RepoError::Duplicate`] when the e-mail is taken.
    async fn insert(&mut self, client: &Client) -> Result<(), RepoError>;
}

/// Partner desk managers.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ManagerRepo: Send {
    /// Reads a manager and keeps it from changing until the Unit of Work ends (shared lock).
    async fn get_for_share(&mut self, id: ManagerId) -> Result<Option<Manager>, RepoError>;

    /// Records a new manager.
    async fn insert(&mut self, manager: &Manager) -> Result<(), RepoError>;
}

/// Client ↔ manager bindings.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ManagerBindRepo: Send {
    /// # Errors
    /// MUST return [`RepoError::MissingReference`] when the client or manager does not exist and
    /// [`RepoError::Duplicate`] when the pair is already bound.
    async fn insert(&mut self, bind: &ManagerBind) -> Result<(), RepoError>;
}

/// Keys claimed inside a Unit of Work.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait IdempotencyRepo: Send {
    /// Claims `key` in this Unit of Work.
    ///
    /// # Errors
    /// MUST NOT wait for another Unit of Work holding the same key: that is [`KeyClaim::InUse`].
    async fn claim(&mut self, key: &IdempotencyKey, now: DateTime<Utc>) -> Result<KeyClaim, RepoError>;
}
