//! End to end: the real binary, as a user would run it.

use crate::common;

use axum::http::StatusCode;
use common::{As, Server};
use serde_json::json;

#[tokio::test]
async fn with_nothing_configured_serve_answers_and_init_data_gives_a_working_credential() {
    let tmp = std::env::temp_dir().join(format!("atomarket-e2e-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&tmp).unwrap();
    let tmpdir = tmp.to_string_lossy().to_string();
    let server =
        Server::start(&[("BOT_TOKEN", String::new()), ("STAFF_TOKENS", String::new()), ("TMPDIR", tmpdir.clone())])
            .await;
    let (status, body) = server.get("/healthz", As::Nobody).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_atomarket"))
        .args(["init-data", "--user-id", "77", "--username", "neo"])
        .env_remove("BOT_TOKEN")
        .env("TMPDIR", &tmpdir)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let credential = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (status, me) = server.get("/api/me", As::Header(format!("tma {credential}"))).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["id"], 77);
    assert_eq!(me["username"], "neo");
    server.stop().await;
    std::fs::remove_dir_all(tmp).ok();
}

#[tokio::test]
async fn a_sale_on_postgres_and_redis_end_to_end() {
    common::require_redis().await;
    let db = common::fresh_database().await;
    let server = Server::start(&[("DATABASE_URL", db.url.clone()), ("REDIS_URL", common::redis_url())]).await;

    let (s, nft) = server
        .post(
            "/api/admin/nfts",
            As::Staff,
            json!({"owner_id": 1, "gift_id": "e2e-1", "title": "Durov's Cap", "collection": "caps"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = nft["id"].as_str().unwrap();
    let (s, _) = server.post("/api/nft/set-price", As::User(2), json!({"nft_id": id, "price": "1"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the owner sets the price");
    let (s, _) = server.post("/api/nft/set-price", As::User(1), json!({"nft_id": id, "price": 42})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        server.post("/api/admin/deposits", As::Staff, json!({"user_id": 2, "amount": "50", "tx_hash": "e2e-tx"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, replay) =
        server.post("/api/admin/deposits", As::Staff, json!({"user_id": 2, "amount": "50", "tx_hash": "e2e-tx"})).await;
    assert_eq!((s, replay["amount"].as_str()), (StatusCode::OK, Some("50")));

    let (s, bought) = server.post("/api/nft/buy", As::User(2), json!({"nft_id": id, "expected_price": "42"})).await;
    assert_eq!(s, StatusCode::OK, "{bought}");
    assert_eq!((bought["price"].as_str(), bought["fee"].as_str()), (Some("42"), Some("2.1")));
    let (_, seller) = server.get("/api/me", As::User(1)).await;
    assert_eq!(seller["available"], "39.9");
    let (_, buyer) = server.get("/api/me", As::User(2)).await;
    assert_eq!(buyer["available"], "8");
    let (_, ledger) = server.get("/api/me/ledger", As::User(2)).await;
    let amounts: Vec<&str> =
        ledger["items"].as_array().unwrap().iter().map(|e| e["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["-42", "50"], "the buyer's side of the sale (one line), then the deposit: {ledger}");

    let (_, metrics) = server.get("/metrics", As::Nobody).await;
    let metrics = metrics.as_str().unwrap();
    assert!(metrics.contains("uow_commits_total{use_case=\"buy_nft\"}"), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds"), "{metrics}");
    let (code, out) = common::run_audit(&db.url).await;
    assert_eq!(code, 0, "{out}");
    server.stop().await;
}

#[tokio::test]
async fn create_partner_with_a_missing_manager_leaves_no_client_on_postgres() {
    let db = common::fresh_database().await;
    let server = Server::start(&[("DATABASE_URL", db.url.clone())]).await;
    let client = json!({"fio": "Ivan Petrov", "age": 40, "description": "", "mobile": "+79990001122", "email": "ivan@example.com"});
    let (s, body) =
        server.post("/api/partners", As::Staff, json!({"manager_id": uuid::Uuid::new_v4(), "client": client})).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (_, manager) = server.post("/api/managers", As::Staff, json!({"name": "Anna"})).await;
    let (s, body) =
        server.post("/api/partners", As::Staff, json!({"manager_id": manager["id"], "client": client})).await;
    assert_eq!(s, StatusCode::CREATED, "the e-mail was not taken by a half-done partner: {body}");
    server.stop().await;
}

#[tokio::test]
async fn audit_exits_non_zero_on_a_violation() {
    let db = common::fresh_database().await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::query("INSERT INTO users (id, available) VALUES (1, 5)").execute(&pool).await.unwrap();
    let (code, out) = common::run_audit(&db.url).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("balance_equals_ledger"), "{out}");
    assert!(out.contains("money_conserved"), "{out}");
}

#[tokio::test]
async fn with_nothing_configured_a_withdrawal_is_sent_through_the_simulated_gateway_and_the_user_is_told() {
    let server = Server::start(&[("RUST_LOG", "info".into()), ("RELAY_INTERVAL_MS", "50".into())]).await;
    let (s, _) =
        server.post("/api/admin/deposits", As::Staff, json!({"user_id": 9, "amount": "10", "tx_hash": "w-1"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let res = server
        .client
        .post(format!("{}/api/market/output", server.base))
        .header("authorization", common::tma(9))
        .header("idempotency-key", "w-key")
        .json(&json!({"amount": "3", "address": "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let mut last = serde_json::Value::Null;
    for _ in 0..100 {
        last = server.get(&format!("/api/market/withdrawals/{id}"), As::User(9)).await.1;
        if last["status"] == "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(last["status"], "sent", "{last}");
    assert_eq!(last["tx_hash"], format!("simulated:{id}"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logs = server.logs().join("\n");
    assert!(logs.contains("SIMULATED payout"), "{logs}");
    assert!(logs.contains("nothing was paid"), "{logs}");
    assert!(logs.contains("notification") && logs.contains("was sent"), "{logs}");
    server.stop().await;
}

/// A body far over the limit gets its 413 as an answer the client reads, not a reset connection:
/// the server reads (and drops) what it will not use before it answers and closes.
#[tokio::test]
async fn an_oversized_body_gets_a_readable_413_not_a_reset_connection() {
    let server = Server::start(&[]).await;
    let url = format!("{}/api/nft/set-price", server.base);
    for size in [1usize << 20, 10 << 20] {
        let body = format!("{{\"nft_id\":\"{}\",\"price\":\"1\",\"pad\":\"{}\"}}", uuid::Uuid::nil(), "x".repeat(size));
        let res = server
            .client
            .post(&url)
            .header("authorization", common::tma(7001))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("a {size}-byte body got no answer: {e:?}"));
        assert_eq!(res.status().as_u16(), 413, "a {size}-byte body");
        assert_eq!(res.headers().get("connection").and_then(|v| v.to_str().ok()), Some("close"));
        let problem: serde_json::Value = res.json().await.expect("a problem body");
        assert_eq!(problem["code"], "payload_too_large", "{problem}");
    }
    // Without credentials the answer is still the 401 it always was, and readable.
    let res =
        server.client.post(&url).header("content-type", "application/json").body(vec![b' '; 1 << 20]).send().await;
    assert_eq!(res.expect("an answer").status().as_u16(), 401);
    // The server goes on serving.
    let (status, _) = server.get("/healthz", As::Nobody).await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}
