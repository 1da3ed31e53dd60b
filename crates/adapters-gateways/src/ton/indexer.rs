//! A client of the indexer's HTTP API (TON Center API v3 or a compatible one): the chain's
//! transactions of an account (for the deposit watcher), and for the marketplace wallet its state,
//! its transfers and the broadcast of its signed messages.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use domain::ports::{ChainIndexer, GatewayUnavailable, TransferOnChain, TransferQuery, WalletChain, WalletState};
use domain::{ChainCursor, ChainTransaction, IncomingTransfer};
use serde::Deserialize;
use serde_json::json;
use tonlib_core::TonAddress as ChainAddress;

use super::nanotons_to_money;
use crate::HttpTimeouts;

fn same_address(a: &str, b: &str) -> bool {
    match (ChainAddress::from_str(a.trim()), ChainAddress::from_str(b.trim())) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

// ----- the indexer -----------------------------------------------------------------------------

/// A client of TON Center API v3 (`TON_API_URL`, `TON_API_KEY` sent as `X-API-Key`). Rate limits
/// (429, honouring `Retry-After`), 5xx and network errors are retried a few times with backoff
/// before the caller is told the indexer is unavailable.
#[derive(Clone)]
pub struct TonCenter {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
    attempts: u32,
    backoff: Duration,
}

#[derive(Deserialize)]
struct TransactionsPage {
    #[serde(default)]
    transactions: Vec<ApiTransaction>,
}

#[derive(Deserialize, Clone)]
struct ApiTransaction {
    hash: String,
    lt: String,
    now: i64,
    #[serde(default)]
    description: Option<ApiDescription>,
    #[serde(default)]
    in_msg: Option<ApiMessage>,
    #[serde(default)]
    out_msgs: Vec<ApiMessage>,
}

#[derive(Deserialize, Clone, Default)]
struct ApiDescription {
    #[serde(default)]
    aborted: bool,
    #[serde(default)]
    compute_ph: Option<ApiCompute>,
}

#[derive(Deserialize, Clone, Default)]
struct ApiCompute {
    #[serde(default)]
    success: Option<bool>,
}

#[derive(Deserialize, Clone, Default)]
struct ApiMessage {
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    hash_norm: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    destination: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    bounced: Option<bool>,
    #[serde(default)]
    message_content: Option<ApiContent>,
}

#[derive(Deserialize, Clone, Default)]
struct ApiContent {
    #[serde(default)]
    decoded: Option<ApiDecoded>,
}

#[derive(Deserialize, Clone, Default)]
struct ApiDecoded {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

impl ApiMessage {
    fn comment(&self) -> Option<&str> {
        let decoded = self.message_content.as_ref()?.decoded.as_ref()?;
        match decoded.kind.as_deref() {
            Some("text_comment") | None => decoded.comment.as_deref(),
            _ => None,
        }
    }
}

impl ApiTransaction {
    fn went_through(&self) -> bool {
        let d = self.description.clone().unwrap_or_default();
        !d.aborted && d.compute_ph.and_then(|c| c.success) != Some(false)
    }

    fn to_domain(&self) -> Option<ChainTransaction> {
        let lt: u64 = self.lt.parse().ok()?;
        let at = Utc.timestamp_opt(self.now, 0).single()?;
        let incoming = self.in_msg.as_ref().filter(|_| self.went_through()).and_then(|m| {
            let sender = m.source.clone().filter(|s| !s.is_empty())?; // external messages have none
            if m.bounced == Some(true) {
                return None;
            }
            let amount = nanotons_to_money(m.value.as_deref()?)?;
            Some(IncomingTransfer { sender, amount, comment: m.comment().map(String::from) })
        });
        Some(ChainTransaction { hash: self.hash.clone(), lt, at, incoming })
    }
}

#[derive(Deserialize)]
struct ApiWallet {
    balance: String,
    #[serde(default)]
    seqno: Option<u32>,
    #[serde(default)]
    status: Option<String>,
}

impl TonCenter {
    pub fn new(base_url: &str, api_key: Option<String>, timeouts: HttpTimeouts) -> Self {
        Self {
            client: crate::client(timeouts),
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.filter(|k| !k.is_empty()),
            attempts: 4,
            backoff: Duration::from_millis(250),
        }
    }

    /// Fewer, quicker retries (tests).
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, GatewayUnavailable> {
        let mut last = String::new();
        let mut wait = None;
        for attempt in 0..self.attempts {
            if attempt > 0 {
                let pause = wait.unwrap_or(self.backoff * 2u32.pow(attempt - 1)).min(Duration::from_secs(5));
                tokio::time::sleep(pause).await;
            }
            let mut req = request();
            if let Some(key) = &self.api_key {
                req = req.header("X-API-Key", key);
            }
            match req.send().await {
                Ok(res) if res.status().is_success() => {
                    return res.json::<T>().await.map_err(|e| GatewayUnavailable {
                        retry_after: None,
                        reason: format!("TON API {what}: unreadable answer: {e}"),
                    });
                }
                Ok(res) => {
                    let status = res.status().as_u16();
                    wait = crate::retry_after(res.headers());
                    last = format!("TON API {what}: HTTP {status}");
                    if status != 429 && status < 500 {
                        break; // a refusal: asking again will not help
                    }
                    metrics::counter!("ton_api_retries_total").increment(1);
                }
                Err(e) => {
                    wait = None;
                    last = format!(
                        "TON API {what}: {}",
                        if e.is_timeout() { "timed out".to_string() } else { e.to_string() }
                    );
                }
            }
        }
        Err(GatewayUnavailable { retry_after: wait, reason: last })
    }

    async fn transactions(
        &self,
        query: Vec<(&'static str, String)>,
    ) -> Result<Vec<ApiTransaction>, GatewayUnavailable> {
        let url = format!("{}/api/v3/transactions", self.base_url);
        let page: TransactionsPage = self.call("transactions", || self.client.get(&url).query(&query)).await?;
        Ok(page.transactions)
    }
}

#[async_trait]
impl ChainIndexer for TonCenter {
    /// `start_lt` is inclusive, so the cursor's own transaction comes back too, and indexers may
    /// return pages that overlap: transactions at or behind the cursor are dropped, and the next
    /// page is asked for from the newest one kept, until `limit` are found or the history ends.
    async fn transactions_after(
        &self,
        account: &str,
        after: Option<ChainCursor>,
        limit: u32,
    ) -> Result<Vec<ChainTransaction>, GatewayUnavailable> {
        let ask = limit + 1;
        let mut out: Vec<ChainTransaction> = Vec::new();
        let mut from = after;
        for _ in 0..8 {
            let mut query =
                vec![("account", account.to_string()), ("sort", "asc".to_string()), ("limit", ask.to_string())];
            if let Some(c) = &from {
                query.push(("start_lt", c.lt.to_string()));
            }
            let found = self.transactions(query).await?;
            let mut progressed = false;
            for t in &found {
                let Some(tx) = t.to_domain() else {
                    return Err(GatewayUnavailable {
                        retry_after: None,
                        reason: format!("TON API: unreadable transaction {}", t.hash),
                    });
                };
                let seen = out.iter().any(|o| o.hash == tx.hash);
                if !seen && !tx.is_behind(from.as_ref()) && out.len() < limit as usize {
                    out.push(tx);
                    progressed = true;
                }
            }
            out.sort_by_key(|t| t.lt);
            let ended = (found.len() as u32) < ask;
            if ended || out.len() >= limit as usize || !progressed {
                break;
            }
            from = out.last().map(ChainTransaction::cursor);
        }
        Ok(out)
    }
}

#[async_trait]
impl WalletChain for TonCenter {
    async fn wallet_state(&self, address: &str) -> Result<WalletState, GatewayUnavailable> {
        let url = format!("{}/api/v3/walletInformation", self.base_url);
        let w: ApiWallet = self
            .call("walletInformation", || self.client.get(&url).query(&[("address", address), ("use_v2", "false")]))
            .await?;
        let balance = nanotons_to_money(&w.balance)
            .ok_or_else(|| GatewayUnavailable { retry_after: None, reason: "TON API: unreadable balance".into() })?;
        Ok(WalletState { balance, seqno: w.seqno.unwrap_or(0), deployed: w.status.as_deref() == Some("active") })
    }

    /// Pages through the wallet's transactions of the window, oldest first (8 pages of 256 at
    /// most).
    async fn find_transfer(&self, t: &TransferQuery) -> Result<Option<TransferOnChain>, GatewayUnavailable> {
        let nanotons = t.amount.to_nanotons().map(|n| n.to_string());
        const PAGE: u32 = 256;
        for page in 0..8u32 {
            let query = vec![
                ("account", t.wallet.clone()),
                ("start_utime", t.from.timestamp().to_string()),
                ("end_utime", t.until.timestamp().to_string()),
                ("sort", "asc".to_string()),
                ("limit", PAGE.to_string()),
                ("offset", (page * PAGE).to_string()),
            ];
            let found = self.transactions(query).await?;
            for tx in &found {
                let started = tx.in_msg.as_ref().is_some_and(|m| {
                    m.hash.as_deref() == Some(t.msg_hash.as_str())
                        || m.hash_norm.as_deref() == Some(t.msg_hash.as_str())
                });
                let pays = |m: &ApiMessage| {
                    m.comment() == Some(t.comment.as_str())
                        && m.destination.as_deref().is_some_and(|d| same_address(d, &t.destination))
                        && m.value.as_deref() == nanotons.as_deref()
                };
                let paid = tx.went_through() && tx.out_msgs.iter().any(pays);
                if paid || started {
                    return Ok(Some(TransferOnChain { tx_hash: tx.hash.clone(), paid }));
                }
            }
            if (found.len() as u32) < PAGE {
                break;
            }
        }
        Ok(None)
    }

    async fn broadcast(&self, boc: &str) -> Result<(), GatewayUnavailable> {
        let url = format!("{}/api/v3/message", self.base_url);
        let body = json!({ "boc": boc });
        let _: serde_json::Value = self.call("message", || self.client.post(&url).json(&body)).await?;
        Ok(())
    }
}
