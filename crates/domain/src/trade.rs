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
}
