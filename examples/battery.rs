//! The reliability battery (QUALITY.md): scenarios 1–10 against several `atomarket serve`
//! processes sharing one PostgreSQL database and one Redis, with local fakes of the payout gateway
//! and the Telegram Bot API. After every scenario: `atomarket audit` clean, money conserved to the
//! nanoton (Σavailable + Σheld + fees + pending payouts + sent payouts = Σdeposits, and Σdeposits is
//! what the battery deposited), every 2xx it saw persisted.
//!
//! ```sh
//! cargo build --release --bin atomarket --example battery
//! target/release/examples/battery            # every scenario (about 6 minutes)
//! target/release/examples/battery --quick    # 1, 2, 3, 5, 6, 8 with 20 s runs: the test command runs this
//! target/release/examples/battery 3 8        # chosen scenarios
//! ```
//! It uses `DATABASE_URL` (default the local server) for a database of its own, dropped at the
//! end; Redis is a `redis-server` of its own on a free port, so stopping it disturbs nothing else;
//! scenario 7 restarts the local PostgreSQL cluster (`pg_ctlcluster`) and waits until it is back.
//! It uses the `atomarket` binary built beside it (debug or release). Exit code 1 on any failure.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Json;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BOT: &str = "1:battery-bot-token";
const STAFF: &str = "battery-staff";
const ADDRESS: &str = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";

fn tma(user: i64) -> String {
    format!("tma {}", http_api::init_data(BOT, user, None, chrono::Utc::now().timestamp()))
}

// ---------------------------------------------------------------------------------------------
// Fakes: the payout gateway (idempotent on the withdrawal id, with injectable faults) and the
// Telegram Bot API (answers every method).

#[derive(Default)]
struct Gateway {
    /// Withdrawal id → transaction hash, for every payout the gateway applied.
    applied: Mutex<HashMap<String, String>>,
    /// Percentages of POSTs that fail with 500, time out, apply then time out, or are refused.
    faults: Mutex<[u32; 4]>,
    posts: AtomicU64,
}

async fn gateway_send(State(g): State<Arc<Gateway>>, Json(body): Json<Value>) -> axum::response::Response {
    g.posts.fetch_add(1, Ordering::Relaxed);
    let id = body["id"].as_str().unwrap_or_default().to_string();
    let [fail, timeout, lost, refuse] = *g.faults.lock().unwrap();
    let roll = fastrand::u32(0..100);
    let known = g.applied.lock().unwrap().get(&id).cloned();
    if let Some(tx) = known {
        return Json(json!({"id": id, "status": "sent", "tx_hash": tx})).into_response();
    }
    if roll < fail {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
    }
    if roll < fail + timeout {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        return (axum::http::StatusCode::GATEWAY_TIMEOUT, "slow").into_response();
    }
    if roll < fail + timeout + lost {
        g.applied.lock().unwrap().insert(id.clone(), format!("tx-{id}"));
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        return (axum::http::StatusCode::GATEWAY_TIMEOUT, "applied, answer lost").into_response();
    }
    if roll < fail + timeout + lost + refuse {
        return (axum::http::StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"reason": "address refused"})))
            .into_response();
    }
    g.applied.lock().unwrap().insert(id.clone(), format!("tx-{id}"));
    Json(json!({"id": id, "status": "sent", "tx_hash": format!("tx-{id}")})).into_response()
}

