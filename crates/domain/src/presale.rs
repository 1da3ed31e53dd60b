//! Presales: a gift sold before the seller can deliver it, backed by the seller's collateral.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::RuleViolation;
use crate::ids::*;
use crate::money::{Money, SCALE};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresaleStatus {
    Open,
    Sold,
    Delivered,
    Expired,
    Deleted,
}

impl PresaleStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PresaleStatus::Open => "open",
            PresaleStatus::Sold => "sold",
            PresaleStatus::Delivered => "delivered",
            PresaleStatus::Expired => "expired",
            PresaleStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => PresaleStatus::Open,
            "sold" => PresaleStatus::Sold,
            "delivered" => PresaleStatus::Delivered,
            "expired" => PresaleStatus::Expired,
            "deleted" => PresaleStatus::Deleted,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presale {
    pub id: PresaleId,
    pub seller_id: UserId,
    pub title: String,
    pub collection: String,
    pub price: Money,
    /// Held from the seller while the presale is open or sold.
    pub collateral: Money,
    pub deliver_by: DateTime<Utc>,
    pub buyer_id: Option<UserId>,
    pub status: PresaleStatus,
    pub nft_id: Option<NftId>,
    pub created_at: DateTime<Utc>,
}

/// `percent` % of `price`, rounded up to a nanoton (the buyer is never under-covered).
pub fn collateral_for(price: Money, percent: u32) -> Money {
    let c = (price.as_decimal() * Decimal::from(percent) / Decimal::from(100))
        .round_dp_with_strategy(SCALE, RoundingStrategy::AwayFromZero);
    Money::from_decimal(c).expect("collateral of a valid price is valid")
}

impl Presale {
    fn ensure_seller(&self, by: UserId) -> Result<(), RuleViolation> {
        if by != self.seller_id {
            return Err(RuleViolation::NotOwner);
        }
        Ok(())
    }

    fn ensure_open(&self, now: DateTime<Utc>) -> Result<(), RuleViolation> {
        if self.status != PresaleStatus::Open || now >= self.deliver_by {
            return Err(RuleViolation::PresaleSold);
        }
        Ok(())
    }

    /// New price and collateral; returns the collateral held before. Seller only, while unsold.
    pub fn reprice(
        &mut self,
        by: UserId,
        price: Money,
        percent: u32,
        now: DateTime<Utc>,
    ) -> Result<Money, RuleViolation> {
        self.ensure_seller(by)?;
        self.ensure_open(now)?;
        let old = self.collateral;
        self.price = price;
        self.collateral = collateral_for(price, percent);
        Ok(old)
    }

    /// Withdraws an unsold presale; returns the collateral to release. Seller only.
    pub fn delete(&mut self, by: UserId, now: DateTime<Utc>) -> Result<Money, RuleViolation> {
        self.ensure_seller(by)?;
        self.ensure_open(now)?;
        self.status = PresaleStatus::Deleted;
        Ok(self.collateral)
    }

    /// Sells to `buyer`; returns the price to hold from them.
    pub fn sell_to(
        &mut self,
        buyer: UserId,
        expected: Option<Money>,
        now: DateTime<Utc>,
    ) -> Result<Money, RuleViolation> {
        if buyer == self.seller_id {
            return Err(RuleViolation::OwnItem);
        }
        self.ensure_open(now)?;
        if let Some(e) = expected {
            if e != self.price {
                return Err(RuleViolation::PriceChanged { current: self.price });
            }
        }
        self.buyer_id = Some(buyer);
        self.status = PresaleStatus::Sold;
        Ok(self.price)
    }

    /// The gift arrived: returns the buyer.
    pub fn deliver(&mut self, nft: NftId) -> Result<UserId, RuleViolation> {
        let buyer = match (self.status, self.buyer_id) {
            (PresaleStatus::Sold, Some(b)) => b,
            _ => return Err(RuleViolation::PresaleNotSold),
        };
        self.status = PresaleStatus::Delivered;
        self.nft_id = Some(nft);
        Ok(buyer)
    }

