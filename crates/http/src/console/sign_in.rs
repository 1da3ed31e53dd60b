//! Signing in with a staff token (the same check as the API's Bearer tokens) and out.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::html;

use super::layout::{bare, respond, unavailable, Input};
use super::session::{
    self, cookie, over_tls, random_token, same_secret, set_cookie, Action, SignInForm, SESSION_COOKIE, SESSION_TTL,
    SIGN_IN_COOKIE, SIGN_IN_TTL,
};
use crate::auth::staff_actor;
use crate::state::AppState;

/// The sign-in form, with its double-submit token in a field and in a cookie of its own: a page
/// of another site cannot post it (it cannot read or set the cookie), so nobody is signed in to
/// a session they did not ask for.
fn form(status: StatusCode, form_token: &str, secure: bool, error: Option<&str>, note: Option<&str>) -> Response {
    let body = html! {
        @if let Some(note) = note { p.flash.ok role="status" { (note) } }
        p { "Sign in with your staff token (one of " code { "STAFF_TOKENS" } "). The session lasts 8 hours." }
        form.stack method="post" action="/console/sign-in" {
            input type="hidden" name="sign_in" value=(form_token);
            // For password managers: the token is the password of a user called "staff".
            input type="text" name="username" value="staff" autocomplete="username" hidden;
            (Input {
                kind: "password",
                error,
                attrs: &[("autocomplete", "current-password"), ("required", "")],
                ..Input::new("token", "token", "Staff token")
            }.render())
            button type="submit" { "Sign in" }
        }
    };
    let cookie = set_cookie(SIGN_IN_COOKIE, form_token, SIGN_IN_TTL, secure);
    (AppendHeaders([(SET_COOKIE, cookie)]), respond(status, bare("Sign in", body))).into_response()
}

/// A form token made of hex digits only, as this module makes them.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `GET /console/sign-in`: the form (a token already given to this browser is kept, so two open
/// forms both work).
pub(crate) async fn show(headers: HeaderMap, uri: Uri, RawQuery(query): RawQuery) -> Response {
    let token = cookie(&headers, SIGN_IN_COOKIE).filter(|t| well_formed(t)).map(str::to_string);
    let note =
        query.as_deref().is_some_and(|q| q.split('&').any(|p| p == "signed_out")).then_some("You are signed out.");
    form(StatusCode::OK, &token.unwrap_or_else(random_token), over_tls(&headers, &uri), None, note)
}

/// `POST /console/sign-in`: a staff token opens a session; anything else gets the form again.
pub(crate) async fn submit(State(state): State<Arc<AppState>>, posted: SignInForm) -> Response {
    let field = posted.fields.get("sign_in");
    let double_submitted = posted.cookie_token.as_deref().is_some_and(|c| well_formed(c) && same_secret(c, field));
    if !double_submitted {
        let error = "This sign-in form has expired or was not sent from this console. Enter the token again.";
        return form(StatusCode::FORBIDDEN, &random_token(), posted.secure, Some(error), None);
    }
    let Some(actor) = staff_actor(&state.auth, posted.fields.get("token").trim()) else {
        tracing::info!("console sign-in refused: not a staff token");
        let error = "That is not a staff token. Check it and try again.";
        return form(StatusCode::UNAUTHORIZED, field, posted.secure, Some(error), None);
    };
    if let Some(old) = &posted.session {
        if let Err(e) = session::close(&*state.console, old).await {
            return unavailable(e.into());
        }
    }
    let session = match session::open(&*state.console, &actor, state.auth.clock.now()).await {
        Ok(id) => id,
        Err(e) => return unavailable(e.into()),
    };
    tracing::info!(%actor, "console sign-in");
    let cookies = AppendHeaders([
        (SET_COOKIE, set_cookie(SESSION_COOKIE, &session, SESSION_TTL, posted.secure)),
        (SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", chrono::Duration::zero(), posted.secure)),
    ]);
    (cookies, Redirect::to("/console")).into_response()
}

/// `POST /console/sign-out`: the session ends here and its cookie in the browser.
pub(crate) async fn sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    action: Action,
) -> Response {
    if let Err(e) = session::close(&*state.console, &action.desk.id).await {
        return unavailable(e.into());
    }
    tracing::info!(actor = %action.desk.actor, "console sign-out");
    let expired = set_cookie(SESSION_COOKIE, "", chrono::Duration::zero(), over_tls(&headers, &uri));
    (AppendHeaders([(SET_COOKIE, expired)]), Redirect::to("/console/sign-in?signed_out")).into_response()
}
