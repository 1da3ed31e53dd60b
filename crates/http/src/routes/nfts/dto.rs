//! Request and response bodies: NFTs: lists, detail, buy, listing, return.

use domain::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::dto::*;

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NftListParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `true`: only listed NFTs; `false`: only unlisted ones.
    pub listed: Option<bool>,
    /// `me` or a user id.
    pub owner: Option<String>,
    pub collection: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NftDto {
    pub id: Uuid,
    pub gift_id: String,
    pub title: String,
    pub collection: String,
    pub owner_id: i64,
    /// `null` when not listed.
    pub price: Option<String>,
    /// `available`, `on_auction`, `withdrawing` or `withdrawn`.
    pub status: String,
}

impl From<Nft> for NftDto {
    fn from(n: Nft) -> Self {
        Self {
            id: n.id.0,
            gift_id: n.gift_id,
            title: n.title,
            collection: n.collection,
            owner_id: n.owner_id.0,
            price: n.price.map(amount),
            status: n.status.as_str().into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyNftRequest {
    pub nft_id: Uuid,
    /// When given and different from the current price: 409 `price_changed`, nothing moves.
    #[schema(value_type = Option<String>, example = "12.5")]
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
    #[schema(value_type = Option<String>, example = "12.5")]
    pub price: Option<Option<Amount>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NftIdRequest {
    pub nft_id: Uuid,
}

crate::dto::page_dto!(NftPage of NftDto);
