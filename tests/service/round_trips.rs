//! What a buy costs the database, counted on the wire (a proxy in front of PostgreSQL counts the
//! exchanges with it): at most 4 round trips for a user this instance knows (BEGIN, the sale's
//! locks, the writes, COMMIT — no ping on a connection that goes back clean, ADR 012) and 5 for
//! one it sees first (auth reads the user once), averaged over a burst so the live stream's
//! coalesced `NOTIFY` (one per 50 ms at most) counts at its real share; and the auth path writes
//! nothing for a known user.

use crate::common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{As, Server};
use serde_json::json;

/// Round trips per buy over `buys` (release pings and the coalesced NOTIFY included).
async fn buys_counting(server: &Server, trips: &std::sync::atomic::AtomicU64, buys: &[(i64, String)]) -> f64 {
    tokio::time::sleep(Duration::from_millis(200)).await; // earlier pings and notices land
    let before = trips.load(Ordering::SeqCst);
    for (who, nft) in buys {
        let (status, body) = server.post("/api/nft/buy", As::User(*who), json!({"nft_id": nft})).await;
        assert!(status.is_success(), "{status} {body}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // the last ping and notice
    (trips.load(Ordering::SeqCst) - before) as f64 / buys.len() as f64
}

#[tokio::test]
async fn a_buy_costs_at_most_five_round_trips_and_auth_writes_nothing() {
    let db = common::fresh_database().await;
    let mut url = reqwest::Url::parse(&db.url).expect("database url");
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let (port, trips) = common::pg_proxy::counting_proxy(upstream).await;
    url.set_port(Some(port)).unwrap();
    // One connection (its statements prepared once), background work out of the way.
    let server = Server::start(&[
        ("DATABASE_URL", url.to_string()),
        ("DB_MAX_CONNECTIONS", "1".into()),
        ("JOB_INTERVAL_MS", "3600000".into()),
        ("RELAY_INTERVAL_MS", "3600000".into()),
        ("RATE_LIMIT_PER_SECOND", "0".into()),
    ])
    .await;
    let (seller, warm_up, idle) = (101, 102, 104);
    let buyers: Vec<i64> = (200..220).collect();
    let mut listings = Vec::new();
    for i in 0..41 {
        let (_, nft) = server
            .post(
                "/api/admin/nfts",
                As::Staff,
                json!({"owner_id": seller, "gift_id": format!("rt-{i}"), "title": "T", "collection": "c"}),
            )
            .await;
        let id = nft["id"].as_str().unwrap().to_string();
        let (status, _) =
            server.post("/api/nft/set-price", As::User(seller), json!({"nft_id": id, "price": "1"})).await;
        assert!(status.is_success());
        listings.push(id);
    }
    let mut users = buyers.clone();
    users.extend([warm_up, idle]);
    for user in &users {
        let (status, _) = server
            .post(
                "/api/admin/deposits",
                As::Staff,
                json!({"user_id": user, "amount": "5", "tx_hash": format!("rt-{user}")}),
            )
            .await;
        assert!(status.is_success());
    }
    // Known users: their usernames (which init data carries) are on file already.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE users SET username = 'user' || id WHERE id = ANY($1)")
        .bind(&users)
        .execute(&pool)
        .await
        .unwrap();
    // The first buy prepares the statements of a buy on the connection.
    let (status, _) = server.post("/api/nft/buy", As::User(warm_up), json!({"nft_id": listings[40]})).await;
    assert!(status.is_success());

    // Each buyer's first request to this instance, then the same buyers again.
    let first: Vec<(i64, String)> = buyers.iter().zip(&listings[..20]).map(|(b, l)| (*b, l.clone())).collect();
    let again: Vec<(i64, String)> = buyers.iter().zip(&listings[20..40]).map(|(b, l)| (*b, l.clone())).collect();
    let cold = buys_counting(&server, &trips, &first).await;
    // BEGIN, the sale's locks, the deferred writes, COMMIT; the auth SELECT on first sight. No
    // ping when a connection goes back (`conns`).
    assert!(cold <= 5.0, "a buy by a user this instance has not seen took {cold} round trips");
    let warm = buys_counting(&server, &trips, &again).await;
    assert!(warm <= 4.0, "a buy by a known user took {warm} round trips");
    eprintln!("round trips per buy: {cold:.2} cold, {warm:.2} warm");

    // A known user's request writes nothing on the auth path: the row keeps its version.
    let version = || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT xmin::text FROM users WHERE id = $1")
                .bind(idle)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let before = version().await;
    let (status, _) = server.get("/api/me", As::User(idle)).await;
    assert!(status.is_success());
    assert_eq!(version().await, before, "the first request of a known user rewrote their row");
    pool.close().await;
    server.stop().await;
}
