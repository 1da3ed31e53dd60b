//! Request and response bodies: The partner desk.

use app::ports::reads::ClientView;
use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateManagerRequest {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub name: String,
    /// 5–32 letters, digits or underscores, with or without a leading `@`.
    #[schema(pattern = "^@?[A-Za-z0-9_]{5,32}$")]
    pub telegram_username: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ManagerDto {
    pub id: Uuid,
    pub name: String,
    pub telegram_username: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Manager> for ManagerDto {
    fn from(m: Manager) -> Self {
        Self {
            id: m.id.0,
            name: m.name,
            telegram_username: m.telegram_username,
            active: m.active,
            created_at: m.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartnerRequest {
    pub manager_id: Uuid,
    /// Lower comes first; default 0.
    pub priority: Option<i32>,
    pub client: NewClient,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub fio: String,
    #[schema(minimum = 18, maximum = 130)]
    pub age: i64,
    #[serde(default)]
    #[schema(max_length = 2000, pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")]
    pub description: String,
    /// E.164, e.g. `+79991234567`.
    #[schema(pattern = "^\\+[1-9][0-9]{7,14}$")]
    pub mobile: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ClientDto {
    pub id: Uuid,
    pub fio: String,
    pub age: u8,
    pub description: String,
    pub mobile: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

impl From<Client> for ClientDto {
    fn from(c: Client) -> Self {
        Self {
            id: c.id.0,
            fio: c.fio,
            age: c.age,
            description: c.description,
            mobile: c.mobile.as_str().into(),
            email: c.email.as_str().into(),
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ManagerBindDto {
    pub client_id: Uuid,
    pub manager_id: Uuid,
    pub priority: i32,
    pub created_at: DateTime<Utc>,
}

impl From<ManagerBind> for ManagerBindDto {
    fn from(b: ManagerBind) -> Self {
        Self { client_id: b.client_id.0, manager_id: b.manager_id.0, priority: b.priority, created_at: b.created_at }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PartnerResponse {
    pub client: ClientDto,
    pub manager_bind: ManagerBindDto,
}

#[derive(Serialize, ToSchema)]
pub struct BoundManager {
    pub manager: ManagerDto,
    pub priority: i32,
}

#[derive(Serialize, ToSchema)]
pub struct ClientWithManagers {
    pub client: ClientDto,
    /// By priority, lowest first.
    pub managers: Vec<BoundManager>,
}

impl From<ClientView> for ClientWithManagers {
    fn from(v: ClientView) -> Self {
        Self {
            client: v.client.into(),
            managers: v
                .managers
                .into_iter()
                .map(|(b, m)| BoundManager { manager: m.into(), priority: b.priority })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BoundClient {
    pub client: ClientDto,
    pub priority: i32,
}

#[derive(Serialize, ToSchema)]
pub struct ManagerClients {
    pub manager_id: Uuid,
    /// By priority, lowest first.
    pub items: Vec<BoundClient>,
}
