//! Outbound HTTP gateways: the Telegram Bot API (messages, gift transfers), the TON payout
//! gateway and TON itself (an indexer's API, the marketplace wallet's key), plus log-only
//! stand-ins for when nothing is configured. Every call has a timeout; answers are sorted into
//! delivered / retry later / refused for good.

pub mod bot_gifts;
mod log;
mod payouts;
mod telegram;
mod ton;

use std::time::Duration;

pub use log::{LogGiftTransfer, LogNotifier, LogPayoutGateway, SimulatedChannelDirectory};
pub use payouts::HttpPayoutGateway;
pub use telegram::TelegramBot;
pub use ton::{nanotons_to_money, MarketWallet, TonCenter};

/// Timeouts of outbound calls.
#[derive(Clone, Copy, Debug)]
pub struct HttpTimeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(3), request: Duration::from_secs(10) }
    }
}

/// Installs the process's one TLS provider (ring). Every reqwest client in the process needs it
/// built first; installing twice is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn client(t: HttpTimeouts) -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .connect_timeout(t.connect)
        .timeout(t.request)
        .user_agent(concat!("atomarket/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("an HTTP client with default settings builds")
}

/// `Retry-After` in seconds, if the answer carried one.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}
