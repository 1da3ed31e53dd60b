//! Channel sales: a Telegram channel (and the gifts it holds) sold for TON, the price kept in
//! escrow until the buyer owns the channel.

use chrono::{DateTime, Duration, Utc};

use crate::error::RuleViolation;
use crate::ids::*;
use crate::money::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelSaleStatus {
    Listed,
    AwaitingTransfer,
    Completed,
    Refunded,
    Deleted,
}

impl ChannelSaleStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelSaleStatus::Listed => "listed",
            ChannelSaleStatus::AwaitingTransfer => "awaiting_transfer",
            ChannelSaleStatus::Completed => "completed",
            ChannelSaleStatus::Refunded => "refunded",
            ChannelSaleStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "listed" => ChannelSaleStatus::Listed,
            "awaiting_transfer" => ChannelSaleStatus::AwaitingTransfer,
            "completed" => ChannelSaleStatus::Completed,
            "refunded" => ChannelSaleStatus::Refunded,
            "deleted" => ChannelSaleStatus::Deleted,
            _ => return None,
        })
    }
}

/// How a seller names a channel: `@username` or its numeric chat id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelRef {
    Username(String),
    Id(i64),
}

impl ChannelRef {
    /// `@name` (5–32 letters, digits, underscores) or a chat id such as `-1001234567890`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if let Some(name) = raw.strip_prefix('@') {
            let ok = (5..=32).contains(&name.len())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && name.starts_with(|c: char| c.is_ascii_alphabetic());
            return if ok { Ok(ChannelRef::Username(name.to_string())) } else { Err("is not a valid @username") };
        }
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        let plain =
            (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        match raw.parse::<i64>() {
            Ok(id) if plain => Ok(ChannelRef::Id(id)),
            _ => Err("must be @username or a numeric chat id"),
        }
    }
}

impl std::fmt::Display for ChannelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelRef::Username(u) => write!(f, "@{u}"),
            ChannelRef::Id(id) => write!(f, "{id}"),
        }
    }
}

/// What Telegram says about a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    pub chat_id: i64,
    pub title: String,
    pub username: Option<String>,
    /// The member with status `creator`, when the bot can see the administrators.
    pub owner_id: Option<UserId>,
    pub bot_is_admin: bool,
}

