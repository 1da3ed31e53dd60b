//! The real binary end to end: commands, the contract (schemathesis), round trips per buy, the quick reliability battery,
//! the operator console in a real browser.
//! One test binary for these modules: one link instead of 4.

#[path = "../common/mod.rs"]
mod common;

mod battery;
mod console;
mod contract;
mod e2e;
mod round_trips;
