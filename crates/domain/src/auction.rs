//! Auctions: start price, minimum step, anti-sniping, buy-now.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, RuleViolation};
use crate::ids::*;
use crate::money::{Money, SCALE};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuctionStatus {
    Active,
    Settled,
    Cancelled,
}

impl AuctionStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            AuctionStatus::Active => "active",
            AuctionStatus::Settled => "settled",
            AuctionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => AuctionStatus::Active,
            "settled" => AuctionStatus::Settled,
            "cancelled" => AuctionStatus::Cancelled,
            _ => return None,
        })
    }
}

/// The seller's terms, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuctionTerms {
    pub start_price: Money,
    pub step_percent: u32,
    pub buy_now_price: Option<Money>,
    pub duration: Duration,
}

impl AuctionTerms {
    pub const DEFAULT_STEP_PERCENT: u32 = 5;

    /// Step 1–100 %, buy-now above the start price, duration 60 s – 14 days.
    pub fn new(
        start_price: Money,
        step_percent: Option<i64>,
        buy_now_price: Option<Money>,
        duration_seconds: i64,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let step = step_percent.unwrap_or(i64::from(Self::DEFAULT_STEP_PERCENT));
        if !(1..=100).contains(&step) {
            errors.push(FieldError::new("step_percent", "must be between 1 and 100"));
        }
        if buy_now_price.is_some_and(|b| b <= start_price) {
            errors.push(FieldError::new("buy_now_price", "must be greater than start_price"));
        }
        if !(60..=14 * 86_400).contains(&duration_seconds) {
            errors.push(FieldError::new("duration_seconds", "must be between 60 seconds and 14 days"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            start_price,
            step_percent: step as u32,
            buy_now_price,
            duration: Duration::seconds(duration_seconds),
        })
    }
}

/// An auction of one NFT. The leader's bid is held from the leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auction {
    pub id: AuctionId,
    pub nft_id: NftId,
    pub seller_id: UserId,
    pub start_price: Money,
    pub step_percent: u32,
    pub buy_now_price: Option<Money>,
    pub ends_at: DateTime<Utc>,
    pub leader_id: Option<UserId>,
    pub current_bid: Option<Money>,
    pub bid_count: u32,
    pub status: AuctionStatus,
    pub created_at: DateTime<Utc>,
}

/// One accepted bid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bid {
    pub id: BidId,
    pub auction_id: AuctionId,
    pub bidder_id: UserId,
    pub amount: Money,
    pub created_at: DateTime<Utc>,
}

/// What accepting a bid changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BidOutcome {
    /// The outbid leader and the hold to release.
    pub previous: Option<(UserId, Money)>,
    /// The bid reached the buy-now price: settle at once.
    pub buy_now: bool,
}

fn ceil9(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(SCALE, RoundingStrategy::AwayFromZero)
}

impl Auction {
    pub fn open(id: AuctionId, nft_id: NftId, seller_id: UserId, terms: &AuctionTerms, now: DateTime<Utc>) -> Self {
        Self {
            id,
            nft_id,
            seller_id,
            start_price: terms.start_price,
            step_percent: terms.step_percent,
            buy_now_price: terms.buy_now_price,
            ends_at: now + terms.duration,
            leader_id: None,
            current_bid: None,
            bid_count: 0,
            status: AuctionStatus::Active,
            created_at: now,
        }
    }

