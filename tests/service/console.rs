//! The operator console in a real browser: Debian's headless Chromium, driven through its
//! chromedriver over WebDriver (fantoccini), against the real binary on PostgreSQL. A missing
//! browser or driver fails the test (`.ci/run` installs them). `CONSOLE_SCREENSHOTS=1` also saves
//! the main pages to `docs/console/`.

use crate::common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine;
use common::{As, Server};
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, ResponseTemplate};

const USER: i64 = 7001;
const PAYEE: i64 = 7002;
const ADDRESS: &str = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";
/// What the console's form posts answer with on purpose (a refused sign-in, a form sent back with
/// its errors); the browser logs such a document's status, which is not a fault of the page.
const FORM_POSTS: [&str; 5] = ["/console/sign-in", "/resolve", "/assign", "/console/partners", "/console/managers"];

/// A program on the PATH (or at `$var`); its absence fails the test, saying how to install it.
fn program(var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(name)).find(|p| p.is_file()));
    found.unwrap_or_else(|| {
        panic!("the console's browser test needs {name}: apt-get install -y chromium chromium-driver (or set {var})")
    })
}

/// Chrome's own WebDriver extensions, as fantoccini sends any command.
#[derive(Debug)]
enum Chrome {
    /// The browser's log since the last read (console messages, failed loads, CSP reports).
    Log,
    /// A DevTools command (a full-page screenshot).
    Cdp(&'static str, Value),
}

impl WebDriverCompatibleCommand for Chrome {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        let session = session.unwrap_or_default();
        match self {
            Chrome::Log => base.join(&format!("session/{session}/se/log")),
            Chrome::Cdp(..) => base.join(&format!("session/{session}/goog/cdp/execute")),
        }
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        let body = match self {
            Chrome::Log => json!({"type": "browser"}),
            Chrome::Cdp(cmd, params) => json!({"cmd": cmd, "params": params}),
        };
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// chromedriver and the browser it starts, in a process group of their own: ended together when
/// the test ends, also when it fails midway (a browser would outlive its driver otherwise).
struct Driver(tokio::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
        }
    }
}

/// A browser on the console, with everything it logged as going wrong.
struct Console {
    base: String,
    client: Client,
    _driver: Driver,
    problems: Vec<String>,
    screenshots: Option<PathBuf>,
}

