//! The partner desk: create a manager and a partner (seed 001's CreatePartner) through the same
//! use cases and commands as `POST /api/managers` and `POST /api/partners`, each field's error
//! beside its input; a manager's clients by priority.

use std::sync::Arc;

use app::partners::create_manager::CreateManager;
use app::partners::create_partner::CreatePartner;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::{Client, FieldError, ManagerBind, ManagerId};
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::{csrf, failed, page, respond, when, wide, Here, Input, Problem};
use super::session::{Action, Desk, Fields};
use crate::error::ApiError;
use crate::routes::partners::dto::{CreateManagerRequest, CreatePartnerRequest, NewClient};
use crate::routes::partners::{create_manager_command, create_partner_command};
use crate::state::AppState;

/// The partner form's inputs, named as the API's fields (so its errors land beside them):
/// name, label, input type, hint.
const PARTNER_FIELDS: [(&str, &str, &str, Option<&str>); 7] = [
    ("manager_id", "Manager id", "text", Some("The manager's id, as creating the manager gave it.")),
    ("priority", "Priority", "number", Some("Lower comes first; 0 when left empty.")),
    ("client.fio", "Full name", "text", None),
    ("client.age", "Age", "number", Some("18 to 130.")),
    ("client.description", "Description", "textarea", Some("Optional.")),
    ("client.mobile", "Mobile", "tel", Some("International format, e.g. +79991234567.")),
    ("client.email", "E-mail", "email", None),
];

const MANAGER_FIELDS: [(&str, &str, &str, Option<&str>); 2] = [
    ("name", "Name", "text", None),
    ("telegram_username", "Telegram username", "text", Some("Optional; 5 to 32 letters, digits or underscores.")),
];

/// A form as posted, and what was wrong with it.
#[derive(Default)]
struct Posted {
    fields: Fields,
    problem: Option<Problem>,
}

/// A manager's clients, as asked for.
enum Clients {
    NotAsked,
    BadId(String),
    NoSuchManager(Uuid),
    Of(Uuid, Vec<(ManagerBind, Client)>),
}

async fn clients(state: &AppState, asked: &str) -> Result<Clients, ApiError> {
    let asked = asked.trim();
    if asked.is_empty() {
        return Ok(Clients::NotAsked);
    }
    let Ok(id) = Uuid::parse_str(asked) else { return Ok(Clients::BadId(asked.to_string())) };
    Ok(match state.reads.manager_clients(ManagerId(id)).await? {
        Some(list) => Clients::Of(id, list),
        None => Clients::NoSuchManager(id),
    })
}

/// `GET /console/partners?manager=`: the forms, and the manager's clients when one is named.
pub(crate) async fn show(State(state): State<Arc<AppState>>, desk: Desk, RawQuery(query): RawQuery) -> Response {
    let query = Fields::parse(query.unwrap_or_default().as_bytes());
    let manager = query.get("manager");
    let partner =
        Posted { fields: Fields::parse(format!("manager_id={}", urlencode(manager)).as_bytes()), problem: None };
    render_with(&state, &desk, StatusCode::OK, &Posted::default(), &partner, manager).await
}

async fn render_with(
    state: &AppState,
    desk: &Desk,
    status: StatusCode,
    manager: &Posted,
    partner: &Posted,
    lookup: &str,
) -> Response {
    match clients(state, lookup).await {
        Ok(clients) => respond(status, render(desk, manager, partner, &clients)),
        Err(e) => failed(desk, Here::Partners, "Partner desk", e),
    }
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The form's fields as the API's request, and the fields that are not even of the right type
/// (each then stands in with a value that passes, so the rules report every other field too).
fn partner_request(f: &Fields) -> (CreatePartnerRequest, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut number = |name: &str, fallback: i64| -> Option<i64> {
        match f.get(name).trim() {
            "" if name == "priority" => None,
            v => Some(v.parse().unwrap_or_else(|_| {
                errors.push(FieldError::new(name, "must be a whole number"));
                fallback
            })),
        }
    };
    let age = number("client.age", 18).unwrap_or(18);
    let priority = number("priority", 0).map(|p| {
        i32::try_from(p).unwrap_or_else(|_| {
            errors.push(FieldError::new("priority", "is out of range"));
            0
        })
    });
    let manager_id = Uuid::parse_str(f.get("manager_id").trim()).unwrap_or_else(|_| {
        errors.push(FieldError::new("manager_id", "must be a manager id (a UUID)"));
        Uuid::nil()
    });
    let client = NewClient {
        fio: f.get("client.fio").to_string(),
        age,
        description: f.get("client.description").to_string(),
        mobile: f.get("client.mobile").trim().to_string(),
        email: f.get("client.email").trim().to_string(),
    };
    (CreatePartnerRequest { manager_id, priority, client }, errors)
}

/// The input a use-case problem concerns, by its code.
fn field_of(code: &str) -> Option<&'static str> {
    match code {
        domain::code::NOT_FOUND | "manager_inactive" => Some("manager_id"),
        "duplicate" => Some("client.email"),
        _ => None,
    }
}

