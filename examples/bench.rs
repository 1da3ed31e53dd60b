//! The benchmark of QUALITY.md and issue 10, in one run, against the release `atomarket serve` on
//! PostgreSQL + Redis (no TLS on either side) in a fresh database:
//!
//! - **B1** uncontended buys (`POST /api/nft/buy` over distinct listings) for a fixed duration at a
//!   fixed concurrency, on one instance and on two instances sharing the database;
//! - **limit**: `../shared/bench/limit.sh` (pgbench running the reference buy transaction) at the
//!   same concurrency and duration on the same PostgreSQL; B1 is reported as a ratio of it;
//! - **B3** contended buys: 400 buyers on 5 NFTs — time to drain, p99, exactly 5 sales;
//! - **B4** a mixed workload (reads, listings, offers, bids, buys): throughput;
//! - **sweeps** of 50 listings each (issue 20): sweeps per second and their latency;
//! - **B5** discovery at scale: a second database seeded in SQL with QUALITY.md's market (1,000,000
//!   NFTs, `tests/common/b5_seed.sql`): a mix of discovery queries at the same concurrency, per kind
//!   throughput and p50/p99; and B1 on that database in every round beside B1 on the empty one;
//! - database round trips and Redis commands per buy, counted on the wire (a counting proxy in
//!   front of PostgreSQL, Redis' own command counter), with the auth cache cold and warm;
//! - each server's peak RSS; `atomarket audit` at the end.
//!
//! ```sh
//! cargo build --release --bin atomarket --example bench
//! target/release/examples/bench [seconds=20] [concurrency=32] [rounds=3]
//! ```
//! Rounds rotate the order of B1 (one instance), the limit and B1 (two instances); the table shows
//! each round and the medians. Like limit.sh, buys cycle over 1,000 buyers and every listing has
//! its own seller. `DATABASE_URL`, `REDIS_URL` override the local servers; `LIMIT_SH` the script.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

#[path = "../tests/common/pg_proxy.rs"]
mod pg_proxy;

const BOT: &str = "1:bench-bot-token";
const STAFF: &str = "bench-staff";
const BUYERS: i64 = 1_000;

fn tma(user: i64) -> String {
    format!("tma {}", http_api::init_data(BOT, user, None, chrono::Utc::now().timestamp()))
}

// ----- measurements ----------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    elapsed: Duration,
    statuses: HashMap<u16, usize>,
    /// Every job was done before the time was up.
    exhausted: bool,
}

impl Stats {
    fn merge(&mut self, other: Vec<(Duration, u16)>) {
        for (l, s) in other {
            self.latencies.push(l);
            *self.statuses.entry(s).or_default() += 1;
        }
    }
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&mut self, p: f64) -> f64 {
        self.latencies.sort();
        let n = self.latencies.len();
        if n == 0 {
            return 0.0;
        }
        self.latencies[((n as f64 * p) as usize).min(n - 1)].as_secs_f64() * 1e3
    }
    fn count(&self, status: u16) -> usize {
        self.statuses.get(&status).copied().unwrap_or(0)
    }
    /// Answers other than those listed.
    fn other_than(&self, expected: &[u16]) -> usize {
        self.statuses.iter().filter(|(s, _)| !expected.contains(s)).map(|(_, n)| n).sum()
    }
    fn statuses(&self) -> String {
        let mut s: Vec<_> = self.statuses.iter().collect();
        s.sort();
        s.iter()
            .map(|(k, v)| format!("{}: {v}", if **k == 0 { "no answer".into() } else { k.to_string() }))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// CPU seconds a process has used (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<f64> = after.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // After the command name: state is not numeric, so utime and stime are fields 11 and 12 here.
    (f.get(10).copied().unwrap_or(0.0) + f.get(11).copied().unwrap_or(0.0)) / 100.0
}

