//! Through the router in-process (and live streams over a socket): every route, the relay and its gateways, the TON rails, the gift rail, the live market.
//! One test binary for these modules: one link instead of 9.

#[path = "../common/mod.rs"]
mod common;

mod channels_telegram;
mod collection_offers;
mod console;
mod delivery;
mod discovery;
mod gift_rail;
mod hardening;
mod http_api;
mod http_channels;
mod http_market;
mod http_trades;
mod live_market;
mod ton_rails;
