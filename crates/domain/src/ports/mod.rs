//! Ports: what the core needs from the outside world, one home per kind. Adapters implement them.
//!
//! - [`repos`]: the repositories a Unit of Work hands out (read, lock, write inside it).
//! - [`gateways`]: outbound services called only after commit (Telegram, payouts, the chain).
//! - [`runtime`]: time, identifiers and the efficiency lock.
//!
//! The read side (plain queries outside any Unit of Work) and the stores the background work
//! drives (outbox queue, idempotency log, wallet journal) are application ports: `app::ports`.
//! Every method says what it returns and, under `# Errors`, which [`RepoError`](crate::RepoError)
//! variants it may give; a method without `# Errors` gives only `Unavailable`, `Transient` or
//! `Other` (the store failed).

pub mod gateways;
pub mod repos;
pub mod runtime;

pub use gateways::*;
pub use repos::*;
pub use runtime::*;
