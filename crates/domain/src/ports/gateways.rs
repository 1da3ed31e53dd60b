//! Ports to the outside world. They are called only after commit, by the outbox relay, so every
//! call must be safe to repeat: receivers deduplicate by the id passed in.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::chain::{ChainCursor, ChainTransaction};
use crate::channel::{ChannelInfo, ChannelRef};
use crate::gift::ReceivedGift;
use crate::ids::{OutboxId, UserId, WithdrawalId};
use crate::money::Money;

/// What one delivery attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Failed for now (timeout, 5xx, 429): try again, not before `after` when given.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Refused for good (4xx): do not try again.
    Rejected(String),
    /// Not a failure: the receiver cannot take it yet and says when to ask again (a gift Telegram
    /// still locks, a business account short of Stars). Waiting does not use up attempts.
    NotYet {
        after: Duration,
        reason: String,
    },
}

/// Sends a Telegram message to a user (Bot API `sendMessage`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends `text` to `user`; `message` lets the receiver deduplicate a repeated delivery. Never
    /// fails: the outcome says whether to retry.
    async fn notify(&self, user: UserId, text: &str, message: OutboxId) -> Delivery;
}

/// A gift to return: which, to whom, and what Telegram needs for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GiftReturn {
    pub gift_id: String,
    /// Telegram's id of the gift on the business account; `None` for a gift registered by staff
    /// (then `gift_id` is what there is).
    pub owned_gift_id: Option<String>,
    /// Stars the transfer costs (`transfer_star_count`).
    pub star_count: Option<u32>,
    pub to: UserId,
}

/// Returns a gift to its owner's Telegram account (Bot API `transferGift` through a business
/// connection).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait GiftTransfer: Send + Sync {
    /// Transfers the gift to its owner; `message` deduplicates repeats. Never fails: the outcome
    /// says whether it was delivered, refused for good, worth retrying, or not possible yet.
    async fn transfer(&self, gift: &GiftReturn, message: OutboxId) -> Delivery;
}

/// A gift the business account holds, as `getBusinessAccountGifts` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedGift {
    /// Who sent it, when Telegram says (`sender_user`).
    pub sender: Option<UserId>,
    pub gift: ReceivedGift,
}

/// One page of the business account's unique gifts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedGiftsPage {
    pub gifts: Vec<OwnedGift>,
    /// Unique gifts on the page that could not be read (why, each): counted and logged.
    pub unreadable: Vec<String>,
    /// Where the next page starts; `None` after the last page.
    pub next_offset: Option<String>,
}

/// Lists the gifts the business account holds (Bot API `getBusinessAccountGifts`, unique gifts
/// only). Called outside any Unit of Work.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait GiftInventory: Send + Sync {
    /// The page of unique gifts starting at `offset` (`""`: the first).
    ///
    /// # Errors
    /// [`GatewayUnavailable`] when Telegram cannot answer now: the pass stops, the next one asks
    /// again.
    async fn owned_gifts(&self, offset: &str) -> Result<OwnedGiftsPage, GatewayUnavailable>;
}

/// A payout to send; the withdrawal id is the gateway's idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutRequest {
    pub withdrawal_id: WithdrawalId,
    pub address: String,
    pub amount: Money,
}

/// What the gateway says about a payout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayoutStatus {
    Sent {
        tx_hash: String,
    },
    /// Definitely refused (bad address, limits…): nothing was or will be paid.
    Rejected(String),
    /// Accepted, not yet on chain.
    Pending,
    /// The gateway has never seen this id (lookup only).
    NotFound,
}

/// The outcome is unknown or the gateway is busy: ask again later with the same id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("payout gateway unavailable: {reason}")]
pub struct GatewayUnavailable {
    pub retry_after: Option<Duration>,
    pub reason: String,
}

/// Sends TON payouts. The gateway is idempotent by withdrawal id: sending the same id twice pays
/// once.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PayoutGateway: Send + Sync {
    /// Sends the payout, or reports the one already sent for this withdrawal.
    ///
    /// # Errors
    /// [`GatewayUnavailable`] when the outcome is unknown: ask again ([`PayoutGateway::lookup`]).
    async fn send(&self, payout: &PayoutRequest) -> Result<PayoutStatus, GatewayUnavailable>;
    /// What became of the payout of withdrawal `id` ([`PayoutStatus::NotFound`] if never sent).
    ///
    /// # Errors
    /// [`GatewayUnavailable`] when the gateway cannot tell now.
    async fn lookup(&self, id: WithdrawalId) -> Result<PayoutStatus, GatewayUnavailable>;
}

/// Why a channel could not be inspected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Telegram knows no such channel (or will not tell this bot about it).
    #[error("channel not found: {0}")]
    NotFound(String),
    /// Telegram is unreachable or asks to wait: try again later.
    #[error("telegram unavailable: {reason}")]
    Unavailable { retry_after: Option<Duration>, reason: String },
}

