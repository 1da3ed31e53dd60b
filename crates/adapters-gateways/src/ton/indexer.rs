//! TON without a middleman (SPEC §5a): the indexer's HTTP API (TON Center API v3 or a compatible
//! one) for reading the chain and sending messages, and the marketplace's own wallet (v4r2 or
//! v5r1, built and signed with `tonlib-core`) for payouts.
//!
//! Exactly once, per withdrawal: a signed transfer carries a seqno and an expiry, so it can apply
//! at most once, and it is recorded in the [`WalletJournal`] **before** it is sent. The journal
//! allows one transfer in flight per wallet and one in flight or landed per withdrawal. A transfer
//! in flight is followed on chain (by its message hash, or by its comment — the withdrawal id);
//! it is replaced by a new one only once its expiry has passed and the wallet's seqno shows it
//! never landed.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use app::ports::{TransferState, WalletJournal, WalletTransfer};
use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use domain::ports::Clock;
use domain::ports::{ChainIndexer, GatewayUnavailable, PayoutGateway, PayoutRequest, PayoutStatus};
use domain::{ChainCursor, ChainTransaction, IncomingTransfer, Money, RepoError, WithdrawalId};
use num_bigint::BigUint;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use tonlib_core::cell::{BagOfCells, Cell, CellBuilder};
use tonlib_core::message::{CommonMsgInfo, InternalMessage, TonMessage, TransferMessage};
use tonlib_core::wallet::mnemonic::Mnemonic;
use tonlib_core::wallet::ton_wallet::TonWallet;
use tonlib_core::wallet::wallet_version::WalletVersion;
use tonlib_core::TonAddress as ChainAddress;

use crate::HttpTimeouts;

// ----- amounts ---------------------------------------------------------------------------------

/// Nanotons (the API's integer strings) to an amount, exactly.
pub fn nanotons_to_money(nanotons: &str) -> Option<Money> {
    let n: i128 = nanotons.trim().parse().ok()?;
    Money::from_decimal(Decimal::try_from_i128_with_scale(n, 9).ok()?).ok()
}

/// An amount to nanotons, exactly (amounts have nine decimals at most).
pub fn money_to_nanotons(amount: Money) -> Option<u64> {
    let scaled = amount.as_decimal() * Decimal::from(1_000_000_000u64);
    scaled.is_integer().then(|| u64::try_from(scaled.mantissa() / 10i128.pow(scaled.scale())).ok()).flatten()
}

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

/// The wallet as the chain has it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletState {
    pub balance: Money,
    pub seqno: u32,
    /// Deployed: its first message need not carry its code.
    pub active: bool,
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

    pub async fn wallet_state(&self, address: &str) -> Result<WalletState, GatewayUnavailable> {
        let url = format!("{}/api/v3/walletInformation", self.base_url);
        let w: ApiWallet = self
            .call("walletInformation", || self.client.get(&url).query(&[("address", address), ("use_v2", "false")]))
            .await?;
        let balance = nanotons_to_money(&w.balance)
            .ok_or_else(|| GatewayUnavailable { retry_after: None, reason: "TON API: unreadable balance".into() })?;
        Ok(WalletState { balance, seqno: w.seqno.unwrap_or(0), active: w.status.as_deref() == Some("active") })
    }

    /// Sends a signed external message (base64 BOC).
    pub async fn send_boc(&self, boc: &str) -> Result<(), GatewayUnavailable> {
        let url = format!("{}/api/v3/message", self.base_url);
        let body = json!({ "boc": boc });
        let _: serde_json::Value = self.call("message", || self.client.post(&url).json(&body)).await?;
        Ok(())
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

// ----- the wallet ------------------------------------------------------------------------------

/// The marketplace's wallet: its key (from `TON_WALLET_MNEMONIC`) and contract version.
#[derive(Clone)]
pub struct MarketWallet {
    wallet: TonWallet,
    testnet: bool,
}

/// A signed external message, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransfer {
    /// Base64 BOC.
    pub boc: String,
    /// Base64 hash of the message cell: the name the chain gives it.
    pub msg_hash: String,
}