    /// Past `deliver_by` without delivery (sold or not).
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status, PresaleStatus::Open | PresaleStatus::Sold) && now >= self.deliver_by
    }

    /// Expires an overdue presale. For a sold one returns `(buyer, half the collateral for the
    /// buyer, the rest for the fee account)`; for an unsold one `None` (collateral goes back).
    pub fn expire(&mut self) -> Option<(UserId, Money, Money)> {
        let sold = self.status == PresaleStatus::Sold;
        self.status = PresaleStatus::Expired;
        let buyer = self.buyer_id.filter(|_| sold)?;
        let half = Money::from_decimal(
            (self.collateral.as_decimal() / Decimal::from(2)).round_dp_with_strategy(SCALE, RoundingStrategy::ToZero),
        )
        .expect("half of a valid amount");
        let rest = self.collateral.checked_sub(half).expect("half never exceeds the whole");
        Some((buyer, half, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn presale() -> (Presale, DateTime<Utc>) {
        let now = Utc::now();
        let p = Presale {
            id: PresaleId(uuid::Uuid::nil()),
            seller_id: UserId(1),
            title: "t".into(),
            collection: "c".into(),
            price: m("10"),
            collateral: collateral_for(m("10"), 20),
            deliver_by: now + Duration::days(1),
            buyer_id: None,
            status: PresaleStatus::Open,
            nft_id: None,
            created_at: now,
        };
        (p, now)
    }

    #[test]
    fn collateral_is_a_percentage_rounded_up() {
        assert_eq!(collateral_for(m("10"), 20), m("2"));
        assert_eq!(collateral_for(m("0.000000001"), 20), m("0.000000001"));
    }

    #[test]
    fn only_the_seller_reprices_or_deletes_and_only_while_unsold() {
        let (mut p, now) = presale();
        assert_eq!(p.reprice(UserId(2), m("5"), 20, now), Err(RuleViolation::NotOwner));
        assert_eq!(p.reprice(UserId(1), m("5"), 20, now), Ok(m("2")));
        assert_eq!(p.collateral, m("1"));
        p.sell_to(UserId(2), None, now).unwrap();
        assert_eq!(p.clone().delete(UserId(1), now), Err(RuleViolation::PresaleSold));
        assert_eq!(p.reprice(UserId(1), m("6"), 20, now), Err(RuleViolation::PresaleSold));
    }

    #[test]
    fn a_sale_checks_buyer_state_and_expected_price() {
        let (mut p, now) = presale();
        assert_eq!(p.sell_to(UserId(1), None, now), Err(RuleViolation::OwnItem));
        assert_eq!(p.sell_to(UserId(2), Some(m("9")), now), Err(RuleViolation::PriceChanged { current: m("10") }));
        assert_eq!(p.clone().sell_to(UserId(2), None, p.deliver_by), Err(RuleViolation::PresaleSold));
        assert_eq!(p.sell_to(UserId(2), Some(m("10")), now), Ok(m("10")));
        assert_eq!(p.sell_to(UserId(3), None, now), Err(RuleViolation::PresaleSold));
    }

    #[test]
    fn expiry_of_a_sold_presale_splits_the_collateral() {
        let (mut p, now) = presale();
        p.collateral = m("0.000000003");
        p.sell_to(UserId(2), None, now).unwrap();
        assert_eq!(p.expire(), Some((UserId(2), m("0.000000001"), m("0.000000002"))));
        assert_eq!(p.status, PresaleStatus::Expired);
    }

    #[test]
    fn only_a_sold_presale_is_delivered() {
        let (mut p, now) = presale();
        assert_eq!(p.deliver(NftId(uuid::Uuid::nil())), Err(RuleViolation::PresaleNotSold));
        p.sell_to(UserId(2), None, now).unwrap();
        assert_eq!(p.deliver(NftId(uuid::Uuid::nil())), Ok(UserId(2)));
    }

    #[test]
    fn every_status_round_trips_its_name() {
        for (status, name) in [
            (PresaleStatus::Open, "open"),
            (PresaleStatus::Sold, "sold"),
            (PresaleStatus::Delivered, "delivered"),
            (PresaleStatus::Expired, "expired"),
            (PresaleStatus::Deleted, "deleted"),
        ] {
            assert_eq!(status.as_str(), name);
            assert_eq!(PresaleStatus::parse(name), Some(status));
        }
        assert_eq!(PresaleStatus::parse("Open"), None);
        assert_eq!(PresaleStatus::parse(""), None);
    }

    #[test]
    fn collateral_multiplies_the_price_by_the_percentage() {
        assert_eq!(collateral_for(m("250"), 40), m("100"));
        assert_eq!(collateral_for(m("3"), 100), m("3"));
        assert_eq!(collateral_for(m("0.000000003"), 50), m("0.000000002"), "1.5 nanotons round up");
        assert_eq!(collateral_for(m("7"), 0), Money::ZERO);
    }

    #[test]
    fn the_seller_deletes_an_open_presale_and_gets_the_collateral_back() {
        let (mut p, now) = presale();
        assert_eq!(p.delete(UserId(2), now), Err(RuleViolation::NotOwner));
        assert_eq!(p.status, PresaleStatus::Open);
        assert_eq!(p.delete(UserId(1), now), Ok(m("2")));
        assert_eq!(p.status, PresaleStatus::Deleted);
        assert_eq!(p.delete(UserId(1), now), Err(RuleViolation::PresaleSold), "deleted twice");
    }

    #[test]
    fn an_open_presale_closes_for_changes_exactly_at_its_delivery_deadline() {
        let (p, _) = presale();
        let just_before = p.deliver_by - Duration::microseconds(1);
        assert_eq!(p.clone().delete(UserId(1), just_before), Ok(m("2")));
        assert_eq!(p.clone().delete(UserId(1), p.deliver_by), Err(RuleViolation::PresaleSold));
        assert_eq!(p.clone().reprice(UserId(1), m("5"), 20, p.deliver_by), Err(RuleViolation::PresaleSold));
        assert_eq!(p.clone().sell_to(UserId(2), None, just_before), Ok(m("10")));
    }

    #[test]
    fn a_repriced_presale_holds_the_new_price_and_collateral() {
        let (mut p, now) = presale();
        assert_eq!(p.reprice(UserId(1), m("50"), 10, now), Ok(m("2")));
        assert_eq!((p.price, p.collateral), (m("50"), m("5")));
        assert_eq!(p.reprice(UserId(1), m("20"), 10, now), Ok(m("5")));
    }

    #[test]
    fn a_sale_records_the_buyer_and_a_failed_one_changes_nothing() {
        let (mut p, now) = presale();
        let before = p.clone();
        assert!(p.sell_to(UserId(2), Some(m("11")), now).is_err());
        assert_eq!(p, before);
        assert_eq!(p.sell_to(UserId(2), Some(m("10")), now), Ok(m("10")));
        assert_eq!((p.buyer_id, p.status), (Some(UserId(2)), PresaleStatus::Sold));
    }

    #[test]
    fn delivery_marks_the_presale_delivered_with_its_nft_and_happens_once() {
        let (mut p, now) = presale();
        let nft = NftId(uuid::Uuid::from_u128(7));
        p.sell_to(UserId(3), None, now).unwrap();
        assert_eq!(p.deliver(nft), Ok(UserId(3)));
        assert_eq!((p.status, p.nft_id), (PresaleStatus::Delivered, Some(nft)));
        assert_eq!(p.deliver(nft), Err(RuleViolation::PresaleNotSold));
    }

    #[test]
    fn an_open_or_sold_presale_is_overdue_from_its_deadline_on() {
        let (mut p, now) = presale();
        let before = p.deliver_by - Duration::microseconds(1);
        assert!(!p.is_overdue(before));
        assert!(p.is_overdue(p.deliver_by));
        p.sell_to(UserId(2), None, now).unwrap();
        assert!(!p.is_overdue(before));
        assert!(p.is_overdue(p.deliver_by));
        for closed in [PresaleStatus::Delivered, PresaleStatus::Expired, PresaleStatus::Deleted] {
            p.status = closed;
            assert!(!p.is_overdue(p.deliver_by + Duration::days(1)), "{closed:?}");
        }
    }

    #[test]
    fn expiry_of_an_unsold_presale_forfeits_nothing() {
        let (mut p, _) = presale();
        assert_eq!(p.expire(), None);
        assert_eq!(p.status, PresaleStatus::Expired);
    }

    #[test]
    fn expiry_of_a_sold_presale_gives_the_buyer_half_the_collateral() {
        let (mut p, now) = presale();
        p.collateral = m("10");
        p.sell_to(UserId(2), None, now).unwrap();
        assert_eq!(p.expire(), Some((UserId(2), m("5"), m("5"))));
    }
}
