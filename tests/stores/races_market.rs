//! Marketplace races, each on the in-memory store and on PostgreSQL + Redis, with requests
//! spread over many tasks. After each: the audit is clean and money is conserved.

use crate::common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::{As, TestApp};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const OWNER: i64 = 3001;

async fn memory() -> TestApp {
    TestApp::memory().await
}

async fn postgres_redis() -> TestApp {
    common::require_redis().await;
    let db = std::sync::Arc::new(common::fresh_database().await);
    let mut s = common::settings(Some(db.url.clone()), Some(common::redis_url()));
    s.db_max_connections = 10;
    TestApp::with(s).await.keeping(db)
}

fn d(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

/// Σ available + held over `users`, plus fees, must equal what was deposited.
async fn assert_conserved(app: &TestApp, users: &[i64], deposited: Decimal) {
    let mut total = Decimal::ZERO;
    for u in users {
        let (a, h) = app.money(*u).await;
        assert!(a >= Decimal::ZERO && h >= Decimal::ZERO);
        total += a + h;
    }
    let facts = app.app.state.reads.audit_facts().await.unwrap();
    assert_eq!(total + facts.fees, deposited, "money conserved");
    app.assert_audit_clean().await;
}

async fn all<F, Fut>(n: i64, f: F) -> Vec<(StatusCode, Value)>
where
    F: Fn(i64) -> Fut,
    Fut: std::future::Future<Output = common::Reply> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut out = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        out.push((r.status, r.body));
    }
    out
}

fn count(results: &[(StatusCode, Value)], status: StatusCode) -> usize {
    results.iter().filter(|(s, _)| *s == status).count()
}

fn no_server_errors(results: &[(StatusCode, Value)]) {
    assert!(results.iter().all(|(s, _)| s.as_u16() < 500), "{results:?}");
}

async fn accept_vs_buy_vs_back(app: TestApp) {
    let app = Arc::new(app);
    let (offerer, buyer) = (3002, 3003);
    let nft = app.nft(OWNER, Some("10")).await;
    app.deposit(offerer, "10").await;
    app.deposit(buyer, "10").await;
    let offer =
        app.post("/api/offers/new", As::User(offerer), json!({"nft_id": nft, "price": "8"})).await.body["id"].clone();

    let results = all(3, |i| {
        let app = app.clone();
        let (nft, offer) = (nft.clone(), offer.clone());
        async move {
            match i {
                0 => app.post("/api/offers/accept", As::User(OWNER), json!({"offer_id": offer})).await,
                1 => app.post("/api/nft/buy", As::User(buyer), json!({"nft_id": nft})).await,
                _ => app.post("/api/nft/back", As::User(OWNER), json!({"nft_id": nft})).await,
            }
        }
    })
    .await;

    no_server_errors(&results);
    let wins = results.iter().filter(|(s, _)| s.is_success()).count();
    assert_eq!(wins, 1, "exactly one of accept, buy, back wins: {results:?}");
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(OWNER)).await.body;
    let (_, offerer_held) = app.money(offerer).await;
    match (results[0].0.is_success(), results[1].0.is_success()) {
        (true, _) => assert_eq!((n["owner_id"].as_i64(), offerer_held), (Some(offerer), Decimal::ZERO)),
        (_, true) => assert_eq!(
            (n["owner_id"].as_i64(), offerer_held),
            (Some(buyer), Decimal::from(8)),
            "the offer stays bound to the NFT"
        ),
        _ => assert_eq!(
            (n["status"].as_str(), offerer_held),
            (Some("withdrawing"), Decimal::ZERO),
            "back refunded the offer"
        ),
    }
    assert_conserved(&app, &[OWNER, offerer, buyer], Decimal::from(20)).await;
}