fn problem_of(e: app::Error) -> Problem {
    let api = ApiError::from(e);
    let field = field_of(api.code).filter(|_| api.errors.is_empty());
    let mut problem = Problem { status: api.status, detail: api.detail.clone(), fields: api.errors };
    if let Some(field) = field {
        problem.fields.push(FieldError::new(field, api.detail));
    }
    problem
}

/// `POST /console/partners`: CreatePartner; then the manager's clients, with the new one.
pub(crate) async fn create_partner(State(state): State<Arc<AppState>>, Action { desk, fields }: Action) -> Response {
    let (request, mut errors) = partner_request(&fields);
    let outcome = match create_partner_command(desk.actor.clone(), &request) {
        Ok(cmd) if errors.is_empty() => {
            CreatePartner::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await.map_err(problem_of)
        }
        Ok(_) => Err(ApiError::validation(errors).into()),
        Err(e) => {
            errors.extend(e.errors);
            Err(ApiError::validation(errors).into())
        }
    };
    match outcome {
        Ok(partner) => {
            let text = format!(
                "Partner {} created and bound to manager {} with priority {}.",
                partner.client.fio, partner.bind.manager_id, partner.bind.priority
            );
            desk.flash(&state, true, text).await;
            Redirect::to(&format!("/console/partners?manager={}", partner.bind.manager_id)).into_response()
        }
        Err(problem) => {
            let status = problem.status;
            // The manager's clients beside the form, when the form names one.
            let lookup = Uuid::parse_str(fields.get("manager_id").trim()).map(|id| id.to_string()).unwrap_or_default();
            let partner = Posted { fields, problem: Some(problem) };
            render_with(&state, &desk, status, &Posted::default(), &partner, &lookup).await
        }
    }
}

/// `POST /console/managers`: CreateManager; then the desk with its id filled in.
pub(crate) async fn create_manager(State(state): State<Arc<AppState>>, Action { desk, fields }: Action) -> Response {
    let username = fields.get("telegram_username").trim();
    let request = CreateManagerRequest {
        name: fields.get("name").to_string(),
        telegram_username: (!username.is_empty()).then(|| username.to_string()),
    };
    let outcome = match create_manager_command(desk.actor.clone(), &request) {
        Ok(cmd) => CreateManager::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await.map_err(problem_of),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(manager) => {
            desk.flash(&state, true, format!("Manager {} created with id {}.", manager.name, manager.id)).await;
            Redirect::to(&format!("/console/partners?manager={}", manager.id)).into_response()
        }
        Err(problem) => {
            let status = problem.status;
            render_with(&state, &desk, status, &Posted { fields, problem: Some(problem) }, &Posted::default(), "").await
        }
    }
}

fn inputs(prefix: &str, spec: &[(&str, &str, &str, Option<&str>)], posted: &Posted) -> Markup {
    html! {
        @for (name, label, kind, hint) in spec {
            (Input {
                kind,
                value: posted.fields.get(name),
                error: posted.problem.as_ref().and_then(|p| p.on(name)),
                hint: *hint,
                attrs: match *kind { "email" => &[("autocomplete", "off")], "tel" => &[("autocomplete", "off")], _ => &[] },
                ..Input::new(format!("{prefix}-{}", name.replace('.', "-")), name, label)
            }.render())
        }
    }
}

