//! Errors shared by the domain and its ports, and the kinds callers map them by.

use crate::money::Money;

/// The problem `code`s that are not a rule's own ([`RuleViolation::code`]), each written once.
pub mod code {
    pub const NOT_FOUND: &str = "not_found";
    pub const FORBIDDEN: &str = "forbidden";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const MALFORMED_REQUEST: &str = "malformed_request";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const UNAVAILABLE: &str = "unavailable";
    pub const INTERNAL: &str = "internal";
    pub const IDEMPOTENCY_KEY_IN_USE: &str = "idempotency_key_in_use";
    pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
    pub const REPLAY: &str = "replay";
}

/// What kind of failure an error is. Whoever answers the caller maps kinds, not variants (the
/// HTTP layer turns each kind into one status), so a new rule needs no new mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The thing does not exist, or the caller may not learn that it does.
    NotFound,
    /// The caller may not do this to this thing.
    Forbidden,
    /// The request breaks a rule of its own (a bound, a minimum), whatever the state.
    Invalid,
    /// The current state does not allow it.
    Conflict,
    /// A dependency is down or too busy; the same request may work later.
    Unavailable,
    /// A bug or an unexpected failure; never shown in detail.
    Internal,
}

/// A business rule was broken. Each variant has a stable code (the problem `code` of the SPEC),
/// a kind, and carries what a caller needs to try again (the current price, the minimum bid).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("not enough available funds")]
    InsufficientFunds,
    #[error("the NFT is not listed for sale")]
    NotForSale,
    #[error("the price has changed to {current}")]
    PriceChanged { current: Money },
    #[error("you cannot trade with yourself")]
    OwnItem,
    #[error("the NFT is not available for this operation")]
    NftUnavailable,
    #[error("only the owner may do this")]
    NotOwner,
    #[error("the manager is not active")]
    ManagerInactive,
    #[error("the auction has ended")]
    AuctionEnded,
    #[error("the bid is too low; the minimum is {min}")]
    BidTooLow { min: Money },
    #[error("the auction already has bids")]
    AuctionHasBids,
    #[error("you already have an open offer on this NFT")]
    OfferExists,
    #[error("the offer is not open")]
    OfferNotOpen,
    #[error("the presale is already sold or closed")]
    PresaleSold,
    #[error("the presale has not been sold")]
    PresaleNotSold,
    /// Something unique exists already (a gift id, an e-mail, a deposit with other values).
    #[error("{what} already exists")]
    Duplicate { what: String },
    #[error("only a stuck withdrawal can be resolved by staff")]
    WithdrawalNotStuck,
    /// The caller is a party of the object but not the one who may do this.
    #[error("only the other party may do this")]
    NotParty,
    #[error("the trade is not open")]
    TradeNotOpen,
    #[error("the trade is out of date: an NFT it asks for is no longer the taker's or no longer available")]
    TradeStale,
    #[error("you already have {max} open trades")]
    TooManyOpenTrades { max: u32 },
    #[error("this channel is already listed or being sold")]
    ChannelListed,
    #[error("the channel sale is no longer awaiting transfer")]
    ChannelSaleClosed,
    #[error("the channel cannot be verified: {reason}")]
    ChannelNotVerified { reason: String },
    /// Telegram does not let the gift leave custody yet.
    #[error("Telegram lets this gift be transferred from {} on", .until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))]
    GiftLocked { until: chrono::DateTime<chrono::Utc> },
    /// An NFT does not match what a collection offer asks for.
    #[error("the NFT does not match the offer's criteria")]
    CriteriaMismatch,
    #[error("you already have {max} open collection offers")]
    TooManyOpenOffers { max: u32 },
    /// No open bid covers the asked minimum.
    #[error("no open offer covers the minimum price")]
    NoOffer,
}