/// CPU seconds the whole machine has spent busy, and idle.
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let idle = f.get(3).copied().unwrap_or(0.0) + f.get(4).copied().unwrap_or(0.0);
    (f.iter().sum::<f64>() / 100.0 - idle / 100.0, idle / 100.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

// ----- the service -----------------------------------------------------------------------------

struct Instance {
    child: tokio::process::Child,
    base: String,
    pid: u32,
}

async fn start(db: &str, redis: &str, pool: u32, extra: &[&str]) -> Instance {
    let exe = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("atomarket");
    let mut child = tokio::process::Command::new(&exe)
        .arg("serve")
        .args(extra)
        .env("DATABASE_URL", db)
        .env("REDIS_URL", redis)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("BOT_TOKEN", BOT)
        .env("STAFF_TOKENS", STAFF)
        .env("DB_MAX_CONNECTIONS", pool.to_string())
        .env("TELEGRAM_DELIVERY", "log")
        .env("RATE_LIMIT_PER_SECOND", "0")
        .env_remove("RUST_LOG") // the default level: what it costs is part of the figure
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {} (cargo build --release --bin atomarket): {e}", exe.display()));
    let pid = child.id().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next_line().await.unwrap().expect("the server exited during start");
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Instance { child, base, pid }
}

async fn post(client: &reqwest::Client, url: String, auth: &str, body: Value) -> (u16, Value) {
    let r = client.post(url).header("authorization", auth).json(&body).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

// ----- the data --------------------------------------------------------------------------------

/// Listings of one run: NFT `i` (gift `r{run}-{i}`) has its own seller and the planned buyer
/// `buyer_base + i % BUYERS`, funded for every buy planned for them. Seeded in SQL (what the admin
/// API and a deposit would write: users, deposits and their balanced ledger entries), so a run of
/// 100,000 listings takes seconds.
async fn seed(pool: &sqlx::PgPool, run: i64, n: i64) -> Vec<(i64, String)> {
    let (seller_base, buyer_base) = (100_000_000 + run * 10_000_000, 900_000_000 + run * 10_000);
    let per_buyer = (n + BUYERS - 1) / BUYERS;
    let mut tx = pool.begin().await.unwrap();
    for sql in [
        "INSERT INTO users (id, available, held) SELECT $1 + i, 0, 0 FROM generate_series(0, $3 - 1) i",
        "INSERT INTO users (id, available, held) SELECT $2 + b, $4, 0 FROM generate_series(0, 999) b",
        "INSERT INTO deposits (id, user_id, amount, tx_hash, created_at) \
         SELECT gen_random_uuid(), $2 + b, $4, 'bench-' || ($2 + b), now() FROM generate_series(0, 999) b",
        "INSERT INTO ledger_entries (id, operation_id, operation, user_id, account, amount, reference, created_at) \
         SELECT gen_random_uuid(), d.id, 'deposit', x.user_id, x.account, x.amount, d.tx_hash, now() \
         FROM deposits d CROSS JOIN LATERAL (VALUES (NULL::bigint, 'external', -d.amount), (d.user_id, 'available', d.amount)) x(user_id, account, amount) \
         WHERE d.tx_hash LIKE 'bench-%' AND d.user_id BETWEEN $2 AND $2 + 999",
        "INSERT INTO nfts (id, gift_id, title, collection, owner_id, price, status, created_at) \
         SELECT gen_random_uuid(), 'r' || $5 || '-' || i, 'Bench gift', 'bench', $1 + i, 1, 'available', now() \
         FROM generate_series(0, $3 - 1) i",
    ] {
        sqlx::query(sql)
            .bind(seller_base)
            .bind(buyer_base)
            .bind(n)
            .bind(rust_decimal::Decimal::from(per_buyer + 1))
            .bind(run.to_string())
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("seed: {e}\n{sql}"));
    }
    tx.commit().await.unwrap();
    let rows: Vec<(String, uuid::Uuid)> = sqlx::query_as("SELECT gift_id, id FROM nfts WHERE gift_id LIKE $1")
        .bind(format!("r{run}-%"))
        .fetch_all(pool)
        .await
        .unwrap();
    let mut out = vec![(0, String::new()); n as usize];
    for (gift, id) in rows {
        let i: i64 = gift.rsplit('-').next().unwrap().parse().unwrap();
        out[i as usize] = (buyer_base + i % BUYERS, id.to_string());
    }
    // What autovacuum would do during the next run, done now; then a checkpoint, as limit.sh does.
    sqlx::query("VACUUM ANALYZE").execute(pool).await.unwrap();
    sqlx::query("CHECKPOINT").execute(pool).await.unwrap();
    out
}

/// Pre-signed credentials, so the load generator spends its CPU on requests, not on HMACs.
fn credentials(jobs: &[(i64, String)]) -> HashMap<i64, String> {
    let mut out = HashMap::new();
    for (buyer, _) in jobs {
        out.entry(*buyer).or_insert_with(|| tma(*buyer));
    }
    out
}

// ----- B1: buys for a fixed time ---------------------------------------------------------------

/// Sends requests `0..count` in order — `request(i)` gives the `Authorization` header and the
/// JSON body of the `i`-th — with `concurrency` workers, worker `w` to `urls[w % urls.len()]`,
/// until they run out or `seconds` pass.
type Request = Arc<dyn Fn(usize) -> (String, String) + Send + Sync>;

async fn drive(
    client: &reqwest::Client,
    urls: &[String],
    count: usize,
    request: Request,
    concurrency: usize,
    seconds: f64,
) -> Stats {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (next, client, request) = (next.clone(), client.clone(), request.clone());
            let url = urls[w % urls.len()].clone();
            tokio::spawn(async move {
                let mut out = Vec::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let (auth, body) = request(i);
                    let t = Instant::now();
                    let response = client
                        .post(&url)
                        .header("authorization", auth)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    let status = read_status(response).await;
                    out.push((t.elapsed(), status));
                }
                out
            })
        })
        .collect();
    let mut stats = Stats::default();
    for w in workers {
        stats.merge(w.await.unwrap());
    }
    stats.elapsed = started.elapsed();
    stats.exhausted = next.load(Ordering::Relaxed) >= count;
    stats
}

/// Buys `jobs` in order with `concurrency` workers, spread over `bases`, for `seconds`.
async fn buys(
    client: &reqwest::Client,
    bases: &[String],
    jobs: Arc<Vec<(i64, String)>>,
    concurrency: usize,
    seconds: f64,
) -> Stats {
    let auth = credentials(&jobs);
    let urls: Vec<String> = bases.iter().map(|b| format!("{b}/api/nft/buy")).collect();
    let count = jobs.len();
    let request: Request = Arc::new(move |i| {
        let (buyer, nft) = &jobs[i];
        (auth[buyer].clone(), format!("{{\"nft_id\":\"{nft}\"}}"))
    });
    drive(client, &urls, count, request, concurrency, seconds).await
}

