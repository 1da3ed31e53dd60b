//! Channel sales through the router on the in-memory store, with Telegram not configured (the
//! SIMULATED directory trusts the seller and keeps reporting them as owner): every route, each
//! rule with its code, who may see and change what, the deadline job and staff resolution.

use crate::common;

use axum::http::StatusCode;
use common::{As, TestApp};
use serde_json::{json, Value};

const SELLER: i64 = 6101;
const BUYER: i64 = 6102;
const OTHER: i64 = 6103;

fn assert_problem(r: &common::Reply, status: StatusCode, code: &str) {
    assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    assert!(r.is_problem());
}

async fn listed(app: &TestApp, channel: &str, price: &str) -> Value {
    app.deposit(SELLER, "1").await;
    let r = app
        .post(
            "/api/channels/new",
            As::User(SELLER),
            json!({"channel": channel, "price": price, "description": "Gifts daily"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn sold(app: &TestApp) -> Value {
    let sale = listed(app, "@gift_hub", "100").await;
    app.deposit(BUYER, "150").await;
    let r = app
        .post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": sale["id"], "expected_price": "100"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

#[tokio::test]
async fn a_listing_is_public_unique_per_channel_and_holds_nothing() {
    let app = TestApp::memory().await;
    let sale = listed(&app, "@gift_hub", "100").await;
    assert_eq!(
        (sale["status"].as_str(), sale["username"].as_str(), sale["price"].as_str()),
        (Some("listed"), Some("gift_hub"), Some("100"))
    );
    assert_eq!(app.balances(SELLER).await, ("1".into(), "0".into()), "nothing held from the seller");
    let again = app.post("/api/channels/new", As::User(SELLER), json!({"channel": "@gift_hub", "price": "5"})).await;
    assert_problem(&again, StatusCode::CONFLICT, "channel_listed");
    let others = app.get("/api/channels", As::User(OTHER)).await.body;
    assert_eq!(others["items"][0]["id"], sale["id"]);
    let one = app.get(&format!("/api/channels/{}", sale["id"].as_str().unwrap()), As::User(OTHER)).await;
    assert_eq!(one.status, StatusCode::OK);
}

#[tokio::test]
async fn listing_input_is_checked() {
    let app = TestApp::memory().await;
    app.deposit(SELLER, "1").await;
    let cases = [
        json!({"channel": "gift hub", "price": "1"}),
        json!({"channel": "@ab", "price": "1"}),
        json!({"channel": "@gift_hub", "price": "0"}),
        json!({"channel": "@gift_hub", "price": "1", "description": "x".repeat(2001)}),
        json!({"channel": "@gift_hub", "price": "1", "owner": 1}),
        json!({"price": "1"}),
    ];
    for body in cases {
        let r = app.post("/api/channels/new", As::User(SELLER), body.clone()).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
}

#[tokio::test]
async fn only_the_seller_changes_a_listing_and_only_while_listed() {
    let app = TestApp::memory().await;
    let sale = listed(&app, "@gift_hub", "100").await;
    let id = sale["id"].clone();
    let r = app.post("/api/channels/set-price", As::User(OTHER), json!({"channel_sale_id": id, "price": "1"})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/channels/delete", As::User(OTHER), json!({"channel_sale_id": id})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/channels/set-price", As::User(SELLER), json!({"channel_sale_id": id})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app.post("/api/channels/set-price", As::User(SELLER), json!({"channel_sale_id": id, "price": "80"})).await;
    assert_eq!((r.status, r.body["price"].as_str()), (StatusCode::OK, Some("80")));
    let r = app.post("/api/channels/delete", As::User(SELLER), json!({"channel_sale_id": id})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("deleted")));
    let r = app.post("/api/channels/set-price", As::User(SELLER), json!({"channel_sale_id": id, "price": "70"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "not_for_sale");
    let r = app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": id})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    let relisted =
        app.post("/api/channels/new", As::User(SELLER), json!({"channel": "@gift_hub", "price": "90"})).await;
    assert_eq!(relisted.status, StatusCode::CREATED, "a deleted listing frees the channel");
}

#[tokio::test]
async fn buying_escrows_the_price_and_the_sale_becomes_private() {
    let app = TestApp::memory().await;
    let sale = sold(&app).await;
    assert_eq!(sale["status"], "awaiting_transfer");
    assert!(sale["transfer_by"].is_string());
    assert_eq!(app.balances(BUYER).await, ("50".into(), "100".into()));
    let id = sale["id"].as_str().unwrap();
    assert_problem(&app.get(&format!("/api/channels/{id}"), As::User(OTHER)).await, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get("/api/channels", As::User(OTHER)).await.body["items"], json!([]));
    assert_eq!(
        app.get("/api/channels?status=awaiting_transfer", As::User(BUYER)).await.body["items"][0]["id"],
        json!(id)
    );
    for (path, body) in [
        ("/api/channels/buy", json!({"channel_sale_id": id})),
        ("/api/channels/set-price", json!({"channel_sale_id": id, "price": "1"})),
        ("/api/channels/delete", json!({"channel_sale_id": id})),
        ("/api/channels/confirm", json!({"channel_sale_id": id})),
    ] {
        assert_problem(&app.post(path, As::User(OTHER), body).await, StatusCode::NOT_FOUND, "not_found");
    }
    let r = app.post("/api/channels/set-price", As::User(SELLER), json!({"channel_sale_id": id, "price": "1"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "not_for_sale");
    let r = app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": id})).await;
    assert_problem(&r, StatusCode::CONFLICT, "not_for_sale");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn buy_rules_have_their_codes() {
    let app = TestApp::memory().await;
    let sale = listed(&app, "@gift_hub", "100").await;
    app.deposit(BUYER, "99").await;
    let id = sale["id"].clone();
    let r = app.post("/api/channels/buy", As::User(SELLER), json!({"channel_sale_id": id})).await;
    assert_problem(&r, StatusCode::CONFLICT, "own_item");
    let r =
        app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": id, "expected_price": "90"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "price_changed");
    let r = app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": id})).await;
    assert_problem(&r, StatusCode::CONFLICT, "insufficient_funds");
    let r = app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": uuid::Uuid::now_v7()})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn the_sellers_word_is_not_enough_the_buyers_confirmation_releases_once() {
    let app = TestApp::memory().await;
    let sale = sold(&app).await;
    let id = sale["id"].clone();
    let r = app.post("/api/channels/confirm", As::User(SELLER), json!({"channel_sale_id": id})).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("awaiting_transfer")),
        "the directory still shows the seller"
    );
    assert_eq!(app.balances(SELLER).await, ("1".into(), "0".into()));
    let r = app.post("/api/channels/confirm", As::User(BUYER), json!({"channel_sale_id": id})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("completed")));
    assert_eq!(app.balances(SELLER).await, ("96".into(), "0".into()), "100 less the 5 % fee");
    assert_eq!(app.balances(BUYER).await, ("50".into(), "0".into()));
    let again = app.post("/api/channels/confirm", As::User(BUYER), json!({"channel_sale_id": id})).await;
    assert_problem(&again, StatusCode::CONFLICT, "channel_sale_closed");
    let r = app
        .post(&format!("/api/admin/channels/{}/resolve", id.as_str().unwrap()), As::Staff, json!({"outcome": "refund"}))
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "channel_sale_closed");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn past_the_deadline_the_job_refunds_the_buyer_exactly_once() {
    let app = TestApp::memory().await;
    let sale = sold(&app).await;
    assert_eq!(app.run_jobs().await.channel_sales_settled, 0, "not due, and the seller still owns it");
    app.advance(86_400);
    assert_eq!(app.run_jobs().await.channel_sales_settled, 1);
    assert_eq!(app.run_jobs().await.channel_sales_settled, 0);
    let r = app.get(&format!("/api/channels/{}", sale["id"].as_str().unwrap()), As::User(BUYER)).await;
    assert_eq!(r.body["status"], "refunded");
    assert_eq!(app.balances(BUYER).await, ("150".into(), "0".into()));
    let relisted =
        app.post("/api/channels/new", As::User(SELLER), json!({"channel": "@gift_hub", "price": "90"})).await;
    assert_eq!(relisted.status, StatusCode::CREATED, "a refunded sale frees the channel");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn staff_settle_a_dispute_either_way() {
    let app = TestApp::memory().await;
    let sale = sold(&app).await;
    let path = format!("/api/admin/channels/{}/resolve", sale["id"].as_str().unwrap());
    assert_problem(
        &app.post(&path, As::User(BUYER), json!({"outcome": "refund"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &app.post(&path, As::Nobody, json!({"outcome": "refund"})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    assert_problem(
        &app.post(&path, As::Staff, json!({"outcome": "halve"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let missing = format!("/api/admin/channels/{}/resolve", uuid::Uuid::now_v7());
    assert_problem(
        &app.post(&missing, As::Staff, json!({"outcome": "refund"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let r = app.post(&path, As::Staff, json!({"outcome": "complete"})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("completed")));
    assert_eq!(app.balances(SELLER).await, ("96".into(), "0".into()));

    let second = listed(&app, "@other_hub", "10").await;
    app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": second["id"]})).await;
    let path = format!("/api/admin/channels/{}/resolve", second["id"].as_str().unwrap());
    let r = app.post(&path, As::Staff, json!({"outcome": "refund"})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("refunded")));
    assert_eq!(app.balances(BUYER).await, ("50".into(), "0".into()));
    app.assert_audit_clean().await;
}
