//! Entities and the rules that belong to them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::{Email, Mobile};
use crate::error::RuleViolation;
use crate::ids::*;
use crate::money::Money;

/// A Telegram user with custodial balances. `held` backs open offers, leading bids and presales.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Option<String>,
    pub available: Money,
    pub held: Money,
}

impl User {
    pub fn new(id: UserId, username: Option<String>) -> Self {
        Self { id, username, available: Money::ZERO, held: Money::ZERO }
    }

    pub fn credit(&mut self, amount: Money) {
        self.available = self.available.checked_add(amount).expect("balance overflow");
    }

    /// Takes `amount` from available funds.
    pub fn debit(&mut self, amount: Money) -> Result<(), RuleViolation> {
        self.available = self.available.checked_sub(amount).ok_or(RuleViolation::InsufficientFunds)?;
        Ok(())
    }

    /// Moves `amount` from available to held.
    pub fn hold(&mut self, amount: Money) -> Result<(), RuleViolation> {
        self.debit(amount)?;
        self.held = self.held.checked_add(amount).expect("balance overflow");
        Ok(())
    }

    /// Moves `amount` from held back to available.
    pub fn release(&mut self, amount: Money) {
        self.take_held(amount);
        self.credit(amount);
    }

    /// Removes `amount` from held (it leaves this user).
    pub fn take_held(&mut self, amount: Money) {
        self.held = self.held.checked_sub(amount).expect("held below zero: hold bookkeeping is broken");
    }
}

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
}

impl Nft {
    /// Lists (`Some`) or unlists (`None`) the NFT. Owner only; the NFT must be `available`.
    pub fn set_price(&mut self, by: UserId, price: Option<Money>) -> Result<(), RuleViolation> {
        if self.owner_id != by {
            return Err(RuleViolation::NotOwner);
        }
        if self.status != NftStatus::Available {
            return Err(RuleViolation::NftUnavailable);
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

    /// Hands the NFT to a new owner; any listing ends.
    pub fn transfer_to(&mut self, new_owner: UserId) {
        self.owner_id = new_owner;
        self.price = None;
    }
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    Pending,
    Sent,
    Failed,
    Stuck,
}

impl WithdrawalStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            WithdrawalStatus::Pending => "pending",
            WithdrawalStatus::Sent => "sent",
            WithdrawalStatus::Failed => "failed",
            WithdrawalStatus::Stuck => "stuck",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => WithdrawalStatus::Pending,
            "sent" => WithdrawalStatus::Sent,
            "failed" => WithdrawalStatus::Failed,
            "stuck" => WithdrawalStatus::Stuck,
            _ => return None,
        })
    }
}

/// A payout of funds to a TON address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub id: WithdrawalId,
    pub user_id: UserId,
    pub amount: Money,
    pub address: String,
    pub status: WithdrawalStatus,
    pub tx_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a member of staff did by hand, kept for good (the audit trail of manual interventions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffAction {
    pub id: StaffActionId,
    /// Who: `staff:<fingerprint of the token>`.
    pub actor: String,
    /// What, e.g. `resolve_withdrawal`.
    pub action: String,
    /// On what: the id of the object acted on.
    pub subject: String,
    /// How, in a line: the outcome and what backs it (a transaction hash…).
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

/// An on-chain transfer credited to a user; `tx_hash` is unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    pub id: DepositId,
    pub user_id: UserId,
    pub amount: Money,
    pub tx_hash: String,
    pub created_at: DateTime<Utc>,
}

impl Deposit {
    /// Whether a replay with these values is the same deposit.
    pub fn same_as(&self, user_id: UserId, amount: Money) -> bool {
        self.user_id == user_id && self.amount == amount
    }
}

/// A partner desk client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub fio: String,
    pub age: u8,
    pub description: String,
    pub mobile: Mobile,
    pub email: Email,
    pub created_at: DateTime<Utc>,
}

/// A personal manager of partner clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manager {
    pub id: ManagerId,
    pub name: String,
    pub telegram_username: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl Manager {
    /// A manager can take clients only while active.
    pub fn ensure_active(&self) -> Result<(), RuleViolation> {
        if self.active {
            Ok(())
        } else {
            Err(RuleViolation::ManagerInactive)
        }
    }
}

/// The binding of a client to a manager; lower `priority` comes first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerBind {
    pub client_id: ClientId,
    pub manager_id: ManagerId,
    pub priority: i32,
    pub created_at: DateTime<Utc>,
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
        }
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
        assert_eq!(n.set_price(UserId(2), Some(Money::parse("1").unwrap())), Err(RuleViolation::NotOwner));
        n.set_price(UserId(1), Some(Money::parse("1").unwrap())).unwrap();
        n.status = NftStatus::OnAuction;
        assert_eq!(n.set_price(UserId(1), None), Err(RuleViolation::NftUnavailable));
    }

    #[test]
    fn holds_move_between_available_and_held() {
        let mut u = User::new(UserId(1), None);
        u.credit(Money::parse("10").unwrap());
        u.hold(Money::parse("4").unwrap()).unwrap();
        assert_eq!((u.available.to_string(), u.held.to_string()), ("6".into(), "4".into()));
        assert_eq!(u.hold(Money::parse("7").unwrap()), Err(RuleViolation::InsufficientFunds));
        u.release(Money::parse("4").unwrap());
        assert_eq!((u.available.to_string(), u.held.to_string()), ("10".into(), "0".into()));
    }
}

/// A client's validated profile, before it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientProfile {
    pub fio: String,
    pub age: u8,
    pub description: String,
    pub mobile: Mobile,
    pub email: Email,
}

impl ClientProfile {
    /// Checks every field and reports all that are invalid at once.
    pub fn parse(
        fio: &str,
        age: i64,
        description: &str,
        mobile: &str,
        email: &str,
    ) -> Result<Self, Vec<crate::FieldError>> {
        use crate::FieldError;
        let mut errors = Vec::new();
        let fio =
            crate::text::line(fio, 200).map_err(|e| errors.push(FieldError::new("client.fio", e))).unwrap_or_default();
        if !(18..=130).contains(&age) {
            errors.push(FieldError::new("client.age", "must be between 18 and 130"));
        }
        let description = crate::text::paragraph(description, 2000)
            .map_err(|e| errors.push(FieldError::new("client.description", e)))
            .unwrap_or_default()
            .unwrap_or_default();
        let mobile = Mobile::parse(mobile).map_err(|e| errors.push(FieldError::new("client.mobile", e.to_string())));
        let email = Email::parse(email).map_err(|e| errors.push(FieldError::new("client.email", e.to_string())));
        match (mobile, email) {
            (Ok(mobile), Ok(email)) if errors.is_empty() => {
                Ok(Self { fio, age: age as u8, description, mobile, email })
            }
            _ => Err(errors),
        }
    }
}