struct B1 {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: usize,
}

async fn b1(
    pool: &sqlx::PgPool,
    client: &reqwest::Client,
    servers: &[&Instance],
    run: &mut i64,
    concurrency: usize,
    seconds: u64,
) -> B1 {
    *run += 1;
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let bases = &bases[..];
    let jobs = seed(pool, *run, 8_000 * seconds as i64 + 20_000).await;
    let (warm, rest) = jobs.split_at(5_000);
    buys(client, bases, Arc::new(warm.to_vec()), concurrency, 3.0).await; // connections, caches, prepared statements
    let server_cpu0: f64 = servers.iter().map(|s| cpu_seconds(s.pid)).sum();
    let (busy0, idle0) = machine_cpu();
    let me0 = cpu_seconds(std::process::id());
    // What PostgreSQL writes per buy (every index entry is in it): exact where CPU figures are noisy.
    let lsn = || async {
        sqlx::query_scalar::<_, String>("SELECT pg_current_wal_lsn()::text").fetch_one(pool).await.unwrap()
    };
    let wal0 = lsn().await;
    let mut s = buys(client, bases, Arc::new(rest.to_vec()), concurrency, seconds as f64).await;
    let wal: f64 = sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8")
        .bind(&wal0)
        .fetch_one(pool)
        .await
        .unwrap();
    let n = s.latencies.len() as f64;
    println!("  WAL per buy: {:.0} bytes", wal / n);
    let server_cpu = servers.iter().map(|s| cpu_seconds(s.pid)).sum::<f64>() - server_cpu0;
    let (busy1, idle1) = machine_cpu();
    let me = cpu_seconds(std::process::id()) - me0;
    println!(
        "  CPU per buy: service {:.3} ms, load generator {:.3} ms, the rest (PostgreSQL, Redis…) {:.3} ms; machine idle {:.0} %",
        server_cpu / n * 1e3,
        me / n * 1e3,
        ((busy1 - busy0) - server_cpu - me) / n * 1e3,
        (idle1 - idle0) / ((busy1 - busy0) + (idle1 - idle0)) * 100.0
    );
    assert!(!s.exhausted, "every seeded listing was sold before the time was up: seed more");
    let b = B1 { rate: s.rate(), p50: s.pct(0.5), p99: s.pct(0.99), errors: s.other_than(&[200]) };
    if b.errors > 0 {
        println!("  B1 answers: {}", s.statuses());
    }
    b
}

// ----- the limit -------------------------------------------------------------------------------

struct Limit {
    tps: f64,
    p50: f64,
    p99: f64,
}

async fn limit(concurrency: usize, seconds: u64) -> Limit {
    let script = std::env::var("LIMIT_SH").unwrap_or_else(|_| {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        repo.join("../shared/bench/limit.sh").to_string_lossy().into_owned()
    });
    let out = tokio::process::Command::new("bash")
        .arg(&script)
        .env("CONCURRENCY", concurrency.to_string())
        .env("DURATION", seconds.to_string())
        .env("FEE_ROW", "0")
        .env("N", (10_000 * (seconds + 5) + 20_000).to_string()) // more NFTs than it can sell
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("limit_tps="))
        .unwrap_or_else(|| panic!("{script} printed no limit_tps: {text}{}", String::from_utf8_lossy(&out.stderr)));
    let field = |name: &str| -> f64 {
        line.split_whitespace().find_map(|kv| kv.strip_prefix(name)?.parse().ok()).unwrap_or(0.0)
    };
    // Its database's autovacuum would otherwise run during the next measurement.
    let _ = tokio::process::Command::new("psql")
        .args(["-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "buylimit", "-c", "VACUUM"])
        .output()
        .await;
    Limit { tps: field("limit_tps="), p50: field("p50_ms="), p99: field("p99_ms=") }
}

// ----- round trips -----------------------------------------------------------------------------

async fn redis_commands(redis: &str) -> u64 {
    let client = deadpool_redis::redis::Client::open(redis).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = deadpool_redis::redis::cmd("INFO").arg("stats").query_async(&mut c).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("total_commands_processed:")?.trim().parse().ok()).unwrap_or(0)
}