impl Console {
    async fn launch(base: &str) -> Self {
        let mut driver = tokio::process::Command::new(program("CHROMEDRIVER", "chromedriver"))
            .arg("--port=0")
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let mut lines = BufReader::new(driver.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split_once("started successfully on port ").map(|(_, r)| r.to_string()) {
                    return rest.trim_end_matches('.').to_string();
                }
            }
            panic!("chromedriver exited before listening");
        })
        .await
        .expect("chromedriver did not start within 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut capabilities = serde_json::Map::new();
        let binary = program("CHROMIUM", "chromium");
        let args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,860"];
        capabilities.insert("goog:chromeOptions".into(), json!({"binary": binary, "args": args}));
        capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("Chromium did not start under chromedriver: {e}"));
        let screenshots = (std::env::var("CONSOLE_SCREENSHOTS").as_deref() == Ok("1"))
            .then(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/console"));
        let mut c =
            Console { base: base.to_string(), client, _driver: Driver(driver), problems: Vec::new(), screenshots };
        c.the_log_is_heard().await;
        c
    }

    /// Reading the browser's log works: an error the page logs is heard (so "no problems" at the
    /// end means none happened, not that nobody listened).
    async fn the_log_is_heard(&mut self) {
        self.client.execute("console.error('probe: the log is read')", vec![]).await.unwrap();
        self.read_log().await;
        let heard = std::mem::take(&mut self.problems);
        assert!(heard.iter().any(|p| p.contains("probe: the log is read")), "the browser log said nothing: {heard:?}");
    }

    /// Keeps the warnings and errors the browser logged since the last read.
    async fn read_log(&mut self) {
        let entries = self.client.issue_cmd(Chrome::Log).await.expect("the browser log");
        for entry in entries.as_array().cloned().unwrap_or_default() {
            let level = entry["level"].as_str().unwrap_or_default();
            let message = entry["message"].as_str().unwrap_or_default();
            let expected_status = message.contains("the server responded with a status of 4")
                && FORM_POSTS.iter().any(|p| message.split(' ').next().is_some_and(|url| url.contains(p)));
            if matches!(level, "WARNING" | "SEVERE") && !expected_status {
                self.problems.push(format!("{level}: {message}"));
            }
        }
    }

    /// Opens `path` and waits for the page to load.
    async fn open(&mut self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("open {path}: {e}"));
        self.loaded().await;
    }

    /// Clicks `selector` (a submit button or a link) and waits for the next page.
    async fn click(&mut self, selector: &str) {
        self.client.execute("window.__leaving = true", vec![]).await.unwrap();
        self.find(selector).await.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
        self.loaded().await;
    }

    async fn loaded(&mut self) {
        for _ in 0..400 {
            let script = "return document.readyState === 'complete' && window.__leaving !== true";
            if self.client.execute(script, vec![]).await.ok() == Some(Value::Bool(true)) {
                self.read_log().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the page did not load within 10 s");
    }

    async fn find(&self, selector: &str) -> fantoccini::elements::Element {
        self.client.find(Locator::Css(selector)).await.unwrap_or_else(|e| panic!("no {selector}: {e}"))
    }

    /// Types `text` into the input `selector` as a person would, after emptying it.
    async fn fill(&self, selector: &str, text: &str) {
        let input = self.find(selector).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap().to_string();
        url.strip_prefix(&self.base).unwrap_or(&url).to_string()
    }

    async fn text(&self, selector: &str) -> String {
        self.find(selector).await.text().await.unwrap()
    }

    async fn attribute(&self, selector: &str, name: &str) -> Option<String> {
        self.find(selector).await.attr(name).await.unwrap()
    }

    async fn has(&self, selector: &str) -> bool {
        self.client.find(Locator::Css(selector)).await.is_ok()
    }

    /// Reloads the page, as a person would, until `selector` is on it (the overview shows the
    /// last audit, or says one is running when none finished within its wait — under a loaded
    /// test run, the first may not); panics after 15 s.
    async fn reload_until(&self, selector: &str) {
        for _ in 0..75 {
            if self.has(selector).await {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            self.client.refresh().await.unwrap();
        }
        panic!("{selector} never showed on {}", self.path().await);
    }

    async fn h1(&self) -> String {
        self.text("main h1").await
    }

    /// What the page says as the outcome of the last action.
    async fn flash(&self) -> String {
        self.text("main .flash").await
    }

    /// The session cookie as the browser keeps it.
    async fn session_cookie(&self) -> Option<fantoccini::cookies::Cookie<'static>> {
        self.client.get_all_cookies().await.unwrap().into_iter().find(|c| c.name() == "console_session")
    }

    /// The whole page as a PNG in `docs/console/`, when asked for.
    async fn screenshot(&self, name: &str) {
        let Some(dir) = &self.screenshots else { return };
        let shot = self
            .client
            .issue_cmd(Chrome::Cdp("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true})))
            .await
            .unwrap();
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Whatever went wrong in the browser so far, emptied.
    async fn problems(&mut self) -> Vec<String> {
        self.read_log().await;
        std::mem::take(&mut self.problems)
    }

    async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A payout gateway that is always down: every payout runs out of attempts and is `stuck`.
async fn broken_gateway() -> MockServer {
    let gateway = MockServer::start().await;
    Mock::given(path_regex("^/payouts")).respond_with(ResponseTemplate::new(500)).mount(&gateway).await;
    gateway
}

async fn withdraw(server: &Server, amount: &str, key: &str) -> String {
    let res = server
        .client
        .post(format!("{}/api/market/output", server.base))
        .header("authorization", common::tma(USER))
        .header("idempotency-key", key)
        .json(&json!({"amount": amount, "address": ADDRESS}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 202);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn withdrawal(server: &Server, id: &str) -> Value {
    server.get(&format!("/api/market/withdrawals/{id}"), As::User(USER)).await.1
}

async fn until_stuck(server: &Server, id: &str) {
    for _ in 0..200 {
        if withdrawal(server, id).await["status"] == "stuck" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("withdrawal {id} did not become stuck: {}", withdrawal(server, id).await);
}

async fn available(server: &Server, user: i64) -> String {
    server.get("/api/me", As::User(user)).await.1["available"].as_str().unwrap().to_string()
}

/// A form posted with the session cookie by a plain HTTP client (no browser), as a forged page
/// would try it.
async fn post_form(server: &Server, path: &str, session: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let body: String = form_urlencoded_body(form);
    server
        .client
        .post(format!("{}{path}", server.base))
        .header("cookie", format!("console_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn form_urlencoded_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            format!("{k}={}", v.replace('%', "%25").replace('&', "%26").replace('=', "%3D").replace(' ', "+"))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A client that does not follow redirects, to see where the console sends a request.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn staff_run_the_desk_from_the_console_in_a_real_browser() {
    // Arrange: the real binary on PostgreSQL, payouts that never get through, money and work
    // waiting for staff: three stuck withdrawals and a deposit no memo matched.
    let db = common::fresh_database().await;
    let gateway = broken_gateway().await;
    let server = Server::start(&[
        ("DATABASE_URL", db.url.clone()),
        ("PAYOUT_GATEWAY_URL", gateway.uri()),
        ("PAYOUT_GATEWAY_KEY", "secret".into()),
        ("RELAY_MAX_ATTEMPTS", "1".into()),
        ("RELAY_INTERVAL_MS", "100".into()),
        ("RATE_LIMIT_PER_SECOND", "0".into()),
    ])
    .await;
    let (s, _) = server
        .post("/api/admin/deposits", As::Staff, json!({"user_id": USER, "amount": "20", "tx_hash": "console-in-1"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut stuck = Vec::new();
    for (amount, key) in [("3", "w1"), ("2.5", "w2"), ("1.25", "w3")] {
        stuck.push(withdraw(&server, amount, key).await);
    }
    for id in &stuck {
        until_stuck(&server, id).await;
    }
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let unmatched = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO unmatched_deposits (id, tx_hash, sender, amount, comment, received_at) \
         VALUES ($1, 'console-unmatched-1', '0:5f00decafbad00000000000000000000000000000000000000000000000000aa', \
         2.000000001, 'for the cap', now())",
    )
    .bind(unmatched)
    .execute(&pool)
    .await
    .unwrap();
    let mut browser = Console::launch(&server.base).await;

    // No session: the sign-in page, never data.
    browser.open("/console/withdrawals").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    assert_eq!(browser.h1().await, "Sign in");

    // A wrong token is refused with a message beside the field.
    browser.fill("#token", "not-the-staff-token").await;
    browser.click("form button[type=submit]").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    assert!(browser.text("#token-error").await.contains("not a staff token"));
    assert_eq!(browser.attribute("#token", "aria-describedby").await.as_deref(), Some("token-error"));
    assert!(browser.session_cookie().await.is_none(), "no session for a wrong token");

    // The staff token opens a session: an HttpOnly, SameSite=Strict cookie that expires.
    browser.fill("#token", common::STAFF_TOKEN).await;
    browser.click("form button[type=submit]").await;
    assert_eq!(browser.path().await, "/console");
    let cookie = browser.session_cookie().await.expect("a session cookie");
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert!(cookie.same_site().is_some_and(|s| s.is_strict()), "{cookie:?}");
    assert_eq!(cookie.path(), Some("/console"));
    let expires = cookie.expires_datetime().expect("a cookie that expires, not a browser-session one");
    let hours = (expires.unix_timestamp() - chrono::Utc::now().timestamp()) / 3600;
    assert!((7..=8).contains(&hours), "expires in 8 h: {cookie:?}");
    assert_ne!(cookie.secure(), Some(true), "plain HTTP here; Secure only behind TLS");
    let session = cookie.value().to_string();
    let actor = browser.text(".who code").await;
    assert!(actor.starts_with("staff:") && actor.len() == 18, "{actor}");

    // The overview: the audit, the stuck withdrawals, the unmatched deposit, readiness.
    assert_eq!(browser.h1().await, "Overview");
    browser.reload_until("#audit-result").await;
    assert!(browser.text("#audit-result").await.starts_with("Clean"));
    assert_eq!(browser.text("#stuck-count").await, "3");
    assert_eq!(browser.text("#unmatched-deposits-count").await, "1");
    assert_eq!(browser.text("#unmatched-gifts-count").await, "0");
    let listed = browser.text("#stuck").await;
    assert!(stuck.iter().all(|id| listed.contains(id.as_str())), "{listed}");
    assert!(listed.contains("2.5 TON"), "{listed}");
    let exact = browser.attribute("#stuck data.ton", "title").await.unwrap();
    assert!(exact.ends_with("000 TON = 1250000000 nanotons"), "the first (newest) with its exact value: {exact}");
    assert!(browser.text("#ready + p + .wide").await.contains("database"));
    browser.screenshot("overview").await;

    // Withdrawals: a sent resolution needs its hash (said beside the field), then goes through.
    browser.click("nav a[href='/console/withdrawals']").await;
    assert_eq!(browser.h1().await, "Withdrawals");
    let (first, second, third) = (&stuck[0], &stuck[1], &stuck[2]);
    browser.click(&format!("#w-{first} form:first-of-type button")).await;
    assert!(!browser.text(&format!("#tx-{first}-error")).await.is_empty(), "the hash is required");
    assert_eq!(withdrawal(&server, first).await["status"], "stuck", "nothing done");
    browser.fill(&format!("#tx-{first}"), "found-on-chain-1").await;
    browser.click(&format!("#w-{first} form:first-of-type button")).await;
    let flash = browser.flash().await;
    assert!(flash.contains("resolved as sent with transaction found-on-chain-1"), "{flash}");
    assert!(!browser.has(&format!("#w-{first}")).await, "no longer stuck");
    let w = withdrawal(&server, first).await;
    assert_eq!((w["status"].as_str(), w["tx_hash"].as_str()), (Some("sent"), Some("found-on-chain-1")));
    browser.screenshot("withdrawals").await;
    // … and a failed one refunds the user.
    browser.click(&format!("#w-{second} button.danger")).await;
    assert!(browser.flash().await.contains("resolved as failed: 2.5 TON went back to user 7001"));
    assert_eq!(withdrawal(&server, second).await["status"], "failed");
    assert_eq!(available(&server, USER).await, "15.75", "20 - 3 - 2.5 - 1.25, and 2.5 back");
    let trail: Vec<(String, String, String)> =
        sqlx::query_as("SELECT actor, action, detail FROM staff_actions ORDER BY created_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(trail.len(), 3, "the seeding deposit (by the API, same token) and the two: {trail:?}");
    assert_eq!((trail[0].0.as_str(), trail[0].1.as_str()), (actor.as_str(), "credit_deposit"));
    assert_eq!(trail[1], (actor.clone(), "resolve_withdrawal".into(), "sent: found-on-chain-1".into()));
    assert_eq!((trail[2].0.as_str(), trail[2].1.as_str()), (actor.as_str(), "resolve_withdrawal"));

    // Unmatched deposits: a user id that is not one is refused beside the field; then assigned.
    browser.click("nav a[href='/console/deposits']").await;
    assert_eq!(browser.h1().await, "Unmatched deposits");
    assert!(browser.text("#deposits").await.contains("2.000000001 TON"));
    browser.fill(&format!("#user-{unmatched}"), "alice").await;
    browser.click(&format!("#d-{unmatched} button")).await;
    assert_eq!(browser.text(&format!("#user-{unmatched}-error")).await, "must be a Telegram user id");
    browser.fill(&format!("#user-{unmatched}"), &PAYEE.to_string()).await;
    browser.click(&format!("#d-{unmatched} button")).await;
    let flash = browser.flash().await;
    assert!(flash.contains("Deposit console-unmatched-1 of 2.000000001 TON credited to user 7002"), "{flash}");
    assert!(browser.text(&format!("#d-{unmatched}")).await.contains("Credited to user 7002"));
    assert_eq!(available(&server, PAYEE).await, "2.000000001");
    browser.screenshot("deposits").await;

    // Partner desk: a manager, then a partner with a bad e-mail (the error beside the e-mail
    // input, the other values kept), then a good one, listed among the manager's clients.
    browser.click("nav a[href='/console/partners']").await;
    assert_eq!(browser.h1().await, "Partner desk");
    browser.fill("#m-name", "Anna Petrova").await;
    browser.fill("#m-telegram_username", "@anna_desk").await;
    browser.click("form[action='/console/managers'] button").await;
    assert!(browser.flash().await.starts_with("Manager Anna Petrova created with id"));
    let manager = browser.attribute("#p-manager_id", "value").await.unwrap();
    assert_eq!(manager.len(), 36, "the new manager's id is filled in: {manager}");
    browser.fill("#p-priority", "2").await;
    browser.fill("#p-client-fio", "Ivan Ivanov").await;
    browser.fill("#p-client-age", "34").await;
    browser.fill("#p-client-mobile", "+79991234567").await;
    browser.fill("#p-client-email", "ivan-at-example").await;
    browser.click("form[action='/console/partners'] button").await;
    let error = browser.text("#p-client-email-error").await;
    assert!(!error.is_empty(), "the e-mail's error is beside it");
    assert_eq!(browser.attribute("#p-client-email", "aria-describedby").await.as_deref(), Some("p-client-email-error"));
    assert_eq!(browser.attribute("#p-client-email", "aria-invalid").await.as_deref(), Some("true"));
    assert!(!browser.has("#p-client-fio-error").await, "only the e-mail is at fault");
    assert_eq!(browser.attribute("#p-client-fio", "value").await.as_deref(), Some("Ivan Ivanov"), "kept");
    assert!(browser.flash().await.contains("fix the fields marked below"));
    browser.screenshot("partners-error").await;
    browser.fill("#p-client-email", "ivan@example.com").await;
    browser.click("form[action='/console/partners'] button").await;
    assert!(browser.flash().await.starts_with("Partner Ivan Ivanov created and bound to manager"));
    let clients = browser.text("#client-list").await;
    assert!(clients.contains("Ivan Ivanov") && clients.contains("ivan@example.com"), "{clients}");
    let (s, listed) = server.get(&format!("/api/managers/{manager}/clients"), As::Staff).await;
    assert_eq!((s, listed["items"][0]["priority"].as_i64()), (StatusCode::OK, Some(2)), "{listed}");
    browser.screenshot("partners").await;

    // The other pages open from the navigation; the users page finds the payee credited above.
    for (href, h1) in [
        ("/console/gifts", "Unmatched gifts"),
        ("/console/presales", "Presales awaiting delivery"),
        ("/console/channels", "Channel sales awaiting transfer"),
        ("/console/market", "Market"),
        ("/console/users", "Users"),
    ] {
        browser.click(&format!("nav a[href='{href}']")).await;
        assert_eq!(browser.h1().await, h1);
    }
    browser.fill("#id", &PAYEE.to_string()).await;
    browser.click("form[action='/console/users'] button").await;
    assert_eq!(browser.text("#available").await, "2.000000001 TON");
    assert!(browser.has("form[action='/console/users/7002/deposits']").await);

    // At a phone's width the overview still reads: the navigation and the counts are there.
    let phone = json!({"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true});
    browser.client.issue_cmd(Chrome::Cdp("Emulation.setDeviceMetricsOverride", phone)).await.unwrap();
    browser.open("/console").await;
    assert_eq!(browser.text("#stuck-count").await, "1");
    assert!(browser.text("nav[aria-label=Console]").await.contains("Partner desk"));
    let fits = "return document.documentElement.scrollWidth <= document.documentElement.clientWidth";
    assert_eq!(browser.client.execute(fits, vec![]).await.unwrap(), Value::Bool(true), "no sideways scrolling");
    browser.screenshot("overview-phone").await;
    browser.client.issue_cmd(Chrome::Cdp("Emulation.clearDeviceMetricsOverride", json!({}))).await.unwrap();

    // CSRF: a form posted with the session but without the token (or with another) is refused,
    // and nothing is done.
    for form in [vec![("outcome", "failed")], vec![("outcome", "failed"), ("csrf", "0123456789abcdef")]] {
        let res = post_form(&server, &format!("/console/withdrawals/{third}/resolve"), &session, &form).await;
        assert_eq!(res.status().as_u16(), 403);
        assert!(res.text().await.unwrap().contains("security token is missing or out of date"));
    }
    assert_eq!(withdrawal(&server, third).await["status"], "stuck", "nothing changed");
    let res = post_form(&server, "/console/sign-out", &session, &[]).await;
    assert_eq!(res.status().as_u16(), 403, "signing out needs the token too");

    // Headers on every console page; a user's credential or a Bearer token is not a session.
    let plain = no_redirects();
    let res = plain
        .get(format!("{}/console", server.base))
        .header("cookie", format!("console_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "the session survived the refused forms");
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(
        header("content-security-policy"),
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(
        (
            header("x-frame-options"),
            header("referrer-policy"),
            header("x-content-type-options"),
            header("cache-control")
        ),
        ("DENY".into(), "no-referrer".into(), "nosniff".into(), "no-store".into())
    );
    for credential in [common::tma(USER), format!("Bearer {}", common::STAFF_TOKEN)] {
        let res =
            plain.get(format!("{}/console", server.base)).header("authorization", credential).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 303);
        assert_eq!(res.headers()["location"], "/console/sign-in");
    }

    // Signing out ends the session: the next page is the sign-in page, and the old cookie is dead.
    browser.click(".who button").await;
    assert_eq!(browser.path().await, "/console/sign-in?signed_out");
    assert!(browser.session_cookie().await.is_none(), "the cookie is expired");
    browser.open("/console/withdrawals").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    let res = plain
        .get(format!("{}/console", server.base))
        .header("cookie", format!("console_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/console/sign-in"));

    // No page logged an error, a warning or an exception; the money still adds up.
    assert_eq!(browser.problems().await, Vec::<String>::new());
    let (s, audit) = server.get("/api/admin/audit", As::Staff).await;
    assert_eq!((s, &audit["ok"]), (StatusCode::OK, &json!(true)), "{audit}");
    browser.close().await;
    pool.close().await;
    server.stop().await;
}
