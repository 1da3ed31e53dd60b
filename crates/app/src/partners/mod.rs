//! The partner desk (seed 001): clients with a personal manager.

pub mod create_manager;
pub mod create_partner;