    /// The smallest acceptable next bid: the start price, then
    /// `max(current + 0.1, current × (1 + step/100))` rounded up to 9 decimals.
    pub fn min_next_bid(&self) -> Money {
        match self.current_bid {
            None => self.start_price,
            Some(c) => {
                let c = c.as_decimal();
                let by_step = ceil9(c * Decimal::from(100 + self.step_percent) / Decimal::from(100));
                let by_tenth = c + Decimal::new(1, 1);
                Money::from_decimal(by_step.max(by_tenth)).expect("a larger positive amount")
            }
        }
    }

    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.status == AuctionStatus::Active && now < self.ends_at
    }

    /// Active and past its end: ready to settle.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.status == AuctionStatus::Active && now >= self.ends_at
    }

    /// Takes a bid: the bidder leads; a bid inside the anti-sniping window pushes the end to
    /// `now + window`.
    pub fn accept_bid(
        &mut self,
        bidder: UserId,
        amount: Money,
        now: DateTime<Utc>,
        anti_sniping: Duration,
    ) -> Result<BidOutcome, RuleViolation> {
        if bidder == self.seller_id {
            return Err(RuleViolation::OwnItem);
        }
        if !self.is_open_at(now) {
            return Err(RuleViolation::AuctionEnded);
        }
        let min = self.min_next_bid();
        if amount < min {
            return Err(RuleViolation::BidTooLow { min });
        }
        let previous = self.leader_id.zip(self.current_bid);
        self.leader_id = Some(bidder);
        self.current_bid = Some(amount);
        self.bid_count += 1;
        if self.ends_at - now < anti_sniping {
            self.ends_at = now + anti_sniping;
        }
        let buy_now = self.buy_now_price.is_some_and(|b| amount >= b);
        Ok(BidOutcome { previous, buy_now })
    }

    /// Cancels an auction without bids. Seller only.
    pub fn cancel(&mut self, by: UserId) -> Result<(), RuleViolation> {
        if by != self.seller_id {
            return Err(RuleViolation::NotOwner);
        }
        if self.status != AuctionStatus::Active {
            return Err(RuleViolation::AuctionEnded);
        }
        if self.bid_count > 0 {
            return Err(RuleViolation::AuctionHasBids);
        }
        self.status = AuctionStatus::Cancelled;
        Ok(())
    }

    /// Closes the auction; returns the winner and the price, if there were bids.
    pub fn settle(&mut self) -> Option<(UserId, Money)> {
        self.status = AuctionStatus::Settled;
        self.leader_id.zip(self.current_bid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn auction(start: &str, step: u32) -> (Auction, DateTime<Utc>) {
        let now = Utc::now();
        let terms = AuctionTerms::new(m(start), Some(i64::from(step)), Some(m("1000")), 3600).unwrap();
        (Auction::open(AuctionId(uuid::Uuid::nil()), NftId(uuid::Uuid::nil()), UserId(1), &terms, now), now)
    }

    #[test]
    fn the_first_bid_must_reach_the_start_price_and_later_ones_the_step() {
        let (mut a, now) = auction("10", 5);
        let window = Duration::seconds(300);
        assert_eq!(a.accept_bid(UserId(2), m("9.99"), now, window), Err(RuleViolation::BidTooLow { min: m("10") }));
        a.accept_bid(UserId(2), m("10"), now, window).unwrap();
        assert_eq!(a.min_next_bid(), m("10.5"));
        let out = a.accept_bid(UserId(3), m("10.5"), now, window).unwrap();
        assert_eq!(out.previous, Some((UserId(2), m("10"))));
    }

    #[test]
    fn a_small_current_bid_steps_by_at_least_a_tenth() {
        let (mut a, now) = auction("1", 5);
        a.accept_bid(UserId(2), m("1"), now, Duration::zero()).unwrap();
        assert_eq!(a.min_next_bid(), m("1.1"));
    }

    #[test]
    fn the_step_is_rounded_up_to_a_nanoton() {
        let (mut a, now) = auction("0.000000007", 10);
        a.accept_bid(UserId(2), m("10.000000007"), now, Duration::zero()).unwrap();
        assert_eq!(a.min_next_bid(), m("11.000000008"));
    }

    #[test]
    fn the_seller_cannot_bid_and_an_ended_auction_takes_no_bids() {
        let (mut a, now) = auction("1", 5);
        assert_eq!(a.accept_bid(UserId(1), m("5"), now, Duration::zero()), Err(RuleViolation::OwnItem));
        assert_eq!(a.accept_bid(UserId(2), m("5"), a.ends_at, Duration::zero()), Err(RuleViolation::AuctionEnded));
    }

    #[test]
    fn a_late_bid_extends_the_end_and_an_early_one_does_not() {
        let (mut a, now) = auction("1", 5);
        let end = a.ends_at;
        a.accept_bid(UserId(2), m("1"), now, Duration::seconds(300)).unwrap();
        assert_eq!(a.ends_at, end);
        let late = end - Duration::seconds(10);
        a.accept_bid(UserId(3), m("2"), late, Duration::seconds(300)).unwrap();
        assert_eq!(a.ends_at, late + Duration::seconds(300));
    }

    #[test]
    fn reaching_buy_now_asks_for_settlement() {
        let (mut a, now) = auction("1", 5);
        assert!(a.accept_bid(UserId(2), m("1000"), now, Duration::zero()).unwrap().buy_now);
    }

    #[test]
    fn only_the_seller_cancels_and_only_without_bids() {
        let (mut a, now) = auction("1", 5);
        assert_eq!(a.clone().cancel(UserId(2)), Err(RuleViolation::NotOwner));
        a.accept_bid(UserId(2), m("1"), now, Duration::zero()).unwrap();
        assert_eq!(a.cancel(UserId(1)), Err(RuleViolation::AuctionHasBids));
    }

    #[test]
    fn terms_are_validated() {
        assert!(AuctionTerms::new(m("1"), Some(0), None, 60).is_err());
        assert!(AuctionTerms::new(m("1"), Some(101), None, 60).is_err());
        assert!(AuctionTerms::new(m("1"), None, Some(m("1")), 60).is_err());
        assert!(AuctionTerms::new(m("1"), None, None, 59).is_err());
        assert!(AuctionTerms::new(m("1"), None, None, 14 * 86_400 + 1).is_err());
        assert_eq!(AuctionTerms::new(m("1"), None, None, 60).unwrap().step_percent, 5);
    }

    #[test]
    fn every_status_round_trips_its_name() {
        for (status, name) in [
            (AuctionStatus::Active, "active"),
            (AuctionStatus::Settled, "settled"),
            (AuctionStatus::Cancelled, "cancelled"),
        ] {
            assert_eq!(status.as_str(), name);
            assert_eq!(AuctionStatus::parse(name), Some(status));
        }
        assert_eq!(AuctionStatus::parse("Active"), None);
        assert_eq!(AuctionStatus::parse(""), None);
    }

    #[test]
    fn an_auction_opens_active_without_bids_and_ends_after_its_duration() {
        let (a, now) = auction("2", 7);
        assert_eq!(a.ends_at, now + Duration::seconds(3600));
        assert_eq!(a.created_at, now);
        assert_eq!((a.start_price, a.step_percent, a.buy_now_price), (m("2"), 7, Some(m("1000"))));
        assert_eq!((a.leader_id, a.current_bid, a.bid_count), (None, None, 0));
        assert_eq!(a.status, AuctionStatus::Active);
        assert_eq!(a.min_next_bid(), m("2"));
    }

    #[test]
    fn an_auction_is_open_until_just_before_its_end_and_due_exactly_at_it() {
        let (a, now) = auction("1", 5);
        let just_before = a.ends_at - Duration::nanoseconds(1);
        assert!(a.is_open_at(now) && !a.is_due(now));
        assert!(a.is_open_at(just_before) && !a.is_due(just_before));
        assert!(!a.is_open_at(a.ends_at) && a.is_due(a.ends_at));
        let later = a.ends_at + Duration::seconds(1);
        assert!(!a.is_open_at(later) && a.is_due(later));
    }

    #[test]
    fn a_closed_auction_is_neither_open_nor_due() {
        for status in [AuctionStatus::Settled, AuctionStatus::Cancelled] {
            let (mut a, now) = auction("1", 5);
            a.status = status;
            assert!(!a.is_open_at(now), "{status:?}");
            assert!(!a.is_due(a.ends_at), "{status:?}");
            assert_eq!(a.accept_bid(UserId(2), m("5"), now, Duration::zero()), Err(RuleViolation::AuctionEnded));
        }
    }

    #[test]
    fn each_bid_is_counted_and_the_leader_and_amount_follow_the_last_one() {
        let (mut a, now) = auction("1", 5);
        let first = a.accept_bid(UserId(2), m("1"), now, Duration::zero()).unwrap();
        assert_eq!(first, BidOutcome { previous: None, buy_now: false });
        assert_eq!((a.leader_id, a.current_bid, a.bid_count), (Some(UserId(2)), Some(m("1")), 1));
        let second = a.accept_bid(UserId(3), m("3"), now, Duration::zero()).unwrap();
        assert_eq!(second, BidOutcome { previous: Some((UserId(2), m("1"))), buy_now: false });
        assert_eq!((a.leader_id, a.current_bid, a.bid_count), (Some(UserId(3)), Some(m("3")), 2));
    }

    #[test]
    fn a_bid_just_below_the_minimum_is_refused_and_changes_nothing() {
        let (mut a, now) = auction("1", 5);
        a.accept_bid(UserId(2), m("10"), now, Duration::zero()).unwrap();
        let before = a.clone();
        assert_eq!(
            a.accept_bid(UserId(3), m("10.499999999"), now, Duration::zero()),
            Err(RuleViolation::BidTooLow { min: m("10.5") })
        );
        assert_eq!(a, before);
    }

    // `ends_at - now < window` vs `<=` is an equivalent mutant: at equality `now + window == ends_at`.
    #[test]
    fn a_bid_with_exactly_the_window_left_keeps_the_end() {
        let (mut a, _) = auction("1", 5);
        let end = a.ends_at;
        let window = Duration::seconds(300);
        a.accept_bid(UserId(2), m("1"), end - window, window).unwrap();
        assert_eq!(a.ends_at, end);
        let late = end - window + Duration::seconds(1);
        a.accept_bid(UserId(3), m("2"), late, window).unwrap();
        assert_eq!(a.ends_at, end + Duration::seconds(1));
    }

    #[test]
    fn buy_now_is_reached_at_its_price_and_not_below() {
        let (mut a, now) = auction("1", 5);
        let out = a.accept_bid(UserId(2), m("999.999999999"), now, Duration::zero()).unwrap();
        assert!(!out.buy_now);
        let (mut a, now) = auction("1", 5);
        assert!(a.accept_bid(UserId(2), m("1000"), now, Duration::zero()).unwrap().buy_now);
        let (mut a, now) = auction("1", 5);
        assert!(a.accept_bid(UserId(2), m("1500"), now, Duration::zero()).unwrap().buy_now);
        let terms = AuctionTerms::new(m("1"), None, None, 60).unwrap();
        let mut without = Auction::open(AuctionId(uuid::Uuid::nil()), NftId(uuid::Uuid::nil()), UserId(1), &terms, now);
        assert!(!without.accept_bid(UserId(2), m("1000000"), now, Duration::zero()).unwrap().buy_now);
    }

    #[test]
    fn the_seller_cancels_an_auction_without_bids() {
        let (mut a, _) = auction("1", 5);
        assert_eq!(a.cancel(UserId(1)), Ok(()));
        assert_eq!(a.status, AuctionStatus::Cancelled);
    }

    #[test]
    fn a_closed_auction_cannot_be_cancelled() {
        for status in [AuctionStatus::Settled, AuctionStatus::Cancelled] {
            let (mut a, _) = auction("1", 5);
            a.status = status;
            assert_eq!(a.cancel(UserId(1)), Err(RuleViolation::AuctionEnded));
            assert_eq!(a.status, status);
        }
    }

    #[test]
    fn settling_names_the_leader_and_the_price() {
        let (mut a, now) = auction("1", 5);
        a.accept_bid(UserId(2), m("4"), now, Duration::zero()).unwrap();
        assert_eq!(a.settle(), Some((UserId(2), m("4"))));
        assert_eq!(a.status, AuctionStatus::Settled);
    }

    #[test]
    fn settling_without_bids_names_nobody() {
        let (mut a, _) = auction("1", 5);
        assert_eq!(a.settle(), None);
        assert_eq!(a.status, AuctionStatus::Settled);
    }

    #[test]
    fn terms_accept_their_boundaries_and_name_each_bad_field() {
        let ok = AuctionTerms::new(m("1"), Some(1), Some(m("1.000000001")), 60).unwrap();
        assert_eq!(ok.duration, Duration::seconds(60));
        assert_eq!(ok.step_percent, 1);
        assert_eq!(AuctionTerms::new(m("1"), Some(100), None, 14 * 86_400).unwrap().step_percent, 100);
        let errors = AuctionTerms::new(m("2"), Some(0), Some(m("1")), 59).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["step_percent", "buy_now_price", "duration_seconds"]);
    }

    proptest! {
        #[test]
        fn the_minimum_next_bid_always_exceeds_the_current_one(nanos in 1u64..1_000_000_000_000_000_000, step in 1u32..=100) {
            let (mut a, now) = auction("0.000000001", step);
            let current = Money::from_decimal(Decimal::new(nanos as i64, 9)).unwrap();
            a.accept_bid(UserId(2), current, now, Duration::zero()).unwrap();
            let min = a.min_next_bid();
            prop_assert!(min.as_decimal() >= current.as_decimal() + Decimal::new(1, 1));
            prop_assert!(min.as_decimal() * Decimal::from(100) >= current.as_decimal() * Decimal::from(100 + step));
            prop_assert!(min.as_decimal().scale() <= 9);
        }
    }
}
