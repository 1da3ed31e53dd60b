//! The filter panels' listed counts, kept as deltas by the database and folded in the background
//! (migration 0022): after any listing, unlisting, repricing or change of a listed gift's
//! attributes, before and after folds, and with writers and folds running at once, each panel is
//! what its NFTs say (`AttributePanel::of`, the in-memory store's definition). The same changes
//! keep `nft_keys` (migration 0024: the orders over all NFTs) equal to the rows it mirrors.

use std::sync::Arc;

use adapters_postgres::{PgSettings, PgStore};
use app::ports::reads::{AttributePanel, NftReads};
use domain::NftId;
use uuid::Uuid;

use crate::common::{fresh_database, TestDb};

const COLLECTIONS: [&str; 2] = ["frog", "toad"];

async fn store() -> (TestDb, PgStore, sqlx::PgPool) {
    let db = fresh_database().await;
    let pool = adapters_postgres::connect(&db.url, &PgSettings { max_connections: 8, ..Default::default() })
        .await
        .expect("connect");
    let raw = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::query("INSERT INTO users (id) VALUES (1), (2)").execute(&raw).await.unwrap();
    (db, PgStore::new(pool), raw)
}

/// Registers `n` gifts over both collections with three models, backdrops and symbols (some
/// without a symbol), every third listed; returns their ids.
async fn register(raw: &sqlx::PgPool, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = Uuid::now_v7();
        let symbol = (i % 4 != 0).then(|| format!("S{}", i % 3));
        sqlx::query(
            "INSERT INTO nfts (id, gift_id, title, collection, owner_id, price, status, created_at, listed_at, \
             model, model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity) \
             VALUES ($1, $2, 't', $3, 1, $4, 'available', now(), CASE WHEN $4 IS NULL THEN NULL ELSE now() END, \
                     $5, 10, $6, 20, $7, CASE WHEN $7 IS NULL THEN NULL ELSE 30 END)",
        )
        .bind(id)
        .bind(format!("g{i}"))
        .bind(COLLECTIONS[i % 2])
        .bind((i % 3 == 0).then(|| rust_decimal::Decimal::from(1 + i as i64 % 7)))
        .bind(format!("M{}", i % 3))
        .bind(format!("B{}", (i / 2) % 3))
        .bind(symbol)
        .execute(raw)
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

/// Every panel is what its NFTs say.
async fn assert_panels(store: &PgStore, ids: &[Uuid], when: &str) {
    let mut nfts = Vec::new();
    for id in ids {
        nfts.push(store.nft(NftId(*id)).await.unwrap().expect("registered"));
    }
    for c in COLLECTIONS {
        let expected = AttributePanel::of(c, &nfts);
        assert!(expected.is_some());
        assert_eq!(store.attribute_panel(c).await.unwrap(), expected, "{c}, {when}");
    }
}

/// `nft_keys` holds one row per NFT with the NFT's own keys and attributes, no more, no less.
async fn assert_keys_mirror(raw: &sqlx::PgPool, when: &str) {
    let (nfts, differing): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM nfts), count(*) FROM nfts n FULL JOIN nft_keys k ON k.id = n.id \
          WHERE (n.id, n.collection, n.number, n.model, n.model_rarity, n.backdrop, n.backdrop_rarity, \
                 n.symbol, n.symbol_rarity, n.newest_at) \
                IS DISTINCT FROM (k.id, k.collection, k.number, k.model, k.model_rarity, k.backdrop, \
                 k.backdrop_rarity, k.symbol, k.symbol_rarity, k.newest_at)",
    )
    .fetch_one(raw)
    .await
    .unwrap();
    assert!(nfts > 0, "{when}: no NFTs to compare");
    assert_eq!(differing, 0, "{when}: nft_keys differs from nfts");
}

async fn unfolded(raw: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM nft_listed_deltas WHERE NOT folded").fetch_one(raw).await.unwrap()
}

/// One change of a gift's listing: list, unlist, reprice, or (listed) a new model or backdrop.
async fn change(raw: &sqlx::PgPool, id: Uuid, how: usize) {
    let sql = match how % 5 {
        0 => "UPDATE nfts SET price = 3, listed_at = now() WHERE id = $1 AND status = 'available'",
        1 => "UPDATE nfts SET price = NULL WHERE id = $1",
        2 => "UPDATE nfts SET price = price + 1 WHERE id = $1 AND price IS NOT NULL",
        3 => "UPDATE nfts SET model = CASE model WHEN 'M0' THEN 'M1' ELSE 'M0' END WHERE id = $1",
        _ => "UPDATE nfts SET backdrop = 'B9', backdrop_rarity = 5, owner_id = 2, number = 7 WHERE id = $1",
    };
    sqlx::query(sql).bind(id).execute(raw).await.unwrap();
}

