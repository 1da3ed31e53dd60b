//! Offers on NFTs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::RuleViolation;
use crate::ids::*;
use crate::money::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Open,
    Accepted,
    Refused,
    Cancelled,
    Expired,
}

impl OfferStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            OfferStatus::Open => "open",
            OfferStatus::Accepted => "accepted",
            OfferStatus::Refused => "refused",
            OfferStatus::Cancelled => "cancelled",
            OfferStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => OfferStatus::Open,
            "accepted" => OfferStatus::Accepted,
            "refused" => OfferStatus::Refused,
            "cancelled" => OfferStatus::Cancelled,
            "expired" => OfferStatus::Expired,
            _ => return None,
        })
    }
}

/// A bid for an NFT whatever its owner; the price is held from the offerer while open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub id: OfferId,
    pub nft_id: NftId,
    pub offerer_id: UserId,
    pub price: Money,
    pub status: OfferStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Offer {
    /// Checks that the offer can still be acted on at `now`: open and not past expiry (an expired
    /// offer is dead even before the expiry job has marked it).
    pub fn ensure_live(&self, now: DateTime<Utc>) -> Result<(), RuleViolation> {
        if self.is_live(now) {
            Ok(())
        } else {
            Err(RuleViolation::OfferNotOpen)
        }
    }

    /// Open and not past expiry at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status == OfferStatus::Open && now < self.expires_at
    }

    /// Closes an open offer with `status`; the caller releases the hold.
    pub fn close(&mut self, status: OfferStatus) {
        debug_assert_eq!(self.status, OfferStatus::Open);
        self.status = status;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn offer(now: DateTime<Utc>) -> Offer {
        Offer {
            id: OfferId(uuid::Uuid::nil()),
            nft_id: NftId(uuid::Uuid::nil()),
            offerer_id: UserId(1),
            price: Money::parse("5").unwrap(),
            status: OfferStatus::Open,
            expires_at: now + Duration::hours(1),
            created_at: now,
        }
    }

    #[test]
    fn every_status_round_trips_its_name() {
        for (status, name) in [
            (OfferStatus::Open, "open"),
            (OfferStatus::Accepted, "accepted"),
            (OfferStatus::Refused, "refused"),
            (OfferStatus::Cancelled, "cancelled"),
            (OfferStatus::Expired, "expired"),
        ] {
            assert_eq!(status.as_str(), name);
            assert_eq!(OfferStatus::parse(name), Some(status));
        }
        assert_eq!(OfferStatus::parse("Open"), None);
        assert_eq!(OfferStatus::parse(""), None);
    }

    #[test]
    fn an_open_offer_is_live_strictly_before_its_expiry() {
        let now = Utc::now();
        let o = offer(now);
        assert!(o.is_live(now));
        assert!(o.is_live(o.expires_at - Duration::microseconds(1)));
        assert!(!o.is_live(o.expires_at));
        assert!(!o.is_live(o.expires_at + Duration::seconds(1)));
        assert_eq!(o.ensure_live(now), Ok(()));
        assert_eq!(o.ensure_live(o.expires_at), Err(RuleViolation::OfferNotOpen));
    }

    #[test]
    fn a_closed_offer_is_dead_even_before_its_expiry() {
        let now = Utc::now();
        let mut o = offer(now);
        o.close(OfferStatus::Refused);
        assert_eq!(o.status, OfferStatus::Refused);
        assert!(!o.is_live(now));
        assert_eq!(o.ensure_live(now), Err(RuleViolation::OfferNotOpen));
    }
}