fn summary(posted: &Posted, spec: &[(&str, &str, &str, Option<&str>)]) -> Markup {
    let shown: Vec<&str> = spec.iter().map(|s| s.0).collect();
    html! {
        @if let Some(problem) = &posted.problem { p.flash.bad role="alert" { (problem.summary(&shown)) } }
    }
}

fn render(desk: &Desk, manager: &Posted, partner: &Posted, clients: &Clients) -> Markup {
    let lookup = match clients {
        Clients::BadId(v) => v.clone(),
        Clients::NoSuchManager(id) | Clients::Of(id, _) => id.to_string(),
        Clients::NotAsked => String::new(),
    };
    let body = html! {
        div.columns {
            section aria-labelledby="new-partner" {
                h2 #new-partner { "New partner" }
                p.hint { "A client and its binding to an active manager, created together or not at all." }
                (summary(partner, &PARTNER_FIELDS))
                form.stack method="post" action="/console/partners" novalidate {
                    (csrf(desk))
                    (inputs("p", &PARTNER_FIELDS, partner))
                    button type="submit" { "Create partner" }
                }
            }
            section aria-labelledby="new-manager" {
                h2 #new-manager { "New manager" }
                (summary(manager, &MANAGER_FIELDS))
                form.stack method="post" action="/console/managers" novalidate {
                    (csrf(desk))
                    (inputs("m", &MANAGER_FIELDS, manager))
                    button type="submit" { "Create manager" }
                }
            }
        }
        section aria-labelledby="clients" {
            h2 #clients { "A manager's clients" }
            form.filters method="get" action="/console/partners" {
                (Input {
                    value: &lookup,
                    error: matches!(clients, Clients::BadId(_)).then_some("must be a manager id (a UUID)"),
                    ..Input::new("lookup", "manager", "Manager id")
                }.render())
                button type="submit" { "Show clients" }
            }
            @match clients {
                Clients::NotAsked | Clients::BadId(_) => {}
                Clients::NoSuchManager(id) => p.flash.bad role="alert" { "No manager has id " code { (id) } "." },
                Clients::Of(_, list) if list.is_empty() => p #no-clients { "This manager has no clients yet." },
                Clients::Of(id, list) => (wide("Clients", html! {
                    table #client-list {
                        caption { "Clients of manager " code { (id) } ", by priority" }
                        thead { tr {
                            th scope="col" class="num" { "Priority" } th scope="col" { "Name" } th scope="col" class="num" { "Age" }
                            th scope="col" { "Mobile" } th scope="col" { "E-mail" } th scope="col" { "Description" }
                            th scope="col" { "Since" }
                        } }
                        tbody {
                            @for (bind, client) in list {
                                tr {
                                    td.num { (bind.priority) }
                                    th scope="row" { (client.fio) }
                                    td.num { (client.age) }
                                    td { (client.mobile.as_str()) }
                                    td { (client.email.as_str()) }
                                    td { (client.description) }
                                    td { (when(bind.created_at)) }
                                }
                            }
                        }
                    }
                })),
            }
        }
    };
    page("Partner desk", Here::Partners, desk, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str) -> Fields {
        Fields::parse(body.as_bytes())
    }

    #[test]
    fn fields_of_the_wrong_type_are_reported_and_the_rest_still_checked() {
        let (req, errors) = partner_request(&fields("manager_id=nope&priority=x&client.age=old&client.email=bad"));
        let named: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["client.age", "priority", "manager_id"]);
        assert_eq!((req.client.age, req.priority), (18, Some(0)), "stand-ins that pass");
        let Err(e) = create_partner_command("staff:test".into(), &req) else { panic!("the e-mail is still checked") };
        let rules = e.errors;
        assert!(rules.iter().any(|e| e.field == "client.email"), "{rules:?}");
    }

    #[test]
    fn an_empty_priority_is_the_default() {
        let id = Uuid::now_v7();
        let (req, errors) = partner_request(&fields(&format!("manager_id={id}&priority=&client.age=30")));
        assert_eq!((req.priority, req.manager_id, req.client.age, errors.len()), (None, id, 30, 0));
    }
}