#[tokio::test]
async fn listed_counts_follow_every_listing_change_before_and_after_folds() {
    let (_db, store, raw) = store().await;
    let ids = register(&raw, 60).await;
    assert!(unfolded(&raw).await > 0, "registering listed gifts left deltas");
    assert_panels(&store, &ids, "registered, unfolded").await;
    assert!(store.fold_listed_counts().await.unwrap() > 0);
    assert_eq!(unfolded(&raw).await, 0);
    assert_panels(&store, &ids, "registered, folded").await;

    for round in 0..4 {
        for (i, id) in ids.iter().enumerate() {
            change(&raw, *id, i * 7 + round).await;
        }
        assert_panels(&store, &ids, &format!("round {round}, unfolded")).await;
        assert_keys_mirror(&raw, &format!("round {round}")).await;
        store.fold_listed_counts().await.unwrap();
        assert_panels(&store, &ids, &format!("round {round}, folded")).await;
    }
    // Folded, a value is one row (none when nothing of it is listed); unlisting everything leaves none.
    let per_value: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM nft_listed_deltas GROUP BY collection, kind, name) v",
    )
    .fetch_one(&raw)
    .await
    .unwrap();
    assert_eq!(per_value, 1);
    sqlx::query("UPDATE nfts SET price = NULL").execute(&raw).await.unwrap();
    store.fold_listed_counts().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM nft_listed_deltas").fetch_one(&raw).await.unwrap();
    assert_eq!(rows, 0);
    assert_panels(&store, &ids, "nothing listed").await;
}

#[tokio::test]
async fn writers_and_folds_at_once_lose_no_change() {
    let (_db, store, raw) = store().await;
    let ids = Arc::new(register(&raw, 80).await);
    let writers: Vec<_> = (0..6)
        .map(|w| {
            let (raw, ids) = (raw.clone(), ids.clone());
            tokio::spawn(async move {
                for step in 0..60 {
                    // Several changes in one transaction, some rolled back: only committed ones count.
                    let mut tx = raw.begin().await.unwrap();
                    // Rows in id order, as the use cases lock them.
                    let mut mine: Vec<Uuid> = (0..3).map(|k| ids[(w * 13 + step * 7 + k * 5) % ids.len()]).collect();
                    mine.sort();
                    for (k, id) in mine.into_iter().enumerate() {
                        // (Attribute changes stay out of the race: the custody counts' trigger
                        // locks the old and the new value's rows, which concurrent changes of
                        // opposite direction deadlock on — the gift sync makes them one at a time.)
                        let sql = match (step + k) % 3 {
                            0 => "UPDATE nfts SET price = 2, listed_at = now() WHERE id = $1",
                            1 => "UPDATE nfts SET price = NULL WHERE id = $1",
                            _ => "UPDATE nfts SET price = price + 1 WHERE id = $1 AND price IS NOT NULL",
                        };
                        sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
                    }
                    if step % 5 == 4 {
                        tx.rollback().await.unwrap();
                    } else {
                        tx.commit().await.unwrap();
                    }
                }
            })
        })
        .collect();
    let folders: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..40 {
                    store.fold_listed_counts().await.unwrap();
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            })
        })
        .collect();
    for t in writers.into_iter().chain(folders) {
        t.await.unwrap();
    }
    assert_panels(&store, &ids, "after the race, before the last fold").await;
    assert_keys_mirror(&raw, "after the race").await;
    store.fold_listed_counts().await.unwrap();
    assert_eq!(unfolded(&raw).await, 0);
    assert_panels(&store, &ids, "after the last fold").await;
}

/// What the buy path's cost rests on (ADR 016, fifth pass): a buy (owner and price change, the
/// listing time kept) rewrites no `nft_keys` row, a listing does; and the only indexes over all
/// NFTs on `nfts` — the ones every buy writes — are the id, the gift id and the owner. An index
/// over all NFTs added there fails this test: measure what it costs buys first.
#[tokio::test]
async fn a_buy_writes_no_discovery_row_and_no_discovery_index() {
    let (_db, _store, raw) = store().await;
    let ids = register(&raw, 3).await;
    let listed = ids[0]; // every third registered is listed: index 0
    let version = |id: Uuid| {
        let raw = raw.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT xmin::text FROM nft_keys WHERE id = $1")
                .bind(id)
                .fetch_one(&raw)
                .await
                .unwrap()
        }
    };
    let before = version(listed).await;
    sqlx::query("UPDATE nfts SET owner_id = 2, price = NULL WHERE id = $1").bind(listed).execute(&raw).await.unwrap();
    assert_eq!(version(listed).await, before, "a buy left the row of nft_keys alone");
    sqlx::query("UPDATE nfts SET price = 4, listed_at = now() + interval '1 second' WHERE id = $1")
        .bind(listed)
        .execute(&raw)
        .await
        .unwrap();
    assert_ne!(version(listed).await, before, "a listing moved it");
    assert_keys_mirror(&raw, "after a buy and a listing").await;

    let over_all: Vec<String> = sqlx::query_scalar(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'nfts'::regclass AND indpred IS NULL ORDER BY 1",
    )
    .fetch_all(&raw)
    .await
    .unwrap();
    assert_eq!(over_all, ["nfts_gift_id_key", "nfts_owner_idx", "nfts_pkey"]);
}
