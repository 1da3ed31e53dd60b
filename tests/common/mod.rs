//! Shared test helpers: fresh databases, an in-process app (router without a socket), and the
//! real binary on a free port.
#![allow(dead_code)]

pub mod pg_proxy;
pub mod ton_fake;

use std::process::Stdio;
use std::time::Duration;

use atomarket::{App, Settings};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tower::ServiceExt;

pub const BOT_TOKEN: &str = "123456:test-bot-token";
pub const STAFF_TOKEN: &str = "staff-test-token";

/// The PostgreSQL server tests use (`DATABASE_URL`, else the local default).
pub fn pg_base_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The Redis server tests use (`REDIS_URL`, else the local default).
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A database of one test's own, dropped (with any connection still open) when this is dropped —
/// also when the test fails.
pub struct TestDb {
    pub url: String,
    name: String,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (base, name) = (pg_base_url(), self.name.clone());
        // Drop runs outside any runtime the test may still be unwinding: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            rt.block_on(async {
                let admin = sqlx::PgPool::connect(&base).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await?;
                admin.close().await;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// Creates an empty, migrated database of its own for one test. Fails loudly when PostgreSQL
/// cannot be reached. Keep the returned guard alive as long as the database is used.
pub async fn fresh_database() -> TestDb {
    let base = pg_base_url();
    let (prefix, rest) = base.rsplit_once('/').expect("DATABASE_URL has a database name");
    let query = rest.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    let name = format!("atomarket_t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required for this test and is unreachable at {base}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create test database");
    admin.close().await;
    let url = format!("{prefix}/{name}{query}");
    let db = TestDb { url, name };
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect test database");
    adapters_postgres::migrate(&pool).await.expect("migrate test database");
    pool.close().await;
    db
}

/// Fails loudly when Redis cannot be reached.
pub async fn require_redis() {
    let url = redis_url();
    let pool = deadpool_redis::Config::from_url(&url).create_pool(Some(deadpool_redis::Runtime::Tokio1)).unwrap();
    let mut conn =
        pool.get().await.unwrap_or_else(|e| panic!("Redis is required for this test and is unreachable at {url}: {e}"));
    let pong: String = deadpool_redis::redis::cmd("PING").query_async(&mut conn).await.expect("redis ping");
    assert_eq!(pong, "PONG");
}

pub fn settings(database_url: Option<String>, redis_url: Option<String>) -> Settings {
    Settings {
        database_url,
        redis_url,
        listen_addr: "127.0.0.1:0".into(),
        bot_token: Some(BOT_TOKEN.into()),
        staff_tokens: vec![STAFF_TOKEN.into()],
        fee_bps: 500,
        min_withdrawal: "1".into(),
        anti_sniping_seconds: 300,
        presale_collateral_percent: 20,
        max_open_trades: 20,
        outbox_retention_hours: 168,
        rate_limit_per_second: 0,
        rate_limit_burst: 0,
        channel_transfer_seconds: 86_400,
        channel_check_seconds: 60,
        auth_max_age_seconds: 86_400,
        lock_wait_ms: 5_000,
        request_timeout_seconds: 30,
        db_max_connections: 5,
        db_read_connections: 0,
        job_interval_ms: 1_000,
        job_batch: 100,
        relay_interval_ms: 500,
        relay_max_attempts: 12,
        relay_base_delay_ms: 1_000,
        relay_max_delay_ms: 300_000,
        telegram_delivery: "log".into(),
        telegram_api_url: "http://127.0.0.1:9".into(),
        telegram_business_connection_id: None,
        telegram_webhook_secret: None,
        gift_sync_seconds: 60,
        gift_withdrawal_fee: "0".into(),
        payout_gateway_url: None,
        payout_gateway_key: String::new(),
        ton_api_url: None,
        ton_api_key: None,
        ton_wallet_mnemonic: None,
        ton_wallet_version: "v4r2".into(),
        ton_deposit_address: None,
        ton_testnet: false,
        sse_max_connections: 1_000,
        sse_max_per_user: 5,
        sse_keep_alive_ms: 15_000,
        stats_cache_ms: 0,
        gateway_timeout_ms: 2_000,
        bot_token_generated: false,
        log_format: "text".into(),
    }
}

/// Who a request is from.
#[derive(Clone, Debug)]
pub enum As {
    Nobody,
    User(i64),
    Staff,
    /// A raw `Authorization` header value.
    Header(String),
}

pub fn tma(user: i64) -> String {
    format!(
        "tma {}",
        http_api::init_data(BOT_TOKEN, user, Some(&format!("user{user}")), chrono::Utc::now().timestamp())
    )
}

impl As {
    fn header(&self) -> Option<String> {
        match self {
            As::Nobody => None,
            As::User(id) => Some(tma(*id)),
            As::Staff => Some(format!("Bearer {STAFF_TOKEN}")),
            As::Header(h) => Some(h.clone()),
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

impl Reply {
    /// The problem `code`, for error replies.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn is_problem(&self) -> bool {
        self.headers.get(header::CONTENT_TYPE).is_some_and(|v| v == "application/problem+json")
    }
}

/// The app in-process: requests go straight to the router, no socket. Business time is a
/// manual clock (`advance`); authentication uses the real one.
pub struct TestApp {
    pub app: App,
    pub router: axum::Router,
    pub clock: std::sync::Arc<atomarket::system::ManualClock>,
    /// The database this app was made on, dropped with the last app that keeps it.
    db: Option<std::sync::Arc<TestDb>>,
}

impl TestApp {
    pub async fn memory() -> Self {
        Self::with(settings(None, None)).await
    }

    pub async fn postgres() -> Self {
        let db = std::sync::Arc::new(fresh_database().await);
        Self::with(settings(Some(db.url.clone()), None)).await.keeping(db)
    }

    /// Keeps `db` (made for this app) until the app is dropped.
    pub fn keeping(mut self, db: std::sync::Arc<TestDb>) -> Self {
        self.db = Some(db);
        self
    }

    pub async fn with(s: Settings) -> Self {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let clock = std::sync::Arc::new(atomarket::system::ManualClock::new(chrono::Utc::now()));
        let app = atomarket::build_with_clock(&s, clock.clone()).await.expect("build app");
        let router = app.router(&s);
        Self { app, router, clock, db: None }
    }

    /// Moves business time forward.
    pub fn advance(&self, seconds: i64) {
        self.clock.advance(chrono::Duration::seconds(seconds));
    }

    /// One pass of the background jobs.
    pub async fn run_jobs(&self) -> app::jobs::JobReport {
        self.app.jobs.run_once().await
    }

    pub async fn raw(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("router never fails");
        let status = res.status();
        let headers = res.headers().clone();
        // An event stream never ends: its status and headers are the answer (its events are read
        // over a real connection in `live_market.rs`).
        if headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream")) {
            return Reply { status, body: Value::Null, headers };
        }
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply { status, body, headers }
    }

    pub async fn call(&self, method: Method, path: &str, who: As, body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(h) = who.header() {
            req = req.header(header::AUTHORIZATION, h);
        }
        let req = match body {
            Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.raw(req.unwrap()).await
    }

    pub async fn get(&self, path: &str, who: As) -> Reply {
        self.call(Method::GET, path, who, None).await
    }

    /// A POST carrying an `Idempotency-Key`.
    pub async fn post_with_key(&self, path: &str, who: As, body: Value, key: &str) -> Reply {
        let mut req =
            Request::post(path).header(header::CONTENT_TYPE, "application/json").header("idempotency-key", key);
        if let Some(h) = who.header() {
            req = req.header(header::AUTHORIZATION, h);
        }
        self.raw(req.body(Body::from(body.to_string())).unwrap()).await
    }

    /// The database this app runs on, if it made one.
    pub fn database_url(&self) -> Option<String> {
        self.db.as_ref().map(|d| d.url.clone())
    }

    pub async fn post(&self, path: &str, who: As, body: Value) -> Reply {
        self.call(Method::POST, path, who, Some(body)).await
    }

    // ----- arrange helpers -----

    pub async fn deposit(&self, user: i64, amount: &str) {
        let r = self
            .post(
                "/api/admin/deposits",
                As::Staff,
                json!({"user_id": user, "amount": amount, "tx_hash": uuid::Uuid::new_v4().to_string()}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }

    /// Registers an NFT for `owner` and, with a price, lists it. Returns its id.
    pub async fn nft(&self, owner: i64, price: Option<&str>) -> String {
        let gift = uuid::Uuid::new_v4().to_string();
        let r = self
            .post(
                "/api/admin/nfts",
                As::Staff,
                json!({"owner_id": owner, "gift_id": gift, "title": "Plush Pepe", "collection": "pepe"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let id = r.body["id"].as_str().unwrap().to_string();
        if let Some(p) = price {
            let r = self.post("/api/nft/set-price", As::User(owner), json!({"nft_id": id, "price": p})).await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        }
        id
    }

    pub async fn balances(&self, user: i64) -> (String, String) {
        let r = self.get("/api/me", As::User(user)).await;
        assert_eq!(r.status, StatusCode::OK);
        (r.body["available"].as_str().unwrap().into(), r.body["held"].as_str().unwrap().into())
    }

    /// Available and held as decimals.
    pub async fn money(&self, user: i64) -> (rust_decimal::Decimal, rust_decimal::Decimal) {
        let (a, h) = self.balances(user).await;
        (a.parse().unwrap(), h.parse().unwrap())
    }

    pub async fn assert_audit_clean(&self) {
        let r = self.get("/api/admin/audit", As::Staff).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["ok"], json!(true), "audit: {}", r.body);
    }
}

/// The real `atomarket serve` process on a free port; killed on drop.
pub struct Server {
    pub base: String,
    child: tokio::process::Child,
    pub client: reqwest::Client,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `atomarket serve` with test secrets; `envs` add to them (an empty value removes one).
    pub async fn start(envs: &[(&str, String)]) -> Self {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_atomarket"));
        cmd.arg("serve")
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("BOT_TOKEN", BOT_TOKEN)
            .env("STAFF_TOKENS", STAFF_TOKEN)
            .env("DB_MAX_CONNECTIONS", "10")
            .env("TELEGRAM_DELIVERY", "log")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in envs {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let mut child = cmd.spawn().expect("start atomarket");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut errs = BufReader::new(child.stderr.take().unwrap()).lines();
        let sink = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = errs.next_line().await {
                sink.lock().unwrap().push(line);
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    return addr.to_string();
                }
            }
            panic!("atomarket exited before listening");
        })
        .await
        .expect("atomarket did not start listening within 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        adapters_gateways::install_tls_provider();
        Self { base, child, client: reqwest::Client::new(), logs }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, who: As, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(h) = who.header() {
            req = req.header("authorization", h);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str, who: As) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, who, None).await
    }

    pub async fn post(&self, path: &str, who: As, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, who, Some(body)).await
    }

    /// What the server logged so far (stderr).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Runs `atomarket audit` against a database and returns (exit code, output).
pub async fn run_audit(database_url: &str) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_atomarket"))
        .arg("audit")
        .env("DATABASE_URL", database_url)
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run atomarket audit");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Log lines written while a capturing subscriber is the default (see [`CapturedLogs::subscriber`]).
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// A subscriber writing plain text lines (no colours) at `info` and above into this buffer.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(self.clone())
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
