//! Benchmark (QUALITY.md B1, B3): buys over HTTP against the real `atomarket serve` on
//! PostgreSQL + Redis, in a fresh database.
//!
//! `cargo build --release && cargo run --release --example bench -- [listings] [concurrency]`
//! Needs PostgreSQL and Redis on the local default ports (`DATABASE_URL`, `REDIS_URL` override).

use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const BOT: &str = "1:bench-bot-token";
const STAFF: &str = "bench-staff";

fn tma(user: i64) -> String {
    format!("tma {}", http_api::init_data(BOT, user, None, chrono::Utc::now().timestamp()))
}

struct Stats {
    latencies: Vec<Duration>,
    elapsed: Duration,
    ok: usize,
    conflicts: usize,
    errors: usize,
}

impl Stats {
    fn report(&mut self, name: &str) {
        self.latencies.sort();
        let pct = |p: f64| self.latencies[((self.latencies.len() as f64 * p) as usize).min(self.latencies.len() - 1)];
        let n = self.latencies.len();
        println!(
            "{name}: {n} requests in {:.2} s = {:.0} req/s; p50 {:.1} ms, p99 {:.1} ms; 200: {}, 409: {}, other: {}",
            self.elapsed.as_secs_f64(),
            n as f64 / self.elapsed.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
            self.ok,
            self.conflicts,
            self.errors
        );
    }
}

