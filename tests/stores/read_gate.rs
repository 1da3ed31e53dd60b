//! Reads hold at most `with_read_connections` connections at once, first come first served, and
//! never hold back a Unit of Work; the collections table follows the NFTs it is kept from.

use std::time::Duration;

use adapters_postgres::{PgSettings, PgStore};
use app::ports::reads::ActivityReads;

use crate::common::fresh_database;

async fn store(reads: u32) -> (crate::common::TestDb, PgStore) {
    let db = fresh_database().await;
    let pool = adapters_postgres::connect(&db.url, &PgSettings { max_connections: 8, ..Default::default() })
        .await
        .expect("connect");
    (db, PgStore::new(pool).with_read_connections(reads))
}

#[tokio::test]
async fn reads_wait_their_turn_beyond_the_gate_and_units_of_work_do_not() {
    let (_db, store) = store(2).await;
    let first = store.pool().acquire().await.expect("a read connection");
    let second = store.pool().acquire().await.expect("a second");
    let gate = store.pool().clone();
    let mut third = tokio::spawn(async move { gate.acquire().await.map(drop) });
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut third).await.is_err(),
        "a third read waits while two hold their connections"
    );
    // A Unit of Work is not a read: it takes one of the pool's other connections at once.
    let uow = tokio::time::timeout(Duration::from_secs(2), store.begin("test")).await;
    assert!(matches!(uow, Ok(Ok(_))), "a Unit of Work begins beside two reads");
    drop(first);
    tokio::time::timeout(Duration::from_secs(2), third).await.expect("the third gets its turn").unwrap().unwrap();
    drop(second);
    // And a plain read through the gate works as before.
    assert!(store.collections(None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_collections_table_follows_registrations_in_one_statement_or_many() {
    let (db, store) = store(0).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::query("INSERT INTO users (id) VALUES (1)").execute(&pool).await.unwrap();
    let register = |gift: &'static str, collection: &'static str| {
        sqlx::query(
            "INSERT INTO nfts (id, gift_id, title, collection, owner_id, status, created_at) \
             VALUES (gen_random_uuid(), $1, 't', $2, 1, 'available', now())",
        )
        .bind(gift)
        .bind(collection)
    };
    register("g1", "toad").execute(&pool).await.unwrap();
    // A bulk registration: several rows, two collections, one of them known.
    sqlx::query(
        "INSERT INTO nfts (id, gift_id, title, collection, owner_id, status, created_at) \
         SELECT gen_random_uuid(), 'b' || i, 't', CASE WHEN i % 2 = 0 THEN 'frog' ELSE 'toad' END, 1, 'available', now() \
         FROM generate_series(1, 10) i",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(store.collections(None, 10).await.unwrap(), ["frog", "toad"]);
    // An NFT moved to another collection brings its name; the old one stays (its NFTs did).
    sqlx::query("UPDATE nfts SET collection = 'axolotl' WHERE gift_id = 'g1'").execute(&pool).await.unwrap();
    assert_eq!(store.collections(None, 10).await.unwrap(), ["axolotl", "frog", "toad"]);
    assert_eq!(store.collections(Some("axolotl"), 1).await.unwrap(), ["frog"]);
    // A buy-like update (owner, price) writes nothing there.
    sqlx::query("UPDATE nfts SET price = 2, listed_at = now() WHERE gift_id = 'b1'").execute(&pool).await.unwrap();
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM nft_collections ORDER BY name").fetch_all(&pool).await.unwrap();
    assert_eq!(names, ["axolotl", "frog", "toad"]);
    pool.close().await;
}
