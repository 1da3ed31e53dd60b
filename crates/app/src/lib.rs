//! Use cases of atomarket. Each module holds one use case: its own Unit-of-Work trait (exactly
//! the repositories it touches), the use case and its error enum. Nothing here knows which
//! adapter runs underneath.

pub mod auctions;
pub mod audit;
pub mod back_nft;
pub mod buy_nft;
pub mod create_manager;
pub mod create_partner;
pub mod deposit;
pub mod effects;
pub mod gift_returns;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod offers;
pub mod payouts;
pub mod presales;
pub mod queries;
pub mod register_nft;
pub mod relay;
pub mod services;
pub mod set_nft_price;
pub mod uow;
pub mod withdraw;

pub use services::Services;
pub use uow::{RetryPolicy, UseCaseError};

#[cfg(test)]
mod testing;
