//! Errors shared by the domain and its ports, and the kinds callers map them by.

use crate::money::Money;

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
    /// An amount under the smallest one this operation takes.
    #[error("must be at least {min}")]
    BelowMinimum { field: &'static str, min: Money },
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
            RuleViolation::NotOwner => "forbidden",
            RuleViolation::ManagerInactive => "manager_inactive",
            RuleViolation::AuctionEnded => "auction_ended",
            RuleViolation::BidTooLow { .. } => "bid_too_low",
            RuleViolation::AuctionHasBids => "auction_has_bids",
            RuleViolation::OfferExists => "offer_exists",
            RuleViolation::OfferNotOpen => "offer_not_open",
            RuleViolation::PresaleSold => "presale_sold",
            RuleViolation::PresaleNotSold => "presale_not_sold",
            RuleViolation::Duplicate { .. } => "duplicate",
            RuleViolation::BelowMinimum { .. } => "validation_failed",
            RuleViolation::WithdrawalNotStuck => "withdrawal_not_stuck",
            RuleViolation::NotParty => "forbidden",
            RuleViolation::TradeNotOpen => "trade_not_open",
            RuleViolation::TradeStale => "trade_stale",
            RuleViolation::TooManyOpenTrades { .. } => "too_many_open_trades",
            RuleViolation::ChannelListed => "channel_listed",
            RuleViolation::ChannelSaleClosed => "channel_sale_closed",
            RuleViolation::ChannelNotVerified { .. } => "channel_not_verified",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            RuleViolation::NotOwner | RuleViolation::NotParty => ErrorKind::Forbidden,
            RuleViolation::BelowMinimum { .. } | RuleViolation::ChannelNotVerified { .. } => ErrorKind::Invalid,
            _ => ErrorKind::Conflict,
        }
    }

    /// The request field at fault, for [`ErrorKind::Invalid`] rules.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RuleViolation::BelowMinimum { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// What a repository or Unit of Work can fail with. Adapters translate driver errors into these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// A unique constraint was violated; carries the constraint's name.
    #[error("duplicate ({0})")]
    Duplicate(String),
    /// A referenced row does not exist (foreign key); carries the constraint's name.
    #[error("missing reference ({0})")]
    MissingReference(String),
    /// A check constraint was violated; carries the constraint's name.
    #[error("constraint violated ({0})")]
    Constraint(String),
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
