//! The facts the audit checks, and the store's liveness.

use async_trait::async_trait;

use domain::*;

use rust_decimal::Decimal;

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
    /// Gifts of NFTs still in custody that the last complete reconciliation did not find on the
    /// business account.
    pub gifts_missing_from_account: Vec<String>,
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

#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// The raw facts the audit checks.
    async fn audit_facts(&self) -> Result<AuditFacts, RepoError>;
    /// Whether the store answers.
    async fn ping(&self) -> Result<(), RepoError>;
}