impl MarketWallet {
    /// `version`: `v4r2` or `v5r1`; `testnet` only changes how the address is written.
    pub fn from_mnemonic(words: &str, version: &str, testnet: bool) -> Result<Self, String> {
        let version = match version.to_ascii_lowercase().as_str() {
            "v4r2" => WalletVersion::V4R2,
            "v5r1" => WalletVersion::V5R1,
            other => return Err(format!("unsupported wallet version {other} (v4r2 or v5r1)")),
        };
        let mnemonic = Mnemonic::from_str(words.trim(), &None).map_err(|e| format!("bad TON_WALLET_MNEMONIC: {e}"))?;
        let keys = mnemonic.to_key_pair().map_err(|e| format!("bad TON_WALLET_MNEMONIC: {e}"))?;
        let wallet = TonWallet::new(version, keys).map_err(|e| format!("cannot build the wallet: {e}"))?;
        Ok(Self { wallet, testnet })
    }

    /// Raw form (`0:<hex>`).
    pub fn raw_address(&self) -> String {
        self.wallet.address.to_hex()
    }

    /// User-friendly form, bounceable (`EQ…`, or `kQ…` on testnet).
    pub fn address(&self) -> String {
        self.wallet.address.to_base64_url_flags(false, self.testnet)
    }

    pub fn public_key(&self) -> &[u8] {
        &self.wallet.key_pair.public_key
    }

    /// Signs one transfer of `nanotons` to `destination` with `comment`; bounceable as the
    /// destination's user-friendly form says (raw addresses: bounceable).
    pub fn sign_transfer(
        &self,
        destination: &str,
        nanotons: u64,
        comment: &str,
        seqno: u32,
        valid_until: u32,
        with_code: bool,
    ) -> Result<SignedTransfer, String> {
        let d = destination.trim();
        let (dest, bounce) = if d.len() == 48 {
            let parsed = if d.contains('-') || d.contains('_') {
                ChainAddress::from_base64_url_flags(d)
            } else {
                ChainAddress::from_base64_std_flags(d)
            };
            let (addr, non_bounceable, _testnet) = parsed.map_err(|e| format!("invalid address: {e}"))?;
            (addr, !non_bounceable)
        } else {
            (ChainAddress::from_str(d).map_err(|e| format!("invalid address: {e}"))?, true)
        };
        let body = {
            let mut b = CellBuilder::new();
            b.store_u32(32, 0).map_err(|e| e.to_string())?;
            b.store_string(comment).map_err(|e| e.to_string())?;
            b.build().map_err(|e| e.to_string())?
        };
        let info = CommonMsgInfo::InternalMessage(InternalMessage {
            ihr_disabled: true,
            bounce,
            bounced: false,
            src: ChainAddress::NULL,
            dest,
            value: BigUint::from(nanotons),
            ihr_fee: BigUint::from(0u8),
            fwd_fee: BigUint::from(0u8),
            created_lt: 0,
            created_at: 0,
        });
        let internal = TransferMessage::new(info, Arc::new(body)).build().map_err(|e| e.to_string())?;
        let external: Cell = self
            .wallet
            .create_external_msg(valid_until, seqno, with_code, vec![Arc::new(internal)])
            .map_err(|e| e.to_string())?;
        let msg_hash = external.cell_hash_base64();
        let boc = BagOfCells::from_root(external).serialize(true).map_err(|e| e.to_string())?;
        Ok(SignedTransfer { boc: base64::engine::general_purpose::STANDARD.encode(boc), msg_hash })
    }
}

// ----- payouts ---------------------------------------------------------------------------------

/// Payouts signed by the marketplace wallet and sent through the indexer's API.
pub struct WalletPayouts {
    api: TonCenter,
    wallet: MarketWallet,
    journal: Arc<dyn WalletJournal>,
    clock: Arc<dyn Clock>,
    /// How long a signed transfer may land.
    ttl: chrono::Duration,
    /// How long past its expiry the indexer gets to show a transfer that landed.
    grace: chrono::Duration,
    /// Kept in the wallet beyond every payout, for fees.
    fee_reserve: Money,
}

/// Where a transfer in flight stands on chain.
enum Followed {
    Sent(String),
    Pending,
    /// It did not land and never will (or landed paying nothing): a new one may be signed.
    Gone,
}