async fn gateway_lookup(State(g): State<Arc<Gateway>>, Path(id): Path<String>) -> axum::response::Response {
    match g.applied.lock().unwrap().get(&id) {
        Some(tx) => Json(json!({"id": id, "status": "sent", "tx_hash": tx})).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

async fn telegram(Path((_bot, method)): Path<(String, String)>) -> Json<Value> {
    let result = match method.as_str() {
        "getMe" => json!({"id": 42, "is_bot": true, "first_name": "Battery"}),
        _ => json!({"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}),
    };
    Json(json!({"ok": true, "result": result}))
}

async fn serve_fake(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Infrastructure: a Redis of the battery's own, the service instances, the client.

struct Redis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl Redis {
    async fn start(port: u16) -> Self {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server (Debian: redis-server)");
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { port, child: Some(child) }
    }

    async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }

    async fn restart(&mut self) {
        self.stop().await;
        *self = Redis::start(self.port).await;
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
    }
}

struct Instance {
    base: String,
    pid: u32,
    child: tokio::process::Child,
}

struct World {
    exe: PathBuf,
    db_url: String,
    db_name: String,
    admin_url: String,
    pool: sqlx::PgPool,
    redis: tokio::sync::Mutex<Redis>,
    gateway: Arc<Gateway>,
    env: Vec<(String, String)>,
    instances: Mutex<Vec<Instance>>,
    bases: RwLock<Vec<String>>,
    client: reqwest::Client,
    /// What the battery deposited, and the effects of every 2xx it saw.
    deposited: Mutex<Decimal>,
    effects: Mutex<Vec<Effect>>,
    next_user: AtomicU64,
    next_gift: AtomicU64,
}

/// A 2xx the battery saw, to find persisted afterwards.
#[derive(Clone, Debug)]
enum Effect {
    Deposit { tx_hash: String },
    Buy { nft: String, buyer: i64 },
    Offer { id: String },
    Bid { auction: String, bidder: i64, amount: String },
    Withdrawal { id: String },
}

/// One answer: `None` when no answer came (the instance was killed, connection refused…).
struct Answer {
    status: Option<u16>,
    body: Value,
    raw: Vec<u8>,
    headers: reqwest::header::HeaderMap,
}

impl World {
    async fn new(instances: usize, extra_env: &[(&str, &str)]) -> Arc<Self> {
        let exe = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("atomarket");
        assert!(exe.exists(), "build the service first: {} is missing", exe.display());
        let base_db = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into());
        let (prefix, _) = base_db.split_once('?').unwrap_or((&base_db, "")).0.rsplit_once('/').unwrap();
        let db_name = format!("atomarket_battery_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&base_db).await.expect("PostgreSQL is required");
        sqlx::query(&format!("CREATE DATABASE {db_name}")).execute(&admin).await.unwrap();
        admin.close().await;
        let db_url = format!("{prefix}/{db_name}?sslmode=disable");
        let migrate =
            tokio::process::Command::new(&exe).arg("migrate").env("DATABASE_URL", &db_url).status().await.unwrap();
        assert!(migrate.success(), "migrations");
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&db_url).await.unwrap();

        let redis = Redis::start(free_port()).await;
        let redis_port = redis.port;
        let gateway = Arc::new(Gateway::default());
        let gateway_url = serve_fake(
            axum::Router::new()
                .route("/payouts", post(gateway_send))
                .route("/payouts/{id}", get(gateway_lookup))
                .with_state(gateway.clone()),
        )
        .await;
        let telegram_url = serve_fake(axum::Router::new().route("/{bot}/{method}", post(telegram))).await;
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", db_url.clone()),
            ("REDIS_URL", format!("redis://127.0.0.1:{redis_port}")),
            ("LISTEN_ADDR", "127.0.0.1:0".into()),
            ("BOT_TOKEN", BOT.into()),
            ("STAFF_TOKENS", STAFF.into()),
            ("TELEGRAM_DELIVERY", "telegram".into()),
            ("TELEGRAM_API_URL", telegram_url),
            ("PAYOUT_GATEWAY_URL", gateway_url),
            ("PAYOUT_GATEWAY_KEY", "battery".into()),
            ("GATEWAY_TIMEOUT_MS", "600".into()),
            ("RELAY_INTERVAL_MS", "100".into()),
            ("RELAY_BASE_DELAY_MS", "100".into()),
            ("RELAY_MAX_DELAY_MS", "800".into()),
            ("RELAY_MAX_ATTEMPTS", "8".into()),
            ("JOB_INTERVAL_MS", "200".into()),
            ("ANTI_SNIPING_SECONDS", "3".into()),
            ("RATE_LIMIT_PER_SECOND", "0".into()),
            ("DB_MAX_CONNECTIONS", "8".into()),
            ("LOCK_WAIT_MS", "2000".into()),
            ("RUST_LOG", "error".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in extra_env {
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v.to_string()));
        }
        let world = Arc::new(World {
            exe,
            db_url,
            db_name,
            admin_url: base_db,
            pool,
            redis: tokio::sync::Mutex::new(redis),
            gateway,
            env,
            instances: Mutex::new(Vec::new()),
            bases: RwLock::new(Vec::new()),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            deposited: Mutex::new(Decimal::ZERO),
            effects: Mutex::new(Vec::new()),
            next_user: AtomicU64::new(1_000),
            next_gift: AtomicU64::new(1),
        });
        for _ in 0..instances {
            let i = world.spawn_instance().await;
            world.instances.lock().unwrap().push(i);
        }
        world.refresh_bases();
        world
    }

    async fn spawn_instance(&self) -> Instance {
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start atomarket");
        let pid = child.id().unwrap_or_default();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(a) = line.strip_prefix("listening on ") {
                    return a.to_string();
                }
            }
            panic!("an instance exited before listening");
        })
        .await
        .expect("an instance did not start within 60 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Instance { base, pid, child }
    }

    fn refresh_bases(&self) {
        let bases = self.instances.lock().unwrap().iter().map(|i| i.base.clone()).collect();
        *self.bases.write().unwrap() = bases;
    }

    fn base(&self) -> String {
        let bases = self.bases.read().unwrap();
        bases[fastrand::usize(0..bases.len())].clone()
    }

    /// `kill -9` one instance, then a new one in its place.
    async fn kill_and_replace(&self, index: usize) {
        let mut old = {
            let mut all = self.instances.lock().unwrap();
            let i = index % all.len();
            all.remove(i)
        };
        self.refresh_bases();
        let _ = std::process::Command::new("kill").args(["-9", &old.pid.to_string()]).status();
        let _ = old.child.wait().await;
        let fresh = self.spawn_instance().await;
        self.instances.lock().unwrap().push(fresh);
        self.refresh_bases();
    }

    fn user(&self) -> i64 {
        self.next_user.fetch_add(1, Ordering::Relaxed) as i64
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Option<String>,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Answer {
        let mut req = self.client.request(method, format!("{}{path}", self.base()));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(res) => {
                let status = Some(res.status().as_u16());
                let headers = res.headers().clone();
                let raw = res.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                Answer { status, body, raw, headers }
            }
            Err(_) => Answer { status: None, body: Value::Null, raw: Vec::new(), headers: Default::default() },
        }
    }

    async fn post(&self, path: &str, who: i64, body: Value) -> Answer {
        self.call(reqwest::Method::POST, path, Some(tma(who)), Some(body), None).await
    }

    /// A staff call that must succeed (setup), retried across instances.
    async fn staff(&self, path: &str, body: Value) -> Value {
        for _ in 0..20 {
            let a =
                self.call(reqwest::Method::POST, path, Some(format!("Bearer {STAFF}")), Some(body.clone()), None).await;
            if a.status.is_some_and(|s| (200..300).contains(&s)) {
                return a.body;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("setup call {path} kept failing");
    }

    async fn deposit(&self, user: i64, amount: &str) {
        let tx_hash = format!("battery-{}", uuid::Uuid::new_v4().simple());
        self.staff("/api/admin/deposits", json!({"user_id": user, "amount": amount, "tx_hash": tx_hash})).await;
        *self.deposited.lock().unwrap() += amount.parse::<Decimal>().unwrap();
        self.effects.lock().unwrap().push(Effect::Deposit { tx_hash });
    }

    /// A new NFT of `owner`, listed at `price` when given.
    async fn nft(&self, owner: i64, price: Option<&str>) -> String {
        let gift = format!("battery-gift-{}", self.next_gift.fetch_add(1, Ordering::Relaxed));
        let nft = self
            .staff(
                "/api/admin/nfts",
                json!({"owner_id": owner, "gift_id": gift, "title": "Battery", "collection": "battery"}),
            )
            .await;
        let id = nft["id"].as_str().unwrap().to_string();
        if let Some(p) = price {
            for _ in 0..20 {
                if self.post("/api/nft/set-price", owner, json!({"nft_id": id, "price": p})).await.status == Some(200) {
                    break;
                }
            }
        }
        id
    }

    fn record(&self, e: Effect) {
        self.effects.lock().unwrap().push(e);
    }

    // ----- the checks after every scenario -----

    async fn check(&self) -> Result<String, String> {
        let audit = tokio::process::Command::new(&self.exe)
            .arg("audit")
            .env("DATABASE_URL", &self.db_url)
            .env("RUST_LOG", "error")
            .output()
            .await
            .map_err(|e| e.to_string())?;
        if !audit.status.success() {
            return Err(format!("audit: {}", String::from_utf8_lossy(&audit.stdout)));
        }
        let row: (Decimal, Decimal, Decimal, Decimal, Decimal) = sqlx::query_as(
            "SELECT (SELECT COALESCE(SUM(available + held), 0) FROM users), \
                    (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account = 'fees'), \
                    (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account = 'pending_payouts'), \
                    (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account = 'external' AND amount > 0), \
                    (SELECT COALESCE(SUM(amount), 0) FROM deposits)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| e.to_string())?;
        let (balances, fees, pending, sent, deposits) = row;
        if balances + fees + pending + sent != deposits {
            return Err(format!("money: {balances} + {fees} + {pending} + {sent} ≠ {deposits}"));
        }
        let deposited = *self.deposited.lock().unwrap();
        if deposits != deposited {
            return Err(format!("deposits in the store {deposits} ≠ deposited by the battery {deposited}"));
        }
        let effects = self.effects.lock().unwrap().clone();
        for e in &effects {
            let found: Option<i32> = match e {
                Effect::Deposit { tx_hash } => sqlx::query_scalar("SELECT 1 FROM deposits WHERE tx_hash = $1").bind(tx_hash),
                Effect::Buy { nft, buyer } => sqlx::query_scalar(
                    "SELECT 1 FROM ledger_entries WHERE operation = 'buy' AND reference = $1 AND user_id = $2 AND amount < 0 LIMIT 1",
                )
                .bind(nft)
                .bind(buyer),
                Effect::Offer { id } => sqlx::query_scalar("SELECT 1 FROM offers WHERE id = $1::uuid").bind(id),
                Effect::Bid { auction, bidder, amount } => sqlx::query_scalar(
                    "SELECT 1 FROM bids WHERE auction_id = $1::uuid AND bidder_id = $2 AND amount = $3::numeric LIMIT 1",
                )
                .bind(auction)
                .bind(bidder)
                .bind(amount),
                Effect::Withdrawal { id } => sqlx::query_scalar("SELECT 1 FROM withdrawals WHERE id = $1::uuid").bind(id),
            }
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| e.to_string())?;
            if found.is_none() {
                return Err(format!("a 2xx was not persisted: {e:?}"));
            }
        }
        Ok(format!("audit clean; {deposits} TON deposited = balances {balances} + fees {fees} + pending {pending} + sent {sent}; {} 2xx effects persisted", effects.len()))
    }

    async fn shutdown(self: Arc<Self>) {
        let all: Vec<Instance> = self.instances.lock().unwrap().drain(..).collect();
        for mut i in all {
            let _ = i.child.kill().await;
        }
        self.pool.close().await;
        self.redis.lock().await.stop().await;
        if let Ok(admin) = sqlx::PgPool::connect(&self.admin_url).await {
            let _ =
                sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db_name)).execute(&admin).await;
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------------
// Tallies.

#[derive(Default)]
struct Tally {
    counts: Mutex<HashMap<String, usize>>,
    latencies: Mutex<Vec<Duration>>,
}

impl Tally {
    fn note(&self, a: &Answer, took: Duration) -> String {
        let key = match a.status {
            None => "no answer".to_string(),
            Some(s) => s.to_string(),
        };
        *self.counts.lock().unwrap().entry(key.clone()).or_default() += 1;
        self.latencies.lock().unwrap().push(took);
        key
    }

    fn count(&self, key: &str) -> usize {
        self.counts.lock().unwrap().get(key).copied().unwrap_or_default()
    }

    fn total(&self) -> usize {
        self.counts.lock().unwrap().values().sum()
    }

    fn server_errors(&self, except: &[&str]) -> usize {
        self.counts
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with('5') && !except.contains(&k.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    fn summary(&self) -> String {
        let mut counts: Vec<_> = self.counts.lock().unwrap().iter().map(|(k, v)| (k.clone(), *v)).collect();
        counts.sort();
        let mut l = self.latencies.lock().unwrap().clone();
        l.sort();
        let pct =
            |p: f64| l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1))).copied().unwrap_or_default();
        format!(
            "{} requests ({}), p50 {:.0} ms, p99 {:.0} ms",
            self.total(),
            counts.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "),
            pct(0.5).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3
        )
    }
}

async fn timed(w: &World, tally: &Tally, f: impl std::future::Future<Output = Answer>) -> Answer {
    let _ = w;
    let t = Instant::now();
    let a = f.await;
    tally.note(&a, t.elapsed());
    a
}

fn ensure(cond: bool, what: String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what)
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

/// 1. Hundreds of buyers over a few dozen listings across every instance: one sale per listing.
async fn buy_storm(w: Arc<World>) -> Result<String, String> {
    let listings: Vec<String> = futures::future::join_all((0..30).map(|_| {
        let w = w.clone();
        async move {
            let seller = w.user();
            w.deposit(seller, "1").await;
            w.nft(seller, Some("1")).await
        }
    }))
    .await;
    let buyers: Vec<i64> = (0..300).map(|_| w.user()).collect();
    futures::future::join_all(buyers.iter().map(|b| w.deposit(*b, "2"))).await;
    let tally = Arc::new(Tally::default());
    let tasks: Vec<_> = buyers
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (w, tally, nft, b) = (w.clone(), tally.clone(), listings[i % listings.len()].clone(), *b);
            tokio::spawn(async move {
                let a = timed(&w, &tally, w.post("/api/nft/buy", b, json!({"nft_id": nft}))).await;
                if a.status == Some(200) {
                    w.record(Effect::Buy { nft, buyer: b });
                }
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
    ensure(tally.count("200") == 30, format!("one sale per listing expected: {}", tally.summary()))?;
    ensure(tally.count("409") == 270, format!("the rest 409: {}", tally.summary()))?;
    let sold: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT reference) FROM ledger_entries WHERE operation = 'buy'")
        .fetch_one(&w.pool)
        .await
        .map_err(|e| e.to_string())?;
    ensure(sold == 30, format!("30 NFTs sold, the store says {sold}"))?;
    Ok(tally.summary())
}

/// 2. One user fires many buys worth more than their balance together: the excess is refused.
async fn double_spend(w: Arc<World>) -> Result<String, String> {
    let spender = w.user();
    w.deposit(spender, "10").await;
    let listings: Vec<String> = futures::future::join_all((0..40).map(|_| {
        let w = w.clone();
        async move { w.nft(w.user(), Some("1")).await }
    }))
    .await;
    let tally = Arc::new(Tally::default());
    let tasks: Vec<_> = listings
        .into_iter()
        .map(|nft| {
            let (w, tally) = (w.clone(), tally.clone());
            tokio::spawn(async move {
                let a = timed(&w, &tally, w.post("/api/nft/buy", spender, json!({"nft_id": nft}))).await;
                if a.status == Some(200) {
                    w.record(Effect::Buy { nft, buyer: spender });
                } else if a.status == Some(409) && a.body["code"] != "insufficient_funds" {
                    panic!("a refused buy says {}", a.body);
                }
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
    let (available, held): (Decimal, Decimal) = sqlx::query_as("SELECT available, held FROM users WHERE id = $1")
        .bind(spender)
        .fetch_one(&w.pool)
        .await
        .map_err(|e| e.to_string())?;
    ensure(
        tally.count("200") == 10 && tally.count("409") == 30,
        format!("10 buys of 1 TON out of 40: {}", tally.summary()),
    )?;
    ensure(available.is_zero() && held.is_zero(), format!("balance {available} / {held}"))?;
    Ok(tally.summary())
}

/// 3. The same Idempotency-Key many times at once, then again: one withdrawal, identical replays.
async fn idempotency(w: Arc<World>) -> Result<String, String> {
    let user = w.user();
    w.deposit(user, "50").await;
    let body = json!({"amount": "5", "address": ADDRESS});
    let tally = Arc::new(Tally::default());
    let call = |w: Arc<World>, body: Value| async move {
        let started = Instant::now();
        let a = w
            .call(reqwest::Method::POST, "/api/market/output", Some(tma(user)), Some(body), Some("battery-key-1"))
            .await;
        (a, started.elapsed())
    };
    let first: Vec<(Answer, Duration)> =
        futures::future::join_all((0..20).map(|_| call(w.clone(), body.clone()))).await;
    let mut bodies = Vec::new();
    for (a, took) in &first {
        tally.note(a, *took);
        match a.status {
            Some(202) => bodies.push(a.raw.clone()),
            Some(409) if a.body["code"] == "idempotency_key_in_use" => {}
            other => return Err(format!("unexpected answer {other:?}: {}", a.body)),
        }
    }
    let mut replays = Vec::new();
    for _ in 0..5 {
        let (a, took) = call(w.clone(), body.clone()).await;
        tally.note(&a, took);
        ensure(a.status == Some(202), format!("a replay after completion: {:?} {}", a.status, a.body))?;
        ensure(a.headers.get("idempotent-replayed").is_some(), "replays are marked".into())?;
        replays.push(a.raw);
    }
    bodies.extend(replays);
    ensure(bodies.windows(2).all(|p| p[0] == p[1]), "every 2xx body is identical, byte for byte".into())?;
    let (other, took) = call(w.clone(), json!({"amount": "6", "address": ADDRESS})).await;
    tally.note(&other, took);
    ensure(
        other.status == Some(422) && other.body["code"] == "idempotency_key_reused",
        format!("another body: {}", other.body),
    )?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM withdrawals WHERE user_id = $1")
        .bind(user)
        .fetch_one(&w.pool)
        .await
        .map_err(|e| e.to_string())?;
    ensure(n == 1, format!("one withdrawal executed, found {n}"))?;
    let id = serde_json::from_slice::<Value>(&bodies[0]).unwrap()["id"].as_str().unwrap().to_string();
    w.record(Effect::Withdrawal { id });
    Ok(format!("{}; 1 execution, {} identical 2xx bodies", tally.summary(), bodies.len()))
}

/// The actors of a mixed workload: funded users with NFTs (half listed) and a few long auctions.
struct Market {
    users: Vec<i64>,
    nfts: Vec<String>,
    auctions: Vec<String>,
}

async fn market(w: &Arc<World>, users: usize) -> Market {
    let ids: Vec<i64> = (0..users).map(|_| w.user()).collect();
    futures::future::join_all(ids.iter().map(|u| w.deposit(*u, "200"))).await;
    let mut nfts = Vec::new();
    for (i, u) in ids.iter().enumerate() {
        for k in 0..3 {
            let price = if k % 2 == 0 { Some(format!("{}", 1 + (i + k) % 5)) } else { None };
            nfts.push(w.nft(*u, price.as_deref()).await);
        }
    }
    let mut auctions = Vec::new();
    for u in ids.iter().take(4) {
        let nft = w.nft(*u, None).await;
        let a = w
            .post("/api/auctions/new", *u, json!({"nft_id": nft, "start_price": "1", "duration_seconds": 86_400}))
            .await;
        if let Some(id) = a.body["id"].as_str() {
            auctions.push(id.to_string());
        }
    }
    Market { users: ids, nfts, auctions }
}

/// One random action of a market participant; records what a 2xx did.
async fn act(w: &World, m: &Market, tally: &Tally) {
    let user = m.users[fastrand::usize(0..m.users.len())];
    let nft = m.nfts[fastrand::usize(0..m.nfts.len())].clone();
    match fastrand::u32(0..100) {
        0..=29 => {
            let a = timed(w, tally, w.post("/api/nft/buy", user, json!({"nft_id": nft}))).await;
            if a.status == Some(200) {
                w.record(Effect::Buy { nft: nft.clone(), buyer: user });
                let price = format!("{}", 1 + fastrand::u32(0..5));
                timed(w, tally, w.post("/api/nft/set-price", user, json!({"nft_id": nft, "price": price}))).await;
            }
        }
        30..=44 => {
            let price = format!("0.{}", 1 + fastrand::u32(0..9));
            let a = timed(
                w,
                tally,
                w.post("/api/offers/new", user, json!({"nft_id": nft, "price": price, "expires_in_seconds": 600})),
            )
            .await;
            if let (Some(201), Some(id)) = (a.status, a.body["id"].as_str()) {
                w.record(Effect::Offer { id: id.to_string() });
            }
        }
        45..=54 => {
            let mine =
                timed(w, tally, w.call(reqwest::Method::GET, "/api/me/offers?limit=20", Some(tma(user)), None, None))
                    .await;
            if let Some(items) = mine.body["items"].as_array() {
                if let Some(o) = items.iter().find(|o| o["status"] == "open") {
                    let path = if o["offerer_id"] == json!(user) { "/api/offers/cancel" } else { "/api/offers/accept" };
                    timed(w, tally, w.post(path, user, json!({"offer_id": o["id"]}))).await;
                }
            }
        }
        55..=69 if !m.auctions.is_empty() => {
            let auction = m.auctions[fastrand::usize(0..m.auctions.len())].clone();
            let current =
                w.call(reqwest::Method::GET, &format!("/api/auctions/{auction}"), Some(tma(user)), None, None).await;
            if let Some(min) = current.body["min_next_bid"].as_str() {
                let amount = min.to_string();
                let a = timed(
                    w,
                    tally,
                    w.post("/api/auctions/bid", user, json!({"auction_id": auction, "amount": amount})),
                )
                .await;
                if a.status == Some(200) {
                    w.record(Effect::Bid { auction, bidder: user, amount });
                }
            }
        }
        70..=74 => {
            let key = uuid::Uuid::new_v4().to_string();
            let body = json!({"amount": "1", "address": ADDRESS});
            let a = timed(
                w,
                tally,
                w.call(reqwest::Method::POST, "/api/market/output", Some(tma(user)), Some(body), Some(&key)),
            )
            .await;
            if let (Some(202), Some(id)) = (a.status, a.body["id"].as_str()) {
                w.record(Effect::Withdrawal { id: id.to_string() });
            }
        }
        75..=78 => {
            // A collection offer: a new one, or one of the book filled with an NFT of one's own,
            // or one's own cancelled.
            match fastrand::u32(0..3) {
                0 => {
                    let body = json!({"collection": "battery", "price": format!("0.{}", 1 + fastrand::u32(0..9)),
                                      "quantity": 1 + fastrand::u32(0..3), "expires_in_seconds": 600});
                    timed(w, tally, w.post("/api/collection-offers/new", user, body)).await;
                }
                1 => {
                    let book = "/api/collection-offers?collection=battery&limit=5";
                    let b = w.call(reqwest::Method::GET, book, Some(tma(user)), None, None).await;
                    let mine =
                        w.call(reqwest::Method::GET, "/api/nfts?owner=me&limit=5", Some(tma(user)), None, None).await;
                    let offer = b.body["items"]
                        .as_array()
                        .and_then(|i| i.iter().find(|o| o["user_id"] != json!(user)).cloned());
                    let nft = mine.body["items"]
                        .as_array()
                        .and_then(|i| i.iter().find(|n| n["status"] == "available").cloned());
                    if let (Some(o), Some(n)) = (offer, nft) {
                        let body = json!({"offer_id": o["id"], "nft_ids": [n["id"]]});
                        timed(w, tally, w.post("/api/collection-offers/fill", user, body)).await;
                    }
                }
                _ => {
                    let mine = "/api/me/collection-offers?limit=5";
                    let m = w.call(reqwest::Method::GET, mine, Some(tma(user)), None, None).await;
                    let open =
                        m.body["items"].as_array().and_then(|i| i.iter().find(|o| o["status"] == "open").cloned());
                    if let Some(o) = open {
                        timed(w, tally, w.post("/api/collection-offers/cancel", user, json!({"offer_id": o["id"]})))
                            .await;
                    }
                }
            }
        }
        79..=81 => {
            // A sweep of the cheapest listings, partial or all or nothing.
            let body = json!({"collection": "battery", "max_items": 1 + fastrand::u32(0..3),
                              "max_price_per_item": "3", "all_or_nothing": fastrand::bool()});
            timed(w, tally, w.post("/api/nft/sweep", user, body)).await;
        }
        _ => {
            let path = ["/api/me", "/api/nfts?listed=true", "/api/auctions?status=active", "/api/me/ledger"]
                [fastrand::usize(0..4)];
            timed(w, tally, w.call(reqwest::Method::GET, path, Some(tma(user)), None, None)).await;
        }
    }
}

/// What a mixed workload tolerates while a fault is injected.
struct Tolerance {
    /// 5xx statuses expected while the fault lasts (503 while PostgreSQL restarts).
    server_errors: &'static [&'static str],
    /// Requests to a killed instance get no answer.
    lost_answers: bool,
}

/// 4–7. A mixed workload for `seconds` with `workers` in parallel, the audit every few seconds,
/// and `fault` running beside it.
async fn mixed<F, Fut>(w: Arc<World>, seconds: u64, tolerance: Tolerance, fault: F) -> Result<String, String>
where
    F: FnOnce(Arc<World>, Duration) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>> + Send + 'static,
{
    let m = Arc::new(market(&w, 40).await);
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (w, m, tally) = (w.clone(), m.clone(), tally.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    act(&w, &m, &tally).await;
                }
            })
        })
        .collect();
    let audits = {
        let w = w.clone();
        tokio::spawn(async move {
            let (mut clean, mut dirty) = (0, Vec::new());
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(3)).await;
                let a =
                    w.call(reqwest::Method::GET, "/api/admin/audit", Some(format!("Bearer {STAFF}")), None, None).await;
                match (a.status, &a.body["ok"]) {
                    (Some(200), Value::Bool(true)) => clean += 1,
                    (Some(200), _) => dirty.push(a.body.to_string()),
                    _ => {}
                }
            }
            (clean, dirty)
        })
    };
    let fault = tokio::spawn(fault(w.clone(), Duration::from_secs(seconds)));
    futures::future::join_all(workers).await;
    let fault_note = fault.await.map_err(|e| e.to_string())??;
    let (clean, dirty) = audits.await.map_err(|e| e.to_string())?;
    ensure(dirty.is_empty(), format!("an audit during the run found violations: {dirty:?}"))?;
    ensure(tally.server_errors(tolerance.server_errors) == 0, format!("server errors: {}", tally.summary()))?;
    ensure(tolerance.lost_answers || tally.count("no answer") == 0, format!("lost answers: {}", tally.summary()))?;
    let ok: usize = ["200", "201", "202"].iter().map(|s| tally.count(s)).sum();
    ensure(ok > 0, format!("nothing succeeded: {}", tally.summary()))?;
    // Let the relay finish what was committed before checking.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(format!("{}; {clean} audits during the run, all clean{}", tally.summary(), fault_note))
}

