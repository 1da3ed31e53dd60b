//! NFTs in custody.

use crate::error::map_err;
use app::ports::reads::*;
use async_trait::async_trait;
use domain::ports::*;
use domain::*;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::Row;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::accounts::user_at;
use crate::offers::offer_at;
use crate::rows::{bad, money, BindTraits};
use crate::{PgStore, PgUow};

/// One statement locks what a sale needs, in the global lock order: the NFT first (the `EXISTS`
/// makes the offer wait for it), then the buyer's open offer, then both accounts (the `COUNT`
/// makes them wait for the offer) by ascending id. Reading the owner from the locked NFT row, it
/// sees the owner the NFT has once its lock is free.
const LOCK_SALE: &str = "\
WITH n AS MATERIALIZED (
    SELECT id, gift_id, title, collection, owner_id, price, status, created_at, number, model, model_rarity,
           backdrop, backdrop_rarity, symbol, symbol_rarity, can_transfer_at, owned_gift_id, transfer_stars, listed_at
      FROM nfts WHERE id = $1 FOR UPDATE),
o AS MATERIALIZED (
    SELECT id, nft_id, offerer_id, price, status, expires_at, created_at FROM offers
     WHERE nft_id = $1 AND offerer_id = $2 AND status = 'open' AND EXISTS (SELECT 1 FROM n) FOR UPDATE),
u AS MATERIALIZED (
    SELECT id, username, available, held FROM users
     WHERE id = ANY(ARRAY[$2, (SELECT owner_id FROM n)]) AND (SELECT COUNT(*) FROM o) >= 0
     ORDER BY id FOR UPDATE)
SELECT n.*, o.*, u.* FROM n LEFT JOIN o ON true LEFT JOIN u ON true";

#[async_trait]
impl SaleRepo for PgUow {
    async fn lock_sale(&mut self, nft: NftId, buyer: UserId) -> Result<Option<SaleLocks>, RepoError> {
        let rows = sqlx::query(LOCK_SALE)
            .bind(nft.0)
            .bind(buyer.0)
            .fetch_all(self.conn().await?)
            .await
            .map_err(self.fail())?;
        let Some(first) = rows.first() else { return Ok(None) };
        const OFFER_AT: usize = NFT_COLUMN_COUNT;
        const USER_AT: usize = OFFER_AT + 7;
        let nft = nft_at(first, 0)?;
        let has = |r: &PgRow, at: usize| r.try_get::<Option<Uuid>, _>(at).map(|id| id.is_some());
        let own_offer = match has(first, OFFER_AT).map_err(|e| bad("offer", e))? {
            true => Some(offer_at(first, OFFER_AT)?),
            false => None,
        };
        let mut parties = Vec::new();
        for row in &rows {
            if row.try_get::<Option<i64>, _>(USER_AT).map_err(|e| bad("user", e))?.is_some() {
                parties.push(user_at(row, USER_AT)?);
            }
        }
        Ok(Some(SaleLocks { nft, own_offer, parties }))
    }
}

#[async_trait]
impl NftRepo for PgUow {
    async fn get(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1"), id.0, nft_row).await
    }

    async fn lock(&mut self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1 FOR UPDATE"), id.0, nft_row).await
    }