impl ChannelInfo {
    /// A listing needs the bot among the administrators and the seller as the creator.
    pub fn verify_seller(&self, seller: UserId) -> Result<(), RuleViolation> {
        if !self.bot_is_admin {
            return Err(RuleViolation::ChannelNotVerified {
                reason: "the marketplace bot is not an administrator of the channel".into(),
            });
        }
        if self.owner_id != Some(seller) {
            return Err(RuleViolation::ChannelNotVerified { reason: "you are not the creator of the channel".into() });
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSale {
    pub id: ChannelSaleId,
    pub seller_id: UserId,
    pub chat_id: i64,
    pub title: String,
    pub username: Option<String>,
    pub description: Option<String>,
    pub price: Money,
    pub buyer_id: Option<UserId>,
    pub status: ChannelSaleStatus,
    /// While awaiting transfer: the seller's deadline.
    pub transfer_by: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ChannelSale {
    /// Visible to everyone while listed; once sold, to its two parties only.
    pub fn visible_to(&self, user: UserId) -> bool {
        self.status == ChannelSaleStatus::Listed || user == self.seller_id || Some(user) == self.buyer_id
    }

    /// Seller-side changes (price, delete): a listed sale is public, so someone else is refused
    /// (`NotOwner`); a sold one is not theirs to see (the caller answers not found).
    pub fn ensure_seller_may_change(&self, by: UserId) -> Result<(), RuleViolation> {
        if by != self.seller_id {
            return Err(RuleViolation::NotOwner);
        }
        if self.status != ChannelSaleStatus::Listed {
            return Err(RuleViolation::NotForSale);
        }
        Ok(())
    }

    /// Sells to `buyer`; returns the price to hold in escrow.
    pub fn sell_to(
        &mut self,
        buyer: UserId,
        expected: Option<Money>,
        now: DateTime<Utc>,
        transfer_within: Duration,
    ) -> Result<Money, RuleViolation> {
        if buyer == self.seller_id {
            return Err(RuleViolation::OwnItem);
        }
        if self.status != ChannelSaleStatus::Listed {
            return Err(RuleViolation::NotForSale);
        }
        if let Some(e) = expected {
            if e != self.price {
                return Err(RuleViolation::PriceChanged { current: self.price });
            }
        }
        self.buyer_id = Some(buyer);
        self.status = ChannelSaleStatus::AwaitingTransfer;
        self.transfer_by = Some(now + transfer_within);
        Ok(self.price)
    }

    /// The buyer of a sale awaiting transfer; anything else is closed.
    pub fn awaiting_buyer(&self) -> Result<UserId, RuleViolation> {
        match (self.status, self.buyer_id) {
            (ChannelSaleStatus::AwaitingTransfer, Some(b)) => Ok(b),
            _ => Err(RuleViolation::ChannelSaleClosed),
        }
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == ChannelSaleStatus::AwaitingTransfer && self.transfer_by.is_some_and(|t| now >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_named_by_username_or_chat_id() {
        assert_eq!(ChannelRef::parse("@gift_shop"), Ok(ChannelRef::Username("gift_shop".into())));
        assert_eq!(ChannelRef::parse("-1001234567890"), Ok(ChannelRef::Id(-1001234567890)));
        assert!(ChannelRef::parse("@ab").is_err());
        assert!(ChannelRef::parse("@1abcde").is_err());
        assert!(ChannelRef::parse("gift shop").is_err());
        assert!(ChannelRef::parse("0").is_err());
        assert!(ChannelRef::parse("+5").is_err());
        assert!(ChannelRef::parse(" @gift_hub").is_err());
    }

    #[test]
    fn only_the_creator_with_the_bot_as_admin_may_list() {
        let info = ChannelInfo {
            chat_id: -1,
            title: "t".into(),
            username: None,
            owner_id: Some(UserId(1)),
            bot_is_admin: true,
        };
        assert_eq!(info.verify_seller(UserId(1)), Ok(()));
        assert!(matches!(info.verify_seller(UserId(2)), Err(RuleViolation::ChannelNotVerified { .. })));
        let no_bot = ChannelInfo { bot_is_admin: false, ..info };
        assert!(matches!(no_bot.verify_seller(UserId(1)), Err(RuleViolation::ChannelNotVerified { .. })));
    }

    #[test]
    fn each_verification_failure_says_why() {
        let info = ChannelInfo { chat_id: -1, title: "t".into(), username: None, owner_id: None, bot_is_admin: true };
        assert_eq!(
            info.verify_seller(UserId(1)),
            Err(RuleViolation::ChannelNotVerified { reason: "you are not the creator of the channel".into() })
        );
        let no_bot = ChannelInfo { bot_is_admin: false, owner_id: Some(UserId(1)), ..info };
        assert_eq!(
            no_bot.verify_seller(UserId(1)),
            Err(RuleViolation::ChannelNotVerified {
                reason: "the marketplace bot is not an administrator of the channel".into()
            })
        );
    }

    #[test]
    fn every_status_round_trips_its_name() {
        for (status, name) in [
            (ChannelSaleStatus::Listed, "listed"),
            (ChannelSaleStatus::AwaitingTransfer, "awaiting_transfer"),
            (ChannelSaleStatus::Completed, "completed"),
            (ChannelSaleStatus::Refunded, "refunded"),
            (ChannelSaleStatus::Deleted, "deleted"),
        ] {
            assert_eq!(status.as_str(), name);
            assert_eq!(ChannelSaleStatus::parse(name), Some(status));
        }
        assert_eq!(ChannelSaleStatus::parse("Listed"), None);
        assert_eq!(ChannelSaleStatus::parse(""), None);
    }

    #[test]
    fn a_username_has_5_to_32_letters_digits_or_underscores_and_starts_with_a_letter() {
        assert_eq!(ChannelRef::parse("@abcde"), Ok(ChannelRef::Username("abcde".into())));
        assert_eq!(ChannelRef::parse(&format!("@{}", "a".repeat(32))), Ok(ChannelRef::Username("a".repeat(32))));
        assert_eq!(ChannelRef::parse("@Gift_2024"), Ok(ChannelRef::Username("Gift_2024".into())));
        for bad in ["@abcd", &format!("@{}", "a".repeat(33)), "@gift-shop", "@gift shop", "@_gift", "@", "@@gift_shop"]
        {
            assert_eq!(ChannelRef::parse(bad), Err("is not a valid @username"), "{bad} accepted");
        }
    }

    #[test]
    fn a_chat_id_has_1_to_18_digits_without_a_leading_zero() {
        assert_eq!(ChannelRef::parse("7"), Ok(ChannelRef::Id(7)));
        assert_eq!(ChannelRef::parse("-7"), Ok(ChannelRef::Id(-7)));
        assert_eq!(ChannelRef::parse("123456789012345678"), Ok(ChannelRef::Id(123456789012345678)));
        for bad in ["1234567890123456789", "-1234567890123456789", "07", "-07", "-", "", "--7", "7a", "+5"] {
            assert_eq!(ChannelRef::parse(bad), Err("must be @username or a numeric chat id"), "{bad} accepted");
        }
    }

    #[test]
    fn a_channel_shows_as_it_is_named() {
        assert_eq!(ChannelRef::Username("gift_shop".into()).to_string(), "@gift_shop");
        assert_eq!(ChannelRef::Id(-1001234567890).to_string(), "-1001234567890");
    }

    const SELLER: UserId = UserId(1);
    const BUYER: UserId = UserId(2);
    const STRANGER: UserId = UserId(3);

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    fn price() -> Money {
        Money::parse("25").unwrap()
    }

    fn listed() -> ChannelSale {
        ChannelSale {
            id: ChannelSaleId(uuid::Uuid::nil()),
            seller_id: SELLER,
            chat_id: -100,
            title: "Gifts".into(),
            username: Some("gift_shop".into()),
            description: None,
            price: price(),
            buyer_id: None,
            status: ChannelSaleStatus::Listed,
            transfer_by: None,
            created_at: at(0),
        }
    }

    fn sold() -> ChannelSale {
        let mut sale = listed();
        sale.sell_to(BUYER, None, at(0), Duration::hours(24)).unwrap();
        sale
    }

    #[test]
    fn a_listed_sale_is_visible_to_everyone() {
        let sale = listed();
        for user in [SELLER, BUYER, STRANGER] {
            assert!(sale.visible_to(user), "{user}");
        }
    }

    #[test]
    fn a_sold_sale_is_visible_to_its_two_parties_only() {
        let sale = sold();
        assert!(sale.visible_to(SELLER));
        assert!(sale.visible_to(BUYER));
        assert!(!sale.visible_to(STRANGER));
        let deleted = ChannelSale { status: ChannelSaleStatus::Deleted, ..listed() };
        assert!(deleted.visible_to(SELLER));
        assert!(!deleted.visible_to(STRANGER));
    }

    #[test]
    fn only_the_seller_changes_a_listed_sale() {
        assert_eq!(listed().ensure_seller_may_change(SELLER), Ok(()));
        assert_eq!(listed().ensure_seller_may_change(STRANGER), Err(RuleViolation::NotOwner));
        assert_eq!(sold().ensure_seller_may_change(SELLER), Err(RuleViolation::NotForSale));
        assert_eq!(sold().ensure_seller_may_change(BUYER), Err(RuleViolation::NotOwner));
    }

    #[test]
    fn selling_holds_the_price_and_sets_the_transfer_deadline() {
        let mut sale = listed();
        assert_eq!(sale.sell_to(BUYER, Some(price()), at(10), Duration::hours(24)), Ok(price()));
        assert_eq!(sale.buyer_id, Some(BUYER));
        assert_eq!(sale.status, ChannelSaleStatus::AwaitingTransfer);
        assert_eq!(sale.transfer_by, Some(at(10 + 24 * 3600)));
        assert_eq!(sale.awaiting_buyer(), Ok(BUYER));
    }

    #[test]
    fn a_sale_is_refused_to_its_seller_when_not_listed_or_at_another_price() {
        assert_eq!(listed().sell_to(SELLER, None, at(0), Duration::hours(1)), Err(RuleViolation::OwnItem));
        assert_eq!(sold().sell_to(STRANGER, None, at(0), Duration::hours(1)), Err(RuleViolation::NotForSale));
        let mut sale = listed();
        assert_eq!(
            sale.sell_to(BUYER, Some(Money::parse("24").unwrap()), at(0), Duration::hours(1)),
            Err(RuleViolation::PriceChanged { current: price() })
        );
        assert_eq!(sale, listed(), "a refused sale changes nothing");
    }

    #[test]
    fn only_a_sale_awaiting_transfer_has_a_buyer_to_wait_for() {
        assert_eq!(listed().awaiting_buyer(), Err(RuleViolation::ChannelSaleClosed));
        let completed = ChannelSale { status: ChannelSaleStatus::Completed, ..sold() };
        assert_eq!(completed.awaiting_buyer(), Err(RuleViolation::ChannelSaleClosed));
    }

    #[test]
    fn a_transfer_is_overdue_exactly_at_its_deadline() {
        let sale = sold();
        let deadline = at(24 * 3600);
        assert!(!sale.is_overdue(deadline - Duration::seconds(1)));
        assert!(sale.is_overdue(deadline));
        assert!(sale.is_overdue(deadline + Duration::seconds(1)));
    }

    #[test]
    fn a_finished_sale_is_never_overdue() {
        for status in [ChannelSaleStatus::Completed, ChannelSaleStatus::Refunded] {
            let sale = ChannelSale { status, ..sold() };
            assert!(!sale.is_overdue(at(48 * 3600)), "{status:?}");
        }
        assert!(!listed().is_overdue(at(48 * 3600)));
    }
}