fn journal_down(e: RepoError) -> GatewayUnavailable {
    GatewayUnavailable { retry_after: None, reason: format!("wallet journal: {e}") }
}

impl WalletPayouts {
    pub fn new(api: TonCenter, wallet: MarketWallet, journal: Arc<dyn WalletJournal>, clock: Arc<dyn Clock>) -> Self {
        Self {
            api,
            wallet,
            journal,
            clock,
            ttl: chrono::Duration::seconds(60),
            grace: chrono::Duration::seconds(60),
            fee_reserve: Money::parse("0.05").expect("an amount"),
        }
    }

    /// Shorter expiry and grace (tests).
    pub fn with_timing(mut self, ttl: chrono::Duration, grace: chrono::Duration) -> Self {
        self.ttl = ttl;
        self.grace = grace;
        self
    }

    pub fn wallet_address(&self) -> String {
        self.wallet.address()
    }

    /// Finds the wallet transaction of `t`: the one its message started (by hash), or one that
    /// sent its payout (by comment, destination and amount). `Some(paid)` when found.
    async fn on_chain(&self, t: &WalletTransfer) -> Result<Option<(String, bool)>, GatewayUnavailable> {
        let from = (t.created_at - chrono::Duration::seconds(60)).timestamp();
        let to = (t.valid_until + self.grace + chrono::Duration::seconds(60)).timestamp();
        let comment = t.withdrawal_id.to_string();
        let nanotons = money_to_nanotons(t.amount).map(|n| n.to_string());
        const PAGE: u32 = 256;
        for page in 0..8u32 {
            let query = vec![
                ("account", self.wallet.raw_address()),
                ("start_utime", from.to_string()),
                ("end_utime", to.to_string()),
                ("sort", "asc".to_string()),
                ("limit", PAGE.to_string()),
                ("offset", (page * PAGE).to_string()),
            ];
            let found = self.api.transactions(query).await?;
            for tx in &found {
                let started = tx.in_msg.as_ref().is_some_and(|m| {
                    m.hash.as_deref() == Some(t.msg_hash.as_str())
                        || m.hash_norm.as_deref() == Some(t.msg_hash.as_str())
                });
                let pays = |m: &ApiMessage| {
                    m.comment() == Some(comment.as_str())
                        && m.destination.as_deref().is_some_and(|d| same_address(d, &t.destination))
                        && m.value.as_deref() == nanotons.as_deref()
                };
                let paid = tx.went_through() && tx.out_msgs.iter().any(pays);
                if paid || started {
                    return Ok(Some((tx.hash.clone(), paid)));
                }
            }
            if (found.len() as u32) < PAGE {
                break;
            }
        }
        Ok(None)
    }

    /// Follows a transfer in flight and settles it in the journal once the chain has decided.
    async fn follow(&self, t: &WalletTransfer) -> Result<Followed, GatewayUnavailable> {
        match self.on_chain(t).await? {
            Some((tx_hash, true)) => {
                self.journal.settle(&t.msg_hash, TransferState::Landed, Some(&tx_hash)).await.map_err(journal_down)?;
                metrics::counter!("ton_payouts_landed_total").increment(1);
                return Ok(Followed::Sent(tx_hash));
            }
            Some((tx_hash, false)) => {
                // It used its seqno and paid nothing (the wallet could not pay): sign again.
                tracing::warn!(withdrawal = %t.withdrawal_id, tx = %tx_hash, "ALERT: wallet transfer landed without paying");
                self.journal.settle(&t.msg_hash, TransferState::Expired, Some(&tx_hash)).await.map_err(journal_down)?;
                return Ok(Followed::Gone);
            }
            None => {}
        }
        let now = self.clock.now();
        if now <= t.valid_until {
            // Sending the same signed message again is harmless: it applies at most once.
            if let Err(e) = self.api.send_boc(&t.boc).await {
                tracing::debug!(error = %e, "re-sending a transfer in flight failed");
            }
            return Ok(Followed::Pending);
        }
        if now <= t.valid_until + self.grace {
            return Ok(Followed::Pending); // the indexer may not show it yet
        }
        let state = self.api.wallet_state(&self.wallet.raw_address()).await?;
        if state.seqno <= t.seqno {
            // Expired, and its seqno never used: it never landed and never will.
            self.journal.settle(&t.msg_hash, TransferState::Expired, None).await.map_err(journal_down)?;
            tracing::info!(withdrawal = %t.withdrawal_id, seqno = t.seqno, "wallet transfer expired unsent; it will be signed again");
            return Ok(Followed::Gone);
        }
        // Its seqno was used, yet the indexer shows nothing: wait for it.
        Ok(Followed::Pending)
    }

