//! Discovery at scale (issue 19): on a market of the B5 shape (the benchmark's own seeding, at a
//! tenth of its size), no discovery statement's plan reads a big table sequentially — every
//! filter, every sort, with and without a cursor, attribute panels and portfolios.

use app::ports::reads::{NftCursor, NftFilter, NftQuery, NftSort, SortKey};
use domain::{Money, UserId};

use crate::common::fresh_database;

const SEED: &str = include_str!("../common/b5_seed.sql");

/// `../common/b5_seed.sql` with its sizes filled in.
pub fn b5_seed(nfts: u64, users: u64, ledger: u64, events: u64) -> String {
    SEED.replace("{nfts}", &nfts.to_string())
        .replace("{users}", &users.to_string())
        .replace("{ledger}", &ledger.to_string())
        .replace("{events}", &events.to_string())
}

fn query(filter: NftFilter, sort: NftSort, after: Option<NftCursor>) -> NftQuery {
    NftQuery { filter, sort, after, limit: 20 }
}

#[tokio::test]
async fn no_discovery_statement_scans_a_big_table_on_a_market_of_realistic_size() {
    let db = fresh_database().await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::raw_sql(&b5_seed(100_000, 10_000, 100_000, 100_000)).execute(&pool).await.expect("seed");
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
    let listed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM nfts WHERE price IS NOT NULL").fetch_one(&pool).await.unwrap();
    assert!((25_000..35_000).contains(&listed), "the seed lists about 30 %: {listed}");

    let one = |v: &str| vec![v.to_string()];
    let m = |s: &str| Some(Money::parse(s).unwrap());
    let filters = [
        NftFilter::default(),
        NftFilter { listed: Some(true), ..Default::default() },
        NftFilter { listed: Some(false), ..Default::default() },
        NftFilter { collections: one("c03"), ..Default::default() },
        NftFilter { collections: vec!["c03".into(), "c41".into()], ..Default::default() },
        NftFilter { collections: one("c03"), models: one("Model 07"), ..Default::default() },
        NftFilter { collections: one("c03"), models: one("Model 07"), listed: Some(true), ..Default::default() },
        NftFilter {
            backdrops: vec!["Backdrop 03".into(), "Backdrop 40".into()],
            min_price: m("5"),
            max_price: m("50"),
            ..Default::default()
        },
        NftFilter {
            collections: one("c00"),
            symbols: one("Symbol 12"),
            backdrops: one("Backdrop 01"),
            ..Default::default()
        },
        NftFilter { collections: one("c03"), number: Some(77), ..Default::default() },
        NftFilter { owner: Some(UserId(1)), ..Default::default() },
        NftFilter { owner: Some(UserId(4_000)), listed: Some(true), ..Default::default() },
        NftFilter { collections: one("c07"), min_price: m("10"), ..Default::default() },
    ];
    let cursors = |sort: NftSort| {
        let id = uuid::Uuid::from_u128(u128::MAX / 2);
        let key = match sort {
            NftSort::Newest => SortKey::At(chrono::Utc::now() - chrono::Duration::days(100)),
            NftSort::PriceAsc | NftSort::PriceDesc => SortKey::Price(Money::parse("20").unwrap()),
            NftSort::NumberAsc => SortKey::Number(500),
            NftSort::Rarity => SortKey::Rarity(20, 20, 20),
        };
        [None, Some(NftCursor { key, id })]
    };
    let mut checked = 0;
    for filter in &filters {
        for (sort, _) in NftSort::ALL {
            for after in cursors(sort) {
                let q = query(filter.clone(), sort, after);
                let plan = explain(adapters_postgres::discovery_sql::discovery_query(&q, "EXPLAIN "), &pool).await;
                assert_no_big_scan(&plan, &format!("{q:?}"));
                checked += 1;
            }
        }
    }
    assert_eq!(checked, filters.len() * 5 * 2);
    for collection in ["c00", "c42", "nope"] {
        let plan: Vec<String> =
            sqlx::query_scalar(&format!("EXPLAIN {}", adapters_postgres::discovery_sql::ATTRIBUTE_PANEL))
                .bind(collection)
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_no_big_scan(&plan.join("\n"), collection);
    }
    for owner in [1i64, 70, 9_999] {
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {}", adapters_postgres::discovery_sql::PORTFOLIO))
            .bind(owner)
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_no_big_scan(&plan.join("\n"), &owner.to_string());
    }
    pool.close().await;
}

async fn explain(mut sql: sqlx::QueryBuilder<'static, sqlx::Postgres>, pool: &sqlx::PgPool) -> String {
    use sqlx::Row;
    let rows = sql.build().fetch_all(pool).await.unwrap();
    rows.iter().map(|r| r.get::<String, _>(0)).collect::<Vec<_>>().join("\n")
}

fn assert_no_big_scan(plan: &str, what: &str) {
    for table in ["nfts", "nft_keys", "users", "ledger_entries", "market_events"] {
        assert!(!plan.contains(&format!("Seq Scan on {table}")), "{what}\n{plan}");
    }
}
