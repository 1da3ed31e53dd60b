//! Auctions: open, bid (with anti-sniping and buy-now), cancel without bids, settle exactly once.

pub mod bid;
pub mod cancel;
pub mod new;
pub mod settle;

use domain::*;

use crate::effects::{Accounts, Effects};

/// Settles a locked, due auction over its locked NFT, shared by the settlement job and a buy-now
/// bid: with a winner, the NFT goes to them and their held bid to the seller minus the fee (their
/// own open offer on the NFT, if any, is released); without bids the NFT is simply back. Both
/// sides are told.
fn settle(
    auction: &mut Auction,
    nft: &mut Nft,
    winner_offer: Option<&mut Offer>,
    accounts: &mut Accounts,
    fx: &mut Effects<'_>,
    fees: FeeRule,
) -> Result<(), RepoError> {
    nft.status = NftStatus::Available;
    match auction.settle() {
        Some((winner, price)) => {
            let (fee, proceeds) = fees.split(price);
            accounts.payee(winner)?.take_held(price);
            accounts.payee(auction.seller_id)?.credit(proceeds);
            fx.record(fx.posting(Operation::AuctionSettle, auction.id).sale(
                winner,
                Account::Held,
                auction.seller_id,
                proceeds,
                fee,
            ));
            if let Some(offer) = winner_offer {
                offer.close(OfferStatus::Cancelled);
                accounts.payee(winner)?.release(offer.price);
                fx.record(fx.posting(Operation::OfferRelease, offer.id).release(winner, offer.price));
            }
            nft.transfer_to(winner);
            fx.event(EventKind::AuctionSettled, nft, Some(price)).in_auction(auction.id);
            fx.notify(winner, format!("You won \"{}\" for {price} TON.", nft.title));
            fx.notify(
                auction.seller_id,
                format!("Your auction of \"{}\" ended: sold for {price} TON, {proceeds} TON credited.", nft.title),
            );
        }
        None => {
            fx.event(EventKind::AuctionSettled, nft, None).in_auction(auction.id);
            fx.notify(auction.seller_id, format!("Your auction of \"{}\" ended without bids.", nft.title))
        }
    }
    Ok(())
}

#[cfg(test)]
mod fixtures {
    use super::*;
    use crate::testing::*;

    pub fn terms() -> AuctionTerms {
        AuctionTerms::new(m("10"), None, Some(m("100")), 3600).unwrap()
    }

    pub fn auction(leader: Option<(i64, &str)>) -> Auction {
        let mut a = Auction::open(AuctionId(uuid::Uuid::from_u128(5)), nft(1, None).id, UserId(1), &terms(), now());
        if let Some((u, amount)) = leader {
            a.leader_id = Some(UserId(u));
            a.current_bid = Some(m(amount));
            a.bid_count = 1;
        }
        a
    }
}
