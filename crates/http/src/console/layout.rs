//! What every console page shares: the page shell with its navigation, the outcome of the last
//! action, amounts and times as people read them, labelled inputs with their errors, and the
//! pages a request ends on when it cannot go on.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::FieldError;
use maud::{html, Markup, DOCTYPE};
use rust_decimal::Decimal;

use super::session::Desk;
use crate::error::ApiError;

/// The pages in the navigation, in its order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Here {
    Overview,
    Withdrawals,
    Deposits,
    Gifts,
    Presales,
    Channels,
    Users,
    Market,
    Partners,
    /// A page outside the navigation (an error).
    Elsewhere,
}

const NAV: [(Here, &str, &str); 9] = [
    (Here::Overview, "/console", "Overview"),
    (Here::Withdrawals, "/console/withdrawals", "Withdrawals"),
    (Here::Deposits, "/console/deposits", "Unmatched deposits"),
    (Here::Gifts, "/console/gifts", "Unmatched gifts"),
    (Here::Presales, "/console/presales", "Presales"),
    (Here::Channels, "/console/channels", "Channel sales"),
    (Here::Users, "/console/users", "Users"),
    (Here::Market, "/console/market", "Market"),
    (Here::Partners, "/console/partners", "Partner desk"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light";
            title { (title) " · atomarket console" }
            link rel="stylesheet" href="/console/assets/console.css";
            link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml";
        }
    }
}

/// A page for signed-in staff: the navigation, the outcome left by the last action, `body`.
pub(crate) fn page(title: &str, here: Here, desk: &Desk, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    p.brand { a href="/console" { "atomarket" } " " span { "console" } }
                    nav aria-label="Console" {
                        ul {
                            @for (to, href, label) in NAV {
                                li { a href=(href) aria-current=[(to == here).then_some("page")] { (label) } }
                            }
                        }
                    }
                    form.who method="post" action="/console/sign-out" {
                        span { "Signed in as " code { (desk.actor) } }
                        input type="hidden" name="csrf" value=(desk.csrf);
                        button.quiet type="submit" { "Sign out" }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    @if let Some(flash) = &desk.flash {
                        @if flash.ok {
                            p.flash.ok role="status" { (flash.text) }
                        } @else {
                            p.flash.bad role="alert" { (flash.text) }
                        }
                    }
                    (body)
                }
            }
        }
    }
}

/// A page for someone not signed in (the sign-in form).
pub(crate) fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                main #main {
                    p.brand { "atomarket " span { "console" } }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// An HTML response.
pub(crate) fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response()
}

/// 403: a form without its session's CSRF token. Nothing was done.
pub(crate) fn refused(desk: Option<&Desk>) -> Response {
    let body = html! {
        p.flash.bad role="alert" {
            "This form was refused: its security token is missing or out of date, so nothing was done."
        }
        p { "Go back, reload the page and try again." }
    };
    let markup = match desk {
        Some(desk) => page("Refused", Here::Elsewhere, &Desk { flash: None, ..desk.clone() }, body),
        None => bare("Refused", body),
    };
    respond(StatusCode::FORBIDDEN, markup)
}

/// A request that cannot tell who is signed in (the store holding the sessions failed): the
/// problem's status and detail, on a page without navigation. Nothing was done.
pub(crate) fn unavailable(e: ApiError) -> Response {
    let body = html! {
        p.flash.bad role="alert" { (e.detail) }
        p { "Nothing was done. Reload the page in a moment." }
    };
    respond(e.status, bare("Unavailable", body))
}

/// A page that could not be shown (bad parameters, the store unavailable): the problem's detail.
pub(crate) fn failed(desk: &Desk, here: Here, title: &str, e: ApiError) -> Response {
    let body = html! {
        p.flash.bad role="alert" { (e.detail) }
        p { a href=(NAV.iter().find(|(h, ..)| *h == here).map_or("/console", |n| n.1)) { "Start over" } }
    };
    respond(e.status, page(title, here, desk, body))
}

/// What went wrong with a form: the problem's status and detail, and each field at fault.
pub(crate) struct Problem {
    pub status: StatusCode,
    pub detail: String,
    pub fields: Vec<FieldError>,
}

impl From<ApiError> for Problem {
    fn from(e: ApiError) -> Self {
        Problem { status: e.status, detail: e.detail, fields: e.errors }
    }
}

impl From<app::Error> for Problem {
    fn from(e: app::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl Problem {
    /// The message for `field`, if it is at fault.
    pub(crate) fn on(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.field == field).map(|f| f.message.as_str())
    }

    /// The problem as one line: the detail, or (when fields are at fault, each shown beside its
    /// input) a pointer to them, naming any field that no input on the page shows.
    pub(crate) fn summary(&self, shown: &[&str]) -> String {
        if self.fields.is_empty() {
            return self.detail.clone();
        }
        let mut line = String::from("Nothing was done: fix the fields marked below.");
        for f in self.fields.iter().filter(|f| !shown.contains(&f.field.as_str())) {
            line.push_str(&format!(" {}: {}.", f.field, f.message));
        }
        line
    }
}

/// A labelled input, its error beside it and tied to it (`aria-describedby`, `aria-invalid`).
pub(crate) struct Input<'a> {
    pub id: String,
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub error: Option<&'a str>,
    pub hint: Option<&'a str>,
    /// `autocomplete`, `inputmode`, `required`…: extra attributes as (name, value) pairs.
    pub attrs: &'a [(&'a str, &'a str)],
}

