//! Channel listings and sales.

use app::ports::reads::{AwaitingTransfer, ChannelFilter, ChannelReads, Page, PageRequest};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::ChannelSaleRepo;
use domain::*;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use crate::error::map_err;
use crate::rows::{bad, money};
use crate::{PgStore, PgUow};

pub(crate) const CHANNEL_COLUMNS: &str =
    "id, seller_id, chat_id, title, username, description, price, buyer_id, status, transfer_by, created_at";

#[async_trait]
impl ChannelSaleRepo for PgUow {
    async fn lock(&mut self, id: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError> {
        self.one(&format!("SELECT {CHANNEL_COLUMNS} FROM channel_sales WHERE id = $1 FOR UPDATE"), id.0, channel_row)
            .await
    }

    async fn insert(&mut self, s: &ChannelSale) -> Result<(), RepoError> {
        sqlx::query(&format!(
            "INSERT INTO channel_sales ({CHANNEL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(s.id.0)
        .bind(s.seller_id.0)
        .bind(s.chat_id)
        .bind(&s.title)
        .bind(&s.username)
        .bind(&s.description)
        .bind(s.price.as_decimal())
        .bind(s.buyer_id.map(|u| u.0))
        .bind(s.status.as_str())
        .bind(s.transfer_by)
        .bind(s.created_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    async fn update(&mut self, s: &ChannelSale) -> Result<(), RepoError> {
        let done = sqlx::query(
            "UPDATE channel_sales SET price = $2, buyer_id = $3, status = $4, transfer_by = $5 WHERE id = $1",
        )
        .bind(s.id.0)
        .bind(s.price.as_decimal())
        .bind(s.buyer_id.map(|u| u.0))
        .bind(s.status.as_str())
        .bind(s.transfer_by)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        if done.rows_affected() != 1 {
            return Err(RepoError::Other(format!("channel sale {} does not exist", s.id)));
        }
        Ok(())
    }
}

#[async_trait]
impl ChannelReads for PgStore {
    async fn channel_sales(&self, f: &ChannelFilter, page: PageRequest) -> Result<Page<ChannelSale>, RepoError> {
        self.page(
            sqlx::query(&format!(
                "SELECT {CHANNEL_COLUMNS} FROM channel_sales \
                 WHERE (status = 'listed' OR seller_id = $1 OR buyer_id = $1) \
                 AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
            ))
            .bind(f.viewer.0)
            .bind(f.status.map(|s| s.as_str()))
            .bind(page.after)
            .bind(i64::from(page.limit) + 1),
            page.limit,
            channel_row,
            |s| s.id.0,
        )
        .await
    }

    async fn channel_sale(&self, id: ChannelSaleId) -> Result<Option<ChannelSale>, RepoError> {
        self.one(&format!("SELECT {CHANNEL_COLUMNS} FROM channel_sales WHERE id = $1"), id.0, channel_row).await
    }

    /// On `channel_sales_status_idx` (status, id). The first page is bound as "before the greatest
    /// uuid" rather than `$2 IS NULL OR id < $2`, so that a generic plan keeps the cursor in the
    /// index condition instead of filtering the status's whole range row by row.
    async fn channel_sales_in(
        &self,
        status: ChannelSaleStatus,
        page: PageRequest,
    ) -> Result<Page<ChannelSale>, RepoError> {
        self.page(
            sqlx::query(&format!(
                "SELECT {CHANNEL_COLUMNS} FROM channel_sales WHERE status = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
            ))
            .bind(status.as_str())
            .bind(page.after.unwrap_or(Uuid::max()))
            .bind(i64::from(page.limit) + 1),
            page.limit,
            channel_row,
            |s| s.id.0,
        )
        .await
    }

    async fn awaiting_channel_sales(&self, limit: u32) -> Result<Vec<AwaitingTransfer>, RepoError> {
        let found = sqlx::query(
            "SELECT id, transfer_by FROM channel_sales WHERE status = 'awaiting_transfer' ORDER BY transfer_by, id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        Ok(found
            .iter()
            .map(|r| AwaitingTransfer {
                id: ChannelSaleId(r.get::<Uuid, _>("id")),
                transfer_by: r.get::<Option<DateTime<Utc>>, _>("transfer_by").unwrap_or(DateTime::<Utc>::MAX_UTC),
            })
            .collect())
    }
}

pub(crate) fn channel_row(r: &PgRow) -> Result<ChannelSale, RepoError> {
    let e = |e| bad("channel sale", e);
    let status: String = r.try_get("status").map_err(e)?;
    let buyer: Option<i64> = r.try_get("buyer_id").map_err(e)?;
    Ok(ChannelSale {
        id: ChannelSaleId(r.try_get("id").map_err(e)?),
        seller_id: UserId(r.try_get("seller_id").map_err(e)?),
        chat_id: r.try_get("chat_id").map_err(e)?,
        title: r.try_get("title").map_err(e)?,
        username: r.try_get("username").map_err(e)?,
        description: r.try_get("description").map_err(e)?,
        price: money(r.try_get("price").map_err(e)?)?,
        buyer_id: buyer.map(UserId),
        status: ChannelSaleStatus::parse(&status).ok_or_else(|| bad("channel sale status", &status))?,
        transfer_by: r.try_get("transfer_by").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
