//! Reads of users, their ledger, their withdrawals and unmatched deposits.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use domain::*;

use super::{Page, PageRequest};

/// Users, their balances and their ledger.
#[async_trait]
pub trait UserReads: Send + Sync {
    /// A user with their balances; `None` before their first request or deposit.
    async fn user(&self, id: UserId) -> Result<Option<User>, RepoError>;
    /// The user's ledger entries, newest first.
    async fn ledger(&self, user: UserId, page: PageRequest) -> Result<Page<LedgerEntry>, RepoError>;
}

#[async_trait]
pub trait WithdrawalReads: Send + Sync {
    /// A user's withdrawals, newest first.
    async fn withdrawals(&self, user: UserId, page: PageRequest) -> Result<Page<Withdrawal>, RepoError>;
    /// One withdrawal; `None` when it does not exist.
    async fn withdrawal(&self, id: WithdrawalId) -> Result<Option<Withdrawal>, RepoError>;
    /// Everyone's withdrawals in `status`, newest first (the staff desk's queue).
    async fn withdrawals_in(&self, status: WithdrawalStatus, page: PageRequest) -> Result<Page<Withdrawal>, RepoError>;
}

/// The gift rail's inbox, for staff and the reconciler.
#[async_trait]
pub trait GiftReads: Send + Sync {
    /// Gifts on the business account no NFT stands for, newest first (assigned ones included).
    async fn unmatched_gifts(&self, page: PageRequest) -> Result<Page<UnmatchedGift>, RepoError>;

    /// The `gift_id`s of the NFTs registered before `registered_before` that the business
    /// account should hold: came through the gift rail (they have Telegram handles) and not being
    /// returned or returned.
    async fn gifts_in_custody(&self, registered_before: DateTime<Utc>) -> Result<Vec<String>, RepoError>;
}

#[async_trait]
pub trait DepositReads: Send + Sync {
    /// Incoming transfers no memo matched, newest first (assigned ones included).
    async fn unmatched_deposits(&self, page: PageRequest) -> Result<Page<UnmatchedDeposit>, RepoError>;
}
