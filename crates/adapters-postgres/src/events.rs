//! Market events (written with the deferred writes: no extra round trip) and their reads: the
//! activity feed (one query shape per filter, each on its index), collection statistics and
//! charts from the sales index alone.

use app::ports::reads::*;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use domain::ports::EventRepo;
use domain::*;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::map_err;
use crate::rows::{bad, money};
use crate::{PgStore, PgUow};

#[async_trait]
impl EventRepo for PgUow {
    /// Deferred: sent with the Unit of Work's other writes.
    async fn append(&mut self, events: &[MarketEvent]) -> Result<(), RepoError> {
        self.defer().events(events);
        Ok(())
    }
}

const EVENT_COLUMNS: &str = "id, kind, collection, nft_id, auction_id, price, recipient, created_at";
const SALE: &str = "recipient IS NULL AND price IS NOT NULL AND kind IN ('sold', 'offer_accepted', 'auction_settled')";

fn event_row(r: &PgRow) -> Result<MarketEvent, RepoError> {
    let e = |e| bad("market event", e);
    let kind: String = r.try_get("kind").map_err(e)?;
    let price: Option<Decimal> = r.try_get("price").map_err(e)?;
    let nft: Option<Uuid> = r.try_get("nft_id").map_err(e)?;
    let auction: Option<Uuid> = r.try_get("auction_id").map_err(e)?;
    let recipient: Option<i64> = r.try_get("recipient").map_err(e)?;
    Ok(MarketEvent {
        id: MarketEventId(r.try_get("id").map_err(e)?),
        kind: EventKind::parse(&kind).ok_or_else(|| bad("event kind", &kind))?,
        collection: r.try_get("collection").map_err(e)?,
        nft_id: nft.map(NftId),
        auction_id: auction.map(AuctionId),
        price: price.map(money).transpose()?,
        recipient: recipient.map(UserId),
        created_at: r.try_get("created_at").map_err(e)?,
    })
}

fn round(d: Decimal) -> Result<Money, RepoError> {
    money(d.round_dp(9))
}

/// How many users hold NFTs of collection `$1` in custody: the collection's ids off nft_keys'
/// collection index, then those rows of nfts by id in one ordered probe of its key. No index over
/// all NFTs by collection is on nfts, where every buy would write it (migration 0025): the
/// biggest B5 collection (56,000 NFTs) takes ~90 ms here, ~20 ms off such an index (ADR 016).
pub const COLLECTION_OWNERS: &str = "SELECT count(*) FROM (SELECT owner_id FROM nfts \
    WHERE id = ANY(ARRAY(SELECT id FROM nft_keys WHERE collection = $1)) AND status <> 'withdrawn' \
    GROUP BY owner_id) o";

