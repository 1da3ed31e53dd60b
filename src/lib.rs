//! Composition root, by concern: [`settings`] (flags and environment) → [`wiring`] (adapters
//! into use cases) with [`outside`] (gateways and TON rails) → [`background`] (jobs and relay).

pub mod background;
pub mod outside;
pub mod settings;
pub mod system;
pub mod wiring;

pub use background::{run_jobs, run_relay, spawn_background};
pub use settings::Settings;
pub use wiring::{audit, build, build_with_clock, metrics_handle, App, Store};
