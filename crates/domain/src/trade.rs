//! Trades: a direct swap between two users — NFTs and/or TON on each side, all or nothing.

use chrono::{DateTime, Duration, Utc};

use crate::error::{FieldError, RuleViolation};
use crate::ids::*;
use crate::money::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeStatus {
    Open,
    Accepted,
    Declined,
    Cancelled,
    Expired,
}

impl TradeStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            TradeStatus::Open => "open",
            TradeStatus::Accepted => "accepted",
            TradeStatus::Declined => "declined",
            TradeStatus::Cancelled => "cancelled",
            TradeStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => TradeStatus::Open,
            "accepted" => TradeStatus::Accepted,
            "declined" => TradeStatus::Declined,
            "cancelled" => TradeStatus::Cancelled,
            "expired" => TradeStatus::Expired,
            _ => return None,
        })
    }
}

/// What one party puts in: NFTs and an optional amount of TON.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TradeSide {
    pub nft_ids: Vec<NftId>,
    pub amount: Option<Money>,
}

/// A proposal, validated: two distinct parties, at most [`Trade::MAX_NFTS_PER_SIDE`] NFTs per side,
/// no NFT twice, at least one NFT in the whole trade, an expiry of 60 s – 7 days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeTerms {
    pub maker: UserId,
    pub taker: UserId,
    pub give: TradeSide,
    pub want: TradeSide,
    pub expires_in: Duration,
}

impl TradeTerms {
    pub const DEFAULT_EXPIRY_SECONDS: i64 = 86_400;