/// Runs `jobs` buy requests (`(buyer, nft)`) with `concurrency` workers.
async fn run(client: &reqwest::Client, base: &str, jobs: Vec<(i64, String)>, concurrency: usize) -> Stats {
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (jobs, next, client, base) = (jobs.clone(), next.clone(), client.clone(), base.to_string());
            tokio::spawn(async move {
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((buyer, nft)) = jobs.get(i) else { break };
                    let t = Instant::now();
                    let status = client
                        .post(format!("{base}/api/nft/buy"))
                        .header("authorization", tma(*buyer))
                        .json(&json!({"nft_id": nft}))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    out.push((t.elapsed(), status));
                }
                out
            })
        })
        .collect();
    let mut stats = Stats { latencies: Vec::new(), elapsed: Duration::ZERO, ok: 0, conflicts: 0, errors: 0 };
    for w in workers {
        for (lat, status) in w.await.unwrap() {
            stats.latencies.push(lat);
            match status {
                200 => stats.ok += 1,
                409 => stats.conflicts += 1,
                _ => stats.errors += 1,
            }
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

async fn post(client: &reqwest::Client, url: String, auth: String, body: serde_json::Value) -> serde_json::Value {
    let r = client.post(url).header("authorization", auth).json(&body).send().await.expect("request");
    assert!(r.status().is_success(), "setup failed: {}", r.status());
    r.json().await.unwrap()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    adapters_gateways::install_tls_provider();
    let args: Vec<String> = std::env::args().collect();
    let listings: i64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(16);
    let base_db = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".into());
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (prefix, _) = base_db.split_once('?').unwrap_or((&base_db, "")).0.rsplit_once('/').unwrap();
    let name = format!("atomarket_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&base_db).await.expect("PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
    let db = format!("{prefix}/{name}?sslmode=disable");

    let exe = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("atomarket");
    let mut child = tokio::process::Command::new(&exe)
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("REDIS_URL", &redis)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("BOT_TOKEN", BOT)
        .env("STAFF_TOKENS", STAFF)
        .env("DB_MAX_CONNECTIONS", "32")
        .env("TELEGRAM_DELIVERY", "log")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {} (build it first: cargo build --release): {e}", exe.display()));
    let pid = child.id().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next_line().await.unwrap().expect("server exited");
        if let Some(a) = line.strip_prefix("listening on ") {
            break a.to_string();
        }
    };
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency * 2).build().unwrap();

    println!("setup: {listings} listings (distinct sellers and buyers), concurrency {concurrency}");
    let mut b1 = Vec::new();
    for i in 0..listings {
        let (seller, buyer) = (1_000_000 + i, 2_000_000 + i);
        let nft = post(
            &client,
            format!("{base}/api/admin/nfts"),
            format!("Bearer {STAFF}"),
            json!({"owner_id": seller, "gift_id": format!("g{i}"), "title": "Bench", "collection": "bench"}),
        )
        .await;
        let id = nft["id"].as_str().unwrap().to_string();
        post(&client, format!("{base}/api/nft/set-price"), tma(seller), json!({"nft_id": id, "price": "1"})).await;
        post(
            &client,
            format!("{base}/api/admin/deposits"),
            format!("Bearer {STAFF}"),
            json!({"user_id": buyer, "amount": "10", "tx_hash": format!("t{i}")}),
        )
        .await;
        b1.push((buyer, id));
    }
    // Contended: 400 buyers (already funded) on 5 NFTs.
    let mut b3 = Vec::new();
    let mut hot = Vec::new();
    for k in 0..5 {
        let seller = 3_000_000 + k;
        let nft = post(
            &client,
            format!("{base}/api/admin/nfts"),
            format!("Bearer {STAFF}"),
            json!({"owner_id": seller, "gift_id": format!("hot{k}"), "title": "Hot", "collection": "bench"}),
        )
        .await;
        let id = nft["id"].as_str().unwrap().to_string();
        post(&client, format!("{base}/api/nft/set-price"), tma(seller), json!({"nft_id": id, "price": "1"})).await;
        hot.push(id);
    }
    for j in 0..400 {
        b3.push((2_000_000 + (j % listings), hot[j as usize % 5].clone()));
    }
    let before = rss_kib(pid);
    run(&client, &base, b1.iter().take(50).cloned().collect(), concurrency).await; // warm-up
    let mut s1 = run(&client, &base, b1.into_iter().skip(50).collect(), concurrency).await;
    s1.report("B1 uncontended buys");
    let mut s3 = run(&client, &base, b3, concurrency).await;
    s3.report("B3 contended buys (400 buyers, 5 NFTs)");
    println!("server RSS: {} KiB after setup, peak {} KiB", before, rss_kib(pid));
    let out = tokio::process::Command::new(&exe).arg("audit").env("DATABASE_URL", &db).output().await.unwrap();
    println!("audit: {}", String::from_utf8_lossy(&out.stdout).trim());
    let _ = child.kill().await;

    // B2: the statements of one buy, in one transaction, straight from pgbench: same database,
    // same concurrency, same duration, no TLS.
    let seconds = s1.elapsed.as_secs_f64().ceil().max(2.0) as u64;
    let pool = sqlx::PgPool::connect(&db).await.unwrap();
    sqlx::query(
        "CREATE TABLE bench_ids AS SELECT (substr(gift_id, 2))::int + 1 AS i, id AS nft, \
         2000000 + (substr(gift_id, 2))::bigint AS buyer, 1000000 + (substr(gift_id, 2))::bigint AS seller \
         FROM nfts WHERE gift_id ~ '^g[0-9]+$'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("CREATE UNIQUE INDEX ON bench_ids (i)").execute(&pool).await.unwrap();
    pool.close().await;
    let q = |col: &str| format!("(SELECT {col} FROM bench_ids WHERE i = :i)");
    let script = format!(
        "\\set i random(1, {listings})\n\
         BEGIN;\n\
         SELECT id, gift_id, title, collection, owner_id, price, status, created_at FROM nfts WHERE id = {nft} FOR UPDATE;\n\
         SELECT id FROM offers WHERE nft_id = {nft} AND offerer_id = {buyer} AND status = 'open' FOR UPDATE;\n\
         SELECT id, username, available, held FROM users WHERE id IN ({buyer}, {seller}) ORDER BY id FOR UPDATE;\n\
         UPDATE users SET available = available, held = held WHERE id = {buyer};\n\
         UPDATE users SET available = available, held = held WHERE id = {seller};\n\
         UPDATE nfts SET owner_id = owner_id, price = price, status = status WHERE id = {nft};\n\
         INSERT INTO ledger_entries (id, operation_id, operation, user_id, account, amount, reference, created_at) VALUES \
         (gen_random_uuid(), gen_random_uuid(), 'buy', {buyer}, 'available', 0, 'bench', now()), \
         (gen_random_uuid(), gen_random_uuid(), 'buy', {seller}, 'available', 0, 'bench', now()), \
         (gen_random_uuid(), gen_random_uuid(), 'buy', NULL, 'fees', 0, 'bench', now());\n\
         INSERT INTO outbox (id, kind, payload, created_at, next_attempt_at, delivered_at) VALUES \
         (gen_random_uuid(), 'notify', '{{\"kind\":\"notify\",\"user_id\":1,\"text\":\"bench\"}}', now(), now(), now());\n\
         COMMIT;\n",
        nft = q("nft"),
        buyer = q("buyer"),
        seller = q("seller"),
    );
    let file = std::env::temp_dir().join(format!("{name}.sql"));
    std::fs::write(&file, script).unwrap();
    let out = tokio::process::Command::new("pgbench")
        .args(["-n", "-c", &concurrency.to_string(), "-j", "2", "-T", &seconds.to_string(), "-f"])
        .arg(&file)
        .arg(&db)
        .output()
        .await
        .expect("pgbench (Debian: postgresql-client)");
    let text = String::from_utf8_lossy(&out.stdout);
    let tps: f64 = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("pgbench failed: {}{}", text, String::from_utf8_lossy(&out.stderr)));
    let b1 = s1.latencies.len() as f64 / s1.elapsed.as_secs_f64();
    println!("B2 pgbench, same statements: {tps:.0} tps over {seconds} s; B1/B2 = {:.2}", b1 / tps);
    let _ = std::fs::remove_file(file);
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&admin).await.ok();
}
