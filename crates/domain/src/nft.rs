//! An NFT (a collectible gift) in custody, and its rules of sale.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::RuleViolation;
use crate::gift::{transferable, GiftTraits, ReceivedGift, TelegramGift};
use crate::ids::*;
use crate::money::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NftStatus {
    Available,
    OnAuction,
    Withdrawing,
    Withdrawn,
    /// Offered in an open trade: not buyable, listable, auctionable or returnable.
    InTrade,
}

impl NftStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            NftStatus::Available => "available",
            NftStatus::OnAuction => "on_auction",
            NftStatus::Withdrawing => "withdrawing",
            NftStatus::Withdrawn => "withdrawn",
            NftStatus::InTrade => "in_trade",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "available" => NftStatus::Available,
            "on_auction" => NftStatus::OnAuction,
            "withdrawing" => NftStatus::Withdrawing,
            "withdrawn" => NftStatus::Withdrawn,
            "in_trade" => NftStatus::InTrade,
            _ => return None,
        })
    }
}

/// A collectible gift held in custody for its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nft {
    pub id: NftId,
    pub gift_id: String,
    pub title: String,
    pub collection: String,
    pub owner_id: UserId,
    /// `Some` when listed for sale.
    pub price: Option<Money>,
    pub status: NftStatus,
    pub created_at: DateTime<Utc>,
    /// When it was last listed (or its price last changed); the newest-first order uses the later
    /// of this and `created_at`.
    pub listed_at: Option<DateTime<Utc>>,
    /// Number, model, backdrop, symbol: what prices it (all `None` when registered without).
    pub traits: GiftTraits,
    /// When Telegram lets the gift leave custody; `None`: now.
    pub can_transfer_at: Option<DateTime<Utc>>,
    /// Telegram's handles when the gift is held on the business account (the gift rail).
    pub telegram: Option<TelegramGift>,
}

impl Nft {
    /// Lists (`Some`) or unlists (`None`) the NFT at `now`. Owner only; the NFT must be
    /// `available`.
    pub fn set_price(&mut self, by: UserId, price: Option<Money>, now: DateTime<Utc>) -> Result<(), RuleViolation> {
        if self.owner_id != by {
            return Err(RuleViolation::NotOwner);
        }
        if self.status != NftStatus::Available {
            return Err(RuleViolation::NftUnavailable);
        }
        if price.is_some() {
            self.listed_at = Some(now);
        }
        self.price = price;
        Ok(())
    }

    /// Checks that `buyer` may buy the NFT now and returns the price to pay.
    pub fn price_for(&self, buyer: UserId, expected: Option<Money>) -> Result<Money, RuleViolation> {
        if self.owner_id == buyer {
            return Err(RuleViolation::OwnItem);
        }
        if self.status != NftStatus::Available {
            return Err(RuleViolation::NftUnavailable);
        }
        let price = self.price.ok_or(RuleViolation::NotForSale)?;
        if let Some(expected) = expected {
            if expected != price {
                return Err(RuleViolation::PriceChanged { current: price });
            }
        }
        Ok(price)
    }

    /// Checks that `user` owns the NFT and it is `available` (in custody, not on auction).
    pub fn ensure_owned_available(&self, user: UserId) -> Result<(), RuleViolation> {
        if self.owner_id != user {
            return Err(RuleViolation::NotOwner);
        }
        self.ensure_available()
    }

    pub fn ensure_available(&self) -> Result<(), RuleViolation> {
        if self.status != NftStatus::Available {
            return Err(RuleViolation::NftUnavailable);
        }
        Ok(())
    }

    /// Checks that Telegram lets the gift leave custody at `now`.
    pub fn ensure_transferable(&self, now: DateTime<Utc>) -> Result<(), RuleViolation> {
        match self.can_transfer_at {
            Some(until) if !transferable(Some(until), now) => Err(RuleViolation::GiftLocked { until }),
            _ => Ok(()),
        }
    }

