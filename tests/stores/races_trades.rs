//! Races on trades and channel sales, each on the in-memory store and on PostgreSQL + Redis:
//! no deadlock, no double move, exactly one winner where one thing can happen; the audit clean
//! and money conserved after each.

use crate::common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::{As, TestApp};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const MAKER: i64 = 7001;
const TAKER: i64 = 7002;
const OTHER: i64 = 7003;

async fn memory(max_open_trades: u32) -> TestApp {
    let mut s = common::settings(None, None);
    s.max_open_trades = max_open_trades;
    TestApp::with(s).await
}

async fn postgres_redis(max_open_trades: u32) -> TestApp {
    common::require_redis().await;
    let db = std::sync::Arc::new(common::fresh_database().await);
    let mut s = common::settings(Some(db.url.clone()), Some(common::redis_url()));
    s.db_max_connections = 10;
    s.max_open_trades = max_open_trades;
    TestApp::with(s).await.keeping(db)
}

/// Σ available + held over `users`, plus fees, must equal what was deposited.
async fn assert_conserved(app: &TestApp, users: &[i64], deposited: u32) {
    let mut total = Decimal::ZERO;
    for u in users {
        let (a, h) = app.money(*u).await;
        assert!(a >= Decimal::ZERO && h >= Decimal::ZERO);
        total += a + h;
    }
    let facts = app.app.state.reads.audit_facts().await.unwrap();
    assert_eq!(total + facts.fees, Decimal::from(deposited), "money conserved");
    app.assert_audit_clean().await;
}

