//! The partner desk (staff): managers and their clients.

pub mod dto;

use std::sync::Arc;

use app::partners::create_manager::{CreateManager, CreateManagerCommand};
use app::partners::create_partner::{CreatePartner, CreatePartnerCommand};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::{ClientId, ClientProfile, ManagerId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::dto::*;
use super::text;
use crate::auth::Staff;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(create_manager))
        .routes(routes!(create_partner))
        .routes(routes!(get_partner))
        .routes(routes!(manager_clients))
}

/// Create an active manager.
#[utoipa::path(post, path = "/api/managers", tag = "partners", security(("staff" = [])), request_body = CreateManagerRequest,
    responses((status = 201, body = ManagerDto), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_manager(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    ApiJson(req): ApiJson<CreateManagerRequest>,
) -> Result<(StatusCode, Json<ManagerDto>), ApiError> {
    let cmd = create_manager_command(staff.actor, &req)?;
    let manager = CreateManager::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok((StatusCode::CREATED, Json(manager.into())))
}

/// What creating manager `req` asks of the use case, by `actor` (the API and the console alike).
pub(crate) fn create_manager_command(
    actor: String,
    req: &CreateManagerRequest,
) -> Result<CreateManagerCommand, ApiError> {
    let telegram_username = match req.telegram_username.as_deref().map(|u| u.strip_prefix('@').unwrap_or(u)) {
        None => None,
        Some(u) if (5..=32).contains(&u.len()) && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Some(u.to_string())
        }
        Some(_) => return Err(ApiError::field("telegram_username", "must be 5 to 32 letters, digits or underscores")),
    };
    Ok(CreateManagerCommand { actor, name: text("name", &req.name, 200)?, telegram_username })
}

/// CreatePartner: a client and its binding to an active manager, atomically.
#[utoipa::path(post, path = "/api/partners", tag = "partners", security(("staff" = [])), request_body = CreatePartnerRequest,
    responses((status = 201, body = PartnerResponse), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, description = "no such manager", body = Problem),
        (status = 409, description = "duplicate (e-mail) or manager_inactive", body = Problem), (status = 422, body = Problem)))]
pub async fn create_partner(
    State(state): State<Arc<AppState>>,
    staff: Staff,
    ApiJson(req): ApiJson<CreatePartnerRequest>,
) -> Result<(StatusCode, Json<PartnerResponse>), ApiError> {
    let cmd = create_partner_command(staff.actor, &req)?;
    let partner = CreatePartner::new(state.ctx.uows(), state.ctx.services()).execute(cmd).await?;
    Ok((
        StatusCode::CREATED,
        Json(PartnerResponse { client: partner.client.into(), manager_bind: partner.bind.into() }),
    ))
}

/// What creating `req` asks of the use case, by `actor` (the API and the console alike): every
/// invalid client field at once.
pub(crate) fn create_partner_command(
    actor: String,
    req: &CreatePartnerRequest,
) -> Result<CreatePartnerCommand, ApiError> {
    let c = &req.client;
    let client =
        ClientProfile::parse(&c.fio, c.age, &c.description, &c.mobile, &c.email).map_err(ApiError::validation)?;
    Ok(CreatePartnerCommand {
        actor,
        manager_id: ManagerId(req.manager_id),
        priority: req.priority.unwrap_or(0),
        client,
    })
}

/// A client with its managers by priority.
#[utoipa::path(get, path = "/api/partners/{client_id}", tag = "partners", security(("staff" = [])), params(("client_id" = Uuid, Path)),
    responses((status = 200, body = ClientWithManagers), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_partner(
    State(state): State<Arc<AppState>>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ClientWithManagers>, ApiError> {
    let view = state.reads.client(ClientId(id)).await?.ok_or_else(|| ApiError::not_found("no such client"))?;
    Ok(Json(view.into()))
}

/// A manager's clients by priority.
#[utoipa::path(get, path = "/api/managers/{id}/clients", tag = "partners", security(("staff" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ManagerClients), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn manager_clients(
    State(state): State<Arc<AppState>>,
    _staff: Staff,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ManagerClients>, ApiError> {
    let clients =
        state.reads.manager_clients(ManagerId(id)).await?.ok_or_else(|| ApiError::not_found("no such manager"))?;
    let items = clients.into_iter().map(|(b, c)| BoundClient { client: c.into(), priority: b.priority }).collect();
    Ok(Json(ManagerClients { manager_id: id, items }))
}
