//! The gift rail (SPEC §3 "What a gift is", §5b): attributes on every NFT, through staff
//! registration and the NFT JSON; the webhook taking gifts into custody from Telegram updates
//! shaped as the Bot API documents them.

use crate::common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{As, TestApp};
use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

const SECRET: &str = "webhook-secret_0123";
const CONNECTION: &str = "AbCdEf0123456789";
const SENDER: i64 = 6_012_345_678;
const OTHER: i64 = 6_012_345_679;

const OWNER: i64 = 9101;

fn register(gift: &str, extra: Value) -> Value {
    let mut body = json!({"owner_id": OWNER, "gift_id": gift, "collection": "Plush Pepe"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

async fn staff_registration_keeps_the_attributes(app: TestApp) {
    let r = app
        .post(
            "/api/admin/nfts",
            As::Staff,
            register(
                "PlushPepe-1234",
                json!({"number": 1234,
                       "model": {"name": "Cozy Galaxy", "rarity_per_mille": 15},
                       "backdrop": {"name": "Midnight Blue", "rarity_per_mille": 0},
                       "symbol": {"name": "Star", "rarity_per_mille": 1000}}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["title"], "Plush Pepe #1234", "the title defaults to collection and number");
    assert_eq!(r.body["number"], 1234);
    assert_eq!(r.body["model"], json!({"name": "Cozy Galaxy", "rarity_per_mille": 15}));
    assert_eq!(r.body["backdrop"], json!({"name": "Midnight Blue", "rarity_per_mille": 0}));
    assert_eq!(r.body["symbol"], json!({"name": "Star", "rarity_per_mille": 1000}));
    assert_eq!(r.body["can_transfer_at"], Value::Null);
    let id = r.body["id"].as_str().unwrap().to_string();
    let read = app.get(&format!("/api/nfts/{id}"), As::User(OWNER)).await;
    assert_eq!(read.body, r.body, "read back as registered");

    // Without attributes: every key present, null; a title given is kept.
    let r = app.post("/api/admin/nfts", As::Staff, register("bare-1", json!({"title": "My gift"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["title"], "My gift");
    for key in ["number", "model", "backdrop", "symbol", "can_transfer_at"] {
        assert_eq!(r.body.get(key), Some(&Value::Null), "{key} is present and null");
    }
    let r = app.post("/api/admin/nfts", As::Staff, register("bare-2", json!({}))).await;
    assert_eq!(r.body["title"], "Plush Pepe", "no number: the collection");

    // Bad attributes: 422 naming the field, nothing registered.
    for (extra, field) in [
        (json!({"model": {"name": "M", "rarity_per_mille": 1001}}), "model.rarity_per_mille"),
        (json!({"backdrop": {"name": "B", "rarity_per_mille": -1}}), "backdrop.rarity_per_mille"),
        (json!({"symbol": {"name": " ", "rarity_per_mille": 5}}), "symbol.name"),
        (json!({"number": 0}), "number"),
    ] {
        let r = app.post("/api/admin/nfts", As::Staff, register("refused", extra.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{extra}: {:?}", r.body);
    }
    let r = app.post("/api/admin/nfts", As::Staff, register("refused", json!({"model": {"name": "M"}}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a rarity is required with a name: {:?}", r.body);
    let r = app
        .post(
            "/api/admin/nfts",
            As::Staff,
            register("refused", json!({"model": {"name": "M", "rarity_per_mille": 1, "x": 1}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused: {:?}", r.body);
    let page = app.get(&format!("/api/nfts?owner={OWNER}"), As::User(OWNER)).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 3, "nothing refused was registered");
}

#[tokio::test]
async fn staff_registration_keeps_the_attributes_on_memory() {
    staff_registration_keeps_the_attributes(TestApp::memory().await).await;
}

#[tokio::test]
async fn staff_registration_keeps_the_attributes_on_postgres() {
    staff_registration_keeps_the_attributes(TestApp::postgres().await).await;
}

async fn with_webhook(database: Option<String>) -> TestApp {
    let mut s = common::settings(database, None);
    s.telegram_webhook_secret = Some(SECRET.into());
    s.telegram_business_connection_id = Some(CONNECTION.into());
    TestApp::with(s).await
}

async fn webhook_memory() -> TestApp {
    with_webhook(None).await
}

async fn webhook_postgres() -> TestApp {
    let db = std::sync::Arc::new(common::fresh_database().await);
    with_webhook(Some(db.url.clone())).await.keeping(db)
}

/// A unique gift as the Bot API sends it (`UniqueGift`), stickers and colours included.
fn unique_gift(slug: &str, number: i64) -> Value {
    json!({
        "gift_id": "5170145012310081615", "base_name": "Plush Pepe", "name": slug, "number": number,
        "model": {"name": "Cozy Galaxy", "rarity_per_mille": 15,
            "sticker": {"file_id": "CAAC", "file_unique_id": "AgAD", "type": "custom_emoji", "width": 512,
                        "height": 512, "is_animated": true, "is_video": false, "custom_emoji_id": "5368"}},
        "symbol": {"name": "Star", "rarity_per_mille": 4,
            "sticker": {"file_id": "CAAD", "file_unique_id": "AgAE", "type": "custom_emoji", "width": 512,
                        "height": 512, "is_animated": true, "is_video": false}},
        "backdrop": {"name": "Midnight Blue", "rarity_per_mille": 20,
            "colors": {"center_color": 4878245, "edge_color": 2832981, "symbol_color": 9419007, "text_color": 16777215}}
    })
}

/// An `Update` whose `business_message` carries `unique_gift` (`UniqueGiftInfo`) from `from` to
/// the business account.
fn gift_update(update_id: i64, from: i64, slug: &str, owned_gift_id: &str) -> Value {
    json!({
        "update_id": update_id,
        "business_message": {
            "message_id": 5123, "date": 1767225600, "business_connection_id": CONNECTION,
            "from": {"id": from, "is_bot": false, "first_name": "Alice", "username": "alice_sends"},
            "chat": {"id": from, "type": "private", "first_name": "Alice"},
            "unique_gift": {"gift": unique_gift(slug, 1234), "origin": "transfer", "owned_gift_id": owned_gift_id,
                            "transfer_star_count": 25, "next_transfer_date": 1767830400}
        }
    })
}

async fn post_update(app: &TestApp, secret: Option<&str>, body: &Value) -> common::Reply {
    let mut req =
        Request::builder().method(Method::POST).uri("/telegram/webhook").header("content-type", "application/json");
    if let Some(s) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
    }
    app.raw(req.body(Body::from(body.to_string())).unwrap()).await
}

async fn nfts_of(app: &TestApp, owner: i64) -> Vec<Value> {
    let r = app.get(&format!("/api/nfts?owner={owner}"), As::User(owner)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn without_a_secret_the_webhook_is_not_there() {
    let app = TestApp::memory().await;
    let r = post_update(&app, Some(SECRET), &gift_update(1, SENDER, "PlushPepe-1", "1")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    assert!(nfts_of(&app, SENDER).await.is_empty());
}

async fn the_webhook_takes_a_gift_into_custody_once(app: TestApp) {
    let update = gift_update(846_123_457, SENDER, "PlushPepe-1234", "5123");
    for secret in [None, Some("wrong"), Some("webhook-secret_012")] {
        let r = post_update(&app, secret, &update).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{secret:?}: {:?}", r.body);
    }
    assert!(nfts_of(&app, SENDER).await.is_empty(), "nothing read without the secret");

    let r = post_update(&app, Some(SECRET), &update).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let held = nfts_of(&app, SENDER).await;
    assert_eq!(held.len(), 1);
    let nft = &held[0];
    assert_eq!(nft["gift_id"], "PlushPepe-1234");
    assert_eq!(nft["collection"], "Plush Pepe");
    assert_eq!(nft["title"], "Plush Pepe #1234");
    assert_eq!(nft["number"], 1234);
    assert_eq!(nft["model"], json!({"name": "Cozy Galaxy", "rarity_per_mille": 15}));
    assert_eq!(nft["backdrop"], json!({"name": "Midnight Blue", "rarity_per_mille": 20}));
    assert_eq!(nft["symbol"], json!({"name": "Star", "rarity_per_mille": 4}));
    assert_eq!(nft["can_transfer_at"], "2026-01-08T00:00:00Z");
    assert_eq!(nft["status"], "available");
    assert!(nft.get("owned_gift_id").is_none(), "Telegram's handles stay inside");

    // The same update again (Telegram retrying), and the same gift in another update: one NFT.
    assert_eq!(post_update(&app, Some(SECRET), &update).await.status, StatusCode::OK);
    let again = gift_update(846_123_458, SENDER, "PlushPepe-1234", "5123");
    assert_eq!(post_update(&app, Some(SECRET), &again).await.status, StatusCode::OK);
    assert_eq!(nfts_of(&app, SENDER).await, held, "exactly once per gift and per update");

    // Not ours: another connection, the account's own outgoing gift, a text message, a bot.
    let mut foreign = gift_update(10, OTHER, "PlushPepe-2", "6000");
    foreign["business_message"]["business_connection_id"] = json!("SomeoneElse");
    let mut outgoing = gift_update(11, OTHER, "PlushPepe-3", "6001");
    outgoing["business_message"]["chat"]["id"] = json!(SENDER);
    let mut from_bot = gift_update(12, OTHER, "PlushPepe-4", "6002");
    from_bot["business_message"]["from"]["is_bot"] = json!(true);
    let text = json!({"update_id": 13, "business_message": {"message_id": 1, "date": 1, "text": "hello",
        "business_connection_id": CONNECTION, "from": {"id": OTHER, "is_bot": false, "first_name": "B"},
        "chat": {"id": OTHER, "type": "private"}}});
    let other_kind = json!({"update_id": 14, "message": {"message_id": 1, "date": 1, "text": "/start",
        "chat": {"id": OTHER, "type": "private"}}, "a_future_field": [1, 2]});
    let mut unreadable = gift_update(15, OTHER, "PlushPepe-5", "6003");
    unreadable["business_message"]["unique_gift"]["gift"]["model"]["rarity_per_mille"] = json!(5000);
    for body in [foreign, outgoing, from_bot, text, other_kind, unreadable] {
        let r = post_update(&app, Some(SECRET), &body).await;
        assert_eq!(r.status, StatusCode::OK, "acknowledged: {body}");
    }
    assert!(nfts_of(&app, OTHER).await.is_empty(), "none of these registered anything");

    for bad in ["not json", "{\"no_update_id\": 1}", "[]"] {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/telegram/webhook")
            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
            .body(Body::from(bad))
            .unwrap();
        let r = app.raw(req).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", r.body);
    }
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn the_webhook_takes_a_gift_into_custody_once_on_memory() {
    the_webhook_takes_a_gift_into_custody_once(webhook_memory().await).await;
}

#[tokio::test]
async fn the_webhook_takes_a_gift_into_custody_once_on_postgres() {
    the_webhook_takes_a_gift_into_custody_once(webhook_postgres().await).await;
}

/// A gift returned to its owner and later sent back by someone else is the same NFT, theirs now;
/// the old update replayed late changes nothing.
async fn a_gift_that_comes_back_is_the_same_nft(app: TestApp) {
    let mut first = gift_update(100, SENDER, "PlushPepe-77", "7001");
    let locked_until = domain::ports::Clock::now(&*app.clock) + chrono::Duration::days(2);
    first["business_message"]["unique_gift"]["next_transfer_date"] = json!(locked_until.timestamp());
    assert_eq!(post_update(&app, Some(SECRET), &first).await.status, StatusCode::OK);
    let id = nfts_of(&app, SENDER).await[0]["id"].as_str().unwrap().to_string();
    let r = app.post("/api/nft/back", As::User(SENDER), json!({"nft_id": id})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "gift_locked"), "{:?}", r.body);
    let when = chrono::DateTime::from_timestamp(locked_until.timestamp(), 0).unwrap();
    assert!(r.body["detail"].as_str().unwrap().contains(&when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    assert_eq!(app.get(&format!("/api/nfts/{id}"), As::User(SENDER)).await.body["status"], "available");
    app.advance(2 * 86_400 + 1); // past next_transfer_date
    let r = app.post("/api/nft/back", As::User(SENDER), json!({"nft_id": id})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    app.app.relay.run_once().await;
    let gone = app.get(&format!("/api/nfts/{id}"), As::User(SENDER)).await;
    assert_eq!(gone.body["status"], "withdrawn", "{:?}", gone.body);

    // Telegram replays the old update late: it was handled, nothing changes.
    assert_eq!(post_update(&app, Some(SECRET), &first).await.status, StatusCode::OK);
    assert_eq!(app.get(&format!("/api/nfts/{id}"), As::User(SENDER)).await.body["status"], "withdrawn");

    let back = gift_update(101, OTHER, "PlushPepe-77", "7002");
    assert_eq!(post_update(&app, Some(SECRET), &back).await.status, StatusCode::OK);
    let now = app.get(&format!("/api/nfts/{id}"), As::User(OTHER)).await;
    assert_eq!(now.body["status"], "available", "{:?}", now.body);
    assert_eq!(now.body["owner_id"], OTHER);
    assert_eq!(now.body["price"], Value::Null);
    assert_eq!(nfts_of(&app, OTHER).await.len(), 1, "the same NFT, not a new one");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_gift_that_comes_back_is_the_same_nft_on_memory() {
    a_gift_that_comes_back_is_the_same_nft(webhook_memory().await).await;
}

#[tokio::test]
async fn a_gift_that_comes_back_is_the_same_nft_on_postgres() {
    a_gift_that_comes_back_is_the_same_nft(webhook_postgres().await).await;
}

/// Two instances on one PostgreSQL database receive the same gift at once — the same update
/// retried and the gift in several updates — and each gift becomes one NFT.
#[tokio::test]
async fn two_instances_receiving_the_same_gifts_at_once_register_each_once() {
    let db = std::sync::Arc::new(common::fresh_database().await);
    let a = std::sync::Arc::new(with_webhook(Some(db.url.clone())).await);
    let b = std::sync::Arc::new(with_webhook(Some(db.url.clone())).await.keeping(db.clone()));
    let mut calls = Vec::new();
    for gift in 0..5 {
        for copy in 0..6 {
            let app = if copy % 2 == 0 { a.clone() } else { b.clone() };
            // Copies 0-2 are one update retried; 3-5 are other updates carrying the same gift.
            let update_id = 1_000 + gift * 10 + copy.max(2);
            let body = gift_update(update_id, SENDER, &format!("PlushPepe-9{gift}"), &format!("9{gift}"));
            calls.push(tokio::spawn(async move { post_update(&app, Some(SECRET), &body).await.status }));
        }
    }
    for call in calls {
        assert_eq!(call.await.unwrap(), StatusCode::OK);
    }
    let held = nfts_of(&a, SENDER).await;
    let mut slugs: Vec<&str> = held.iter().map(|n| n["gift_id"].as_str().unwrap()).collect();
    slugs.sort();
    assert_eq!(slugs, ["PlushPepe-90", "PlushPepe-91", "PlushPepe-92", "PlushPepe-93", "PlushPepe-94"]);
    a.assert_audit_clean().await;
}

/// One page of `OwnedGifts`: its gifts and its `next_offset`.
type GiftPage = (Vec<Value>, Option<String>);

/// A local fake of the Bot API's gift methods, answering as the Bot API documents them
/// (`OwnedGifts` pages, the error envelope).
#[derive(Default)]
struct FakeBotApi {
    /// `getBusinessAccountGifts` pages by `offset`.
    pages: Mutex<HashMap<String, GiftPage>>,
    /// Every call fails with 502.
    down: Mutex<bool>,
    /// What `transferGift` answers, in turn (then `true`).
    transfers: Mutex<VecDeque<ResponseTemplate>>,
    /// The business account's Stars.
    stars: Mutex<i64>,
    calls: Mutex<Vec<(String, Value)>>,
}

struct Bot(Arc<FakeBotApi>);

fn ok(result: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": result}))
}

fn refused(code: u16, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(code).set_body_json(json!({"ok": false, "error_code": code, "description": description}))
}

impl Respond for Bot {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let t = &self.0;
        let method = req.url.path().rsplit('/').next().unwrap().to_string();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        t.calls.lock().unwrap().push((method.clone(), body.clone()));
        if *t.down.lock().unwrap() {
            return refused(502, "Bad Gateway");
        }
        if body["business_connection_id"] != CONNECTION && method != "sendMessage" {
            return refused(400, "Bad Request: business connection not found");
        }
        match method.as_str() {
            "sendMessage" => {
                ok(json!({"message_id": 1, "date": 0, "chat": {"id": body["chat_id"], "type": "private"}}))
            }
            "getBusinessAccountGifts" => {
                let offset = body["offset"].as_str().unwrap_or_default().to_string();
                let pages = t.pages.lock().unwrap();
                let Some((gifts, next)) = pages.get(&offset) else {
                    return refused(400, "Bad Request: invalid offset");
                };
                let mut result = json!({"total_count": 99, "gifts": gifts});
                if let Some(next) = next {
                    result["next_offset"] = json!(next);
                }
                ok(result)
            }
            "getBusinessAccountStarBalance" => ok(json!({"amount": *t.stars.lock().unwrap()})),
            "transferGift" => t.transfers.lock().unwrap().pop_front().unwrap_or_else(|| ok(json!(true))),
            _ => refused(404, "Not Found: method not found"),
        }
    }
}

impl FakeBotApi {
    fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls.lock().unwrap().iter().filter(|(m, _)| m == method).map(|(_, b)| b.clone()).collect()
    }
}

/// The service with the webhook and Telegram (this fake) on, as an operator would run it.
async fn with_bot_api(database: Option<String>) -> (TestApp, Arc<FakeBotApi>, MockServer) {
    with_bot_api_and(database, |_| {}).await
}

/// [`with_bot_api`], with `adjust` changing the settings first.
async fn with_bot_api_and(
    database: Option<String>,
    adjust: impl FnOnce(&mut atomarket::Settings),
) -> (TestApp, Arc<FakeBotApi>, MockServer) {
    let server = MockServer::start().await;
    let fake = Arc::new(FakeBotApi::default());
    Mock::given(wiremock::matchers::any()).respond_with(Bot(fake.clone())).mount(&server).await;
    let mut s = common::settings(database, None);
    s.telegram_webhook_secret = Some(SECRET.into());
    s.telegram_business_connection_id = Some(CONNECTION.into());
    s.telegram_delivery = "telegram".into();
    s.telegram_api_url = server.uri();
    adjust(&mut s);
    (TestApp::with(s).await, fake, server)
}

/// An `OwnedGiftUnique` entry of `getBusinessAccountGifts`.
fn owned(slug: &str, owned_gift_id: &str, sender: Option<i64>) -> Value {
    let mut g = json!({"type": "unique", "gift": unique_gift(slug, 77), "owned_gift_id": owned_gift_id,
                       "send_date": 1767225600, "is_saved": true, "can_be_transferred": true, "transfer_star_count": 25});
    if let Some(s) = sender {
        g["sender_user"] = json!({"id": s, "is_bot": false, "first_name": "Sender"});
    }
    g
}

async fn the_reconciler_takes_in_what_the_webhook_missed(database: Option<String>) {
    let (app, bot, _server) = with_bot_api(database).await;
    // Through the webhook: one gift still on the account, one Telegram no longer lists.
    for (update, slug, owned_id) in [(1, "Held-1", "801"), (2, "Lost-2", "802")] {
        let r = post_update(&app, Some(SECRET), &gift_update(update, SENDER, slug, owned_id)).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let mut blockchain = owned("Chain-6", "806", Some(OTHER));
    blockchain["gift"]["is_from_blockchain"] = json!(true);
    let mut unreadable = owned("Broken-7", "807", Some(OTHER));
    unreadable.as_object_mut().unwrap().remove("owned_gift_id");
    bot.pages.lock().unwrap().extend([
        (
            String::new(),
            (
                vec![
                    owned("Missed-3", "803", Some(OTHER)),
                    json!({"type": "regular", "gift": {"id": "1"}, "send_date": 1}),
                ],
                Some("p2".to_string()),
            ),
        ),
        ("p2".to_string(), (vec![owned("Anonymous-4", "804", None), blockchain, unreadable], Some("p3".to_string()))),
        ("p3".to_string(), (vec![owned("Held-1", "801", Some(SENDER))], None)),
    ]);
    app.advance(1);

    let report = app.run_jobs().await;

    assert_eq!(report.gifts.seen, 4, "{:?}", report.gifts);
    assert_eq!((report.gifts.registered, report.gifts.unmatched, report.gifts.unreadable), (1, 2, 1));
    assert_eq!(report.gifts.missing, ["Lost-2"]);
    let offsets: Vec<Value> = bot.calls_of("getBusinessAccountGifts").iter().map(|b| b["offset"].clone()).collect();
    assert_eq!(offsets, [json!(""), json!("p2"), json!("p3")], "paged until next_offset is empty");
    let first = &bot.calls_of("getBusinessAccountGifts")[0];
    for flag in ["exclude_unlimited", "exclude_limited_upgradable", "exclude_limited_non_upgradable"] {
        assert_eq!(first[flag], true, "{flag}");
    }
    assert_eq!(first["limit"], 100);
    let missed = nfts_of(&app, OTHER).await;
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0]["gift_id"], "Missed-3");
    assert_eq!(missed[0]["number"], 77);

    // Kept for staff, never dropped; assigned once.
    let kept = app.get("/api/admin/gifts/unmatched", As::Staff).await;
    assert_eq!(kept.status, StatusCode::OK, "{:?}", kept.body);
    let items = kept.body["items"].as_array().unwrap().clone();
    let reasons: HashMap<&str, &str> =
        items.iter().map(|g| (g["gift_id"].as_str().unwrap(), g["reason"].as_str().unwrap())).collect();
    assert_eq!(reasons, HashMap::from([("Anonymous-4", "unknown_sender"), ("Chain-6", "from_blockchain")]));
    let anonymous = items.iter().find(|g| g["gift_id"] == "Anonymous-4").unwrap();
    assert_eq!(anonymous["sender_id"], Value::Null);
    assert_eq!(anonymous["model"]["name"], "Cozy Galaxy");
    assert_eq!(app.get("/api/admin/gifts/unmatched", As::User(OTHER)).await.status, StatusCode::FORBIDDEN);
    let path = format!("/api/admin/gifts/unmatched/{}/assign", anonymous["id"].as_str().unwrap());
    let r = app.post(&path, As::Staff, json!({"user_id": 7777})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["nft"]["owner_id"], 7777);
    assert_eq!(r.body["nft"]["gift_id"], "Anonymous-4");
    assert_eq!(r.body["unmatched"]["assigned_to"], 7777);
    let again = app.post(&path, As::Staff, json!({"user_id": 7778})).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "duplicate"), "{:?}", again.body);
    let unknown = format!("/api/admin/gifts/unmatched/{}/assign", uuid::Uuid::now_v7());
    assert_eq!(app.post(&unknown, As::Staff, json!({"user_id": 7777})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(nfts_of(&app, 7777).await.len(), 1);

    // The next pass changes nothing; the NFT Telegram does not list is the audit's to report.
    app.advance(61);
    let report = app.run_jobs().await;
    assert_eq!((report.gifts.registered, report.gifts.unmatched), (0, 0), "{:?}", report.gifts);
    let audit = app.get("/api/admin/audit", As::Staff).await;
    assert_eq!(audit.body["ok"], false, "{:?}", audit.body);
    let violations = audit.body["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0]["invariant"], "gift_in_custody");
    assert!(violations[0]["detail"].as_str().unwrap().contains("Lost-2"));
}

#[tokio::test]
async fn the_reconciler_takes_in_what_the_webhook_missed_on_memory() {
    the_reconciler_takes_in_what_the_webhook_missed(None).await;
}

#[tokio::test]
async fn the_reconciler_takes_in_what_the_webhook_missed_on_postgres() {
    let db = common::fresh_database().await;
    the_reconciler_takes_in_what_the_webhook_missed(Some(db.url.clone())).await;
}

#[tokio::test]
async fn telegram_down_leaves_custody_as_it_is() {
    let (app, bot, _server) = with_bot_api(None).await;
    let r = post_update(&app, Some(SECRET), &gift_update(1, SENDER, "Held-1", "801")).await;
    assert_eq!(r.status, StatusCode::OK);
    *bot.down.lock().unwrap() = true;
    let report = app.run_jobs().await;
    assert_eq!(report.gifts.failures, 1, "{:?}", report.gifts);
    assert!(report.gifts.missing.is_empty(), "nothing judged missing from a list never read");
    app.assert_audit_clean().await;
    assert_eq!(nfts_of(&app, SENDER).await.len(), 1);
}

/// Returns through `transferGift`: the fee charged with `back`; a business account short of Stars
/// and Telegram's "too early" make the return wait (not fail); it then goes through with the
/// gift's Stars; a definite refusal makes the NFT available again and refunds the fee.
async fn returns_go_through_telegram(database: Option<String>) {
    let (app, bot, _server) = with_bot_api_and(database, |s| s.gift_withdrawal_fee = "0.5".into()).await;
    for (update, slug, owned_id) in [(1, "Return-1", "901"), (2, "Return-2", "902")] {
        let r = post_update(&app, Some(SECRET), &gift_update(update, SENDER, slug, owned_id)).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let ids: HashMap<String, String> = nfts_of(&app, SENDER)
        .await
        .iter()
        .map(|n| (n["gift_id"].as_str().unwrap().to_string(), n["id"].as_str().unwrap().to_string()))
        .collect();
    let status = |id: String| {
        let app = &app;
        async move { app.get(&format!("/api/nfts/{id}"), As::User(SENDER)).await.body["status"].clone() }
    };

    // The fee: refused when short, charged with the return.
    let r = app.post("/api/nft/back", As::User(SENDER), json!({"nft_id": ids["Return-1"]})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "insufficient_funds"), "{:?}", r.body);
    assert_eq!(status(ids["Return-1"].clone()).await, "available", "nothing changed");
    app.deposit(SENDER, "2").await;
    let r = app.post("/api/nft/back", As::User(SENDER), json!({"nft_id": ids["Return-1"]})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(app.balances(SENDER).await.0, "1.5");

    // Short of Stars: nothing sent, the return waits.
    app.app.relay.run_once().await;
    assert!(bot.calls_of("transferGift").is_empty(), "not tried without the Stars it costs");
    assert_eq!(bot.calls_of("getBusinessAccountStarBalance").len(), 1);
    assert_eq!(status(ids["Return-1"].clone()).await, "withdrawing");

    // Stars there; Telegram says too early: waits the time it names.
    *bot.stars.lock().unwrap() = 100;
    bot.transfers.lock().unwrap().push_back(refused(400, "Bad Request: STARGIFT_TRANSFER_TOO_EARLY_3600"));
    app.advance(601);
    app.app.relay.run_once().await;
    assert_eq!(bot.calls_of("transferGift").len(), 1);
    assert_eq!(status(ids["Return-1"].clone()).await, "withdrawing");
    app.advance(1_800);
    app.app.relay.run_once().await;
    assert_eq!(bot.calls_of("transferGift").len(), 1, "not asked again before the time Telegram named");

    // Then it goes through, paying the gift's Stars.
    app.advance(1_801);
    app.app.relay.run_once().await;
    let transfers = bot.calls_of("transferGift");
    assert_eq!(transfers.len(), 2);
    assert_eq!(
        transfers[1],
        json!({"business_connection_id": CONNECTION, "owned_gift_id": "901", "new_owner_chat_id": SENDER, "star_count": 25})
    );
    assert_eq!(status(ids["Return-1"].clone()).await, "withdrawn");
    assert_eq!(app.balances(SENDER).await.0, "1.5", "the fee is kept");

    // A definite refusal: available again, the fee back.
    bot.transfers.lock().unwrap().push_back(refused(400, "Bad Request: STARGIFT_NOT_FOUND"));
    let r = app.post("/api/nft/back", As::User(SENDER), json!({"nft_id": ids["Return-2"]})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(app.balances(SENDER).await.0, "1");
    app.app.relay.run_once().await;
    assert_eq!(status(ids["Return-2"].clone()).await, "available");
    assert_eq!(app.balances(SENDER).await.0, "1.5", "the fee refunded");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn returns_go_through_telegram_on_memory() {
    returns_go_through_telegram(None).await;
}

#[tokio::test]
async fn returns_go_through_telegram_on_postgres() {
    let db = common::fresh_database().await;
    returns_go_through_telegram(Some(db.url.clone())).await;
}

/// Two instances on one PostgreSQL database reconcile the same account at once while the webhook
/// brings the same gifts to both: one NFT per gift, one unmatched row per anonymous gift.
#[tokio::test]
async fn two_instances_reconciling_and_receiving_at_once_register_each_gift_once() {
    let db = common::fresh_database().await;
    let (a, bot_a, _sa) = with_bot_api(Some(db.url.clone())).await;
    let (b, bot_b, _sb) = with_bot_api(Some(db.url.clone())).await;
    let mut first: Vec<Value> = (0..6).map(|i| owned(&format!("Race-{i}"), &format!("70{i}"), Some(SENDER))).collect();
    first.push(owned("Race-anonymous", "799", None));
    for bot in [&bot_a, &bot_b] {
        bot.pages.lock().unwrap().insert(String::new(), (first.clone(), None));
    }
    a.advance(1);
    b.advance(1);
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut calls = Vec::new();
    for i in 0..6 {
        let app = if i % 2 == 0 { a.clone() } else { b.clone() };
        let body = gift_update(500 + i, SENDER, &format!("Race-{i}"), &format!("70{i}"));
        calls.push(tokio::spawn(async move {
            assert_eq!(post_update(&app, Some(SECRET), &body).await.status, StatusCode::OK);
        }));
    }
    let (ja, jb) = (a.clone(), b.clone());
    let (ra, rb) = tokio::join!(async move { ja.run_jobs().await }, async move { jb.run_jobs().await });
    for call in calls {
        call.await.unwrap();
    }
    assert_eq!(ra.gifts.failures + rb.gifts.failures, 0, "{ra:?} {rb:?}");
    let mut slugs: Vec<String> =
        nfts_of(&a, SENDER).await.iter().map(|n| n["gift_id"].as_str().unwrap().to_string()).collect();
    slugs.sort();
    assert_eq!(slugs, (0..6).map(|i| format!("Race-{i}")).collect::<Vec<_>>());
    let kept = a.get("/api/admin/gifts/unmatched", As::Staff).await;
    assert_eq!(kept.body["items"].as_array().unwrap().len(), 1, "{:?}", kept.body);
    a.assert_audit_clean().await;
    drop(db);
}

/// The business account disconnecting the bot, or taking a right the rail needs, is acknowledged
/// and raises an alert; our connection restored with every right clears it.
#[tokio::test]
async fn a_business_connection_losing_its_rights_raises_an_alert() {
    let app = webhook_memory().await;
    let connection = |enabled: bool, transfer: bool| {
        json!({"update_id": 77, "business_connection": {
            "id": CONNECTION, "user": {"id": 1, "is_bot": false, "first_name": "Shop"}, "user_chat_id": 1,
            "date": 1767225600, "is_enabled": enabled,
            "rights": {"can_view_gifts_and_stars": true, "can_transfer_and_upgrade_gifts": transfer,
                       "can_transfer_stars": true}}})
    };
    let logs = common::CapturedLogs::default();
    let guard = tracing::subscriber::set_default(logs.subscriber());
    assert_eq!(post_update(&app, Some(SECRET), &connection(true, false)).await.status, StatusCode::OK);
    assert!(logs.text().contains("ALERT") && logs.text().contains("can_transfer_and_upgrade_gifts"), "{}", logs.text());
    let before = logs.text().matches("ALERT").count();
    assert_eq!(post_update(&app, Some(SECRET), &connection(false, true)).await.status, StatusCode::OK);
    assert!(logs.text().matches("ALERT").count() > before, "disconnected: {}", logs.text());
    let before = logs.text().matches("ALERT").count();
    assert_eq!(post_update(&app, Some(SECRET), &connection(true, true)).await.status, StatusCode::OK);
    assert_eq!(logs.text().matches("ALERT").count(), before, "restored: no alert");
    assert!(logs.text().contains("enabled with the rights"), "{}", logs.text());
    drop(guard);
}
