//! Market events: what happened on the market, in the order it happened, written in the Unit of
//! Work that made it happen. Public ones make the activity feed and the collection statistics;
//! private ones (an offer to a user) reach only their recipient. Ids are time-ordered (UUIDv7),
//! so an id is also a position in the stream.

use chrono::{DateTime, Utc};

use crate::ids::{AuctionId, MarketEventId, UserId};
use crate::money::Money;
use crate::nft::Nft;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Listed,
    Unlisted,
    PriceChanged,
    /// Bought at its listed price.
    Sold,
    OfferMade,
    /// Sold to an offer.
    OfferAccepted,
    AuctionStarted,
    AuctionBid,
    /// Sold at auction (with a price) or ended without bids (without).
    AuctionSettled,
    /// NFTs swapped; a private trade's amounts are never shown.
    TradeCompleted,
    PresaleSold,
    PresaleDelivered,
    /// Private: someone offered on the recipient's NFT.
    OfferReceived,
}

const KINDS: [(EventKind, &str); 13] = [
    (EventKind::Listed, "listed"),
    (EventKind::Unlisted, "unlisted"),
    (EventKind::PriceChanged, "price_changed"),
    (EventKind::Sold, "sold"),
    (EventKind::OfferMade, "offer_made"),
    (EventKind::OfferAccepted, "offer_accepted"),
    (EventKind::AuctionStarted, "auction_started"),
    (EventKind::AuctionBid, "auction_bid"),
    (EventKind::AuctionSettled, "auction_settled"),
    (EventKind::TradeCompleted, "trade_completed"),
    (EventKind::PresaleSold, "presale_sold"),
    (EventKind::PresaleDelivered, "presale_delivered"),
    (EventKind::OfferReceived, "offer_received"),
];

impl EventKind {
    pub fn as_str(self) -> &'static str {
        KINDS.iter().find(|(k, _)| *k == self).map(|(_, s)| *s).expect("every kind is named")
    }

    pub fn parse(s: &str) -> Option<Self> {
        KINDS.iter().find(|(_, name)| *name == s).map(|(k, _)| *k)
    }

    pub fn all() -> impl Iterator<Item = EventKind> {
        KINDS.iter().map(|(k, _)| *k)
    }

    /// The NFT changed hands for this price: counted in sales and volume.
    pub fn is_sale(self) -> bool {
        matches!(self, EventKind::Sold | EventKind::OfferAccepted | EventKind::AuctionSettled)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketEvent {
    pub id: MarketEventId,
    pub kind: EventKind,
    pub collection: Option<String>,
    pub nft_id: Option<crate::ids::NftId>,
    pub auction_id: Option<AuctionId>,
    /// The price of a sale, listing, offer or bid; none for trades.
    pub price: Option<Money>,
    /// `None`: public. `Some`: only this user sees it.
    pub recipient: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

impl MarketEvent {
    /// A public event about `nft`.
    pub fn about(id: MarketEventId, kind: EventKind, nft: &Nft, price: Option<Money>, at: DateTime<Utc>) -> Self {
        Self {
            id,
            kind,
            collection: Some(nft.collection.clone()),
            nft_id: Some(nft.id),
            auction_id: None,
            price,
            recipient: None,
            created_at: at,
        }
    }

    /// The same event, for `user`'s eyes only.
    pub fn only_for(mut self, user: UserId) -> Self {
        self.recipient = Some(user);
        self
    }

    pub fn in_auction(&mut self, auction: AuctionId) -> &mut Self {
        self.auction_id = Some(auction);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_its_name() {
        for k in EventKind::all() {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("nope"), None);
        assert!(EventKind::Sold.is_sale() && !EventKind::Listed.is_sale());
    }
}
