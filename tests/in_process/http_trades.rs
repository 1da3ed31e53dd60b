//! Trades through the router on the in-memory store: every route's success, each rule with its
//! code, privacy (anyone but the two parties gets 404), the wrong party (403), expiry before and
//! after the job, and the audit after each.

use crate::common;

use axum::http::StatusCode;
use common::{As, TestApp};
use serde_json::{json, Value};

const MAKER: i64 = 5001;
const TAKER: i64 = 5002;
const OTHER: i64 = 5003;

fn assert_problem(r: &common::Reply, status: StatusCode, code: &str) {
    assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    assert!(r.is_problem());
}

/// Maker gives `give` + 3 TON for the taker's `want` + 1 TON.
async fn propose(app: &TestApp, give: &str, want: &str) -> common::Reply {
    app.post(
        "/api/trades/new",
        As::User(MAKER),
        json!({"taker_id": TAKER, "give": {"nft_ids": [give], "amount": "3"}, "want": {"nft_ids": [want], "amount": "1"}}),
    )
    .await
}

/// Both parties funded, one NFT each (the maker's listed), and an open trade between them.
async fn world(app: &TestApp) -> (String, String, Value) {
    app.deposit(MAKER, "10").await;
    app.deposit(TAKER, "10").await;
    let give = app.nft(MAKER, Some("50")).await;
    let want = app.nft(TAKER, None).await;
    let r = propose(app, &give, &want).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (give, want, r.body)
}

async fn nft(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/nfts/{id}"), As::User(OTHER)).await.body
}

