//! Input that must never reach storage or crash a handler: control characters in every text field
//! (422 naming the field — PostgreSQL refuses a NUL byte), amounts in anything but plain decimal
//! notation, and arbitrary bytes and JSON thrown at every route's body and query (always a 4xx,
//! never a 5xx or a panic).

use crate::common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{As, TestApp};
use proptest::prelude::*;
use serde_json::{json, Value};

const USER: i64 = 8801;

/// Every text field a request can carry, with a NUL byte in it, and the field the answer must name.
async fn text_fields_with_a_nul(app: &TestApp) -> Vec<(As, String, Value, &'static str)> {
    let nft = app.nft(USER, None).await;
    let presale = app
        .post(
            "/api/presale/new",
            As::User(USER),
            json!({"title": "t", "collection": "c", "price": "1", "deliver_by": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let nul = "bad\u{0}value";
    let client = |field: &str, v: &str| {
        let mut c = json!({"fio": "Ivan Petrov", "age": 30, "description": "", "mobile": "+79991234567", "email": "i@example.com"});
        c[field] = json!(v);
        json!({"manager_id": uuid::Uuid::now_v7(), "client": c})
    };
    vec![
        (
            As::Staff,
            "/api/admin/nfts".into(),
            json!({"owner_id": USER, "gift_id": nul, "title": "t", "collection": "c"}),
            "gift_id",
        ),
        (
            As::Staff,
            "/api/admin/nfts".into(),
            json!({"owner_id": USER, "gift_id": "g", "title": nul, "collection": "c"}),
            "title",
        ),
        (
            As::Staff,
            "/api/admin/nfts".into(),
            json!({"owner_id": USER, "gift_id": "g", "title": "t", "collection": nul}),
            "collection",
        ),
        (As::Staff, "/api/admin/deposits".into(), json!({"user_id": USER, "amount": "1", "tx_hash": nul}), "tx_hash"),
        (As::Staff, format!("/api/admin/presales/{presale}/deliver"), json!({"gift_id": nul}), "gift_id"),
        (As::Staff, "/api/managers".into(), json!({"name": nul}), "name"),
        (As::Staff, "/api/managers".into(), json!({"name": "Anna", "telegram_username": nul}), "telegram_username"),
        (As::Staff, "/api/partners".into(), client("fio", nul), "client.fio"),
        (As::Staff, "/api/partners".into(), client("description", nul), "client.description"),
        (As::Staff, "/api/partners".into(), client("email", nul), "client.email"),
        (As::Staff, "/api/partners".into(), client("mobile", nul), "client.mobile"),
        (
            As::User(USER),
            "/api/presale/new".into(),
            json!({"title": nul, "collection": "c", "price": "1", "deliver_by": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}),
            "title",
        ),
        (
            As::User(USER),
            "/api/channels/new".into(),
            json!({"channel": "@gift_hub", "price": "1", "description": nul}),
            "description",
        ),
        (As::User(USER), "/api/channels/new".into(), json!({"channel": nul, "price": "1"}), "channel"),
        (As::User(USER), "/api/market/output".into(), json!({"amount": "1", "address": nul}), "address"),
        (As::User(USER), "/api/offers/new".into(), json!({"nft_id": nft, "price": nul}), "price"),
    ]
}

async fn control_characters_are_refused_in_every_text_field(app: TestApp) {
    app.deposit(USER, "10").await;
    for (who, path, body, field) in text_fields_with_a_nul(&app).await {
        let req = Request::post(&path)
            .header(
                header::AUTHORIZATION,
                match &who {
                    As::Staff => format!("Bearer {}", common::STAFF_TOKEN),
                    _ => common::tma(USER),
                },
            )
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", "k")
            .body(Body::from(body.to_string()))
            .unwrap();
        let r = app.raw(req).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{path} {field}: {}",
            r.body
        );
        assert_eq!(r.body["errors"][0]["field"], field, "{path}: the answer names the field: {}", r.body);
    }
    let r = app.get("/api/nfts?collection=a%00b", As::User(USER)).await;
    assert_eq!(
        (r.status, r.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("collection"))
    );
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn control_characters_are_refused_on_memory() {
    control_characters_are_refused_in_every_text_field(TestApp::memory().await).await;
}

#[tokio::test]
async fn control_characters_are_refused_on_postgres() {
    control_characters_are_refused_in_every_text_field(TestApp::postgres().await).await;
}

#[tokio::test]
async fn amounts_take_plain_decimal_notation_only() {
    let app = TestApp::memory().await;
    app.deposit(USER, "10").await;
    let nft = app.nft(9999, None).await;
    // As JSON text: `1e1` and `1E+1` are JSON numbers in exponent form.
    for price in [
        r#""1e1""#, r#""1E1""#, "1e1", "1E+1", "1.0e0", r#""+1""#, r#"" 1""#, r#""1.""#, r#"".5""#, r#""NaN""#,
        r#""0x1""#, "true", "[1]", "-1",
    ] {
        let body = format!(r#"{{"nft_id": "{nft}", "price": {price}}}"#);
        let req = Request::post("/api/offers/new")
            .header(header::AUTHORIZATION, common::tma(USER))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let r = app.raw(req).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{price}: {}",
            r.body
        );
        assert_eq!(r.body["errors"][0]["field"], "price");
    }
    for price in [json!("1.5"), json!(2), json!(0.25)] {
        let nft = app.nft(9999, None).await;
        let r = app.post("/api/offers/new", As::User(USER), json!({"nft_id": nft, "price": price})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{price}: {}", r.body);
    }
}

/// Every route of the OpenAPI document with its method, ids filled in.
async fn routes(app: &TestApp) -> Vec<(Method, String)> {
    let doc = app.get("/openapi.json", As::Nobody).await.body;
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { uuid::Uuid::now_v7().to_string() } else { seg.to_string() })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase().parse().unwrap(), concrete.clone()));
        }
    }
    assert!(out.len() > 50, "every route: {}", out.len());
    out
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[0-9]{1,30}(\\.[0-9]{0,12})?".prop_map(Value::from),
        Just(Value::from(uuid::Uuid::nil().to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("nft_id".to_string()),
                    Just("price".to_string()),
                    Just("amount".to_string()),
                    Just("offer_id".to_string()),
                    Just("trade_id".to_string()),
                    Just("give".to_string()),
                    Just("nft_ids".to_string()),
                    Just("channel".to_string()),
                    ".{0,12}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, .. ProptestConfig::default() })]

    /// Arbitrary bytes, arbitrary JSON and arbitrary query strings, as a user, as staff and as
    /// nobody, on every route: always an answer below 500.
    #[test]
    fn no_input_makes_a_route_fail_on_our_side(
        body in prop_oneof![
            arbitrary_json().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..200),
        ],
        query in "[a-z_=&%0-9A-F.-]{0,40}",
        content_type in prop_oneof![Just("application/json"), Just("text/plain"), Just("application/x+json"), Just("")],
        who in 0..3u8,
        key in prop_oneof![Just(None), ".{0,300}".prop_map(Some)],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let app = TestApp::memory().await;
            app.deposit(USER, "5").await;
            for (method, path) in routes(&app).await {
                let mut req = Request::builder().method(method.clone()).uri(format!("{path}?{query}"));
                req = match who {
                    0 => req.header(header::AUTHORIZATION, common::tma(USER)),
                    1 => req.header(header::AUTHORIZATION, format!("Bearer {}", common::STAFF_TOKEN)),
                    _ => req,
                };
                if !content_type.is_empty() {
                    req = req.header(header::CONTENT_TYPE, content_type);
                }
                if let Some(k) = &key {
                    if let Ok(v) = header::HeaderValue::from_str(k) {
                        req = req.header("idempotency-key", v);
                    }
                }
                let body = if method == Method::GET { Body::empty() } else { Body::from(body.clone()) };
                let r = app.raw(req.body(body).unwrap()).await;
                prop_assert!(r.status.as_u16() < 500, "{method} {path}?{query}: {} {}", r.status, r.body);
            }
            app.assert_audit_clean().await;
            Ok(())
        })?;
    }
}