async fn twenty_racing_bids(app: TestApp) {
    let app = Arc::new(app);
    let nft = app.nft(OWNER, None).await;
    for b in 0..20 {
        app.deposit(4000 + b, "1000").await;
    }
    let a = app
        .post(
            "/api/auctions/new",
            As::User(OWNER),
            json!({"nft_id": nft, "start_price": "1", "duration_seconds": 3600}),
        )
        .await;
    let id = a.body["id"].clone();
    let results = all(20, |i| {
        let app = app.clone();
        let id = id.clone();
        async move {
            app.post(
                "/api/auctions/bid",
                As::User(4000 + i),
                json!({"auction_id": id, "amount": format!("{}", 10 + i * 2)}),
            )
            .await
        }
    })
    .await;
    no_server_errors(&results);
    assert!(results.iter().all(|(s, b)| s.is_success() || b["code"] == "bid_too_low"), "{results:?}");
    let accepted: Vec<Decimal> =
        results.iter().filter(|(s, _)| s.is_success()).map(|(_, b)| d(&b["current_bid"])).collect();
    let highest = accepted.iter().max().copied().unwrap();
    let detail = app.get(&format!("/api/auctions/{}", id.as_str().unwrap()), As::User(OWNER)).await.body;
    assert_eq!(d(&detail["current_bid"]), highest, "the leader holds the highest accepted bid");
    let leader = detail["leader_id"].as_i64().unwrap();
    for b in 0..20 {
        let (_, held) = app.money(4000 + b).await;
        let expected = if 4000 + b == leader { highest } else { Decimal::ZERO };
        assert_eq!(held, expected, "only the leader's funds are held (user {b})");
    }
    let users: Vec<i64> = (0..20).map(|b| 4000 + b).chain([OWNER]).collect();
    assert_conserved(&app, &users, Decimal::from(20_000)).await;
}

async fn a_bid_at_the_closing_instant_vs_settlement(app: TestApp) {
    let app = Arc::new(app);
    let nft = app.nft(OWNER, None).await;
    app.deposit(3010, "100").await;
    let a = app
        .post("/api/auctions/new", As::User(OWNER), json!({"nft_id": nft, "start_price": "5", "duration_seconds": 60}))
        .await;
    let id = a.body["id"].clone();
    app.advance(59);
    let (bid, report) = {
        let app2 = app.clone();
        let id2 = id.clone();
        let bid = tokio::spawn(async move {
            app2.post("/api/auctions/bid", As::User(3010), json!({"auction_id": id2, "amount": "5"})).await
        });
        let app3 = app.clone();
        let settle = tokio::spawn(async move {
            app3.advance(1);
            app3.run_jobs().await
        });
        (bid.await.unwrap(), settle.await.unwrap())
    };
    assert!(bid.status == StatusCode::OK || bid.code() == "auction_ended", "{bid:?}");
    let detail = app.get(&format!("/api/auctions/{}", id.as_str().unwrap()), As::User(OWNER)).await.body;
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(OWNER)).await.body;
    if bid.status == StatusCode::OK && report.auctions_settled == 0 {
        // The bid landed first and, inside the anti-sniping window, pushed the end: still active.
        assert_eq!(detail["status"], "active");
        app.advance(301);
        assert_eq!(app.run_jobs().await.auctions_settled, 1);
    }
    let n2 = app.get(&format!("/api/nfts/{nft}"), As::User(OWNER)).await.body;
    let detail = app.get(&format!("/api/auctions/{}", id.as_str().unwrap()), As::User(OWNER)).await.body;
    assert_eq!(detail["status"], "settled", "one outcome: {detail} {n}");
    let expected_owner = if bid.status == StatusCode::OK { 3010 } else { OWNER };
    assert_eq!(n2["owner_id"].as_i64(), Some(expected_owner));
    assert_eq!(app.run_jobs().await.auctions_settled, 0, "never settled twice");
    assert_conserved(&app, &[OWNER, 3010], Decimal::from(100)).await;
}