/// Round trips and Redis commands per buy on an instance without background jobs (so the only
/// traffic is the buys), first by users this instance has not seen (auth cache cold), then by
/// the same users again (warm).
async fn round_trips(
    pool: &sqlx::PgPool,
    client: &reqwest::Client,
    db: &str,
    redis: &str,
    run: &mut i64,
) -> (f64, f64, f64) {
    let url = reqwest::Url::parse(db).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let (port, counter) = pg_proxy::counting_proxy(upstream).await;
    let mut proxied = url.clone();
    proxied.set_port(Some(port)).unwrap();
    let mut server = start(proxied.as_str(), redis, 4, &["--no-jobs"]).await;
    *run += 1;
    let jobs = seed(pool, *run, 2_000).await;
    let bases = [server.base.clone()];
    // Warm the connections and statement caches with buyers 0–99, then measure buyers 100–299
    // (cold: first request each) and the same buyers again (warm).
    buys(client, &bases, Arc::new(jobs[..100].to_vec()), 1, 60.0).await;
    let mut per_buy = Vec::new();
    for range in [100..300, 1_100..1_300] {
        let (db0, redis0) = (counter.load(Ordering::Relaxed), redis_commands(redis).await);
        let s = buys(client, &bases, Arc::new(jobs[range].to_vec()), 1, 60.0).await;
        assert_eq!(s.count(200), 200, "round-trip run: {}", s.statuses());
        let redis1 = redis_commands(redis).await - 1; // the INFO itself
        per_buy.push(((counter.load(Ordering::Relaxed) - db0) as f64 / 200.0, (redis1 - redis0) as f64 / 200.0));
    }
    let _ = server.child.kill().await;
    (per_buy[0].0, per_buy[1].0, per_buy[1].1)
}

// ----- B3: contended ---------------------------------------------------------------------------

async fn b3(pool: &sqlx::PgPool, client: &reqwest::Client, base: &str, run: &mut i64, concurrency: usize) -> String {
    *run += 1;
    let listings = seed(pool, *run, 5).await;
    let jobs: Vec<(i64, String)> =
        (0..400).map(|j| (listings[0].0 + j as i64 % BUYERS, listings[j % 5].1.clone())).collect();
    let buyers: Vec<i64> = jobs.iter().map(|j| j.0).collect();
    let mut s = buys(client, &[base.to_string()], Arc::new(jobs), concurrency, 120.0).await;
    let ids: Vec<uuid::Uuid> = listings.iter().map(|(_, id)| id.parse().unwrap()).collect();
    let sold: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM nfts WHERE id = ANY($1) AND owner_id = ANY($2) AND price IS NULL")
            .bind(&ids)
            .bind(&buyers)
            .fetch_one(pool)
            .await
            .unwrap();
    format!(
        "drained in {:.2} s, p50 {:.1} / p99 {:.1} ms; {} sales (200: {}, 409: {}, other: {})",
        s.elapsed.as_secs_f64(),
        s.pct(0.5),
        s.pct(0.99),
        sold,
        s.count(200),
        s.count(409),
        s.other_than(&[200, 409])
    )
}

// ----- B4: mixed -------------------------------------------------------------------------------

async fn b4(client: &reqwest::Client, base: &str, concurrency: usize, seconds: u64) -> Stats {
    let staff = format!("Bearer {STAFF}");
    let users: Vec<i64> = (0..200).map(|i| 500_000_000 + i).collect();
    let auth: Arc<HashMap<i64, String>> = Arc::new(users.iter().map(|u| (*u, tma(*u))).collect());
    let mut nfts = Vec::new();
    for (k, u) in users.iter().enumerate() {
        post(
            client,
            format!("{base}/api/admin/deposits"),
            &staff,
            json!({"user_id": u, "amount": "1000", "tx_hash": format!("b4-{u}")}),
        )
        .await;
        for j in 0..3 {
            let (_, nft) = post(
                client,
                format!("{base}/api/admin/nfts"),
                &staff,
                json!({"owner_id": u, "gift_id": format!("b4-{u}-{j}"), "title": "Mixed", "collection": "b4"}),
            )
            .await;
            let id = nft["id"].as_str().unwrap().to_string();
            if j == 2 && k < 20 {
                post(
                    client,
                    format!("{base}/api/auctions/new"),
                    &auth[u],
                    json!({"nft_id": id, "start_price": "1", "duration_seconds": 86_400}),
                )
                .await;
            } else {
                post(client, format!("{base}/api/nft/set-price"), &auth[u], json!({"nft_id": id, "price": "2"})).await;
                nfts.push(id);
            }
        }
    }
    let auctions: Vec<String> = {
        let r = client
            .get(format!("{base}/api/auctions?status=active&limit=100"))
            .header("authorization", &auth[&users[0]])
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
    };
    let (users, nfts, auctions) = (Arc::new(users), Arc::new(nfts), Arc::new(auctions));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base, auth, users, nfts, auctions) =
                (client.clone(), base.to_string(), auth.clone(), users.clone(), nfts.clone(), auctions.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                while Instant::now() < deadline {
                    let user = users[fastrand::usize(..users.len())];
                    let nft = &nfts[fastrand::usize(..nfts.len())];
                    let (method, path, body) = match fastrand::u32(0..100) {
                        0..=39 => (
                            reqwest::Method::GET,
                            ["/api/nfts?listed=true&limit=20", "/api/me", "/api/me/offers?limit=20"]
                                [fastrand::usize(..3)]
                            .to_string(),
                            None,
                        ),
                        40..=54 => (reqwest::Method::POST, "/api/nft/buy".into(), Some(json!({"nft_id": nft}))),
                        55..=69 => (
                            reqwest::Method::POST,
                            "/api/nft/set-price".into(),
                            Some(json!({"nft_id": nft, "price": format!("{}", 1 + fastrand::u32(0..4))})),
                        ),
                        70..=84 => (
                            reqwest::Method::POST,
                            "/api/offers/new".into(),
                            Some(json!({"nft_id": nft, "price": "0.5", "expires_in_seconds": 600})),
                        ),
                        _ => {
                            let a = &auctions[fastrand::usize(..auctions.len())];
                            (
                                reqwest::Method::POST,
                                "/api/auctions/bid".into(),
                                Some(json!({"auction_id": a, "amount": format!("{}", 1 + fastrand::u32(0..500))})),
                            )
                        }
                    };
                    let mut req = client.request(method, format!("{base}{path}")).header("authorization", &auth[&user]);
                    if let Some(b) = body {
                        req = req.json(&b);
                    }
                    let t = Instant::now();
                    let status = read_status(req.send().await).await;
                    out.push((t.elapsed(), status));
                }
                out
            })
        })
        .collect();
    let mut s = Stats::default();
    for w in workers {
        s.merge(w.await.unwrap());
    }
    s.elapsed = started.elapsed();
    s
}

