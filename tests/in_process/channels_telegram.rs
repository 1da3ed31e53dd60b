//! Channel sales against a local fake of the Telegram Bot API (wiremock) answering `getMe`,
//! `getChat` and `getChatAdministrators` as the Bot API documents them: verification, refusals
//! (chat not found, bot not a member, not a channel, not the creator), `retry_after`, Telegram
//! down, and release once Telegram shows the buyer as the creator.

use crate::common;

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::{As, TestApp};
use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SELLER: i64 = 6201;
const BUYER: i64 = 6202;
const BOT_ID: i64 = 4242;
const HUB: i64 = -1001234567890;

/// What the fake Telegram knows.
struct FakeTelegram {
    /// Who is the creator of @gift_hub right now.
    creator: Mutex<i64>,
    /// `getChat` calls answered `429 retry_after` before a real answer.
    rate_limit_next: Mutex<u32>,
    /// Every call fails with 500.
    down: Mutex<bool>,
    calls: Mutex<Vec<String>>,
}

struct Bot(Arc<FakeTelegram>);

fn ok(result: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": result}))
}

fn refused(code: u16, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({"ok": false, "error_code": code, "description": description}))
}

fn admin(id: i64, is_bot: bool, status: &str) -> Value {
    json!({"status": status, "user": {"id": id, "is_bot": is_bot, "first_name": "x"}, "is_anonymous": false})
}

impl Respond for Bot {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let t = &self.0;
        let method = req.url.path().rsplit('/').next().unwrap().to_string();
        t.calls.lock().unwrap().push(method.clone());
        if *t.down.lock().unwrap() {
            return refused(500, "Internal Server Error");
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let chat = body["chat_id"].clone();
        match method.as_str() {
            "getMe" => ok(json!({"id": BOT_ID, "is_bot": true, "first_name": "Market", "username": "market_bot"})),
            "sendMessage" => {
                ok(json!({"message_id": 1, "date": 0, "chat": {"id": body["chat_id"], "type": "private"}}))
            }
            "getChat" => {
                let mut limited = t.rate_limit_next.lock().unwrap();
                if *limited > 0 {
                    *limited -= 1;
                    return ResponseTemplate::new(429).set_body_json(json!({
                        "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
                        "parameters": {"retry_after": 1}
                    }));
                }
                match chat.as_str().map(str::to_string).unwrap_or_else(|| chat.to_string()).as_str() {
                    "@gift_hub" | "-1001234567890" => {
                        ok(json!({"id": HUB, "type": "channel", "title": "Gift Hub", "username": "gift_hub"}))
                    }
                    "@no_bot_here" => ok(json!({"id": -1002, "type": "channel", "title": "Private"})),
                    "@a_group" => ok(json!({"id": -1003, "type": "supergroup", "title": "Chat"})),
                    _ => refused(400, "Bad Request: chat not found"),
                }
            }
            "getChatAdministrators" => match chat.as_i64() {
                Some(HUB) => {
                    let creator = *t.creator.lock().unwrap();
                    ok(json!([admin(creator, false, "creator"), admin(BOT_ID, true, "administrator")]))
                }
                _ => refused(403, "Forbidden: bot is not a member of the channel chat"),
            },
            _ => refused(404, "Not Found"),
        }
    }
}

async fn world() -> (TestApp, Arc<FakeTelegram>, MockServer) {
    world_with(|_| {}).await
}

/// The fake Bot API, an app pointed at it (settings changed by `configure`), both users funded.
async fn world_with(configure: impl FnOnce(&mut atomarket::Settings)) -> (TestApp, Arc<FakeTelegram>, MockServer) {
    let server = MockServer::start().await;
    let fake = Arc::new(FakeTelegram {
        creator: Mutex::new(SELLER),
        rate_limit_next: Mutex::new(0),
        down: Mutex::new(false),
        calls: Mutex::new(Vec::new()),
    });
    Mock::given(wiremock::matchers::method("POST")).respond_with(Bot(fake.clone())).mount(&server).await;
    let mut s = common::settings(None, None);
    s.telegram_delivery = "telegram".into();
    s.telegram_api_url = server.uri();
    s.gateway_timeout_ms = 3_000;
    configure(&mut s);
    let app = TestApp::with(s).await;
    app.deposit(SELLER, "1").await;
    app.deposit(BUYER, "500").await;
    (app, fake, server)
}

async fn list(app: &TestApp, channel: &str) -> common::Reply {
    app.post("/api/channels/new", As::User(SELLER), json!({"channel": channel, "price": "100"})).await
}

#[tokio::test]
async fn a_verified_channel_is_listed_with_telegrams_id_and_title() {
    let (app, fake, _server) = world().await;
    let r = list(&app, "@gift_hub").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!((r.body["chat_id"].as_i64(), r.body["title"].as_str()), (Some(HUB), Some("Gift Hub")));
    let by_id =
        app.post("/api/channels/new", As::User(SELLER), json!({"channel": HUB.to_string(), "price": "1"})).await;
    assert_eq!(
        (by_id.status, by_id.code()),
        (StatusCode::CONFLICT, "channel_listed"),
        "one listing per resolved chat id"
    );
    assert_eq!(fake.calls.lock().unwrap().iter().filter(|c| *c == "getMe").count(), 1, "the bot's id is asked once");
}