async fn offer_set_price_vs_accept(app: TestApp) {
    let app = Arc::new(app);
    let offerer = 3020;
    let nft = app.nft(OWNER, None).await;
    app.deposit(offerer, "50").await;
    let offer =
        app.post("/api/offers/new", As::User(offerer), json!({"nft_id": nft, "price": "10"})).await.body["id"].clone();
    let results = all(2, |i| {
        let app = app.clone();
        let offer = offer.clone();
        async move {
            if i == 0 {
                app.post("/api/offers/set-price", As::User(offerer), json!({"offer_id": offer, "price": "30"})).await
            } else {
                app.post("/api/offers/accept", As::User(OWNER), json!({"offer_id": offer})).await
            }
        }
    })
    .await;
    no_server_errors(&results);
    assert!(results[1].0.is_success(), "accept always goes through: {results:?}");
    let paid = d(&results[1].1["price"]);
    let (owner_available, _) = app.money(OWNER).await;
    assert_eq!(owner_available, paid * Decimal::new(95, 2), "the owner gets the price that was held");
    assert_eq!(app.money(offerer).await, (Decimal::from(50) - paid, Decimal::ZERO));
    assert_conserved(&app, &[OWNER, offerer], Decimal::from(50)).await;
}

async fn presale_buy_race(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(OWNER, "10").await;
    for b in 0..20 {
        app.deposit(5000 + b, "20").await;
    }
    let deliver_by = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let p = app
        .post(
            "/api/presale/new",
            As::User(OWNER),
            json!({"title": "t", "collection": "c", "price": "20", "deliver_by": deliver_by}),
        )
        .await;
    let id = p.body["id"].clone();
    let results = all(20, |i| {
        let app = app.clone();
        let id = id.clone();
        async move { app.post("/api/presale/buy", As::User(5000 + i), json!({"presale_id": id})).await }
    })
    .await;
    no_server_errors(&results);
    assert_eq!(count(&results, StatusCode::OK), 1);
    assert!(results.iter().all(|(s, b)| *s == StatusCode::OK || b["code"] == "presale_sold"));
    let users: Vec<i64> = (0..20).map(|b| 5000 + b).chain([OWNER]).collect();
    assert_conserved(&app, &users, Decimal::from(410)).await;
}

async fn one_balance_spent_through_buys_offers_and_bids_at_once(app: TestApp) {
    let app = Arc::new(app);
    let spender = 3030;
    app.deposit(spender, "10").await;
    let mut nfts = Vec::new();
    for _ in 0..4 {
        nfts.push(app.nft(OWNER, Some("4")).await);
    }
    let auctioned = app.nft(OWNER, None).await;
    let a = app
        .post(
            "/api/auctions/new",
            As::User(OWNER),
            json!({"nft_id": auctioned, "start_price": "4", "duration_seconds": 3600}),
        )
        .await;
    let auction = a.body["id"].clone();
    let nfts = Arc::new(nfts);
    let results = all(9, |i| {
        let app = app.clone();
        let nfts = nfts.clone();
        let auction = auction.clone();
        async move {
            match i {
                0..=3 => app.post("/api/nft/buy", As::User(spender), json!({"nft_id": nfts[i as usize]})).await,
                4..=7 => {
                    app.post(
                        "/api/offers/new",
                        As::User(spender),
                        json!({"nft_id": nfts[(i - 4) as usize], "price": "4"}),
                    )
                    .await
                }
                _ => {
                    app.post("/api/auctions/bid", As::User(spender), json!({"auction_id": auction, "amount": "4"}))
                        .await
                }
            }
        }
    })
    .await;
    no_server_errors(&results);
    // An offer placed first is cancelled and refunded by the spender's own later buy of that NFT,
    // so count what is committed now: completed buys, plus holds still open.
    let buys = results[..4].iter().filter(|(s, _)| s.is_success()).count() as i64;
    let (available, held) = app.money(spender).await;
    assert!(available >= Decimal::ZERO && held >= Decimal::ZERO);
    assert!(Decimal::from(buys * 4) + held <= Decimal::from(10), "never more than the balance: {results:?}");
    assert_eq!(available + held, Decimal::from(10 - 4 * buys), "only buys spent money; holds are still the spender's");
    assert!(results.iter().all(|(s, _)| s.is_success() || s.as_u16() == 409), "{results:?}");
    assert_conserved(&app, &[spender, OWNER], Decimal::from(10)).await;
}

