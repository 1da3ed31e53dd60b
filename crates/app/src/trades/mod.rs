//! Trades: a direct swap between two users — NFTs and/or TON on each side, all of it in one Unit
//! of Work or none of it. Locks: the trade, then every NFT of it in id order, then the offers, then
//! both users in id order (ADR 002).

pub mod accept;
pub mod cancel;
pub mod decline;
pub mod expire;
pub mod propose;

use domain::*;

use crate::effects::{Accounts, Effects};
use crate::Error;

/// Closes an open trade without a swap: the maker's held amount is released and the `give` NFTs
/// (locked by the caller) are `available` again.
fn unwind(
    trade: &mut Trade,
    status: TradeStatus,
    give_nfts: &mut [Nft],
    accounts: &mut Accounts,
    fx: &mut Effects<'_>,
) -> Result<(), Error> {
    trade.close(status);
    if let Some(amount) = trade.give.amount {
        accounts.payee(trade.maker_id)?.release(amount);
        fx.record(fx.posting(Operation::TradeRelease, trade.id).release(trade.maker_id, amount));
    }
    for nft in give_nfts.iter_mut() {
        if nft.status == NftStatus::InTrade && nft.owner_id == trade.maker_id {
            nft.status = NftStatus::Available;
        } else {
            tracing::error!(trade = %trade.id, nft = %nft.id, "an NFT offered by an open trade was not in trade");
        }
    }
    Ok(())
}

/// "3 NFTs and 5 TON", for notices.
fn describe(side: &TradeSide) -> String {
    let nfts = match side.nft_ids.len() {
        0 => None,
        1 => Some("1 NFT".to_string()),
        n => Some(format!("{n} NFTs")),
    };
    let ton = side.amount.map(|a| format!("{a} TON"));
    match (nfts, ton) {
        (Some(n), Some(t)) => format!("{n} and {t}"),
        (Some(n), None) => n,
        (None, Some(t)) => t,
        (None, None) => "nothing".into(),
    }
}

/// Locks the trade for `by`: someone outside it learns nothing (not found).
async fn lock_for(trades: &mut dyn domain::ports::TradeRepo, id: TradeId, by: UserId) -> Result<Trade, Error> {
    trades.lock(id).await?.filter(|t| t.is_party(by)).ok_or(Error::NotFound("trade"))
}

#[cfg(test)]
mod fixtures {
    use super::*;
    use crate::testing::*;

    pub const MAKER: i64 = 1;
    pub const TAKER: i64 = 2;

    pub fn nft_of(id: u128, owner: i64, status: NftStatus) -> Nft {
        let mut n = nft(owner, None);
        n.id = NftId(uuid::Uuid::from_u128(100 + id));
        n.status = status;
        n
    }

    /// Maker gives NFT 1 and 3 TON for the taker's NFT 2 and 1 TON.
    pub fn trade() -> Trade {
        let terms = TradeTerms::new(
            UserId(MAKER),
            UserId(TAKER),
            TradeSide { nft_ids: vec![nft_of(1, MAKER, NftStatus::Available).id], amount: Some(m("3")) },
            TradeSide { nft_ids: vec![nft_of(2, TAKER, NftStatus::Available).id], amount: Some(m("1")) },
            None,
        )
        .unwrap();
        Trade::open(TradeId(uuid::Uuid::from_u128(77)), terms, now())
    }
}