// ----- sweeps ------------------------------------------------------------------------------------

/// Sweeps of 50 listings each (disjoint, every listing its own seller) by 32 funded sweepers at
/// `concurrency` until the listings run out or `seconds` pass: sweeps per second and their latency.
async fn sweeps(
    pool: &sqlx::PgPool,
    client: &reqwest::Client,
    base: &str,
    run: &mut i64,
    concurrency: usize,
    seconds: u64,
) -> Stats {
    *run += 1;
    let listings = seed(pool, *run, 30_000).await;
    let staff = format!("Bearer {STAFF}");
    let sweepers: Vec<i64> = (0..32).map(|i| 700_000_000 + *run * 100 + i).collect();
    for u in &sweepers {
        let body = json!({"user_id": u, "amount": "100000", "tx_hash": format!("sweep-{u}")});
        post(client, format!("{base}/api/admin/deposits"), &staff, body).await;
    }
    let auth: Vec<String> = sweepers.iter().map(|u| tma(*u)).collect();
    let chunks: Vec<String> = listings
        .chunks(50)
        .map(|c| {
            let items: Vec<Value> = c.iter().map(|(_, id)| json!({"nft_id": id, "price": "1"})).collect();
            json!({"items": items}).to_string()
        })
        .collect();
    let count = chunks.len();
    let request: Request = Arc::new(move |i| (auth[i % auth.len()].clone(), chunks[i].clone()));
    drive(client, &[format!("{base}/api/nft/sweep")], count, request, concurrency, seconds as f64).await
}

/// A response's status once its body is read (0 when the request or the body failed): a
/// latency includes the whole response, and a connection goes back to the pool only after its
/// body was read to the end.
async fn read_status(response: reqwest::Result<reqwest::Response>) -> u16 {
    match response {
        Ok(r) => {
            let status = r.status().as_u16();
            if r.bytes().await.is_ok() {
                status
            } else {
                0
            }
        }
        Err(_) => 0,
    }
}

// ----- B5: discovery at scale ------------------------------------------------------------------

const B5_SEED: &str = include_str!("../tests/common/b5_seed.sql");
const B5_USERS: u64 = 100_000;

