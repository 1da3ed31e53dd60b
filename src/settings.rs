//! Settings from flags and environment.

use std::time::Duration;

use clap::Args;

#[derive(Args, Clone, Debug)]
pub struct Settings {
    /// PostgreSQL URL; without it the service runs on the embedded in-memory store.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Redis URL for distributed locks; without it an in-process lock manager is used.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080", global = true)]
    pub listen_addr: String,
    /// Telegram bot token that signs Mini App init data; generated when missing (serve).
    #[arg(long, env = "BOT_TOKEN", global = true, hide_env_values = true)]
    pub bot_token: Option<String>,
    /// Comma-separated staff Bearer tokens; generated when missing (serve).
    #[arg(long, env = "STAFF_TOKENS", value_delimiter = ',', global = true, hide_env_values = true)]
    pub staff_tokens: Vec<String>,
    /// Marketplace fee in basis points (500 = 5 %).
    #[arg(long, env = "FEE_BPS", default_value_t = 500, global = true)]
    pub fee_bps: u32,
    /// Smallest withdrawal, in TON.
    #[arg(long, env = "MIN_WITHDRAWAL", default_value = "1", global = true)]
    pub min_withdrawal: String,
    #[arg(long, env = "ANTI_SNIPING_SECONDS", default_value_t = 300, global = true)]
    pub anti_sniping_seconds: u64,
    #[arg(long, env = "PRESALE_COLLATERAL_PERCENT", default_value_t = 20, global = true)]
    pub presale_collateral_percent: u32,
    /// Most open trades one maker may have.
    #[arg(long, env = "MAX_OPEN_TRADES", default_value_t = 20, global = true)]
    pub max_open_trades: u32,
    /// How long a channel's seller has to hand it over to the buyer.
    #[arg(long, env = "CHANNEL_TRANSFER_SECONDS", default_value_t = 86_400, global = true)]
    pub channel_transfer_seconds: u64,
    /// How often a channel sale awaiting transfer is checked with Telegram.
    #[arg(long, env = "CHANNEL_CHECK_SECONDS", default_value_t = 60, global = true)]
    pub channel_check_seconds: u64,
    /// Requests a second each user (or, unauthenticated, each client address) may make per
    /// instance, on average; `0` turns rate limiting off. Staff are exempt.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 20, global = true)]
    pub rate_limit_per_second: u32,
    /// How many requests may come at once before the average applies.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 40, global = true)]
    pub rate_limit_burst: u32,
    /// Delivered outbox rows are purged after this many hours (rows given up on are kept).
    #[arg(long, env = "OUTBOX_RETENTION_HOURS", default_value_t = 168, global = true)]
    pub outbox_retention_hours: u64,
    /// Oldest accepted init data.
    #[arg(long, env = "AUTH_MAX_AGE_SECONDS", default_value_t = 86_400, global = true)]
    pub auth_max_age_seconds: u64,
    /// How long a request waits for a contended resource's lock before relying on row locks.
    #[arg(long, env = "LOCK_WAIT_MS", default_value_t = 5_000, global = true)]
    pub lock_wait_ms: u64,
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 30, global = true)]
    pub request_timeout_seconds: u64,
    /// Pause between background job passes.
    #[arg(long, env = "JOB_INTERVAL_MS", default_value_t = 1_000, global = true)]
    pub job_interval_ms: u64,
    /// Most items of each kind a job pass handles.
    #[arg(long, env = "JOB_BATCH", default_value_t = 100, global = true)]
    pub job_batch: u32,
    /// Pause between outbox relay passes.
    #[arg(long, env = "RELAY_INTERVAL_MS", default_value_t = 500, global = true)]
    pub relay_interval_ms: u64,
    /// Delivery attempts before a message is given up (a payout then becomes `stuck`).
    #[arg(long, env = "RELAY_MAX_ATTEMPTS", default_value_t = 12, global = true)]
    pub relay_max_attempts: u32,
    /// First retry delay; doubles per attempt up to `RELAY_MAX_DELAY_MS` (full jitter).
    #[arg(long, env = "RELAY_BASE_DELAY_MS", default_value_t = 1_000, global = true)]
    pub relay_base_delay_ms: u64,
    #[arg(long, env = "RELAY_MAX_DELAY_MS", default_value_t = 300_000, global = true)]
    pub relay_max_delay_ms: u64,
    /// `telegram`, `log`, or `auto` (Telegram when `BOT_TOKEN` is configured).
    #[arg(long, env = "TELEGRAM_DELIVERY", default_value = "auto", global = true)]
    pub telegram_delivery: String,
    #[arg(long, env = "TELEGRAM_API_URL", default_value = "https://api.telegram.org", global = true)]
    pub telegram_api_url: String,
    /// Business connection through which gifts are returned; without it returns are simulated.
    #[arg(long, env = "TELEGRAM_BUSINESS_CONNECTION_ID", global = true)]
    pub telegram_business_connection_id: Option<String>,
    /// Turns `POST /telegram/webhook` on; give the same value to `setWebhook` as `secret_token`
    /// (1–256 of A–Z, a–z, 0–9, `_`, `-`).
    #[arg(long, env = "TELEGRAM_WEBHOOK_SECRET", global = true, hide_env_values = true)]
    pub telegram_webhook_secret: Option<String>,
    /// How often the reconciler pages the business account's gifts (with a business connection).
    #[arg(long, env = "GIFT_SYNC_SECONDS", default_value_t = 60, global = true)]
    pub gift_sync_seconds: u64,
    /// TON charged for returning a gift (`back`), refunded if the return fails for good.
    #[arg(long, env = "GIFT_WITHDRAWAL_FEE", default_value = "0", global = true)]
    pub gift_withdrawal_fee: String,
    /// Payout gateway base URL; without it payouts are simulated (log adapter).
    #[arg(long, env = "PAYOUT_GATEWAY_URL", global = true)]
    pub payout_gateway_url: Option<String>,
    #[arg(long, env = "PAYOUT_GATEWAY_KEY", default_value = "", global = true, hide_env_values = true)]
    pub payout_gateway_key: String,
    /// TON indexer API (TON Center API v3 or compatible) base URL; enables the TON rails.
    #[arg(long, env = "TON_API_URL", global = true)]
    pub ton_api_url: Option<String>,
    #[arg(long, env = "TON_API_KEY", global = true, hide_env_values = true)]
    pub ton_api_key: Option<String>,
    /// The marketplace wallet's 24 words; enables wallet payouts (instead of a payout gateway).
    #[arg(long, env = "TON_WALLET_MNEMONIC", global = true, hide_env_values = true)]
    pub ton_wallet_mnemonic: Option<String>,
    /// The wallet contract: `v4r2` or `v5r1`.
    #[arg(long, env = "TON_WALLET_VERSION", default_value = "v4r2", global = true)]
    pub ton_wallet_version: String,
    /// Where users deposit (their memo as the comment); by default the wallet's own address.
    #[arg(long, env = "TON_DEPOSIT_ADDRESS", global = true)]
    pub ton_deposit_address: Option<String>,
    /// Testnet: addresses are written in their testnet form.
    #[arg(long, env = "TON_TESTNET", default_value_t = false, global = true)]
    pub ton_testnet: bool,
    /// Open event streams (`/api/events`) per instance, and per user; beyond: 503.
    #[arg(long, env = "SSE_MAX_CONNECTIONS", default_value_t = 1_000, global = true)]
    pub sse_max_connections: usize,
    #[arg(long, env = "SSE_MAX_PER_USER", default_value_t = 5, global = true)]
    pub sse_max_per_user: usize,
    /// How often an idle event stream gets a keep-alive comment.
    #[arg(long, env = "SSE_KEEP_ALIVE_MS", default_value_t = 15_000, global = true)]
    pub sse_keep_alive_ms: u64,
    /// How long an instance keeps a collection's statistics before reading them again.
    #[arg(long, env = "STATS_CACHE_MS", default_value_t = 1_000, global = true)]
    pub stats_cache_ms: u64,
    /// Timeout of one outbound HTTP call.
    #[arg(long, env = "GATEWAY_TIMEOUT_MS", default_value_t = 10_000, global = true)]
    pub gateway_timeout_ms: u64,
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,
    /// Of those, how many reads (single statements outside a Unit of Work) hold at once;
    /// 0: two per core.
    #[arg(long, env = "DB_READ_CONNECTIONS", default_value_t = 0, global = true)]
    pub db_read_connections: u32,
    /// Set when `serve` generated the bot token (then Telegram delivery stays log-only).
    #[arg(skip)]
    pub bot_token_generated: bool,
    /// `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
}

impl Settings {
    pub fn lock_wait(&self) -> Duration {
        Duration::from_millis(self.lock_wait_ms)
    }

    pub fn job_interval(&self) -> Duration {
        Duration::from_millis(self.job_interval_ms)
    }

    pub fn relay_interval(&self) -> Duration {
        Duration::from_millis(self.relay_interval_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }
}
