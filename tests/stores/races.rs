//! Concurrency: many funded buyers race for one NFT. Exactly one wins, everyone else gets 409,
//! money is conserved and the audit is clean — on the in-memory store, on PostgreSQL + Redis,
//! and on PostgreSQL with Redis unreachable (database locks alone).

use crate::common;

use axum::http::StatusCode;
use common::{As, Server, TestApp};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const SELLER: i64 = 500;
const BUYERS: i64 = 50;

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

/// Tallies the outcomes: (wins, 409s, anything else).
fn tally(results: &[(StatusCode, Value)]) -> (usize, usize, Vec<String>) {
    let wins = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let lost = results.iter().filter(|(s, b)| *s == StatusCode::CONFLICT && b["code"] == "not_for_sale").count();
    let other = results
        .iter()
        .filter(|(s, b)| !(*s == StatusCode::OK || (*s == StatusCode::CONFLICT && b["code"] == "not_for_sale")))
        .map(|(s, b)| format!("{s} {b}"))
        .collect();
    (wins, lost, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_buyers_one_nft_on_memory_exactly_one_wins() {
    let app = std::sync::Arc::new(TestApp::memory().await);
    let nft = app.nft(SELLER, Some("10")).await;
    for b in 1..=BUYERS {
        app.deposit(b, "10").await;
    }

    let tasks: Vec<_> = (1..=BUYERS)
        .map(|b| {
            let app = app.clone();
            let nft = nft.clone();
            tokio::spawn(async move {
                let r = app.post("/api/nft/buy", As::User(b), json!({"nft_id": nft})).await;
                (r.status, r.body)
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }

    let (wins, lost, other) = tally(&results);
    assert_eq!((wins, lost, other), (1, 49, Vec::<String>::new()));
    let mut total = Decimal::ZERO;
    for u in (1..=BUYERS).chain([SELLER]) {
        let (available, held) = app.balances(u).await;
        total += available.parse::<Decimal>().unwrap() + held.parse::<Decimal>().unwrap();
    }
    assert_eq!(total + Decimal::new(5, 1), Decimal::from(500), "balances + fee = deposits");
    app.assert_audit_clean().await;
}

/// The race over HTTP against real server processes sharing one database.
async fn race_on(servers: &[Server], database_url: &str) {
    let s0 = &servers[0];
    let (status, body) = s0
        .post(
            "/api/admin/nfts",
            As::Staff,
            json!({"owner_id": SELLER, "gift_id": "g-race", "title": "Plush Pepe", "collection": "pepe"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let nft = body["id"].as_str().unwrap().to_string();
    let (status, _) = s0.post("/api/nft/set-price", As::User(SELLER), json!({"nft_id": nft, "price": "10"})).await;
    assert_eq!(status, StatusCode::OK);
    for b in 1..=BUYERS {
        let (status, _) = s0
            .post(
                "/api/admin/deposits",
                As::Staff,
                json!({"user_id": b, "amount": "10", "tx_hash": format!("race-{b}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }

    let results = futures::future::join_all((1..=BUYERS).map(|b| {
        let server = &servers[b as usize % servers.len()];
        let nft = nft.clone();
        async move { server.post("/api/nft/buy", As::User(b), json!({"nft_id": nft, "expected_price": "10"})).await }
    }))
    .await;

    let (wins, lost, other) = tally(&results);
    assert_eq!((wins, lost, other), (1, 49, Vec::<String>::new()));
    let winner = results.iter().find(|(s, _)| *s == StatusCode::OK).unwrap();
    let (_, nft_now) = s0.get(&format!("/api/nfts/{nft}"), As::User(1)).await;
    assert_eq!(nft_now["owner_id"], winner.1["nft"]["owner_id"]);
    let mut total = Decimal::ZERO;
    for u in (1..=BUYERS).chain([SELLER]) {
        let (_, me) = s0.get("/api/me", As::User(u)).await;
        total += dec(&me["available"]) + dec(&me["held"]);
    }
    assert_eq!(total + Decimal::new(5, 1), Decimal::from(500), "balances + fee = deposits");
    let (_, audit) = s0.get("/api/admin/audit", As::Staff).await;
    assert_eq!(audit["ok"], true, "{audit}");
    let (code, out) = common::run_audit(database_url).await;
    assert_eq!(code, 0, "atomarket audit: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_buyers_one_nft_on_postgres_and_redis_across_two_instances() {
    common::require_redis().await;
    let db = common::fresh_database().await;
    let envs = [("DATABASE_URL", db.url.clone()), ("REDIS_URL", common::redis_url())];
    let servers = [Server::start(&envs).await, Server::start(&envs).await];
    let (_, ready) = servers[0].get("/readyz", As::Nobody).await;
    assert_eq!(ready["checks"], json!({"database": "ok", "redis": "ok"}));
    race_on(&servers, &db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_buyers_one_nft_on_postgres_with_redis_unreachable() {
    let db = common::fresh_database().await;
    let envs = [("DATABASE_URL", db.url.clone()), ("REDIS_URL", "redis://127.0.0.1:1".to_string())];
    let servers = [Server::start(&envs).await, Server::start(&envs).await];
    let (status, ready) = servers[0].get("/readyz", As::Nobody).await;
    assert_eq!(status, StatusCode::OK, "the service stays ready without Redis");
    assert_eq!(ready["checks"]["redis"], "degraded");
    assert_eq!(ready["status"], "degraded");
    race_on(&servers, &db.url).await;
    let (_, metrics) = servers[0].get("/metrics", As::Nobody).await;
    assert!(metrics.as_str().unwrap().contains("redis_degraded 1"), "degraded state is a metric");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_spending_the_same_balance_twice_never_goes_below_zero() {
    let app = std::sync::Arc::new(TestApp::postgres().await);
    let mut nfts = Vec::new();
    for _ in 0..10 {
        nfts.push(app.nft(SELLER, Some("3")).await);
    }
    app.deposit(1, "10").await;
    let results = futures::future::join_all(nfts.iter().map(|nft| {
        let app = app.clone();
        async move {
            let r = app.post("/api/nft/buy", As::User(1), json!({"nft_id": nft})).await;
            (r.status, r.code().to_string())
        }
    }))
    .await;
    let wins = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let refused = results.iter().filter(|(s, c)| *s == StatusCode::CONFLICT && c == "insufficient_funds").count();
    assert_eq!((wins, refused), (3, 7), "{results:?}");
    assert_eq!(app.balances(1).await, ("1".into(), "0".into()));
    app.assert_audit_clean().await;
}
