//! SQLSTATEs and constraint names → domain errors: the one place this schema's names are read.

use domain::{Constraint, RepoError};

/// The schema's constraints the domain tells apart (migrations name them).
fn constraint(name: &str) -> Option<Constraint> {
    Some(match name {
        "nfts_gift_id_key" => Constraint::GiftId,
        "nfts_owner_id_fkey" => Constraint::NftOwner,
        "offers_one_open_per_user_nft" => Constraint::OneOpenOfferPerUserAndNft,
        "auctions_one_active_per_nft" => Constraint::OneActiveAuctionPerNft,
        "channel_sales_one_live_per_chat" => Constraint::OneLiveSalePerChannel,
        "channel_sales_seller_id_fkey" => Constraint::ChannelSeller,
        "trades_maker_id_fkey" | "trades_taker_id_fkey" => Constraint::TradeParty,
        "deposits_tx_hash_key" => Constraint::DepositTxHash,
        "deposit_memos_pkey" => Constraint::OneMemoPerUser,
        "deposit_memos_memo_key" => Constraint::MemoTaken,
        "deposit_memos_user_id_fkey" => Constraint::MemoUser,
        "unmatched_deposits_assigned_to_fkey" => Constraint::UnmatchedDepositAssignee,
        "unmatched_gifts_assigned_to_fkey" => Constraint::UnmatchedGiftAssignee,
        "wallet_transfers_one_in_flight" => Constraint::OneTransferInFlightPerWallet,
        "wallet_transfers_one_live_per_withdrawal" => Constraint::OneTransferPerWithdrawal,
        "clients_email_key" => Constraint::ClientEmail,
        "manager_binds_pkey" => Constraint::ClientManagerPair,
        "manager_binds_client_id_fkey" => Constraint::BindingClient,
        "manager_binds_manager_id_fkey" => Constraint::BindingManager,
        "users_balance_nonneg" => Constraint::BalanceNonNegative,
        _ => return None,
    })
}

/// Translates a driver error. Transient conflicts (serialization failure 40001, deadlock 40P01,
/// lock timeout 55P03) become [`RepoError::Transient`] so the Unit of Work is retried whole.
pub fn map_err(e: sqlx::Error) -> RepoError {
    match &e {
        sqlx::Error::Database(db) => {
            let named = db.constraint().and_then(constraint);
            match (db.code().as_deref(), named) {
                (Some("23505"), Some(c)) => RepoError::Duplicate(c),
                (Some("23503"), Some(c)) => RepoError::MissingReference(c),
                (Some("23514"), Some(c)) => RepoError::Constraint(c),
                (Some("23505" | "23503" | "23514"), None) => RepoError::Other(format!(
                    "constraint {} the domain does not name: {}",
                    db.constraint().unwrap_or("?"),
                    db.message()
                )),
                (Some("40001") | Some("40P01") | Some("55P03"), _) => RepoError::Transient(db.message().to_string()),
                // Data exceptions (an invalid byte, a value out of range…): refused input.
                (Some(code), _) if code.starts_with("22") => RepoError::InvalidData(db.message().to_string()),
                (Some(code), _) if code.starts_with("08") || code.starts_with("57P") => {
                    RepoError::Unavailable(db.message().to_string())
                }
                _ => RepoError::Other(e.to_string()),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            RepoError::Unavailable(e.to_string())
        }
        sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => RepoError::Unavailable(e.to_string()),
        _ => RepoError::Other(e.to_string()),
    }
}
