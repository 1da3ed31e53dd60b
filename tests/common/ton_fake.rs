//! A local fake of TON Center API v3 (wiremock) with a tiny chain behind it: accounts and their
//! transactions in the shape the public API documents (`/api/v3/transactions`,
//! `/api/v3/walletInformation`, `POST /api/v3/message`), and a wallet that applies the external
//! messages sent to it the way a wallet contract does — right seqno, not expired, enough balance —
//! decoding them with tonlib-core. Faults are switched on per test.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde_json::{json, Value};
use tonlib_core::cell::{BagOfCells, Cell};
use tonlib_core::tlb_types::block::message::{CommonMsgInfo, Message};
use tonlib_core::tlb_types::tlb::TLB;
use tonlib_core::wallet::versioned::v4::WalletExtMsgBodyV4;
use tonlib_core::TonAddress;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What `POST /api/v3/message` does with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendMode {
    /// Applies it (if valid) and answers 200.
    Apply,
    /// Applies it and answers 504: applied, but the answer was lost.
    ApplyLoseAnswer,
    /// Answers 200 and loses it: it never lands.
    Swallow,
    /// Answers 500 and drops it.
    Refuse,
}

pub struct Chain {
    next_lt: u64,
    /// Every transaction, as the API shows it (with `account` in raw form).
    pub transactions: Vec<Value>,
    pub wallet: String,
    pub wallet_balance: u128,
    pub wallet_seqno: u32,
    pub send_mode: SendMode,
    /// `/api/v3/transactions` answers 503 (then 429) this many times first.
    pub fail_reads: usize,
    /// Pages overlap: this many transactions before `start_lt` come back too.
    pub overlap: usize,
    /// Messages received, and the ones applied.
    pub sends: usize,
    pub applied: Vec<Applied>,
}

/// A payout the wallet made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub seqno: u32,
    pub destination: String,
    pub nanotons: u64,
    pub comment: String,
    pub tx_hash: String,
}

