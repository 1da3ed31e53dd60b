//! Every route through the real router on the in-memory store: success, each error code,
//! auth failures and object-level authorization.

use crate::common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{As, TestApp, BOT_TOKEN};
use serde_json::json;

const ALICE: i64 = 1001;
const BOB: i64 = 1002;

// ----- operations endpoints -----

#[tokio::test]
async fn healthz_answers_ok_without_auth() {
    let app = TestApp::memory().await;
    let r = app.get("/healthz", As::Nobody).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("ok")));
}

#[tokio::test]
async fn readyz_reports_each_dependency() {
    let app = TestApp::memory().await;
    let r = app.get("/readyz", As::Nobody).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["checks"]["database"], "embedded");
    assert_eq!(r.body["checks"]["redis"], "embedded");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_http_and_uow_series() {
    let app = TestApp::memory().await;
    app.deposit(ALICE, "1").await;
    let r = app.get("/metrics", As::Nobody).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = r.body.as_str().unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("uow_commits_total"), "{text}");
}

/// Every operation of the HTTP contract (SPEC §6), as method and path.
const CONTRACT: &[(&str, &str)] = &[
    ("GET", "/api/activity"),
    ("GET", "/api/admin/audit"),
    ("POST", "/api/admin/channels/{id}/resolve"),
    ("POST", "/api/admin/deposits"),
    ("GET", "/api/admin/deposits/unmatched"),
    ("POST", "/api/admin/deposits/unmatched/{id}/assign"),
    ("GET", "/api/admin/gifts/unmatched"),
    ("POST", "/api/admin/gifts/unmatched/{id}/assign"),
    ("POST", "/telegram/webhook"),
    ("GET", "/api/collections/{name}/attributes"),
    ("GET", "/api/me/portfolio"),
    ("POST", "/api/admin/nfts"),
    ("POST", "/api/admin/presales/{id}/deliver"),
    ("POST", "/api/admin/withdrawals/{id}/resolve"),
    ("GET", "/api/auctions"),
    ("POST", "/api/auctions/bid"),
    ("POST", "/api/auctions/del"),
    ("POST", "/api/auctions/new"),
    ("GET", "/api/auctions/{id}"),
    ("GET", "/api/channels"),
    ("POST", "/api/channels/buy"),
    ("POST", "/api/channels/confirm"),
    ("POST", "/api/channels/delete"),
    ("POST", "/api/channels/new"),
    ("POST", "/api/channels/set-price"),
    ("GET", "/api/channels/{id}"),
    ("GET", "/api/collections"),
    ("GET", "/api/collections/{name}"),
    ("GET", "/api/collections/{name}/history"),
    ("GET", "/api/events"),
    ("POST", "/api/managers"),
    ("GET", "/api/managers/{id}/clients"),
    ("POST", "/api/market/output"),
    ("GET", "/api/market/withdrawals"),
    ("GET", "/api/market/withdrawals/{id}"),
    ("GET", "/api/me"),
    ("GET", "/api/me/deposit"),
    ("GET", "/api/me/ledger"),
    ("GET", "/api/me/offers"),
    ("POST", "/api/nft/back"),
    ("POST", "/api/nft/buy"),
    ("POST", "/api/nft/set-price"),
    ("GET", "/api/nfts"),
    ("GET", "/api/nfts/{id}"),
    ("GET", "/api/offers"),
    ("POST", "/api/offers/accept"),
    ("POST", "/api/offers/cancel"),
    ("POST", "/api/offers/new"),
    ("POST", "/api/offers/refuse"),
    ("POST", "/api/offers/set-price"),
    ("POST", "/api/partners"),
    ("GET", "/api/partners/{client_id}"),
    ("POST", "/api/presale/buy"),
    ("POST", "/api/presale/delete"),
    ("POST", "/api/presale/new"),
    ("POST", "/api/presale/set-price"),
    ("GET", "/api/presales"),
    ("GET", "/api/presales/{id}"),
    ("GET", "/api/trades"),
    ("POST", "/api/trades/accept"),
    ("POST", "/api/trades/cancel"),
    ("POST", "/api/trades/decline"),
    ("POST", "/api/trades/new"),
    ("GET", "/api/trades/{id}"),
    ("GET", "/api/collection-offers"),
    ("POST", "/api/collection-offers/new"),
    ("POST", "/api/collection-offers/fill"),
    ("POST", "/api/collection-offers/set-price"),
    ("POST", "/api/collection-offers/cancel"),
    ("GET", "/api/me/collection-offers"),
    ("POST", "/api/nft/sell"),
    ("POST", "/api/nft/sweep"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/readyz"),
];

/// The document lists exactly the contract's operations, and the router serves each of them
/// (none falls through to the "no such route" fallback or answers 405).
#[tokio::test]
async fn the_document_lists_exactly_the_contracts_routes_and_the_router_serves_each() {
    let app = TestApp::memory().await;
    let r = app.get("/openapi.json", As::Nobody).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in r.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = CONTRACT.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    expected.sort();
    assert_eq!(documented, expected, "the document and the contract differ");

    for (method, path) in CONTRACT {
        let uri = path
            .replace("{id}", &uuid::Uuid::nil().to_string())
            .replace("{client_id}", &uuid::Uuid::nil().to_string())
            .replace("{name}", "Plush%20Pepe");
        let who =
            if path.starts_with("/api/admin") || path.starts_with("/api/managers") || path.starts_with("/api/partners")
            {
                As::Staff
            } else {
                As::User(ALICE)
            };
        let body = (*method == "POST").then(|| json!({}));
        let r = app.call(Method::from_bytes(method.as_bytes()).unwrap(), &uri, who, body).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !(r.status == StatusCode::NOT_FOUND && r.body["detail"] == "no such route"),
            "{method} {path} is documented but not routed"
        );
    }
    let unknown = app.get("/api/no-such-thing", As::User(ALICE)).await;
    assert_eq!((unknown.status, unknown.body["detail"].as_str()), (StatusCode::NOT_FOUND, Some("no such route")));
}

