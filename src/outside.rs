//! The outside world as configured: TON rails (indexer, wallet, deposit account) and the gateways
//! the relay delivers to — real ones where configured, log stand-ins otherwise.

use std::sync::Arc;
use std::time::Duration;

use domain::ports::{ChannelDirectory, GiftInventory, GiftTransfer, Notifier, PayoutGateway};

use crate::settings::Settings;

/// The indexer, and the wallet and deposit account when configured.
pub(crate) struct TonRails {
    pub(crate) api: adapters_gateways::TonCenter,
    pub(crate) wallet: Option<adapters_gateways::MarketWallet>,
    /// The deposit account: `TON_DEPOSIT_ADDRESS`, else the wallet's own address.
    pub(crate) deposit_address: Option<String>,
}

/// Reads the TON settings; refuses a wallet and a payout gateway at once (which one pays?).
pub(crate) fn ton_rails(settings: &Settings) -> anyhow::Result<Option<TonRails>> {
    let Some(url) = &settings.ton_api_url else {
        if settings.ton_wallet_mnemonic.is_some() || settings.ton_deposit_address.is_some() {
            anyhow::bail!("TON_WALLET_MNEMONIC and TON_DEPOSIT_ADDRESS need TON_API_URL");
        }
        return Ok(None);
    };
    if settings.ton_wallet_mnemonic.is_some() && settings.payout_gateway_url.is_some() {
        anyhow::bail!("set TON_WALLET_MNEMONIC (wallet payouts) or PAYOUT_GATEWAY_URL (a payout gateway), not both");
    }
    let timeouts = adapters_gateways::HttpTimeouts {
        request: Duration::from_millis(settings.gateway_timeout_ms),
        ..Default::default()
    };
    if settings.ton_testnet && settings.ton_wallet_version.eq_ignore_ascii_case("v5r1") {
        // A v5r1 wallet's id depends on the network; the one built here is mainnet's.
        anyhow::bail!("on testnet use TON_WALLET_VERSION=v4r2 (v5r1 wallets are built with mainnet's wallet id)");
    }
    let api = adapters_gateways::TonCenter::new(url, settings.ton_api_key.clone(), timeouts);
    let wallet = match &settings.ton_wallet_mnemonic {
        Some(words) => Some(
            adapters_gateways::MarketWallet::from_mnemonic(words, &settings.ton_wallet_version, settings.ton_testnet)
                .map_err(|e| anyhow::anyhow!(e))?,
        ),
        None => None,
    };
    let deposit_address = match (&settings.ton_deposit_address, &wallet) {
        (Some(a), _) => {
            domain::TonAddress::parse(a).map_err(|e| anyhow::anyhow!("TON_DEPOSIT_ADDRESS: {e}"))?;
            Some(a.clone())
        }
        (None, Some(w)) => Some(w.address()),
        (None, None) => None,
    };
    match (&wallet, &deposit_address) {
        (Some(w), _) => tracing::info!(wallet = %w.address(), "TON: wallet payouts on"),
        (None, _) => tracing::info!("TON: no wallet (TON_WALLET_MNEMONIC); payouts as before"),
    }
    match &deposit_address {
        Some(a) => tracing::info!(address = %a, "TON: deposit watcher on"),
        None => tracing::warn!("TON: no deposit address (TON_DEPOSIT_ADDRESS or a wallet); the deposit watcher is off"),
    }
    Ok(Some(TonRails { api, wallet, deposit_address }))
}

/// The outside world: what the relay delivers to, and Telegram's view of channels.
pub(crate) struct Gateways {
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) gifts: Arc<dyn GiftTransfer>,
    pub(crate) payouts: Arc<dyn PayoutGateway>,
    pub(crate) channels: Arc<dyn ChannelDirectory>,
    /// The business account's gifts, for the reconciler (Telegram with a business connection).
    pub(crate) inventory: Option<Arc<dyn GiftInventory>>,
}

/// Real gateways where configured, log adapters otherwise.
pub(crate) fn gateways(settings: &Settings) -> Gateways {
    use adapters_gateways::*;
    let timeouts = HttpTimeouts { request: Duration::from_millis(settings.gateway_timeout_ms), ..Default::default() };
    let telegram = match (settings.telegram_delivery.as_str(), &settings.bot_token) {
        ("log", _) | (_, None) => None,
        ("auto", Some(_)) if settings.bot_token_generated => None,
        (_, Some(token)) => Some(Arc::new(TelegramBot::new(
            &settings.telegram_api_url,
            token,
            settings.telegram_business_connection_id.clone(),
            timeouts,
        ))),
    };
    let notifier: Arc<dyn Notifier> = match &telegram {
        Some(t) => t.clone(),
        None => Arc::new(LogNotifier),
    };
    let gifts: Arc<dyn GiftTransfer> = match &telegram {
        Some(t) if settings.telegram_business_connection_id.is_some() => t.clone(),
        _ => Arc::new(LogGiftTransfer),
    };
    let payouts: Arc<dyn PayoutGateway> = match &settings.payout_gateway_url {
        Some(url) => Arc::new(HttpPayoutGateway::new(url, &settings.payout_gateway_key, timeouts)),
        None => {
            tracing::warn!("no PAYOUT_GATEWAY_URL: payouts are SIMULATED by the log adapter; nothing is paid");
            Arc::new(LogPayoutGateway::default())
        }
    };
    let channels: Arc<dyn ChannelDirectory> = match &telegram {
        Some(t) => t.clone(),
        None => {
            tracing::warn!(
                "Telegram is not configured: channel ownership checks are SIMULATED (the seller's claim is trusted)"
            );
            Arc::new(SimulatedChannelDirectory)
        }
    };
    // The reconciler needs Telegram and a business connection; without both, no gift sync.
    let inventory: Option<Arc<dyn GiftInventory>> = match &telegram {
        Some(t) if settings.telegram_business_connection_id.is_some() => Some(t.clone()),
        _ => None,
    };
    Gateways { notifier, gifts, payouts, channels, inventory }
}
