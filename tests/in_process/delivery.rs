//! Side effects after commit: the outbox relay against local fakes of the payout gateway and the
//! Telegram Bot API (wiremock), gift returns, and idempotency keys.

use crate::common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{As, TestApp};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

const ADDRESS: &str = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";
const USER: i64 = 6001;

/// What the fake gateway does with the next POST.
#[derive(Clone, Copy, Debug)]
enum Next {
    Fail500,
    /// Answers too late; nothing applied.
    Timeout,
    /// Applies the payout, then answers too late: the answer is lost.
    ApplyThenTimeout,
    Reject,
    /// 429 with `Retry-After: 30`.
    RateLimited,
    Succeed,
}

/// An idempotent payout gateway: one payout per id, however often it is sent.
#[derive(Default)]
struct FakeGateway {
    script: Mutex<VecDeque<Next>>,
    applied: Mutex<HashMap<String, String>>,
    posts: Mutex<usize>,
}

const SLOW: Duration = Duration::from_millis(600);

impl FakeGateway {
    fn apply(&self, id: &str) -> String {
        self.applied.lock().unwrap().entry(id.to_string()).or_insert_with(|| format!("tx-{id}")).clone()
    }

    fn payouts(&self) -> usize {
        self.applied.lock().unwrap().len()
    }
}

/// The wiremock responder sharing the gateway's state with the test.
struct Responder(Arc<FakeGateway>);

impl Respond for Responder {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        self.0.answer(req)
    }
}

impl FakeGateway {
    fn answer(&self, req: &wiremock::Request) -> ResponseTemplate {
        if req.method.as_str() == "GET" {
            let id = req.url.path().rsplit('/').next().unwrap().to_string();
            return match self.applied.lock().unwrap().get(&id) {
                Some(tx) => {
                    ResponseTemplate::new(200).set_body_json(json!({"id": id, "status": "sent", "tx_hash": tx}))
                }
                None => ResponseTemplate::new(404),
            };
        }
        *self.posts.lock().unwrap() += 1;
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let id = body["id"].as_str().unwrap().to_string();
        assert_eq!(req.headers.get("idempotency-key").unwrap().to_str().unwrap(), id, "the withdrawal id is the key");
        match self.script.lock().unwrap().pop_front().unwrap_or(Next::Succeed) {
            Next::Fail500 => ResponseTemplate::new(500),
            Next::Timeout => ResponseTemplate::new(500).set_delay(SLOW),
            Next::ApplyThenTimeout => {
                let tx = self.apply(&id);
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": id, "status": "sent", "tx_hash": tx}))
                    .set_delay(SLOW)
            }
            Next::RateLimited => ResponseTemplate::new(429).insert_header("retry-after", "30"),
            Next::Reject => ResponseTemplate::new(400)
                .set_body_json(json!({"id": id, "status": "rejected", "reason": "invalid address"})),
            Next::Succeed => {
                let tx = self.apply(&id);
                ResponseTemplate::new(200).set_body_json(json!({"id": id, "status": "sent", "tx_hash": tx}))
            }
        }
    }
}

struct World {
    app: TestApp,
    gateway: Arc<FakeGateway>,
    _payouts: MockServer,
    telegram: MockServer,
}

async fn world(script: &[Next], max_attempts: u32, database: Option<String>) -> World {
    let payouts = MockServer::start().await;
    let gateway = Arc::new(FakeGateway { script: Mutex::new(script.iter().copied().collect()), ..Default::default() });
    Mock::given(path_regex("^/payouts")).respond_with(Responder(gateway.clone())).mount(&payouts).await;
    let telegram = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/sendMessage$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {}})))
        .mount(&telegram)
        .await;
    let mut s = common::settings(database, None);
    s.payout_gateway_url = Some(payouts.uri());
    s.payout_gateway_key = "secret".into();
    s.gateway_timeout_ms = 300;
    s.relay_max_attempts = max_attempts;
    s.relay_base_delay_ms = 100;
    s.relay_max_delay_ms = 1_000;
    s.telegram_delivery = "telegram".into();
    s.telegram_api_url = telegram.uri();
    let app = TestApp::with(s).await;
    World { app, gateway, _payouts: payouts, telegram }
}

async fn withdraw(app: &TestApp, user: i64, key: &str, body: Value) -> common::Reply {
    let req = Request::post("/api/market/output")
        .header("authorization", common::tma(user))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(body.to_string()))
        .unwrap();
    app.raw(req).await
}

