//! The storage adapters: one conformance suite over every adapter, and races on each.
//! One test binary for these modules: one link instead of 4.

#[path = "../common/mod.rs"]
mod common;

mod conformance;
mod desk_reads;
mod discovery_plans;
mod listed_counts;
mod races;
mod races_bulk;
mod races_market;
mod races_trades;
mod read_gate;