pub fn raw(address: &str) -> String {
    TonAddress::from_str(address.trim()).expect("an address").to_hex().to_ascii_uppercase()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Chain {
    fn tx_hash(&mut self) -> String {
        self.next_lt += 1000;
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&self.next_lt.to_be_bytes());
        h[8..16].copy_from_slice(&fastrand::u64(..).to_be_bytes());
        b64(&h)
    }

    fn push(&mut self, account: &str, in_msg: Value, out_msgs: Vec<Value>, aborted: bool) -> String {
        let hash = self.tx_hash();
        self.transactions.push(json!({
            "account": raw(account),
            "hash": hash,
            "lt": self.next_lt.to_string(),
            "now": now(),
            "mc_block_seqno": 40_000_000 + self.next_lt / 1000,
            "orig_status": "active",
            "end_status": "active",
            "total_fees": "2814823",
            "prev_trans_hash": null,
            "prev_trans_lt": null,
            "description": {
                "type": "ord",
                "aborted": aborted,
                "destroyed": false,
                "credit_first": true,
                "storage_ph": {"storage_fees_collected": "47", "status_change": "unchanged"},
                "compute_ph": {"skipped": false, "success": !aborted, "exit_code": if aborted { 33 } else { 0 }},
                "action": {"success": !aborted, "result_code": 0, "tot_actions": out_msgs.len(), "msgs_created": out_msgs.len()}
            },
            "in_msg": in_msg,
            "out_msgs": out_msgs,
        }));
        hash
    }

    fn message(source: Option<&str>, destination: &str, nanotons: u64, comment: Option<&str>, bounced: bool) -> Value {
        json!({
            "hash": b64(&fastrand::u64(..).to_be_bytes().repeat(4)),
            "source": source.map(raw),
            "destination": raw(destination),
            "value": nanotons.to_string(),
            "fwd_fee": "266669",
            "ihr_fee": "0",
            "created_lt": "0",
            "created_at": now().to_string(),
            "opcode": comment.map(|_| "0x00000000"),
            "ihr_disabled": true,
            "bounce": false,
            "bounced": bounced,
            "import_fee": null,
            "message_content": {
                "hash": b64(&[7u8; 32]),
                "body": "te6cckEBAQEAAgAAAEysuc0=",
                "decoded": comment.map(|c| json!({"type": "text_comment", "comment": c})),
            },
            "init_state": null,
        })
    }

    /// A transfer arriving at `account`.
    pub fn incoming(
        &mut self,
        account: &str,
        nanotons: u64,
        comment: Option<&str>,
        bounced: bool,
        aborted: bool,
    ) -> String {
        let from = "0:1111111111111111111111111111111111111111111111111111111111111111";
        let msg = Self::message(Some(from), account, nanotons, comment, bounced);
        self.push(account, msg, vec![], aborted)
    }

    /// Something the deposit account sent itself (an outgoing transfer started externally).
    pub fn outgoing(&mut self, account: &str, nanotons: u64) -> String {
        let ext = json!({"hash": b64(&[9u8; 32]), "source": null, "destination": raw(account), "value": null,
            "message_content": {"decoded": null}});
        let out = Self::message(
            Some(account),
            "0:2222222222222222222222222222222222222222222222222222222222222222",
            nanotons,
            None,
            false,
        );
        self.push(account, ext, vec![out], false)
    }

    /// Applies an external message to the wallet as its contract would.
    fn apply(&mut self, boc_b64: &str) -> Result<String, String> {
        let boc = base64::engine::general_purpose::STANDARD.decode(boc_b64).map_err(|e| e.to_string())?;
        let root = BagOfCells::parse(&boc).map_err(|e| e.to_string())?.single_root().map_err(|e| e.to_string())?;
        let msg_hash = root.cell_hash_base64();
        let message = Message::from_cell(&root).map_err(|e| e.to_string())?;
        let signed = message.body.value.clone();
        let mut parser = signed.parser();
        parser.load_bytes(64).map_err(|e| e.to_string())?;
        let body = WalletExtMsgBodyV4::from_cell(&Cell::read(&mut parser).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        if body.msg_seqno != self.wallet_seqno {
            return Err(format!("seqno {} ≠ {}", body.msg_seqno, self.wallet_seqno));
        }
        if i64::from(body.valid_until) < now() {
            return Err("expired".into());
        }
        let mut outs = Vec::new();
        let mut total: u128 = 0;
        let mut paid = Vec::new();
        for m in &body.msgs {
            let internal = Message::from_cell(m).map_err(|e| e.to_string())?;
            let CommonMsgInfo::Int(info) = &internal.info else { return Err("not an internal message".into()) };
            let dest = TonAddress::try_from(info.dest.clone()).map_err(|e| e.to_string())?;
            let nanotons: u64 = info.value.grams.amount.to_string().parse().map_err(|_| "value".to_string())?;
            let mut p = internal.body.value.parser();
            let _op = p.load_u32(32).map_err(|e| e.to_string())?;
            let n = p.remaining_bytes();
            let comment = p.load_utf8(n).map_err(|e| e.to_string())?;
            total += u128::from(nanotons);
            paid.push((dest.to_hex(), nanotons, comment.clone()));
            outs.push(Self::message(Some(&self.wallet.clone()), &dest.to_hex(), nanotons, Some(&comment), false));
        }
        self.wallet_seqno += 1; // the seqno is used whatever happens next (send mode 3)
        let wallet = self.wallet.clone();
        let mut ext = json!({"hash": msg_hash, "source": null, "destination": raw(&wallet), "value": null,
            "message_content": {"decoded": null}});
        ext["hash_norm"] = json!(msg_hash);
        if total > self.wallet_balance {
            // Mode 3 ignores the failed action: the transaction lands and pays nothing.
            let hash = self.push(&wallet, ext, vec![], false);
            return Ok(hash);
        }
        self.wallet_balance -= total;
        let hash = self.push(&wallet, ext, outs, false);
        for (destination, nanotons, comment) in paid {
            self.applied.push(Applied { seqno: body.msg_seqno, destination, nanotons, comment, tx_hash: hash.clone() });
        }
        Ok(msg_hash)
    }
}

pub struct FakeTonCenter {
    pub server: MockServer,
    pub chain: Arc<Mutex<Chain>>,
}

#[derive(Clone)]
struct Endpoint {
    chain: Arc<Mutex<Chain>>,
    kind: &'static str,
}

fn param(req: &Request, name: &str) -> Option<String> {
    req.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

impl Respond for Endpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut c = self.chain.lock().unwrap();
        match self.kind {
            "transactions" => {
                if c.fail_reads > 0 {
                    c.fail_reads -= 1;
                    let status = if c.fail_reads.is_multiple_of(2) { 503 } else { 429 };
                    return ResponseTemplate::new(status)
                        .insert_header("retry-after", "0")
                        .set_body_json(json!({"error": "rate limit exceeded", "code": status}));
                }
                let account = param(req, "account").map(|a| raw(&a));
                let start_lt: Option<u64> = param(req, "start_lt").and_then(|v| v.parse().ok());
                let start_utime: Option<i64> = param(req, "start_utime").and_then(|v| v.parse().ok());
                let end_utime: Option<i64> = param(req, "end_utime").and_then(|v| v.parse().ok());
                let limit: usize = param(req, "limit").and_then(|v| v.parse().ok()).unwrap_or(10);
                let offset: usize = param(req, "offset").and_then(|v| v.parse().ok()).unwrap_or(0);
                let mut found: Vec<&Value> = c
                    .transactions
                    .iter()
                    .filter(|t| account.as_deref().is_none_or(|a| t["account"] == a))
                    .filter(|t| start_utime.is_none_or(|s| t["now"].as_i64().unwrap() >= s))
                    .filter(|t| end_utime.is_none_or(|e| t["now"].as_i64().unwrap() <= e))
                    .collect();
                found.sort_by_key(|t| t["lt"].as_str().unwrap().parse::<u64>().unwrap());
                let lt = |t: &Value| t["lt"].as_str().unwrap().parse::<u64>().unwrap();
                let from = match start_lt {
                    Some(s) => found.iter().position(|t| lt(t) >= s).unwrap_or(found.len()).saturating_sub(c.overlap),
                    None => 0,
                };
                if param(req, "sort").as_deref() == Some("desc") {
                    found.reverse();
                }
                let page: Vec<Value> = found.into_iter().skip(from + offset).take(limit).cloned().collect();
                let book: serde_json::Map<String, Value> = page
                    .iter()
                    .map(|t| {
                        (t["account"].as_str().unwrap().to_string(), json!({"user_friendly": null, "domain": null}))
                    })
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({"transactions": page, "address_book": book}))
            }
            "wallet" => ResponseTemplate::new(200).set_body_json(json!({
                "balance": c.wallet_balance.to_string(),
                "wallet_type": "wallet v4 r2",
                "seqno": c.wallet_seqno,
                "wallet_id": 698983191,
                "last_transaction_lt": c.next_lt.to_string(),
                "last_transaction_hash": "",
                "status": "active",
            })),
            _ => {
                c.sends += 1;
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let boc = body["boc"].as_str().unwrap_or_default().to_string();
                match c.send_mode {
                    SendMode::Refuse => ResponseTemplate::new(500).set_body_json(json!({"error": "internal"})),
                    SendMode::Swallow => ResponseTemplate::new(200).set_body_json(json!({"message_hash": "lost"})),
                    mode => match c.apply(&boc) {
                        Ok(hash) if mode == SendMode::Apply => {
                            ResponseTemplate::new(200).set_body_json(json!({"message_hash": hash, "message_hash_norm": hash}))
                        }
                        Ok(_) => ResponseTemplate::new(504).set_body_json(json!({"error": "gateway timeout"})),
                        // Like a liteserver refusing an external message it cannot apply.
                        Err(e) => ResponseTemplate::new(500).set_body_json(
                            json!({"error": format!("cannot apply external message to current state: {e}"), "code": 500}),
                        ),
                    },
                }
            }
        }
    }
}

impl FakeTonCenter {
    /// A chain whose marketplace wallet is `wallet` with `balance` nanotons and seqno 0.
    pub async fn start(wallet: &str, balance: u128) -> Self {
        let server = MockServer::start().await;
        let chain = Arc::new(Mutex::new(Chain {
            next_lt: 47_000_000_000_000,
            transactions: Vec::new(),
            wallet: raw(wallet),
            wallet_balance: balance,
            wallet_seqno: 0,
            send_mode: SendMode::Apply,
            fail_reads: 0,
            overlap: 0,
            sends: 0,
            applied: Vec::new(),
        }));
        for (m, p, kind) in [
            ("GET", "/api/v3/transactions", "transactions"),
            ("GET", "/api/v3/walletInformation", "wallet"),
            ("POST", "/api/v3/message", "message"),
        ] {
            Mock::given(method(m))
                .and(path(p))
                .respond_with(Endpoint { chain: chain.clone(), kind })
                .mount(&server)
                .await;
        }
        Self { server, chain }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Chain) -> T) -> T {
        f(&mut self.chain.lock().unwrap())
    }
}
