//! Ports to the outside world. They are called only after commit, by the outbox relay, so every
//! call must be safe to repeat: receivers deduplicate by the id passed in.

use std::time::Duration;

use async_trait::async_trait;

use crate::chain::{ChainCursor, ChainTransaction};
use crate::channel::{ChannelInfo, ChannelRef};
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
}

/// Sends a Telegram message to a user (Bot API `sendMessage`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends `text` to `user`; `message` lets the receiver deduplicate a repeated delivery. Never
    /// fails: the outcome says whether to retry.
    async fn notify(&self, user: UserId, text: &str, message: OutboxId) -> Delivery;
}

/// Returns a gift to its owner's Telegram account (Bot API `transferGift` through a business
/// connection).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait GiftTransfer: Send + Sync {
    /// Transfers the gift `gift_id` to `to`; `message` deduplicates repeats. Never fails: the
    /// outcome says whether to retry.
    async fn transfer(&self, gift_id: &str, to: UserId, message: OutboxId) -> Delivery;
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
