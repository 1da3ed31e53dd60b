//! Collection offers, instant sell and sweep over HTTP (SPEC §3 "Collection offers, instant sell
//! and sweep"): every route, each rule with its code, who may act on what, the exact balances
//! after each money movement, the order book's order, filters and pages, and idempotent sweeps.
//! Each test runs on the in-memory store and on PostgreSQL. Business time moves only with
//! `advance`; every test ends with a clean audit.

use crate::common;

use axum::http::StatusCode;
use common::{As, Reply, TestApp};
use serde_json::{json, Value};

const OFFERER: i64 = 9501;
const SELLER: i64 = 9502;
const STRANGER: i64 = 9503;
const BUYER: i64 = 9504;
const OTHER: i64 = 9505;

const PP: &str = "Plush Pepe";
const CAP: &str = "Durov's Cap";

// ----- helpers -----

/// Registers a gift of `collection` for `owner` with the attributes named (model, backdrop,
/// symbol; `None` leaves one out) and, with a price, lists it. Returns its id.
async fn gift(app: &TestApp, owner: i64, collection: &str, attrs: [Option<&str>; 3], price: Option<&str>) -> String {
    let mut body = json!({"owner_id": owner, "gift_id": uuid::Uuid::new_v4().to_string(), "collection": collection});
    for (key, name) in ["model", "backdrop", "symbol"].into_iter().zip(attrs) {
        if let Some(name) = name {
            body[key] = json!({"name": name, "rarity_per_mille": 20});
        }
    }
    let r = app.post("/api/admin/nfts", As::Staff, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    if let Some(p) = price {
        let r = app.post("/api/nft/set-price", As::User(owner), json!({"nft_id": id, "price": p})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    id
}

/// A Plush Pepe, model Gold, backdrop Blue, symbol Star.
async fn gold(app: &TestApp, owner: i64, price: Option<&str>) -> String {
    gift(app, owner, PP, [Some("Gold"), Some("Blue"), Some("Star")], price).await
}

/// Places a collection offer; asserts 201 and returns the answer.
async fn place(app: &TestApp, who: i64, body: Value) -> Value {
    let r = app.post("/api/collection-offers/new", As::User(who), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn fill(app: &TestApp, who: i64, offer: &str, nfts: &[&str]) -> Reply {
    app.post("/api/collection-offers/fill", As::User(who), json!({"offer_id": offer, "nft_ids": nfts})).await
}

async fn single_offer(app: &TestApp, who: i64, nft: &str, price: &str) -> String {
    let r = app.post("/api/offers/new", As::User(who), json!({"nft_id": nft, "price": price})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    id(&r.body)
}

fn assert_problem(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    assert!(r.is_problem(), "{:?}", r.headers);
}

async fn assert_money(app: &TestApp, user: i64, available: &str, held: &str) {
    assert_eq!(
        app.balances(user).await,
        (available.to_string(), held.to_string()),
        "available and held of user {user}"
    );
}

/// The NFT's owner and price (`null` when unlisted).
async fn holder(app: &TestApp, nft: &str) -> (i64, Value) {
    let r = app.get(&format!("/api/nfts/{nft}"), As::User(STRANGER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (r.body["owner_id"].as_i64().unwrap(), r.body["price"].clone())
}

/// The `sold` market events, oldest first, as (NFT, price).
async fn sales(app: &TestApp) -> Vec<(String, String)> {
    let r = app.get("/api/activity?kind=sold&limit=100", As::User(STRANGER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut out: Vec<(String, String)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["nft_id"].as_str().unwrap().to_string(), e["price"].as_str().unwrap().to_string()))
        .collect();
    out.reverse();
    out
}

/// The ids of a page's items, in order.
fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(id).collect()
}

/// The caller's collection offer `offer` as `/api/me/collection-offers` shows it.
async fn mine(app: &TestApp, who: i64, offer: &str) -> Value {
    let r = app.get("/api/me/collection-offers?limit=100", As::User(who)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == offer)
        .cloned()
        .expect("the caller's offer is listed")
}

async fn fees(app: &TestApp) -> rust_decimal::Decimal {
    app.app.state.reads.audit_facts().await.unwrap().fees
}

fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap()
}

fn at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().into()
}

// ----- placing -----

async fn placing_holds_price_times_quantity_and_answers_the_offer(app: TestApp) {
    app.deposit(OFFERER, "100").await;
    let o = place(&app, OFFERER, json!({"collection": PP, "model": "Gold", "price": "2.5", "quantity": 4})).await;
    assert_eq!(o["user_id"], OFFERER);
    assert_eq!(o["criteria"], json!({"collection": PP, "model": "Gold", "backdrop": null, "symbol": null}));
    assert_eq!(
        (&o["price"], &o["quantity"], &o["filled"], &o["remaining"], &o["status"]),
        (&json!("2.5"), &json!(4), &json!(0), &json!(4), &json!("open"))
    );
    assert_eq!(at(&o["expires_at"]) - at(&o["created_at"]), chrono::Duration::days(7), "7 days by default");
    assert_money(&app, OFFERER, "90", "10").await;

    // Every attribute named; the bounds of quantity and expiry are accepted.
    let o = place(
        &app,
        OFFERER,
        json!({"collection": PP, "model": "Gold", "backdrop": "Blue", "symbol": "Star", "price": "0.1", "quantity": 50,
               "expires_in_seconds": 60}),
    )
    .await;
    assert_eq!(o["criteria"], json!({"collection": PP, "model": "Gold", "backdrop": "Blue", "symbol": "Star"}));
    assert_eq!(at(&o["expires_at"]) - at(&o["created_at"]), chrono::Duration::seconds(60));
    let o =
        place(&app, OFFERER, json!({"collection": CAP, "price": 1, "quantity": 1, "expires_in_seconds": 2_592_000}))
            .await;
    assert_eq!(at(&o["expires_at"]) - at(&o["created_at"]), chrono::Duration::days(30));
    assert_money(&app, OFFERER, "84", "16").await;

    // More than is available: nothing held.
    let r = app
        .post(
            "/api/collection-offers/new",
            As::User(OFFERER),
            json!({"collection": PP, "price": "21.000000001", "quantity": 4}),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "insufficient_funds");
    let r = app
        .post("/api/collection-offers/new", As::User(STRANGER), json!({"collection": PP, "price": "1", "quantity": 1}))
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "insufficient_funds");
    assert_money(&app, OFFERER, "84", "16").await;

    for (body, field) in [
        (json!({"collection": PP, "price": "1", "quantity": 0}), "quantity"),
        (json!({"collection": PP, "price": "1", "quantity": 51}), "quantity"),
        (json!({"collection": PP, "price": "1", "quantity": 1, "expires_in_seconds": 59}), "expires_in_seconds"),
        (json!({"collection": PP, "price": "1", "quantity": 1, "expires_in_seconds": 2_592_001}), "expires_in_seconds"),
        (json!({"collection": PP, "price": "0", "quantity": 1}), "price"),
        (json!({"collection": PP, "price": "-1", "quantity": 1}), "price"),
        (json!({"collection": PP, "price": "1e2", "quantity": 1}), "price"),
        (json!({"collection": PP, "price": "0.0000000001", "quantity": 1}), "price"),
        (json!({"collection": "", "price": "1", "quantity": 1}), "collection"),
        (json!({"collection": PP, "model": "", "price": "1", "quantity": 1}), "model"),
        (json!({"price": "1", "quantity": 1}), "collection"),
        (json!({"collection": PP, "price": "1", "quantity": 1, "colour": "red"}), "colour"),
    ] {
        let r = app.post("/api/collection-offers/new", As::User(OFFERER), body.clone()).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let named: Vec<&str> =
            r.body["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
        assert!(
            named.iter().any(|f| f.contains(field)) || r.body["detail"].as_str().unwrap().contains(field),
            "{body}: {}",
            r.body
        );
    }
    let r = app
        .call(
            axum::http::Method::POST,
            "/api/collection-offers/new",
            As::Nobody,
            Some(json!({"collection": PP, "price": "1", "quantity": 1})),
        )
        .await;
    assert_problem(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_money(&app, OFFERER, "84", "16").await;
    app.assert_audit_clean().await;
}

async fn the_twenty_first_open_offer_is_refused(app: TestApp) {
    app.deposit(OFFERER, "100").await;
    let mut placed = Vec::new();
    for _ in 0..20 {
        placed.push(id(&place(&app, OFFERER, json!({"collection": PP, "price": "1", "quantity": 2})).await));
    }
    assert_money(&app, OFFERER, "60", "40").await;
    let r = app
        .post("/api/collection-offers/new", As::User(OFFERER), json!({"collection": PP, "price": "1", "quantity": 1}))
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "too_many_open_offers");
    assert_money(&app, OFFERER, "60", "40").await;

    // A cancelled one and a filled one no longer count.
    let g = gold(&app, SELLER, None).await;
    let r = app.post("/api/collection-offers/cancel", As::User(OFFERER), json!({"offer_id": placed[0]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    place(&app, OFFERER, json!({"collection": PP, "price": "1", "quantity": 1})).await;
    let r = app
        .post("/api/collection-offers/new", As::User(OFFERER), json!({"collection": PP, "price": "1", "quantity": 1}))
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "too_many_open_offers");
    let g2 = gold(&app, SELLER, None).await;
    let r = fill(&app, SELLER, &placed[1], &[&g, &g2]).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("filled")), "{}", r.body);
    place(&app, OFFERER, json!({"collection": PP, "price": "1", "quantity": 1})).await;
    // 2 back from the cancelled one, then 1 held, 2 paid to the seller, 1 held.
    assert_money(&app, OFFERER, "60", "38").await;
    assert_money(&app, SELLER, "1.9", "0").await;
    app.assert_audit_clean().await;
}

// ----- filling -----

async fn filling_sells_each_gift_at_the_offer_price(app: TestApp) {
    app.deposit(OFFERER, "50").await;
    let offer =
        id(&place(&app, OFFERER, json!({"collection": PP, "model": "Gold", "price": "10", "quantity": 3})).await);
    let listed = gold(&app, SELLER, Some("99")).await;
    let unlisted = gold(&app, SELLER, None).await;
    let third = gold(&app, SELLER, None).await;
    let fourth = gold(&app, SELLER, None).await;
    // The offerer's own single offer on one of them, and someone else's.
    let own = single_offer(&app, OFFERER, &unlisted, "4").await;
    app.deposit(OTHER, "5").await;
    let others = single_offer(&app, OTHER, &unlisted, "5").await;
    assert_money(&app, OFFERER, "16", "34").await;

    let r = app
        .post(
            "/api/collection-offers/fill",
            As::User(SELLER),
            json!({"offer_id": offer, "nft_ids": [listed, unlisted], "expected_price": "10"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["id"].as_str(), r.body["user_id"].as_i64()), (Some(offer.as_str()), Some(OFFERER)));
    assert_eq!(
        (&r.body["filled"], &r.body["remaining"], &r.body["status"], &r.body["price"]),
        (&json!(2), &json!(1), &json!("open"), &json!("10"))
    );
    // Each gift is the offerer's and unlisted; the seller has 2 × 9.5; the offerer's own single
    // offer is refunded, the other one stays open on the NFT.
    assert_eq!(holder(&app, &listed).await, (OFFERER, Value::Null), "the listing is removed");
    assert_eq!(holder(&app, &unlisted).await, (OFFERER, Value::Null));
    assert_money(&app, SELLER, "19", "0").await;
    assert_money(&app, OFFERER, "20", "10").await;
    assert_money(&app, OTHER, "0", "5").await;
    let singles = app.get(&format!("/api/offers?nft_id={unlisted}"), As::User(OFFERER)).await;
    let status_of = |offer: &str| {
        singles.body["items"].as_array().unwrap().iter().find(|o| o["id"] == offer).unwrap()["status"].clone()
    };
    assert_eq!((status_of(&own), status_of(&others)), (json!("cancelled"), json!("open")));
    let mut sold = sales(&app).await;
    sold.sort();
    let mut expected = vec![(listed.clone(), "10".to_string()), (unlisted.clone(), "10".to_string())];
    expected.sort();
    assert_eq!(sold, expected, "each gift is a sold market event at the offer's price");
    assert_eq!(fees(&app).await, dec("1"));

    // The last one fills it; nothing more can go in.
    let r = fill(&app, SELLER, &offer, &[&third]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((&r.body["filled"], &r.body["remaining"], &r.body["status"]), (&json!(3), &json!(0), &json!("filled")));
    assert_money(&app, OFFERER, "20", "0").await;
    assert_money(&app, SELLER, "28.5", "0").await;
    let r = fill(&app, SELLER, &offer, &[&fourth]).await;
    assert_problem(&r, StatusCode::CONFLICT, "offer_not_open");
    assert_eq!(holder(&app, &fourth).await, (SELLER, Value::Null));
    let book = app.get("/api/collection-offers", As::User(STRANGER)).await;
    assert_eq!(ids(&book.body), Vec::<String>::new(), "a filled offer leaves the book");
    let shown = mine(&app, OFFERER, &offer).await;
    assert_eq!((&shown["status"], &shown["filled"], &shown["remaining"]), (&json!("filled"), &json!(3), &json!(0)));
    assert_eq!(sales(&app).await.len(), 3);
    assert_money(&app, OFFERER, "20", "0").await;
    app.assert_audit_clean().await;
}

async fn fill_rules_have_their_codes_and_move_nothing(app: TestApp) {
    app.deposit(OFFERER, "100").await;
    let offer =
        id(&place(&app, OFFERER, json!({"collection": PP, "model": "Gold", "price": "5", "quantity": 2})).await);
    let g1 = gold(&app, SELLER, Some("7")).await;
    let g2 = gold(&app, SELLER, None).await;
    let g3 = gold(&app, SELLER, None).await;
    let frog = gift(&app, SELLER, PP, [Some("Frog"), Some("Blue"), Some("Star")], None).await;
    let bare = gift(&app, SELLER, PP, [None, None, None], None).await;
    let cap = gift(&app, SELLER, CAP, [Some("Gold"), None, None], None).await;
    let theirs = gold(&app, STRANGER, None).await;
    let offerers = gold(&app, OFFERER, None).await;
    let auctioned = gold(&app, SELLER, None).await;
    let r = app
        .post(
            "/api/auctions/new",
            As::User(SELLER),
            json!({"nft_id": auctioned, "start_price": "1", "duration_seconds": 3600}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let nil = uuid::Uuid::nil().to_string();
    let unknown = uuid::Uuid::new_v4().to_string();
    let eleven: Vec<String> = (0..11).map(|_| uuid::Uuid::new_v4().to_string()).collect();

    let cases: Vec<(i64, Value, StatusCode, &str)> = vec![
        (SELLER, json!({"offer_id": nil, "nft_ids": [g1]}), StatusCode::NOT_FOUND, "not_found"),
        (SELLER, json!({"offer_id": offer, "nft_ids": [unknown]}), StatusCode::NOT_FOUND, "not_found"),
        (SELLER, json!({"offer_id": offer, "nft_ids": [g1, unknown]}), StatusCode::NOT_FOUND, "not_found"),
        (SELLER, json!({"offer_id": offer, "nft_ids": []}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (SELLER, json!({"offer_id": offer, "nft_ids": eleven}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            SELLER,
            json!({"offer_id": offer, "nft_ids": [g1, g1]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (SELLER, json!({"offer_id": "nope", "nft_ids": [g1]}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            SELLER,
            json!({"offer_id": offer, "nft_ids": [g1], "expected_price": "0"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        // Someone else's NFT, alone or beside one's own.
        (SELLER, json!({"offer_id": offer, "nft_ids": [theirs]}), StatusCode::FORBIDDEN, "forbidden"),
        (SELLER, json!({"offer_id": offer, "nft_ids": [g1, theirs]}), StatusCode::FORBIDDEN, "forbidden"),
        (STRANGER, json!({"offer_id": offer, "nft_ids": [g1]}), StatusCode::FORBIDDEN, "forbidden"),
        (SELLER, json!({"offer_id": offer, "nft_ids": [auctioned]}), StatusCode::CONFLICT, "nft_unavailable"),
        (SELLER, json!({"offer_id": offer, "nft_ids": [g1, auctioned]}), StatusCode::CONFLICT, "nft_unavailable"),
        (SELLER, json!({"offer_id": offer, "nft_ids": [frog]}), StatusCode::UNPROCESSABLE_ENTITY, "criteria_mismatch"),
        (
            SELLER,
            json!({"offer_id": offer, "nft_ids": [g1, frog]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "criteria_mismatch",
        ),
        (SELLER, json!({"offer_id": offer, "nft_ids": [bare]}), StatusCode::UNPROCESSABLE_ENTITY, "criteria_mismatch"),
        (SELLER, json!({"offer_id": offer, "nft_ids": [cap]}), StatusCode::UNPROCESSABLE_ENTITY, "criteria_mismatch"),
        (OFFERER, json!({"offer_id": offer, "nft_ids": [offerers]}), StatusCode::CONFLICT, "own_item"),
        (SELLER, json!({"offer_id": offer, "nft_ids": [g1, g2, g3]}), StatusCode::CONFLICT, "offer_not_open"),
        (
            SELLER,
            json!({"offer_id": offer, "nft_ids": [g1], "expected_price": "4.99"}),
            StatusCode::CONFLICT,
            "price_changed",
        ),
    ];
    for (who, body, status, code) in cases {
        let r = app.post("/api/collection-offers/fill", As::User(who), body.clone()).await;
        assert_eq!((r.status, r.code()), (status, code), "{body}: {}", r.body);
    }
    // Nothing moved.
    assert_money(&app, OFFERER, "90", "10").await;
    assert_money(&app, SELLER, "0", "0").await;
    assert_eq!(holder(&app, &g1).await, (SELLER, json!("7")), "a refused fill leaves the listing");
    assert_eq!(holder(&app, &theirs).await, (STRANGER, Value::Null));
    assert_eq!(mine(&app, OFFERER, &offer).await["filled"], 0);
    assert!(sales(&app).await.is_empty());

    // Cancelled: never filled.
    let r = app.post("/api/collection-offers/cancel", As::User(OFFERER), json!({"offer_id": offer})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_problem(&fill(&app, SELLER, &offer, &[&g1]).await, StatusCode::CONFLICT, "offer_not_open");
    assert_money(&app, OFFERER, "100", "0").await;
    assert_eq!(holder(&app, &g1).await, (SELLER, json!("7")));
    app.assert_audit_clean().await;
}

async fn criteria_name_every_attribute_and_a_bare_collection_takes_any_gift(app: TestApp) {
    app.deposit(OFFERER, "100").await;
    let any = id(&place(&app, OFFERER, json!({"collection": PP, "price": "2", "quantity": 3})).await);
    let exact = id(&place(
        &app,
        OFFERER,
        json!({"collection": PP, "model": "Gold", "backdrop": "Blue", "symbol": "Star", "price": "3", "quantity": 1}),
    )
    .await);
    let bare = gift(&app, SELLER, PP, [None, None, None], None).await;
    let bare2 = gift(&app, SELLER, PP, [None, None, None], None).await;
    let frog = gift(&app, SELLER, PP, [Some("Frog"), Some("Red"), None], None).await;
    let moon = gift(&app, SELLER, PP, [Some("Gold"), Some("Blue"), Some("Moon")], None).await;
    let no_symbol = gift(&app, SELLER, PP, [Some("Gold"), Some("Blue"), None], None).await;
    let star = gold(&app, SELLER, None).await;
    let cap = gift(&app, SELLER, CAP, [None, None, None], None).await;

    assert_problem(&fill(&app, SELLER, &any, &[&cap]).await, StatusCode::UNPROCESSABLE_ENTITY, "criteria_mismatch");
    let r = fill(&app, SELLER, &any, &[&bare, &frog]).await;
    assert_eq!((r.status, &r.body["filled"]), (StatusCode::OK, &json!(2)), "with or without attributes: {}", r.body);
    assert_problem(&fill(&app, SELLER, &exact, &[&bare2]).await, StatusCode::UNPROCESSABLE_ENTITY, "criteria_mismatch");
    assert_problem(&fill(&app, SELLER, &exact, &[&moon]).await, StatusCode::UNPROCESSABLE_ENTITY, "criteria_mismatch");
    assert_problem(
        &fill(&app, SELLER, &exact, &[&no_symbol]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "criteria_mismatch",
    );
    let r = fill(&app, SELLER, &exact, &[&star]).await;
    assert_eq!((r.status, &r.body["status"]), (StatusCode::OK, &json!("filled")), "{}", r.body);
    // 2 × 2 and 1 × 3 paid from held; 1 × 2 still held.
    assert_money(&app, OFFERER, "91", "2").await;
    assert_money(&app, SELLER, "6.65", "0").await;
    app.assert_audit_clean().await;
}

// ----- repricing, cancelling, expiry -----

async fn repricing_and_cancelling_move_the_hold_for_what_is_left(app: TestApp) {
    app.deposit(OFFERER, "40").await;
    let offer = id(&place(&app, OFFERER, json!({"collection": PP, "price": "5", "quantity": 4})).await);
    assert_money(&app, OFFERER, "20", "20").await;
    let g = gold(&app, SELLER, None).await;
    assert_eq!(fill(&app, SELLER, &offer, &[&g]).await.status, StatusCode::OK);
    assert_money(&app, OFFERER, "20", "15").await;
    assert_money(&app, SELLER, "4.75", "0").await;

    let set = |who: i64, price: Value| {
        let (app, offer) = (&app, offer.clone());
        async move {
            app.post("/api/collection-offers/set-price", As::User(who), json!({"offer_id": offer, "price": price}))
                .await
        }
    };
    // Up: 8 × 3 left held.
    let r = set(OFFERER, json!("8")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((&r.body["price"], &r.body["filled"], &r.body["remaining"]), (&json!("8"), &json!(1), &json!(3)));
    assert_money(&app, OFFERER, "11", "24").await;
    // Down: 2 × 3.
    assert_eq!(set(OFFERER, json!("2")).await.status, StatusCode::OK);
    assert_money(&app, OFFERER, "29", "6").await;
    // 20 × 3 = 60 is more than 29 + 6: nothing changes.
    assert_problem(&set(OFFERER, json!("20")).await, StatusCode::CONFLICT, "insufficient_funds");
    assert_money(&app, OFFERER, "29", "6").await;
    assert_eq!(mine(&app, OFFERER, &offer).await["price"], "2");
    assert_problem(&set(STRANGER, json!("3")).await, StatusCode::FORBIDDEN, "forbidden");
    assert_problem(&set(SELLER, json!("1")).await, StatusCode::FORBIDDEN, "forbidden");
    assert_problem(&set(OFFERER, json!("0")).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_problem(&set(OFFERER, Value::Null).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app
        .post(
            "/api/collection-offers/set-price",
            As::User(OFFERER),
            json!({"offer_id": uuid::Uuid::nil(), "price": "1"}),
        )
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    assert_money(&app, OFFERER, "29", "6").await;

    // A fill after repricing pays the new price.
    let g2 = gold(&app, SELLER, None).await;
    let r = app
        .post(
            "/api/collection-offers/fill",
            As::User(SELLER),
            json!({"offer_id": offer, "nft_ids": [g2], "expected_price": "5"}),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "price_changed");
    assert_eq!(fill(&app, SELLER, &offer, &[&g2]).await.status, StatusCode::OK);
    assert_money(&app, OFFERER, "29", "4").await;
    assert_money(&app, SELLER, "6.65", "0").await;

    // Cancelling: the offerer only; what is left released once.
    let cancel = |who: i64| {
        let (app, offer) = (&app, offer.clone());
        async move { app.post("/api/collection-offers/cancel", As::User(who), json!({"offer_id": offer})).await }
    };
    assert_problem(&cancel(STRANGER).await, StatusCode::FORBIDDEN, "forbidden");
    assert_problem(&cancel(SELLER).await, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/collection-offers/cancel", As::User(OFFERER), json!({"offer_id": uuid::Uuid::nil()})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    assert_money(&app, OFFERER, "29", "4").await;
    let r = cancel(OFFERER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (&r.body["status"], &r.body["filled"], &r.body["remaining"]),
        (&json!("cancelled"), &json!(2), &json!(0))
    );
    assert_money(&app, OFFERER, "33", "0").await;
    assert_problem(&cancel(OFFERER).await, StatusCode::CONFLICT, "offer_not_open");
    assert_problem(&set(OFFERER, json!("1")).await, StatusCode::CONFLICT, "offer_not_open");
    assert_money(&app, OFFERER, "33", "0").await;
    // 40 = 33 + 6.65 + fees 0.35.
    assert_eq!(fees(&app).await, dec("0.35"));
    app.assert_audit_clean().await;
}

async fn expiry_releases_what_is_left_and_an_expired_offer_is_never_filled(app: TestApp) {
    app.deposit(OFFERER, "10").await;
    let short =
        id(&place(&app, OFFERER, json!({"collection": PP, "price": "3", "quantity": 2, "expires_in_seconds": 60}))
            .await);
    let long = id(&place(&app, OFFERER, json!({"collection": PP, "price": "1", "quantity": 1})).await);
    assert_money(&app, OFFERER, "3", "7").await;
    let (g1, g2) = (gold(&app, SELLER, None).await, gold(&app, SELLER, None).await);
    assert_eq!(fill(&app, SELLER, &short, &[&g1]).await.status, StatusCode::OK);
    assert_money(&app, OFFERER, "3", "4").await;

    app.advance(60);
    // Past expiry, before the job: dead to every action but cancel, off the book, shown expired.
    assert_problem(&fill(&app, SELLER, &short, &[&g2]).await, StatusCode::CONFLICT, "offer_not_open");
    let r =
        app.post("/api/collection-offers/set-price", As::User(OFFERER), json!({"offer_id": short, "price": "1"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "offer_not_open");
    assert_eq!(ids(&app.get("/api/collection-offers", As::User(STRANGER)).await.body), std::slice::from_ref(&long));
    let shown = mine(&app, OFFERER, &short).await;
    assert_eq!((&shown["status"], &shown["filled"], &shown["remaining"]), (&json!("expired"), &json!(1), &json!(0)));
    assert_money(&app, OFFERER, "3", "4").await;

    let report = app.run_jobs().await;
    assert_eq!(report.collection_offers_expired, 1);
    assert_eq!(report.failures, 0);
    assert_money(&app, OFFERER, "6", "1").await;
    assert_problem(&fill(&app, SELLER, &short, &[&g2]).await, StatusCode::CONFLICT, "offer_not_open");
    let r = app.post("/api/collection-offers/cancel", As::User(OFFERER), json!({"offer_id": short})).await;
    assert_problem(&r, StatusCode::CONFLICT, "offer_not_open");
    assert_eq!(mine(&app, OFFERER, &short).await["status"], "expired");
    assert_eq!(holder(&app, &g2).await.0, SELLER);
    assert_eq!(app.run_jobs().await.collection_offers_expired, 0, "expired once");
    assert_money(&app, OFFERER, "6", "1").await;

    // The other one lives on to its own expiry.
    assert_eq!(mine(&app, OFFERER, &long).await["status"], "open");
    app.advance(7 * 86_400);
    assert_eq!(app.run_jobs().await.collection_offers_expired, 1);
    assert_money(&app, OFFERER, "7", "0").await;
    assert_money(&app, SELLER, "2.85", "0").await;
    app.assert_audit_clean().await;
}

// ----- the order book -----

async fn the_order_book_is_best_price_first_then_oldest_and_filtered(app: TestApp) {
    for u in [OFFERER, SELLER, STRANGER, BUYER, OTHER] {
        app.deposit(u, "100").await;
    }
    let stale =
        id(&place(&app, OTHER, json!({"collection": PP, "price": "50", "quantity": 1, "expires_in_seconds": 60}))
            .await);
    app.advance(61);
    let gone = id(&place(&app, OTHER, json!({"collection": PP, "price": "40", "quantity": 1})).await);
    assert_eq!(
        app.post("/api/collection-offers/cancel", As::User(OTHER), json!({"offer_id": gone})).await.status,
        StatusCode::OK
    );
    let mut made = Vec::new();
    for (who, body) in [
        (OFFERER, json!({"collection": PP, "price": "3", "quantity": 2})), // a
        (SELLER, json!({"collection": PP, "model": "Gold", "price": "5", "quantity": 1})), // b
        (STRANGER, json!({"collection": PP, "model": "Frog", "price": "5", "quantity": 1})), // c
        (BUYER, json!({"collection": PP, "model": "Gold", "backdrop": "Blue", "price": "3", "quantity": 1})), // d
        (OFFERER, json!({"collection": CAP, "price": "10", "quantity": 1})), // e
        (OTHER, json!({"collection": PP, "price": "5", "quantity": 3})),   // f
        (OFFERER, json!({"collection": PP, "symbol": "Star", "price": "0.5", "quantity": 1})), // g
    ] {
        made.push(id(&place(&app, who, body).await));
        app.advance(1);
    }
    let made = <[String; 7]>::try_from(made).unwrap();
    let [a, b, c, d, e, f, g] = made.each_ref().map(String::as_str);
    let book = |q: &str| {
        let app = &app;
        let path = format!("/api/collection-offers{q}");
        async move {
            let r = app.get(&path, As::User(STRANGER)).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
            r.body
        }
    };
    let all = book("").await;
    assert_eq!(ids(&all), [e, b, c, f, a, d, g], "best price first, then oldest; no expired or cancelled one");
    assert!(!ids(&all).contains(&stale) && !ids(&all).contains(&gone));
    assert_eq!(all["next_cursor"], Value::Null);
    let first = &all["items"][0];
    assert_eq!(
        (&first["user_id"], &first["remaining"], &first["status"]),
        (&json!(OFFERER), &json!(1), &json!("open"))
    );
    assert_eq!(all["items"][3]["remaining"], 3);
    assert_eq!(ids(&book("?collection=Plush%20Pepe").await), [b, c, f, a, d, g]);
    assert_eq!(
        ids(&book("?collection=Plush%20Pepe&model=Gold").await),
        [b, f, a, d, g],
        "offers naming Gold and offers naming no model"
    );
    assert_eq!(ids(&book("?collection=Plush%20Pepe&model=Gold&backdrop=Red").await), [b, f, a, g]);
    assert_eq!(ids(&book("?collection=Plush%20Pepe&model=Frog&symbol=Moon").await), [c, f, a]);
    assert_eq!(ids(&book("?model=Frog").await), [e, c, f, a, g]);
    assert!(ids(&book("?collection=Nothing").await).is_empty());

    // A fill leaves what is left on the book; paging walks it without gaps or repeats.
    let gg = gold(&app, BUYER, None).await;
    assert_eq!(fill(&app, BUYER, f, &[&gg]).await.status, StatusCode::OK);
    let page = book("?collection=Plush%20Pepe&model=Gold").await;
    assert_eq!(page["items"][1]["remaining"], 2);
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    let mut pages = 0;
    loop {
        let page = book(&query).await;
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, [e, b, c, f, a, d, g]);
    assert_eq!(pages, 4);
    // Filter and cursor together.
    let first = book("?collection=Plush%20Pepe&model=Gold&limit=3").await;
    assert_eq!(ids(&first), [b, f, a]);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let rest = book(&format!("?collection=Plush%20Pepe&model=Gold&limit=3&cursor={cursor}")).await;
    assert_eq!((ids(&rest), &rest["next_cursor"]), (vec![d.to_string(), g.to_string()], &Value::Null));

    for q in ["?limit=0", "?limit=101", "?cursor=zzz", "?cursor=b5_1_00", "?colour=red", "?model="] {
        let r = app.get(&format!("/api/collection-offers{q}"), As::User(STRANGER)).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    assert_problem(&app.get("/api/collection-offers", As::Nobody).await, StatusCode::UNAUTHORIZED, "unauthorized");
    app.assert_audit_clean().await;
}

async fn equal_bids_page_in_the_order_they_were_placed(app: TestApp) {
    // Same price, same business time: the book still has one order, and pages keep to it.
    app.deposit(OFFERER, "100").await;
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.push(id(&place(&app, OFFERER, json!({"collection": PP, "price": "2", "quantity": 1})).await));
    }
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    loop {
        let r = app.get(&format!("/api/collection-offers{query}"), As::User(STRANGER)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        seen.extend(ids(&r.body));
        match r.body["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, placed, "oldest first among equal prices, no repeats, no gaps");
    app.assert_audit_clean().await;
}

async fn ones_own_offers_are_listed_newest_first_in_every_status(app: TestApp) {
    app.deposit(OFFERER, "100").await;
    app.deposit(OTHER, "100").await;
    let expired =
        id(&place(&app, OFFERER, json!({"collection": PP, "price": "1", "quantity": 1, "expires_in_seconds": 60}))
            .await);
    let cancelled = id(&place(&app, OFFERER, json!({"collection": PP, "price": "2", "quantity": 1})).await);
    let filled = id(&place(&app, OFFERER, json!({"collection": PP, "price": "3", "quantity": 1})).await);
    let open = id(&place(&app, OFFERER, json!({"collection": CAP, "price": "4", "quantity": 2})).await);
    let theirs = id(&place(&app, OTHER, json!({"collection": PP, "price": "9", "quantity": 1})).await);
    app.post("/api/collection-offers/cancel", As::User(OFFERER), json!({"offer_id": cancelled})).await;
    let g = gold(&app, SELLER, None).await;
    assert_eq!(fill(&app, SELLER, &filled, &[&g]).await.status, StatusCode::OK);
    app.advance(61);
    app.run_jobs().await;

    let r = app.get("/api/me/collection-offers", As::User(OFFERER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ids(&r.body), [&open, &filled, &cancelled, &expired].map(String::as_str));
    assert!(!ids(&r.body).contains(&theirs));
    let statuses: Vec<&str> =
        r.body["items"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["open", "filled", "cancelled", "expired"]);
    let remaining: Vec<i64> =
        r.body["items"].as_array().unwrap().iter().map(|o| o["remaining"].as_i64().unwrap()).collect();
    assert_eq!(remaining, [2, 0, 0, 0]);
    let page = app.get("/api/me/collection-offers?limit=3", As::User(OFFERER)).await;
    assert_eq!(ids(&page.body), [&open, &filled, &cancelled].map(String::as_str));
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app.get(&format!("/api/me/collection-offers?limit=3&cursor={cursor}"), As::User(OFFERER)).await;
    assert_eq!((ids(&rest.body), &rest.body["next_cursor"]), (vec![expired.clone()], &Value::Null));
    let none = app.get("/api/me/collection-offers", As::User(STRANGER)).await;
    assert_eq!(none.body, json!({"items": [], "next_cursor": null}));
    assert_problem(
        &app.get("/api/me/collection-offers?limit=0", As::User(OFFERER)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_money(&app, OFFERER, "89", "8").await;
    app.assert_audit_clean().await;
}

// ----- instant sell -----

async fn selling_takes_the_best_bid_highest_price_then_oldest(app: TestApp) {
    for u in [OFFERER, STRANGER, BUYER, OTHER] {
        app.deposit(u, "100").await;
    }
    app.deposit(SELLER, "30").await;
    // On a listed Gold: a collection offer at 10, then a single offer at 10 (newer), a Gold
    // collection offer at 8; the seller's own collection offer at 30 does not count.
    let first = gold(&app, SELLER, Some("50")).await;
    let oldest = id(&place(&app, OFFERER, json!({"collection": PP, "price": "10", "quantity": 1})).await);
    app.advance(1);
    let newer = single_offer(&app, STRANGER, &first, "10").await;
    app.advance(1);
    let eight = id(&place(&app, BUYER, json!({"collection": PP, "model": "Gold", "price": "8", "quantity": 1})).await);
    app.advance(1);
    place(&app, SELLER, json!({"collection": PP, "price": "30", "quantity": 1})).await;
    // The collection offerer's own single offer on the NFT, refunded when it buys.
    let own = single_offer(&app, OFFERER, &first, "3").await;
    assert_money(&app, OFFERER, "87", "13").await;

    let sell = |who: i64, nft: &str, min: &str| {
        let app = &app;
        let body = json!({"nft_id": nft, "min_price": min});
        async move { app.post("/api/nft/sell", As::User(who), body).await }
    };
    assert_problem(&sell(SELLER, &first, "10.000000001").await, StatusCode::CONFLICT, "no_offer");
    assert_problem(&sell(STRANGER, &first, "1").await, StatusCode::FORBIDDEN, "forbidden");
    assert_problem(&sell(OFFERER, &first, "1").await, StatusCode::FORBIDDEN, "forbidden");
    assert_money(&app, SELLER, "0", "30").await;

    let r = sell(SELLER, &first, "10").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((&r.body["price"], &r.body["fee"], &r.body["offer_id"]), (&json!("10"), &json!("0.5"), &json!(oldest)));
    assert_eq!(
        (&r.body["nft"]["id"], &r.body["nft"]["owner_id"], &r.body["nft"]["price"]),
        (&json!(first), &json!(OFFERER), &Value::Null)
    );
    assert_eq!(holder(&app, &first).await, (OFFERER, Value::Null), "the listing is removed");
    assert_money(&app, SELLER, "9.5", "30").await;
    assert_money(&app, OFFERER, "90", "0").await;
    assert_money(&app, STRANGER, "90", "10").await;
    assert_eq!(mine(&app, OFFERER, &oldest).await["status"], "filled");
    let singles = app.get(&format!("/api/offers?nft_id={first}"), As::User(OFFERER)).await;
    let status_of = |offer: &str| {
        singles.body["items"].as_array().unwrap().iter().find(|o| o["id"] == offer).unwrap()["status"].clone()
    };
    assert_eq!((status_of(&own), status_of(&newer)), (json!("cancelled"), json!("open")));
    assert_eq!(sales(&app).await, [(first.clone(), "10".to_string())], "sold into a collection offer: a sold event");

    // A higher single offer beats an older, lower collection offer.
    let second = gold(&app, SELLER, None).await;
    let twelve = single_offer(&app, OTHER, &second, "12").await;
    let r = sell(SELLER, &second, "1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((&r.body["price"], &r.body["fee"], &r.body["offer_id"]), (&json!("12"), &json!("0.6"), &json!(twelve)));
    assert_eq!(holder(&app, &second).await, (OTHER, Value::Null));
    assert_money(&app, OTHER, "88", "0").await;
    assert_money(&app, SELLER, "20.9", "30").await;
    assert_eq!(mine(&app, BUYER, &eight).await["status"], "open");

    // At equal price the older bid wins: the collection offer at 8 before a newer single at 8 …
    let third = gold(&app, SELLER, None).await;
    app.advance(1);
    let younger = single_offer(&app, OTHER, &third, "8").await;
    let r = sell(SELLER, &third, "8").await;
    assert_eq!((r.status, &r.body["offer_id"]), (StatusCode::OK, &json!(eight)), "{}", r.body);
    assert_eq!(holder(&app, &third).await.0, BUYER);
    assert_money(&app, BUYER, "92", "0").await;
    assert_money(&app, OTHER, "80", "8").await;
    // … and a single offer at 7 before a newer collection offer at 7.
    let fourth = gold(&app, SELLER, None).await;
    let older = single_offer(&app, STRANGER, &fourth, "7").await;
    app.advance(1);
    let later = id(&place(&app, BUYER, json!({"collection": PP, "price": "7", "quantity": 1})).await);
    let r = sell(SELLER, &fourth, "7").await;
    assert_eq!((r.status, &r.body["offer_id"]), (StatusCode::OK, &json!(older)), "{}", r.body);
    assert_eq!(holder(&app, &fourth).await.0, STRANGER);
    assert_eq!(mine(&app, BUYER, &later).await["status"], "open");
    assert_money(&app, STRANGER, "83", "10").await;
    assert_money(&app, BUYER, "85", "7").await;
    assert_money(&app, SELLER, "35.15", "30").await;
    let singles = app.get(&format!("/api/offers?nft_id={third}"), As::User(BUYER)).await;
    assert_eq!(singles.body["items"][0]["id"], json!(younger));
    assert_eq!(singles.body["items"][0]["status"], "open", "the losing single offer stays on the NFT");
    app.assert_audit_clean().await;
}

async fn sell_rules_have_their_codes(app: TestApp) {
    app.deposit(OFFERER, "200").await;
    let lonely = gold(&app, SELLER, Some("5")).await;
    let r = app.post("/api/nft/sell", As::User(SELLER), json!({"nft_id": lonely, "min_price": "0.1"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "no_offer");
    // Bids that expired (before the job runs) do not count.
    app.post("/api/offers/new", As::User(OFFERER), json!({"nft_id": lonely, "price": "20", "expires_in_seconds": 60}))
        .await;
    place(&app, OFFERER, json!({"collection": PP, "price": "20", "quantity": 1, "expires_in_seconds": 60})).await;
    // A collection offer the gift does not match does not count either.
    place(&app, OFFERER, json!({"collection": PP, "model": "Frog", "price": "30", "quantity": 1})).await;
    place(&app, OFFERER, json!({"collection": CAP, "price": "30", "quantity": 1})).await;
    assert_money(&app, OFFERER, "100", "100").await;
    app.advance(60);
    let r = app.post("/api/nft/sell", As::User(SELLER), json!({"nft_id": lonely, "min_price": "0.1"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "no_offer");

    let auctioned = gold(&app, SELLER, None).await;
    place(&app, OFFERER, json!({"collection": PP, "price": "2", "quantity": 1})).await;
    let r = app
        .post(
            "/api/auctions/new",
            As::User(SELLER),
            json!({"nft_id": auctioned, "start_price": "1", "duration_seconds": 3600}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.post("/api/nft/sell", As::User(SELLER), json!({"nft_id": auctioned, "min_price": "1"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "nft_unavailable");
    let r = app.post("/api/nft/sell", As::User(SELLER), json!({"nft_id": uuid::Uuid::nil(), "min_price": "1"})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    for body in [
        json!({"nft_id": lonely, "min_price": "0"}),
        json!({"nft_id": lonely, "min_price": "abc"}),
        json!({"nft_id": lonely}),
        json!({"nft_id": lonely, "min_price": "1", "price": "1"}),
    ] {
        let r = app.post("/api/nft/sell", As::User(SELLER), body.clone()).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    assert_eq!(holder(&app, &lonely).await, (SELLER, json!("5")));
    assert_money(&app, SELLER, "0", "0").await;
    // The live one at 2 still buys the listed gift.
    let r = app.post("/api/nft/sell", As::User(SELLER), json!({"nft_id": lonely, "min_price": "2"})).await;
    assert_eq!((r.status, &r.body["price"]), (StatusCode::OK, &json!("2")), "{}", r.body);
    assert_money(&app, SELLER, "1.9", "0").await;
    app.assert_audit_clean().await;
}

// ----- sweep -----

async fn sweep(app: &TestApp, who: i64, body: Value) -> Reply {
    app.post("/api/nft/sweep", As::User(who), body).await
}

fn purchased(r: &Reply) -> Vec<(String, String, String)> {
    r.body["purchased"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["nft_id"].as_str().unwrap().into(),
                p["price"].as_str().unwrap().into(),
                p["fee"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn failed(v: &Value) -> Vec<(String, String)> {
    v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["nft_id"].as_str().unwrap().into(), p["code"].as_str().unwrap().into()))
        .collect()
}

fn p(id: &str, price: &str, fee: &str) -> (String, String, String) {
    (id.into(), price.into(), fee.into())
}

fn f(id: &str, code: &str) -> (String, String) {
    (id.into(), code.into())
}

async fn sweeping_items_buys_each_in_order_while_the_balance_lasts(app: TestApp) {
    app.deposit(BUYER, "14").await;
    let a = gold(&app, SELLER, Some("5")).await;
    let b = gold(&app, OTHER, Some("6")).await;
    let c = gold(&app, SELLER, None).await;
    let d = gold(&app, BUYER, Some("1")).await;
    let e = gold(&app, OTHER, Some("20")).await;
    let f4 = gold(&app, OTHER, Some("4")).await;
    let g = gold(&app, SELLER, None).await;
    let r = app
        .post("/api/auctions/new", As::User(SELLER), json!({"nft_id": g, "start_price": "1", "duration_seconds": 3600}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let missing = uuid::Uuid::new_v4().to_string();
    // The buyer's own open offer on a: cancelled and refunded by the purchase.
    single_offer(&app, BUYER, &a, "2").await;
    assert_money(&app, BUYER, "12", "2").await;

    let r = sweep(
        &app,
        BUYER,
        json!({"items": [
            {"nft_id": a, "price": "5"},
            {"nft_id": b, "price": "7"},
            {"nft_id": c, "price": "1"},
            {"nft_id": d, "price": "1"},
            {"nft_id": e, "price": "20"},
            {"nft_id": f4, "price": "4"},
            {"nft_id": a, "price": "5"},
            {"nft_id": missing, "price": "1"},
            {"nft_id": g, "price": "1"},
        ]}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(purchased(&r), [p(&a, "5", "0.25"), p(&f4, "4", "0.2")]);
    assert_eq!(
        failed(&r.body),
        [
            f(&b, "price_changed"),
            f(&c, "not_for_sale"),
            f(&d, "own_item"),
            f(&e, "insufficient_funds"),
            f(&a, "duplicate"),
            f(&missing, "not_found"),
            f(&g, "nft_unavailable"),
        ]
    );
    assert_eq!(r.body["spent"], "9");
    assert_money(&app, BUYER, "5", "0").await;
    assert_money(&app, SELLER, "4.75", "0").await;
    assert_money(&app, OTHER, "3.8", "0").await;
    assert_eq!(holder(&app, &a).await, (BUYER, Value::Null));
    assert_eq!(holder(&app, &f4).await, (BUYER, Value::Null));
    assert_eq!(holder(&app, &b).await, (OTHER, json!("6")));
    assert_eq!(holder(&app, &e).await, (OTHER, json!("20")));
    assert_eq!(holder(&app, &d).await, (BUYER, json!("1")));
    let mut sold = sales(&app).await;
    sold.sort();
    let mut expected = vec![(a.clone(), "5".to_string()), (f4.clone(), "4".to_string())];
    expected.sort();
    assert_eq!(sold, expected);

    // Everything failing is still an answer, and moves nothing.
    let r = sweep(&app, BUYER, json!({"items": [{"nft_id": e, "price": "20"}, {"nft_id": c, "price": "1"}]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((purchased(&r), &r.body["spent"]), (vec![], &json!("0")));
    assert_eq!(failed(&r.body), [f(&e, "insufficient_funds"), f(&c, "not_for_sale")]);
    assert_money(&app, BUYER, "5", "0").await;

    // The buyer's own offer on an item counts toward paying for it: 3 available + 2 held buy 5.
    let h = gold(&app, OTHER, Some("5")).await;
    single_offer(&app, BUYER, &h, "2").await;
    assert_money(&app, BUYER, "3", "2").await;
    let r = sweep(&app, BUYER, json!({"items": [{"nft_id": h, "price": "5"}]})).await;
    assert_eq!((purchased(&r), failed(&r.body)), (vec![p(&h, "5", "0.25")], vec![]), "{}", r.body);
    assert_money(&app, BUYER, "0", "0").await;
    assert_money(&app, OTHER, "8.55", "0").await;
    app.assert_audit_clean().await;
}

async fn an_all_or_nothing_sweep_buys_nothing_when_one_item_fails(app: TestApp) {
    app.deposit(BUYER, "20").await;
    let a = gold(&app, SELLER, Some("5")).await;
    let b = gold(&app, SELLER, Some("6")).await;
    let c = gold(&app, SELLER, None).await;
    let body = json!({"items": [{"nft_id": a, "price": "5"}, {"nft_id": c, "price": "1"}, {"nft_id": b, "price": "7"}],
                      "all_or_nothing": true});
    let r = sweep(&app, BUYER, body).await;
    assert_problem(&r, StatusCode::CONFLICT, "sweep_failed");
    assert_eq!(failed(&r.body), [f(&c, "not_for_sale"), f(&b, "price_changed")]);
    assert_money(&app, BUYER, "20", "0").await;
    assert_money(&app, SELLER, "0", "0").await;
    assert_eq!(holder(&app, &a).await, (SELLER, json!("5")));
    assert!(sales(&app).await.is_empty());
    // Everything buyable: all of it bought.
    let r = sweep(
        &app,
        BUYER,
        json!({"items": [{"nft_id": a, "price": "5"}, {"nft_id": b, "price": "6"}], "all_or_nothing": true}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "20 covers both: {}", r.body);
    assert_eq!(purchased(&r), [p(&a, "5", "0.25"), p(&b, "6", "0.3")]);
    assert_eq!((failed(&r.body), &r.body["spent"]), (vec![], &json!("11")));
    let d = gold(&app, SELLER, Some("8")).await;
    let e = gold(&app, SELLER, Some("2")).await;
    let r = sweep(
        &app,
        BUYER,
        json!({"items": [{"nft_id": e, "price": "2"}, {"nft_id": d, "price": "8"}], "all_or_nothing": true}),
    )
    .await;
    // Short of funds for the second: nothing either.
    assert_problem(&r, StatusCode::CONFLICT, "sweep_failed");
    assert_eq!(failed(&r.body), [f(&d, "insufficient_funds")]);
    assert_money(&app, BUYER, "9", "0").await;
    assert_eq!(holder(&app, &e).await, (SELLER, json!("2")));
    // Without the flag the same request buys what it can.
    let r = sweep(
        &app,
        BUYER,
        json!({"items": [{"nft_id": e, "price": "2"}, {"nft_id": d, "price": "8"}], "all_or_nothing": false}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(purchased(&r), [p(&e, "2", "0.1")]);
    assert_eq!(failed(&r.body), [f(&d, "insufficient_funds")]);
    assert_money(&app, BUYER, "7", "0").await;
    assert_money(&app, SELLER, "12.35", "0").await;
    app.assert_audit_clean().await;
}

async fn sweeping_by_criteria_buys_the_cheapest_matching_under_the_ceiling(app: TestApp) {
    app.deposit(BUYER, "100").await;
    let g3 = gold(&app, SELLER, Some("3")).await;
    let g15 = gold(&app, OTHER, Some("1.5")).await;
    let own = gold(&app, BUYER, Some("2")).await;
    let frog = gift(&app, SELLER, PP, [Some("Frog"), Some("Blue"), Some("Star")], Some("1")).await;
    let g4 = gold(&app, SELLER, Some("4")).await;
    let unlisted = gold(&app, SELLER, None).await;
    let cap = gift(&app, OTHER, CAP, [Some("Gold"), Some("Blue"), Some("Star")], Some("1")).await;
    let g25 = gold(&app, OTHER, Some("2.5")).await;
    let bare = gift(&app, OTHER, PP, [None, None, None], Some("3.5")).await;

    let r =
        sweep(&app, BUYER, json!({"collection": PP, "model": "Gold", "max_items": 3, "max_price_per_item": "3"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(purchased(&r), [p(&g15, "1.5", "0.075"), p(&g25, "2.5", "0.125"), p(&g3, "3", "0.15")]);
    assert_eq!((failed(&r.body), &r.body["spent"]), (vec![], &json!("7")));
    assert_money(&app, BUYER, "93", "0").await;
    assert_eq!(holder(&app, &own).await, (BUYER, json!("2")), "the buyer's own listing is skipped");
    assert_eq!(holder(&app, &g4).await, (SELLER, json!("4")), "above the ceiling");
    assert_eq!(holder(&app, &frog).await, (SELLER, json!("1")), "another model");
    assert_eq!(holder(&app, &cap).await, (OTHER, json!("1")), "another collection");

    // Only the collection: any model, or none; cheapest first, at most max_items.
    let r = sweep(&app, BUYER, json!({"collection": PP, "max_items": 2, "max_price_per_item": "10"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(purchased(&r), [p(&frog, "1", "0.05"), p(&bare, "3.5", "0.175")]);
    assert_eq!(r.body["spent"], "4.5");
    // Backdrop and symbol criteria too; nothing left that matches: an empty answer.
    let r = sweep(
        &app,
        BUYER,
        json!({"collection": PP, "backdrop": "Blue", "symbol": "Star", "max_items": 50, "max_price_per_item": "100"}),
    )
    .await;
    assert_eq!((purchased(&r), &r.body["spent"]), (vec![p(&g4, "4", "0.2")], &json!("4")), "{}", r.body);
    let r = sweep(&app, BUYER, json!({"collection": PP, "max_items": 5, "max_price_per_item": "100"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, json!({"purchased": [], "failed": [], "spent": "0"}));
    assert_eq!(holder(&app, &unlisted).await, (SELLER, Value::Null));
    assert_eq!(holder(&app, &own).await, (BUYER, json!("2")));
    assert_money(&app, BUYER, "84.5", "0").await;
    // 1 + 3 + 4 to the seller, 1.5 + 2.5 + 3.5 to the other, 5% off each.
    assert_money(&app, SELLER, "7.6", "0").await;
    assert_money(&app, OTHER, "7.125", "0").await;

    // Cheapest first while the balance lasts; all or nothing: the second is too dear, nothing bought.
    let g50 = gold(&app, OTHER, Some("50")).await;
    let g60 = gold(&app, OTHER, Some("60")).await;
    let criteria = json!({"collection": PP, "model": "Gold", "max_items": 2, "max_price_per_item": "100",
                          "all_or_nothing": true});
    let r = sweep(&app, BUYER, criteria).await;
    assert_problem(&r, StatusCode::CONFLICT, "sweep_failed");
    assert_eq!(failed(&r.body), [f(&g60, "insufficient_funds")]);
    assert_money(&app, BUYER, "84.5", "0").await;
    let r = sweep(&app, BUYER, json!({"collection": PP, "model": "Gold", "max_items": 2, "max_price_per_item": "100"}))
        .await;
    assert_eq!(purchased(&r), [p(&g50, "50", "2.5")], "{}", r.body);
    assert_eq!(failed(&r.body), [f(&g60, "insufficient_funds")]);
    assert_money(&app, BUYER, "34.5", "0").await;
    assert_money(&app, OTHER, "54.625", "0").await;
    app.assert_audit_clean().await;
}

async fn a_sweep_must_be_one_of_its_two_forms(app: TestApp) {
    app.deposit(BUYER, "10").await;
    let a = gold(&app, SELLER, Some("1")).await;
    let item = json!({"nft_id": a, "price": "1"});
    let fifty_one: Vec<Value> = (0..51).map(|_| json!({"nft_id": uuid::Uuid::new_v4(), "price": "1"})).collect();
    for body in [
        json!({"items": [item], "collection": PP, "max_items": 1, "max_price_per_item": "1"}),
        json!({"items": [item], "max_items": 1}),
        json!({}),
        json!({"all_or_nothing": true}),
        json!({"items": []}),
        json!({"items": fifty_one}),
        json!({"collection": PP, "max_items": 0, "max_price_per_item": "1"}),
        json!({"collection": PP, "max_items": 51, "max_price_per_item": "1"}),
        json!({"collection": PP, "max_price_per_item": "1"}),
        json!({"collection": PP, "max_items": 1}),
        json!({"collection": PP, "max_items": 1, "max_price_per_item": "0"}),
        json!({"model": "Gold", "max_items": 1, "max_price_per_item": "1"}),
        json!({"items": [{"nft_id": a, "price": "0"}]}),
        json!({"items": [{"nft_id": a}]}),
        json!({"items": [item], "colour": "red"}),
    ] {
        let r = sweep(&app, BUYER, body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), "{body}: {}", r.body);
    }
    let r = app.call(axum::http::Method::POST, "/api/nft/sweep", As::Nobody, Some(json!({"items": [item]}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_money(&app, BUYER, "10", "0").await;
    assert_eq!(holder(&app, &a).await, (SELLER, json!("1")));
    // Fifty is allowed.
    let fifty: Vec<Value> = (0..50).map(|_| json!({"nft_id": uuid::Uuid::new_v4(), "price": "1"})).collect();
    let r = sweep(&app, BUYER, json!({"items": fifty})).await;
    assert_eq!((r.status, r.body["failed"].as_array().map(Vec::len)), (StatusCode::OK, Some(50)), "{}", r.body);
    let r = sweep(&app, BUYER, json!({"collection": PP, "max_items": 50, "max_price_per_item": "1"})).await;
    assert_eq!(purchased(&r), [p(&a, "1", "0.05")], "{}", r.body);
    app.assert_audit_clean().await;
}

async fn a_sweep_replays_under_its_idempotency_key(app: TestApp) {
    app.deposit(BUYER, "20").await;
    let a = gold(&app, SELLER, Some("5")).await;
    let b = gold(&app, SELLER, Some("6")).await;
    let body = json!({"items": [{"nft_id": a, "price": "5"}, {"nft_id": b, "price": "6"}]});
    let first = app.post_with_key("/api/nft/sweep", As::User(BUYER), body.clone(), "sweep-1").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(purchased(&first), [p(&a, "5", "0.25"), p(&b, "6", "0.3")]);
    assert_money(&app, BUYER, "9", "0").await;

    // The owner lists them again; a replay buys nothing more and answers the same.
    for nft in [&a, &b] {
        let r = app.post("/api/nft/set-price", As::User(BUYER), json!({"nft_id": nft, "price": "1"})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let again = app.post_with_key("/api/nft/sweep", As::User(BUYER), body.clone(), "sweep-1").await;
    assert_eq!((again.status, &again.body), (first.status, &first.body), "the same answer again");
    assert_eq!(again.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_money(&app, BUYER, "9", "0").await;
    assert_money(&app, SELLER, "10.45", "0").await;
    assert_eq!(sales(&app).await.len(), 2, "nothing bought twice");

    let other = app
        .post_with_key("/api/nft/sweep", As::User(BUYER), json!({"items": [{"nft_id": a, "price": "5"}]}), "sweep-1")
        .await;
    assert_problem(&other, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    // The key is the buyer's: someone else's sweep with it runs, and buys the relisted ones.
    app.deposit(OTHER, "2").await;
    let body = json!({"items": [{"nft_id": a, "price": "1"}, {"nft_id": b, "price": "1"}]});
    let theirs = app.post_with_key("/api/nft/sweep", As::User(OTHER), body, "sweep-1").await;
    assert_eq!(purchased(&theirs), [p(&a, "1", "0.05"), p(&b, "1", "0.05")], "{}", theirs.body);
    assert_money(&app, BUYER, "10.9", "0").await;
    assert_money(&app, OTHER, "0", "0").await;
    app.assert_audit_clean().await;
}

/// An offer past its expiry no longer counts toward the 20, even before the job has marked it.
async fn an_offer_past_expiry_frees_its_place_before_the_job_runs(app: TestApp) {
    app.deposit(OFFERER, "100").await;
    place(&app, OFFERER, json!({"collection": PP, "price": "1", "quantity": 1, "expires_in_seconds": 60})).await;
    for _ in 0..19 {
        place(&app, OFFERER, json!({"collection": PP, "price": "1", "quantity": 1})).await;
    }
    let one = json!({"collection": PP, "price": "1", "quantity": 1});
    let r = app.post("/api/collection-offers/new", As::User(OFFERER), one.clone()).await;
    assert_problem(&r, StatusCode::CONFLICT, "too_many_open_offers");
    app.advance(61);
    let r = app.post("/api/collection-offers/new", As::User(OFFERER), one.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.post("/api/collection-offers/new", As::User(OFFERER), one).await;
    assert_problem(&r, StatusCode::CONFLICT, "too_many_open_offers");
    app.run_jobs().await;
    assert_money(&app, OFFERER, "80", "20").await;
    app.assert_audit_clean().await;
}

macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::TestApp::memory().await).await;
                }
            )*
        }

        mod on_postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::TestApp::postgres().await).await;
                }
            )*
        }
    };
}

on_both_stores!(
    placing_holds_price_times_quantity_and_answers_the_offer,
    the_twenty_first_open_offer_is_refused,
    an_offer_past_expiry_frees_its_place_before_the_job_runs,
    filling_sells_each_gift_at_the_offer_price,
    fill_rules_have_their_codes_and_move_nothing,
    criteria_name_every_attribute_and_a_bare_collection_takes_any_gift,
    repricing_and_cancelling_move_the_hold_for_what_is_left,
    expiry_releases_what_is_left_and_an_expired_offer_is_never_filled,
    the_order_book_is_best_price_first_then_oldest_and_filtered,
    equal_bids_page_in_the_order_they_were_placed,
    ones_own_offers_are_listed_newest_first_in_every_status,
    selling_takes_the_best_bid_highest_price_then_oldest,
    sell_rules_have_their_codes,
    sweeping_items_buys_each_in_order_while_the_balance_lasts,
    an_all_or_nothing_sweep_buys_nothing_when_one_item_fails,
    sweeping_by_criteria_buys_the_cheapest_matching_under_the_ceiling,
    a_sweep_must_be_one_of_its_two_forms,
    a_sweep_replays_under_its_idempotency_key,
);
