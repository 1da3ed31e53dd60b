//! The partner desk: clients, managers and their bindings.

use app::ports::reads::*;
use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::error::map_err;
use crate::rows::bad;
use crate::{PgStore, PgUow};

#[async_trait]
impl ClientRepo for PgUow {
    async fn insert(&mut self, c: &Client) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO clients (id, fio, age, description, mobile, email, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.id.0)
        .bind(&c.fio)
        .bind(i16::from(c.age))
        .bind(&c.description)
        .bind(c.mobile.as_str())
        .bind(c.email.as_str())
        .bind(c.created_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl ManagerRepo for PgUow {
    async fn get_for_share(&mut self, id: ManagerId) -> Result<Option<Manager>, RepoError> {
        let row =
            sqlx::query("SELECT id, name, telegram_username, active, created_at FROM managers WHERE id = $1 FOR SHARE")
                .bind(id.0)
                .fetch_optional(self.conn().await?)
                .await
                .map_err(self.fail())?;
        row.as_ref().map(manager_row).transpose()
    }

    async fn insert(&mut self, m: &Manager) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO managers (id, name, telegram_username, active, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(m.id.0)
        .bind(&m.name)
        .bind(&m.telegram_username)
        .bind(m.active)
        .bind(m.created_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl ManagerBindRepo for PgUow {
    async fn insert(&mut self, b: &ManagerBind) -> Result<(), RepoError> {
        sqlx::query("INSERT INTO manager_binds (client_id, manager_id, priority, created_at) VALUES ($1, $2, $3, $4)")
            .bind(b.client_id.0)
            .bind(b.manager_id.0)
            .bind(b.priority)
            .bind(b.created_at)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }
}

#[async_trait]
impl PartnerReads for PgStore {
    async fn client(&self, id: ClientId) -> Result<Option<ClientView>, RepoError> {
        let Some(row) =
            sqlx::query("SELECT id, fio, age, description, mobile, email, created_at FROM clients WHERE id = $1")
                .bind(id.0)
                .fetch_optional(self.pool())
                .await
                .map_err(map_err)?
        else {
            return Ok(None);
        };
        let client = client_row(&row)?;
        let found = sqlx::query(
            "SELECT b.client_id, b.manager_id, b.priority, b.created_at AS bind_created_at, \
                    m.id, m.name, m.telegram_username, m.active, m.created_at \
             FROM manager_binds b JOIN managers m ON m.id = b.manager_id \
             WHERE b.client_id = $1 ORDER BY b.priority, b.created_at",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        let managers = found.iter().map(|r| Ok((bind_row(r)?, manager_row(r)?))).collect::<Result<_, RepoError>>()?;
        Ok(Some(ClientView { client, managers }))
    }

    async fn manager_clients(&self, id: ManagerId) -> Result<Option<Vec<(ManagerBind, Client)>>, RepoError> {
        let exists = sqlx::query("SELECT 1 FROM managers WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(map_err)?;
        if exists.is_none() {
            return Ok(None);
        }
        let found = sqlx::query(
            "SELECT b.client_id, b.manager_id, b.priority, b.created_at AS bind_created_at, \
                    c.id, c.fio, c.age, c.description, c.mobile, c.email, c.created_at \
             FROM manager_binds b JOIN clients c ON c.id = b.client_id \
             WHERE b.manager_id = $1 ORDER BY b.priority, b.created_at",
        )
        .bind(id.0)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        let clients = found.iter().map(|r| Ok((bind_row(r)?, client_row(r)?))).collect::<Result<_, RepoError>>()?;
        Ok(Some(clients))
    }
}

pub(crate) fn manager_row(r: &PgRow) -> Result<Manager, RepoError> {
    let e = |e| bad("manager", e);
    Ok(Manager {
        id: ManagerId(r.try_get("id").map_err(e)?),
        name: r.try_get("name").map_err(e)?,
        telegram_username: r.try_get("telegram_username").map_err(e)?,
        active: r.try_get("active").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub(crate) fn client_row(r: &PgRow) -> Result<Client, RepoError> {
    let e = |e| bad("client", e);
    let age: i16 = r.try_get("age").map_err(e)?;
    let mobile: String = r.try_get("mobile").map_err(e)?;
    let email: String = r.try_get("email").map_err(e)?;
    Ok(Client {
        id: ClientId(r.try_get("id").map_err(e)?),
        fio: r.try_get("fio").map_err(e)?,
        age: u8::try_from(age).map_err(|x| bad("client age", x))?,
        description: r.try_get("description").map_err(e)?,
        mobile: Mobile::parse(&mobile).map_err(|x| bad("client mobile", x))?,
        email: Email::parse(&email).map_err(|x| bad("client email", x))?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

pub(crate) fn bind_row(r: &PgRow) -> Result<ManagerBind, RepoError> {
    let e = |e| bad("manager bind", e);
    Ok(ManagerBind {
        client_id: ClientId(r.try_get("client_id").map_err(e)?),
        manager_id: ManagerId(r.try_get("manager_id").map_err(e)?),
        priority: r.try_get("priority").map_err(e)?,
        created_at: r.try_get("bind_created_at").map_err(e)?,
    })
}