    pub fn new(
        maker: UserId,
        taker: UserId,
        give: TradeSide,
        want: TradeSide,
        expires_in_seconds: Option<i64>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if maker == taker {
            errors.push(FieldError::new("taker_id", "must be someone else"));
        }
        for (name, side) in [("give", &give), ("want", &want)] {
            if side.nft_ids.len() > Trade::MAX_NFTS_PER_SIDE {
                errors.push(FieldError::new(format!("{name}.nft_ids"), "must hold at most 10 NFTs"));
            }
        }
        let mut all: Vec<NftId> = give.nft_ids.iter().chain(&want.nft_ids).copied().collect();
        all.sort();
        let count = all.len();
        all.dedup();
        if all.len() != count {
            errors.push(FieldError::new("nft_ids", "must not name an NFT twice"));
        }
        if count == 0 {
            errors.push(FieldError::new("nft_ids", "a trade swaps at least one NFT"));
        }
        let secs = expires_in_seconds.unwrap_or(Self::DEFAULT_EXPIRY_SECONDS);
        if !(60..=7 * 86_400).contains(&secs) {
            errors.push(FieldError::new("expires_in_seconds", "must be between 60 seconds and 7 days"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self { maker, taker, give, want, expires_in: Duration::seconds(secs) })
    }

    /// Every NFT of the trade, in id order: the order they are locked in.
    pub fn nft_ids(&self) -> Vec<NftId> {
        sorted(&self.give, &self.want)
    }
}

fn sorted(give: &TradeSide, want: &TradeSide) -> Vec<NftId> {
    let mut ids: Vec<NftId> = give.nft_ids.iter().chain(&want.nft_ids).copied().collect();
    ids.sort();
    ids
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    pub id: TradeId,
    pub maker_id: UserId,
    pub taker_id: UserId,
    pub give: TradeSide,
    pub want: TradeSide,
    pub status: TradeStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Which party acts on a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TradeParty {
    Maker,
    Taker,
}

impl Trade {
    pub const MAX_NFTS_PER_SIDE: usize = 10;

    pub fn open(id: TradeId, terms: TradeTerms, now: DateTime<Utc>) -> Self {
        Self {
            id,
            maker_id: terms.maker,
            taker_id: terms.taker,
            give: terms.give,
            want: terms.want,
            status: TradeStatus::Open,
            expires_at: now + terms.expires_in,
            created_at: now,
        }
    }

    /// Every NFT of the trade, in id order.
    pub fn nft_ids(&self) -> Vec<NftId> {
        sorted(&self.give, &self.want)
    }

    pub fn is_party(&self, user: UserId) -> bool {
        user == self.maker_id || user == self.taker_id
    }

    /// Open and not past its expiry at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status == TradeStatus::Open && now < self.expires_at
    }

    /// Checks that `by` may act on the trade as `party` now. Someone outside the trade must not
    /// learn it exists (the caller answers not found); the other party is refused.
    pub fn ensure_actor(&self, by: UserId, party: TradeParty, now: DateTime<Utc>) -> Result<(), RuleViolation> {
        let expected = match party {
            TradeParty::Maker => self.maker_id,
            TradeParty::Taker => self.taker_id,
        };
        if by != expected {
            return Err(RuleViolation::NotParty);
        }
        if !self.is_live(now) {
            return Err(RuleViolation::TradeNotOpen);
        }
        Ok(())
    }

    /// Closes an open trade.
    pub fn close(&mut self, status: TradeStatus) {
        debug_assert_eq!(self.status, TradeStatus::Open);
        self.status = status;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nfts(n: u128) -> Vec<NftId> {
        (1..=n).map(|i| NftId(uuid::Uuid::from_u128(i))).collect()
    }

    fn side(ids: Vec<NftId>) -> TradeSide {
        TradeSide { nft_ids: ids, amount: None }
    }

    #[test]
    fn terms_need_two_parties_an_nft_no_repeats_and_a_bounded_expiry() {
        assert!(TradeTerms::new(UserId(1), UserId(2), side(nfts(1)), side(vec![]), None).is_ok());
        let fields = |r: Result<TradeTerms, Vec<FieldError>>| -> Vec<String> {
            r.unwrap_err().into_iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(TradeTerms::new(UserId(1), UserId(1), side(nfts(1)), side(vec![]), None)), ["taker_id"]);
        assert_eq!(fields(TradeTerms::new(UserId(1), UserId(2), side(vec![]), side(vec![]), None)), ["nft_ids"]);
        assert_eq!(fields(TradeTerms::new(UserId(1), UserId(2), side(nfts(11)), side(vec![]), None)), ["give.nft_ids"]);
        assert_eq!(fields(TradeTerms::new(UserId(1), UserId(2), side(nfts(1)), side(nfts(1)), None)), ["nft_ids"]);
        assert_eq!(
            fields(TradeTerms::new(UserId(1), UserId(2), side(nfts(1)), side(vec![]), Some(59))),
            ["expires_in_seconds"]
        );
        assert!(TradeTerms::new(UserId(1), UserId(2), side(nfts(10)), side(vec![]), Some(7 * 86_400)).is_ok());
    }

    #[test]
    fn only_the_right_party_acts_and_only_while_the_trade_is_live() {
        let now = Utc::now();
        let terms = TradeTerms::new(UserId(1), UserId(2), side(nfts(1)), side(vec![]), Some(60)).unwrap();
        let t = Trade::open(TradeId(uuid::Uuid::nil()), terms, now);
        assert_eq!(t.ensure_actor(UserId(2), TradeParty::Taker, now), Ok(()));
        assert_eq!(t.ensure_actor(UserId(1), TradeParty::Taker, now), Err(RuleViolation::NotParty));
        assert_eq!(
            t.ensure_actor(UserId(2), TradeParty::Taker, now + Duration::seconds(60)),
            Err(RuleViolation::TradeNotOpen),
            "an expired trade is dead before the job marks it"
        );
    }

    #[test]
    fn every_status_round_trips_its_name() {
        for (status, name) in [
            (TradeStatus::Open, "open"),
            (TradeStatus::Accepted, "accepted"),
            (TradeStatus::Declined, "declined"),
            (TradeStatus::Cancelled, "cancelled"),
            (TradeStatus::Expired, "expired"),
        ] {
            assert_eq!(status.as_str(), name);
            assert_eq!(TradeStatus::parse(name), Some(status));
        }
        assert_eq!(TradeStatus::parse("Open"), None);
        assert_eq!(TradeStatus::parse(""), None);
    }

    fn trade(now: DateTime<Utc>) -> Trade {
        let give = side(vec![NftId(uuid::Uuid::from_u128(3)), NftId(uuid::Uuid::from_u128(1))]);
        let want = side(vec![NftId(uuid::Uuid::from_u128(2))]);
        let terms = TradeTerms::new(UserId(1), UserId(2), give, want, Some(120)).unwrap();
        Trade::open(TradeId(uuid::Uuid::nil()), terms, now)
    }

    #[test]
    fn the_nfts_of_a_trade_come_in_id_order_from_both_sides() {
        let now = Utc::now();
        let expected = nfts(3);
        let give = side(vec![expected[2], expected[0]]);
        let want = side(vec![expected[1]]);
        let terms = TradeTerms::new(UserId(1), UserId(2), give, want, None).unwrap();
        assert_eq!(terms.nft_ids(), expected);
        assert_eq!(trade(now).nft_ids(), expected);
    }

    #[test]
    fn an_opened_trade_copies_its_terms_and_expires_after_the_given_time() {
        let now = Utc::now();
        let t = trade(now);
        assert_eq!((t.maker_id, t.taker_id), (UserId(1), UserId(2)));
        assert_eq!(t.give.nft_ids.len(), 2);
        assert_eq!(t.want.nft_ids, vec![NftId(uuid::Uuid::from_u128(2))]);
        assert_eq!(t.status, TradeStatus::Open);
        assert_eq!(t.expires_at, now + Duration::seconds(120));
        assert_eq!(t.created_at, now);
        let default = TradeTerms::new(UserId(1), UserId(2), side(nfts(1)), side(vec![]), None).unwrap();
        assert_eq!(default.expires_in, Duration::seconds(TradeTerms::DEFAULT_EXPIRY_SECONDS));
    }

    #[test]
    fn expiry_must_lie_between_a_minute_and_a_week_inclusive() {
        let terms = |secs| TradeTerms::new(UserId(1), UserId(2), side(nfts(1)), side(vec![]), Some(secs));
        assert_eq!(terms(60).unwrap().expires_in, Duration::seconds(60));
        assert!(terms(7 * 86_400).is_ok());
        assert!(terms(59).is_err());
        assert!(terms(7 * 86_400 + 1).is_err());
    }

    #[test]
    fn each_side_holds_at_most_ten_nfts_and_all_problems_are_reported_together() {
        let many = |from: u128| side((from..from + 11).map(|i| NftId(uuid::Uuid::from_u128(i))).collect());
        let fields: Vec<String> = TradeTerms::new(UserId(1), UserId(1), many(0), many(100), Some(1))
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["taker_id", "give.nft_ids", "want.nft_ids", "expires_in_seconds"]);
        assert!(TradeTerms::new(UserId(1), UserId(2), side(nfts(10)), side(vec![]), None).is_ok());
    }

    #[test]
    fn only_the_maker_and_the_taker_are_parties() {
        let t = trade(Utc::now());
        assert!(t.is_party(UserId(1)));
        assert!(t.is_party(UserId(2)));
        assert!(!t.is_party(UserId(3)));
    }

    #[test]
    fn a_trade_is_live_while_open_and_strictly_before_its_expiry() {
        let now = Utc::now();
        let mut t = trade(now);
        assert!(t.is_live(now));
        assert!(t.is_live(t.expires_at - Duration::microseconds(1)));
        assert!(!t.is_live(t.expires_at));
        assert!(!t.is_live(t.expires_at + Duration::seconds(1)));
        t.close(TradeStatus::Declined);
        assert!(!t.is_live(now));
    }

    #[test]
    fn the_maker_acts_as_maker_and_a_closed_trade_refuses_everyone() {
        let now = Utc::now();
        let mut t = trade(now);
        assert_eq!(t.ensure_actor(UserId(1), TradeParty::Maker, now), Ok(()));
        assert_eq!(t.ensure_actor(UserId(2), TradeParty::Maker, now), Err(RuleViolation::NotParty));
        assert_eq!(t.ensure_actor(UserId(3), TradeParty::Taker, now), Err(RuleViolation::NotParty));
        t.close(TradeStatus::Cancelled);
        assert_eq!(t.status, TradeStatus::Cancelled);
        assert_eq!(t.ensure_actor(UserId(1), TradeParty::Maker, now), Err(RuleViolation::TradeNotOpen));
    }
}
