//! Request and response bodies: NFTs: lists, detail, buy, listing, return.

use chrono::{DateTime, Utc};
use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NftListParams {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (of the same sort).
    #[param(pattern = "^n[tpnr][0-9a-z.-]{1,80}$", max_length = 120)]
    pub cursor: Option<String>,
    /// `true`: only listed NFTs; `false`: only unlisted ones.
    pub listed: Option<bool>,
    /// `me` or a user id.
    #[param(pattern = "^(me|[1-9][0-9]{0,17})$")]
    pub owner: Option<String>,
    /// Any of these collections (the key may repeat).
    #[serde(default)]
    #[param(style = Form, explode, max_items = 50, inline, value_type = Vec<String>)]
    pub collection: Vec<String>,
    /// Any of these models (the key may repeat); NFTs without attributes never match.
    #[serde(default)]
    #[param(style = Form, explode, max_items = 50, value_type = Vec<String>)]
    pub model: Vec<String>,
    /// Any of these backdrops.
    #[serde(default)]
    #[param(style = Form, explode, max_items = 50, value_type = Vec<String>)]
    pub backdrop: Vec<String>,
    /// Any of these symbols.
    #[serde(default)]
    #[param(style = Form, explode, max_items = 50, value_type = Vec<String>)]
    pub symbol: Vec<String>,
    /// Its number in the collection.
    #[param(minimum = 1, maximum = 4294967295u64)]
    pub number: Option<u64>,
    /// Listed at this price or more (unlisted NFTs left out).
    #[param(pattern = r"^[0-9]{1,10}(\.[0-9]{1,9})?$")]
    pub min_price: Option<String>,
    /// Listed at this price or less (unlisted NFTs left out).
    #[param(pattern = r"^[0-9]{1,10}(\.[0-9]{1,9})?$")]
    pub max_price: Option<String>,
    /// `newest` (default: by the later of registration and last listing), `price_asc`,
    /// `price_desc` (listed NFTs only), `number_asc`, `rarity` (rarest model, backdrop, symbol).
    #[param(pattern = "^(newest|price_asc|price_desc|number_asc|rarity)$")]
    pub sort: Option<String>,
}

/// One of a gift's priced attributes: how many gifts of the collection per thousand carry it
/// (lower is rarer).
#[derive(Serialize, ToSchema)]
pub struct AttributeDto {
    pub name: String,
    #[schema(minimum = 0, maximum = 1000)]
    pub rarity_per_mille: u16,
}

impl From<Attribute> for AttributeDto {
    fn from(a: Attribute) -> Self {
        Self { name: a.name, rarity_per_mille: a.rarity_per_mille }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NftDto {
    pub id: Uuid,
    /// For a gift from Telegram, its unique slug (`t.me/nft/<gift_id>`).
    pub gift_id: String,
    pub title: String,
    pub collection: String,
    /// Its number in the collection; `null` when registered without.
    #[schema(minimum = 1)]
    pub number: Option<u32>,
    /// `null` when registered without attributes (as `backdrop` and `symbol`).
    pub model: Option<AttributeDto>,
    pub backdrop: Option<AttributeDto>,
    pub symbol: Option<AttributeDto>,
    pub owner_id: i64,
    /// `null` when not listed.
    pub price: Option<String>,
    /// `available`, `on_auction`, `withdrawing`, `withdrawn` or `in_trade`.
    pub status: String,
    /// When Telegram lets the gift leave custody; `null`: now.
    pub can_transfer_at: Option<DateTime<Utc>>,
}

impl From<Nft> for NftDto {
    fn from(n: Nft) -> Self {
        Self {
            id: n.id.0,
            gift_id: n.gift_id,
            title: n.title,
            collection: n.collection,
            number: n.traits.number,
            model: n.traits.model.map(Into::into),
            backdrop: n.traits.backdrop.map(Into::into),
            symbol: n.traits.symbol.map(Into::into),
            owner_id: n.owner_id.0,
            price: n.price.map(amount),
            status: n.status.as_str().into(),
            can_transfer_at: n.can_transfer_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyNftRequest {
    pub nft_id: Uuid,
    /// When given and different from the current price: 409 `price_changed`, nothing moves.
    pub expected_price: Option<Amount>,
}

#[derive(Serialize, ToSchema)]
pub struct BuyNftResponse {
    pub nft: NftDto,
    pub price: String,
    pub fee: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetNftPriceRequest {
    pub nft_id: Uuid,
    /// A price lists the NFT; `null` unlists it. Required.
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::dto::nullable_amount, required = true)]
    pub price: Option<Option<Amount>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NftIdRequest {
    pub nft_id: Uuid,
}

crate::dto::page_dto!(NftPage of NftDto);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SellNftRequest {
    pub nft_id: Uuid,
    /// The least the seller takes; no open bid at or above it: 409 `no_offer`.
    pub min_price: Amount,
}

#[derive(Serialize, ToSchema)]
pub struct SellNftResponse {
    pub nft: NftDto,
    pub price: String,
    pub fee: String,
    /// The single offer or collection offer that bought it.
    pub offer_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepItem {
    pub nft_id: Uuid,
    /// What the buyer expects to pay: a different price fails the item with `price_changed`.
    pub price: Amount,
}

/// Either `items` (1–50), or `collection` (+ `model`, `backdrop`, `symbol`) with `max_items` and
/// `max_price_per_item`: the cheapest matching listings, cheapest first.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    #[schema(min_items = 1, max_items = 50)]
    pub items: Option<Vec<SweepItem>>,
    pub collection: Option<String>,
    pub model: Option<String>,
    pub backdrop: Option<String>,
    pub symbol: Option<String>,
    #[schema(minimum = 1, maximum = 50)]
    pub max_items: Option<u32>,
    pub max_price_per_item: Option<Amount>,
    /// Any item failing: 409 `sweep_failed` and nothing bought. Default `false`.
    pub all_or_nothing: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct SweepPurchase {
    pub nft_id: Uuid,
    pub price: String,
    pub fee: String,
}

#[derive(Serialize, ToSchema)]
pub struct SweepFailure {
    pub nft_id: Uuid,
    /// The code `buy` would have given: `not_for_sale`, `price_changed`, `own_item`,
    /// `nft_unavailable`, `not_found`, `insufficient_funds`, or `duplicate` (a repeated item).
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct SweepResponse {
    pub purchased: Vec<SweepPurchase>,
    pub failed: Vec<SweepFailure>,
    /// The sum of the prices paid.
    pub spent: String,
}