/// Looks channels up in Telegram: who owns them and whether the marketplace bot administers them.
/// Called outside any Unit of Work (it is an HTTP call); the Unit of Work re-checks its own rows.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ChannelDirectory: Send + Sync {
    /// `claimed_owner` is who the caller believes owns the channel. The Telegram adapter ignores
    /// it; the stand-in used when Telegram is not configured can see nothing, so it reports that
    /// claim as the truth (and says so in the log).
    async fn inspect(&self, channel: &ChannelRef, claimed_owner: UserId) -> Result<ChannelInfo, DirectoryError>;
}

/// A TON indexer's view of an account (TON Center API v3 or a compatible one).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ChainIndexer: Send + Sync {
    /// Up to `limit` transactions of `account` that come after `after` (from the first one when
    /// `None`), oldest first.
    async fn transactions_after(
        &self,
        account: &str,
        after: Option<ChainCursor>,
        limit: u32,
    ) -> Result<Vec<ChainTransaction>, GatewayUnavailable>;
}

/// The marketplace wallet as the chain has it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletState {
    pub balance: Money,
    /// The seqno its next external message must carry.
    pub seqno: u32,
    /// Deployed: its first message need not carry its code.
    pub deployed: bool,
}

/// An outgoing transfer of a wallet, to look for on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferQuery {
    /// The wallet (raw form `0:<hex>`).
    pub wallet: String,
    /// The hash (base64) of the signed external message that carries it.
    pub msg_hash: String,
    /// Where it pays, how much and with which text comment.
    pub destination: String,
    pub amount: Money,
    pub comment: String,
    /// Only the wallet's transactions between these times are looked at.
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// The wallet transaction found for a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferOnChain {
    pub tx_hash: String,
    /// It went through and sent the payout. `false`: the transaction was started by the transfer's
    /// message (its seqno is used) but did not pay (the wallet could not).
    pub paid: bool,
}

/// The chain as the marketplace wallet needs it (an indexer's HTTP API): its state, its
/// transfers, and a way to broadcast its signed messages.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait WalletChain: Send + Sync {
    /// The state of the wallet at `address` (raw or user-friendly form): balance, seqno (0 for a
    /// wallet never deployed) and whether it is deployed.
    ///
    /// # Errors
    /// [`GatewayUnavailable`] when the indexer cannot be reached, refuses, or answers something
    /// unreadable.
    async fn wallet_state(&self, address: &str) -> Result<WalletState, GatewayUnavailable>;

    /// The wallet transaction of `transfer` within its time window: the first one either started by
    /// its external message (by hash) or that went through and sent a message with its comment,
    /// destination and amount. `None` when the indexer shows neither (yet).
    ///
    /// # Errors
    /// [`GatewayUnavailable`] when the indexer cannot be reached, refuses, or answers something
    /// unreadable.
    async fn find_transfer(&self, transfer: &TransferQuery) -> Result<Option<TransferOnChain>, GatewayUnavailable>;

    /// Broadcasts a signed external message (base64 BOC). Success means the indexer accepted it,
    /// not that it landed; sending one again is harmless (it applies at most once).
    ///
    /// # Errors
    /// [`GatewayUnavailable`] when it was not accepted, or the answer was lost: it may or may not
    /// have been sent.
    async fn broadcast(&self, boc: &str) -> Result<(), GatewayUnavailable>;
}

/// One transfer of the wallet to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferToSign {
    /// The wallet's seqno it uses.
    pub seqno: u32,
    /// Raw (`0:<hex>`, bounceable) or user-friendly (bounceable as its flags say).
    pub destination: String,
    pub amount: Money,
    /// Text comment of the payout.
    pub comment: String,
    /// It can land until then (whole seconds).
    pub valid_until: DateTime<Utc>,
    /// The wallet is not deployed yet: the message carries its code.
    pub deploy: bool,
}

/// A signed external message, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransfer {
    /// Base64 BOC.
    pub boc: String,
    /// Base64 hash of the message cell: the name the chain gives it.
    pub msg_hash: String,
}

/// Why a transfer could not be signed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The destination is no TON address: signing it again will not help.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// Anything else (an amount beyond what a message carries, a cell that does not build).
    #[error("{0}")]
    Failed(String),
}

/// The marketplace wallet's key: its address, and signatures of its transfers. Pure: no I/O.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait TransferSigner: Send + Sync {
    /// The wallet's address, raw form (`0:<hex>`).
    fn raw_address(&self) -> String;

    /// The wallet's address, user-friendly and bounceable (`EQ…`, or `kQ…` on testnet).
    fn address(&self) -> String;

    /// Signs one transfer: an external message of the wallet carrying one internal message.
    ///
    /// # Errors
    /// [`SignError::InvalidAddress`] when the destination is no address; [`SignError::Failed`]
    /// otherwise.
    fn sign(&self, transfer: &TransferToSign) -> Result<SignedTransfer, SignError>;
}