#[tokio::test]
async fn swagger_ui_is_served_at_docs() {
    let app = TestApp::memory().await;
    let r = app.get("/docs/", As::Nobody).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.as_str().unwrap().contains("swagger"), "{:?}", r.body);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = TestApp::memory().await;
    let r = app.get("/api/nope", As::User(ALICE)).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    assert!(r.is_problem());
}

#[tokio::test]
async fn the_request_id_is_echoed_or_made() {
    let app = TestApp::memory().await;
    let req = Request::get("/healthz").header("x-request-id", "abc-123").body(Body::empty()).unwrap();
    assert_eq!(app.raw(req).await.headers["x-request-id"], "abc-123");
    let r = app.get("/healthz", As::Nobody).await;
    assert!(!r.headers["x-request-id"].is_empty());
}

// ----- authentication -----

async fn me_as(app: &TestApp, header: String) -> common::Reply {
    app.get("/api/me", As::Header(header)).await
}

fn init_data_at(user: i64, auth_date: i64) -> String {
    format!("tma {}", http_api::init_data(BOT_TOKEN, user, None, auth_date))
}

#[tokio::test]
async fn a_user_route_without_credentials_is_401() {
    let app = TestApp::memory().await;
    let r = app.get("/api/me", As::Nobody).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthorized"));
    assert!(r.is_problem());
}

