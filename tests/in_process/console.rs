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
        (Method::GET, "/console/withdrawals?status=stuck".to_string()),
        (Method::GET, "/console/deposits".to_string()),
        (Method::GET, "/console/partners".to_string()),
        (Method::POST, format!("/console/withdrawals/{nil}/resolve")),
        (Method::POST, format!("/console/deposits/{nil}/assign")),
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
