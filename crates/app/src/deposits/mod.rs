//! Money coming in: deposits credited by staff or found on chain by the deposit watcher.

pub mod assign;
pub mod credit;
pub mod memo;
pub mod record_chain;
pub mod watch;
