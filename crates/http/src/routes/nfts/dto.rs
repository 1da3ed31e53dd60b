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
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c1[0-9a-f]{32}$")]
    pub cursor: Option<String>,
    /// `true`: only listed NFTs; `false`: only unlisted ones.
    pub listed: Option<bool>,
    /// `me` or a user id.
    #[param(pattern = "^(me|[1-9][0-9]{0,17})$")]
    pub owner: Option<String>,
    #[param(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F][^\\u0000-\\u001F\\u007F-\\u009F]*$"
    )]
    pub collection: Option<String>,
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