#[async_trait]
impl ActivityReads for PgStore {
    async fn activity(&self, f: &ActivityFilter, page: PageRequest) -> Result<Page<MarketEvent>, RepoError> {
        let mut q =
            QueryBuilder::<Postgres>::new(format!("SELECT {EVENT_COLUMNS} FROM market_events WHERE recipient IS NULL"));
        if let Some(c) = &f.collection {
            q.push(" AND collection = ").push_bind(c.clone());
        }
        if let Some(n) = f.nft_id {
            q.push(" AND nft_id = ").push_bind(n.0);
        }
        if let Some(k) = f.kind {
            q.push(" AND kind = ").push_bind(k.as_str());
        }
        if let Some(after) = page.after {
            q.push(" AND id < ").push_bind(after);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(page.limit) + 1);
        let rows = q.build().fetch_all(self.pool()).await.map_err(map_err)?;
        let items = rows.iter().map(event_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page.limit, |e| e.id.0))
    }

    async fn events_after(&self, after: Uuid, scope: &StreamScope, limit: u32) -> Result<Vec<MarketEvent>, RepoError> {
        let rows = match scope {
            StreamScope::All => {
                let sql = format!("SELECT {EVENT_COLUMNS} FROM market_events WHERE id > $1 ORDER BY id LIMIT $2");
                sqlx::query(&sql).bind(after).bind(i64::from(limit)).fetch_all(self.pool()).await
            }
            // Read along the primary key from `after`: a replay covers what one client missed.
            StreamScope::Stream { user, collection, nft_id, auction_id } => {
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM market_events WHERE id > $1 \
                     AND (recipient = $3 OR (recipient IS NULL AND ($4::text IS NULL OR collection = $4) \
                          AND ($5::uuid IS NULL OR nft_id = $5) AND ($6::uuid IS NULL OR auction_id = $6))) \
                     ORDER BY id LIMIT $2"
                );
                sqlx::query(&sql)
                    .bind(after)
                    .bind(i64::from(limit))
                    .bind(user.0)
                    .bind(collection.as_deref())
                    .bind(nft_id.map(|n| n.0))
                    .bind(auction_id.map(|a| a.0))
                    .fetch_all(self.pool())
                    .await
            }
        }
        .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn ledger_after(&self, after: Uuid, users: &[UserId], limit: u32) -> Result<Vec<LedgerEntry>, RepoError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let users: Vec<i64> = users.iter().map(|u| u.0).collect();
        let rows = sqlx::query(
            "SELECT id, operation_id, operation, user_id, account, amount, reference, created_at FROM ledger_entries \
             WHERE user_id = ANY($3) AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .bind(&users)
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.iter().map(crate::ledger::ledger_entry_row).collect()
    }

    /// The collections, off the table the database keeps of them (migration 0021).
    async fn collections(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, RepoError> {
        // Names are never empty, so '' is before them all.
        sqlx::query_scalar("SELECT name FROM nft_collections WHERE name > $1 ORDER BY name LIMIT $2")
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await
            .map_err(map_err)
    }

    async fn collection_stats(&self, name: &str, now: DateTime<Utc>) -> Result<Option<CollectionStats>, RepoError> {
        let (day, week) = (id_floor(now - Duration::hours(24)), id_floor(now - Duration::days(7)));
        let r = sqlx::query(&format!(
            "SELECT \
               (SELECT count(*) FROM nfts WHERE collection = $1 AND price IS NOT NULL) AS listed, \
               (SELECT min(price) FROM nfts WHERE collection = $1 AND price IS NOT NULL) AS floor, \
               ({COLLECTION_OWNERS}) AS owners, \
               EXISTS (SELECT 1 FROM nft_collections WHERE name = $1) AS held, \
               d.n AS sales_24h, d.v AS volume_24h, w.n AS sales_7d, w.v AS volume_7d, \
               l.price AS last_price, l.created_at AS last_at \
             FROM (SELECT count(*) AS n, coalesce(sum(price), 0) AS v FROM market_events WHERE collection = $1 AND {SALE} AND id >= $2) d, \
                  (SELECT count(*) AS n, coalesce(sum(price), 0) AS v FROM market_events WHERE collection = $1 AND {SALE} AND id >= $3) w \
             LEFT JOIN LATERAL (SELECT price, created_at FROM market_events WHERE collection = $1 AND {SALE} \
                                ORDER BY id DESC LIMIT 1) l ON true"
        ))
        .bind(name)
        .bind(day)
        .bind(week)
        .fetch_one(self.pool())
        .await
        .map_err(map_err)?;
        let e = |e| bad("collection stats", e);
        let held: bool = r.try_get("held").map_err(e)?;
        let last_price: Option<Decimal> = r.try_get("last_price").map_err(e)?;
        let last_at: Option<DateTime<Utc>> = r.try_get("last_at").map_err(e)?;
        if !held && last_price.is_none() {
            return Ok(None);
        }
        let count = |c: &str| r.try_get::<i64, _>(c).map(|n| n.max(0) as u64).map_err(e);
        let sum = |c: &str| r.try_get::<Decimal, _>(c).map_err(e).and_then(round);
        let floor: Option<Decimal> = r.try_get("floor").map_err(e)?;
        Ok(Some(CollectionStats {
            name: name.to_string(),
            listed: count("listed")?,
            floor: floor.map(money).transpose()?,
            owners: count("owners")?,
            sales_24h: count("sales_24h")?,
            volume_24h: sum("volume_24h")?,
            sales_7d: count("sales_7d")?,
            volume_7d: sum("volume_7d")?,
            last_sale: match (last_price, last_at) {
                (Some(p), Some(at)) => Some((money(p)?, at)),
                _ => None,
            },
        }))
    }

    /// One statement for the lot: per name, its listed count and floor off the listed-by-price
    /// index, the day's sales off the sales index, the last sale.
    async fn collection_glances(
        &self,
        names: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<CollectionGlance>, RepoError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT c.name, \
               (SELECT count(*) FROM nfts WHERE collection = c.name AND price IS NOT NULL) AS listed, \
               (SELECT min(price) FROM nfts WHERE collection = c.name AND price IS NOT NULL) AS floor, \
               EXISTS (SELECT 1 FROM nft_collections n WHERE n.name = c.name) AS held, \
               d.n AS sales_24h, d.v AS volume_24h, l.price AS last_price, l.created_at AS last_at \
             FROM unnest($1::text[]) WITH ORDINALITY AS c(name, at) \
             CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(price), 0) AS v FROM market_events \
                                  WHERE collection = c.name AND {SALE} AND id >= $2) d \
             LEFT JOIN LATERAL (SELECT price, created_at FROM market_events WHERE collection = c.name AND {SALE} \
                                ORDER BY id DESC LIMIT 1) l ON true \
             ORDER BY c.at"
        ))
        .bind(names)
        .bind(id_floor(now - Duration::hours(24)))
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let e = |e| bad("collection glance", e);
            let held: bool = r.try_get("held").map_err(e)?;
            let last_price: Option<Decimal> = r.try_get("last_price").map_err(e)?;
            let last_at: Option<DateTime<Utc>> = r.try_get("last_at").map_err(e)?;
            if !held && last_price.is_none() {
                continue;
            }
            let floor: Option<Decimal> = r.try_get("floor").map_err(e)?;
            out.push(CollectionGlance {
                name: r.try_get("name").map_err(e)?,
                listed: r.try_get::<i64, _>("listed").map_err(e)?.max(0) as u64,
                floor: floor.map(money).transpose()?,
                sales_24h: r.try_get::<i64, _>("sales_24h").map_err(e)?.max(0) as u64,
                volume_24h: round(r.try_get("volume_24h").map_err(e)?)?,
                last_sale: match (last_price, last_at) {
                    (Some(p), Some(at)) => Some((money(p)?, at)),
                    _ => None,
                },
            });
        }
        Ok(out)
    }

    async fn collection_history(
        &self,
        name: &str,
        interval: Interval,
        since: DateTime<Utc>,
    ) -> Result<Vec<PricePoint>, RepoError> {
        let unit = match interval {
            Interval::Hour => "hour",
            Interval::Day => "day",
        };
        let rows = sqlx::query(&format!(
            "SELECT date_trunc('{unit}', created_at, 'UTC') AS at, min(price) AS min, avg(price) AS avg, max(price) AS max, \
                    sum(price) AS volume, count(*) AS sales \
             FROM market_events WHERE collection = $1 AND {SALE} AND id >= $2 GROUP BY 1 ORDER BY 1"
        ))
        .bind(name)
        .bind(id_floor(since))
        .fetch_all(self.pool())
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let e = |e| bad("price point", e);
                Ok(PricePoint {
                    at: r.try_get("at").map_err(e)?,
                    min: round(r.try_get("min").map_err(e)?)?,
                    avg: round(r.try_get("avg").map_err(e)?)?,
                    max: round(r.try_get("max").map_err(e)?)?,
                    volume: round(r.try_get("volume").map_err(e)?)?,
                    sales: r.try_get::<i64, _>("sales").map_err(e)?.max(0) as u64,
                })
            })
            .collect()
    }
}
