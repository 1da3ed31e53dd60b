//! Races over collection offers, instant sell and sweep (SPEC §3), each on the in-memory store and
//! on PostgreSQL + Redis, with requests spread over many tasks. After each: every NFT has one
//! owner that agrees with who was told they got it, the audit is clean and money is conserved.

use crate::common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::http::StatusCode;
use common::{As, TestApp};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const OFFERER: i64 = 6001;
const SELLER: i64 = 6002;
const BUYER: i64 = 6003;
const SWEEPER_A: i64 = 6004;
const SWEEPER_B: i64 = 6005;
/// The first of twelve sellers (6101–6112).
const SELLERS: i64 = 6101;

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

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
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

/// A Plush Pepe, model Gold, for `owner`, listed at `price` when given.
async fn gold(app: &TestApp, owner: i64, price: Option<&str>) -> String {
    let r = app
        .post(
            "/api/admin/nfts",
            As::Staff,
            json!({"owner_id": owner, "gift_id": uuid::Uuid::new_v4().to_string(), "collection": "Plush Pepe",
                   "model": {"name": "Gold", "rarity_per_mille": 20}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    if let Some(p) = price {
        let r = app.post("/api/nft/set-price", As::User(owner), json!({"nft_id": id, "price": p})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    id
}

async fn collection_offer(app: &TestApp, who: i64, price: &str, quantity: u32) -> String {
    let r = app
        .post(
            "/api/collection-offers/new",
            As::User(who),
            json!({"collection": "Plush Pepe", "price": price, "quantity": quantity}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// The NFT's owner and price (`null` when unlisted).
async fn holder(app: &TestApp, nft: &str) -> (i64, Value) {
    let r = app.get(&format!("/api/nfts/{nft}"), As::User(BUYER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (r.body["owner_id"].as_i64().unwrap(), r.body["price"].clone())
}

/// The status of `who`'s collection offer `offer`.
async fn offer_status(app: &TestApp, who: i64, offer: &str) -> Value {
    let r = app.get("/api/me/collection-offers?limit=100", As::User(who)).await;
    let o = r.body["items"].as_array().unwrap().iter().find(|o| o["id"] == offer).cloned().unwrap();
    json!({"status": o["status"], "filled": o["filled"]})
}

fn bought(body: &Value) -> Vec<String> {
    body["purchased"].as_array().unwrap().iter().map(|p| p["nft_id"].as_str().unwrap().to_string()).collect()
}

/// (a) Twelve sellers fill a quantity-5 offer at once, each with one gift: five are paid.
async fn twelve_sellers_fill_a_quantity_five_offer(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(OFFERER, "50").await;
    let offer = collection_offer(&app, OFFERER, "10", 5).await;
    let mut gifts = Vec::new();
    for i in 0..12 {
        gifts.push(gold(&app, SELLERS + i, None).await);
    }
    let gifts = Arc::new(gifts);

    let results = all(12, |i| {
        let (app, gifts, offer) = (app.clone(), gifts.clone(), offer.clone());
        async move {
            let body = json!({"offer_id": offer, "nft_ids": [gifts[i as usize]]});
            app.post("/api/collection-offers/fill", As::User(SELLERS + i), body).await
        }
    })
    .await;

    no_server_errors(&results);
    assert_eq!(count(&results, StatusCode::OK), 5, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(s, b)| *s == StatusCode::OK || (*s == StatusCode::CONFLICT && b["code"] == "offer_not_open")),
        "{results:?}"
    );
    let mut filled: Vec<i64> =
        results.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, b)| b["filled"].as_i64().unwrap()).collect();
    filled.sort();
    assert_eq!(filled, [1, 2, 3, 4, 5], "each fill counted once, in some order");
    assert_eq!(offer_status(&app, OFFERER, &offer).await, json!({"status": "filled", "filled": 5}));
    for (i, (status, _)) in results.iter().enumerate() {
        let seller = SELLERS + i as i64;
        let (owner, price) = holder(&app, &gifts[i]).await;
        let (available, held) = app.money(seller).await;
        if *status == StatusCode::OK {
            assert_eq!(
                (owner, price, available, held),
                (OFFERER, Value::Null, d("9.5"), Decimal::ZERO),
                "seller {seller}"
            );
        } else {
            assert_eq!((owner, available), (seller, Decimal::ZERO), "seller {seller}");
        }
    }
    assert_eq!(app.money(OFFERER).await, (Decimal::ZERO, Decimal::ZERO));
    let users: Vec<i64> = (0..12).map(|i| SELLERS + i).chain([OFFERER]).collect();
    assert_conserved(&app, &users, d("50")).await;
}

/// (b) A fill and the offerer's cancel of the same offer (quantity 1) at once, several rounds:
/// exactly one wins, and the books agree with which.
async fn fill_vs_cancel(app: TestApp) {
    let app = Arc::new(app);
    let rounds = 6;
    app.deposit(OFFERER, &format!("{}", 10 * rounds)).await;
    let mut fills = 0;
    for round in 0..rounds {
        let offer = collection_offer(&app, OFFERER, "10", 1).await;
        let nft = gold(&app, SELLER, Some("99")).await;
        let results = all(2, |i| {
            let (app, offer, nft) = (app.clone(), offer.clone(), nft.clone());
            async move {
                if i == 0 {
                    app.post(
                        "/api/collection-offers/fill",
                        As::User(SELLER),
                        json!({"offer_id": offer, "nft_ids": [nft]}),
                    )
                    .await
                } else {
                    app.post("/api/collection-offers/cancel", As::User(OFFERER), json!({"offer_id": offer})).await
                }
            }
        })
        .await;
        no_server_errors(&results);
        assert_eq!(count(&results, StatusCode::OK), 1, "round {round}: {results:?}");
        let loser = results.iter().find(|(s, _)| *s != StatusCode::OK).unwrap();
        assert_eq!(
            (loser.0, loser.1["code"].as_str()),
            (StatusCode::CONFLICT, Some("offer_not_open")),
            "round {round}"
        );
        let status = offer_status(&app, OFFERER, &offer).await;
        if results[0].0 == StatusCode::OK {
            fills += 1;
            assert_eq!(results[0].1["status"], "filled");
            assert_eq!(status, json!({"status": "filled", "filled": 1}), "round {round}");
            assert_eq!(holder(&app, &nft).await, (OFFERER, Value::Null), "round {round}");
        } else {
            assert_eq!(results[1].1["status"], "cancelled");
            assert_eq!(status, json!({"status": "cancelled", "filled": 0}), "round {round}");
            assert_eq!(holder(&app, &nft).await, (SELLER, json!("99")), "round {round}: nothing moved");
        }
        // Every offer so far is closed: nothing stays held; each fill paid 10 from the offerer.
        let (available, held) = app.money(OFFERER).await;
        assert_eq!((available, held), (Decimal::from(10 * rounds - 10 * fills), Decimal::ZERO), "round {round}");
        assert_eq!(app.money(SELLER).await.0, d("9.5") * Decimal::from(fills), "round {round}");
    }
    assert_conserved(&app, &[OFFERER, SELLER], Decimal::from(10 * rounds)).await;
}

/// (c) The owner sells into a collection offer while someone buys the same listing: one sale.
async fn sell_vs_buy(app: TestApp) {
    let app = Arc::new(app);
    let rounds = 4;
    app.deposit(OFFERER, &format!("{}", 8 * rounds)).await;
    app.deposit(BUYER, &format!("{}", 10 * rounds)).await;
    let (mut sells, mut buys) = (0i64, 0i64);
    for round in 0..rounds {
        let offer = collection_offer(&app, OFFERER, "8", 1).await;
        let nft = gold(&app, SELLER, Some("10")).await;
        let results = all(2, |i| {
            let (app, nft) = (app.clone(), nft.clone());
            async move {
                if i == 0 {
                    app.post("/api/nft/sell", As::User(SELLER), json!({"nft_id": nft, "min_price": "1"})).await
                } else {
                    app.post("/api/nft/buy", As::User(BUYER), json!({"nft_id": nft})).await
                }
            }
        })
        .await;
        no_server_errors(&results);
        assert_eq!(count(&results, StatusCode::OK), 1, "round {round}: exactly one sale: {results:?}");
        let (owner, price) = holder(&app, &nft).await;
        assert_eq!(price, Value::Null, "round {round}");
        let status = offer_status(&app, OFFERER, &offer).await;
        if results[0].0 == StatusCode::OK {
            sells += 1;
            assert_eq!((&results[0].1["offer_id"], &results[0].1["price"]), (&json!(offer), &json!("8")));
            // The listing is gone: the buyer finds it not for sale.
            assert_eq!((results[1].0, results[1].1["code"].as_str()), (StatusCode::CONFLICT, Some("not_for_sale")));
            assert_eq!(owner, OFFERER, "round {round}");
            assert_eq!(status, json!({"status": "filled", "filled": 1}));
        } else {
            buys += 1;
            // The NFT is the buyer's now: the seller may no longer sell it.
            assert_eq!((results[0].0, results[0].1["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
            assert_eq!(owner, BUYER, "round {round}");
            assert_eq!(status, json!({"status": "open", "filled": 0}));
            let r = app.post("/api/collection-offers/cancel", As::User(OFFERER), json!({"offer_id": offer})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
    }
    assert_eq!(sells + buys, rounds);
    assert_eq!(app.money(OFFERER).await, (Decimal::from(8 * (rounds - sells)), Decimal::ZERO));
    assert_eq!(app.money(BUYER).await, (Decimal::from(10 * (rounds - buys)), Decimal::ZERO));
    assert_eq!(app.money(SELLER).await.0, d("7.6") * Decimal::from(sells) + d("9.5") * Decimal::from(buys));
    assert_conserved(&app, &[OFFERER, BUYER, SELLER], Decimal::from(18 * rounds)).await;
}

/// (d) Two sweepers over the same ten listings at once, one by items and one by criteria: each
/// listing is sold once, to the sweeper that says it bought it.
async fn two_sweepers_over_the_same_listings(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(SWEEPER_A, "100").await;
    app.deposit(SWEEPER_B, "100").await;
    let mut listed = Vec::new();
    for i in 1..=10 {
        listed.push((gold(&app, SELLER, Some(&i.to_string())).await, i));
    }
    let listed = Arc::new(listed);
    let results = all(2, |i| {
        let (app, listed) = (app.clone(), listed.clone());
        async move {
            if i == 0 {
                let items: Vec<Value> =
                    listed.iter().rev().map(|(id, p)| json!({"nft_id": id, "price": p.to_string()})).collect();
                app.post("/api/nft/sweep", As::User(SWEEPER_A), json!({"items": items})).await
            } else {
                let body =
                    json!({"collection": "Plush Pepe", "model": "Gold", "max_items": 10, "max_price_per_item": "10"});
                app.post("/api/nft/sweep", As::User(SWEEPER_B), body).await
            }
        }
    })
    .await;
    no_server_errors(&results);
    assert_eq!(count(&results, StatusCode::OK), 2, "{results:?}");
    let (a, b) = (bought(&results[0].1), bought(&results[1].1));
    let (set_a, set_b): (BTreeSet<_>, BTreeSet<_>) = (a.iter().cloned().collect(), b.iter().cloned().collect());
    assert_eq!((set_a.len(), set_b.len()), (a.len(), b.len()), "no NFT bought twice by one sweeper");
    assert!(set_a.is_disjoint(&set_b), "no NFT bought by both: {results:?}");
    assert!(a.len() + b.len() <= 10);
    // Whoever locks the listings first takes all ten; the other finds them sold.
    assert_eq!(a.len() + b.len(), 10, "{results:?}");
    for (_, body) in &results {
        let failed = body["failed"].as_array().unwrap();
        assert!(failed.iter().all(|f| f["code"] == "not_for_sale"), "{body}");
    }
    let price: HashMap<&str, i64> = listed.iter().map(|(id, p)| (id.as_str(), *p)).collect();
    for (who, got, body) in [(SWEEPER_A, &a, &results[0].1), (SWEEPER_B, &b, &results[1].1)] {
        let spent: i64 = got.iter().map(|id| price[id.as_str()]).sum();
        assert_eq!(body["spent"], json!(spent.to_string()));
        assert_eq!(app.money(who).await, (Decimal::from(100 - spent), Decimal::ZERO), "sweeper {who}");
    }
    for (id, _) in listed.iter() {
        let expected = if set_a.contains(id) { SWEEPER_A } else { SWEEPER_B };
        assert_eq!(holder(&app, id).await, (expected, Value::Null), "{id}");
    }
    assert_eq!(app.money(SELLER).await.0, d("52.25"), "55 for the ten, less 5 %");
    assert_conserved(&app, &[SWEEPER_A, SWEEPER_B, SELLER], d("200")).await;
}

/// (e) A sweep of ten listings while their seller unlists each of them: per NFT, either the
/// sweep bought it (and the unlisting was refused) or the unlisting won (and the sweep says
/// `not_for_sale`). All or nothing: all ten bought, or none.
async fn sweep_vs_unlisting(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(BUYER, "40").await;
    for all_or_nothing in [false, true] {
        let mut nfts = Vec::new();
        for _ in 0..10 {
            nfts.push(gold(&app, SELLER, Some("2")).await);
        }
        let nfts = Arc::new(nfts);
        let results = all(11, |i| {
            let (app, nfts) = (app.clone(), nfts.clone());
            async move {
                if i == 0 {
                    let items: Vec<Value> = nfts.iter().map(|id| json!({"nft_id": id, "price": "2"})).collect();
                    let body = json!({"items": items, "all_or_nothing": all_or_nothing});
                    app.post("/api/nft/sweep", As::User(BUYER), body).await
                } else {
                    let body = json!({"nft_id": nfts[(i - 1) as usize], "price": null});
                    app.post("/api/nft/set-price", As::User(SELLER), body).await
                }
            }
        })
        .await;
        no_server_errors(&results);
        let (sweep_status, sweep) = &results[0];
        let got: BTreeSet<String> =
            if *sweep_status == StatusCode::OK { bought(sweep).into_iter().collect() } else { BTreeSet::new() };
        let refused: BTreeSet<String> =
            sweep["failed"].as_array().unwrap().iter().map(|f| f["nft_id"].as_str().unwrap().to_string()).collect();
        assert!(sweep["failed"].as_array().unwrap().iter().all(|f| f["code"] == "not_for_sale"), "{sweep}");
        if all_or_nothing {
            match *sweep_status {
                StatusCode::OK => assert_eq!(got.len(), 10, "{sweep}"),
                s => {
                    assert_eq!((s, sweep["code"].as_str()), (StatusCode::CONFLICT, Some("sweep_failed")), "{sweep}");
                    assert!(!refused.is_empty());
                }
            }
        } else {
            assert_eq!(*sweep_status, StatusCode::OK, "{sweep}");
            assert_eq!(got.len() + refused.len(), 10, "{sweep}");
        }
        for (i, id) in nfts.iter().enumerate() {
            let (unlist_status, unlist) = &results[i + 1];
            let (owner, price) = holder(&app, id).await;
            assert_eq!(price, Value::Null, "{id}: unlisted either way");
            if got.contains(id) {
                assert_eq!(owner, BUYER, "{id}");
                assert_eq!(
                    (*unlist_status, unlist["code"].as_str()),
                    (StatusCode::FORBIDDEN, Some("forbidden")),
                    "{id}"
                );
            } else {
                assert_eq!(owner, SELLER, "{id}");
                assert_eq!(*unlist_status, StatusCode::OK, "{id}: {unlist}");
            }
        }
        let spent =
            if *sweep_status == StatusCode::OK { sweep["spent"].as_str().unwrap().to_string() } else { "0".into() };
        assert_eq!(d(&spent), Decimal::from(2 * got.len() as i64));
    }
    let (available, _) = app.money(BUYER).await;
    let bought_total = (d("40") - available) / d("2");
    assert_eq!(app.money(SELLER).await.0, d("1.9") * bought_total);
    assert_conserved(&app, &[BUYER, SELLER], d("40")).await;
}

/// Twenty-five offers placed at once by one user: twenty open, the rest refused.
async fn twenty_five_offers_at_once_leave_twenty_open(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(OFFERER, "25").await;
    let results = all(25, |_| {
        let app = app.clone();
        async move {
            let body = json!({"collection": "Plush Pepe", "price": "1", "quantity": 1});
            app.post("/api/collection-offers/new", As::User(OFFERER), body).await
        }
    })
    .await;
    no_server_errors(&results);
    assert_eq!(count(&results, StatusCode::CREATED), 20, "{results:?}");
    assert!(
        results.iter().all(|(s, b)| *s == StatusCode::CREATED || b["code"] == "too_many_open_offers"),
        "{results:?}"
    );
    assert_eq!(app.money(OFFERER).await, (d("5"), d("20")));
    assert_conserved(&app, &[OFFERER], d("25")).await;
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
    twelve_sellers_fill_a_quantity_five_offer,
    fill_vs_cancel,
    sell_vs_buy,
    two_sweepers_over_the_same_listings,
    sweep_vs_unlisting,
    twenty_five_offers_at_once_leave_twenty_open,
);