#[tokio::test]
async fn a_channel_telegram_will_not_vouch_for_is_not_verified() {
    let (app, _fake, _server) = world().await;
    let r = app.post("/api/channels/new", As::User(BUYER), json!({"channel": "@gift_hub", "price": "100"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "channel_not_verified"));
    assert!(r.body["detail"].as_str().unwrap().contains("creator"), "{}", r.body);
    for (channel, reason) in
        [("@no_bot_here", "administrator"), ("@nowhere_at_all", "does not exist"), ("@a_group", "does not exist")]
    {
        let r = list(&app, channel).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "channel_not_verified"), "{channel}");
        assert!(r.body["detail"].as_str().unwrap().contains(reason), "{channel}: {}", r.body);
    }
}

#[tokio::test]
async fn telegrams_retry_after_is_waited_out_and_telegram_down_is_a_503() {
    let (app, fake, _server) = world().await;
    *fake.rate_limit_next.lock().unwrap() = 1;
    let started = std::time::Instant::now();
    let r = list(&app, "@gift_hub").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "waited as Telegram asked");
    assert_eq!(fake.calls.lock().unwrap().iter().filter(|c| *c == "getChat").count(), 2);

    *fake.down.lock().unwrap() = true;
    let r = app.post("/api/channels/new", As::User(SELLER), json!({"channel": "@other_hub", "price": "1"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
}

#[tokio::test]
async fn the_seller_and_the_job_release_only_once_telegram_shows_the_buyer_as_creator() {
    let (app, fake, _server) = world().await;
    let sale = list(&app, "@gift_hub").await.body;
    let id = sale["id"].clone();
    let r = app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": id})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.post("/api/channels/confirm", As::User(SELLER), json!({"channel_sale_id": id})).await;
    assert_eq!(r.body["status"], "awaiting_transfer", "the seller is still the creator");
    assert_eq!(app.run_jobs().await.channel_sales_settled, 0);

    *fake.creator.lock().unwrap() = BUYER;
    app.advance(61);
    assert_eq!(app.run_jobs().await.channel_sales_settled, 1, "the job sees the transfer");
    let r = app.get(&format!("/api/channels/{}", id.as_str().unwrap()), As::User(SELLER)).await;
    assert_eq!(r.body["status"], "completed");
    assert_eq!(app.balances(SELLER).await, ("96".into(), "0".into()));
    app.assert_audit_clean().await;

    // A second channel, released by the seller's confirmation after the transfer.
    *fake.creator.lock().unwrap() = SELLER;
    let r = app.post("/api/channels/new", As::User(SELLER), json!({"channel": "@gift_hub", "price": "50"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "the channel is free again: {}", r.body);
    let id = r.body["id"].clone();
    app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": id})).await;
    *fake.creator.lock().unwrap() = BUYER;
    let r = app.post("/api/channels/confirm", As::User(SELLER), json!({"channel_sale_id": id})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("completed")));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn telegram_down_at_the_deadline_refunds_nothing_until_it_can_tell() {
    let (app, fake, _server) = world().await;
    let id = list(&app, "@gift_hub").await.body["id"].clone();
    app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": id})).await;
    *fake.down.lock().unwrap() = true;
    app.advance(86_400);
    let report = app.run_jobs().await;
    assert_eq!((report.channel_sales_settled, report.failures), (0, 1));
    assert_eq!(app.balances(BUYER).await, ("400".into(), "100".into()), "still in escrow");
    *fake.down.lock().unwrap() = false;
    app.advance(61);
    assert_eq!(app.run_jobs().await.channel_sales_settled, 1);
    assert_eq!(app.balances(BUYER).await, ("500".into(), "0".into()), "refunded once Telegram says the seller kept it");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_sale_past_its_deadline_is_refunded_at_the_next_pass_whatever_the_check_cadence() {
    let (app, _fake, _server) = world_with(|s| {
        s.channel_transfer_seconds = 3;
        s.channel_check_seconds = 60;
    })
    .await;
    let id = list(&app, "@gift_hub").await.body["id"].clone();
    app.post("/api/channels/buy", As::User(BUYER), json!({"channel_sale_id": id})).await;
    assert_eq!(app.run_jobs().await.channel_sales_settled, 0, "checked once, still within its window");

    app.advance(4);
    assert_eq!(app.run_jobs().await.channel_sales_settled, 1, "due at its deadline, not a minute later");
    assert_eq!(app.balances(BUYER).await, ("500".into(), "0".into()), "refunded");
    app.advance(1);
    assert_eq!(app.run_jobs().await.channel_sales_settled, 0, "and only once");
    app.assert_audit_clean().await;
}
