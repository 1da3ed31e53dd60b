//! Offers: bids on an NFT whoever owns it. The price is held from the offerer while open.

pub mod accept;
pub mod cancel;
pub mod expire;
pub mod new;
pub mod refuse;
pub mod set_price;

use domain::*;

use crate::effects::{Accounts, Effects};
use crate::Error;

/// The sale of accepting `offer` (locked, live, not the owner's) for `nft` (locked, available):
/// the held price to the owner minus the fee, the NFT to the offerer (unlisted), the offer
/// `accepted`, the offerer told, an `offer_accepted` event. The caller writes the rows. Accepting
/// and instant sell share it.
pub(crate) fn accept_into(
    fx: &mut Effects<'_>,
    fees: FeeRule,
    accounts: &mut Accounts,
    offer: &mut Offer,
    nft: &mut Nft,
) -> Result<Money, Error> {
    let (owner, offerer) = (nft.owner_id, offer.offerer_id);
    let (fee, proceeds) = fees.split(offer.price);
    accounts.payee(offerer)?.take_held(offer.price);
    accounts.payee(owner)?.credit(proceeds);
    fx.record(fx.posting(Operation::OfferAccept, offer.id).sale(offerer, Account::Held, owner, proceeds, fee));
    offer.close(OfferStatus::Accepted);
    nft.transfer_to(offerer);
    fx.notify(offerer, format!("Your offer of {} TON for \"{}\" was accepted: it is yours.", offer.price, nft.title));
    fx.event(EventKind::OfferAccepted, nft, Some(offer.price));
    Ok(fee)
}