    async fn lock_all(&mut self, ids: &[NftId]) -> Result<Vec<Nft>, RepoError> {
        let ids: Vec<Uuid> = ids.iter().map(|n| n.0).collect();
        // ORDER BY under FOR UPDATE locks the rows in id order: the global order.
        let found = sqlx::query(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = ANY($1) ORDER BY id FOR UPDATE"))
            .bind(&ids)
            .fetch_all(self.conn().await?)
            .await
            .map_err(self.fail())?;
        found.iter().map(nft_row).collect()
    }

    async fn insert(&mut self, nft: &Nft) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO nfts (id, gift_id, title, collection, owner_id, price, status, created_at, number, \
             model, model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity, can_transfer_at, owned_gift_id, \
             transfer_stars, listed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(nft.id.0)
        .bind(&nft.gift_id)
        .bind(&nft.title)
        .bind(&nft.collection)
        .bind(nft.owner_id.0)
        .bind(nft.price.map(|p| p.as_decimal()))
        .bind(nft.status.as_str())
        .bind(nft.created_at)
        .bind_traits(&nft.traits)
        .bind(nft.can_transfer_at)
        .bind(nft.telegram.as_ref().map(|t| &t.owned_gift_id))
        .bind(nft.telegram.as_ref().and_then(|t| t.transfer_star_count).map(i64::from))
        .bind(nft.listed_at)
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    /// Deferred: sent with the Unit of Work's next statement or commit.
    async fn update(&mut self, nft: &Nft) -> Result<(), RepoError> {
        self.defer().nft(nft);
        Ok(())
    }

    async fn lock_by_gift_id(&mut self, gift_id: &str) -> Result<Option<Nft>, RepoError> {
        let row = sqlx::query(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE gift_id = $1 FOR UPDATE"))
            .bind(gift_id)
            .fetch_optional(self.conn().await?)
            .await
            .map_err(self.fail())?;
        row.as_ref().map(nft_row).transpose()
    }

    async fn update_custody(&mut self, nft: &Nft) -> Result<(), RepoError> {
        sqlx::query(
            "UPDATE nfts SET owner_id = $2, price = $3, status = $4, can_transfer_at = $5, owned_gift_id = $6, \
             transfer_stars = $7 WHERE id = $1",
        )
        .bind(nft.id.0)
        .bind(nft.owner_id.0)
        .bind(nft.price.map(|p| p.as_decimal()))
        .bind(nft.status.as_str())
        .bind(nft.can_transfer_at)
        .bind(nft.telegram.as_ref().map(|t| &t.owned_gift_id))
        .bind(nft.telegram.as_ref().and_then(|t| t.transfer_star_count).map(i64::from))
        .execute(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(())
    }

    async fn cheapest_listed(
        &mut self,
        criteria: &OfferCriteria,
        max_price: Money,
        not_owner: UserId,
        limit: u32,
    ) -> Result<Vec<NftId>, RepoError> {
        // The collection's listings by price (nfts_listed_collection_price_idx), cheapest first.
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM nfts WHERE collection = $1 AND price IS NOT NULL AND price <= $2 AND owner_id <> $3 \
               AND ($4::text IS NULL OR model = $4) AND ($5::text IS NULL OR backdrop = $5) \
               AND ($6::text IS NULL OR symbol = $6) \
             ORDER BY price, id LIMIT $7",
        )
        .bind(&criteria.collection)
        .bind(max_price.as_decimal())
        .bind(not_owner.0)
        .bind(&criteria.model)
        .bind(&criteria.backdrop)
        .bind(&criteria.symbol)
        .bind(i64::from(limit))
        .fetch_all(self.conn().await?)
        .await
        .map_err(self.fail())?;
        Ok(ids.into_iter().map(NftId).collect())
    }
}

#[async_trait]
impl NftReads for PgStore {
    async fn nfts(&self, q: &NftQuery) -> Result<Page<Nft>, RepoError> {
        let rows = discovery_query(q, "").build().fetch_all(self.pool()).await.map_err(map_err)?;
        let items = rows.iter().map(nft_row).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::of_nfts(items, q.limit, q.sort))
    }

    async fn nft(&self, id: NftId) -> Result<Option<Nft>, RepoError> {
        self.one(&format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id = $1"), id.0, nft_row).await
    }

    async fn attribute_panel(&self, collection: &str) -> Result<Option<AttributePanel>, RepoError> {
        let rows = sqlx::query(ATTRIBUTE_PANEL).bind(collection).fetch_all(self.pool()).await.map_err(map_err)?;
        let mut panel = AttributePanel::default();
        let mut seen = false;
        for r in &rows {
            let e = |e| bad("attribute panel", e);
            let kind: String = r.try_get(0).map_err(e)?;
            let Some(name) = r.try_get::<Option<String>, _>(1).map_err(e)? else {
                seen = true; // the collection's marker row
                continue;
            };
            let floor: Option<Decimal> = r.try_get(5).map_err(e)?;
            let stats = AttributeStats {
                name,
                rarity_per_mille: r.try_get::<i32, _>(2).map_err(e)? as u16,
                count: r.try_get::<i64, _>(3).map_err(e)? as u64,
                listed: r.try_get::<i64, _>(4).map_err(e)?.max(0) as u64,
                floor: floor.map(money).transpose()?,
            };
            match kind.as_str() {
                "model" => panel.model.push(stats),
                "backdrop" => panel.backdrop.push(stats),
                _ => panel.symbol.push(stats),
            }
        }
        Ok(seen.then_some(panel))
    }

    async fn portfolio(&self, owner: UserId) -> Result<Portfolio, RepoError> {
        let rows = sqlx::query(PORTFOLIO).bind(owner.0).fetch_all(self.pool()).await.map_err(map_err)?;
        let mut p = Portfolio::default();
        for r in &rows {
            let e = |e| bad("portfolio", e);
            let floor: Option<Decimal> = r.try_get(2).map_err(e)?;
            let value: Decimal = r.try_get(3).map_err(e)?;
            let h = Holding {
                collection: r.try_get(0).map_err(e)?,
                count: r.try_get::<i64, _>(1).map_err(e)? as u64,
                floor: floor.map(money).transpose()?,
                value: money(value)?,
            };
            p.count += h.count;
            p.value = p.value.checked_add(h.value).unwrap_or(p.value);
            p.collections.push(h);
        }
        Ok(p)
    }
}

/// Per kind and value: rarity and NFTs in custody (kept by the database in
/// `nft_attribute_counts`), listed (the sum of the value's rows in `nft_listed_deltas`, kept as
/// listings change — migration 0022) and floor (one probe of the partial index of listed NFTs by
/// value, for a value with any listed) — plus one marker row when the collection has any NFT at
/// all (returned ones included), so an empty panel differs from none.
pub const ATTRIBUTE_PANEL: &str = "\
WITH l AS (
    SELECT kind, name, sum(delta) AS listed FROM nft_listed_deltas WHERE collection = $1 GROUP BY kind, name)
SELECT a.kind, a.name, a.rarity_per_mille::int, a.count, COALESCE(l.listed, 0)::bigint,
       CASE WHEN COALESCE(l.listed, 0) <= 0 THEN NULL
            WHEN a.kind = 'model' THEN
                (SELECT min(price) FROM nfts WHERE collection = $1 AND model = a.name AND price IS NOT NULL)
            WHEN a.kind = 'backdrop' THEN
                (SELECT min(price) FROM nfts WHERE collection = $1 AND backdrop = a.name AND price IS NOT NULL)
            ELSE (SELECT min(price) FROM nfts WHERE collection = $1 AND symbol = a.name AND price IS NOT NULL) END
  FROM nft_attribute_counts a LEFT JOIN l ON l.kind = a.kind AND l.name = a.name
 WHERE a.collection = $1 AND a.count > 0
UNION ALL
SELECT 'collection', NULL, 0, 0, 0, NULL WHERE EXISTS (SELECT 1 FROM nft_collections WHERE name = $1)
ORDER BY 1, 3, 2";

/// Folds the listed counts' deltas (migration 0022) in batches of this many.
const FOLD_BATCH: i32 = 50_000;

impl PgStore {
    /// Folds the listed counts' deltas: each value's rows into one (`nft_listed_fold`), until a
    /// fold finds less than a batch; returns how many deltas it folded. Another instance folding
    /// at the same time makes this one return at once.
    pub async fn fold_listed_counts(&self) -> Result<u64, RepoError> {
        let mut total = 0u64;
        loop {
            let folded: i64 = sqlx::query_scalar("SELECT nft_listed_fold($1)")
                .bind(FOLD_BATCH)
                .fetch_one(self.pool())
                .await
                .map_err(map_err)?;
            total += folded.max(0) as u64;
            if folded < i64::from(FOLD_BATCH) {
                return Ok(total);
            }
        }
    }
}

/// The owner's NFTs in custody by collection: count, the collection's floor, and each NFT at the
/// floor of its collection and model, else of its collection, else 0. The owner's NFTs are
/// grouped first; each floor is then one probe of a partial index of listed NFTs.
pub const PORTFOLIO: &str = "\
WITH mine AS (
    SELECT collection, model, count(*) AS n FROM nfts
     WHERE owner_id = $1 AND status NOT IN ('withdrawing', 'withdrawn') GROUP BY collection, model),
cf AS MATERIALIZED (
    SELECT c.collection, (SELECT min(price) FROM nfts WHERE collection = c.collection AND price IS NOT NULL) AS floor
      FROM (SELECT DISTINCT collection FROM mine) c),
mf AS (
    SELECT m.collection, m.n, (SELECT min(price) FROM nfts
                                WHERE collection = m.collection AND model = m.model AND price IS NOT NULL) AS floor
      FROM mine m)
SELECT mf.collection, sum(mf.n)::bigint, min(cf.floor), COALESCE(sum(mf.n * COALESCE(mf.floor, cf.floor, 0)), 0)
  FROM mf JOIN cf ON cf.collection = mf.collection
 GROUP BY mf.collection ORDER BY mf.collection";

/// The SQL of a sort's key columns (as [`NftSort::key`] defines it) and its direction.
fn sort_sql(sort: NftSort) -> (Vec<String>, &'static str) {
    let none = |column: &str| format!("COALESCE({column}, {NO_RARITY})");
    match sort {
        NftSort::Newest => (vec!["newest_at".into()], "DESC"),
        NftSort::PriceAsc => (vec!["price".into()], "ASC"),
        NftSort::PriceDesc => (vec!["price".into()], "DESC"),
        NftSort::NumberAsc => (vec![format!("COALESCE(number, {NO_NUMBER})")], "ASC"),
        NftSort::Rarity => (vec![none("model_rarity"), none("backdrop_rarity"), none("symbol_rarity")], "ASC"),
    }
}

/// `GET /api/nfts` as one statement, after `prefix` (`EXPLAIN …` in the plan test). Which index
/// answers is chosen by the shape (ADR 016):
/// - an owner, or only listed NFTs (a price sort, `listed=true`, a price bound): one ordered scan
///   of the owner's NFTs or of a partial index of listed NFTs by the key (a buy, which unlists,
///   writes none of those);
/// - every other order over all NFTs reads `nft_keys` (migrations 0024, 0025; a buy writes none
///   of its indexes): one collection, or the whole market newest first, as the best page of ids
///   off its `(collection, key, id)` or `(newest_at, id)` index, then only those rows; several
///   collections (or all, with a filter) as the same query for each, cut at the page size, merged
///   — no index over the whole table by each key needed.
pub fn discovery_query(q: &NftQuery, prefix: &str) -> QueryBuilder<'static, Postgres> {
    let (keys, direction) = sort_sql(q.sort);
    let listed_only = q.sort.lists_only_listed()
        || q.filter.listed == Some(true)
        || q.filter.min_price.is_some()
        || q.filter.max_price.is_some();
    // The whole market newest first, unfiltered but for listed-ness, reads its own index
    // (nft_keys_newest_idx, migrations 0023, 0024); other orders of several collections merge each one's.
    let f = &q.filter;
    let whole_market_newest = q.sort == NftSort::Newest
        && f.collections.is_empty()
        && f.owner.is_none()
        && f.models.is_empty()
        && f.backdrops.is_empty()
        && f.symbols.is_empty()
        && f.number.is_none();
    let per_collection = f.collections.len() != 1 && f.owner.is_none() && !listed_only && !whole_market_newest;
    // Every order over all NFTs reads nft_keys, which a buy never writes (0024, 0025). (Not
    // listed only, so no price bound; no owner, whose NFTs are few and read off nfts.)
    let from_keys = !listed_only && f.owner.is_none();
    let order: Vec<String> = keys.iter().chain(["id".to_string()].iter()).map(|k| format!("{k} {direction}")).collect();
    let order = format!(" ORDER BY {} LIMIT {}", order.join(", "), u64::from(q.limit) + 1);
    let mut sql = QueryBuilder::<Postgres>::new(prefix.to_string());
    if per_collection {
        // Each collection's first page off nft_keys' index (ids and keys), the best of them,
        // then only those rows read whole.
        let named: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("{k} AS k{i}")).collect();
        let by_name: Vec<String> =
            (0..keys.len()).map(|i| format!("k{i} {direction}")).chain([format!("id {direction}")]).collect();
        sql.push(format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id IN (SELECT id FROM "));
        if q.filter.collections.is_empty() {
            sql.push("nft_collections c");
        } else {
            sql.push("unnest(").push_bind(q.filter.collections.clone()).push("::text[]) c(name)");
        }
        sql.push(format!(
            " CROSS JOIN LATERAL (SELECT id, {} FROM nft_keys WHERE collection = c.name",
            named.join(", ")
        ));
        keys_filter(&mut sql, &NftFilter { collections: Vec::new(), ..q.filter.clone() });
        after_cursor(&mut sql, q, &keys);
        sql.push(&order);
        sql.push(format!(") x ORDER BY {} LIMIT {})", by_name.join(", "), u64::from(q.limit) + 1));
    } else if from_keys {
        // One collection, or the whole market newest first: the best page of ids off nft_keys'
        // index of the order, then only those rows.
        sql.push(format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id IN (SELECT id FROM nft_keys WHERE true"));
        keys_filter(&mut sql, &q.filter);
        after_cursor(&mut sql, q, &keys);
        sql.push(&order);
        sql.push(")");
    } else if let Some((column, values, rest)) = newest_by_value(q, listed_only) {
        // Each value's newest listings off its (value, newest_at, id) index, the price read
        // beside each entry, until its page is full; the best page of them; then those rows.
        sql.push(format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id IN (SELECT id FROM unnest("));
        sql.push_bind(values).push(format!(
            "::text[]) v(name) CROSS JOIN LATERAL (SELECT id, newest_at AS k0 FROM nfts \
             WHERE price IS NOT NULL AND {column} = v.name"
        ));
        discovery_filter(&mut sql, &rest);
        after_cursor(&mut sql, q, &keys);
        sql.push(&order);
        sql.push(format!(") x ORDER BY k0 DESC, id DESC LIMIT {})", u64::from(q.limit) + 1));
    } else if ids_first(q, listed_only) {
        // The best page of ids off an index that holds the keys (no row read to sort the
        // matches), then only those rows.
        sql.push(format!("SELECT {NFT_COLUMNS} FROM nfts WHERE id IN (SELECT id FROM nfts WHERE price IS NOT NULL"));
        discovery_filter(&mut sql, &q.filter);
        after_cursor(&mut sql, q, &keys);
        sql.push(&order);
        sql.push(")");
    } else {
        sql.push(format!("SELECT {NFT_COLUMNS} FROM nfts WHERE true"));
        discovery_filter(&mut sql, &q.filter);
        if listed_only {
            sql.push(" AND price IS NOT NULL");
        }
        after_cursor(&mut sql, q, &keys);
    }
    sql.push(&order);
    sql
}

/// Listings by backdrop (else symbol) across the market, newest first: the column to merge the
/// values of, the values, and the rest of the filter (migration 0023's indexes).
fn newest_by_value(q: &NftQuery, listed_only: bool) -> Option<(&'static str, Vec<String>, NftFilter)> {
    let f = &q.filter;
    if !listed_only || q.sort != NftSort::Newest || !f.collections.is_empty() || f.owner.is_some() {
        return None;
    }
    if !f.backdrops.is_empty() {
        Some(("backdrop", f.backdrops.clone(), NftFilter { backdrops: Vec::new(), ..f.clone() }))
    } else if !f.symbols.is_empty() {
        Some(("symbol", f.symbols.clone(), NftFilter { symbols: Vec::new(), ..f.clone() }))
    } else {
        None
    }
}

/// Whether a query reads its page of ids first: listings by backdrop or symbol across the market
/// by price — the key their covering indexes hold (migration 0020). Two rare values match a few
/// hundred listings scattered over the table: reading each row to sort them cost 20 ms, their
/// index entries 0.2. (Newest first, [`newest_by_value`] merges instead.)
fn ids_first(q: &NftQuery, listed_only: bool) -> bool {
    listed_only
        && q.filter.collections.is_empty()
        && q.filter.owner.is_none()
        && (!q.filter.backdrops.is_empty() || !q.filter.symbols.is_empty())
        && matches!(q.sort, NftSort::PriceAsc | NftSort::PriceDesc)
}

/// Only rows after the cursor, in the sort's direction (keyset paging).
fn after_cursor(sql: &mut QueryBuilder<'_, Postgres>, q: &NftQuery, keys: &[String]) {
    if let Some(after) = &q.after {
        let key = keys.join(", ");
        sql.push(format!(" AND ({key}, id) {} (", if q.sort.descending() { "<" } else { ">" }));
        match after.key {
            SortKey::At(t) => sql.push_bind(t),
            SortKey::Price(p) => sql.push_bind(p.as_decimal()),
            SortKey::Number(n) => sql.push_bind(n),
            SortKey::Rarity(a, b, c) => sql.push_bind(a).push(", ").push_bind(b).push(", ").push_bind(c),
        };
        sql.push(", ").push_bind(after.id).push(")");
    }
}

/// The filter's conditions on nft_keys: what the gift is there, and `listed=false` off its row in
/// nfts (read for the rows of the order only). Never an owner, `listed=true` or a price bound:
/// those read nfts' own indexes (see `from_keys`).
fn keys_filter(sql: &mut QueryBuilder<'_, Postgres>, f: &NftFilter) {
    debug_assert!(f.owner.is_none() && f.listed != Some(true) && f.min_price.is_none() && f.max_price.is_none());
    discovery_filter(sql, &NftFilter { listed: None, ..f.clone() });
    if f.listed == Some(false) {
        sql.push(" AND EXISTS (SELECT 1 FROM nfts n WHERE n.id = nft_keys.id AND n.price IS NULL)");
    }
}

/// The filter's conditions (as [`NftFilter::matches`] states them), appended with `AND`.
fn discovery_filter(sql: &mut QueryBuilder<'_, Postgres>, f: &NftFilter) {
    if let Some(listed) = f.listed {
        sql.push(if listed { " AND price IS NOT NULL" } else { " AND price IS NULL" });
    }
    if let Some(owner) = f.owner {
        sql.push(" AND owner_id = ").push_bind(owner.0);
    }
    for (column, values) in
        [("collection", &f.collections), ("model", &f.models), ("backdrop", &f.backdrops), ("symbol", &f.symbols)]
    {
        match values.as_slice() {
            [] => {}
            // One value as an equality: an index on (column, order) then gives the order.
            [one] => {
                sql.push(format!(" AND {column} = ")).push_bind(one.clone());
            }
            many => {
                sql.push(format!(" AND {column} = ANY(")).push_bind(many.to_vec()).push(")");
            }
        }
    }
    if let Some(number) = f.number {
        // As the number order's key (equal for every number there is): its indexes serve it.
        sql.push(format!(" AND COALESCE(number, {NO_NUMBER}) = ")).push_bind(i64::from(number));
    }
    if let Some(min) = f.min_price {
        sql.push(" AND price >= ").push_bind(min.as_decimal());
    }
    if let Some(max) = f.max_price {
        sql.push(" AND price <= ").push_bind(max.as_decimal());
    }
}

pub(crate) const NFT_COLUMNS: &str = "id, gift_id, title, collection, owner_id, price, status, created_at, number, \
    model, model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity, can_transfer_at, owned_gift_id, transfer_stars, \
    listed_at";
/// How many columns [`NFT_COLUMNS`] names.
pub(crate) const NFT_COLUMN_COUNT: usize = 19;

pub(crate) fn nft_row(r: &PgRow) -> Result<Nft, RepoError> {
    nft_at(r, 0)
}

/// The NFT in the [`NFT_COLUMNS`] starting at column `at`.
pub(crate) fn nft_at(r: &PgRow, at: usize) -> Result<Nft, RepoError> {
    let e = |e| bad("nft", e);
    let status: String = r.try_get(at + 6).map_err(e)?;
    let price: Option<Decimal> = r.try_get(at + 5).map_err(e)?;
    Ok(Nft {
        id: NftId(r.try_get(at).map_err(e)?),
        gift_id: r.try_get(at + 1).map_err(e)?,
        title: r.try_get(at + 2).map_err(e)?,
        collection: r.try_get(at + 3).map_err(e)?,
        owner_id: UserId(r.try_get(at + 4).map_err(e)?),
        price: price.map(money).transpose()?,
        status: NftStatus::parse(&status).ok_or_else(|| bad("nft status", &status))?,
        created_at: r.try_get(at + 7).map_err(e)?,
        listed_at: r.try_get(at + 18).map_err(e)?,
        traits: GiftTraits {
            number: r.try_get::<Option<i64>, _>(at + 8).map_err(e)?.map(|n| n as u32),
            model: attribute_at(r, at + 9)?,
            backdrop: attribute_at(r, at + 11)?,
            symbol: attribute_at(r, at + 13)?,
        },
        can_transfer_at: r.try_get(at + 15).map_err(e)?,
        telegram: match r.try_get::<Option<String>, _>(at + 16).map_err(e)? {
            Some(owned_gift_id) => Some(TelegramGift {
                owned_gift_id,
                transfer_star_count: r.try_get::<Option<i64>, _>(at + 17).map_err(e)?.map(|n| n as u32),
            }),
            None => None,
        },
    })
}

/// An attribute stored as a name and a rarity column, from column `at`.
fn attribute_at(r: &PgRow, at: usize) -> Result<Option<Attribute>, RepoError> {
    let e = |e| bad("nft attribute", e);
    Ok(crate::rows::attribute(r.try_get(at).map_err(e)?, r.try_get(at + 1).map_err(e)?))
}
