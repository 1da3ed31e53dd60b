//! The journal of the marketplace wallet's signed transfers: what makes wallet payouts exactly
//! once. A transfer is recorded **before** it is sent; the store allows one transfer in flight
//! per wallet (one seqno in use at a time) and one in flight or landed per withdrawal (never two
//! payouts of one withdrawal). Used by [`WalletPayouts`](crate::withdrawals::WalletPayouts),
//! outside Units of Work.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{RepoError, WithdrawalId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferState {
    /// Signed and recorded; sent, or about to be. It may land until `valid_until`.
    InFlight,
    /// Found on chain with the payout's outgoing message.
    Landed,
    /// Past `valid_until` and shown by the chain never to have landed (or to have paid nothing).
    Expired,
}

impl TransferState {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::InFlight => "in_flight",
            TransferState::Landed => "landed",
            TransferState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "in_flight" => TransferState::InFlight,
            "landed" => TransferState::Landed,
            "expired" => TransferState::Expired,
            _ => return None,
        })
    }
}

/// One signed external message of the wallet, paying one withdrawal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletTransfer {
    /// The external message's hash (base64): how the chain names it.
    pub msg_hash: String,
    pub withdrawal_id: WithdrawalId,
    /// The wallet's address (raw form).
    pub wallet: String,
    pub seqno: u32,
    /// Where the payout goes and how much (to recognise it on chain).
    pub destination: String,
    pub amount: domain::Money,
    pub valid_until: DateTime<Utc>,
    /// The signed message (base64 BOC), to send again while it may still land.
    pub boc: String,
    pub state: TransferState,
    /// The wallet transaction that sent the payout, once landed.
    pub tx_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait WalletJournal: Send + Sync {
    /// The withdrawal's transfer in flight or landed, else its newest expired one.
    async fn transfer_of(&self, withdrawal: WithdrawalId) -> Result<Option<WalletTransfer>, RepoError>;

    /// The wallet's transfer in flight, if any.
    async fn in_flight(&self, wallet: &str) -> Result<Option<WalletTransfer>, RepoError>;

    /// Records a signed transfer as in flight.
    ///
    /// # Errors
    /// MUST return [`RepoError::Duplicate`] when the wallet has a transfer in flight, or the
    /// withdrawal one in flight or landed.
    async fn record(&self, transfer: &WalletTransfer) -> Result<(), RepoError>;

    /// Ends an in-flight transfer: landed (with the transaction) or expired. Does nothing to one
    /// that is not in flight. (`'a` is named for the mocks: `mockall` needs it.)
    async fn settle<'a>(&self, msg_hash: &str, state: TransferState, tx_hash: Option<&'a str>)
        -> Result<(), RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_state_is_stored_by_name_and_read_back() {
        let all = [TransferState::InFlight, TransferState::Landed, TransferState::Expired];
        assert_eq!(all.map(TransferState::as_str), ["in_flight", "landed", "expired"]);
        for s in all {
            assert_eq!(TransferState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn an_unknown_transfer_state_is_refused() {
        for s in ["", "InFlight", "sent", "landed "] {
            assert_eq!(TransferState::parse(s), None, "{s:?}");
        }
    }
}
