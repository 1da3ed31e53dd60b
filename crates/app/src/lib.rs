//! Use cases of atomarket, one file each, grouped by area (`nfts/buy.rs`, `offers/accept.rs`…).
//! A use case's file holds its own Unit-of-Work trait (exactly the repositories it touches), its
//! command, its result and its mock tests; every use case returns [`Error`]. Nothing here knows
//! which adapter runs underneath. The shape and the recipe for a new use case: ADR 001.

pub mod auctions;
pub mod audit;
pub mod channels;
pub mod collection_offers;
pub mod context;
pub mod deposits;
pub mod effects;
pub mod error;
pub mod gifts;
pub mod idempotency;
pub mod jobs;
pub mod live;
pub mod nfts;
pub mod offers;
pub mod partners;
pub mod ports;
pub mod presales;
pub mod relay;
pub mod services;
pub mod trades;
pub mod uow;
pub mod withdrawals;

pub use context::{Context, Rules};
pub use error::{Error, ErrorKind};
pub use services::Services;
pub use uow::{BeginTransaction, RetryPolicy, Storage, Transaction};

#[cfg(test)]
mod testing;
