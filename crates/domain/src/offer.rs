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
