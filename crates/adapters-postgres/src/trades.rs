//! Trades between two users.

use app::ports::reads::{Page, PageRequest, TradeFilter, TradeReads};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::TradeRepo;
use domain::*;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use crate::rows::{bad, money, opt};
use crate::{PgStore, PgUow};

pub(crate) const TRADE_COLUMNS: &str =
    "id, maker_id, taker_id, give_nft_ids, give_amount, want_nft_ids, want_amount, status, expires_at, created_at";

#[async_trait]
impl TradeRepo for PgUow {
    async fn lock(&mut self, id: TradeId) -> Result<Option<Trade>, RepoError> {
        self.one(&format!("SELECT {TRADE_COLUMNS} FROM trades WHERE id = $1 FOR UPDATE"), id.0, trade_row).await
    }

    async fn insert(&mut self, t: &Trade) -> Result<(), RepoError> {
        sqlx::query(&format!("INSERT INTO trades ({TRADE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
            .bind(t.id.0)
            .bind(t.maker_id.0)
            .bind(t.taker_id.0)
            .bind(ids(&t.give))
            .bind(opt(t.give.amount))
            .bind(ids(&t.want))
            .bind(opt(t.want.amount))
            .bind(t.status.as_str())
            .bind(t.expires_at)
            .bind(t.created_at)
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        Ok(())
    }

    async fn update(&mut self, t: &Trade) -> Result<(), RepoError> {
        let done = sqlx::query("UPDATE trades SET status = $2 WHERE id = $1")
            .bind(t.id.0)
            .bind(t.status.as_str())
            .execute(self.conn().await?)
            .await
            .map_err(self.fail())?;
        if done.rows_affected() != 1 {
            return Err(RepoError::Other(format!("trade {} does not exist", t.id)));
        }
        Ok(())
    }

    async fn count_live_by_maker(&mut self, maker: UserId, now: DateTime<Utc>) -> Result<u32, RepoError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM trades WHERE maker_id = $1 AND status = 'open' AND expires_at > $2",
        )
        .bind(maker.0)
        .bind(now)
        .fetch_one(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(n as u32)
    }
}

#[async_trait]
impl TradeReads for PgStore {
    async fn trades(&self, f: &TradeFilter, page: PageRequest) -> Result<Page<Trade>, RepoError> {
        let (maker, taker) = match f.role {
            None => (true, true),
            Some(TradeParty::Maker) => (true, false),
            Some(TradeParty::Taker) => (false, true),
        };
        self.page(
            sqlx::query(&format!(
                "SELECT {TRADE_COLUMNS} FROM trades WHERE (($2 AND maker_id = $1) OR ($3 AND taker_id = $1)) \
                 AND ($4::text IS NULL OR status = $4) AND ($5::uuid IS NULL OR id < $5) ORDER BY id DESC LIMIT $6"
            ))
            .bind(f.party.0)
            .bind(maker)
            .bind(taker)
            .bind(f.status.map(|s| s.as_str()))
            .bind(page.after)
            .bind(i64::from(page.limit) + 1),
            page.limit,
            trade_row,
            |t| t.id.0,
        )
        .await
    }

    async fn trade(&self, id: TradeId) -> Result<Option<Trade>, RepoError> {
        self.one(&format!("SELECT {TRADE_COLUMNS} FROM trades WHERE id = $1"), id.0, trade_row).await
    }

    async fn due_trades(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<TradeId>, RepoError> {
        let sql = "SELECT id FROM trades WHERE status = 'open' AND expires_at <= $1 ORDER BY expires_at LIMIT $2";
        Ok(self.due_ids(sql, now, limit).await?.into_iter().map(TradeId).collect())
    }
}

fn ids(side: &TradeSide) -> Vec<Uuid> {
    side.nft_ids.iter().map(|n| n.0).collect()
}

pub(crate) fn trade_row(r: &PgRow) -> Result<Trade, RepoError> {
    let e = |e| bad("trade", e);
    let status: String = r.try_get("status").map_err(e)?;
    let side = |nfts: &str, amount: &str| -> Result<TradeSide, RepoError> {
        let ids: Vec<Uuid> = r.try_get(nfts).map_err(e)?;
        let amount: Option<Decimal> = r.try_get(amount).map_err(e)?;
        Ok(TradeSide { nft_ids: ids.into_iter().map(NftId).collect(), amount: amount.map(money).transpose()? })
    };
    Ok(Trade {
        id: TradeId(r.try_get("id").map_err(e)?),
        maker_id: UserId(r.try_get("maker_id").map_err(e)?),
        taker_id: UserId(r.try_get("taker_id").map_err(e)?),
        give: side("give_nft_ids", "give_amount")?,
        want: side("want_nft_ids", "want_amount")?,
        status: TradeStatus::parse(&status).ok_or_else(|| bad("trade status", &status))?,
        expires_at: r.try_get("expires_at").map_err(e)?,
        created_at: r.try_get("created_at").map_err(e)?,
    })
}