macro_rules! on_both {
    ($($race:ident),* $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $race() {
                    super::$race(super::memory().await).await;
                }
            )*
        }

        mod on_postgres_and_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $race() {
                    super::$race(super::postgres_redis().await).await;
                }
            )*
        }
    };
}

on_both!(
    accept_vs_buy_vs_back,
    twenty_racing_bids,
    a_bid_at_the_closing_instant_vs_settlement,
    offer_set_price_vs_accept,
    presale_buy_race,
    one_balance_spent_through_buys_offers_and_bids_at_once,
);

/// Two instances on one database run every job at the same moment: each item is handled once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_on_two_instances_at_once_have_one_effect() {
    let db = std::sync::Arc::new(common::fresh_database().await);
    let one = TestApp::with(common::settings(Some(db.url.clone()), None)).await.keeping(db.clone());
    let two = TestApp::with(common::settings(Some(db.url.clone()), None)).await.keeping(db);
    one.deposit(3040, "100").await;
    one.deposit(OWNER, "10").await;
    let nft = one.nft(OWNER, None).await;
    let offered = one.nft(OWNER, None).await;
    let a = one
        .post("/api/auctions/new", As::User(OWNER), json!({"nft_id": nft, "start_price": "5", "duration_seconds": 60}))
        .await;
    one.post("/api/auctions/bid", As::User(3040), json!({"auction_id": a.body["id"], "amount": "5"})).await;
    one.post("/api/offers/new", As::User(3040), json!({"nft_id": offered, "price": "3", "expires_in_seconds": 60}))
        .await;
    let deliver_by = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let p = one
        .post(
            "/api/presale/new",
            As::User(OWNER),
            json!({"title": "t", "collection": "c", "price": "10", "deliver_by": deliver_by}),
        )
        .await;
    one.post("/api/presale/buy", As::User(3040), json!({"presale_id": p.body["id"]})).await;
    let traded = one.nft(OWNER, None).await;
    let t = one
        .post(
            "/api/trades/new",
            As::User(OWNER),
            json!({"taker_id": 3040, "give": {"nft_ids": [traded], "amount": "2"}, "want": {"nft_ids": []}, "expires_in_seconds": 60}),
        )
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
    let c = one.post("/api/channels/new", As::User(OWNER), json!({"channel": "@two_instances", "price": "7"})).await;
    let b = one.post("/api/channels/buy", As::User(3040), json!({"channel_sale_id": c.body["id"]})).await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    for app in [&one, &two] {
        app.advance(3 * 3600);
    }
    // Twice at once on each instance: every item still has exactly one effect.
    let (r1, r2, r3, r4) = tokio::join!(one.run_jobs(), two.run_jobs(), one.run_jobs(), two.run_jobs());
    let sum = |f: fn(&app::jobs::JobReport) -> usize| f(&r1) + f(&r2) + f(&r3) + f(&r4);
    assert_eq!(sum(|r| r.offers_expired), 1);
    assert_eq!(sum(|r| r.auctions_settled), 1);
    assert_eq!(sum(|r| r.presales_expired), 1);
    assert_eq!(sum(|r| r.failures), 0);
    assert_eq!(sum(|r| r.trades_expired), 1);
    for app in [&one, &two] {
        app.advance(24 * 3600);
    }
    let (r1, r2) = tokio::join!(one.run_jobs(), two.run_jobs());
    assert_eq!(r1.channel_sales_settled + r2.channel_sales_settled, 1, "the escrow is refunded once");
    assert_eq!(
        one.money(3040).await,
        (Decimal::from(96), Decimal::ZERO),
        "paid 5 for the auction, refunded 10 + 1 of collateral, and the channel escrow"
    );
    assert_conserved(&one, &[3040, OWNER], Decimal::from(110)).await;
}
