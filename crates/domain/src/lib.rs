//! The core of atomarket: values, entities with their business rules, and the ports (traits) that
//! adapters implement. Nothing here knows about a database, HTTP or a runtime.

pub mod contact;
pub mod entities;
pub mod error;
pub mod fee;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod outbox;
pub mod ports;

pub use contact::{Email, Mobile};
pub use entities::*;
pub use error::{FieldError, RepoError, RuleViolation};
pub use fee::FeeRule;
pub use ids::*;
pub use ledger::{Account, LedgerEntry, Operation, Posting};
pub use money::{Money, MoneyError};
pub use outbox::{OutboxMessage, OutboxPayload};
