//! Collection offers (SPEC §3): standing bids for any gift that matches. What is left of the
//! price × quantity is held from the offerer while the offer is open.

pub mod cancel;
pub mod expire;
pub mod fill;
pub mod new;
pub mod set_price;

use domain::*;

use crate::effects::{Accounts, Effects};
use crate::Error;

/// Sells `nfts` (locked, the seller's, checked) into `offer` (locked, live, checked): for each, a
/// sale at the offer's price from the offerer's held funds — the fee to the fee account, the rest
/// to the seller, the NFT to the offerer (unlisted), a `sold` event; the offerer's own single
/// offers on these NFTs (`own_offers`, locked) closed and refunded; the offer counts them in.
/// Returns the NFTs as they are now and the closed single offers, for the caller to write.
pub(crate) fn sell_into(
    fx: &mut Effects<'_>,
    fees: FeeRule,
    accounts: &mut Accounts,
    offer: &mut CollectionOffer,
    seller: UserId,
    mut nfts: Vec<Nft>,
    own_offers: Vec<Offer>,
) -> Result<(Vec<Nft>, Vec<Offer>), Error> {
    let offerer = offer.user_id;
    offer.take(nfts.len() as u32)?;
    let (fee, proceeds) = fees.split(offer.price);
    for nft in &mut nfts {
        accounts.payee(offerer)?.take_held(offer.price);
        accounts.payee(seller)?.credit(proceeds);
        fx.record(fx.posting(Operation::CollectionOfferFill, nft.id).sale(
            offerer,
            Account::Held,
            seller,
            proceeds,
            fee,
        ));
        nft.transfer_to(offerer);
        fx.event(EventKind::Sold, nft, Some(offer.price));
    }
    let mut closed = Vec::new();
    for mut own in own_offers.into_iter().filter(|o| o.offerer_id == offerer && o.status == OfferStatus::Open) {
        own.close(OfferStatus::Cancelled);
        accounts.payee(offerer)?.release(own.price);
        fx.record(fx.posting(Operation::OfferRelease, own.id).release(offerer, own.price));
        closed.push(own);
    }
    let n = nfts.len();
    let what = match n {
        1 => format!("\"{}\"", nfts[0].title),
        n => format!("{n} gifts"),
    };
    fx.notify(
        seller,
        format!("You sold {what} into a collection offer at {} TON each; {proceeds} TON each credited.", offer.price),
    );
    fx.notify(
        offerer,
        format!(
            "Your collection offer for {} got {what} at {} TON each ({} of {}).",
            offer.criteria.collection, offer.price, offer.filled, offer.quantity
        ),
    );
    Ok((nfts, closed))
}
