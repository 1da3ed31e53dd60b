//! Who is signed in to the console: server-side sessions behind an `HttpOnly` cookie, a CSRF
//! token per session checked on every form that changes something, and the flash message an
//! action leaves for the page it redirects to. The sessions are kept by the store
//! ([`ConsoleSessions`], `AppState::console`), by the SHA-256 of their id: every instance over the
//! same database knows them, and a restart keeps them.

use std::collections::HashMap;
use std::sync::Arc;

use app::ports::{ConsoleSessions, Flash};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use domain::RepoError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::layout::{refused, unavailable};
use crate::state::AppState;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "console_session";
/// The sign-in form's double-submit cookie.
pub(crate) const SIGN_IN_COOKIE: &str = "console_sign_in";
/// How long a session lasts from sign-in.
pub(crate) const SESSION_TTL: Duration = Duration::hours(8);
/// How long a sign-in form stays good.
pub(crate) const SIGN_IN_TTL: Duration = Duration::hours(1);

/// A random 32-byte token, hex.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS gives random bytes");
    hex::encode(bytes)
}

/// What the store knows a session by: the SHA-256 of its id (so neither the stored rows nor a
/// lookup's timing say anything about the ids).
fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Opens a session for `actor`, for [`SESSION_TTL`]; returns its id (the cookie's value). The
/// store forgets a few expired sessions meanwhile.
pub(crate) async fn open(sessions: &dyn ConsoleSessions, actor: &str, now: DateTime<Utc>) -> Result<String, RepoError> {
    let id = random_token();
    sessions.open(digest(&id), actor, &random_token(), now + SESSION_TTL, now).await?;
    Ok(id)
}

/// Ends the session `id`, if there is one.
pub(crate) async fn close(sessions: &dyn ConsoleSessions, id: &str) -> Result<(), RepoError> {
    sessions.close(digest(id)).await
}

/// The value of cookie `name` in the request, if any.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether the request came over TLS: a proxy says so in `X-Forwarded-Proto`, or the URI does.
pub(crate) fn over_tls(headers: &HeaderMap, uri: &Uri) -> bool {
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    forwarded || uri.scheme_str() == Some("https")
}

/// A `Set-Cookie` value for the console: `HttpOnly`, `SameSite=Strict`, only under `/console`,
/// `Secure` over TLS; `max_age` 0 expires it.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Max-Age={}; Path=/console; HttpOnly; SameSite=Strict{secure}", max_age.num_seconds())
}

/// A signed-in member of staff: who (the token's audit label), the session's CSRF token and, on
/// a page (GET), the flash message left for it.
#[derive(Clone)]
pub(crate) struct Desk {
    pub id: String,
    pub actor: String,
    pub csrf: String,
    pub flash: Option<Flash>,
}

impl Desk {
    /// Leaves the outcome of an action for the page the browser is sent to next. The action is
    /// done by then: if the store fails here, only the message is lost (and logged).
    pub(crate) async fn flash(&self, state: &AppState, ok: bool, text: impl Into<String>) {
        let text = text.into();
        if let Err(e) = state.console.set_flash(digest(&self.id), ok, &text).await {
            tracing::warn!(error = %e, actor = %self.actor, %text, "console flash message lost");
        }
    }
}

/// Where a request without a live session goes: the sign-in page, never data.
pub(crate) fn to_sign_in() -> Response {
    Redirect::to("/console/sign-in").into_response()
}

impl FromRequestParts<Arc<AppState>> for Desk {
    type Rejection = Response;

    /// Only the session cookie counts: an `Authorization` header (a user's `tma` credential or
    /// anything else) never signs anyone in here.
    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Response> {
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(to_sign_in()) };
        let now = state.auth.clock.now();
        let take_flash = parts.method == Method::GET;
        match state.console.find(digest(id), now, take_flash).await {
            Ok(Some(s)) => Ok(Desk { id: id.to_string(), actor: s.actor, csrf: s.csrf, flash: s.flash }),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(unavailable(e.into())),
        }
    }
}

/// The fields of an `application/x-www-form-urlencoded` body (the last of a repeated name).
#[derive(Default)]
pub(crate) struct Fields(HashMap<String, String>);

impl Fields {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Fields(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The field's value, or "" when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// A list page's `limit` and `cursor` as the API takes them (the same problems when bad).
    pub(crate) fn paging(&self) -> Result<Paging, crate::error::ApiError> {
        let limit = match self.get("limit") {
            "" => None,
            l => Some(l.parse().map_err(|_| crate::error::ApiError::field("limit", "must be between 1 and 100"))?),
        };
        let cursor = Some(self.get("cursor")).filter(|c| !c.is_empty()).map(str::to_string);
        let request = crate::routes::page(limit, cursor.as_deref())?;
        Ok(Paging { limit, cursor, request })
    }
}

/// Which page of a list a console page shows: as asked (to build its links) and as read.
pub(crate) struct Paging {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub request: app::ports::reads::PageRequest,
}

async fn form_fields(req: Request, state: &Arc<AppState>) -> Fields {
    let is_form = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    match axum::body::Bytes::from_request(req, state).await {
        Ok(bytes) if is_form => Fields::parse(&bytes),
        _ => Fields::default(),
    }
}

/// A form that changes something, posted by a signed-in member of staff with their session's
/// CSRF token in the `csrf` field. Without a session: the sign-in page; without the token or
/// with another: 403, and nothing is done.
pub(crate) struct Action {
    pub desk: Desk,
    pub fields: Fields,
}

impl FromRequest<Arc<AppState>> for Action {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let desk = Desk::from_request_parts(&mut parts, state).await?;
        let fields = form_fields(Request::from_parts(parts, body), state).await;
        if !same_secret(fields.get("csrf"), &desk.csrf) {
            tracing::warn!(actor = %desk.actor, "console form refused: missing or wrong CSRF token");
            return Err(refused(Some(&desk)));
        }
        Ok(Action { desk, fields })
    }
}

/// The sign-in form's fields, posted by anyone; the double-submit token is checked by the
/// handler (it answers with the form again).
pub(crate) struct SignInForm {
    pub fields: Fields,
    pub cookie_token: Option<String>,
    pub secure: bool,
    pub session: Option<String>,
}

impl FromRequest<Arc<AppState>> for SignInForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let cookie_token = cookie(&parts.headers, SIGN_IN_COOKIE).map(str::to_string);
        let session = cookie(&parts.headers, SESSION_COOKIE).map(str::to_string);
        let secure = over_tls(&parts.headers, &parts.uri);
        let fields = form_fields(Request::from_parts(parts, body), state).await;
        Ok(SignInForm { fields, cookie_token, secure, session })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; console_session=abc ;b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "console"), None);
        assert_eq!(cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_under_console_and_secure_over_tls() {
        let plain = set_cookie(SESSION_COOKIE, "v", SESSION_TTL, false);
        assert_eq!(plain, "console_session=v; Max-Age=28800; Path=/console; HttpOnly; SameSite=Strict");
        assert!(set_cookie(SESSION_COOKIE, "v", SESSION_TTL, true).ends_with("; Secure"));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(over_tls(&proxied, &Uri::from_static("/console")));
        assert!(over_tls(&HeaderMap::new(), &Uri::from_static("https://desk.example/console")));
        assert!(!over_tls(&HeaderMap::new(), &Uri::from_static("/console")));
    }
}