#[tokio::test]
async fn init_data_signed_with_another_token_is_401() {
    let app = TestApp::memory().await;
    let forged = format!("tma {}", http_api::init_data("999:other", ALICE, None, chrono::Utc::now().timestamp()));
    assert_eq!(me_as(&app, forged).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_bad_hash_is_401() {
    let app = TestApp::memory().await;
    let good = common::tma(ALICE);
    let (head, _) = good.rsplit_once("hash=").unwrap();
    let r = me_as(&app, format!("{head}hash={}", "0".repeat(64))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = me_as(&app, format!("{head}hash=not-hex")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_tampered_user_field_is_401() {
    let app = TestApp::memory().await;
    let tampered = common::tma(ALICE).replace(&format!("%22id%22%3A{ALICE}"), &format!("%22id%22%3A{BOB}"));
    assert_ne!(tampered, common::tma(ALICE));
    assert_eq!(me_as(&app, tampered).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stale_and_future_auth_dates_are_401() {
    let app = TestApp::memory().await;
    let now = chrono::Utc::now().timestamp();
    assert_eq!(me_as(&app, init_data_at(ALICE, now - 86_400 - 5)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me_as(&app, init_data_at(ALICE, now + 120)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me_as(&app, init_data_at(ALICE, now - 3_600)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_duplicate_key_in_init_data_is_401() {
    let app = TestApp::memory().await;
    let dup = format!("{}&auth_date=1", common::tma(ALICE));
    assert_eq!(me_as(&app, dup).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unknown_scheme_or_bearer_is_401_on_user_routes() {
    let app = TestApp::memory().await;
    assert_eq!(me_as(&app, "Basic abc".into()).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me_as(&app, "Bearer wrong".into()).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_staff_token_cannot_act_as_a_user() {
    let app = TestApp::memory().await;
    let r = app.get("/api/me", As::Staff).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
}

#[tokio::test]
async fn staff_routes_refuse_users_with_403_and_strangers_with_401() {
    let app = TestApp::memory().await;
    for (method, path) in [
        (Method::GET, "/api/admin/audit"),
        (Method::POST, "/api/admin/deposits"),
        (Method::POST, "/api/admin/nfts"),
        (Method::POST, "/api/managers"),
        (Method::POST, "/api/partners"),
        (Method::GET, "/api/partners/00000000-0000-0000-0000-000000000000"),
        (Method::GET, "/api/managers/00000000-0000-0000-0000-000000000000/clients"),
    ] {
        let body = (method == Method::POST).then(|| json!({}));
        let r = app.call(method.clone(), path, As::User(ALICE), body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{path}");
        let r = app.call(method.clone(), path, As::Nobody, body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{path}");
        let r = app.call(method.clone(), path, As::Header("Bearer nope".into()), body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

// ----- me -----

#[tokio::test]
async fn me_creates_the_user_on_first_sight_with_zero_balances() {
    let app = TestApp::memory().await;
    let r = app.get("/api/me", As::User(ALICE)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"id": ALICE, "username": format!("user{ALICE}"), "available": "0", "held": "0"}));
}

#[tokio::test]
async fn the_ledger_pages_newest_first_with_a_cursor() {
    let app = TestApp::memory().await;
    for amount in ["1", "2", "3"] {
        app.deposit(ALICE, amount).await;
    }
    let first = app.get("/api/me/ledger?limit=2", As::User(ALICE)).await;
    assert_eq!(first.status, StatusCode::OK);
    let items = first.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["amount"], "3");
    assert_eq!(items[0]["operation"], "deposit");
    assert_eq!(items[0]["account"], "available");
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app.get(&format!("/api/me/ledger?limit=2&cursor={cursor}"), As::User(ALICE)).await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["items"][0]["amount"], "1");
    assert!(second.body["next_cursor"].is_null());
    let theirs = app.get("/api/me/ledger", As::User(BOB)).await;
    assert!(theirs.body["items"].as_array().unwrap().is_empty(), "someone else's entries are never shown");
}

#[tokio::test]
async fn list_parameters_are_validated() {
    let app = TestApp::memory().await;
    for q in ["limit=0", "limit=101", "limit=x", "cursor=zzz", "unknown=1"] {
        let r = app.get(&format!("/api/me/ledger?{q}"), As::User(ALICE)).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), "{q}");
    }
}

// ----- deposits -----

#[tokio::test]
async fn a_deposit_credits_and_its_replay_returns_the_first_result() {
    let app = TestApp::memory().await;
    let body = json!({"user_id": ALICE, "amount": "12.50", "tx_hash": "tx-1"});
    let first = app.post("/api/admin/deposits", As::Staff, body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.body["amount"], "12.5");
    let replay = app.post("/api/admin/deposits", As::Staff, body).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.body["id"], first.body["id"]);
    assert_eq!(app.balances(ALICE).await, ("12.5".into(), "0".into()));
}

#[tokio::test]
async fn the_same_hash_with_another_amount_or_user_is_409_duplicate() {
    let app = TestApp::memory().await;
    app.post("/api/admin/deposits", As::Staff, json!({"user_id": ALICE, "amount": "1", "tx_hash": "tx-1"})).await;
    let r =
        app.post("/api/admin/deposits", As::Staff, json!({"user_id": ALICE, "amount": "2", "tx_hash": "tx-1"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "duplicate"));
    let r = app.post("/api/admin/deposits", As::Staff, json!({"user_id": BOB, "amount": "1", "tx_hash": "tx-1"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "duplicate"));
    assert_eq!(app.balances(ALICE).await.0, "1");
}

#[tokio::test]
async fn amounts_are_exact_strings_or_numbers_within_bounds() {
    let app = TestApp::memory().await;
    let ok = app.post("/api/admin/deposits", As::Staff, json!({"user_id": ALICE, "amount": 0.1, "tx_hash": "a"})).await;
    assert_eq!((ok.status, ok.body["amount"].as_str()), (StatusCode::CREATED, Some("0.1")));
    let raw = r#"{"user_id": 1001, "amount": 0.123456789, "tx_hash": "b"}"#;
    let req = Request::post("/api/admin/deposits")
        .header(header::AUTHORIZATION, format!("Bearer {}", common::STAFF_TOKEN))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(raw))
        .unwrap();
    let ok = app.raw(req).await;
    assert_eq!(ok.body["amount"], "0.123456789", "a JSON number is not routed through a float");
    for bad in [
        json!("0"),
        json!(0),
        json!("-1"),
        json!("1.0000000001"),
        json!("1000000000.1"),
        json!("abc"),
        json!(true),
        json!(null),
        json!("1e400"),
    ] {
        let r =
            app.post("/api/admin/deposits", As::Staff, json!({"user_id": ALICE, "amount": bad, "tx_hash": "c"})).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), "{bad}");
        assert_eq!(r.body["errors"][0]["field"], "amount", "{bad}");
    }
}

#[tokio::test]
async fn bodies_must_be_json_of_the_right_shape() {
    let app = TestApp::memory().await;
    let unknown = app
        .post("/api/admin/deposits", As::Staff, json!({"user_id": ALICE, "amount": "1", "tx_hash": "a", "extra": 1}))
        .await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    let missing = app.post("/api/admin/deposits", As::Staff, json!({"user_id": ALICE, "amount": "1"})).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    let req = Request::post("/api/admin/deposits")
        .header(header::AUTHORIZATION, format!("Bearer {}", common::STAFF_TOKEN))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let malformed = app.raw(req).await;
    assert_eq!((malformed.status, malformed.code()), (StatusCode::BAD_REQUEST, "malformed_request"));
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = TestApp::memory().await;
    let big = json!({"user_id": ALICE, "amount": "1", "tx_hash": "x".repeat(70 * 1024)});
    let r = app.post("/api/admin/deposits", As::Staff, big).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
}

// ----- NFTs -----

#[tokio::test]
async fn registering_an_nft_makes_it_available_and_a_second_gift_id_is_duplicate() {
    let app = TestApp::memory().await;
    let body = json!({"owner_id": ALICE, "gift_id": "g-1", "title": "Plush Pepe", "collection": "pepe"});
    let r = app.post("/api/admin/nfts", As::Staff, body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["status"], "available");
    assert_eq!(r.body["owner_id"], ALICE);
    assert!(r.body["price"].is_null());
    let again = app.post("/api/admin/nfts", As::Staff, body).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "duplicate"));
    let blank = app
        .post("/api/admin/nfts", As::Staff, json!({"owner_id": ALICE, "gift_id": " ", "title": "t", "collection": "c"}))
        .await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn nfts_are_listed_filtered_and_paged() {
    let app = TestApp::memory().await;
    let listed = app.nft(ALICE, Some("5")).await;
    let _unlisted = app.nft(ALICE, None).await;
    let bobs = app.nft(BOB, Some("7")).await;

    let r = app.get("/api/nfts?listed=true", As::User(ALICE)).await;
    let ids: Vec<&str> = r.body["items"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [bobs.as_str(), listed.as_str()]);

    let mine = app.get("/api/nfts?owner=me", As::User(BOB)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    let by_id = app.get(&format!("/api/nfts?owner={ALICE}&collection=pepe"), As::User(BOB)).await;
    assert_eq!(by_id.body["items"].as_array().unwrap().len(), 2);

    let p1 = app.get("/api/nfts?limit=2", As::User(ALICE)).await;
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 2);
    let cursor = p1.body["next_cursor"].as_str().unwrap();
    let p2 = app.get(&format!("/api/nfts?limit=2&cursor={cursor}"), As::User(ALICE)).await;
    assert_eq!(p2.body["items"].as_array().unwrap().len(), 1);
    assert!(p2.body["next_cursor"].is_null());

    let bad_owner = app.get("/api/nfts?owner=someone", As::User(ALICE)).await;
    assert_eq!(bad_owner.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn one_nft_is_public_and_an_unknown_one_is_404() {
    let app = TestApp::memory().await;
    let id = app.nft(ALICE, Some("5")).await;
    let r = app.get(&format!("/api/nfts/{id}"), As::User(BOB)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["price"], "5");
    for missing in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"] {
        let r = app.get(&format!("/api/nfts/{missing}"), As::User(BOB)).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    }
}

#[tokio::test]
async fn the_owner_lists_and_unlists_and_nobody_else_may() {
    let app = TestApp::memory().await;
    let id = app.nft(ALICE, None).await;
    let r = app.post("/api/nft/set-price", As::User(ALICE), json!({"nft_id": id, "price": "3.5"})).await;
    assert_eq!((r.status, r.body["price"].as_str()), (StatusCode::OK, Some("3.5")));
    let r = app.post("/api/nft/set-price", As::User(BOB), json!({"nft_id": id, "price": "1"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app.post("/api/nft/set-price", As::User(ALICE), json!({"nft_id": id, "price": null})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["price"].is_null());
    let r = app.post("/api/nft/set-price", As::User(ALICE), json!({"nft_id": id})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    let r = app.post("/api/nft/set-price", As::User(ALICE), json!({"nft_id": id, "price": "0"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .post(
            "/api/nft/set-price",
            As::User(ALICE),
            json!({"nft_id": "00000000-0000-0000-0000-000000000000", "price": "1"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn a_buy_moves_price_fee_and_ownership_and_keeps_the_books_balanced() {
    let app = TestApp::memory().await;
    let id = app.nft(ALICE, Some("10")).await;
    app.deposit(BOB, "25").await;

    let r = app.post("/api/nft/buy", As::User(BOB), json!({"nft_id": id, "expected_price": "10"})).await;

    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["price"].as_str(), r.body["fee"].as_str()), (Some("10"), Some("0.5")));
    assert_eq!(r.body["nft"]["owner_id"], BOB);
    assert!(r.body["nft"]["price"].is_null(), "a bought NFT is unlisted");
    assert_eq!(app.balances(BOB).await, ("15".into(), "0".into()));
    assert_eq!(app.balances(ALICE).await, ("9.5".into(), "0".into()));
    let ledger = app.get("/api/me/ledger", As::User(ALICE)).await;
    assert_eq!(ledger.body["items"][0]["operation"], "buy");
    assert_eq!(ledger.body["items"][0]["amount"], "9.5");
    assert_eq!(ledger.body["items"][0]["reference"], id.as_str());
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn buy_rule_violations_have_their_codes_and_move_nothing() {
    let app = TestApp::memory().await;
    let listed = app.nft(ALICE, Some("10")).await;
    let unlisted = app.nft(ALICE, None).await;
    app.deposit(BOB, "10").await;
    app.deposit(1003, "5").await;

    let cases = [
        (As::User(ALICE), json!({"nft_id": listed}), StatusCode::CONFLICT, "own_item"),
        (As::User(BOB), json!({"nft_id": unlisted}), StatusCode::CONFLICT, "not_for_sale"),
        (As::User(BOB), json!({"nft_id": listed, "expected_price": "9"}), StatusCode::CONFLICT, "price_changed"),
        (As::User(1003), json!({"nft_id": listed}), StatusCode::CONFLICT, "insufficient_funds"),
        (As::User(1004), json!({"nft_id": listed}), StatusCode::CONFLICT, "insufficient_funds"),
        (As::User(BOB), json!({"nft_id": "00000000-0000-0000-0000-000000000000"}), StatusCode::NOT_FOUND, "not_found"),
        (As::User(BOB), json!({"nft_id": "nope"}), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (
            As::User(BOB),
            json!({"nft_id": listed, "expected_price": "-1"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (As::Nobody, json!({"nft_id": listed}), StatusCode::UNAUTHORIZED, "unauthorized"),
    ];
    for (who, body, status, code) in cases {
        let r = app.post("/api/nft/buy", who, body.clone()).await;
        assert_eq!((r.status, r.code()), (status, code), "{body}");
        assert!(r.is_problem());
    }
    assert_eq!(app.balances(BOB).await, ("10".into(), "0".into()));
    assert_eq!(app.balances(1003).await, ("5".into(), "0".into()));
    let nft = app.get(&format!("/api/nfts/{listed}"), As::User(BOB)).await;
    assert_eq!(nft.body["owner_id"], ALICE);
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_sold_nft_cannot_be_bought_again() {
    let app = TestApp::memory().await;
    let id = app.nft(ALICE, Some("1")).await;
    app.deposit(BOB, "5").await;
    app.deposit(1003, "5").await;
    assert_eq!(app.post("/api/nft/buy", As::User(BOB), json!({"nft_id": id})).await.status, StatusCode::OK);
    let r = app.post("/api/nft/buy", As::User(1003), json!({"nft_id": id})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "not_for_sale"));
}

// ----- partners -----

async fn manager(app: &TestApp, name: &str) -> String {
    let r = app.post("/api/managers", As::Staff, json!({"name": name, "telegram_username": "@anna_m"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn client(email: &str) -> serde_json::Value {
    json!({"fio": "Ivan Petrov", "age": 30, "description": "VIP", "mobile": "+79991234567", "email": email})
}

#[tokio::test]
async fn a_manager_is_created_active() {
    let app = TestApp::memory().await;
    let r = app.post("/api/managers", As::Staff, json!({"name": "Anna"})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!((r.body["active"].as_bool(), r.body["name"].as_str()), (Some(true), Some("Anna")));
    for bad in [json!({"name": ""}), json!({"name": "A", "telegram_username": "a b"}), json!({})] {
        let r = app.post("/api/managers", As::Staff, bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn create_partner_binds_a_client_to_a_manager() {
    let app = TestApp::memory().await;
    let m = manager(&app, "Anna").await;
    let r = app
        .post("/api/partners", As::Staff, json!({"manager_id": m, "priority": 3, "client": client("ivan@example.com")}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["client"]["email"], "ivan@example.com");
    assert_eq!(r.body["manager_bind"]["manager_id"], m.as_str());
    assert_eq!(r.body["manager_bind"]["priority"], 3);
    assert_eq!(r.body["manager_bind"]["client_id"], r.body["client"]["id"]);

    let view = app.get(&format!("/api/partners/{}", r.body["client"]["id"].as_str().unwrap()), As::Staff).await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(view.body["managers"][0]["manager"]["id"], m.as_str());
    assert_eq!(view.body["managers"][0]["priority"], 3);
}

#[tokio::test]
async fn a_duplicate_email_is_409_duplicate() {
    let app = TestApp::memory().await;
    let m = manager(&app, "Anna").await;
    app.post("/api/partners", As::Staff, json!({"manager_id": m, "client": client("ivan@example.com")})).await;
    let r = app.post("/api/partners", As::Staff, json!({"manager_id": m, "client": client("IVAN@example.com")})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "duplicate"));
}

#[tokio::test]
async fn an_unknown_manager_is_404_and_leaves_no_client_behind() {
    let app = TestApp::memory().await;
    let r = app
        .post(
            "/api/partners",
            As::Staff,
            json!({"manager_id": uuid::Uuid::new_v4(), "client": client("ivan@example.com")}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let m = manager(&app, "Anna").await;
    let again =
        app.post("/api/partners", As::Staff, json!({"manager_id": m, "client": client("ivan@example.com")})).await;
    assert_eq!(again.status, StatusCode::CREATED, "the e-mail is free: the first attempt left nothing");
}

#[tokio::test]
async fn invalid_client_fields_are_each_reported() {
    let app = TestApp::memory().await;
    let m = manager(&app, "Anna").await;
    let bad = json!({"fio": "", "age": 12, "description": "", "mobile": "8999", "email": "nope"});
    let r = app.post("/api/partners", As::Staff, json!({"manager_id": m, "client": bad})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["client.fio", "client.age", "client.mobile", "client.email"]);
}

#[tokio::test]
async fn a_managers_clients_come_by_priority() {
    let app = TestApp::memory().await;
    let m = manager(&app, "Anna").await;
    for (email, priority) in [("c@example.com", 5), ("a@example.com", 1), ("b@example.com", 3)] {
        let r = app
            .post("/api/partners", As::Staff, json!({"manager_id": m, "priority": priority, "client": client(email)}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = app.get(&format!("/api/managers/{m}/clients"), As::Staff).await;
    assert_eq!(r.status, StatusCode::OK);
    let emails: Vec<&str> =
        r.body["items"].as_array().unwrap().iter().map(|c| c["client"]["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["a@example.com", "b@example.com", "c@example.com"]);
    let missing = app.get(&format!("/api/managers/{}/clients", uuid::Uuid::new_v4()), As::Staff).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::NOT_FOUND, "not_found"));
    let missing = app.get(&format!("/api/partners/{}", uuid::Uuid::new_v4()), As::Staff).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn the_audit_is_clean_on_an_empty_store() {
    let app = TestApp::memory().await;
    let r = app.get("/api/admin/audit", As::Staff).await;
    assert_eq!(r.body, json!({"ok": true, "violations": []}));
}

#[tokio::test]
async fn a_flooding_user_is_rate_limited_with_retry_after_while_others_are_served() {
    let mut s = common::settings(None, None);
    s.rate_limit_per_second = 1;
    s.rate_limit_burst = 5;
    let app = TestApp::with(s).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.get("/api/me", As::User(9001)).await);
    }
    let ok = statuses.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(ok, 5, "the burst passes, the rest waits");
    let limited = statuses.last().unwrap();
    assert_eq!((limited.status, limited.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert!(limited.is_problem());
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After in whole seconds: {retry}");
    assert_eq!(app.get("/api/me", As::User(9002)).await.status, StatusCode::OK, "another user is served");
    for _ in 0..10 {
        assert_eq!(app.get("/api/admin/audit", As::Staff).await.status, StatusCode::OK, "staff are exempt");
    }
    let metrics = app.get("/metrics", As::Staff).await.body;
    assert!(metrics.as_str().unwrap().contains("rate_limited_total"));
}

#[tokio::test]
async fn requests_without_a_user_are_limited_by_address() {
    let mut s = common::settings(None, None);
    s.rate_limit_per_second = 1;
    s.rate_limit_burst = 3;
    let app = TestApp::with(s).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(app.get("/api/me", As::Header("tma forged".into())).await.status);
    }
    assert_eq!(codes[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(codes[3..], [StatusCode::TOO_MANY_REQUESTS; 2], "bad credentials count against the address");
    assert_eq!(app.get("/api/me", As::User(9003)).await.status, StatusCode::OK, "a real user is not held back");
}

/// Every route the document says honours `Idempotency-Key` reads it and holds it to the
/// document's rule (1–255 printable ASCII, no space at either end): a key outside it is 400.
#[tokio::test]
async fn every_route_that_declares_an_idempotency_key_refuses_one_its_document_forbids() {
    let app = TestApp::memory().await;
    let doc = app.get("/openapi.json", As::Nobody).await.body;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("post") else { continue };
        let declares = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"].as_str() == Some("Idempotency-Key")));
        if !declares {
            continue;
        }
        let staff = op["security"].as_array().unwrap().iter().any(|s| s.get("staff").is_some());
        let who = if staff { format!("Bearer {}", common::STAFF_TOKEN) } else { common::tma(ALICE) };
        let uri = path.replace("{id}", &uuid::Uuid::nil().to_string());
        for bad in [&b"a\tb"[..], b"x".repeat(256).as_slice(), "ключ".as_bytes()] {
            let req = Request::post(&uri)
                .header(header::AUTHORIZATION, &who)
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", axum::http::HeaderValue::from_bytes(bad).unwrap())
                .body(Body::from("{}"))
                .unwrap();
            let r = app.raw(req).await;
            assert_eq!(
                (r.status, r.code()),
                (StatusCode::BAD_REQUEST, "malformed_request"),
                "{path} with key {:?}: {}",
                String::from_utf8_lossy(bad),
                r.body
            );
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} routes declare the key");
}