impl Input<'_> {
    pub(crate) fn new<'a>(id: impl Into<String>, name: &'a str, label: &'a str) -> Input<'a> {
        Input { id: id.into(), name, label, kind: "text", value: "", error: None, hint: None, attrs: &[] }
    }

    pub(crate) fn render(&self) -> Markup {
        let hint_id = format!("{}-hint", self.id);
        let error_id = format!("{}-error", self.id);
        let described: Vec<&str> = [self.hint.map(|_| hint_id.as_str()), self.error.map(|_| error_id.as_str())]
            .into_iter()
            .flatten()
            .collect();
        let described = (!described.is_empty()).then(|| described.join(" "));
        let attr = |name: &str| self.attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        html! {
            div.field.invalid[self.error.is_some()] {
                label for=(self.id) { (self.label) }
                @if let Some(hint) = self.hint { span.hint id=(hint_id) { (hint) } }
                @if self.kind == "textarea" {
                    textarea id=(self.id) name=(self.name) rows="3"
                        aria-invalid=[self.error.map(|_| "true")] aria-describedby=[described.as_deref()] { (self.value) }
                } @else {
                    input id=(self.id) name=(self.name) type=(self.kind) value=(self.value)
                        autocomplete=[attr("autocomplete")] inputmode=[attr("inputmode")]
                        required[attr("required").is_some()]
                        aria-invalid=[self.error.map(|_| "true")] aria-describedby=[described.as_deref()];
                }
                @if let Some(error) = self.error { span.error id=(error_id) { (error) } }
            }
        }
    }
}

/// The session's CSRF token, in every form that changes something.
pub(crate) fn csrf(desk: &Desk) -> Markup {
    html! { input type="hidden" name="csrf" value=(desk.csrf); }
}

/// An amount as TON: trimmed as the API writes it, all nine decimals (and nanotons) on hover.
pub(crate) fn ton(amount: Decimal) -> Markup {
    let plain = amount.normalize();
    let nanotons = (amount * Decimal::from(1_000_000_000u64)).normalize();
    html! {
        data.ton value=(plain) title=(format!("{amount:.9} TON = {nanotons} nanotons")) { (plain) " TON" }
    }
}

/// A moment, to the minute, in UTC; the exact time on hover and for machines.
pub(crate) fn when(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) title=(at.format("%Y-%m-%d %H:%M:%S%.3f UTC")) { (at.format("%Y-%m-%d %H:%M UTC")) }
    }
}

/// A table that scrolls sideways on a narrow screen (reachable by keyboard).
pub(crate) fn wide(label: &str, table: Markup) -> Markup {
    html! { div.wide role="region" aria-label=(label) tabindex="0" { (table) } }
}

/// A list's address (a path, perhaps with a query already), keeping the page size it was asked
/// with (the pager adds the cursor).
pub(crate) fn list_url(path: &str, limit: Option<u32>) -> String {
    match limit {
        Some(limit) => format!("{path}{}limit={limit}", if path.contains('?') { '&' } else { '?' }),
        None => path.to_string(),
    }
}

/// The form that picks which status a list shows (a GET to `action` with `status`).
pub(crate) fn status_filter<'a>(action: &str, statuses: impl IntoIterator<Item = &'a str>, current: &str) -> Markup {
    html! {
        form.filters method="get" action=(action) {
            label for="status" { "Status" }
            select #status name="status" {
                @for s in statuses { option value=(s) selected[s == current] { (s) } }
            }
            button type="submit" { "Show" }
        }
    }
}

/// Links to the first and the next page of a list, with the API's cursors.
pub(crate) fn pager(base: &str, cursor: Option<&str>, next: Option<&str>) -> Markup {
    pager_of(base, "cursor", "Pages", cursor, next)
}

/// [`pager`] for one of several lists on a page: its cursor in the parameter `param`, the
/// navigation labelled `label`.
pub(crate) fn pager_of(base: &str, param: &str, label: &str, cursor: Option<&str>, next: Option<&str>) -> Markup {
    let join = if base.contains('?') { '&' } else { '?' };
    html! {
        @if cursor.is_some() || next.is_some() {
            nav.pager aria-label=(label) {
                @if cursor.is_some() { a href=(base) { "First page" } }
                @if let Some(next) = next {
                    a href=(format!("{base}{join}{param}={}", encoded(next))) rel="next" { "Next page" }
                }
            }
        }
    }
}

/// `value` percent-encoded for a query string.
pub(crate) fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_amount_reads_as_ton_with_every_decimal_on_hover() {
        let html = ton("12.5".parse().unwrap()).into_string();
        assert!(html.contains(">12.5 TON<"), "{html}");
        assert!(html.contains(r#"title="12.500000000 TON = 12500000000 nanotons""#), "{html}");
        let html = ton("0.000000001".parse().unwrap()).into_string();
        assert!(html.contains(">0.000000001 TON<") && html.contains("= 1 nanotons"), "{html}");
    }

    #[test]
    fn an_input_with_an_error_says_so_beside_it() {
        let html = Input { error: Some("is not an e-mail address"), ..Input::new("p-email", "client.email", "E-mail") }
            .render()
            .into_string();
        assert!(html.contains(r#"<label for="p-email">E-mail</label>"#), "{html}");
        assert!(html.contains(r#"aria-invalid="true" aria-describedby="p-email-error""#), "{html}");
        assert!(html.contains(r#"<span class="error" id="p-email-error">is not an e-mail address</span>"#), "{html}");
        let plain = Input::new("q", "q", "Q").render().into_string();
        assert!(!plain.contains("aria-invalid") && !plain.contains("aria-describedby"), "{plain}");
    }

    #[test]
    fn text_is_escaped() {
        let html = Input { value: r#""><script>"#, ..Input::new("x", "x", "X") }.render().into_string();
        assert!(!html.contains("<script>"), "{html}");
    }
}
