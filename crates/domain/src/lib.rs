//! The core of atomarket: values, entities with their business rules, and the ports (traits) that
//! adapters implement. Nothing here knows about a database, HTTP or a runtime.

pub mod auction;
pub mod chain;
pub mod channel;
pub mod contact;
pub mod entities;
pub mod error;
pub mod event;
pub mod fee;
pub mod idempotency;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod outbox;
pub mod ports;
pub mod presale;
pub mod text;
pub mod ton;
pub mod trade;

pub use auction::{Auction, AuctionStatus, AuctionTerms, Bid, BidOutcome};
pub use chain::{ChainCursor, ChainTransaction, IncomingTransfer, UnmatchedDeposit};
pub use channel::{ChannelInfo, ChannelRef, ChannelSale, ChannelSaleStatus};
pub use contact::{Email, Mobile};
pub use entities::*;
pub use error::{code, Constraint, ErrorKind, FieldError, RepoError, RuleViolation};
pub use event::{EventKind, MarketEvent};
pub use fee::FeeRule;
pub use ids::*;
pub use ledger::{Account, LedgerEntry, Operation, Posting};
pub use money::{Money, MoneyError};
pub use outbox::{OutboxMessage, OutboxPayload};
pub use presale::Presale;
pub use presale::PresaleStatus;
pub use ton::TonAddress;
pub use trade::{Trade, TradeParty, TradeSide, TradeStatus, TradeTerms};
