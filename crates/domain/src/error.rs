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
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            RuleViolation::NotOwner | RuleViolation::NotParty => ErrorKind::Forbidden,
            RuleViolation::ChannelNotVerified { .. } => ErrorKind::Invalid,
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