impl RuleViolation {
    /// The stable snake_case code of the SPEC.
    pub fn code(&self) -> &'static str {
        match self {
            RuleViolation::InsufficientFunds => "insufficient_funds",
            RuleViolation::NotForSale => "not_for_sale",
            RuleViolation::PriceChanged { .. } => "price_changed",
            RuleViolation::OwnItem => "own_item",
            RuleViolation::NftUnavailable => "nft_unavailable",
            RuleViolation::NotOwner => code::FORBIDDEN,
            RuleViolation::ManagerInactive => "manager_inactive",
            RuleViolation::AuctionEnded => "auction_ended",
            RuleViolation::BidTooLow { .. } => "bid_too_low",
            RuleViolation::AuctionHasBids => "auction_has_bids",
            RuleViolation::OfferExists => "offer_exists",
            RuleViolation::OfferNotOpen => "offer_not_open",
            RuleViolation::PresaleSold => "presale_sold",
            RuleViolation::PresaleNotSold => "presale_not_sold",
            RuleViolation::Duplicate { .. } => "duplicate",
            RuleViolation::WithdrawalNotStuck => "withdrawal_not_stuck",
            RuleViolation::NotParty => code::FORBIDDEN,
            RuleViolation::TradeNotOpen => "trade_not_open",
            RuleViolation::TradeStale => "trade_stale",
            RuleViolation::TooManyOpenTrades { .. } => "too_many_open_trades",
            RuleViolation::ChannelListed => "channel_listed",
            RuleViolation::ChannelSaleClosed => "channel_sale_closed",
            RuleViolation::ChannelNotVerified { .. } => "channel_not_verified",
            RuleViolation::GiftLocked { .. } => "gift_locked",
            RuleViolation::CriteriaMismatch => "criteria_mismatch",
            RuleViolation::TooManyOpenOffers { .. } => "too_many_open_offers",
            RuleViolation::NoOffer => "no_offer",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            RuleViolation::NotOwner | RuleViolation::NotParty => ErrorKind::Forbidden,
            RuleViolation::ChannelNotVerified { .. } | RuleViolation::CriteriaMismatch => ErrorKind::Invalid,
            _ => ErrorKind::Conflict,
        }
    }
}

/// The constraints a store guards and a use case tells apart: unique keys (what exists once),
/// references (what must exist) and checks. Each adapter maps its own names onto these once
/// (PostgreSQL: `adapters-postgres/src/error.rs`); nothing compares constraint names as strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Constraint {
    /// A gift is registered once.
    GiftId,
    /// An NFT's owner has an account.
    NftOwner,
    /// One open offer per user and NFT.
    OneOpenOfferPerUserAndNft,
    /// One active auction per NFT.
    OneActiveAuctionPerNft,
    /// One listing or sale in progress per channel.
    OneLiveSalePerChannel,
    /// A channel's seller has an account.
    ChannelSeller,
    /// Both parties of a trade have accounts.
    TradeParty,
    /// An on-chain deposit is credited once.
    DepositTxHash,
    /// A deposit memo is one user's, and a user has one.
    OneMemoPerUser,
    MemoTaken,
    /// A memo's user has an account.
    MemoUser,
    /// An unmatched deposit is assigned to an existing account.
    UnmatchedDepositAssignee,
    /// An unmatched gift is assigned to an existing account.
    UnmatchedGiftAssignee,
    /// One wallet transfer in flight per wallet (one seqno in use).
    OneTransferInFlightPerWallet,
    /// One transfer in flight or landed per withdrawal (never two payouts of one).
    OneTransferPerWithdrawal,
    /// A partner-desk client's e-mail is unique.
    ClientEmail,
    /// A client is bound to a manager once.
    ClientManagerPair,
    /// A binding's client exists.
    BindingClient,
    /// A binding's manager exists.
    BindingManager,
    /// Balances are never negative.
    BalanceNonNegative,
}

/// What a repository or Unit of Work can fail with. Adapters translate driver errors into these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// A unique constraint was violated.
    #[error("duplicate ({0:?})")]
    Duplicate(Constraint),
    /// A referenced row does not exist (foreign key).
    #[error("missing reference ({0:?})")]
    MissingReference(Constraint),
    /// A check constraint was violated.
    #[error("constraint violated ({0:?})")]
    Constraint(Constraint),
    /// Serialization failure, deadlock or lock timeout: the whole UoW may be retried.
    #[error("transient conflict: {0}")]
    Transient(String),
    /// The store cannot be reached.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The store refused a value as data (an invalid byte, a string too long…): input that should
    /// have been refused at the edge.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// Anything else, a constraint the domain does not name included (a bug).
    #[error("storage error: {0}")]
    Other(String),
}

impl RepoError {
    pub fn is_transient(&self) -> bool {
        matches!(self, RepoError::Transient(_))
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            RepoError::Transient(_) | RepoError::Unavailable(_) => ErrorKind::Unavailable,
            RepoError::InvalidData(_) => ErrorKind::Invalid,
            _ => ErrorKind::Internal,
        }
    }
}