async fn race(app: &Arc<TestApp>, calls: Vec<(i64, &'static str, Value)>) -> Vec<common::Reply> {
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|(who, path, body)| {
            let app = app.clone();
            tokio::spawn(async move { app.post(path, As::User(who), body).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.status.as_u16() < 500, "{} {}", r.status, r.body);
        out.push(r);
    }
    out
}

fn wins(results: &[common::Reply]) -> usize {
    results.iter().filter(|r| r.status.is_success()).count()
}

async fn nft_of(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/nfts/{id}"), As::User(OTHER)).await.body
}

async fn trade(app: &TestApp, maker: i64, give: &[&str], want: &[&str], give_amount: Option<&str>) -> Value {
    let r = app
        .post(
            "/api/trades/new",
            As::User(maker),
            json!({"taker_id": TAKER, "give": {"nft_ids": give, "amount": give_amount}, "want": {"nft_ids": want}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn accept_vs_cancel(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(MAKER, "10").await;
    app.deposit(TAKER, "1").await;
    let give = app.nft(MAKER, None).await;
    let t = trade(&app, MAKER, &[&give], &[], Some("4")).await;
    let results = race(
        &app,
        vec![
            (TAKER, "/api/trades/accept", json!({"trade_id": t["id"]})),
            (MAKER, "/api/trades/cancel", json!({"trade_id": t["id"]})),
        ],
    )
    .await;
    assert_eq!(wins(&results), 1, "accept or cancel, not both");
    let owner = nft_of(&app, &give).await["owner_id"].as_i64();
    if results[0].status.is_success() {
        assert_eq!(owner, Some(TAKER));
        assert_eq!(app.balances(TAKER).await, ("4.8".into(), "0".into()));
    } else {
        assert_eq!(owner, Some(MAKER));
        assert_eq!(app.balances(MAKER).await, ("10".into(), "0".into()));
    }
    assert_conserved(&app, &[MAKER, TAKER], 11).await;
}

async fn accept_vs_buy_back_and_auction_of_a_wanted_nft(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(MAKER, "10").await;
    app.deposit(TAKER, "1").await;
    app.deposit(OTHER, "10").await;
    let give = app.nft(MAKER, None).await;
    let want = app.nft(TAKER, Some("5")).await;
    let t = trade(&app, MAKER, &[&give], &[&want], None).await;
    let results = race(
        &app,
        vec![
            (TAKER, "/api/trades/accept", json!({"trade_id": t["id"]})),
            (OTHER, "/api/nft/buy", json!({"nft_id": want})),
            (TAKER, "/api/nft/back", json!({"nft_id": want})),
            (TAKER, "/api/auctions/new", json!({"nft_id": want, "start_price": "1", "duration_seconds": 3600})),
        ],
    )
    .await;
    assert_eq!(
        wins(&results),
        1,
        "one thing happens to the wanted NFT: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let w = nft_of(&app, &want).await;
    let g = nft_of(&app, &give).await;
    if results[0].status.is_success() {
        assert_eq!((w["owner_id"].as_i64(), g["owner_id"].as_i64()), (Some(MAKER), Some(TAKER)));
    } else {
        assert_eq!(results[0].code(), "trade_stale");
        assert_eq!(
            (g["owner_id"].as_i64(), g["status"].as_str()),
            (Some(MAKER), Some("in_trade")),
            "a stale trade stays open"
        );
    }
    assert_conserved(&app, &[MAKER, TAKER, OTHER], 21).await;
}

async fn two_trades_wanting_one_nft_are_accepted_once(app: TestApp) {
    let app = Arc::new(app);
    let second_maker = 7004;
    app.deposit(MAKER, "10").await;
    app.deposit(second_maker, "10").await;
    app.deposit(TAKER, "1").await;
    let want = app.nft(TAKER, None).await;
    let t1 = trade(&app, MAKER, &[], &[&want], Some("3")).await;
    let t2 = trade(&app, second_maker, &[], &[&want], Some("4")).await;
    let results = race(
        &app,
        vec![
            (TAKER, "/api/trades/accept", json!({"trade_id": t1["id"]})),
            (TAKER, "/api/trades/accept", json!({"trade_id": t2["id"]})),
        ],
    )
    .await;
    assert_eq!(wins(&results), 1, "the NFT moves once");
    let loser = results.iter().find(|r| !r.status.is_success()).unwrap();
    assert_eq!(loser.code(), "trade_stale");
    let owner = nft_of(&app, &want).await["owner_id"].as_i64().unwrap();
    assert!(owner == MAKER || owner == second_maker);
    assert_conserved(&app, &[MAKER, second_maker, TAKER], 21).await;
}

async fn proposing_an_nft_races_a_trade_that_wants_it(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(MAKER, "10").await;
    app.deposit(TAKER, "1").await;
    let x = app.nft(TAKER, None).await;
    let asks_for_x = trade(&app, MAKER, &[], &[&x], Some("2")).await;
    let results = race(
        &app,
        vec![
            (TAKER, "/api/trades/accept", json!({"trade_id": asks_for_x["id"]})),
            (TAKER, "/api/trades/new", json!({"taker_id": OTHER, "give": {"nft_ids": [x]}, "want": {"nft_ids": []}})),
        ],
    )
    .await;
    assert_eq!(
        wins(&results),
        1,
        "X is either swapped or offered elsewhere: {:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_conserved(&app, &[MAKER, TAKER], 11).await;
}

async fn a_makers_parallel_proposals_respect_the_limit(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(MAKER, "100").await;
    app.deposit(TAKER, "1").await;
    let mut calls = Vec::new();
    for _ in 0..8 {
        let give = app.nft(MAKER, None).await;
        calls.push((
            MAKER,
            "/api/trades/new",
            json!({"taker_id": TAKER, "give": {"nft_ids": [give], "amount": "1"}, "want": {"nft_ids": []}}),
        ));
    }
    let results = race(&app, calls).await;
    assert_eq!(wins(&results), 3, "MAX_OPEN_TRADES = 3 holds under concurrency");
    assert!(results.iter().filter(|r| !r.status.is_success()).all(|r| r.code() == "too_many_open_trades"));
    assert_eq!(app.balances(MAKER).await, ("97".into(), "3".into()));
    assert_conserved(&app, &[MAKER, TAKER], 101).await;
}

async fn channel_buyers_race_and_settlements_race(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(MAKER, "1").await;
    let buyers = [7101, 7102, 7103, 7104, 7105];
    for b in buyers {
        app.deposit(b, "100").await;
    }
    let sale =
        app.post("/api/channels/new", As::User(MAKER), json!({"channel": "@race_hub", "price": "60"})).await.body;
    let results =
        race(&app, buyers.iter().map(|b| (*b, "/api/channels/buy", json!({"channel_sale_id": sale["id"]}))).collect())
            .await;
    assert_eq!(wins(&results), 1, "one buyer");
    let buyer = buyers[results.iter().position(|r| r.status.is_success()).unwrap()];
    let staff = {
        let app = app.clone();
        let path = format!("/api/admin/channels/{}/resolve", sale["id"].as_str().unwrap());
        tokio::spawn(async move { app.post(&path, As::Staff, json!({"outcome": "refund"})).await })
    };
    let confirm = race(&app, vec![(buyer, "/api/channels/confirm", json!({"channel_sale_id": sale["id"]}))]).await;
    let staff = staff.await.unwrap();
    assert!(staff.status.as_u16() < 500);
    assert_eq!(wins(&confirm) + usize::from(staff.status.is_success()), 1, "settled exactly once");
    let mut users = vec![MAKER];
    users.extend(buyers);
    assert_conserved(&app, &users, 501).await;
}

macro_rules! on_both {
    ($($race:ident: $limit:expr),* $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $race() {
                    super::$race(super::memory($limit).await).await;
                }
            )*
        }

        mod on_postgres_and_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $race() {
                    super::$race(super::postgres_redis($limit).await).await;
                }
            )*
        }
    };
}

on_both!(
    accept_vs_cancel: 20,
    accept_vs_buy_back_and_auction_of_a_wanted_nft: 20,
    two_trades_wanting_one_nft_are_accepted_once: 20,
    proposing_an_nft_races_a_trade_that_wants_it: 20,
    a_makers_parallel_proposals_respect_the_limit: 3,
    channel_buyers_race_and_settlements_race: 20,
);
