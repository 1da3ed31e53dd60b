//! What a Telegram unique gift is, beyond its collection: its number and the three attributes that
//! price it, and the handles Telegram gives for one held on the business account.

use chrono::{DateTime, Utc};

use crate::ids::{UnmatchedGiftId, UserId};

/// The rarest an attribute can be is 0 ‰ of its collection, the commonest 1000 ‰.
pub const MAX_RARITY_PER_MILLE: u16 = 1000;
/// Longest attribute name kept (Telegram's are a few words).
pub const MAX_ATTRIBUTE_NAME: usize = 128;

/// One of a gift's priced attributes (its model, backdrop or symbol): a name and how many gifts
/// of the collection per thousand carry it — lower is rarer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attribute {
    pub name: String,
    pub rarity_per_mille: u16,
}

/// Why an attribute was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    #[error("must not be empty")]
    EmptyName,
    #[error("must be at most 128 characters")]
    NameTooLong,
    #[error("must be between 0 and 1000")]
    RarityOutOfRange,
}

impl Attribute {
    /// An attribute with a non-empty name (trimmed) and a rarity of 0–1000 ‰.
    pub fn new(name: &str, rarity_per_mille: i64) -> Result<Self, AttributeError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AttributeError::EmptyName);
        }
        if name.chars().count() > MAX_ATTRIBUTE_NAME {
            return Err(AttributeError::NameTooLong);
        }
        let rarity = u16::try_from(rarity_per_mille)
            .ok()
            .filter(|r| *r <= MAX_RARITY_PER_MILLE)
            .ok_or(AttributeError::RarityOutOfRange)?;
        Ok(Self { name: name.to_string(), rarity_per_mille: rarity })
    }
}

/// What sets a gift's price within its collection. All `None` for an NFT registered without them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GiftTraits {
    /// Its number within the collection (from 1).
    pub number: Option<u32>,
    pub model: Option<Attribute>,
    pub backdrop: Option<Attribute>,
    pub symbol: Option<Attribute>,
}

impl GiftTraits {
    /// The title an NFT gets when none is given: "{collection} #{number}", or the collection.
    pub fn default_title(&self, collection: &str) -> String {
        match self.number {
            Some(n) => format!("{collection} #{n}"),
            None => collection.to_string(),
        }
    }
}

/// Telegram's handles for a gift held on the business account: what returning it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramGift {
    /// The gift's id on the business account (`owned_gift_id`), for `transferGift`.
    pub owned_gift_id: String,
    /// Stars a transfer costs (`transfer_star_count`); `None`: Telegram named no cost.
    pub transfer_star_count: Option<u32>,
}

/// When a gift may leave custody: `None` or a time not after `now` means now.
pub fn transferable(can_transfer_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    can_transfer_at.is_none_or(|at| at <= now)
}

/// A unique gift as Telegram shows it on the business account (a webhook update or a page of
/// `getBusinessAccountGifts`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedGift {
    /// Its unique slug (`name`, `t.me/nft/<name>`): the NFT's `gift_id`.
    pub gift_id: String,
    /// `base_name`.
    pub collection: String,
    pub traits: GiftTraits,
    pub telegram: TelegramGift,
    /// `next_transfer_date`.
    pub can_transfer_at: Option<DateTime<Utc>>,
    /// Assigned from the TON blockchain: it cannot move inside Telegram.
    pub from_blockchain: bool,
}

/// Why a gift on the business account is kept for staff instead of registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmatchedReason {
    /// Telegram named no sender.
    UnknownSender,
    /// A gift from the TON blockchain cannot be returned through Telegram.
    FromBlockchain,
}

impl UnmatchedReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            UnmatchedReason::UnknownSender => "unknown_sender",
            UnmatchedReason::FromBlockchain => "from_blockchain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unknown_sender" => Some(UnmatchedReason::UnknownSender),
            "from_blockchain" => Some(UnmatchedReason::FromBlockchain),
            _ => None,
        }
    }
}

/// A gift the business account holds that no NFT stands for: kept for staff, never dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedGift {
    pub id: UnmatchedGiftId,
    pub gift: ReceivedGift,
    /// The sender Telegram named, if any.
    pub sender_id: Option<UserId>,
    pub reason: UnmatchedReason,
    pub received_at: DateTime<Utc>,
    /// Who staff registered it to, and when.
    pub assigned_to: Option<UserId>,
    pub assigned_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attribute_has_a_name_and_a_rarity_of_at_most_a_thousand_per_mille() {
        assert_eq!(Attribute::new(" Gold ", 15), Ok(Attribute { name: "Gold".into(), rarity_per_mille: 15 }));
        assert_eq!(Attribute::new("Gold", 0).unwrap().rarity_per_mille, 0);
        assert_eq!(Attribute::new("Gold", 1000).unwrap().rarity_per_mille, 1000);
        assert_eq!(Attribute::new("Gold", 1001), Err(AttributeError::RarityOutOfRange));
        assert_eq!(Attribute::new("Gold", -1), Err(AttributeError::RarityOutOfRange));
        assert_eq!(Attribute::new("Gold", 70_000), Err(AttributeError::RarityOutOfRange));
        assert_eq!(Attribute::new("  ", 5), Err(AttributeError::EmptyName));
        assert_eq!(Attribute::new(&"x".repeat(128), 5).unwrap().name.len(), 128);
        assert_eq!(Attribute::new(&"x".repeat(129), 5), Err(AttributeError::NameTooLong));
    }

    #[test]
    fn the_default_title_names_the_number_when_there_is_one() {
        let t = GiftTraits { number: Some(1234), ..Default::default() };
        assert_eq!(t.default_title("Plush Pepe"), "Plush Pepe #1234");
        assert_eq!(GiftTraits::default().default_title("Plush Pepe"), "Plush Pepe");
    }

    #[test]
    fn every_unmatched_reason_round_trips_its_name() {
        for r in [UnmatchedReason::UnknownSender, UnmatchedReason::FromBlockchain] {
            assert_eq!(UnmatchedReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(UnmatchedReason::UnknownSender.as_str(), "unknown_sender");
        assert_eq!(UnmatchedReason::FromBlockchain.as_str(), "from_blockchain");
        assert_eq!(UnmatchedReason::parse("other"), None);
    }

    #[test]
    fn a_gift_is_transferable_from_its_time_on() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert!(transferable(None, now));
        assert!(transferable(Some(now), now));
        assert!(transferable(Some(now - chrono::Duration::seconds(1)), now));
        assert!(!transferable(Some(now + chrono::Duration::seconds(1)), now));
    }
}
