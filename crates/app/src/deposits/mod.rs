//! Money coming in: on-chain deposits credited to users.

pub mod credit;
