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

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::testing::*;

    fn side(nfts: usize, amount: Option<&str>) -> TradeSide {
        TradeSide {
            nft_ids: (0..nfts as u128).map(|i| nft_of(i, 0, NftStatus::Available).id).collect(),
            amount: amount.map(m),
        }
    }

    #[test]
    fn a_side_is_described_by_its_nfts_and_its_ton() {
        assert_eq!(describe(&side(1, Some("3"))), "1 NFT and 3 TON");
        assert_eq!(describe(&side(3, None)), "3 NFTs");
        assert_eq!(describe(&side(0, Some("5"))), "5 TON");
        assert_eq!(describe(&side(0, None)), "nothing");
    }

    #[tokio::test]
    async fn unwinding_releases_the_hold_and_frees_only_the_makers_nfts_in_trade() {
        let s = services();
        let mut fx = Effects::new(&s);
        let mut accounts = Accounts::locked(vec![user(MAKER, "1", "3")]);
        let mut t = trade();
        let mut give = vec![
            nft_of(1, MAKER, NftStatus::InTrade),
            nft_of(3, MAKER, NftStatus::OnAuction),
            nft_of(4, TAKER, NftStatus::InTrade),
        ];
        unwind(&mut t, TradeStatus::Cancelled, &mut give, &mut accounts, &mut fx).unwrap();
        assert_eq!(t.status, TradeStatus::Cancelled);
        assert_eq!(
            give.iter().map(|n| n.status).collect::<Vec<_>>(),
            [NftStatus::Available, NftStatus::OnAuction, NftStatus::InTrade]
        );
        assert_eq!(*accounts.payee(UserId(MAKER)).unwrap(), user(MAKER, "4", "0"));
        let (mut ledger, entries) = ledger_recording();
        fx.write_ledger(&mut ledger).await.unwrap();
        assert_eq!(entries.lines(), [(Some(MAKER), Account::Held, d("-3")), (Some(MAKER), Account::Available, d("3"))]);
    }

    #[tokio::test]
    async fn unwinding_a_trade_without_ton_moves_no_money() {
        let s = services();
        let mut fx = Effects::new(&s);
        let mut accounts = Accounts::locked(vec![]);
        let mut t = trade();
        t.give.amount = None;
        let mut give = vec![nft_of(1, MAKER, NftStatus::InTrade)];
        unwind(&mut t, TradeStatus::Expired, &mut give, &mut accounts, &mut fx).unwrap();
        assert_eq!((t.status, give[0].status), (TradeStatus::Expired, NftStatus::Available));
        let (mut ledger, entries) = ledger_recording();
        fx.write_ledger(&mut ledger).await.unwrap();
        assert_eq!(entries.lines(), []);
    }

    #[tokio::test]
    async fn only_a_party_sees_a_trade() {
        for (by, seen) in [(MAKER, true), (TAKER, true), (9, false)] {
            let mut trades = domain::ports::MockTradeRepo::new();
            trades.expect_lock().returning(|_| Ok(Some(trade())));
            let r = lock_for(&mut trades, trade().id, UserId(by)).await;
            assert_eq!(r.map(|t| t.id), if seen { Ok(trade().id) } else { Err(Error::NotFound("trade")) });
        }
        let mut trades = domain::ports::MockTradeRepo::new();
        trades.expect_lock().returning(|_| Ok(None));
        assert_eq!(lock_for(&mut trades, trade().id, UserId(MAKER)).await, Err(Error::NotFound("trade")));
    }
}
