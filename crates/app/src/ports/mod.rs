//! Application ports: what the use cases' services need beyond a Unit of Work's repositories
//! (those, the outbound gateways and the runtime are in `domain::ports`).
//!
//! - [`reads`]: the read side, one port per aggregate, split by area.
//! - [`UserSignup`]: the one write outside a Unit of Work (a user's first request).
//! - [`OutboxQueue`], [`IdempotencyLog`], [`WalletJournal`]: the stores background work drives.
//! - [`HealthCheck`]: readiness of a dependency.
//! - [`ConsoleSessions`]: the operator console's signed-in sessions.

mod console_sessions;
mod health;
mod idempotency;
mod outbox;
pub mod reads;
mod users;
mod wallet;

pub use console_sessions::*;
pub use health::*;
pub use idempotency::*;
pub use outbox::*;
pub use users::*;
pub use wallet::*;