    fn status(f: Followed) -> PayoutStatus {
        match f {
            Followed::Sent(tx_hash) => PayoutStatus::Sent { tx_hash },
            Followed::Pending => PayoutStatus::Pending,
            Followed::Gone => PayoutStatus::NotFound,
        }
    }

    /// Signs and sends a new transfer for `p`, unless the wallet is busy with another one.
    async fn start(&self, p: &PayoutRequest) -> Result<PayoutStatus, GatewayUnavailable> {
        let wallet = self.wallet.raw_address();
        if let Some(busy) = self.journal.in_flight(&wallet).await.map_err(journal_down)? {
            if busy.withdrawal_id != p.withdrawal_id {
                if let Followed::Pending = self.follow(&busy).await? {
                    return Ok(PayoutStatus::Pending); // one seqno at a time: after that one
                }
            }
        }
        let Some(nanotons) = money_to_nanotons(p.amount).filter(|n| *n > 0) else {
            return Ok(PayoutStatus::Rejected(format!("{} TON is not a payable amount", p.amount)));
        };
        let state = self.api.wallet_state(&wallet).await?;
        let needed = p.amount.checked_add(self.fee_reserve).unwrap_or(p.amount);
        if state.balance < needed {
            metrics::counter!("ton_wallet_short_total").increment(1);
            metrics::gauge!("ton_wallet_balance_short").set(1.0);
            tracing::error!(withdrawal = %p.withdrawal_id, balance = %state.balance, needed = %needed, "ALERT: wallet balance too low for a payout; it waits");
            return Err(GatewayUnavailable {
                retry_after: Some(Duration::from_secs(60)),
                reason: "the wallet's balance is too low; the payout waits".into(),
            });
        }
        metrics::gauge!("ton_wallet_balance_short").set(0.0);
        let now = self.clock.now();
        let valid_until = now + self.ttl;
        let signed = match self.wallet.sign_transfer(
            &p.address,
            nanotons,
            &p.withdrawal_id.to_string(),
            state.seqno,
            valid_until.timestamp() as u32,
            !state.active,
        ) {
            Ok(s) => s,
            Err(e) if e.starts_with("invalid address") => return Ok(PayoutStatus::Rejected(e)),
            Err(e) => return Err(GatewayUnavailable { retry_after: None, reason: format!("cannot sign: {e}") }),
        };
        let transfer = WalletTransfer {
            msg_hash: signed.msg_hash.clone(),
            withdrawal_id: p.withdrawal_id,
            wallet,
            seqno: state.seqno,
            destination: p.address.clone(),
            amount: p.amount,
            valid_until: DateTime::from_timestamp(valid_until.timestamp(), 0).unwrap_or(valid_until),
            boc: signed.boc.clone(),
            state: TransferState::InFlight,
            tx_hash: None,
            created_at: now,
        };
        match self.journal.record(&transfer).await {
            Ok(()) => {}
            // Another sender took the seqno (or this withdrawal) first.
            Err(RepoError::Duplicate(_)) => return Ok(PayoutStatus::Pending),
            Err(e) => return Err(journal_down(e)),
        }
        if let Err(e) = self.api.send_boc(&signed.boc).await {
            // Maybe sent, maybe not: it is recorded, and followed on chain from now on.
            tracing::warn!(withdrawal = %p.withdrawal_id, error = %e, "sending a signed transfer: no answer; following it on chain");
        }
        metrics::counter!("ton_payouts_signed_total").increment(1);
        Ok(PayoutStatus::Pending)
    }
}