async fn no_fault(_w: Arc<World>, _d: Duration) -> Result<String, String> {
    Ok(String::new())
}

/// 5. An instance killed with `kill -9` every few seconds and replaced.
async fn killer(w: Arc<World>, d: Duration) -> Result<String, String> {
    let deadline = Instant::now() + d;
    let mut kills = 0;
    while Instant::now() + Duration::from_secs(4) < deadline {
        tokio::time::sleep(Duration::from_secs(3)).await;
        w.kill_and_replace(fastrand::usize(0..8)).await;
        kills += 1;
    }
    Ok(format!("; {kills} instances killed with kill -9 and replaced"))
}

/// 6. Redis stopped for a third of the run, then started again.
async fn redis_outage(w: Arc<World>, d: Duration) -> Result<String, String> {
    tokio::time::sleep(d / 3).await;
    w.redis.lock().await.stop().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ready = w.call(reqwest::Method::GET, "/readyz", None, None, None).await;
    let degraded = ready.body["checks"]["redis"] == "degraded";
    tokio::time::sleep(d / 3).await;
    w.redis.lock().await.restart().await;
    ensure(degraded, format!("/readyz during the outage says {}", ready.body))?;
    Ok(format!("; Redis down {:.0} s, /readyz said redis: degraded", (d / 3).as_secs_f64() + 2.0))
}