/// One invalid input field, as shown in a `validation_failed` problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn every_rule_has_its_stable_code_and_kind() {
        use ErrorKind::*;
        let cases = [
            (RuleViolation::InsufficientFunds, "insufficient_funds", Conflict),
            (RuleViolation::NotForSale, "not_for_sale", Conflict),
            (RuleViolation::PriceChanged { current: money("1") }, "price_changed", Conflict),
            (RuleViolation::OwnItem, "own_item", Conflict),
            (RuleViolation::NftUnavailable, "nft_unavailable", Conflict),
            (RuleViolation::NotOwner, "forbidden", Forbidden),
            (RuleViolation::ManagerInactive, "manager_inactive", Conflict),
            (RuleViolation::AuctionEnded, "auction_ended", Conflict),
            (RuleViolation::BidTooLow { min: money("2") }, "bid_too_low", Conflict),
            (RuleViolation::AuctionHasBids, "auction_has_bids", Conflict),
            (RuleViolation::OfferExists, "offer_exists", Conflict),
            (RuleViolation::OfferNotOpen, "offer_not_open", Conflict),
            (RuleViolation::PresaleSold, "presale_sold", Conflict),
            (RuleViolation::PresaleNotSold, "presale_not_sold", Conflict),
            (RuleViolation::Duplicate { what: "gift".into() }, "duplicate", Conflict),
            (RuleViolation::WithdrawalNotStuck, "withdrawal_not_stuck", Conflict),
            (RuleViolation::NotParty, "forbidden", Forbidden),
            (RuleViolation::TradeNotOpen, "trade_not_open", Conflict),
            (RuleViolation::TradeStale, "trade_stale", Conflict),
            (RuleViolation::TooManyOpenTrades { max: 20 }, "too_many_open_trades", Conflict),
            (RuleViolation::ChannelListed, "channel_listed", Conflict),
            (RuleViolation::ChannelSaleClosed, "channel_sale_closed", Conflict),
            (RuleViolation::ChannelNotVerified { reason: "bot is not admin".into() }, "channel_not_verified", Invalid),
            (
                RuleViolation::GiftLocked { until: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap() },
                "gift_locked",
                Conflict,
            ),
            (RuleViolation::CriteriaMismatch, "criteria_mismatch", Invalid),
            (RuleViolation::TooManyOpenOffers { max: 20 }, "too_many_open_offers", Conflict),
            (RuleViolation::NoOffer, "no_offer", Conflict),
        ];
        for (rule, code, kind) in cases {
            assert_eq!((rule.code(), rule.kind()), (code, kind), "{rule:?}");
        }
    }

    #[test]
    fn rule_messages_name_what_a_caller_needs_to_retry() {
        assert_eq!(RuleViolation::PriceChanged { current: money("12.5") }.to_string(), "the price has changed to 12.5");
        assert_eq!(RuleViolation::BidTooLow { min: money("3") }.to_string(), "the bid is too low; the minimum is 3");
        assert_eq!(RuleViolation::TooManyOpenTrades { max: 20 }.to_string(), "you already have 20 open trades");
        assert_eq!(RuleViolation::Duplicate { what: "the gift".into() }.to_string(), "the gift already exists");
    }

    #[test]
    fn only_a_transient_repo_error_may_be_retried() {
        assert!(RepoError::Transient("deadlock".into()).is_transient());
        for other in [
            RepoError::Unavailable("down".into()),
            RepoError::Duplicate(Constraint::GiftId),
            RepoError::Other("bug".into()),
        ] {
            assert!(!other.is_transient(), "{other:?}");
        }
    }

    #[test]
    fn repo_errors_map_to_unavailable_invalid_or_internal() {
        let cases = [
            (RepoError::Transient("deadlock".into()), ErrorKind::Unavailable),
            (RepoError::Unavailable("down".into()), ErrorKind::Unavailable),
            (RepoError::InvalidData("NUL byte".into()), ErrorKind::Invalid),
            (RepoError::Duplicate(Constraint::GiftId), ErrorKind::Internal),
            (RepoError::MissingReference(Constraint::NftOwner), ErrorKind::Internal),
            (RepoError::Constraint(Constraint::BalanceNonNegative), ErrorKind::Internal),
            (RepoError::Other("bug".into()), ErrorKind::Internal),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error:?}");
        }
    }

    #[test]
    fn a_field_error_keeps_its_field_and_message() {
        let e = FieldError::new("client.age", String::from("must be between 18 and 130"));
        assert_eq!((e.field.as_str(), e.message.as_str()), ("client.age", "must be between 18 and 130"));
    }
}