/// Runs the relay `passes` times, moving the clock past any backoff in between.
async fn drain(app: &TestApp, passes: usize) {
    for _ in 0..passes {
        app.app.relay.run_once().await;
        app.advance(2);
    }
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/market/withdrawals/{id}"), As::User(USER)).await.body
}

async fn messages_sent(telegram: &MockServer) -> Vec<String> {
    telegram
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|b| b["text"].as_str().map(str::to_string))
        .collect()
}

async fn gateway_errors_and_timeouts_then_success_pay_exactly_once(database: Option<String>) {
    let w = world(&[Next::Fail500, Next::Timeout, Next::Fail500, Next::Succeed], 10, database).await;
    w.app.deposit(USER, "10").await;
    let r = withdraw(&w.app, USER, "k1", json!({"amount": "3", "address": ADDRESS})).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    drain(&w.app, 8).await;
    let s = status_of(&w.app, &id).await;
    assert_eq!((s["status"].as_str(), s["tx_hash"].as_str()), (Some("sent"), Some(format!("tx-{id}").as_str())));
    assert_eq!(w.gateway.payouts(), 1, "one payout at the gateway");
    assert_eq!(w.app.balances(USER).await, ("7".into(), "0".into()));
    assert!(messages_sent(&w.telegram).await.iter().any(|t| t.contains("was sent")), "the user is told");
    w.app.assert_audit_clean().await;
}

