//! The marketplace through the router on the in-memory store: every operation's happy path,
//! each rule violation with its code, and calls by someone who is not the owner / offerer /
//! seller. Business time is moved with a manual clock to exercise expiry and deadlines.

use crate::common;

use axum::http::{Method, StatusCode};
use common::{As, TestApp};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const OWNER: i64 = 2001;
const BUYER: i64 = 2002;
const OTHER: i64 = 2003;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn offer(app: &TestApp, who: i64, nft: &str, price: &str) -> String {
    let r = app.post("/api/offers/new", As::User(who), json!({"nft_id": nft, "price": price})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn assert_problem(r: &common::Reply, status: StatusCode, code: &str) {
    assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    assert!(r.is_problem());
}

// ----- offers -----

#[tokio::test]
async fn an_offer_holds_the_price_and_one_open_offer_per_user_and_nft() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "10").await;
    let r = app
        .post("/api/offers/new", As::User(BUYER), json!({"nft_id": nft, "price": "4", "expires_in_seconds": 3600}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!((r.body["status"].as_str(), r.body["price"].as_str()), (Some("open"), Some("4")));
    assert_eq!(app.balances(BUYER).await, ("6".into(), "4".into()));
    let again = app.post("/api/offers/new", As::User(BUYER), json!({"nft_id": nft, "price": "1"})).await;
    assert_problem(&again, StatusCode::CONFLICT, "offer_exists");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn offer_rules_have_their_codes() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "1").await;
    let cases = [
        (As::User(OWNER), json!({"nft_id": nft, "price": "1"}), StatusCode::CONFLICT, "own_item"),
        (As::User(BUYER), json!({"nft_id": nft, "price": "2"}), StatusCode::CONFLICT, "insufficient_funds"),
        (As::User(BUYER), json!({"nft_id": uuid::Uuid::nil(), "price": "1"}), StatusCode::NOT_FOUND, "not_found"),
        (
            As::User(BUYER),
            json!({"nft_id": nft, "price": "1", "expires_in_seconds": 59}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            As::User(BUYER),
            json!({"nft_id": nft, "price": "1", "expires_in_seconds": 30 * 86_400 + 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (As::User(BUYER), json!({"nft_id": nft, "price": "0"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
    ];
    for (who, body, status, code) in cases {
        let r = app.post("/api/offers/new", who, body.clone()).await;
        assert_problem(&r, status, code);
    }
    let r = app.post("/api/nft/back", As::User(OWNER), json!({"nft_id": nft})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = app.post("/api/offers/new", As::User(BUYER), json!({"nft_id": nft, "price": "1"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "nft_unavailable");
    assert_eq!(app.balances(BUYER).await, ("1".into(), "0".into()));
}

#[tokio::test]
async fn accepting_pays_the_owner_gives_the_nft_and_leaves_other_offers_bound_to_the_nft() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, Some("50")).await;
    app.deposit(BUYER, "20").await;
    app.deposit(OTHER, "20").await;
    let mine = offer(&app, BUYER, &nft, "10").await;
    let theirs = offer(&app, OTHER, &nft, "8").await;

    let r = app.post("/api/offers/accept", As::User(BUYER), json!({"offer_id": mine})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/offers/accept", As::User(OWNER), json!({"offer_id": mine})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("accepted")), "{}", r.body);

    assert_eq!(app.balances(OWNER).await, ("9.5".into(), "0".into()));
    assert_eq!(app.balances(BUYER).await, ("10".into(), "0".into()));
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(BUYER)).await;
    assert_eq!((n.body["owner_id"].as_i64(), n.body["price"].clone()), (Some(BUYER), Value::Null));
    let r = app.post("/api/offers/accept", As::User(OWNER), json!({"offer_id": theirs})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/offers/accept", As::User(BUYER), json!({"offer_id": theirs})).await;
    assert_eq!(r.status, StatusCode::OK, "the other offer now goes to the new owner: {}", r.body);
    assert_eq!(app.balances(BUYER).await, (d("17.6").to_string(), "0".into()));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn an_expired_offer_cannot_be_accepted_even_before_the_job_runs() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "5").await;
    let r = app
        .post("/api/offers/new", As::User(BUYER), json!({"nft_id": nft, "price": "5", "expires_in_seconds": 60}))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    app.advance(61);
    let r = app.post("/api/offers/accept", As::User(OWNER), json!({"offer_id": id})).await;
    assert_problem(&r, StatusCode::CONFLICT, "offer_not_open");
    let listed = app.get(&format!("/api/offers?nft_id={nft}"), As::User(OWNER)).await;
    assert_eq!(listed.body["items"][0]["status"], "expired", "reads show it expired before the job runs");
    assert_eq!(app.balances(BUYER).await, ("0".into(), "5".into()));

    let report = app.run_jobs().await;
    assert_eq!(report.offers_expired, 1);
    assert_eq!(app.balances(BUYER).await, ("5".into(), "0".into()));
    assert_eq!(app.run_jobs().await.offers_expired, 0, "a second pass finds nothing");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn refusing_and_cancelling_release_the_hold_once() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "10").await;
    let a = offer(&app, BUYER, &nft, "3").await;
    let r = app.post("/api/offers/refuse", As::User(BUYER), json!({"offer_id": a})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/offers/refuse", As::User(OWNER), json!({"offer_id": a})).await;
    assert_eq!(r.body["status"], "refused");
    let r = app.post("/api/offers/refuse", As::User(OWNER), json!({"offer_id": a})).await;
    assert_problem(&r, StatusCode::CONFLICT, "offer_not_open");
    assert_eq!(app.balances(BUYER).await, ("10".into(), "0".into()));

    let b = offer(&app, BUYER, &nft, "4").await;
    let r = app.post("/api/offers/cancel", As::User(OWNER), json!({"offer_id": b})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/offers/cancel", As::User(BUYER), json!({"offer_id": b})).await;
    assert_eq!(r.body["status"], "cancelled");
    let r = app.post("/api/offers/cancel", As::User(BUYER), json!({"offer_id": b})).await;
    assert_problem(&r, StatusCode::CONFLICT, "offer_not_open");
    let r = app.post("/api/offers/cancel", As::User(BUYER), json!({"offer_id": uuid::Uuid::nil()})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.balances(BUYER).await, ("10".into(), "0".into()));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn changing_an_offer_price_adjusts_the_hold_by_the_difference() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "10").await;
    let id = offer(&app, BUYER, &nft, "3").await;
    let r = app.post("/api/offers/set-price", As::User(BUYER), json!({"offer_id": id, "price": "7"})).await;
    assert_eq!(r.body["price"], "7");
    assert_eq!(app.balances(BUYER).await, ("3".into(), "7".into()));
    let r = app.post("/api/offers/set-price", As::User(BUYER), json!({"offer_id": id, "price": "2"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.balances(BUYER).await, ("8".into(), "2".into()));
    let r = app.post("/api/offers/set-price", As::User(BUYER), json!({"offer_id": id, "price": "10.5"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "insufficient_funds");
    let r = app.post("/api/offers/set-price", As::User(OTHER), json!({"offer_id": id, "price": "1"})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    app.post("/api/offers/cancel", As::User(BUYER), json!({"offer_id": id})).await;
    let r = app.post("/api/offers/set-price", As::User(BUYER), json!({"offer_id": id, "price": "1"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "offer_not_open");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn offer_lists_show_the_offerer_only_to_the_parties() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "10").await;
    offer(&app, BUYER, &nft, "3").await;
    let public = app.get(&format!("/api/offers?nft_id={nft}"), As::User(OTHER)).await;
    assert_eq!(public.body["items"][0]["price"], "3");
    assert!(public.body["items"][0]["offerer_id"].is_null());
    let owner_view = app.get(&format!("/api/offers?nft_id={nft}"), As::User(OWNER)).await;
    assert_eq!(owner_view.body["items"][0]["offerer_id"], BUYER);
    let made = app.get("/api/me/offers", As::User(BUYER)).await;
    let received = app.get("/api/me/offers", As::User(OWNER)).await;
    let none = app.get("/api/me/offers", As::User(OTHER)).await;
    assert_eq!(made.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(received.body["items"].as_array().unwrap().len(), 1);
    assert!(none.body["items"].as_array().unwrap().is_empty());
    let missing = app.get("/api/offers", As::User(OTHER)).await;
    assert_problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

// ----- back -----

#[tokio::test]
async fn back_unlists_refunds_every_open_offer_and_marks_the_nft_withdrawing() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, Some("9")).await;
    app.deposit(BUYER, "5").await;
    app.deposit(OTHER, "5").await;
    offer(&app, BUYER, &nft, "2").await;
    offer(&app, OTHER, &nft, "3").await;
    let r = app.post("/api/nft/back", As::User(BUYER), json!({"nft_id": nft})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");

    let r = app.post("/api/nft/back", As::User(OWNER), json!({"nft_id": nft})).await;

    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!((r.body["status"].as_str(), r.body["price"].clone()), (Some("withdrawing"), Value::Null));
    assert_eq!(app.balances(BUYER).await, ("5".into(), "0".into()));
    assert_eq!(app.balances(OTHER).await, ("5".into(), "0".into()));
    let offers = app.get(&format!("/api/offers?nft_id={nft}"), As::User(OWNER)).await;
    assert!(offers.body["items"].as_array().unwrap().iter().all(|o| o["status"] == "cancelled"));
    let r = app.post("/api/nft/back", As::User(OWNER), json!({"nft_id": nft})).await;
    assert_problem(&r, StatusCode::CONFLICT, "nft_unavailable");
    let r = app.post("/api/nft/buy", As::User(BUYER), json!({"nft_id": nft})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app.post("/api/nft/back", As::User(OWNER), json!({"nft_id": uuid::Uuid::nil()})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    app.assert_audit_clean().await;
}

// ----- auctions -----

async fn auction(app: &TestApp, nft: &str, body: Value) -> Value {
    let mut b = json!({"nft_id": nft, "start_price": "10", "duration_seconds": 3600});
    b.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
    let r = app.post("/api/auctions/new", As::User(OWNER), b).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

async fn bid(app: &TestApp, who: i64, auction: &Value, amount: &str) -> common::Reply {
    app.post("/api/auctions/bid", As::User(who), json!({"auction_id": auction["id"], "amount": amount})).await
}

#[tokio::test]
async fn opening_an_auction_unlists_the_nft_and_checks_the_terms() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, Some("5")).await;
    for bad in [
        json!({"step_percent": 0}),
        json!({"step_percent": 101}),
        json!({"duration_seconds": 59}),
        json!({"buy_now_price": "10"}),
    ] {
        let mut b = json!({"nft_id": nft, "start_price": "10", "duration_seconds": 3600});
        b.as_object_mut().unwrap().extend(bad.as_object().unwrap().clone());
        let r = app.post("/api/auctions/new", As::User(OWNER), b).await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let r = app
        .post("/api/auctions/new", As::User(BUYER), json!({"nft_id": nft, "start_price": "1", "duration_seconds": 60}))
        .await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let a = auction(&app, &nft, json!({})).await;
    assert_eq!(
        (a["status"].as_str(), a["step_percent"].as_u64(), a["min_next_bid"].as_str()),
        (Some("active"), Some(5), Some("10"))
    );
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(OWNER)).await;
    assert_eq!((n.body["status"].as_str(), n.body["price"].clone()), (Some("on_auction"), Value::Null));
    let r = app
        .post("/api/auctions/new", As::User(OWNER), json!({"nft_id": nft, "start_price": "1", "duration_seconds": 60}))
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "nft_unavailable");
    let r = app.post("/api/nft/set-price", As::User(OWNER), json!({"nft_id": nft, "price": "3"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "nft_unavailable");
}

#[tokio::test]
async fn bids_hold_the_leader_release_the_outbid_and_respect_the_step() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "30").await;
    app.deposit(OTHER, "30").await;
    let a = auction(&app, &nft, json!({})).await;

    assert_problem(&bid(&app, BUYER, &a, "9.99").await, StatusCode::CONFLICT, "bid_too_low");
    assert_problem(&bid(&app, OWNER, &a, "10").await, StatusCode::CONFLICT, "own_item");
    let r = bid(&app, BUYER, &a, "10").await;
    assert_eq!((r.status, r.body["min_next_bid"].as_str()), (StatusCode::OK, Some("10.5")));
    assert_eq!(app.balances(BUYER).await, ("20".into(), "10".into()));
    assert_problem(&bid(&app, OTHER, &a, "10.4").await, StatusCode::CONFLICT, "bid_too_low");
    assert_problem(&bid(&app, OTHER, &a, "31").await, StatusCode::CONFLICT, "insufficient_funds");
    let r = bid(&app, OTHER, &a, "10.5").await;
    assert_eq!(r.body["leader_id"], OTHER);
    assert_eq!(app.balances(BUYER).await, ("30".into(), "0".into()), "the outbid leader is released");
    assert_eq!(app.balances(OTHER).await, ("19.5".into(), "10.5".into()));

    let detail = app.get(&format!("/api/auctions/{}", a["id"].as_str().unwrap()), As::User(BUYER)).await;
    assert_eq!(detail.body["bids"].as_array().unwrap().len(), 2);
    assert_eq!(detail.body["bids"][0]["amount"], "10.5");
    let list = app.get("/api/auctions?status=active", As::User(BUYER)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let r = app.get("/api/auctions?status=nope", As::User(BUYER)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = app.get(&format!("/api/auctions/{}", uuid::Uuid::nil()), As::User(BUYER)).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_late_bid_extends_the_auction_and_an_ended_one_takes_no_bids() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "100").await;
    let a = auction(&app, &nft, json!({})).await;
    app.advance(3600 - 10);
    let r = bid(&app, BUYER, &a, "10").await;
    let ends: chrono::DateTime<chrono::Utc> = r.body["ends_at"].as_str().unwrap().parse().unwrap();
    let original: chrono::DateTime<chrono::Utc> = a["ends_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(ends - original, chrono::Duration::seconds(290), "moved to now + 300 s");
    app.advance(300);
    assert_problem(&bid(&app, BUYER, &a, "20").await, StatusCode::CONFLICT, "auction_ended");
}

#[tokio::test]
async fn the_settlement_job_gives_the_nft_to_the_winner_and_pays_the_seller_once() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "100").await;
    let a = auction(&app, &nft, json!({})).await;
    bid(&app, BUYER, &a, "20").await;
    assert_eq!(app.run_jobs().await.auctions_settled, 0, "not before the end");
    app.advance(3601);
    let (first, second) = tokio::join!(app.run_jobs(), app.run_jobs());
    assert_eq!(first.auctions_settled + second.auctions_settled, 1, "exactly once");
    assert_eq!(app.balances(OWNER).await, ("19".into(), "0".into()));
    assert_eq!(app.balances(BUYER).await, ("80".into(), "0".into()));
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(BUYER)).await;
    assert_eq!((n.body["owner_id"].as_i64(), n.body["status"].as_str()), (Some(BUYER), Some("available")));
    let detail = app.get(&format!("/api/auctions/{}", a["id"].as_str().unwrap()), As::User(BUYER)).await;
    assert_eq!(detail.body["status"], "settled");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn an_auction_without_bids_ends_with_the_nft_back_available() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    auction(&app, &nft, json!({"duration_seconds": 60})).await;
    app.advance(61);
    assert_eq!(app.run_jobs().await.auctions_settled, 1);
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(OWNER)).await;
    assert_eq!((n.body["owner_id"].as_i64(), n.body["status"].as_str()), (Some(OWNER), Some("available")));
}

#[tokio::test]
async fn a_buy_now_bid_settles_at_once() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "100").await;
    app.deposit(OTHER, "100").await;
    let a = auction(&app, &nft, json!({"buy_now_price": "50"})).await;
    bid(&app, OTHER, &a, "10").await;
    let r = bid(&app, BUYER, &a, "50").await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("settled")), "{}", r.body);
    assert_eq!(app.balances(OWNER).await, ("47.5".into(), "0".into()));
    assert_eq!(app.balances(BUYER).await, ("50".into(), "0".into()));
    assert_eq!(app.balances(OTHER).await, ("100".into(), "0".into()));
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(BUYER)).await;
    assert_eq!(n.body["owner_id"], BUYER);
    assert_problem(&bid(&app, OTHER, &a, "60").await, StatusCode::CONFLICT, "auction_ended");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn only_the_seller_deletes_and_only_without_bids() {
    let app = TestApp::memory().await;
    let nft = app.nft(OWNER, None).await;
    app.deposit(BUYER, "100").await;
    let a = auction(&app, &nft, json!({})).await;
    let r = app.post("/api/auctions/del", As::User(BUYER), json!({"auction_id": a["id"]})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/auctions/del", As::User(OWNER), json!({"auction_id": a["id"]})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("cancelled")));
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(OWNER)).await;
    assert_eq!(n.body["status"], "available");

    let b = auction(&app, &nft, json!({})).await;
    bid(&app, BUYER, &b, "10").await;
    let r = app.post("/api/auctions/del", As::User(OWNER), json!({"auction_id": b["id"]})).await;
    assert_problem(&r, StatusCode::CONFLICT, "auction_has_bids");
    let r = app.post("/api/auctions/del", As::User(OWNER), json!({"auction_id": uuid::Uuid::nil()})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
}

// ----- presales -----

fn deliver_by(app: &TestApp, hours: i64) -> String {
    (app.clock_now() + chrono::Duration::hours(hours)).to_rfc3339()
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use domain::ports::Clock;
        self.clock.now()
    }
}

async fn presale(app: &TestApp, price: &str) -> String {
    let r = app
        .post(
            "/api/presale/new",
            As::User(OWNER),
            json!({"title": "Homemade Cake", "collection": "cakes", "price": price, "deliver_by": deliver_by(app, 24)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_presale_holds_collateral_and_its_price_can_change_until_sold() {
    let app = TestApp::memory().await;
    app.deposit(OWNER, "10").await;
    let id = presale(&app, "20").await;
    assert_eq!(app.balances(OWNER).await, ("6".into(), "4".into()));
    let r = app.post("/api/presale/set-price", As::User(OWNER), json!({"presale_id": id, "price": "30"})).await;
    assert_eq!(r.body["collateral"], "6");
    assert_eq!(app.balances(OWNER).await, ("4".into(), "6".into()));
    let r = app.post("/api/presale/set-price", As::User(OWNER), json!({"presale_id": id, "price": "100"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "insufficient_funds");
    let r = app.post("/api/presale/set-price", As::User(BUYER), json!({"presale_id": id, "price": "5"})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/presale/delete", As::User(BUYER), json!({"presale_id": id})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post("/api/presale/delete", As::User(OWNER), json!({"presale_id": id})).await;
    assert_eq!(r.body["status"], "deleted");
    assert_eq!(app.balances(OWNER).await, ("10".into(), "0".into()));
    let r = app.post("/api/presale/delete", As::User(OWNER), json!({"presale_id": id})).await;
    assert_problem(&r, StatusCode::CONFLICT, "presale_sold");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn presale_creation_checks_deadline_and_funds() {
    let app = TestApp::memory().await;
    app.deposit(OWNER, "1").await;
    for hours in [0, 60 * 24 + 1] {
        let r = app
            .post(
                "/api/presale/new",
                As::User(OWNER),
                json!({"title": "t", "collection": "c", "price": "1", "deliver_by": deliver_by(&app, hours)}),
            )
            .await;
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    let r = app
        .post(
            "/api/presale/new",
            As::User(OWNER),
            json!({"title": "t", "collection": "c", "price": "10", "deliver_by": deliver_by(&app, 2)}),
        )
        .await;
    assert_problem(&r, StatusCode::CONFLICT, "insufficient_funds");
}

#[tokio::test]
async fn buying_and_delivering_a_presale_pays_the_seller_and_creates_the_buyers_nft() {
    let app = TestApp::memory().await;
    app.deposit(OWNER, "10").await;
    app.deposit(BUYER, "50").await;
    app.deposit(OTHER, "50").await;
    let id = presale(&app, "20").await;
    let r = app.post("/api/presale/buy", As::User(OWNER), json!({"presale_id": id})).await;
    assert_problem(&r, StatusCode::CONFLICT, "own_item");
    let r = app.post("/api/presale/buy", As::User(BUYER), json!({"presale_id": id, "expected_price": "19"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "price_changed");
    let r = app.post(&format!("/api/admin/presales/{id}/deliver"), As::Staff, json!({"gift_id": "cake-1"})).await;
    assert_problem(&r, StatusCode::CONFLICT, "presale_not_sold");
    let r = app.post("/api/presale/buy", As::User(BUYER), json!({"presale_id": id, "expected_price": "20"})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("sold")));
    assert_eq!(app.balances(BUYER).await, ("30".into(), "20".into()));
    let r = app.post("/api/presale/buy", As::User(OTHER), json!({"presale_id": id})).await;
    assert_problem(&r, StatusCode::CONFLICT, "presale_sold");
    let seen_by_other = app.get(&format!("/api/presales/{id}"), As::User(OTHER)).await;
    assert!(seen_by_other.body["buyer_id"].is_null(), "the buyer is not public");
    let seen_by_seller = app.get(&format!("/api/presales/{id}"), As::User(OWNER)).await;
    assert_eq!(seen_by_seller.body["buyer_id"], BUYER);

    let r = app.post(&format!("/api/admin/presales/{id}/deliver"), As::User(OWNER), json!({"gift_id": "cake-1"})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = app.post(&format!("/api/admin/presales/{id}/deliver"), As::Staff, json!({"gift_id": "cake-1"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["presale"]["status"], "delivered");
    assert_eq!(r.body["nft"]["owner_id"], BUYER);
    assert_eq!(app.balances(OWNER).await, ("29".into(), "0".into()), "price minus 5 % fee, collateral back");
    assert_eq!(app.balances(BUYER).await, ("30".into(), "0".into()));
    let r = app
        .post(&format!("/api/admin/presales/{}/deliver", uuid::Uuid::nil()), As::Staff, json!({"gift_id": "x"}))
        .await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn an_undelivered_presale_refunds_the_buyer_with_half_the_collateral_once() {
    let app = TestApp::memory().await;
    app.deposit(OWNER, "10").await;
    app.deposit(BUYER, "50").await;
    let sold = presale(&app, "20").await;
    let unsold = presale(&app, "10").await;
    app.post("/api/presale/buy", As::User(BUYER), json!({"presale_id": sold})).await;
    assert_eq!(app.run_jobs().await.presales_expired, 0);
    app.advance(24 * 3600);
    let (a, b) = tokio::join!(app.run_jobs(), app.run_jobs());
    assert_eq!(a.presales_expired + b.presales_expired, 2, "each presale expires exactly once");
    assert_eq!(app.balances(BUYER).await, ("52".into(), "0".into()), "price back plus half of the 4 TON collateral");
    assert_eq!(app.balances(OWNER).await, ("6".into(), "0".into()), "sold collateral forfeited, unsold released");
    let r = app.get(&format!("/api/presales/{unsold}"), As::User(OWNER)).await;
    assert_eq!(r.body["status"], "expired");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn presale_lists_filter_by_status_and_seller() {
    let app = TestApp::memory().await;
    app.deposit(OWNER, "10").await;
    presale(&app, "5").await;
    let r = app.get("/api/presales?status=open&seller=me", As::User(OWNER)).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app.get("/api/presales?seller=me", As::User(BUYER)).await;
    assert!(r.body["items"].as_array().unwrap().is_empty());
    let r = app.get("/api/presales?status=bogus", As::User(BUYER)).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

// ----- market output -----

const ADDRESS: &str = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";

async fn withdraw(app: &TestApp, who: i64, key: Option<&str>, body: Value) -> common::Reply {
    let mut req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/market/output")
        .header("authorization", common::tma(who))
        .header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    app.raw(req.body(axum::body::Body::from(body.to_string())).unwrap()).await
}

#[tokio::test]
async fn a_withdrawal_moves_funds_to_pending_and_is_202() {
    let app = TestApp::memory().await;
    app.deposit(BUYER, "10").await;
    let r = withdraw(&app, BUYER, Some("k1"), json!({"amount": "4", "address": ADDRESS})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!((r.body["status"].as_str(), r.body["amount"].as_str()), (Some("pending"), Some("4")));
    assert_eq!(app.balances(BUYER).await, ("6".into(), "0".into()));
    let id = r.body["id"].as_str().unwrap();
    let own = app.get(&format!("/api/market/withdrawals/{id}"), As::User(BUYER)).await;
    assert_eq!(own.body["address"], ADDRESS);
    let theirs = app.get(&format!("/api/market/withdrawals/{id}"), As::User(OTHER)).await;
    assert_problem(&theirs, StatusCode::NOT_FOUND, "not_found");
    let list = app.get("/api/market/withdrawals", As::User(BUYER)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert!(app.get("/api/market/withdrawals", As::User(OTHER)).await.body["items"].as_array().unwrap().is_empty());
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn withdrawal_rules_have_their_codes() {
    let app = TestApp::memory().await;
    app.deposit(BUYER, "10").await;
    let raw = format!("0:{}", "ab".repeat(32));
    assert_problem(
        &withdraw(&app, BUYER, None, json!({"amount": "2", "address": ADDRESS})).await,
        StatusCode::BAD_REQUEST,
        "malformed_request",
    );
    assert_problem(
        &withdraw(&app, BUYER, Some("a"), json!({"amount": "0.5", "address": ADDRESS})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_problem(
        &withdraw(&app, BUYER, Some("b"), json!({"amount": "11", "address": ADDRESS})).await,
        StatusCode::CONFLICT,
        "insufficient_funds",
    );
    let bad = withdraw(
        &app,
        BUYER,
        Some("c"),
        json!({"amount": "2", "address": "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2O"}),
    )
    .await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.body["errors"][0]["field"], "address");
    assert_eq!(
        withdraw(&app, BUYER, Some("d"), json!({"amount": 1, "address": raw})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(app.balances(BUYER).await, ("9".into(), "0".into()));
}

#[tokio::test]
async fn every_marketplace_route_is_in_the_openapi_document() {
    let app = TestApp::memory().await;
    let doc = app.get("/openapi.json", As::Nobody).await;
    let paths = doc.body["paths"].as_object().unwrap();
    for p in [
        "/api/nft/back",
        "/api/offers",
        "/api/me/offers",
        "/api/offers/new",
        "/api/offers/accept",
        "/api/offers/refuse",
        "/api/offers/cancel",
        "/api/offers/set-price",
        "/api/auctions",
        "/api/auctions/{id}",
        "/api/auctions/new",
        "/api/auctions/bid",
        "/api/auctions/del",
        "/api/presales",
        "/api/presales/{id}",
        "/api/presale/new",
        "/api/presale/buy",
        "/api/presale/set-price",
        "/api/presale/delete",
        "/api/admin/presales/{id}/deliver",
        "/api/market/output",
        "/api/market/withdrawals",
        "/api/market/withdrawals/{id}",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
}
