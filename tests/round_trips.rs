//! What a buy costs the database, counted on the wire (a proxy in front of PostgreSQL counts the
//! exchanges the service waits for): at most 5 round trips for a user this instance knows
//! (BEGIN, the sale's locks, the writes, COMMIT, the pool's release ping) and 7 for one it sees
//! first (auth reads the user once), and the auth path writes nothing for a known user.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{As, Server};
use serde_json::json;

/// Round trips of one buy (release pings included).
async fn buy_counting(server: &Server, trips: &std::sync::atomic::AtomicU64, who: i64, nft: &str) -> u64 {
    tokio::time::sleep(Duration::from_millis(100)).await; // earlier release pings land
    let before = trips.load(Ordering::SeqCst);
    let (status, body) = server.post("/api/nft/buy", As::User(who), json!({"nft_id": nft})).await;
    assert!(status.is_success(), "{status} {body}");
    tokio::time::sleep(Duration::from_millis(100)).await; // this one's release ping
    trips.load(Ordering::SeqCst) - before
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
    let (seller, warm_up, buyer, idle) = (101, 102, 103, 104);
    let mut listings = Vec::new();
    for i in 0..3 {
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
    for user in [warm_up, buyer, idle] {
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
        .bind(vec![warm_up, buyer, idle])
        .execute(&pool)
        .await
        .unwrap();
    // The first buy prepares the statements of a buy on the connection.
    let (status, _) = server.post("/api/nft/buy", As::User(warm_up), json!({"nft_id": listings[0]})).await;
    assert!(status.is_success());

    let cold = buy_counting(&server, &trips, buyer, &listings[1]).await;
    assert!(cold <= 7, "a buy by a user this instance has not seen took {cold} round trips");
    // The same buyer, now known, buys a second listing.
    let warm = buy_counting(&server, &trips, buyer, &listings[2]).await;
    assert!(warm <= 5, "a buy by a known user took {warm} round trips");

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