async fn an_applied_payout_whose_answer_was_lost_is_found_by_lookup_and_never_paid_twice(database: Option<String>) {
    let w = world(&[Next::ApplyThenTimeout], 10, database).await;
    w.app.deposit(USER, "10").await;
    let id = withdraw(&w.app, USER, "k1", json!({"amount": "4", "address": ADDRESS})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    drain(&w.app, 4).await;
    assert_eq!(status_of(&w.app, &id).await["status"], "sent");
    assert_eq!(*w.gateway.posts.lock().unwrap(), 1, "the retry looked the payout up instead of sending again");
    assert_eq!(w.gateway.payouts(), 1);
    assert_eq!(w.app.balances(USER).await, ("6".into(), "0".into()), "no refund of a payout that was made");
    w.app.assert_audit_clean().await;
}

async fn a_definite_rejection_refunds_notifies_and_keeps_the_ledger_balanced(database: Option<String>) {
    let w = world(&[Next::Reject], 10, database).await;
    w.app.deposit(USER, "10").await;
    let id = withdraw(&w.app, USER, "k1", json!({"amount": "4", "address": ADDRESS})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    drain(&w.app, 3).await;
    assert_eq!(status_of(&w.app, &id).await["status"], "failed");
    assert_eq!(w.gateway.payouts(), 0);
    assert_eq!(w.app.balances(USER).await, ("10".into(), "0".into()));
    assert!(messages_sent(&w.telegram).await.iter().any(|t| t.contains("failed")), "the user is told");
    let ledger = w.app.get("/api/me/ledger", As::User(USER)).await.body;
    let ops: Vec<&str> = ledger["items"].as_array().unwrap().iter().map(|e| e["operation"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        ["payout_failed", "payout_failed", "withdrawal", "withdrawal", "deposit"],
        "both sides of each move"
    );
    w.app.assert_audit_clean().await;
}

async fn exhausted_attempts_leave_the_payout_stuck_and_never_refunded(database: Option<String>) {
    let w = world(&[Next::Fail500; 10], 3, database).await;
    w.app.deposit(USER, "10").await;
    let id = withdraw(&w.app, USER, "k1", json!({"amount": "4", "address": ADDRESS})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    drain(&w.app, 6).await;
    assert_eq!(status_of(&w.app, &id).await["status"], "stuck");
    assert_eq!(*w.gateway.posts.lock().unwrap(), 3, "bounded attempts");
    assert_eq!(w.app.balances(USER).await, ("6".into(), "0".into()), "a stuck payout may have been paid: no refund");
    let metrics = w.app.get("/metrics", As::Nobody).await.body;
    assert!(metrics.as_str().unwrap().contains("payouts_stuck_total"), "alerted through a metric");
    w.app.assert_audit_clean().await;
}

async fn staff_resolve_a_stuck_payout_once_with_an_audit_trail(database: Option<String>) {
    let w = world(&[Next::Fail500; 6], 3, database).await;
    w.app.deposit(USER, "10").await;
    let mut ids = Vec::new();
    for key in ["k1", "k2"] {
        let r = withdraw(&w.app, USER, key, json!({"amount": "4", "address": ADDRESS})).await;
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    drain(&w.app, 6).await;
    assert_eq!(status_of(&w.app, &ids[0]).await["status"], "stuck");
    let resolve = |id: &str| format!("/api/admin/withdrawals/{id}/resolve");

    let r = w.app.post(&resolve(&ids[0]), As::User(USER), json!({"outcome": "failed"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "staff only");
    let r = w.app.post(&resolve(&ids[0]), As::Staff, json!({"outcome": "sent"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"), "sent needs its hash");
    let r = w.app.post(&resolve(&ids[0]), As::Staff, json!({"outcome": "lost"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = w.app.post(&resolve(&uuid::Uuid::now_v7().to_string()), As::Staff, json!({"outcome": "failed"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));

    let r = w.app.post(&resolve(&ids[0]), As::Staff, json!({"outcome": "sent", "tx_hash": "found-on-chain"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.body["status"].as_str(), r.body["tx_hash"].as_str()), (Some("sent"), Some("found-on-chain")));
    let r = w.app.post(&resolve(&ids[1]), As::Staff, json!({"outcome": "failed"})).await;
    assert_eq!(r.body["status"], "failed");
    assert_eq!(w.app.balances(USER).await, ("6".into(), "0".into()), "the failed one is refunded, the sent one is not");

    let again = w.app.post(&resolve(&ids[0]), As::Staff, json!({"outcome": "failed"})).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "withdrawal_not_stuck"), "resolved once");
    w.app.assert_audit_clean().await;
    if let Some(pg) = &w.app.app.pg {
        let trail: Vec<(String, String)> = sqlx::query_as(
            "SELECT action, detail FROM staff_actions WHERE action <> 'credit_deposit' ORDER BY created_at",
        )
        .fetch_all(pg.pool())
        .await
        .unwrap();
        assert_eq!(trail.len(), 2);
        assert_eq!(trail[0], ("resolve_withdrawal".into(), "sent: found-on-chain".into()));
    }
}

#[tokio::test]
async fn the_payout_gateways_retry_after_is_honoured() {
    let w = world(&[Next::RateLimited], 10, None).await;
    w.app.deposit(USER, "10").await;
    let id = withdraw(&w.app, USER, "k1", json!({"amount": "3", "address": ADDRESS})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.app.app.relay.run_once().await;
    assert_eq!(*w.gateway.posts.lock().unwrap(), 1);
    w.app.advance(29);
    w.app.app.relay.run_once().await;
    assert_eq!(*w.gateway.posts.lock().unwrap(), 1, "not before Retry-After");
    w.app.advance(2);
    w.app.app.relay.run_once().await;
    assert_eq!(*w.gateway.posts.lock().unwrap(), 2);
    assert_eq!(status_of(&w.app, &id).await["status"], "sent");
    assert_eq!(w.gateway.payouts(), 1);
}

#[tokio::test]
async fn telegram_429_retry_after_is_honoured() {
    let telegram = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/sendMessage$"))
        .respond_with(ResponseTemplate::new(429).set_body_json(
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 30", "parameters": {"retry_after": 30}}),
        ))
        .up_to_n_times(1)
        .mount(&telegram)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/sendMessage$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {}})))
        .mount(&telegram)
        .await;
    let mut s = common::settings(None, None);
    s.telegram_delivery = "telegram".into();
    s.telegram_api_url = telegram.uri();
    s.relay_base_delay_ms = 10;
    let app = TestApp::with(s).await;
    let nft = app.nft(7001, Some("1")).await;
    app.deposit(7002, "5").await;
    app.post("/api/nft/buy", As::User(7002), json!({"nft_id": nft})).await;

    app.app.relay.run_once().await;
    assert_eq!(telegram.received_requests().await.unwrap().len(), 1);
    app.advance(29);
    app.app.relay.run_once().await;
    assert_eq!(telegram.received_requests().await.unwrap().len(), 1, "not before retry_after");
    app.advance(2);
    let report = app.app.relay.run_once().await;
    assert_eq!((telegram.received_requests().await.unwrap().len(), report.delivered), (2, 1));
    let sent: Value = serde_json::from_slice(&telegram.received_requests().await.unwrap()[1].body).unwrap();
    assert_eq!(sent["chat_id"], 7001, "the seller is told");
}

async fn a_rolled_back_operation_sends_nothing(database: Option<String>) {
    let w = world(&[], 10, database).await;
    let nft = w.app.nft(7101, Some("5")).await;
    w.app.deposit(7102, "1").await;
    let r = w.app.post("/api/nft/buy", As::User(7102), json!({"nft_id": nft})).await;
    assert_eq!(r.code(), "insufficient_funds");
    let r = withdraw(&w.app, 7102, "k", json!({"amount": "2", "address": ADDRESS})).await;
    assert_eq!(r.code(), "insufficient_funds");
    drain(&w.app, 2).await;
    assert!(w.telegram.received_requests().await.unwrap().is_empty());
    assert_eq!(*w.gateway.posts.lock().unwrap(), 0);

    // Those failed before they wrote anything; this one writes its notice, then is rolled back —
    // dropped, or failed midway — and the same notice committed is the control that it would
    // have been sent.
    use app::nfts::buy::BuyNftUow as NoticeUow;
    use domain::{NftId, OutboxId, OutboxMessage, OutboxPayload, UserId};
    let notice = |text: &str| OutboxMessage {
        id: OutboxId(uuid::Uuid::now_v7()),
        payload: OutboxPayload::Notify { user_id: UserId(7102), text: text.into() },
        created_at: chrono::Utc::now(),
    };
    let storage = w.app.app.state.ctx.uows();
    let mut uow = app::uow::Begin::<dyn NoticeUow>::begin(&*storage, "test").await.unwrap();
    uow.outbox().enqueue(&notice("dropped")).await.unwrap();
    drop(uow);
    let mut uow = app::uow::Begin::<dyn NoticeUow>::begin(&*storage, "test").await.unwrap();
    uow.outbox().enqueue(&notice("failed midway")).await.unwrap();
    let listed = NftId(nft.parse().unwrap());
    let mut twin = w.app.app.state.reads.nft(listed).await.unwrap().unwrap();
    twin.id = NftId(uuid::Uuid::now_v7());
    let failed = uow.nfts().insert(&twin).await;
    assert!(failed.is_err(), "the gift is registered already: {failed:?}");
    drop(uow);
    drain(&w.app, 2).await;
    assert!(w.telegram.received_requests().await.unwrap().is_empty(), "rolled-back notices are never sent");

    let mut uow = app::uow::Begin::<dyn NoticeUow>::begin(&*storage, "test").await.unwrap();
    uow.outbox().enqueue(&notice("committed")).await.unwrap();
    uow.commit().await.unwrap();
    drain(&w.app, 2).await;
    let sent = w.telegram.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1, "the committed notice is sent, and only it");
    assert!(String::from_utf8_lossy(&sent[0].body).contains("committed"));
}

#[tokio::test]
async fn a_relay_stopped_between_commit_and_delivery_delivers_after_a_restart() {
    let db = common::fresh_database().await;
    let first = world(&[], 10, Some(db.url.clone())).await;
    first.app.deposit(USER, "10").await;
    let id = withdraw(&first.app, USER, "k1", json!({"amount": "3", "address": ADDRESS})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The first instance claims the row, then dies before delivering it.
    use app::ports::OutboxQueue;
    let pg = first.app.app.pg.clone().unwrap();
    let now = chrono::Utc::now() + chrono::Duration::seconds(5);
    assert_eq!(pg.claim(now, 10, now + chrono::Duration::seconds(300)).await.unwrap().len(), 1);
    drop(first);

    let second = world(&[], 10, Some(db.url.clone())).await;
    second.app.app.relay.run_once().await;
    assert_eq!(status_of(&second.app, &id).await["status"], "pending", "leased by the dead instance");
    second.app.advance(310);
    drain(&second.app, 2).await;
    assert_eq!(status_of(&second.app, &id).await["status"], "sent", "delivered after the lease ran out");
    assert_eq!(second.gateway.payouts(), 1);
    second.app.assert_audit_clean().await;
}

/// Commits `n` due notifications (texts `"{prefix} {i}"`) to the outbox in one Unit of Work.
async fn enqueue_notifications(pg: &adapters_postgres::PgStore, n: usize, prefix: &str) {
    use app::nfts::buy::BuyNftUow;
    use app::uow::Begin;
    let mut uow = Begin::<dyn BuyNftUow>::begin(pg, "test").await.unwrap();
    for i in 0..n {
        let msg = domain::OutboxMessage {
            id: domain::OutboxId(uuid::Uuid::now_v7()),
            payload: domain::OutboxPayload::Notify { user_id: domain::UserId(1), text: format!("{prefix} {i}") },
            created_at: chrono::Utc::now() - chrono::Duration::seconds(1),
        };
        uow.outbox().enqueue(&msg).await.unwrap();
    }
    uow.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_relays_on_one_postgres_outbox_deliver_each_row_once() {
    let db = common::fresh_database().await;
    let one = world(&[], 10, Some(db.url.clone())).await;
    let mut s = common::settings(Some(db.url.clone()), None);
    s.telegram_delivery = "telegram".into();
    s.telegram_api_url = one.telegram.uri();
    let two = TestApp::with(s).await;
    let pg = one.app.app.pg.clone().unwrap();
    enqueue_notifications(&pg, 40, "message").await;
    let (a, b) = tokio::join!(
        async {
            let mut n = 0;
            for _ in 0..8 {
                n += one.app.app.relay.run_once().await.delivered;
            }
            n
        },
        async {
            let mut n = 0;
            for _ in 0..8 {
                n += two.app.relay.run_once().await.delivered;
            }
            n
        }
    );
    assert_eq!(a + b, 40);
    let mut texts = messages_sent(&one.telegram).await;
    texts.sort();
    texts.dedup();
    assert_eq!((messages_sent(&one.telegram).await.len(), texts.len()), (40, 40), "each row delivered once");
}

// ----- gift returns -----

#[tokio::test]
async fn a_delivered_gift_return_makes_the_nft_withdrawn() {
    let app = TestApp::memory().await;
    let nft = app.nft(7201, None).await;
    app.post("/api/nft/back", As::User(7201), json!({"nft_id": nft})).await;
    app.app.relay.run_once().await;
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(7201)).await;
    assert_eq!(n.body["status"], "withdrawn");
}

#[tokio::test]
async fn a_refused_gift_return_makes_the_nft_available_again_and_tells_the_owner() {
    let telegram = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/transferGift$"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"ok": false, "error_code": 400, "description": "Bad Request: gift not found"})),
        )
        .mount(&telegram)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/sendMessage$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {}})))
        .mount(&telegram)
        .await;
    let mut s = common::settings(None, None);
    s.telegram_delivery = "telegram".into();
    s.telegram_api_url = telegram.uri();
    s.telegram_business_connection_id = Some("bc-1".into());
    let app = TestApp::with(s).await;
    let nft = app.nft(7301, None).await;
    app.post("/api/nft/back", As::User(7301), json!({"nft_id": nft})).await;
    app.app.relay.run_once().await;
    let n = app.get(&format!("/api/nfts/{nft}"), As::User(7301)).await;
    assert_eq!(n.body["status"], "available");
    app.app.relay.run_once().await;
    let transfer: Value = serde_json::from_slice(&telegram.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(
        (transfer["business_connection_id"].as_str(), transfer["new_owner_chat_id"].as_i64()),
        (Some("bc-1"), Some(7301))
    );
    assert!(messages_sent(&telegram).await.iter().any(|t| t.contains("failed")), "the owner is told");
}

// ----- idempotency keys -----

async fn idempotent_withdrawals(app: TestApp) {
    let app = Arc::new(app);
    app.deposit(USER, "100").await;
    let body = json!({"amount": "5", "address": ADDRESS});
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            let body = body.clone();
            tokio::spawn(async move { withdraw(&app, USER, "same-key", body).await })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.unwrap());
    }
    assert!(
        replies.iter().all(|r| r.status == StatusCode::ACCEPTED || r.code() == "idempotency_key_in_use"),
        "{replies:?}"
    );
    assert!(replies.iter().any(|r| r.status == StatusCode::ACCEPTED));
    let list = app.get("/api/market/withdrawals", As::User(USER)).await.body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "one execution");
    assert_eq!(app.money(USER).await.0, Decimal::from(95), "one debit");

    let first = withdraw(&app, USER, "same-key", body.clone()).await;
    let again = withdraw(&app, USER, "same-key", body.clone()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!((again.status, &again.body), (first.status, &first.body), "a replay is identical");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(first.body["id"], list["items"][0]["id"]);

    let other = withdraw(&app, USER, "same-key", json!({"amount": "6", "address": ADDRESS})).await;
    assert_eq!((other.status, other.code()), (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"));
    app.deposit(USER + 1, "10").await;
    let someone_else = withdraw(&app, USER + 1, "same-key", body).await;
    assert_eq!(someone_else.status, StatusCode::ACCEPTED, "keys are scoped per user");
    assert_eq!(app.money(USER).await.0, Decimal::from(95));
    app.assert_audit_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_withdrawals_on_memory() {
    idempotent_withdrawals(TestApp::memory().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_withdrawals_on_postgres() {
    idempotent_withdrawals(TestApp::postgres().await).await;
}

#[tokio::test]
async fn a_buy_replayed_with_its_key_charges_once_and_a_failed_one_frees_the_key() {
    let app = TestApp::memory().await;
    let nft = app.nft(7401, Some("4")).await;
    app.deposit(7402, "3").await;
    let buy = |key: &'static str| {
        Request::post("/api/nft/buy")
            .header("authorization", common::tma(7402))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(json!({"nft_id": nft}).to_string()))
            .unwrap()
    };
    let failed = app.raw(buy("b1")).await;
    assert_eq!(failed.code(), "insufficient_funds");
    app.deposit(7402, "2").await;
    let ok = app.raw(buy("b1")).await;
    assert_eq!(ok.status, StatusCode::OK, "a failed attempt did not consume the key: {:?}", ok.body);
    let replay = app.raw(buy("b1")).await;
    assert_eq!((replay.status, replay.body.clone()), (StatusCode::OK, ok.body));
    assert_eq!(app.balances(7402).await, ("1".into(), "0".into()), "charged once");
}

#[tokio::test]
async fn stale_keys_are_reaped_after_24_hours() {
    let app = TestApp::memory().await;
    app.deposit(USER, "10").await;
    withdraw(&app, USER, "old", json!({"amount": "1", "address": ADDRESS})).await;
    assert_eq!(app.run_jobs().await.keys_reaped, 0);
    app.advance(24 * 3600 + 1);
    assert_eq!(app.run_jobs().await.keys_reaped, 1);
    let fresh = withdraw(&app, USER, "old", json!({"amount": "1", "address": ADDRESS})).await;
    assert_eq!(fresh.status, StatusCode::ACCEPTED);
    assert_eq!(app.get("/api/market/withdrawals", As::User(USER)).await.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_payout_gateway_is_called_with_the_documented_request() {
    let w = world(&[], 10, None).await;
    w.app.deposit(USER, "10").await;
    withdraw(&w.app, USER, "k", json!({"amount": "2.5", "address": ADDRESS})).await;
    w.app.app.relay.run_once().await;
    let reqs = w._payouts.received_requests().await.unwrap();
    let post = reqs.iter().find(|r| r.method.as_str() == "POST").unwrap();
    assert_eq!(post.url.path(), "/payouts");
    assert_eq!(post.headers.get("authorization").unwrap(), "Bearer secret");
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!((body["amount"].as_str(), body["address"].as_str()), (Some("2.5"), Some(ADDRESS)));
}

macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(None).await;
                }
            )*
        }

        mod on_postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let db = crate::common::fresh_database().await;
                    super::$test(Some(db.url.clone())).await;
                }
            )*
        }
    };
}

on_both_stores!(
    gateway_errors_and_timeouts_then_success_pay_exactly_once,
    an_applied_payout_whose_answer_was_lost_is_found_by_lookup_and_never_paid_twice,
    a_definite_rejection_refunds_notifies_and_keeps_the_ledger_balanced,
    exhausted_attempts_leave_the_payout_stuck_and_never_refunded,
    staff_resolve_a_stuck_payout_once_with_an_audit_trail,
    a_rolled_back_operation_sends_nothing,
);

/// The relay keeps up with the market: a backlog is delivered pass after pass, not one batch per
/// interval (10 rows every 500 ms would take 30 s for these 600).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_drains_a_backlog_without_waiting_between_full_batches() {
    let db = common::fresh_database().await;
    let w = world(&[], 10, Some(db.url.clone())).await;
    let pg = w.app.app.pg.clone().unwrap();
    enqueue_notifications(&pg, 600, "backlog").await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let relay = tokio::spawn(atomarket::run_relay(w.app.app.relay.clone(), Duration::from_millis(500), async {
        let _ = stopped.await;
    }));
    use app::ports::OutboxQueue;
    let started = std::time::Instant::now();
    while pg.backlog().await.unwrap() > 0 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    let _ = stop.send(());
    relay.await.unwrap();
    assert_eq!(pg.backlog().await.unwrap(), 0, "delivered everything");
    assert!(took < Duration::from_secs(10), "600 rows took {took:?}");
    let mut texts = messages_sent(&w.telegram).await;
    texts.retain(|t| t.starts_with("backlog "));
    let sent = texts.len();
    texts.sort();
    texts.dedup();
    assert_eq!((sent, texts.len()), (600, 600), "each row delivered once");
}
