//! The gift rail (SPEC §3 "What a gift is", §5b): attributes on every NFT, through staff
//! registration and the NFT JSON.

use crate::common;

use axum::http::StatusCode;
use common::{As, TestApp};
use serde_json::{json, Value};

const OWNER: i64 = 9101;

fn register(gift: &str, extra: Value) -> Value {
    let mut body = json!({"owner_id": OWNER, "gift_id": gift, "collection": "Plush Pepe"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

async fn staff_registration_keeps_the_attributes(app: TestApp) {
    let r = app
        .post(
            "/api/admin/nfts",
            As::Staff,
            register(
                "PlushPepe-1234",
                json!({"number": 1234,
                       "model": {"name": "Cozy Galaxy", "rarity_per_mille": 15},
                       "backdrop": {"name": "Midnight Blue", "rarity_per_mille": 0},
                       "symbol": {"name": "Star", "rarity_per_mille": 1000}}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["title"], "Plush Pepe #1234", "the title defaults to collection and number");
    assert_eq!(r.body["number"], 1234);
    assert_eq!(r.body["model"], json!({"name": "Cozy Galaxy", "rarity_per_mille": 15}));
    assert_eq!(r.body["backdrop"], json!({"name": "Midnight Blue", "rarity_per_mille": 0}));
    assert_eq!(r.body["symbol"], json!({"name": "Star", "rarity_per_mille": 1000}));
    assert_eq!(r.body["can_transfer_at"], Value::Null);
    let id = r.body["id"].as_str().unwrap().to_string();
    let read = app.get(&format!("/api/nfts/{id}"), As::User(OWNER)).await;
    assert_eq!(read.body, r.body, "read back as registered");

    // Without attributes: every key present, null; a title given is kept.
    let r = app.post("/api/admin/nfts", As::Staff, register("bare-1", json!({"title": "My gift"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["title"], "My gift");
    for key in ["number", "model", "backdrop", "symbol", "can_transfer_at"] {
        assert_eq!(r.body.get(key), Some(&Value::Null), "{key} is present and null");
    }
    let r = app.post("/api/admin/nfts", As::Staff, register("bare-2", json!({}))).await;
    assert_eq!(r.body["title"], "Plush Pepe", "no number: the collection");

    // Bad attributes: 422 naming the field, nothing registered.
    for (extra, field) in [
        (json!({"model": {"name": "M", "rarity_per_mille": 1001}}), "model.rarity_per_mille"),
        (json!({"backdrop": {"name": "B", "rarity_per_mille": -1}}), "backdrop.rarity_per_mille"),
        (json!({"symbol": {"name": " ", "rarity_per_mille": 5}}), "symbol.name"),
        (json!({"number": 0}), "number"),
    ] {
        let r = app.post("/api/admin/nfts", As::Staff, register("refused", extra.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{extra}: {:?}", r.body);
    }
    let r = app.post("/api/admin/nfts", As::Staff, register("refused", json!({"model": {"name": "M"}}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a rarity is required with a name: {:?}", r.body);
    let r = app
        .post(
            "/api/admin/nfts",
            As::Staff,
            register("refused", json!({"model": {"name": "M", "rarity_per_mille": 1, "x": 1}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused: {:?}", r.body);
    let page = app.get(&format!("/api/nfts?owner={OWNER}"), As::User(OWNER)).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 3, "nothing refused was registered");
}

#[tokio::test]
async fn staff_registration_keeps_the_attributes_on_memory() {
    staff_registration_keeps_the_attributes(TestApp::memory().await).await;
}

#[tokio::test]
async fn staff_registration_keeps_the_attributes_on_postgres() {
    staff_registration_keeps_the_attributes(TestApp::postgres().await).await;
}