/// 7. PostgreSQL restarted mid-run; the service answers 503 while it is down and recovers alone.
async fn postgres_restart(w: Arc<World>, d: Duration) -> Result<String, String> {
    tokio::time::sleep(d / 3).await;
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut r| r.next())
        .and_then(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .ok_or("no /etc/postgresql cluster to restart")?;
    let started = Instant::now();
    let status = tokio::process::Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "restart"])
        .status()
        .await
        .map_err(|e| e.to_string())?;
    ensure(status.success(), "pg_ctlcluster restart failed".into())?;
    // Recovery on its own: a write succeeds again within 30 s.
    let user = w.user();
    for _ in 0..60 {
        let a = w.call(reqwest::Method::GET, "/api/me", Some(tma(user)), None, None).await;
        if a.status == Some(200) {
            return Ok(format!(
                "; PostgreSQL restarted, service answering again after {:.1} s",
                started.elapsed().as_secs_f64()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err("the service did not recover within 30 s of the PostgreSQL restart".into())
}

/// 8. Payout gateway failing (5xx, timeouts, applied-but-answer-lost, refusals): one payout per
///    withdrawal at the gateway, none both paid and refunded.
async fn payout_faults(w: Arc<World>) -> Result<String, String> {
    *w.gateway.faults.lock().unwrap() = [25, 15, 20, 10];
    let users: Vec<i64> = (0..40).map(|_| w.user()).collect();
    futures::future::join_all(users.iter().map(|u| w.deposit(*u, "10"))).await;
    let mut ids = Vec::new();
    for u in &users {
        let key = uuid::Uuid::new_v4().to_string();
        let a = w
            .call(
                reqwest::Method::POST,
                "/api/market/output",
                Some(tma(*u)),
                Some(json!({"amount": "3", "address": ADDRESS})),
                Some(&key),
            )
            .await;
        let id = a.body["id"].as_str().ok_or(format!("withdrawal refused: {}", a.body))?.to_string();
        w.record(Effect::Withdrawal { id: id.clone() });
        ids.push(id);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let statuses = loop {
        let rows: Vec<(uuid::Uuid, String)> =
            sqlx::query_as("SELECT id, status FROM withdrawals WHERE id = ANY($1::uuid[])")
                .bind(ids.iter().map(|i| i.parse::<uuid::Uuid>().unwrap()).collect::<Vec<_>>())
                .fetch_all(&w.pool)
                .await
                .map_err(|e| e.to_string())?;
        if rows.iter().all(|(_, s)| s != "pending") || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    *w.gateway.faults.lock().unwrap() = [0; 4];
    let applied = w.gateway.applied.lock().unwrap().clone();
    let mut by_status: HashMap<String, usize> = HashMap::new();
    for (id, status) in &statuses {
        *by_status.entry(status.clone()).or_default() += 1;
        let paid = applied.contains_key(&id.to_string());
        match status.as_str() {
            "sent" => ensure(paid, format!("{id} is sent but the gateway never paid it"))?,
            "failed" => ensure(!paid, format!("{id} was paid AND refunded"))?,
            "stuck" | "pending" => {}
            other => return Err(format!("unexpected status {other}")),
        }
    }
    ensure(!by_status.contains_key("pending"), format!("withdrawals still pending after 120 s: {by_status:?}"))?;
    Ok(format!(
        "{} withdrawals: {by_status:?}; {} payouts applied by the gateway for {} POSTs (each id at most once)",
        ids.len(),
        applied.len(),
        w.gateway.posts.load(Ordering::Relaxed)
    ))
}

/// 9. Bids arriving at an auction's closing instant: one settlement, losers released.
async fn auction_close(w: Arc<World>) -> Result<String, String> {
    let seller = w.user();
    w.deposit(seller, "1").await;
    let nft = w.nft(seller, None).await;
    let a =
        w.post("/api/auctions/new", seller, json!({"nft_id": nft, "start_price": "1", "duration_seconds": 60})).await;
    let auction = a.body["id"].as_str().ok_or(format!("auction: {}", a.body))?.to_string();
    let ends_at: chrono::DateTime<chrono::Utc> = a.body["ends_at"].as_str().unwrap().parse().unwrap();
    let bidders: Vec<i64> = (0..12).map(|_| w.user()).collect();
    futures::future::join_all(bidders.iter().map(|b| w.deposit(*b, "1000"))).await;
    let wait = (ends_at - chrono::Utc::now() - chrono::Duration::milliseconds(1500)).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let tally = Arc::new(Tally::default());
    let until = Instant::now() + Duration::from_secs(3);
    let tasks: Vec<_> = bidders
        .iter()
        .map(|b| {
            let (w, tally, auction, b) = (w.clone(), tally.clone(), auction.clone(), *b);
            tokio::spawn(async move {
                while Instant::now() < until {
                    let cur = w
                        .call(reqwest::Method::GET, &format!("/api/auctions/{auction}"), Some(tma(b)), None, None)
                        .await;
                    let Some(min) = cur.body["min_next_bid"].as_str().map(str::to_string) else { continue };
                    let a = timed(
                        &w,
                        &tally,
                        w.post("/api/auctions/bid", b, json!({"auction_id": auction, "amount": min})),
                    )
                    .await;
                    if a.status == Some(200) {
                        w.record(Effect::Bid { auction: auction.clone(), bidder: b, amount: min });
                    }
                }
            })
        })
        .collect();
    futures::future::join_all(tasks).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM auctions WHERE id = $1::uuid")
            .bind(&auction)
            .fetch_one(&w.pool)
            .await
            .map_err(|e| e.to_string())?;
        if status == "settled" {
            break;
        }
        ensure(Instant::now() < deadline, "the auction did not settle within 30 s of its last bid".into())?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let settlements: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT operation_id) FROM ledger_entries WHERE operation = 'auction_settle' AND reference = $1",
    )
    .bind(&auction)
    .fetch_one(&w.pool)
    .await
    .map_err(|e| e.to_string())?;
    ensure(settlements == 1, format!("settled {settlements} times"))?;
    let held: Decimal = sqlx::query_scalar("SELECT COALESCE(SUM(held), 0) FROM users WHERE id = ANY($1)")
        .bind(&bidders)
        .fetch_one(&w.pool)
        .await
        .map_err(|e| e.to_string())?;
    ensure(held.is_zero(), format!("bidders still hold {held}"))?;
    ensure(tally.server_errors(&[]) == 0, format!("server errors: {}", tally.summary()))?;
    Ok(format!("{}; settled once, every loser released", tally.summary()))
}

/// 10. Floods from one user and from one address are rate-limited while other users are served;
///     hundreds of idle or slow connections starve no one.
async fn abuse(w: Arc<World>) -> Result<String, String> {
    let flooder = w.user();
    let flood = Arc::new(Tally::default());
    let anonymous = Arc::new(Tally::default());
    let served = Arc::new(Tally::default());
    // Idle and slow connections, held open for the whole scenario.
    let mut idle = Vec::new();
    let base = w.base();
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    for i in 0..300 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            if i % 3 == 0 {
                let _ = s.write_all(b"GET /api/me HTTP/1.1\r\nHost: x\r\n").await;
            }
            idle.push(s);
        }
    }
    let honest: Vec<i64> = (0..20).map(|_| w.user()).collect();
    let until = Instant::now() + Duration::from_secs(6);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (w1, flood) = (w.clone(), flood.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                timed(&w1, &flood, w1.call(reqwest::Method::GET, "/api/me", Some(tma(flooder)), None, None)).await;
            }
        }));
        let (w2, anonymous) = (w.clone(), anonymous.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                timed(&w2, &anonymous, w2.call(reqwest::Method::GET, "/api/nfts", None, None, None)).await;
            }
        }));
    }
    for u in honest.clone() {
        let (w, served) = (w.clone(), served.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                timed(&w, &served, w.call(reqwest::Method::GET, "/api/me", Some(tma(u)), None, None)).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }
    futures::future::join_all(tasks).await;
    let limited = w.call(reqwest::Method::GET, "/api/me", Some(tma(flooder)), None, None).await;
    drop(idle);
    ensure(
        flood.count("429") > 0 && anonymous.count("429") > 0,
        format!("floods limited: user {}; address {}", flood.summary(), anonymous.summary()),
    )?;
    ensure(
        served.count("429") == 0 && served.count("200") == served.total(),
        format!("honest users served: {}", served.summary()),
    )?;
    ensure(served.server_errors(&[]) + flood.server_errors(&[]) == 0, "no server errors".into())?;
    let retry_after = limited.headers.get("retry-after").is_some() || limited.status != Some(429);
    ensure(retry_after, "a 429 carries Retry-After".into())?;
    Ok(format!(
        "flooding user: {}; flooding address: {}; 20 honest users beside 300 idle/slow connections: {}",
        flood.summary(),
        anonymous.summary(),
        served.summary()
    ))
}

// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    adapters_gateways::install_tls_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut chosen: Vec<u32> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if chosen.is_empty() {
        chosen = if quick { vec![1, 2, 3, 5, 6, 8] } else { (1..=10).collect() };
    }
    let seconds: u64 = if quick { 20 } else { 45 };
    println!("reliability battery: scenarios {chosen:?}, 3 instances, mixed workloads of {seconds} s");
    let mut failed = 0;
    for n in chosen {
        let started = Instant::now();
        let limits: &[(&str, &str)] =
            if n == 10 { &[("RATE_LIMIT_PER_SECOND", "20"), ("RATE_LIMIT_BURST", "40")] } else { &[] };
        let w = World::new(3, limits).await;
        let (name, outcome) = match n {
            1 => ("buy storm", buy_storm(w.clone()).await),
            2 => ("double spend", double_spend(w.clone()).await),
            3 => ("idempotency", idempotency(w.clone()).await),
            4 => (
                "mixed workload",
                mixed(w.clone(), seconds, Tolerance { server_errors: &[], lost_answers: false }, no_fault).await,
            ),
            5 => (
                "kill -9",
                mixed(w.clone(), seconds, Tolerance { server_errors: &[], lost_answers: true }, killer).await,
            ),
            6 => (
                "Redis down",
                mixed(w.clone(), seconds, Tolerance { server_errors: &[], lost_answers: false }, redis_outage).await,
            ),
            7 => (
                "PostgreSQL restart",
                mixed(w.clone(), seconds, Tolerance { server_errors: &["503"], lost_answers: false }, postgres_restart)
                    .await,
            ),
            8 => ("payout gateway faults", payout_faults(w.clone()).await),
            9 => ("auction closing instant", auction_close(w.clone()).await),
            10 => ("abuse", abuse(w.clone()).await),
            other => (" unknown", Err(format!("no scenario {other}"))),
        };
        let checked = match outcome {
            Ok(figures) => w.check().await.map(|after| format!("{figures}\n      after: {after}")),
            Err(e) => Err(e),
        };
        match &checked {
            Ok(text) => println!("  ✔ {n}. {name} ({:.1} s): {text}", started.elapsed().as_secs_f64()),
            Err(e) => {
                failed += 1;
                println!("  ✘ {n}. {name} ({:.1} s): {e}", started.elapsed().as_secs_f64());
            }
        }
        w.shutdown().await;
    }
    if failed > 0 {
        println!("{failed} scenario(s) failed");
        std::process::exit(1);
    }
    println!("every scenario passed");
}