/// The event stream answers at once (its body never ends): the arbitrary-input battery above
/// reaches it with an empty query as a user, and must not wait on it.
#[tokio::test]
async fn the_event_stream_answers_with_a_stream_not_a_wait() {
    let app = TestApp::memory().await;
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), app.get("/api/events", As::User(USER)))
        .await
        .expect("the stream's headers come at once");
    assert_eq!(r.status, 200);
    assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream"));
}

/// Operations refused by a rule end their Unit of Work with a silent rollback: the "dropped
/// without commit" warning stays for a real forgotten commit (shown by the control at the end,
/// which drops one on the same store under the same capture).
async fn refused_operations_roll_back_without_a_warning(app: TestApp) {
    const SELLER: i64 = 8811;
    const BUYER: i64 = 8812;
    let unlisted = app.nft(SELLER, None).await;
    let listed = app.nft(SELLER, Some("50")).await;
    app.deposit(BUYER, "10").await;
    // The buyer's own offer is refunded inside the buy before the debit fails: a write, then a refusal.
    let r = app.post("/api/offers/new", As::User(BUYER), json!({"nft_id": listed, "price": "5"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let logs = common::CapturedLogs::default();
    let guard = tracing::subscriber::set_default(logs.subscriber());
    let refused = [
        ("/api/nft/buy", json!({"nft_id": listed}), "insufficient_funds"),
        ("/api/nft/buy", json!({"nft_id": unlisted}), "not_for_sale"),
        ("/api/nft/set-price", json!({"nft_id": unlisted, "price": "1"}), "forbidden"),
        (
            "/api/market/output",
            json!({"amount": "100", "address": "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"}),
            "insufficient_funds",
        ),
    ];
    for (path, body, code) in refused {
        let r = app.post_with_key(path, As::User(BUYER), body, &uuid::Uuid::new_v4().to_string()).await;
        assert_eq!(r.code(), code, "{path}: {:?}", r.body);
    }
    let quiet = logs.text();
    assert!(!quiet.contains("dropped without commit"), "a refusal warned as a forgotten commit: {quiet}");

    let uow = app::uow::Begin::<dyn app::nfts::buy::BuyNftUow>::begin(&*app.app.state.ctx.storage, "forgotten")
        .await
        .unwrap();
    drop(uow);
    drop(guard);
    assert!(logs.text().contains("dropped without commit"), "the capture sees the warning: {}", logs.text());
    assert_eq!(app.money(BUYER).await, ("5".parse().unwrap(), "5".parse().unwrap()), "nothing moved");
}

#[tokio::test]
async fn refused_operations_roll_back_without_a_warning_on_memory() {
    refused_operations_roll_back_without_a_warning(TestApp::memory().await).await;
}

#[tokio::test]
async fn refused_operations_roll_back_without_a_warning_on_postgres() {
    refused_operations_roll_back_without_a_warning(TestApp::postgres().await).await;
}