/// A second database, migrated and seeded with QUALITY.md's B5 market; the seconds the seed took.
async fn b5_database(admin: &sqlx::PgPool, base: &reqwest::Url, exe: &std::path::Path) -> (String, String, f64) {
    let name = format!("atomarket_b5_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin).await.unwrap();
    let mut url = base.clone();
    url.set_path(&name);
    let db = url.to_string();
    let migrated = tokio::process::Command::new(exe).arg("migrate").env("DATABASE_URL", &db).output().await.unwrap();
    assert!(migrated.status.success(), "migrate: {}", String::from_utf8_lossy(&migrated.stderr));
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let sql = B5_SEED
        .replace("{nfts}", "1000000")
        .replace("{users}", &B5_USERS.to_string())
        .replace("{ledger}", "5000000")
        .replace("{events}", "2000000");
    let t = Instant::now();
    sqlx::raw_sql(&sql).execute(&pool).await.expect("B5 seed");
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
    sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
    let took = t.elapsed().as_secs_f64();
    pool.close().await;
    (name, db, took)
}

/// The kinds of discovery query in B5's mix, in the order of its table.
const B5_KINDS: [&str; 12] = [
    "collection + model, listed",
    "two backdrops + price range",
    "newest listed (default page)",
    "everything, newest",
    "collection, price_asc",
    "collection, price_desc",
    "collection, number_asc",
    "collection, rarity",
    "deep page (cursor 20–50 pages in)",
    "attribute panel",
    "portfolio",
    "activity feed",
];

/// Cursors 20–50 pages deep into two long orders, found by walking them.
async fn deep_cursors(client: &reqwest::Client, base: &str, auth: &str) -> Vec<String> {
    let mut out = Vec::new();
    for start in ["/api/nfts?listed=true&limit=20", "/api/nfts?collection=c01&sort=price_asc&limit=20"] {
        let mut cursor: Option<String> = None;
        for page in 0..50 {
            let url = match &cursor {
                Some(c) => format!("{base}{start}&cursor={c}"),
                None => format!("{base}{start}"),
            };
            let v: Value = client.get(url).header("authorization", auth).send().await.unwrap().json().await.unwrap();
            cursor = v["next_cursor"].as_str().map(str::to_string);
            let Some(c) = &cursor else { break };
            if page >= 19 {
                out.push(format!("{start}&cursor={c}"));
            }
        }
    }
    assert!(out.len() >= 40, "the deep pages are there: {}", out.len());
    out
}

fn b5_request(kind: usize, deep: &[String]) -> String {
    let c = || format!("c{:02}", fastrand::u32(0..100));
    match kind {
        0 => format!("/api/nfts?collection={}&model=Model%20{:02}&listed=true&limit=20", c(), fastrand::u32(0..50)),
        1 => {
            let (a, b) = (fastrand::u32(0..50), fastrand::u32(0..50));
            let lo = 2 + fastrand::u32(0..20);
            format!(
                "/api/nfts?backdrop=Backdrop%20{a:02}&backdrop=Backdrop%20{b:02}&min_price={lo}&max_price={}&limit=20",
                lo * 5
            )
        }
        2 => "/api/nfts?listed=true&limit=20".into(),
        3 => "/api/nfts?limit=20".into(),
        4 => format!("/api/nfts?collection={}&sort=price_asc&limit=20", c()),
        5 => format!("/api/nfts?collection={}&sort=price_desc&limit=20", c()),
        6 => format!("/api/nfts?collection={}&sort=number_asc&limit=20", c()),
        7 => format!("/api/nfts?collection={}&sort=rarity&limit=20", c()),
        8 => deep[fastrand::usize(..deep.len())].clone(),
        9 => format!("/api/collections/{}/attributes", c()),
        10 => "/api/me/portfolio".into(),
        _ => "/api/activity?limit=20".into(),
    }
}

/// The discovery mix at `concurrency` for `seconds`: each request a kind drawn at random, as a
/// random user of the market; per kind, its latencies.
async fn b5_mix(client: &reqwest::Client, base: &str, concurrency: usize, seconds: u64) -> (Vec<Stats>, f64) {
    let auth: Arc<Vec<String>> = Arc::new((0..2_000).map(|_| tma(1 + fastrand::i64(0..B5_USERS as i64))).collect());
    let deep = Arc::new(deep_cursors(client, base, &auth[0]).await);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, base, auth, deep) = (client.clone(), base.to_string(), auth.clone(), deep.clone());
            tokio::spawn(async move {
                let mut out: Vec<Vec<(Duration, u16)>> = vec![Vec::new(); B5_KINDS.len()];
                while Instant::now() < deadline {
                    let kind = fastrand::usize(..B5_KINDS.len());
                    let path = b5_request(kind, &deep);
                    let t = Instant::now();
                    let response = client
                        .get(format!("{base}{path}"))
                        .header("authorization", &auth[fastrand::usize(..auth.len())])
                        .send()
                        .await;
                    let status = read_status(response).await;
                    out[kind].push((t.elapsed(), status));
                }
                out
            })
        })
        .collect();
    let mut per_kind: Vec<Stats> = (0..B5_KINDS.len()).map(|_| Stats::default()).collect();
    for w in workers {
        for (k, v) in w.await.unwrap().into_iter().enumerate() {
            per_kind[k].merge(v);
        }
    }
    let elapsed = started.elapsed();
    for s in &mut per_kind {
        s.elapsed = elapsed;
    }
    let total = per_kind.iter().map(|s| s.latencies.len()).sum::<usize>() as f64 / elapsed.as_secs_f64();
    (per_kind, total)
}

// ----- the run ---------------------------------------------------------------------------------

