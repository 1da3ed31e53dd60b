//! The operator console over the router, without a browser (the browser test is in
//! `tests/service/console.rs`): who gets in, the cookie, CSRF, the headers, errors beside fields.

use crate::common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{Reply, TestApp, STAFF_TOKEN};

const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A request as a browser sends it: these cookies, an optional form, other headers.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    cookies: &str,
    form: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if !cookies.is_empty() {
        req = req.header(header::COOKIE, cookies);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = match form {
        Some(f) => {
            req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(f.to_string()))
        }
        None => req.body(Body::empty()),
    };
    app.raw(req.unwrap()).await
}

/// `value` percent-encoded for a form.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn html(r: &Reply) -> &str {
    r.body.as_str().unwrap_or_default()
}

fn location(r: &Reply) -> &str {
    r.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The `Set-Cookie` header that sets `name`.
fn set_cookie(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The value of the hidden field `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} field in {page}")) + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

/// The sign-in form's double-submit token (its field and its cookie hold the same).
async fn sign_in_form(app: &TestApp) -> String {
    let form = send(app, Method::GET, "/console/sign-in", "", None, &[]).await;
    assert_eq!(form.status, StatusCode::OK);
    let token = hidden(html(&form), "sign_in");
    assert!(set_cookie(&form, "console_sign_in").unwrap().starts_with(&format!("console_sign_in={token};")));
    token
}

/// Signs in with the staff token: the session cookie and the session's CSRF token.
async fn signed_in(app: &TestApp) -> (String, String) {
    let token = sign_in_form(app).await;
    let body = format!("sign_in={token}&token={STAFF_TOKEN}");
    let r = send(app, Method::POST, "/console/sign-in", &format!("console_sign_in={token}"), Some(&body), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console"));
    let cookie = set_cookie(&r, "console_session").expect("a session cookie");
    let session = cookie.split(';').next().unwrap().to_string();
    let page = send(app, Method::GET, "/console", &session, None, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", html(&page));
    (session, hidden(html(&page), "csrf"))
}

#[tokio::test]
async fn every_console_page_and_form_sends_anyone_without_a_session_to_sign_in() {
    let app = TestApp::memory().await;
    let nil = uuid::Uuid::nil();
    let tma = common::tma(42);
    let bearer = format!("Bearer {STAFF_TOKEN}");
    let routes = [
        (Method::GET, "/console".to_string()),
        (Method::POST, "/console/audit".to_string()),
        (Method::GET, "/console/withdrawals?status=stuck".to_string()),
        (Method::GET, "/console/deposits".to_string()),
        (Method::GET, "/console/partners".to_string()),
        (Method::POST, format!("/console/withdrawals/{nil}/resolve")),
        (Method::POST, format!("/console/deposits/{nil}/assign")),
        (Method::GET, "/console/gifts".to_string()),
        (Method::POST, format!("/console/gifts/{nil}/assign")),
        (Method::GET, "/console/presales".to_string()),
        (Method::POST, format!("/console/presales/{nil}/deliver")),
        (Method::GET, "/console/channels".to_string()),
        (Method::POST, format!("/console/channels/{nil}/resolve")),
        (Method::GET, "/console/users?id=42".to_string()),
        (Method::POST, "/console/users/42/deposits".to_string()),
        (Method::GET, "/console/market".to_string()),
        (Method::POST, "/console/partners".to_string()),
        (Method::POST, "/console/managers".to_string()),
        (Method::POST, "/console/sign-out".to_string()),
    ];
    for (method, path) in routes {
        for (cookie, authorization) in
            [("", None), ("", Some(tma.as_str())), ("", Some(bearer.as_str())), ("console_session=forged", None)]
        {
            let headers: Vec<(&str, &str)> = authorization.map(|a| ("authorization", a)).into_iter().collect();
            let form = (method == Method::POST).then_some("outcome=failed&user_id=1&csrf=x");
            let r = send(&app, method.clone(), &path, cookie, form, &headers).await;
            assert_eq!(
                (r.status, location(&r)),
                (StatusCode::SEE_OTHER, "/console/sign-in"),
                "{method} {path} with {cookie:?} {authorization:?}"
            );
            assert!(html(&r).is_empty(), "never data: {method} {path}");
        }
    }
}

#[tokio::test]
async fn signing_in_checks_the_token_as_the_api_does_and_sets_a_strict_http_only_cookie() {
    let app = TestApp::memory().await;
    let token = sign_in_form(&app).await;
    let cookie = format!("console_sign_in={token}");

    let wrong = format!("sign_in={token}&token=not-a-staff-token");
    let r = send(&app, Method::POST, "/console/sign-in", &cookie, Some(&wrong), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(html(&r).contains(r#"<span class="error" id="token-error">That is not a staff token."#), "{}", html(&r));
    assert!(set_cookie(&r, "console_session").is_none());
    let user = format!("sign_in={token}&token={}", encoded(&common::tma(42)));
    let r = send(&app, Method::POST, "/console/sign-in", &cookie, Some(&user), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a user's credential is not a staff token");

    let good = format!("sign_in={token}&token={STAFF_TOKEN}");
    let r = send(&app, Method::POST, "/console/sign-in", "", Some(&good), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "without the form's own cookie (posted from elsewhere)");
    assert!(set_cookie(&r, "console_session").is_none());

    let r = send(&app, Method::POST, "/console/sign-in", &cookie, Some(&good), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console"));
    let session = set_cookie(&r, "console_session").unwrap();
    let value = session.split(';').next().unwrap().strip_prefix("console_session=").unwrap();
    assert!(value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()), "32 random bytes: {session}");
    assert_eq!(&session[65 + "console_session".len()..], "; Max-Age=28800; Path=/console; HttpOnly; SameSite=Strict");
    assert_eq!(
        set_cookie(&r, "console_sign_in").unwrap(),
        "console_sign_in=; Max-Age=0; Path=/console; HttpOnly; SameSite=Strict"
    );

    let r = send(&app, Method::POST, "/console/sign-in", &cookie, Some(&good), &[("x-forwarded-proto", "https")]).await;
    assert!(set_cookie(&r, "console_session").unwrap().ends_with("; HttpOnly; SameSite=Strict; Secure"), "behind TLS");
}

#[tokio::test]
async fn a_form_without_its_sessions_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::memory().await;
    let (session, csrf) = signed_in(&app).await;
    let (other, other_csrf) = signed_in(&app).await;
    assert_ne!(csrf, other_csrf, "one token per session");

    for form in ["", "csrf=", "csrf=0123", &format!("csrf={other_csrf}")] {
        let r = send(&app, Method::POST, "/console/sign-out", &session, Some(form), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form:?}");
        assert!(html(&r).contains("security token is missing or out of date"));
    }
    let json =
        send(&app, Method::POST, "/console/sign-out", &session, None, &[("content-type", "application/json")]).await;
    assert_eq!(json.status, StatusCode::FORBIDDEN, "not a form: no token");
    assert_eq!(
        send(&app, Method::GET, "/console", &session, None, &[]).await.status,
        StatusCode::OK,
        "still signed in"
    );

    let r = send(&app, Method::POST, "/console/sign-out", &session, Some(&format!("csrf={csrf}")), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console/sign-in?signed_out"));
    assert!(set_cookie(&r, "console_session").unwrap().starts_with("console_session=; Max-Age=0;"));
    let after = send(&app, Method::GET, "/console", &session, None, &[]).await;
    assert_eq!((after.status, location(&after)), (StatusCode::SEE_OTHER, "/console/sign-in"), "the session is gone");
    assert_eq!(send(&app, Method::GET, "/console", &other, None, &[]).await.status, StatusCode::OK, "others stay");
}

#[tokio::test]
async fn every_console_response_carries_the_security_headers() {
    let app = TestApp::memory().await;
    let (session, _) = signed_in(&app).await;
    for (path, cookie, status) in [
        ("/console/sign-in", "", StatusCode::OK),
        ("/console", "", StatusCode::SEE_OTHER),
        ("/console/", "", StatusCode::PERMANENT_REDIRECT),
        ("/console", session.as_str(), StatusCode::OK),
        ("/console/withdrawals?status=nonsense", session.as_str(), StatusCode::UNPROCESSABLE_ENTITY),
        ("/console/no-such-page", "", StatusCode::NOT_FOUND),
        ("/console/assets/console.css", "", StatusCode::OK),
    ] {
        let r = send(&app, Method::GET, path, cookie, None, &[]).await;
        assert_eq!(r.status, status, "{path}");
        let h = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert_eq!(h("content-security-policy"), CSP, "{path}");
        assert_eq!(
            (h("x-frame-options"), h("referrer-policy"), h("x-content-type-options")),
            ("DENY".into(), "no-referrer".into(), "nosniff".into()),
            "{path}"
        );
        let cache = if path.ends_with(".css") { "public, max-age=86400" } else { "no-store" };
        assert_eq!(h("cache-control"), cache, "{path}");
    }
    let css = send(&app, Method::GET, "/console/assets/console.css", "", None, &[]).await;
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    let page = send(&app, Method::GET, "/console", &session, None, &[]).await;
    assert!(!html(&page).contains("<script") && !html(&page).contains("style="), "no script, no inline style");
}

#[tokio::test]
async fn the_console_stays_out_of_the_api_document() {
    let app = TestApp::memory().await;
    let doc = app.get("/openapi.json", common::As::Nobody).await.body;
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert!(!paths.is_empty() && paths.iter().all(|p| !p.starts_with("/console")), "{paths:?}");
}

#[tokio::test]
async fn the_partner_desk_shows_each_error_beside_its_field_and_keeps_the_values() {
    let app = TestApp::memory().await;
    let (session, csrf) = signed_in(&app).await;

    let bad =
        format!("csrf={csrf}&manager_id=nope&client.fio=Ivan+Ivanov&client.age=12&client.mobile=123&client.email=ivan");
    let r = send(&app, Method::POST, "/console/partners", &session, Some(&bad), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    let input = |id: &str| {
        let start = page.find(&format!(r#"<input id="{id}""#)).unwrap_or_else(|| panic!("no input {id}"));
        page[start..].split('>').next().unwrap().to_string()
    };
    for field in ["p-manager_id", "p-client-age", "p-client-mobile", "p-client-email"] {
        let tag = input(field);
        assert!(tag.contains(r#"aria-invalid="true""#), "{tag}");
        let described = tag.split(r#"aria-describedby=""#).nth(1).unwrap().split('"').next().unwrap();
        assert!(described.split(' ').any(|id| id == format!("{field}-error")), "{tag}");
        assert!(page.contains(&format!(r#"<span class="error" id="{field}-error">"#)), "{field}");
    }
    assert!(page.contains(r#"id="p-client-email-error">must contain @</span>"#), "the rule's own message");
    assert!(!page.contains("lookup-error"), "the clients' lookup is not blamed for the form");
    assert!(!page.contains("p-client-fio-error"), "the name is fine");
    assert!(page.contains(r#"id="p-client-fio" name="client.fio" type="text" value="Ivan Ivanov""#), "kept");

    // The use case's own refusal lands beside the field it concerns: no such manager.
    let unknown = uuid::Uuid::now_v7();
    let good = format!("csrf={csrf}&manager_id={unknown}&client.fio=Ivan&client.age=30&client.mobile=%2B79991234567&client.email=ivan%40example.com");
    let r = send(&app, Method::POST, "/console/partners", &session, Some(&good), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        html(&r).contains(r#"<span class="error" id="p-manager_id-error">manager not found</span>"#),
        "{}",
        html(&r)
    );
}

#[tokio::test]
async fn an_action_the_use_case_refuses_shows_the_problems_detail() {
    let app = TestApp::memory().await;
    let (session, csrf) = signed_in(&app).await;
    let nobody = uuid::Uuid::now_v7();
    let form = format!("csrf={csrf}&outcome=failed");
    let r =
        send(&app, Method::POST, &format!("/console/withdrawals/{nobody}/resolve"), &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(html(&r).contains("was not resolved: withdrawal not found"), "{}", html(&r));
    let form = format!("csrf={csrf}&user_id=-5");
    let r = send(&app, Method::POST, &format!("/console/deposits/{nobody}/assign"), &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "the user id is checked before the deposit is looked for");
    let r = send(&app, Method::GET, "/console/deposits?cursor=not-a-cursor", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("cursor: is not a cursor this API gave out"), "{}", html(&r));
}

/// An app whose gift rail takes webhook updates, holding one gift from the blockchain it kept for
/// staff (no NFT stands for it); the gift's slug.
async fn with_unmatched_gift() -> (TestApp, String) {
    let mut s = common::settings(None, None);
    s.telegram_webhook_secret = Some("console-secret".into());
    s.telegram_business_connection_id = Some("console-conn".into());
    let app = TestApp::with(s).await;
    let slug = "PlushPepe-77";
    let update = serde_json::json!({
        "update_id": 9001,
        "business_message": {
            "message_id": 1, "date": 1767225600, "business_connection_id": "console-conn",
            "from": {"id": 501, "is_bot": false, "first_name": "Somebody"},
            "chat": {"id": 501, "type": "private", "first_name": "Somebody"},
            "unique_gift": {"gift": {"gift_id": "1", "base_name": "Plush Pepe", "name": slug, "number": 77,
                "model": {"name": "Cozy", "rarity_per_mille": 15}, "symbol": {"name": "Star", "rarity_per_mille": 4},
                "backdrop": {"name": "Blue", "rarity_per_mille": 20}, "is_from_blockchain": true},
                "origin": "transfer", "owned_gift_id": "owned-77"}
        }
    });
    let headers = [("content-type", "application/json"), ("x-telegram-bot-api-secret-token", "console-secret")];
    let req = headers
        .iter()
        .fold(Request::builder().method(Method::POST).uri("/telegram/webhook"), |r, (k, v)| r.header(*k, *v));
    let r = app.raw(req.body(Body::from(update.to_string())).unwrap()).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    (app, slug.to_string())
}

#[tokio::test]
async fn unmatched_gifts_are_listed_and_registered_to_their_user_through_the_use_case() {
    let (app, slug) = with_unmatched_gift().await;
    let kept = app.get("/api/admin/gifts/unmatched", common::As::Staff).await;
    let id = kept.body["items"][0]["id"].as_str().expect("one kept gift").to_string();
    let (session, csrf) = signed_in(&app).await;

    let overview = send(&app, Method::GET, "/console", &session, None, &[]).await;
    assert!(html(&overview).contains(r#"<a href="/console/gifts"><strong id="unmatched-gifts-count">1</strong>"#));
    let r = send(&app, Method::GET, "/console/gifts", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(page.contains(&format!(r#"<tr id="g-{id}"><th scope="row"><code>{slug}</code>"#)), "{page}");
    assert!(page.contains("from_blockchain") && page.contains("Plush Pepe #77"), "{page}");
    assert!(page.contains(&format!(r#"action="/console/gifts/{id}/assign""#)), "{page}");
    assert!(page.contains(r#"aria-current="page">Unmatched gifts</a>"#), "{page}");

    let path = format!("/console/gifts/{id}/assign");
    let r = send(&app, Method::POST, &path, &session, Some("user_id=42"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    let r = send(&app, Method::POST, &path, &session, Some(&format!("csrf={csrf}&user_id=-3")), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains(&format!("id=\"user-{id}-error\">must be a Telegram user id</span>")), "{}", html(&r));
    assert!(html(&r).contains(r#"value="-3""#), "the value is kept");
    let nobody = uuid::Uuid::now_v7();
    let form = format!("csrf={csrf}&user_id=42");
    let r = send(&app, Method::POST, &format!("/console/gifts/{nobody}/assign"), &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(html(&r).contains("was not assigned: unmatched gift not found"), "{}", html(&r));
    let nfts = app.get("/api/nfts?owner=42", common::As::User(42)).await;
    assert_eq!(nfts.body["items"].as_array().unwrap().len(), 0, "nothing registered yet");

    let r = send(&app, Method::POST, &path, &session, Some(&form), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console/gifts"));
    let r = send(&app, Method::GET, "/console/gifts", &session, None, &[]).await;
    assert!(html(&r).contains(&format!("Gift {slug} registered to user 42 as NFT ")), "{}", html(&r));
    assert!(html(&r).contains("Registered to user 42"), "{}", html(&r));
    assert!(!html(&r).contains(&format!(r#"action="/console/gifts/{id}/assign""#)), "no form once assigned");
    let nfts = app.get("/api/nfts?owner=42", common::As::User(42)).await;
    assert_eq!(nfts.body["items"][0]["gift_id"], slug.as_str(), "{:?}", nfts.body);
    let kept = app.get("/api/admin/gifts/unmatched", common::As::Staff).await;
    assert_eq!(kept.body["items"][0]["assigned_to"], 42, "{:?}", kept.body);

    let r = send(&app, Method::POST, &path, &session, Some(&format!("csrf={csrf}&user_id=43")), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "once");
}

#[tokio::test]
async fn a_sold_presale_is_delivered_from_the_console_through_the_use_case() {
    let app = TestApp::memory().await;
    let (seller, buyer) = (701, 702);
    app.deposit(seller, "10").await;
    app.deposit(buyer, "30").await;
    let deliver_by = {
        use domain::ports::Clock;
        (app.clock.now() + chrono::Duration::hours(24)).to_rfc3339()
    };
    let body = serde_json::json!({"title": "Homemade Cake", "collection": "cakes", "price": "20.123456789", "deliver_by": deliver_by});
    let r = app.post("/api/presale/new", common::As::User(seller), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = app.post("/api/presale/buy", common::As::User(buyer), serde_json::json!({"presale_id": id})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (session, csrf) = signed_in(&app).await;

    let r = send(&app, Method::GET, "/console/presales", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(page.contains(&format!(r#"<tr id="p-{id}">"#)), "{page}");
    assert!(page.contains(r#"title="20.123456789 TON = 20123456789 nanotons">20.123456789 TON<"#), "{page}");
    assert!(page.contains(&format!(r#"action="/console/presales/{id}/deliver""#)), "{page}");
    assert!(page.contains(r#"aria-current="page">Presales</a>"#), "{page}");

    let path = format!("/console/presales/{id}/deliver");
    let r = send(&app, Method::POST, &path, &session, Some("gift_id=cake-1"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    let r = send(&app, Method::POST, &path, &session, Some(&format!("csrf={csrf}&gift_id=+")), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", html(&r));
    assert!(html(&r).contains(&format!(r#"<span class="error" id="gift-{id}-error">"#)), "{}", html(&r));
    let nobody = uuid::Uuid::now_v7();
    let form = format!("csrf={csrf}&gift_id=cake-1");
    let r = send(&app, Method::POST, &format!("/console/presales/{nobody}/deliver"), &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(html(&r).contains("was not delivered: presale not found"), "{}", html(&r));
    assert_eq!(app.balances(buyer).await.1, "20.123456789", "still held for the buyer");

    let r = send(&app, Method::POST, &path, &session, Some(&form), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console/presales"));
    let r = send(&app, Method::GET, "/console/presales", &session, None, &[]).await;
    assert!(html(&r).contains(&format!("Presale {id} delivered: NFT ")), "{}", html(&r));
    assert!(html(&r).contains("(cake-1) went to user 702"), "{}", html(&r));
    assert!(html(&r).contains(r#"id="empty""#), "no longer awaiting delivery");
    let nfts = app.get(&format!("/api/nfts?owner={buyer}"), common::As::User(buyer)).await;
    assert_eq!(nfts.body["items"][0]["gift_id"], "cake-1", "{:?}", nfts.body);
    assert_eq!((app.balances(buyer).await.1, app.balances(seller).await.1), ("0".into(), "0".into()));
    let r = send(&app, Method::POST, &path, &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "once");
    app.assert_audit_clean().await;
}

/// A channel bought by `buyer` (the simulated directory trusts the seller): the sale's id.
async fn channel_sold(app: &TestApp, seller: i64, buyer: i64, channel: &str, price: &str) -> String {
    app.deposit(seller, "1").await;
    let r = app
        .post("/api/channels/new", common::As::User(seller), serde_json::json!({"channel": channel, "price": price}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = app.post("/api/channels/buy", common::As::User(buyer), serde_json::json!({"channel_sale_id": id})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    id
}

#[tokio::test]
async fn channel_sales_awaiting_transfer_are_settled_from_the_console_through_the_use_case() {
    let app = TestApp::memory().await;
    let (seller, buyer) = (801, 802);
    app.deposit(buyer, "50").await;
    let first = channel_sold(&app, seller, buyer, "@console_hub", "10.000000001").await;
    let second = channel_sold(&app, seller, buyer, "@console_other", "5").await;
    let (session, csrf) = signed_in(&app).await;

    let r = send(&app, Method::GET, "/console/channels", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    for id in [&first, &second] {
        assert!(page.contains(&format!(r#"<tr id="c-{id}">"#)), "{page}");
        assert!(page.contains(&format!(r#"action="/console/channels/{id}/resolve""#)), "{page}");
    }
    assert!(page.contains(r#"title="10.000000001 TON = 10000000001 nanotons""#), "{page}");
    assert!(page.contains(r#"aria-current="page">Channel sales</a>"#), "{page}");

    let path = format!("/console/channels/{first}/resolve");
    let r = send(&app, Method::POST, &path, &session, Some("outcome=refund"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    let r = send(&app, Method::POST, &path, &session, Some(&format!("csrf={csrf}&outcome=halve")), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains(
            "was not resolved: Nothing was done: fix the fields marked below. outcome: must be complete or refund."
        ),
        "{}",
        html(&r)
    );
    let nobody = uuid::Uuid::now_v7();
    let form = format!("csrf={csrf}&outcome=refund");
    let r = send(&app, Method::POST, &format!("/console/channels/{nobody}/resolve"), &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.balances(buyer).await, ("34.999999999".into(), "15.000000001".into()), "nothing changed");

    let r = send(&app, Method::POST, &path, &session, Some(&form), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console/channels"));
    let r = send(&app, Method::GET, "/console/channels", &session, None, &[]).await;
    assert!(
        html(&r).contains(&format!("Channel sale {first} refunded: 10.000000001 TON went back to user {buyer}.")),
        "{}",
        html(&r)
    );
    assert!(!html(&r).contains(&format!(r#"<tr id="c-{first}">"#)), "settled");
    assert_eq!(app.balances(buyer).await, ("45".into(), "5".into()));

    let form = format!("csrf={csrf}&outcome=complete");
    let r = send(&app, Method::POST, &format!("/console/channels/{second}/resolve"), &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(&app, Method::GET, "/console/channels", &session, None, &[]).await;
    assert!(html(&r).contains(&format!("Channel sale {second} completed: seller {seller} was paid")), "{}", html(&r));
    assert!(html(&r).contains(r#"id="empty""#));
    assert_eq!(app.balances(buyer).await, ("45".into(), "0".into()));
    let r = send(&app, Method::POST, &path, &session, Some(&format!("csrf={csrf}&outcome=complete")), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "once");
    app.assert_audit_clean().await;
}

/// The address of a page's "Next page" link, if it has one.
fn next_page(page: &str) -> Option<String> {
    let link = page.split(r#"" rel="next""#).next().filter(|_| page.contains(r#"rel="next""#))?;
    Some(link.rsplit(r#"href=""#).next()?.replace("&amp;", "&"))
}

#[tokio::test]
async fn channel_sales_are_listed_by_status_a_page_at_a_time_with_the_apis_cursor() {
    // Arrange: three channels sold by different sellers to different buyers, one only listed.
    let app = TestApp::memory().await;
    let mut sold = Vec::new();
    for (i, name) in ["@paged_one", "@paged_two", "@paged_three"].into_iter().enumerate() {
        let (seller, buyer) = (811 + i as i64, 821 + i as i64);
        app.deposit(buyer, "10").await;
        sold.push(channel_sold(&app, seller, buyer, name, "2").await);
    }
    app.deposit(831, "1").await;
    let r = app
        .post("/api/channels/new", common::As::User(831), serde_json::json!({"channel": "@paged_listed", "price": "4"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let listed = r.body["id"].as_str().unwrap().to_string();
    let (session, _) = signed_in(&app).await;
    let row = |id: &str| format!(r#"<tr id="c-{id}">"#);

    // Act + Assert: two a page, newest first; the next page follows the pager's cursor.
    let r = send(&app, Method::GET, "/console/channels?limit=2", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let first = html(&r);
    assert!(first.contains(&row(&sold[2])) && first.contains(&row(&sold[1])), "{first}");
    assert!(!first.contains(&row(&sold[0])) && !first.contains(&row(&listed)), "{first}");
    assert!(first.find(&row(&sold[2])) < first.find(&row(&sold[1])), "newest first");
    assert!(first.contains(r#"<option value="awaiting_transfer" selected>"#), "{first}");
    let next = next_page(first).expect("a link to the next page");
    assert!(next.starts_with("/console/channels?status=awaiting_transfer&limit=2&cursor=c1"), "{next}");
    let r = send(&app, Method::GET, &next, &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let second = html(&r);
    assert!(second.contains(&row(&sold[0])), "{second}");
    assert!(!second.contains(&row(&sold[1])) && !second.contains(&row(&sold[2])), "no sale twice: {second}");
    assert!(second.contains(&format!(r#"action="/console/channels/{}/resolve""#, sold[0])), "{second}");
    assert_eq!(next_page(second), None, "the last page");
    assert!(second.contains(r#"<a href="/console/channels?status=awaiting_transfer&amp;limit=2">First page</a>"#));

    // Another status: the listing, with nothing to resolve.
    let r = send(&app, Method::GET, "/console/channels?status=listed", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(page.contains(&row(&listed)) && !page.contains(&row(&sold[0])), "{page}");
    assert!(page.contains("<h1>Channels listed for sale</h1>") && !page.contains("/resolve"), "{page}");

    // A cursor the API did not give out, or an unknown status, is the field's problem.
    let r = send(&app, Method::GET, "/console/channels?cursor=not-a-cursor", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("cursor: is not a cursor this API gave out"), "{}", html(&r));
    let r = send(&app, Method::GET, "/console/channels?status=sold", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("status: must be awaiting_transfer, listed,"), "{}", html(&r));
}

#[tokio::test]
async fn a_user_is_looked_up_with_balances_ledger_nfts_and_withdrawals_and_credited_a_deposit() {
    let app = TestApp::memory().await;
    let user = 901;
    app.deposit(user, "12.000000001").await;
    app.nft(user, Some("3")).await;
    let req = Request::post("/api/market/output")
        .header("authorization", common::tma(user))
        .header("content-type", "application/json")
        .header("idempotency-key", "console-w1")
        .body(Body::from(
            serde_json::json!({"amount": "2", "address": "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"})
                .to_string(),
        ))
        .unwrap();
    let w = app.raw(req).await;
    assert!(w.status.is_success(), "{:?}", w.body);
    let (session, csrf) = signed_in(&app).await;

    let r = send(&app, Method::GET, "/console/users", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains(r#"aria-current="page">Users</a>"#) && html(&r).contains(r#"<input id="id" name="id""#));
    let r = send(&app, Method::GET, &format!("/console/users?id={user}"), &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(page.contains(r#"id="available"><data class="ton" value="10.000000001""#), "{page}");
    assert!(page.contains(r#"title="10.000000001 TON = 10000000001 nanotons""#), "{page}");
    assert!(page.contains(r#"id="held"><data class="ton" value="0""#), "{page}");
    assert!(page.contains(r#"id="user-ledger""#) && page.contains("<td>deposit</td>"), "{page}");
    assert!(page.contains(r#"id="user-nfts""#) && page.contains("Plush Pepe"), "{page}");
    assert!(page.contains(r#"id="user-withdrawals-table""#) && page.contains(w.body["id"].as_str().unwrap()), "{page}");
    let r = send(&app, Method::GET, "/console/users?id=abc", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains(r#"id="id-error">must be a Telegram user id</span>"#), "{}", html(&r));
    let r = send(&app, Method::GET, &format!("/console/users?id={user}&ledger=nonsense"), &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("ledger: is not a cursor this API gave out"), "{}", html(&r));
    let r = send(&app, Method::GET, "/console/users?id=902", &session, None, &[]).await;
    assert!(html(&r).contains(r#"id="no-user""#), "{}", html(&r));

    let path = format!("/console/users/{user}/deposits");
    let r = send(&app, Method::POST, &path, &session, Some("tx_hash=abc&amount=1"), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    let bad = format!("csrf={csrf}&tx_hash=tx-console-1&amount=1.0000000001");
    let r = send(&app, Method::POST, &path, &session, Some(&bad), &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains(r#"<span class="error" id="d-amount-error">"#), "{}", html(&r));
    assert!(html(&r).contains(r#"value="tx-console-1""#) && html(&r).contains(r#"value="1.0000000001""#), "kept");
    assert_eq!(app.balances(user).await.0, "10.000000001", "nothing changed");

    let good = format!("csrf={csrf}&tx_hash=tx-console-1&amount=0.5");
    let r = send(&app, Method::POST, &path, &session, Some(&good), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, format!("/console/users?id={user}").as_str()));
    let r = send(&app, Method::GET, &format!("/console/users?id={user}"), &session, None, &[]).await;
    assert!(html(&r).contains(&format!("Deposit tx-console-1 of 0.5 TON credited to user {user}.")), "{}", html(&r));
    assert!(html(&r).contains(r#"id="available"><data class="ton" value="10.500000001""#), "{}", html(&r));
    let r = send(&app, Method::POST, &path, &session, Some(&good), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the same deposit again is a replay");
    let r = send(&app, Method::GET, &format!("/console/users?id={user}"), &session, None, &[]).await;
    assert!(html(&r).contains("was already recorded"), "{}", html(&r));
    let other = format!("csrf={csrf}&tx_hash=tx-console-1&amount=7");
    let r = send(&app, Method::POST, &path, &session, Some(&other), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "the hash with another amount");
    assert_eq!(app.balances(user).await.0, "10.500000001");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn the_market_page_shows_the_collections_and_the_activity_as_the_api_reads_them() {
    let app = TestApp::memory().await;
    let (seller, buyer) = (1001, 1002);
    let sold = app.nft(seller, Some("2.000000001")).await;
    app.nft(seller, Some("7")).await;
    app.deposit(buyer, "10").await;
    let r = app.post("/api/nft/buy", common::As::User(buyer), serde_json::json!({"nft_id": sold})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let api = app.get("/api/collections", common::As::User(buyer)).await.body;
    let (session, _) = signed_in(&app).await;

    let r = send(&app, Method::GET, "/console/market", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = html(&r);
    assert!(page.contains(r#"aria-current="page">Market</a>"#), "{page}");
    let row = page.split(r#"<th scope="row">pepe</th>"#).nth(1).expect("the collection's row");
    let row = row.split("</tr>").next().unwrap();
    let floor = api["items"][0]["floor_price"].as_str().unwrap();
    assert_eq!(floor, "7");
    assert!(row.contains(&format!(r#"value="{floor}""#)) && row.contains("<td class=\"num\">1</td>"), "{row}");
    assert!(row.contains(r#"title="2.000000001 TON = 2000000001 nanotons""#), "the 24 h volume: {row}");
    let activity = page.split(r#"id="market-activity""#).nth(1).expect("the activity feed");
    assert!(activity.contains("<td>sold</td>") && activity.contains(&sold), "{activity}");
    assert!(activity.contains("<td>listed</td>"), "{activity}");

    let r = send(&app, Method::GET, "/console/market?collections=nonsense", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("collections: is not a cursor this API gave out"), "{}", html(&r));
    let r = send(&app, Method::GET, "/console/market?activity=nonsense", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("activity: is not a cursor this API gave out"), "{}", html(&r));
}

/// The text of the element with `id` (up to its first tag inside).
fn text_of<'a>(page: &'a str, id: &str) -> &'a str {
    let marker = format!(r#"id="{id}""#);
    let start = page.find(&marker).unwrap_or_else(|| panic!("no #{id} in {page}"));
    let from = start + page[start..].find('>').unwrap() + 1;
    page[from..].split('<').next().unwrap()
}

#[tokio::test]
async fn the_overview_shows_the_outbox_backlog_with_its_oldest_row_and_the_jobs_as_not_configured() {
    let app = TestApp::memory().await;
    let (session, _) = signed_in(&app).await;
    let page = send(&app, Method::GET, "/console", &session, None, &[]).await;
    let page = html(&page);
    assert_eq!(text_of(page, "outbox-count"), "0", "{page}");
    assert!(!page.contains(r#"id="outbox-age""#), "no oldest row: {page}");
    assert_eq!(text_of(page, "deposit-lag"), "not configured (TON is off)");
    assert_eq!(text_of(page, "gift-sync-lag"), "not configured (no business connection)");

    // A sale writes its notifications to the outbox; the relay has not run.
    let (seller, buyer) = (8101, 8102);
    let sold = app.nft(seller, Some("2")).await;
    app.deposit(buyer, "5").await;
    let r = app.post("/api/nft/buy", common::As::User(buyer), serde_json::json!({"nft_id": sold})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    app.advance(90);
    let page = send(&app, Method::GET, "/console", &session, None, &[]).await;
    let page = html(&page);
    assert_ne!(text_of(page, "outbox-count"), "0", "{page}");
    assert_eq!(text_of(page, "outbox-age"), "90 s", "the oldest row's age on business time: {page}");
}

#[tokio::test]
async fn the_overview_shows_the_deposit_watchers_lag_since_it_last_caught_up() {
    let fake = common::ton_fake::FakeTonCenter::start("EQCDM_QGggZ3qMa_f3lRPk4_qLDnLTqdi6OkMAV2NB9r5TG3", 0).await;
    let mut s = common::settings(None, None);
    s.ton_api_url = Some(fake.url());
    s.ton_deposit_address = Some("0:3333333333333333333333333333333333333333333333333333333333333333".into());
    let app = TestApp::with(s).await;
    let (session, _) = signed_in(&app).await;
    let page = send(&app, Method::GET, "/console", &session, None, &[]).await;
    assert_eq!(text_of(html(&page), "deposit-lag"), "has not caught up since this instance started");
    app.run_jobs().await;
    app.advance(45);
    let page = send(&app, Method::GET, "/console", &session, None, &[]).await;
    let page = html(&page);
    assert!(page.contains(r#"<td id="deposit-lag"><strong>45 s</strong> (caught up "#), "{page}");
    assert_eq!(text_of(page, "gift-sync-lag"), "not configured (no business connection)");
}

#[tokio::test]
async fn the_overview_reuses_a_recent_audit_until_staff_run_it_again_or_it_ages() {
    let app = TestApp::memory().await;
    let (session, csrf) = signed_in(&app).await;
    let first = send(&app, Method::GET, "/console", &session, None, &[]).await;
    let audited_at = text_of(html(&first), "audited-at").to_string();
    assert!(html(&first).contains(r#"caption>Money inside the market, over 0 user accounts<"#), "{}", html(&first));

    app.deposit(8201, "5").await;
    let again = send(&app, Method::GET, "/console", &session, None, &[]).await;
    assert_eq!(text_of(html(&again), "audited-at"), audited_at);
    assert!(html(&again).contains("over 0 user accounts"), "the same audit, not a new one: {}", html(&again));

    let refused = send(&app, Method::POST, "/console/audit", &session, Some("csrf=wrong"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let r = send(&app, Method::POST, "/console/audit", &session, Some(&format!("csrf={csrf}")), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console"));
    let fresh = send(&app, Method::GET, "/console", &session, None, &[]).await;
    let fresh = html(&fresh);
    assert!(fresh.contains("Audit run again: clean."), "{fresh}");
    assert!(fresh.contains("over 1 user account<"), "the button ran it again: {fresh}");

    app.deposit(8202, "5").await;
    app.advance(31);
    let aged = send(&app, Method::GET, "/console", &session, None, &[]).await;
    assert!(html(&aged).contains("over 2 user accounts<"), "older than 30 s: run again {}", html(&aged));
}

/// The staff actions recorded in `app`'s database: (actor, action, detail), oldest first.
async fn staff_trail(app: &TestApp) -> Vec<(String, String, String)> {
    let pg = app.app.pg.as_ref().expect("a PostgreSQL app");
    sqlx::query_as("SELECT actor, action, detail FROM staff_actions ORDER BY created_at, id")
        .fetch_all(pg.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_deposit_recorded_from_the_console_is_a_staff_action_of_whoever_signed_in() {
    let app = TestApp::postgres().await;
    let (session, csrf) = signed_in(&app).await;
    let form = format!("csrf={csrf}&tx_hash=tx-trail-1&amount=2.5");
    let r = send(&app, Method::POST, "/console/users/9301/deposits", &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(&app, Method::POST, "/console/users/9301/deposits", &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "a replay");
    let trail = staff_trail(&app).await;
    assert_eq!(trail.len(), 1, "the replay records nothing: {trail:?}");
    let (actor, action, detail) = &trail[0];
    assert!(actor.starts_with("staff:") && actor.len() == 18, "the token's audit label: {actor}");
    assert_eq!((action.as_str(), detail.as_str()), ("credit_deposit", "credited 2.5 TON of tx-trail-1 to user 9301"));
}

#[tokio::test]
async fn a_presale_delivered_from_the_console_is_a_staff_action_of_whoever_signed_in() {
    let app = TestApp::postgres().await;
    let (seller, buyer) = (9401, 9402);
    app.deposit(seller, "10").await;
    app.deposit(buyer, "30").await;
    let deliver_by = {
        use domain::ports::Clock;
        (app.clock.now() + chrono::Duration::hours(24)).to_rfc3339()
    };
    let body = serde_json::json!({"title": "Cake", "collection": "cakes", "price": "20", "deliver_by": deliver_by});
    let r = app.post("/api/presale/new", common::As::User(seller), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = app.post("/api/presale/buy", common::As::User(buyer), serde_json::json!({"presale_id": id})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (session, csrf) = signed_in(&app).await;
    let path = format!("/console/presales/{id}/deliver");
    let r = send(&app, Method::POST, &path, &session, Some(&format!("csrf={csrf}&gift_id=cake-trail")), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let trail = staff_trail(&app).await;
    let delivered: Vec<_> = trail.iter().filter(|(_, action, _)| action == "deliver_presale").collect();
    assert_eq!(delivered.len(), 1, "{trail:?}");
    let (actor, _, detail) = delivered[0];
    assert!(actor.starts_with("staff:"), "{actor}");
    assert!(detail.starts_with("delivered as gift cake-trail: NFT ") && detail.ends_with(&format!("to user {buyer}")));
}

#[tokio::test]
async fn managers_and_partners_created_from_the_console_are_staff_actions_of_whoever_signed_in() {
    let app = TestApp::postgres().await;
    let (session, csrf) = signed_in(&app).await;
    let r = send(&app, Method::POST, "/console/managers", &session, Some(&format!("csrf={csrf}&name=Anna")), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let pg = app.app.pg.as_ref().unwrap();
    let (manager,): (uuid::Uuid,) =
        sqlx::query_as("SELECT id FROM managers WHERE name = 'Anna'").fetch_one(pg.pool()).await.unwrap();
    let form = format!("csrf={csrf}&manager_id={manager}&priority=3&client.fio=Ivan&client.age=30&client.mobile=%2B79991234567&client.email=ivan%40example.com");
    let r = send(&app, Method::POST, "/console/partners", &session, Some(&form), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let trail = staff_trail(&app).await;
    let actions: Vec<(&str, &str)> = trail.iter().map(|(_, a, d)| (a.as_str(), d.as_str())).collect();
    let bound = format!("bound to manager {manager} at priority 3");
    assert_eq!(actions, [("create_manager", "manager Anna"), ("create_partner", bound.as_str())]);
    assert!(trail.iter().all(|(actor, ..)| actor.starts_with("staff:")), "{trail:?}");
}

/// An instance of the service over the database `db` (several make a fleet behind a balancer).
async fn instance(db: &std::sync::Arc<common::TestDb>) -> TestApp {
    TestApp::with(common::settings(Some(db.url.clone()), None)).await.keeping(db.clone())
}

#[tokio::test]
async fn a_session_opened_on_one_instance_works_on_another_and_survives_a_restart() {
    // Arrange: two instances over one database, signed in on the first.
    let db = std::sync::Arc::new(common::fresh_database().await);
    let (one, two) = (instance(&db).await, instance(&db).await);
    let (session, csrf) = signed_in(&one).await;

    // The second knows the session, its CSRF token included.
    let page = send(&two, Method::GET, "/console", &session, None, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", html(&page));
    assert_eq!(hidden(html(&page), "csrf"), csrf);

    // An action on the second leaves its outcome for the next page, shown once wherever it is.
    let form = format!("csrf={csrf}&tx_hash=tx-two-instances&amount=1.5");
    let r = send(&two, Method::POST, "/console/users/9501/deposits", &session, Some(&form), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console/users?id=9501"), "{}", html(&r));
    let flash = "Deposit tx-two-instances of 1.5 TON credited to user 9501.";
    let r = send(&one, Method::GET, "/console/users?id=9501", &session, None, &[]).await;
    assert!(html(&r).contains(flash), "{}", html(&r));
    let r = send(&two, Method::GET, "/console/users?id=9501", &session, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!html(&r).contains(flash), "shown once: {}", html(&r));

    // The database holds the SHA-256 of the session's id, never the id.
    let id = session.strip_prefix("console_session=").unwrap();
    let pg = one.app.pg.as_ref().unwrap();
    let stored: Vec<(Vec<u8>,)> =
        sqlx::query_as("SELECT digest FROM console_sessions").fetch_all(pg.pool()).await.unwrap();
    let digest: (Vec<u8>,) =
        sqlx::query_as("SELECT sha256(convert_to($1, 'UTF8'))").bind(id).fetch_one(pg.pool()).await.unwrap();
    assert_eq!(stored, vec![digest]);

    // A restart: both instances gone, a new one over the same database keeps the session.
    drop((one, two));
    let three = instance(&db).await;
    let page = send(&three, Method::GET, "/console", &session, None, &[]).await;
    assert_eq!(page.status, StatusCode::OK, "still signed in after a restart: {}", html(&page));
    assert_eq!(hidden(html(&page), "csrf"), csrf);

    // Signing out on one instance ends the session on every other.
    let four = instance(&db).await;
    let r = send(&three, Method::POST, "/console/sign-out", &session, Some(&format!("csrf={csrf}")), &[]).await;
    assert_eq!((r.status, location(&r)), (StatusCode::SEE_OTHER, "/console/sign-in?signed_out"));
    let after = send(&four, Method::GET, "/console", &session, None, &[]).await;
    assert_eq!((after.status, location(&after)), (StatusCode::SEE_OTHER, "/console/sign-in"), "signed out everywhere");
}
