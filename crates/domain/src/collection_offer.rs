//! Collection offers (SPEC §3): a standing bid for *any* gift that matches the criteria — a
//! collection and, optionally, a model, a backdrop and a symbol — for up to `quantity` gifts at
//! `price` each. What is left (`price × remaining`) is held from the offerer while it is open.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::RuleViolation;
use crate::gift::Attribute;
use crate::ids::*;
use crate::money::Money;
use crate::nft::Nft;

/// The most gifts one collection offer asks for.
pub const MAX_QUANTITY: u32 = 50;
/// The most NFTs one fill hands over.
pub const MAX_FILL: usize = 10;
/// The most open collection offers a user may have.
pub const MAX_OPEN_PER_USER: u32 = 20;

/// What a gift must be to fill the offer: its collection, and each attribute named (by name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OfferCriteria {
    pub collection: String,
    pub model: Option<String>,
    pub backdrop: Option<String>,
    pub symbol: Option<String>,
}

impl OfferCriteria {
    /// The NFT is of the collection and carries every attribute named (an NFT without attributes
    /// matches only criteria that name none).
    pub fn matches(&self, nft: &Nft) -> bool {
        fn wanted(want: &Option<String>, has: &Option<Attribute>) -> bool {
            want.as_ref().is_none_or(|w| has.as_ref().is_some_and(|a| a.name == *w))
        }
        nft.collection == self.collection
            && wanted(&self.model, &nft.traits.model)
            && wanted(&self.backdrop, &nft.traits.backdrop)
            && wanted(&self.symbol, &nft.traits.symbol)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionOfferStatus {
    Open,
    Filled,
    Cancelled,
    Expired,
}

const STATUSES: [(CollectionOfferStatus, &str); 4] = [
    (CollectionOfferStatus::Open, "open"),
    (CollectionOfferStatus::Filled, "filled"),
    (CollectionOfferStatus::Cancelled, "cancelled"),
    (CollectionOfferStatus::Expired, "expired"),
];

impl CollectionOfferStatus {
    pub fn as_str(&self) -> &'static str {
        STATUSES.iter().find(|(s, _)| s == self).map(|(_, n)| *n).expect("every status is named")
    }

    pub fn parse(s: &str) -> Option<Self> {
        STATUSES.iter().find(|(_, n)| *n == s).map(|(st, _)| *st)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionOffer {
    pub id: CollectionOfferId,
    pub user_id: UserId,
    pub criteria: OfferCriteria,
    /// Paid for each gift.
    pub price: Money,
    /// How many gifts it asks for (1–50).
    pub quantity: u32,
    /// How many it has got.
    pub filled: u32,
    pub status: CollectionOfferStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl CollectionOffer {
    /// Gifts still wanted.
    pub fn remaining(&self) -> u32 {
        self.quantity.saturating_sub(self.filled)
    }

    /// What the offer holds from the offerer: the price of every gift still wanted while open,
    /// nothing once closed.
    pub fn held(&self) -> Money {
        match self.status {
            CollectionOfferStatus::Open => self.price.times(self.remaining()).unwrap_or(Money::ZERO),
            _ => Money::ZERO,
        }
    }

    /// Open and not past expiry at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status == CollectionOfferStatus::Open && now < self.expires_at
    }

    /// Checks that the offer can be acted on at `now` (an expired one is dead even before the
    /// expiry job has marked it).
    pub fn ensure_live(&self, now: DateTime<Utc>) -> Result<(), RuleViolation> {
        if self.is_live(now) {
            Ok(())
        } else {
            Err(RuleViolation::OfferNotOpen)
        }
    }

    /// Counts `n` gifts in; at `quantity` the offer is `filled`. More than remain: `offer_not_open`.
    pub fn take(&mut self, n: u32) -> Result<(), RuleViolation> {
        if self.status != CollectionOfferStatus::Open || n > self.remaining() {
            return Err(RuleViolation::OfferNotOpen);
        }
        self.filled += n;
        if self.remaining() == 0 {
            self.status = CollectionOfferStatus::Filled;
        }
        Ok(())
    }

    /// Closes an open offer with `status` (`cancelled` or `expired`); the caller releases
    /// [`held`](Self::held), read before.
    pub fn close(&mut self, status: CollectionOfferStatus) {
        debug_assert_eq!(self.status, CollectionOfferStatus::Open);
        self.status = status;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gift::GiftTraits;
    use crate::nft::NftStatus;
    use chrono::Duration;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn offer(quantity: u32) -> CollectionOffer {
        let now = Utc::now();
        CollectionOffer {
            id: CollectionOfferId(uuid::Uuid::nil()),
            user_id: UserId(1),
            criteria: OfferCriteria { collection: "Plush Pepe".into(), ..Default::default() },
            price: m("2.5"),
            quantity,
            filled: 0,
            status: CollectionOfferStatus::Open,
            expires_at: now + Duration::hours(1),
            created_at: now,
        }
    }

    fn gift(collection: &str, model: Option<&str>, backdrop: Option<&str>) -> Nft {
        let attr = |n: Option<&str>| n.map(|n| Attribute::new(n, 10).unwrap());
        Nft {
            id: NftId(uuid::Uuid::nil()),
            gift_id: "g".into(),
            title: "t".into(),
            collection: collection.into(),
            owner_id: UserId(2),
            price: None,
            status: NftStatus::Available,
            created_at: Utc::now(),
            listed_at: None,
            traits: GiftTraits { number: Some(1), model: attr(model), backdrop: attr(backdrop), symbol: None },
            can_transfer_at: None,
            telegram: None,
        }
    }

    #[test]
    fn criteria_name_a_collection_and_every_attribute_they_ask_for() {
        let any = OfferCriteria { collection: "Plush Pepe".into(), ..Default::default() };
        assert!(any.matches(&gift("Plush Pepe", None, None)), "only a collection: with or without attributes");
        assert!(any.matches(&gift("Plush Pepe", Some("Gold"), Some("Blue"))));
        assert!(!any.matches(&gift("Durov's Cap", Some("Gold"), None)), "another collection");
        let gold_blue = OfferCriteria { model: Some("Gold".into()), backdrop: Some("Blue".into()), ..any.clone() };
        assert!(gold_blue.matches(&gift("Plush Pepe", Some("Gold"), Some("Blue"))));
        assert!(!gold_blue.matches(&gift("Plush Pepe", Some("Gold"), Some("Red"))), "all attributes together");
        assert!(!gold_blue.matches(&gift("Plush Pepe", Some("Gold"), None)), "an attribute it lacks");
        assert!(!gold_blue.matches(&gift("Plush Pepe", None, None)));
        let symbol = OfferCriteria { symbol: Some("Star".into()), ..any };
        assert!(!symbol.matches(&gift("Plush Pepe", Some("Gold"), Some("Blue"))));
    }

    #[test]
    fn an_offer_holds_the_price_of_what_is_left_and_fills_at_quantity() {
        let mut o = offer(3);
        assert_eq!((o.remaining(), o.held()), (3, m("7.5")));
        o.take(2).unwrap();
        assert_eq!((o.filled, o.remaining(), o.held(), o.status), (2, 1, m("2.5"), CollectionOfferStatus::Open));
        assert_eq!(o.take(2), Err(RuleViolation::OfferNotOpen), "more than is left");
        assert_eq!(o.filled, 2, "a refused take changes nothing");
        o.take(1).unwrap();
        assert_eq!((o.remaining(), o.held(), o.status), (0, Money::ZERO, CollectionOfferStatus::Filled));
        assert_eq!(o.take(1), Err(RuleViolation::OfferNotOpen));
    }

    #[test]
    fn a_closed_or_expired_offer_holds_nothing_and_takes_nothing() {
        let mut o = offer(2);
        assert!(o.is_live(o.created_at));
        assert!(!o.is_live(o.expires_at), "expiry is exclusive");
        assert_eq!(o.ensure_live(o.expires_at), Err(RuleViolation::OfferNotOpen));
        o.close(CollectionOfferStatus::Cancelled);
        assert_eq!(o.held(), Money::ZERO);
        assert_eq!(o.take(1), Err(RuleViolation::OfferNotOpen));
    }

    #[test]
    fn every_status_round_trips_its_name() {
        for (s, n) in STATUSES {
            assert_eq!((s.as_str(), CollectionOfferStatus::parse(n)), (n, Some(s)));
        }
        assert_eq!(CollectionOfferStatus::parse("Open"), None);
    }
}