#[tokio::main]
async fn main() {
    adapters_gateways::install_tls_provider();
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let seconds = args.first().copied().unwrap_or(20);
    let concurrency = args.get(1).copied().unwrap_or(32) as usize;
    let rounds = args.get(2).copied().unwrap_or(3).max(1);
    let base_db = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut url = reqwest::Url::parse(&base_db).expect("DATABASE_URL");
    let name = format!("atomarket_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(url.as_str()).await.expect("PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
    url.set_path(&name);
    url.set_query(Some("sslmode=disable"));
    let db = url.to_string();
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build().unwrap();
    let exe = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("atomarket");
    let migrated = tokio::process::Command::new(&exe).arg("migrate").env("DATABASE_URL", &db).output().await.unwrap();
    assert!(migrated.status.success(), "migrate: {}", String::from_utf8_lossy(&migrated.stderr));
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    let mut run = 0;
    println!("bench: {seconds} s runs at concurrency {concurrency}, {rounds} round(s); database {name}");

    if std::env::var_os("BENCH_B5_ONLY").is_some() {
        // Discovery alone (while choosing indexes): the B5 market and the mix, nothing else;
        // `BENCH_B5_DB` names a market seeded before (kept), instead of seeding one.
        let (b5_name, b5_db, took) = match std::env::var("BENCH_B5_DB") {
            Ok(db) => (String::new(), db, 0.0),
            Err(_) => b5_database(&admin, &url, &exe).await,
        };
        let pool_size = std::env::var("BENCH_B5_POOL").ok().and_then(|p| p.parse().ok()).unwrap_or(32);
        let mut a = start(&b5_db, &redis, pool_size, &[]).await;
        let (mut b5, total) = b5_mix(&client, &a.base, concurrency, seconds).await;
        let _ = a.child.kill().await;
        println!("B5 seeded in {took:.0} s: {total:.0} requests/s");
        for (kind, st) in B5_KINDS.iter().zip(b5.iter_mut()) {
            println!(
                "| {kind} | {:.0} | {:.1} / {:.1} | {} |",
                st.rate(),
                st.pct(0.5),
                st.pct(0.99),
                st.other_than(&[200])
            );
        }
        pool.close().await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&admin).await.ok();
        if !b5_name.is_empty() {
            sqlx::query(&format!("DROP DATABASE {b5_name} WITH (FORCE)")).execute(&admin).await.ok();
        }
        return;
    }
    // Buys against the limit alone (comparing what a schema change costs them): the rounds of B1
    // on one and two instances and the limit, nothing else.
    let b1_only = std::env::var_os("BENCH_B1_ONLY").is_some();
    let (rt_cold, rt_warm, redis_per_buy) =
        if b1_only { (0.0, 0.0, 0.0) } else { round_trips(&pool, &client, &db, &redis, &mut run).await };
    println!("round trips per buy: {rt_cold:.2} (auth cache cold), {rt_warm:.2} (warm); Redis commands per buy: {redis_per_buy:.2}");

    let (b5_name, b5_db, b5_seed_seconds) =
        if b1_only { (String::new(), db.clone(), 0.0) } else { b5_database(&admin, &url, &exe).await };
    let b5_pool = sqlx::PgPool::connect(&b5_db).await.unwrap();
    println!("B5 market seeded in {b5_seed_seconds:.0} s (database {b5_name})");
    // The discovery mix on the market as seeded: B1's rounds below leave hundreds of thousands of
    // bought listings behind, dead in the listed indexes until autovacuum comes — measured that
    // way, a selective filter walking the newest-first index pays for every one of them.
    let (mut b5, b5_total) = if b1_only {
        (Vec::new(), 0.0)
    } else {
        let mut a = start(&b5_db, &redis, 32, &[]).await;
        let out = b5_mix(&client, &a.base, concurrency, seconds).await;
        let _ = a.child.kill().await;
        out
    };
    println!("B5: {b5_total:.0} discovery requests/s in all");

    let mut rss = [0f64; 3];
    let (mut one, mut two, mut lim, mut big) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        for step in 0..4 {
            match (step + round as usize) % 4 {
                3 if b1_only => {}
                3 => {
                    let pool_size = std::env::var("BENCH_B5_POOL").ok().and_then(|p| p.parse().ok()).unwrap_or(32);
                    let mut a = start(&b5_db, &redis, pool_size, &[]).await;
                    let r = b1(&b5_pool, &client, &[&a], &mut run, concurrency, seconds).await;
                    let _ = a.child.kill().await;
                    println!(
                        "round {}: B1 one instance on the B5 database {:.0} buys/s, p50 {:.1} / p99 {:.1} ms, errors {}",
                        round + 1,
                        r.rate,
                        r.p50,
                        r.p99,
                        r.errors
                    );
                    big.push(r);
                }
                0 => {
                    let mut a = start(&db, &redis, 32, &[]).await;
                    let r = b1(&pool, &client, &[&a], &mut run, concurrency, seconds).await;
                    rss[0] = rss[0].max(peak_rss_mib(a.pid));
                    let _ = a.child.kill().await;
                    println!(
                        "round {}: B1 one instance {:.0} buys/s, p50 {:.1} / p99 {:.1} ms, errors {}",
                        round + 1,
                        r.rate,
                        r.p50,
                        r.p99,
                        r.errors
                    );
                    one.push(r);
                }
                1 => {
                    let l = limit(concurrency, seconds).await;
                    println!("round {}: limit {:.0} tps, p50 {:.1} / p99 {:.1} ms", round + 1, l.tps, l.p50, l.p99);
                    lim.push(l);
                }
                _ => {
                    let mut a = start(&db, &redis, 16, &[]).await;
                    let mut b = start(&db, &redis, 16, &["--no-jobs"]).await;
                    let r = b1(&pool, &client, &[&a, &b], &mut run, concurrency, seconds).await;
                    rss[1] = rss[1].max(peak_rss_mib(a.pid)).max(peak_rss_mib(b.pid));
                    let _ = a.child.kill().await;
                    let _ = b.child.kill().await;
                    println!(
                        "round {}: B1 two instances {:.0} buys/s, p50 {:.1} / p99 {:.1} ms, errors {}",
                        round + 1,
                        r.rate,
                        r.p50,
                        r.p99,
                        r.errors
                    );
                    two.push(r);
                }
            }
        }
    }

    if b1_only {
        let limit_tps = median(lim.iter().map(|l| l.tps).collect());
        for (label, v) in [("one instance", &one), ("two instances", &two)] {
            let rate = median(v.iter().map(|r| r.rate).collect());
            let p99 = median(v.iter().map(|r| r.p99).collect());
            let errors = v.iter().map(|r| r.errors).sum::<usize>();
            println!("B1 {label}: {rate:.0} buys/s, p99 {p99:.1} ms, {:.2} of the limit ({limit_tps:.0} tps), errors {errors}", rate / limit_tps);
        }
        pool.close().await;
        b5_pool.close().await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&admin).await.ok();
        return;
    }
    let mut a = start(&db, &redis, 32, &[]).await;
    let contended = b3(&pool, &client, &a.base, &mut run, concurrency).await;
    println!("B3: {contended}");
    let mut mixed = b4(&client, &a.base, concurrency, seconds).await;
    let mut swept = sweeps(&pool, &client, &a.base, &mut run, concurrency, seconds).await;
    rss[2] = peak_rss_mib(a.pid);
    let _ = a.child.kill().await;
    println!(
        "sweeps of 50: {:.1} sweeps/s ({:.0} purchases/s), p50 {:.1} / p99 {:.1} ms; {}",
        swept.rate(),
        swept.rate() * 50.0,
        swept.pct(0.5),
        swept.pct(0.99),
        swept.statuses()
    );
    println!(
        "B4: {:.0} req/s, p50 {:.1} / p99 {:.1} ms; {}",
        mixed.rate(),
        mixed.pct(0.5),
        mixed.pct(0.99),
        mixed.statuses()
    );
    let audit = tokio::process::Command::new(&exe).arg("audit").env("DATABASE_URL", &db).output().await.unwrap();
    let audit_text = String::from_utf8_lossy(&audit.stdout).trim().to_string();

    let m = |v: &Vec<B1>, f: fn(&B1) -> f64| median(v.iter().map(f).collect());
    let limit_tps = median(lim.iter().map(|l| l.tps).collect());
    println!();
    println!("| what (median of {rounds}) | per second | p50 / p99 ms | vs limit | errors |");
    println!("|---|---|---|---|---|");
    println!(
        "| limit: limit.sh (pgbench, reference buy, FEE_ROW=0) | {:.0} | {:.1} / {:.1} | 1.00 | – |",
        limit_tps,
        median(lim.iter().map(|l| l.p50).collect()),
        median(lim.iter().map(|l| l.p99).collect())
    );
    for (label, v) in [("B1 buys, one instance (pool 32)", &one), ("B1 buys, two instances (pool 16 each)", &two)] {
        println!(
            "| {label} | {:.0} | {:.1} / {:.1} | **{:.2}** | {} |",
            m(v, |r| r.rate),
            m(v, |r| r.p50),
            m(v, |r| r.p99),
            m(v, |r| r.rate) / limit_tps,
            v.iter().map(|r| r.errors).sum::<usize>()
        );
    }
    println!(
        "| B1 buys, one instance, on the B5 database | {:.0} | {:.1} / {:.1} | **{:.2}** | {} |",
        m(&big, |r| r.rate),
        m(&big, |r| r.p50),
        m(&big, |r| r.p99),
        m(&big, |r| r.rate) / limit_tps,
        big.iter().map(|r| r.errors).sum::<usize>()
    );
    println!(
        "| B4 mixed workload | {:.0} | {:.1} / {:.1} | – | {} 5xx/no answer |",
        mixed.rate(),
        mixed.pct(0.5),
        mixed.pct(0.99),
        mixed.other_than(&[200, 201, 202, 403, 409, 422])
    );
    println!();
    println!(
        "- per round, B1 one / limit / B1 two: {}",
        (0..rounds as usize)
            .map(|i| format!("{:.0} / {:.0} / {:.0}", one[i].rate, lim[i].tps, two[i].rate))
            .collect::<Vec<_>>()
            .join("; ")
    );
    println!(
        "- per round, B1 one instance, B5 database / empty: {}; median ratio {:.2}",
        (0..rounds as usize).map(|i| format!("{:.0} / {:.0}", big[i].rate, one[i].rate)).collect::<Vec<_>>().join("; "),
        m(&big, |r| r.rate) / m(&one, |r| r.rate)
    );
    println!("- B3 (400 buyers, 5 NFTs): {contended}");
    println!(
        "- sweeps of 50 listings (32 sweepers, one instance): {:.1} sweeps/s = {:.0} purchases/s, p50 {:.1} / p99 {:.1} ms; {}",
        swept.rate(),
        swept.rate() * 50.0,
        swept.pct(0.5),
        swept.pct(0.99),
        swept.statuses()
    );
    println!("- round trips per buy: {rt_cold:.2} with the auth cache cold, {rt_warm:.2} warm; Redis commands per buy: {redis_per_buy:.2}");
    println!(
        "- peak RSS: {:.1} MiB (one instance), {:.1} MiB (each of two), {:.1} MiB (B3 + B4)",
        rss[0], rss[1], rss[2]
    );
    println!("- audit: {audit_text}");
    println!();
    println!(
        "B5 — discovery at concurrency {concurrency} for {seconds} s on one instance (pool 32), market seeded in {b5_seed_seconds:.0} s: {b5_total:.0} requests/s"
    );
    println!();
    println!("| query | per second | p50 / p99 ms | answers other than 200 |");
    println!("|---|---|---|---|");
    for (kind, st) in B5_KINDS.iter().zip(b5.iter_mut()) {
        println!(
            "| {kind} | {:.0} | {:.1} / {:.1} | {} |",
            st.rate(),
            st.pct(0.5),
            st.pct(0.99),
            st.other_than(&[200])
        );
    }

    pool.close().await;
    b5_pool.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&admin).await.ok();
    sqlx::query(&format!("DROP DATABASE {b5_name} WITH (FORCE)")).execute(&admin).await.ok();
}
