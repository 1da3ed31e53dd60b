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

    #[test]
    fn there_are_thirteen_kinds_each_named_once() {
        let names: Vec<&str> = EventKind::all().map(EventKind::as_str).collect();
        assert_eq!(
            names,
            [
                "listed",
                "unlisted",
                "price_changed",
                "sold",
                "offer_made",
                "offer_accepted",
                "auction_started",
                "auction_bid",
                "auction_settled",
                "trade_completed",
                "presale_sold",
                "presale_delivered",
                "offer_received",
            ]
        );
        assert_eq!(EventKind::parse("offer_received"), Some(EventKind::OfferReceived));
        assert_eq!(EventKind::parse("unlisted"), Some(EventKind::Unlisted));
        assert_eq!(EventKind::parse(""), None);
        assert_eq!(EventKind::parse("Listed"), None);
    }

    #[test]
    fn only_a_sale_an_accepted_offer_and_a_settled_auction_count_as_sales() {
        let sales: Vec<EventKind> = EventKind::all().filter(|k| k.is_sale()).collect();
        assert_eq!(sales, [EventKind::Sold, EventKind::OfferAccepted, EventKind::AuctionSettled]);
    }

    fn nft() -> Nft {
        Nft {
            id: crate::ids::NftId(uuid::Uuid::from_u128(7)),
            gift_id: "g-1".into(),
            title: "Plush Pepe #1".into(),
            collection: "Plush Pepe".into(),
            owner_id: UserId(1),
            price: None,
            status: crate::nft::NftStatus::Available,
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            listed_at: None,
            traits: Default::default(),
            can_transfer_at: None,
            telegram: None,
        }
    }

    #[test]
    fn an_event_about_an_nft_is_public_and_names_its_collection() {
        let at = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let price = Money::parse("2.5").unwrap();
        let id = MarketEventId(uuid::Uuid::from_u128(1));
        let e = MarketEvent::about(id, EventKind::Sold, &nft(), Some(price), at);
        assert_eq!(
            e,
            MarketEvent {
                id,
                kind: EventKind::Sold,
                collection: Some("Plush Pepe".into()),
                nft_id: Some(crate::ids::NftId(uuid::Uuid::from_u128(7))),
                auction_id: None,
                price: Some(price),
                recipient: None,
                created_at: at,
            }
        );
    }

    #[test]
    fn a_private_event_keeps_everything_but_gains_a_recipient() {
        let at = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let public =
            MarketEvent::about(MarketEventId(uuid::Uuid::from_u128(2)), EventKind::OfferReceived, &nft(), None, at);
        let private = public.clone().only_for(UserId(9));
        assert_eq!(private.recipient, Some(UserId(9)));
        assert_eq!(MarketEvent { recipient: None, ..private }, public);
    }

    #[test]
    fn an_event_in_an_auction_names_the_auction() {
        let at = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let mut e =
            MarketEvent::about(MarketEventId(uuid::Uuid::from_u128(3)), EventKind::AuctionBid, &nft(), None, at);
        let before = e.clone();
        let auction = AuctionId(uuid::Uuid::from_u128(4));
        let returned = e.in_auction(auction).clone();
        assert_eq!(returned.auction_id, Some(auction));
        assert_eq!(e.auction_id, Some(auction));
        assert_eq!(MarketEvent { auction_id: None, ..e }, before);
    }
}
