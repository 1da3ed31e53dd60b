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

/// Issue 20: a fill of ten NFTs and a sweep of fifty listings are each one Unit of Work whose
/// round trips do not grow with the number of items — the same count for one item as for ten or
/// fifty (locks and writes are one statement each, whatever their rows).
#[tokio::test]
async fn a_fill_of_ten_and_a_sweep_of_fifty_cost_as_many_round_trips_as_one_item() {
    let db = common::fresh_database().await;
    let mut url = reqwest::Url::parse(&db.url).expect("database url");
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let (port, trips) = common::pg_proxy::counting_proxy(upstream).await;
    url.set_port(Some(port)).unwrap();
    let server = Server::start(&[
        ("DATABASE_URL", url.to_string()),
        ("DB_MAX_CONNECTIONS", "1".into()),
        ("JOB_INTERVAL_MS", "3600000".into()),
        ("RELAY_INTERVAL_MS", "3600000".into()),
        ("RATE_LIMIT_PER_SECOND", "0".into()),
    ])
    .await;
    let (seller, offerer, sweeper) = (301, 302, 303);
    for (user, amount) in [(offerer, "1000"), (sweeper, "1000")] {
        let body = json!({"user_id": user, "amount": amount, "tx_hash": format!("rt-bulk-{user}")});
        assert!(server.post("/api/admin/deposits", As::Staff, body).await.0.is_success());
    }
    // 22 NFTs for fills (1 + 10, twice: the first of each size warms the statements), 102 listings
    // for sweeps (1 + 50, twice), each listing of its own seller.
    let mut nfts = Vec::new();
    for i in 0..124 {
        let owner = if i < 22 { seller } else { 1_000 + i };
        let body = json!({"owner_id": owner, "gift_id": format!("rt-bulk-{i}"), "title": "T", "collection": "bulk"});
        let (_, nft) = server.post("/api/admin/nfts", As::Staff, body).await;
        let id = nft["id"].as_str().unwrap().to_string();
        if i >= 22 {
            let listed = server.post("/api/nft/set-price", As::User(owner), json!({"nft_id": id, "price": "1"})).await;
            assert!(listed.0.is_success());
        }
        nfts.push(id);
    }
    let body = json!({"collection": "bulk", "price": "2", "quantity": 22});
    let (status, offer) = server.post("/api/collection-offers/new", As::User(offerer), body).await;
    assert_eq!(status.as_u16(), 201, "{offer}");
    let offer = offer["id"].as_str().unwrap().to_string();

    let counted = |path: &'static str, who: i64, body: serde_json::Value| {
        let (server, trips) = (&server, &trips);
        async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let before = trips.load(Ordering::SeqCst);
            let (status, answer) = server.post(path, As::User(who), body).await;
            assert!(status.is_success(), "{status} {answer}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            (trips.load(Ordering::SeqCst) - before, answer)
        }
    };
    let fill = |ids: &[String]| json!({"offer_id": offer, "nft_ids": ids});
    counted("/api/collection-offers/fill", seller, fill(&nfts[0..1])).await;
    counted("/api/collection-offers/fill", seller, fill(&nfts[1..11])).await;
    let (fill_one, _) = counted("/api/collection-offers/fill", seller, fill(&nfts[11..12])).await;
    let (fill_ten, answer) = counted("/api/collection-offers/fill", seller, fill(&nfts[12..22])).await;
    assert_eq!(answer["filled"], 22);
    assert_eq!(fill_ten, fill_one, "a fill of ten costs what a fill of one does");
    assert!(fill_ten <= 9, "a fill took {fill_ten} round trips");

    let sweep =
        |ids: &[String]| json!({"items": ids.iter().map(|id| json!({"nft_id": id, "price": "1"})).collect::<Vec<_>>()});
    counted("/api/nft/sweep", sweeper, sweep(&nfts[22..23])).await;
    counted("/api/nft/sweep", sweeper, sweep(&nfts[23..73])).await;
    let (sweep_one, _) = counted("/api/nft/sweep", sweeper, sweep(&nfts[73..74])).await;
    let (sweep_fifty, answer) = counted("/api/nft/sweep", sweeper, sweep(&nfts[74..124])).await;
    assert_eq!(answer["purchased"].as_array().unwrap().len(), 50, "{answer}");
    assert_eq!(sweep_fifty, sweep_one, "a sweep of fifty costs what a sweep of one does");
    assert!(sweep_fifty <= 8, "a sweep took {sweep_fifty} round trips");
    eprintln!("round trips: fill of 10 {fill_ten}, sweep of 50 {sweep_fifty}");
    server.stop().await;
}
