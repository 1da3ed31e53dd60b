//! Discovery over HTTP (SPEC §3): `GET /api/nfts` with repeated filters, each sort, cursors, and
//! bad values refused with the field named.

use crate::common;

use axum::http::StatusCode;
use common::{As, TestApp};
use serde_json::{json, Value};

const OWNER: i64 = 9301;
const VIEWER: i64 = 9302;

async fn register(
    app: &TestApp,
    gift: &str,
    number: u32,
    model: (&str, u16),
    backdrop: &str,
    price: Option<&str>,
) -> String {
    let r = app
        .post(
            "/api/admin/nfts",
            As::Staff,
            json!({"owner_id": OWNER, "gift_id": gift, "collection": "Plush Pepe", "number": number,
                   "model": {"name": model.0, "rarity_per_mille": model.1},
                   "backdrop": {"name": backdrop, "rarity_per_mille": 30},
                   "symbol": {"name": "Star", "rarity_per_mille": 4}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    if let Some(p) = price {
        let r = app.post("/api/nft/set-price", As::User(OWNER), json!({"nft_id": id, "price": p})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    id
}

fn gifts(r: &common::Reply) -> Vec<String> {
    r.body["items"].as_array().unwrap().iter().map(|n| n["gift_id"].as_str().unwrap().to_string()).collect()
}

async fn discovery_answers_over_http(app: TestApp) {
    register(&app, "pp-1", 1, ("Cozy", 15), "Blue", Some("3")).await;
    register(&app, "pp-2", 2, ("Frog", 40), "Red", Some("1.5")).await;
    register(&app, "pp-3", 3, ("Cozy", 15), "Red", None).await;
    register(&app, "pp-4", 4, ("Gold", 2), "Blue", Some("8")).await;

    let get = |q: &str| {
        let app = &app;
        let path = format!("/api/nfts?{q}");
        async move { app.get(&path, As::User(VIEWER)).await }
    };
    let r = get("model=Cozy&model=Gold&backdrop=Blue").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(gifts(&r), ["pp-4", "pp-1"], "any of the models, and the backdrop");
    assert_eq!(gifts(&get("sort=price_asc").await), ["pp-2", "pp-1", "pp-4"]);
    assert_eq!(gifts(&get("sort=price_desc&min_price=1.5&max_price=3").await), ["pp-1", "pp-2"]);
    assert_eq!(gifts(&get("sort=rarity").await), ["pp-4", "pp-1", "pp-3", "pp-2"]);
    assert_eq!(gifts(&get("sort=number_asc&listed=false").await), ["pp-3"]);
    assert_eq!(gifts(&get("number=2").await), ["pp-2"]);
    assert!(gifts(&get("model=Nobody").await).is_empty(), "an unknown value: an empty page");
    assert!(gifts(&get("collection=Nothing&sort=rarity").await).is_empty());

    // Paging by the cursor each page gives, in the sort it was given for.
    let mut seen = Vec::new();
    let mut q = "sort=number_asc&limit=1".to_string();
    loop {
        let r = get(&q).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        seen.extend(gifts(&r));
        match r.body["next_cursor"].as_str() {
            Some(c) => q = format!("sort=number_asc&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["pp-1", "pp-2", "pp-3", "pp-4"]);
    let first = get("sort=number_asc&limit=1").await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();

    for (q, field) in [
        ("sort=cheapest".to_string(), "sort"),
        ("min_price=abc".to_string(), "min_price"),
        ("max_price=0".to_string(), "max_price"),
        ("number=0".to_string(), "number"),
        ("limit=0".to_string(), "limit"),
        (format!("sort=rarity&cursor={cursor}"), "cursor"),
        ("cursor=c1".to_string(), "cursor"),
        ("color=red".to_string(), "query"),
    ] {
        let r = get(&q).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {:?}", r.body);
        let named: Vec<Value> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].clone()).collect();
        assert!(
            named.iter().any(|f| f.as_str().unwrap_or_default().starts_with(field) || field == "query"),
            "{q}: {:?}",
            r.body
        );
    }
}

async fn panels_and_portfolios_answer_over_http(app: TestApp) {
    register(&app, "pp-1", 1, ("Cozy", 15), "Blue", Some("3")).await;
    register(&app, "pp-2", 2, ("Frog", 40), "Red", Some("1.5")).await;
    register(&app, "pp-3", 3, ("Cozy", 15), "Red", None).await;

    let r = app.get("/api/collections/Plush%20Pepe/attributes", As::User(VIEWER)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body["model"],
        json!([{"name": "Cozy", "rarity_per_mille": 15, "count": 2, "listed": 1, "floor": "3"},
               {"name": "Frog", "rarity_per_mille": 40, "count": 1, "listed": 1, "floor": "1.5"}])
    );
    assert_eq!(
        r.body["backdrop"],
        json!([{"name": "Blue", "rarity_per_mille": 30, "count": 1, "listed": 1, "floor": "3"},
               {"name": "Red", "rarity_per_mille": 30, "count": 2, "listed": 1, "floor": "1.5"}])
    );
    assert_eq!(
        r.body["symbol"],
        json!([{"name": "Star", "rarity_per_mille": 4, "count": 3, "listed": 2, "floor": "1.5"}])
    );
    let r = app.get("/api/collections/Nothing/attributes", As::User(VIEWER)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // pp-1 and pp-3 (Cozy) at Cozy's floor 3; pp-2 (Frog) at 1.5.
    let r = app.get("/api/me/portfolio", As::User(OWNER)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"count": 3, "value": "7.5",
               "collections": [{"collection": "Plush Pepe", "count": 3, "floor": "1.5", "value": "7.5"}]})
    );
    let r = app.get("/api/me/portfolio", As::User(VIEWER)).await;
    assert_eq!(r.body, json!({"count": 0, "value": "0", "collections": []}));
    assert_eq!(app.get("/api/me/portfolio", As::Nobody).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn panels_and_portfolios_answer_over_http_on_memory() {
    panels_and_portfolios_answer_over_http(TestApp::memory().await).await;
}

#[tokio::test]
async fn panels_and_portfolios_answer_over_http_on_postgres() {
    panels_and_portfolios_answer_over_http(TestApp::postgres().await).await;
}

#[tokio::test]
async fn discovery_answers_over_http_on_memory() {
    discovery_answers_over_http(TestApp::memory().await).await;
}

#[tokio::test]
async fn discovery_answers_over_http_on_postgres() {
    discovery_answers_over_http(TestApp::postgres().await).await;
}