#[async_trait]
impl PayoutGateway for WalletPayouts {
    async fn send(&self, p: &PayoutRequest) -> Result<PayoutStatus, GatewayUnavailable> {
        match self.journal.transfer_of(p.withdrawal_id).await.map_err(journal_down)? {
            Some(t) if t.state == TransferState::Landed => {
                Ok(PayoutStatus::Sent { tx_hash: t.tx_hash.unwrap_or_default() })
            }
            Some(t) if t.state == TransferState::InFlight => match self.follow(&t).await? {
                Followed::Gone => self.start(p).await,
                other => Ok(Self::status(other)),
            },
            _ => self.start(p).await,
        }
    }

    async fn lookup(&self, id: WithdrawalId) -> Result<PayoutStatus, GatewayUnavailable> {
        match self.journal.transfer_of(id).await.map_err(journal_down)? {
            None => Ok(PayoutStatus::NotFound),
            Some(t) => match t.state {
                TransferState::Landed => Ok(PayoutStatus::Sent { tx_hash: t.tx_hash.unwrap_or_default() }),
                TransferState::Expired => Ok(PayoutStatus::NotFound),
                TransferState::InFlight => Ok(Self::status(self.follow(&t).await?)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonlib_core::tlb_types::block::message::Message;
    use tonlib_core::tlb_types::tlb::TLB;
    use tonlib_core::wallet::versioned::v4::WalletExtMsgBodyV4;

    /// The test mnemonic and v4r2 address published with tonlib-core's wallet tests.
    const MNEMONIC: &str = "fancy carpet hello mandate penalty trial consider property top vicious exit rebuild tragic profit urban major total month holiday sudden rib gather media vicious";
    const ADDRESS_V4R2: &str = "EQCDM_QGggZ3qMa_f3lRPk4_qLDnLTqdi6OkMAV2NB9r5TG3";

    #[test]
    fn the_address_of_a_published_mnemonic_is_the_published_address() {
        let w = MarketWallet::from_mnemonic(MNEMONIC, "v4r2", false).unwrap();
        assert_eq!(w.address(), ADDRESS_V4R2);
        assert!(MarketWallet::from_mnemonic("not a mnemonic", "v4r2", false).is_err());
        assert!(MarketWallet::from_mnemonic(MNEMONIC, "v1", false).is_err());
    }

    #[test]
    fn a_signed_transfer_parses_back_and_its_signature_verifies() {
        let w = MarketWallet::from_mnemonic(MNEMONIC, "v4r2", false).unwrap();
        let signed = w.sign_transfer(ADDRESS_V4R2, 1_500_000_000, "withdrawal-1", 7, 1_900_000_000, false).unwrap();
        let boc = base64::engine::general_purpose::STANDARD.decode(&signed.boc).unwrap();
        let root = BagOfCells::parse(&boc).unwrap().single_root().unwrap();
        assert_eq!(root.cell_hash_base64(), signed.msg_hash);
        let message = Message::from_cell(&root).unwrap();
        let signed_body = message.body.value.clone();
        let mut parser = signed_body.parser();
        let signature = parser.load_bytes(64).unwrap();
        let body_cell = Cell::read(&mut parser).unwrap();
        let body = WalletExtMsgBodyV4::from_cell(&body_cell).unwrap();
        assert_eq!((body.msg_seqno, body.valid_until, body.msgs.len()), (7, 1_900_000_000, 1));
        assert!(
            nacl::sign::verify(&signature, body_cell.cell_hash().as_slice(), w.public_key()).unwrap(),
            "signed by the wallet's key"
        );
        let mut other = signature.clone();
        other[0] ^= 1;
        assert!(!nacl::sign::verify(&other, body_cell.cell_hash().as_slice(), w.public_key()).unwrap_or(false));
        assert!(w.sign_transfer("not an address", 1, "x", 1, 1, false).unwrap_err().starts_with("invalid address"));
    }

    #[test]
    fn amounts_convert_to_and_from_nanotons_exactly() {
        assert_eq!(nanotons_to_money("1500000001"), Some(Money::parse("1.500000001").unwrap()));
        assert_eq!(nanotons_to_money("x"), None);
        assert_eq!(money_to_nanotons(Money::parse("2.000000003").unwrap()), Some(2_000_000_003));
        assert_eq!(money_to_nanotons(Money::parse("0.5").unwrap()), Some(500_000_000));
    }
}
