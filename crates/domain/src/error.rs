//! Errors shared by the domain and its ports.

/// A business rule was broken. Each variant has a stable code the HTTP layer shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("not enough available funds")]
    InsufficientFunds,
    #[error("the NFT is not listed for sale")]
    NotForSale,
    #[error("the price has changed to {current}")]
    PriceChanged { current: String },
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
    BidTooLow { min: String },
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
    #[error("storage error: {0}")]
    Other(String),
}

impl RepoError {
    pub fn is_transient(&self) -> bool {
        matches!(self, RepoError::Transient(_))
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