#[tokio::test]
async fn a_proposal_puts_the_maker_nfts_in_trade_and_holds_the_amount() {
    let app = TestApp::memory().await;
    let (give, want, trade) = world(&app).await;
    assert_eq!(trade["status"], "open");
    assert_eq!(trade["give"], json!({"nft_ids": [give], "amount": "3"}));
    assert_eq!(trade["want"], json!({"nft_ids": [want], "amount": "1"}));
    let g = nft(&app, &give).await;
    assert_eq!((g["status"].as_str(), g["price"].as_str()), (Some("in_trade"), None), "unlisted and in trade");
    assert_eq!(nft(&app, &want).await["status"], "available", "the want side is untouched until accepted");
    assert_eq!(app.balances(MAKER).await, ("7".into(), "3".into()));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn proposal_rules_have_their_codes() {
    let mut s = common::settings(None, None);
    s.max_open_trades = 1;
    let app = TestApp::with(s).await;
    app.deposit(MAKER, "2").await;
    app.deposit(TAKER, "1").await;
    let mine = app.nft(MAKER, None).await;
    let theirs = app.nft(TAKER, None).await;
    let others = app.nft(OTHER, None).await;
    let eleven: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..11 {
            v.push(app.nft(MAKER, None).await);
        }
        v
    };
    let t = |give: Value, want: Value| json!({"taker_id": TAKER, "give": give, "want": want});
    let cases = [
        (
            json!({"taker_id": 999_999, "give": {"nft_ids": [mine]}, "want": {"nft_ids": []}}),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            json!({"taker_id": MAKER, "give": {"nft_ids": [mine]}, "want": {"nft_ids": []}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            t(json!({"nft_ids": []}), json!({"nft_ids": [], "amount": "1"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (t(json!({"nft_ids": eleven}), json!({"nft_ids": []})), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            t(json!({"nft_ids": [mine, mine]}), json!({"nft_ids": []})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            t(json!({"nft_ids": [mine], "amount": "0"}), json!({"nft_ids": []})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            t(json!({"nft_ids": [mine], "amount": "1e1"}), json!({"nft_ids": []})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"taker_id": TAKER, "give": {"nft_ids": [mine]}, "want": {"nft_ids": []}, "expires_in_seconds": 59}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"taker_id": TAKER, "give": {"nft_ids": [mine]}, "want": {"nft_ids": []}, "expires_in_seconds": 7 * 86_400 + 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            t(json!({"nft_ids": [mine], "colour": "red"}), json!({"nft_ids": []})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (t(json!({"nft_ids": [others]}), json!({"nft_ids": []})), StatusCode::FORBIDDEN, "forbidden"),
        (t(json!({"nft_ids": [mine]}), json!({"nft_ids": [others]})), StatusCode::CONFLICT, "nft_unavailable"),
        (t(json!({"nft_ids": [mine]}), json!({"nft_ids": [uuid::Uuid::now_v7()]})), StatusCode::NOT_FOUND, "not_found"),
        (
            t(json!({"nft_ids": [mine], "amount": "3"}), json!({"nft_ids": [theirs]})),
            StatusCode::CONFLICT,
            "insufficient_funds",
        ),
    ];
    for (body, status, code) in cases {
        let r = app.post("/api/trades/new", As::User(MAKER), body.clone()).await;
        assert_problem(&r, status, code);
    }
    let r =
        app.post("/api/trades/new", As::User(MAKER), t(json!({"nft_ids": [mine]}), json!({"nft_ids": [theirs]}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app
        .post(
            "/api/trades/new",
            As::User(MAKER),
            t(json!({"nft_ids": []}), json!({"nft_ids": [theirs], "amount": "1"})),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "too_many_open_trades");
    let r = app
        .post(
            "/api/trades/new",
            As::User(OTHER),
            json!({"taker_id": MAKER, "give": {"nft_ids": [mine]}, "want": {"nft_ids": []}}),
        )
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.balances(MAKER).await, ("2".into(), "0".into()), "nothing held by refused proposals");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn an_nft_in_trade_cannot_be_bought_listed_auctioned_returned_or_taken_by_an_offer() {
    let app = TestApp::memory().await;
    let (give, _, _) = world(&app).await;
    app.deposit(OTHER, "100").await;
    let offer = app.post("/api/offers/new", As::User(OTHER), json!({"nft_id": give, "price": "5"})).await;
    assert_eq!(offer.status, StatusCode::CONFLICT, "no new offers on an NFT in trade: {}", offer.body);
    let cases = [
        (As::User(OTHER), "/api/nft/buy", json!({"nft_id": give})),
        (As::User(MAKER), "/api/nft/set-price", json!({"nft_id": give, "price": "5"})),
        (As::User(MAKER), "/api/auctions/new", json!({"nft_id": give, "start_price": "1", "duration_seconds": 3600})),
        (As::User(MAKER), "/api/nft/back", json!({"nft_id": give})),
    ];
    for (who, path, body) in cases {
        let r = app.post(path, who, body).await;
        assert_problem(&r, StatusCode::CONFLICT, "nft_unavailable");
    }
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn an_open_offer_on_a_give_nft_stays_open_but_cannot_be_accepted_while_in_trade() {
    let app = TestApp::memory().await;
    app.deposit(MAKER, "10").await;
    app.deposit(TAKER, "1").await;
    app.deposit(OTHER, "10").await;
    let give = app.nft(MAKER, None).await;
    let offer =
        app.post("/api/offers/new", As::User(OTHER), json!({"nft_id": give, "price": "5"})).await.body["id"].clone();
    let r = app
        .post(
            "/api/trades/new",
            As::User(MAKER),
            json!({"taker_id": TAKER, "give": {"nft_ids": [give]}, "want": {"nft_ids": []}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = app.post("/api/offers/accept", As::User(MAKER), json!({"offer_id": offer})).await;
    assert_problem(&r, StatusCode::CONFLICT, "nft_unavailable");
    assert_eq!(app.balances(OTHER).await, ("5".into(), "5".into()), "the offer is still open");
}

#[tokio::test]
async fn accepting_swaps_everything_charges_the_fee_on_each_leg_and_refunds_own_offers() {
    let app = TestApp::memory().await;
    let (give, want, trade) = world(&app).await;
    // The taker's own offer on what it receives is refunded; someone else's stays open.
    app.deposit(OTHER, "10").await;
    let r = app.post("/api/offers/new", As::User(MAKER), json!({"nft_id": want, "price": "2"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let others = app.post("/api/offers/new", As::User(OTHER), json!({"nft_id": want, "price": "4"})).await;
    assert_eq!(others.status, StatusCode::CREATED);

    let r = app.post("/api/trades/accept", As::User(TAKER), json!({"trade_id": trade["id"]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "accepted");
    let (g, w) = (nft(&app, &give).await, nft(&app, &want).await);
    assert_eq!((g["owner_id"].as_i64(), g["status"].as_str()), (Some(TAKER), Some("available")));
    assert_eq!(
        (w["owner_id"].as_i64(), w["status"].as_str(), w["price"].as_str()),
        (Some(MAKER), Some("available"), None)
    );
    // Maker: 10 − 3 given + 1 × 0.95 received; its own 2 TON offer on `want` refunded.
    assert_eq!(app.balances(MAKER).await, ("7.95".into(), "0".into()));
    // Taker: 10 − 1 given + 3 × 0.95 received.
    assert_eq!(app.balances(TAKER).await, ("11.85".into(), "0".into()));
    assert_eq!(app.balances(OTHER).await, ("6".into(), "4".into()), "an offer is bound to the NFT: it stays");
    let again = app.post("/api/trades/accept", As::User(TAKER), json!({"trade_id": trade["id"]})).await;
    assert_problem(&again, StatusCode::CONFLICT, "trade_not_open");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_want_nft_that_moved_makes_the_trade_stale_until_it_is_back() {
    let app = TestApp::memory().await;
    let (_, want, trade) = world(&app).await;
    let auction = app
        .post(
            "/api/auctions/new",
            As::User(TAKER),
            json!({"nft_id": want, "start_price": "1", "duration_seconds": 3600}),
        )
        .await;
    assert_eq!(auction.status, StatusCode::CREATED);
    let r = app.post("/api/trades/accept", As::User(TAKER), json!({"trade_id": trade["id"]})).await;
    assert_problem(&r, StatusCode::CONFLICT, "trade_stale");
    let t = app.get(&format!("/api/trades/{}", trade["id"].as_str().unwrap()), As::User(MAKER)).await;
    assert_eq!(t.body["status"], "open", "a stale trade stays open");
    app.post("/api/auctions/del", As::User(TAKER), json!({"auction_id": auction.body["id"]})).await;
    let r = app.post("/api/trades/accept", As::User(TAKER), json!({"trade_id": trade["id"]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn the_taker_needs_the_want_amount_before_anything_moves() {
    let app = TestApp::memory().await;
    let (_, _, trade) = world(&app).await;
    // Spend the taker's money on an offer elsewhere so 1 TON is no longer available.
    let elsewhere = app.nft(OTHER, None).await;
    let r = app.post("/api/offers/new", As::User(TAKER), json!({"nft_id": elsewhere, "price": "9.5"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = app.post("/api/trades/accept", As::User(TAKER), json!({"trade_id": trade["id"]})).await;
    assert_problem(&r, StatusCode::CONFLICT, "insufficient_funds");
    assert_eq!(app.balances(MAKER).await, ("7".into(), "3".into()), "nothing moved");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn decline_and_cancel_release_everything_and_only_the_right_party_may() {
    let app = TestApp::memory().await;
    let (give, _, trade) = world(&app).await;
    let id = trade["id"].clone();
    let r = app.post("/api/trades/decline", As::User(MAKER), json!({"trade_id": id})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/trades/cancel", As::User(TAKER), json!({"trade_id": id})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/trades/accept", As::User(MAKER), json!({"trade_id": id})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/trades/decline", As::User(TAKER), json!({"trade_id": id})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("declined")));
    assert_eq!(app.balances(MAKER).await, ("10".into(), "0".into()));
    assert_eq!(nft(&app, &give).await["status"], "available");
    let r = app.post("/api/trades/cancel", As::User(MAKER), json!({"trade_id": id})).await;
    assert_problem(&r, StatusCode::CONFLICT, "trade_not_open");

    let want = app.nft(TAKER, None).await;
    let second = propose(&app, &give, &want).await.body;
    let r = app.post("/api/trades/cancel", As::User(MAKER), json!({"trade_id": second["id"]})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    assert_eq!(app.balances(MAKER).await, ("10".into(), "0".into()));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_trade_is_private_to_its_two_parties() {
    let app = TestApp::memory().await;
    let (_, _, trade) = world(&app).await;
    let id = trade["id"].as_str().unwrap();
    for path in ["/api/trades/accept", "/api/trades/decline", "/api/trades/cancel"] {
        let r = app.post(path, As::User(OTHER), json!({"trade_id": id})).await;
        assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    }
    assert_problem(&app.get(&format!("/api/trades/{id}"), As::User(OTHER)).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get("/api/trades", As::User(OTHER)).await.body["items"], json!([]));
    for who in [MAKER, TAKER] {
        assert_eq!(app.get(&format!("/api/trades/{id}"), As::User(who)).await.body["id"], json!(id));
    }
    let r = app.get(&format!("/api/trades/{id}"), As::Staff).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.get(&format!("/api/trades/{id}"), As::Nobody).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn trade_lists_filter_by_role_and_status_and_page() {
    let app = TestApp::memory().await;
    app.deposit(MAKER, "10").await;
    app.deposit(TAKER, "1").await;
    for _ in 0..3 {
        let give = app.nft(MAKER, None).await;
        let r = app
            .post(
                "/api/trades/new",
                As::User(MAKER),
                json!({"taker_id": TAKER, "give": {"nft_ids": [give]}, "want": {"nft_ids": []}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let mine = app.get("/api/trades?role=maker&limit=2", As::User(MAKER)).await.body;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    let cursor = mine["next_cursor"].as_str().unwrap();
    let rest = app.get(&format!("/api/trades?role=maker&limit=2&cursor={cursor}"), As::User(MAKER)).await.body;
    assert_eq!((rest["items"].as_array().unwrap().len(), &rest["next_cursor"]), (1, &Value::Null));
    assert_eq!(app.get("/api/trades?role=taker", As::User(MAKER)).await.body["items"], json!([]));
    assert_eq!(
        app.get("/api/trades?role=taker&status=open", As::User(TAKER)).await.body["items"].as_array().unwrap().len(),
        3
    );
    assert_eq!(app.get("/api/trades?status=accepted", As::User(TAKER)).await.body["items"], json!([]));
    assert_problem(
        &app.get("/api/trades?role=boss", As::User(TAKER)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_problem(
        &app.get("/api/trades?status=won", As::User(TAKER)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
}

#[tokio::test]
async fn an_expired_trade_cannot_be_accepted_and_the_job_releases_it_once() {
    let app = TestApp::memory().await;
    let (give, _, trade) = world(&app).await;
    app.advance(86_400);
    let r = app.post("/api/trades/accept", As::User(TAKER), json!({"trade_id": trade["id"]})).await;
    assert_problem(&r, StatusCode::CONFLICT, "trade_not_open");
    let shown = app.get(&format!("/api/trades/{}", trade["id"].as_str().unwrap()), As::User(TAKER)).await.body;
    assert_eq!(shown["status"], "expired", "shown expired before the job runs");
    assert_eq!(app.run_jobs().await.trades_expired, 1);
    assert_eq!(app.run_jobs().await.trades_expired, 0, "exactly once");
    assert_eq!(app.balances(MAKER).await, ("10".into(), "0".into()));
    assert_eq!(nft(&app, &give).await["status"], "available");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn every_trade_and_channel_route_is_in_the_openapi_document() {
    let app = TestApp::memory().await;
    let doc = app.get("/openapi.json", As::Nobody).await;
    let paths = doc.body["paths"].as_object().unwrap();
    for p in [
        "/api/trades",
        "/api/trades/{id}",
        "/api/trades/new",
        "/api/trades/accept",
        "/api/trades/decline",
        "/api/trades/cancel",
        "/api/channels",
        "/api/channels/{id}",
        "/api/channels/new",
        "/api/channels/set-price",
        "/api/channels/delete",
        "/api/channels/buy",
        "/api/channels/confirm",
        "/api/admin/channels/{id}/resolve",
        "/api/admin/withdrawals/{id}/resolve",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
}