    /// A gift that left custody comes back from `sender`: the same NFT, `available` and unlisted
    /// again, with Telegram's new handles. `false` (nothing changed) unless it had left, or when
    /// `gift` is the very message it left after (the same `owned_gift_id`: an old update again).
    pub fn come_back(&mut self, sender: UserId, gift: &ReceivedGift) -> bool {
        let same_message = self.telegram.as_ref().is_some_and(|t| t.owned_gift_id == gift.telegram.owned_gift_id);
        if self.status != NftStatus::Withdrawn || same_message {
            return false;
        }
        self.owner_id = sender;
        self.price = None;
        self.status = NftStatus::Available;
        self.telegram = Some(gift.telegram.clone());
        self.can_transfer_at = gift.can_transfer_at;
        true
    }

    /// Hands the NFT to a new owner; any listing ends.
    pub fn transfer_to(&mut self, new_owner: UserId) {
        self.owner_id = new_owner;
        self.price = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nft(owner: i64, price: Option<&str>) -> Nft {
        Nft {
            id: NftId(uuid::Uuid::nil()),
            gift_id: "g".into(),
            title: "t".into(),
            collection: "c".into(),
            owner_id: UserId(owner),
            price: price.map(|p| Money::parse(p).unwrap()),
            status: NftStatus::Available,
            created_at: Utc::now(),
            listed_at: None,
            traits: GiftTraits::default(),
            can_transfer_at: None,
            telegram: None,
        }
    }

    fn received(owned: &str) -> ReceivedGift {
        ReceivedGift {
            gift_id: "g".into(),
            collection: "c".into(),
            traits: GiftTraits::default(),
            telegram: TelegramGift { owned_gift_id: owned.into(), transfer_star_count: Some(25) },
            can_transfer_at: Some(Utc::now()),
            from_blockchain: false,
        }
    }

    #[test]
    fn a_gift_that_left_comes_back_available_to_its_new_sender() {
        let mut n = nft(1, None);
        n.telegram = Some(TelegramGift { owned_gift_id: "10".into(), transfer_star_count: None });
        assert!(!n.come_back(UserId(2), &received("11")), "still in custody: nothing changes");
        n.status = NftStatus::Withdrawn;
        n.price = Some(Money::parse("5").unwrap());
        assert!(!n.come_back(UserId(2), &received("10")), "the message it left after, again");
        assert_eq!(n.status, NftStatus::Withdrawn);
        let back = received("11");
        assert!(n.come_back(UserId(2), &back));
        assert_eq!((n.owner_id, n.status, n.price), (UserId(2), NftStatus::Available, None));
        assert_eq!(n.telegram, Some(back.telegram.clone()));
        assert_eq!(n.can_transfer_at, back.can_transfer_at);
    }

    #[test]
    fn a_gift_locked_by_telegram_cannot_leave_before_its_time() {
        let now = Utc::now();
        let mut n = nft(1, None);
        assert_eq!(n.ensure_transferable(now), Ok(()));
        n.can_transfer_at = Some(now);
        assert_eq!(n.ensure_transferable(now), Ok(()));
        let until = now + chrono::Duration::hours(1);
        n.can_transfer_at = Some(until);
        assert_eq!(n.ensure_transferable(now), Err(RuleViolation::GiftLocked { until }));
    }

    #[test]
    fn buying_checks_owner_listing_status_and_expected_price() {
        assert_eq!(nft(1, Some("5")).price_for(UserId(1), None), Err(RuleViolation::OwnItem));
        assert_eq!(nft(1, None).price_for(UserId(2), None), Err(RuleViolation::NotForSale));
        let mut n = nft(1, Some("5"));
        n.status = NftStatus::Withdrawing;
        assert_eq!(n.price_for(UserId(2), None), Err(RuleViolation::NftUnavailable));
        assert_eq!(
            nft(1, Some("5")).price_for(UserId(2), Some(Money::parse("4").unwrap())),
            Err(RuleViolation::PriceChanged { current: Money::parse("5").unwrap() })
        );
        assert_eq!(
            nft(1, Some("5")).price_for(UserId(2), Some(Money::parse("5.0").unwrap())).unwrap().to_string(),
            "5"
        );
    }

    #[test]
    fn only_the_owner_sets_the_price_of_an_available_nft() {
        let mut n = nft(1, None);
        assert_eq!(n.set_price(UserId(2), Some(Money::parse("1").unwrap()), Utc::now()), Err(RuleViolation::NotOwner));
        n.set_price(UserId(1), Some(Money::parse("1").unwrap()), Utc::now()).unwrap();
        n.status = NftStatus::OnAuction;
        assert_eq!(n.set_price(UserId(1), None, Utc::now()), Err(RuleViolation::NftUnavailable));
    }

    #[test]
    fn every_status_round_trips_its_name() {
        for (status, name) in [
            (NftStatus::Available, "available"),
            (NftStatus::OnAuction, "on_auction"),
            (NftStatus::Withdrawing, "withdrawing"),
            (NftStatus::Withdrawn, "withdrawn"),
            (NftStatus::InTrade, "in_trade"),
        ] {
            assert_eq!(status.as_str(), name);
            assert_eq!(NftStatus::parse(name), Some(status));
        }
        assert_eq!(NftStatus::parse("Available"), None);
        assert_eq!(NftStatus::parse(""), None);
    }

    #[test]
    fn the_owner_lists_and_unlists_an_available_nft() {
        let mut n = nft(1, None);
        let at = Utc::now();
        assert_eq!(n.set_price(UserId(1), Some(Money::parse("3").unwrap()), at), Ok(()));
        assert_eq!((n.price, n.listed_at), (Some(Money::parse("3").unwrap()), Some(at)));
        assert_eq!(n.set_price(UserId(1), None, at + chrono::Duration::seconds(1)), Ok(()));
        assert_eq!((n.price, n.listed_at), (None, Some(at)), "unlisting keeps the last listing's time");
    }

    #[test]
    fn a_listed_available_nft_is_sold_to_someone_else_at_its_price() {
        assert_eq!(nft(1, Some("5")).price_for(UserId(2), None), Ok(Money::parse("5").unwrap()));
        let mut n = nft(1, Some("5"));
        n.status = NftStatus::InTrade;
        assert_eq!(n.price_for(UserId(1), None), Err(RuleViolation::OwnItem), "ownership is checked first");
    }

    #[test]
    fn only_the_owner_of_an_available_nft_passes_the_ownership_check() {
        let mut n = nft(1, None);
        assert_eq!(n.ensure_owned_available(UserId(1)), Ok(()));
        assert_eq!(n.ensure_owned_available(UserId(2)), Err(RuleViolation::NotOwner));
        n.status = NftStatus::OnAuction;
        assert_eq!(n.ensure_owned_available(UserId(1)), Err(RuleViolation::NftUnavailable));
        assert_eq!(n.ensure_owned_available(UserId(2)), Err(RuleViolation::NotOwner));
    }

    #[test]
    fn only_an_available_nft_is_available() {
        let mut n = nft(1, None);
        assert_eq!(n.ensure_available(), Ok(()));
        for status in [NftStatus::OnAuction, NftStatus::Withdrawing, NftStatus::Withdrawn, NftStatus::InTrade] {
            n.status = status;
            assert_eq!(n.ensure_available(), Err(RuleViolation::NftUnavailable), "{status:?}");
        }
    }

    #[test]
    fn a_transfer_changes_the_owner_and_ends_the_listing() {
        let mut n = nft(1, Some("5"));
        n.transfer_to(UserId(2));
        assert_eq!((n.owner_id, n.price), (UserId(2), None));
    }
}
