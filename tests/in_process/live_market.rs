//! The live market: the activity feed and collection statistics on every store, their
//! query plans on PostgreSQL, and the server-sent event stream across two instances.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::{As, Server, TestApp};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const SELLER: i64 = 31;
const BUYER: i64 = 32;
const BIDDER: i64 = 33;

async fn activity(app: &TestApp, query: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/activity{query}"), As::User(BUYER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn kinds(items: &[Value]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for i in items {
        *out.entry(i["kind"].as_str().unwrap().to_string()).or_default() += 1;
    }
    out
}

/// Every kind of public event, each after the operation that makes it, and none after an
/// operation that failed; then the collection's statistics, exactly.
async fn every_event_kind_follows_its_operation(app: TestApp) {
    for (u, amount) in [(SELLER, "100"), (BUYER, "100"), (BIDDER, "100")] {
        app.deposit(u, amount).await;
    }
    let ok = |r: &common::Reply| assert!(r.status.is_success(), "{} {}", r.status, r.body);

    // Listed, price changed, unlisted, listed again; bought at 3.
    let a = app.nft(SELLER, Some("4")).await;
    ok(&app.post("/api/nft/set-price", As::User(SELLER), json!({"nft_id": a, "price": "3"})).await);
    ok(&app.post("/api/nft/set-price", As::User(SELLER), json!({"nft_id": a, "price": null})).await);
    ok(&app.post("/api/nft/set-price", As::User(SELLER), json!({"nft_id": a, "price": "3"})).await);
    let before = activity(&app, "?limit=100").await.len();
    // Failing operations leave no event: too poor, not listed, own item.
    let r = app.post("/api/nft/buy", As::User(BUYER), json!({"nft_id": a, "expected_price": "2"})).await;
    assert_eq!(r.code(), "price_changed");
    let b = app.nft(SELLER, None).await;
    let r = app.post("/api/nft/buy", As::User(BUYER), json!({"nft_id": b})).await;
    assert_eq!(r.code(), "not_for_sale");
    let r = app.post("/api/nft/set-price", As::User(BUYER), json!({"nft_id": a, "price": "9"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(activity(&app, "?limit=100").await.len(), before, "a failed operation wrote an event");
    ok(&app.post("/api/nft/buy", As::User(BUYER), json!({"nft_id": a})).await);

    // An offer made and accepted at 5.
    let r = app.post("/api/offers/new", As::User(BUYER), json!({"nft_id": b, "price": "5"})).await;
    ok(&r);
    ok(&app.post("/api/offers/accept", As::User(SELLER), json!({"offer_id": r.body["id"]})).await);

    // An auction: started, two bids, settled at 2.5.
    let c = app.nft(SELLER, None).await;
    let r = app
        .post("/api/auctions/new", As::User(SELLER), json!({"nft_id": c, "start_price": "2", "duration_seconds": 60}))
        .await;
    ok(&r);
    let auction = r.body["id"].as_str().unwrap().to_string();
    ok(&app.post("/api/auctions/bid", As::User(BIDDER), json!({"auction_id": auction, "amount": "2"})).await);
    let r = app.post("/api/auctions/bid", As::User(BUYER), json!({"auction_id": auction, "amount": "1"})).await;
    assert_eq!(r.code(), "bid_too_low");
    ok(&app.post("/api/auctions/bid", As::User(BUYER), json!({"auction_id": auction, "amount": "2.5"})).await);
    app.advance(400); // past the end, moved by anti-sniping
    app.run_jobs().await;

    // A trade (its amounts never shown), a presale sold and delivered.
    let (mine, theirs) = (app.nft(SELLER, None).await, app.nft(BIDDER, None).await);
    let r = app
        .post(
            "/api/trades/new",
            As::User(SELLER),
            json!({"taker_id": BIDDER, "give": {"nft_ids": [mine], "amount": "1"}, "want": {"nft_ids": [theirs]}}),
        )
        .await;
    ok(&r);
    ok(&app.post("/api/trades/accept", As::User(BIDDER), json!({"trade_id": r.body["id"]})).await);
    let deliver_by = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let r = app
        .post(
            "/api/presale/new",
            As::User(SELLER),
            json!({"title": "Cake", "collection": "pepe", "price": "7", "deliver_by": deliver_by}),
        )
        .await;
    ok(&r);
    let presale = r.body["id"].as_str().unwrap().to_string();
    ok(&app.post("/api/presale/buy", As::User(BUYER), json!({"presale_id": presale})).await);
    ok(&app
        .post(&format!("/api/admin/presales/{presale}/deliver"), As::Staff, json!({"gift_id": "cake-live-1"}))
        .await);

    let all = activity(&app, "?limit=100").await;
    let k = kinds(&all);
    let expected = [
        ("listed", 2),
        ("price_changed", 1),
        ("unlisted", 1),
        ("sold", 1),
        ("offer_made", 1),
        ("offer_accepted", 1),
        ("auction_started", 1),
        ("auction_bid", 2),
        ("auction_settled", 1),
        ("trade_completed", 2),
        ("presale_sold", 1),
        ("presale_delivered", 1),
    ];
    for (kind, n) in expected {
        assert_eq!(k.get(kind).copied().unwrap_or(0), n, "{kind}: {k:?}");
    }
    assert!(!k.contains_key("offer_received"), "private events stay out of the feed");
    assert_eq!(all.len(), 15);
    let trades: Vec<&Value> = all.iter().filter(|e| e["kind"] == "trade_completed").collect();
    assert!(trades.iter().all(|e| e["price"].is_null()), "no amounts of private trades");
    let sold = all.iter().find(|e| e["kind"] == "sold").unwrap();
    assert_eq!((sold["price"].as_str(), sold["nft_id"].as_str()), (Some("3"), Some(a.as_str())));

    // Filters.
    assert_eq!(activity(&app, "?kind=auction_bid").await.len(), 2);
    assert!(activity(&app, &format!("?nft_id={a}")).await.iter().all(|e| e["nft_id"] == a.as_str()));
    assert_eq!(activity(&app, &format!("?nft_id={a}")).await.len(), 5);
    assert_eq!(activity(&app, "?collection=nope").await.len(), 0);
    let r = app.get("/api/activity?kind=offer_received", As::User(BUYER)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Statistics: three sales (3, 5, 2.5), listings, owners.
    let r = app.get("/api/collections/pepe", As::User(BUYER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = &r.body;
    assert_eq!((s["sales_24h"].as_u64(), s["volume_24h"].as_str()), (Some(3), Some("10.5")));
    assert_eq!((s["sales_7d"].as_u64(), s["volume_7d"].as_str()), (Some(3), Some("10.5")));
    assert_eq!(s["last_sale"]["price"], "2.5");
    assert_eq!((s["listed"].as_u64(), s["floor_price"].clone()), (Some(0), Value::Null));
    assert_eq!(s["owners"].as_u64(), Some(3), "seller, buyer and bidder hold pepes");
    let listed = app.nft(SELLER, Some("8")).await;
    app.nft(SELLER, Some("6.5")).await;
    let s = app.get("/api/collections/pepe", As::User(BUYER)).await.body;
    assert_eq!((s["listed"].as_u64(), s["floor_price"].as_str()), (Some(2), Some("6.5")));
    let list = app.get("/api/collections", As::User(BUYER)).await.body;
    assert_eq!(list["items"][0]["name"], "pepe");
    assert_eq!((list["items"].as_array().unwrap().len(), list["next_cursor"].clone()), (1, Value::Null));
    // Collections page by name.
    for (gift, collection) in [("live-z", "zebra"), ("live-a", "axolotl")] {
        let body = json!({"owner_id": BIDDER, "gift_id": gift, "title": "T", "collection": collection});
        ok(&app.post("/api/admin/nfts", As::Staff, body).await);
    }
    let first = app.get("/api/collections?limit=2", As::User(BUYER)).await.body;
    let names = |v: &Value| v["items"].as_array().unwrap().iter().map(|c| c["name"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&first), [json!("axolotl"), json!("pepe")]);
    let cursor = first["next_cursor"].as_str().expect("a next page").to_string();
    let rest = app.get(&format!("/api/collections?limit=2&cursor={cursor}"), As::User(BUYER)).await.body;
    assert_eq!((names(&rest), rest["next_cursor"].clone()), (vec![json!("zebra")], Value::Null));
    assert_eq!(rest["items"][0]["owners"], 1);
    for bad in ["?limit=0", "?limit=101", "?cursor=pepe", "?cursor=n1zz"] {
        let r = app.get(&format!("/api/collections{bad}"), As::User(BUYER)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert_eq!(app.get("/api/collections/nope", As::User(BUYER)).await.status, StatusCode::NOT_FOUND);
    let h = app.get("/api/collections/pepe/history?interval=day", As::User(BUYER)).await.body;
    let points = h["points"].as_array().unwrap();
    let total: u64 = points.iter().map(|p| p["sales"].as_u64().unwrap()).sum();
    assert_eq!(total, 3);
    if points.len() == 1 {
        let p = &points[0];
        assert_eq!(
            (p["min"].as_str(), p["max"].as_str(), p["avg"].as_str(), p["volume"].as_str()),
            (Some("2.5"), Some("5"), Some("3.5"), Some("10.5"))
        );
    }
    let hours = app.get("/api/collections/pepe/history?interval=hour", As::User(BUYER)).await.body;
    assert_eq!(hours["interval"], "hour");
    assert_eq!(
        app.get("/api/collections/pepe/history?interval=week", As::User(BUYER)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Pages stay put while new events arrive.
    let first = app.get("/api/activity?limit=4", As::User(BUYER)).await.body;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    ok(&app.post("/api/nft/set-price", As::User(SELLER), json!({"nft_id": listed, "price": "9"})).await);
    let second = app.get(&format!("/api/activity?limit=100&cursor={cursor}"), As::User(BUYER)).await.body;
    let ids = |v: &Value| {
        v["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let mut paged = ids(&first);
    paged.extend(ids(&second));
    let now = ids(&app.get("/api/activity?limit=100", As::User(BUYER)).await.body);
    assert_eq!(now[0], activity(&app, "?limit=1").await[0]["id"].as_str().unwrap(), "the newest first");
    assert_eq!(paged, now[1..].to_vec(), "the pages, put together, are the feed as it was");
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn every_event_kind_follows_its_operation_on_memory() {
    every_event_kind_follows_its_operation(TestApp::memory().await).await;
}

#[tokio::test]
async fn every_event_kind_follows_its_operation_on_postgres() {
    every_event_kind_follows_its_operation(TestApp::postgres().await).await;
}

/// The hot reads use their indexes on a table of realistic size: no sequential scan of the
/// event table.
#[tokio::test]
async fn the_feed_and_the_statistics_read_indexes_not_the_event_table() {
    let app = TestApp::postgres().await;
    let url = app.database_url().unwrap();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO market_events (id, kind, collection, nft_id, price, recipient, created_at) \
         SELECT gen_random_uuid(), (ARRAY['listed','sold','offer_made','auction_bid'])[1 + i % 4], 'c' || (i % 50), \
                gen_random_uuid(), 1 + i % 7, CASE WHEN i % 10 = 0 THEN i ELSE NULL END, now() - (i || ' seconds')::interval \
         FROM generate_series(1, 60000) i",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO users (id) SELECT generate_series(1, 1000)").execute(&pool).await.unwrap();
    sqlx::query(
        "INSERT INTO nfts (id, gift_id, title, collection, owner_id, price, status, created_at) \
         SELECT gen_random_uuid(), 'plan-' || i, 'T', 'c' || (i % 50), 1 + i % 1000, \
                CASE WHEN i % 3 = 0 AND i % 4 <> 3 THEN 1 + i % 9 ELSE NULL END, \
                (ARRAY['available','available','available','withdrawn'])[1 + i % 4], now() \
         FROM generate_series(1, 60000) i",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE market_events").execute(&pool).await.unwrap();
    sqlx::query("ANALYZE nfts").execute(&pool).await.unwrap();
    sqlx::query("ANALYZE nft_keys").execute(&pool).await.unwrap();
    let floor = app::ports::reads::id_floor(chrono::Utc::now() - chrono::Duration::hours(24));
    let sale = "recipient IS NULL AND price IS NOT NULL AND kind IN ('sold', 'offer_accepted', 'auction_settled')";
    let nft: uuid::Uuid =
        sqlx::query_scalar("SELECT nft_id FROM market_events LIMIT 1").fetch_one(&pool).await.unwrap();
    let queries = [
        "SELECT * FROM market_events WHERE recipient IS NULL ORDER BY id DESC LIMIT 21".to_string(),
        "SELECT * FROM market_events WHERE recipient IS NULL AND collection = 'c7' ORDER BY id DESC LIMIT 21".into(),
        format!("SELECT * FROM market_events WHERE recipient IS NULL AND nft_id = '{nft}' ORDER BY id DESC LIMIT 21"),
        format!(
            "SELECT count(*), sum(price) FROM market_events WHERE collection = 'c7' AND {sale} AND id >= '{floor}'"
        ),
        format!(
            "SELECT price, created_at FROM market_events WHERE collection = 'c7' AND {sale} ORDER BY id DESC LIMIT 1"
        ),
        format!(
            "SELECT date_trunc('day', created_at, 'UTC'), min(price), max(price) FROM market_events \
             WHERE collection = 'c7' AND {sale} AND id >= '{floor}' GROUP BY 1"
        ),
    ];
    // Statistics' NFT side: listed and floor off nfts' listed index; how many owners off
    // nft_keys' collection index, each NFT's row by id (no index over all NFTs by collection on
    // nfts: a buy would write it — migration 0025). Whether it has NFTs: nft_collections' key.
    let owners = adapters_postgres::discovery_sql::COLLECTION_OWNERS.replace("$1", "'c7'");
    let nft_queries =
        ["SELECT count(*), min(price) FROM nfts WHERE collection = 'c7' AND price IS NOT NULL", owners.as_str()];
    for q in queries.iter().map(String::as_str).chain(nft_queries) {
        let plan: String =
            sqlx::query_scalar::<_, String>(&format!("EXPLAIN {q}")).fetch_all(&pool).await.unwrap().join("\n");
        assert!(!plan.contains("Seq Scan on market_events"), "{q}\n{plan}");
        assert!(!plan.contains("Seq Scan on nfts"), "{q}\n{plan}");
        assert!(!plan.contains("Seq Scan on nft_keys"), "{q}\n{plan}");
    }
    // The adapter answers from these on a table of this size.
    let stats = app.get("/api/collections/c7", As::User(BUYER)).await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.body);
    let (listed, owners): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE price IS NOT NULL AND status = 'available'), \
                count(DISTINCT owner_id) FILTER (WHERE status <> 'withdrawn') FROM nfts WHERE collection = 'c7'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(listed > 0 && owners > 0);
    assert_eq!((stats.body["listed"].as_i64(), stats.body["owners"].as_i64()), (Some(listed), Some(owners)));
    let page = app.get("/api/collections?limit=100", As::User(BUYER)).await.body;
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    pool.close().await;
}

// ----- the event stream ------------------------------------------------------------------------

/// One server-sent event.
#[derive(Clone, Debug)]
struct Sse {
    id: String,
    event: String,
    data: Value,
}

/// Opens `/api/events{query}` as `user` over a raw connection; returns the status and the events
/// as they come. (Chunk-size lines of the chunked encoding are skipped as non-field lines.)
async fn stream(
    base: &str,
    user: i64,
    query: &str,
    last: Option<&str>,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Sse>) {
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let last = last.map(|l| format!("Last-Event-ID: {l}\r\n")).unwrap_or_default();
    let request = format!(
        "GET /api/events{query} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\nAccept: text/event-stream\r\n{last}\r\n",
        common::tma(user)
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut lines = BufReader::new(conn).lines();
    let status_line = lines.next_line().await.unwrap().unwrap();
    let status: u16 = status_line.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (mut id, mut event) = (String::new(), String::new());
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.to_string();
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = v.to_string();
            } else if let Some(v) = line.strip_prefix(':') {
                // A comment (keep-alive): passed on as an event of kind ":".
                let comment = Sse { id: String::new(), event: ":".into(), data: Value::String(v.trim().into()) };
                if tx.send(comment).is_err() {
                    break;
                }
            } else if let Some(v) = line.strip_prefix("data: ") {
                let data = serde_json::from_str(v).unwrap_or(Value::Null);
                if tx.send(Sse { id: id.clone(), event: event.clone(), data }).is_err() {
                    break;
                }
            }
        }
    });
    (status, rx)
}

async fn next_of(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Sse>, kind: &str, within: Duration) -> Option<Sse> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(e)) if e.event == kind => return Some(e),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

async fn registered(server: &Server, owner: i64, gift: &str) -> String {
    let (s, nft) = server
        .post(
            "/api/admin/nfts",
            As::Staff,
            json!({"owner_id": owner, "gift_id": gift, "title": "Pepe", "collection": "pepe"}),
        )
        .await;
    assert!(s.is_success(), "{nft}");
    nft["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn events_committed_on_one_instance_reach_clients_of_another() {
    let db = common::fresh_database().await;
    let envs = |extra: &[(&'static str, &str)]| {
        let mut v: Vec<(&str, String)> = vec![
            ("DATABASE_URL", db.url.clone()),
            ("RATE_LIMIT_PER_SECOND", "0".into()),
            ("SSE_MAX_PER_USER", "2".into()),
        ];
        v.extend(extra.iter().map(|(k, x)| (*k, x.to_string())));
        v
    };
    let a = Server::start(&envs(&[])).await;
    let b = Server::start(&envs(&[])).await;
    for (u, amount) in [(SELLER, "50"), (BUYER, "50"), (BIDDER, "50")] {
        let (s, _) = a
            .post(
                "/api/admin/deposits",
                As::Staff,
                json!({"user_id": u, "amount": amount, "tx_hash": format!("sse-{u}")}),
            )
            .await;
        assert!(s.is_success());
    }
    let nft = registered(&a, SELLER, "sse-1").await;

    // Clients of B: the buyer (whole market), the seller (one NFT), the bidder (another NFT).
    let (status, mut market) = stream(&b.base, BUYER, "", None).await;
    assert_eq!(status, 200);
    let (_, mut seller) = stream(&b.base, SELLER, &format!("?nft_id={nft}"), None).await;
    let (_, mut bidder) = stream(&b.base, BIDDER, &format!("?nft_id={}", uuid::Uuid::nil()), None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Committed through A, seen on B within a second.
    let started = std::time::Instant::now();
    let (s, _) = a.post("/api/nft/set-price", As::User(SELLER), json!({"nft_id": nft, "price": "4"})).await;
    assert!(s.is_success());
    let listed = next_of(&mut market, "listed", Duration::from_secs(1)).await.expect("listed within a second");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!((listed.data["nft_id"].as_str(), listed.data["price"].as_str()), (Some(nft.as_str()), Some("4")));
    assert_eq!(listed.id, listed.data["id"].as_str().unwrap(), "every event has its id");
    assert!(next_of(&mut seller, "listed", Duration::from_secs(1)).await.is_some(), "the NFT's stream");
    assert!(next_of(&mut bidder, "listed", Duration::from_millis(600)).await.is_none(), "another NFT's stream");

    // Private: an offer reaches its NFT's owner only; a balance change reaches its user only.
    let (s, _) = a.post("/api/offers/new", As::User(BUYER), json!({"nft_id": nft, "price": "1"})).await;
    assert!(s.is_success());
    let received = next_of(&mut seller, "offer_received", Duration::from_secs(1)).await.expect("the owner is told");
    assert_eq!(received.data["nft_id"].as_str(), Some(nft.as_str()));
    assert!(next_of(&mut market, "balance", Duration::from_secs(1)).await.is_some(), "the offerer's funds were held");
    assert!(next_of(&mut market, "offer_received", Duration::from_millis(600)).await.is_none(), "not to the offerer");
    assert!(next_of(&mut bidder, "offer_received", Duration::from_millis(300)).await.is_none());
    assert!(next_of(&mut bidder, "balance", Duration::from_millis(300)).await.is_none(), "nobody else's balance");

    // Reconnecting with Last-Event-ID replays what was missed, and only that.
    drop(market);
    let (s, _) = a.post("/api/nft/set-price", As::User(SELLER), json!({"nft_id": nft, "price": "5"})).await;
    assert!(s.is_success());
    let (s, _) = a.post("/api/nft/buy", As::User(BUYER), json!({"nft_id": nft})).await;
    assert!(s.is_success());
    let (_, mut again) = stream(&b.base, BUYER, "", Some(&listed.id)).await;
    let mut replayed = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(800), again.recv()).await {
        replayed.push(e.event.clone());
    }
    for kind in ["offer_made", "price_changed", "sold", "balance"] {
        assert!(replayed.iter().any(|k| k == kind), "{kind} replayed: {replayed:?}");
    }
    assert!(!replayed.iter().any(|k| k == "listed"), "nothing before Last-Event-ID: {replayed:?}");
    assert!(!replayed.iter().any(|k| k == "offer_received"), "someone else's private event: {replayed:?}");

    // At most two streams per user here: the third is refused.
    let (_, _keep) = stream(&b.base, BIDDER, "", None).await;
    let (third, _) = stream(&b.base, BIDDER, "", None).await;
    assert_eq!(third, 503);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_and_others_are_served() {
    use app::live::{Hub, LiveEvent, LiveSettings, StreamFilter, Wake};
    use domain::UserId;
    let reads: Arc<dyn app::ports::reads::ReadModel> = Arc::new(adapters_memory::MemoryStore::new());
    let settings = LiveSettings { buffer: 4, max_connections: 3, max_per_user: 2, ..Default::default() };
    let hub = Hub::new(reads, Arc::new(atomarket::system::SystemClock), Wake::new(), settings);
    let hub = Arc::new(hub.spawn_with(|reader| drop(tokio::spawn(reader))));
    let stalled = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
    let mut reading = hub.subscribe(UserId(2), StreamFilter::default()).unwrap();
    assert!(hub.subscribe(UserId(2), StreamFilter::default()).is_ok_and(|s| {
        drop(s);
        true
    }));
    let _third = hub.subscribe(UserId(3), StreamFilter::default()).unwrap();
    assert!(hub.subscribe(UserId(4), StreamFilter::default()).is_err(), "three streams at most");
    let event = |i: u128| LiveEvent::Market(listed(uuid::Uuid::from_u128(i)));
    for i in 0..20 {
        hub.fan_out(&event(i));
        // The reading client keeps up; the stalled one never reads.
        assert_eq!(reading.recv().await.unwrap().id(), uuid::Uuid::from_u128(i));
    }
    let mut stalled = stalled;
    let mut got = 0;
    while stalled.recv().await.is_some() {
        got += 1;
    }
    assert_eq!(got, 4, "the stalled client got its buffer, then its stream ended");
    drop(stalled);
    assert!(hub.subscribe(UserId(5), StreamFilter::default()).is_ok(), "its place is free again");
}

/// Commits `events` to `store` in one Unit of Work.
async fn commit_events(store: &adapters_memory::MemoryStore, events: &[domain::MarketEvent]) {
    use app::nfts::buy::BuyNftUow;
    use app::uow::Begin;
    let mut uow = Begin::<dyn BuyNftUow>::begin(store, "test").await.unwrap();
    uow.events().append(events).await.unwrap();
    uow.commit().await.unwrap();
}

fn listed(id: uuid::Uuid) -> domain::MarketEvent {
    domain::MarketEvent {
        id: domain::MarketEventId(id),
        kind: domain::EventKind::Listed,
        collection: Some("c".into()),
        nft_id: None,
        auction_id: None,
        price: None,
        recipient: None,
        created_at: chrono::Utc::now(),
    }
}

/// A burst bigger than the hub's read page reaches a stream whole, in order; an event whose Unit
/// of Work committed after a later one's (an older id) still arrives, by the next sweep.
#[tokio::test]
async fn bursts_and_late_commits_reach_the_stream() {
    use app::live::{Hub, LiveSettings, StreamFilter, Wake};
    use domain::UserId;
    let store = adapters_memory::MemoryStore::new();
    let reads: Arc<dyn app::ports::reads::ReadModel> = Arc::new(store.clone());
    let wake = Wake::new();
    let settings = LiveSettings { buffer: 20_000, ..Default::default() };
    let hub = Hub::new(reads, Arc::new(atomarket::system::SystemClock), wake.clone(), settings);
    let hub = Arc::new(hub.spawn_with(|reader| drop(tokio::spawn(reader))));
    let mut stream = hub.subscribe(UserId(1), StreamFilter::default()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let burst: Vec<domain::MarketEvent> = (0..5_000).map(|_| listed(uuid::Uuid::now_v7())).collect();
    commit_events(&store, &burst).await;
    wake.wake();
    let mut got = Vec::new();
    while got.len() < burst.len() {
        match tokio::time::timeout(Duration::from_secs(3), stream.recv()).await {
            Ok(Some(e)) => got.push(e.id()),
            _ => break,
        }
    }
    assert_eq!(got, burst.iter().map(|e| e.id.0).collect::<Vec<_>>(), "all 5,000, in order");

    // Made first, committed last: its id is below what the hub has read already.
    let early = listed(uuid::Uuid::now_v7());
    let late = listed(uuid::Uuid::now_v7());
    commit_events(&store, std::slice::from_ref(&late)).await;
    wake.wake();
    let first = tokio::time::timeout(Duration::from_secs(2), stream.recv()).await.unwrap().unwrap();
    assert_eq!(first.id(), late.id.0);
    commit_events(&store, std::slice::from_ref(&early)).await;
    wake.wake();
    let started = std::time::Instant::now();
    let second = tokio::time::timeout(Duration::from_secs(3), stream.recv()).await.expect("the sweep finds it");
    assert_eq!(second.unwrap().id(), early.id.0);
    assert!(started.elapsed() < Duration::from_millis(1_800), "within a sweep: {:?}", started.elapsed());
    assert!(tokio::time::timeout(Duration::from_millis(1_500), stream.recv()).await.is_err(), "nothing twice");
}

/// An idle stream gets a keep-alive comment every `SSE_KEEP_ALIVE_MS`; beyond
/// `SSE_MAX_CONNECTIONS` streams on an instance, whoever asks gets 503.
#[tokio::test]
async fn an_idle_stream_gets_keep_alive_comments_and_the_instance_bound_holds() {
    let server = Server::start(&[("SSE_KEEP_ALIVE_MS", "200".into()), ("SSE_MAX_CONNECTIONS", "1".into())]).await;
    let (status, mut events) = stream(&server.base, BUYER, "", None).await;
    assert_eq!(status, 200);
    let (other, _) = stream(&server.base, SELLER, "", None).await;
    assert_eq!(other, 503, "one stream per instance here, whoever asks");
    let mut comments = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(900);
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
        assert_eq!((e.event.as_str(), e.data.as_str()), (":", Some("keep-alive")), "nothing else happened");
        comments += 1;
    }
    assert!((2..=6).contains(&comments), "{comments} keep-alives in 0.9 s, one per 200 ms");
    server.stop().await;
}
