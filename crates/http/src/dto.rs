//! Request and response bodies, and their conversions to and from the domain.

use app::queries::{ClientView, Page};
use chrono::{DateTime, Utc};
use domain::*;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// An amount in a request: a JSON string (`"12.5"`) or number (`12.5`), parsed exactly;
/// `0 < amount ≤ 1 000 000 000`, at most 9 decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount(pub Money);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(D::Error::custom("must be a decimal amount, as a string or a number")),
        };
        Money::parse_amount(&text).map(Amount).map_err(D::Error::custom)
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn amount(m: Money) -> String {
    m.to_string()
}

fn signed(d: Decimal) -> String {
    d.normalize().to_string()
}

// ----- requests -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyNftRequest {
    pub nft_id: Uuid,
    /// When given and different from the current price: 409 `price_changed`, nothing moves.
    #[schema(value_type = Option<String>, example = "12.5")]
    pub expected_price: Option<Amount>,
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
pub struct DepositRequest {
    pub user_id: i64,
    #[schema(value_type = String, example = "100")]
    pub amount: Amount,
    pub tx_hash: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterNftRequest {
    pub owner_id: i64,
    pub gift_id: String,
    pub title: String,
    pub collection: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateManagerRequest {
    pub name: String,
    pub telegram_username: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePartnerRequest {
    pub manager_id: Uuid,
    /// Lower comes first; default 0.
    pub priority: Option<i32>,
    pub client: NewClient,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub fio: String,
    pub age: i64,
    #[serde(default)]
    pub description: String,
    /// E.164, e.g. `+79991234567`.
    pub mobile: String,
    pub email: String,
}

/// `limit` (1–100, default 20) and the opaque `cursor` of the previous page.
#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

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

// ----- responses -----

#[derive(Serialize, ToSchema)]
pub struct MeResponse {
    pub id: i64,
    pub username: Option<String>,
    #[schema(example = "12.5")]
    pub available: String,
    pub held: String,
}

impl From<User> for MeResponse {
    fn from(u: User) -> Self {
        Self { id: u.id.0, username: u.username, available: amount(u.available), held: amount(u.held) }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntryDto {
    pub id: Uuid,
    /// The business operation: `deposit`, `buy`, `offer_refund`…
    pub operation: String,
    /// Signed: positive credits the account.
    pub amount: String,
    /// `available` or `held`.
    pub account: String,
    pub created_at: DateTime<Utc>,
    /// What the movement is about (NFT id, tx hash…).
    pub reference: String,
}

impl From<LedgerEntry> for LedgerEntryDto {
    fn from(e: LedgerEntry) -> Self {
        Self {
            id: e.id.0,
            operation: e.operation.as_str().into(),
            amount: signed(e.amount),
            account: e.account.as_str().into(),
            created_at: e.created_at,
            reference: e.reference,
        }
    }
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

#[derive(Serialize, ToSchema)]
pub struct BuyNftResponse {
    pub nft: NftDto,
    pub price: String,
    pub fee: String,
}

#[derive(Serialize, ToSchema)]
pub struct DepositDto {
    pub id: Uuid,
    pub user_id: i64,
    pub amount: String,
    pub tx_hash: String,
    pub created_at: DateTime<Utc>,
}

impl From<Deposit> for DepositDto {
    fn from(d: Deposit) -> Self {
        Self {
            id: d.id.0,
            user_id: d.user_id.0,
            amount: amount(d.amount),
            tx_hash: d.tx_hash,
            created_at: d.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ManagerDto {
    pub id: Uuid,
    pub name: String,
    pub telegram_username: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<Manager> for ManagerDto {
    fn from(m: Manager) -> Self {
        Self {
            id: m.id.0,
            name: m.name,
            telegram_username: m.telegram_username,
            active: m.active,
            created_at: m.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClientDto {
    pub id: Uuid,
    pub fio: String,
    pub age: u8,
    pub description: String,
    pub mobile: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

impl From<Client> for ClientDto {
    fn from(c: Client) -> Self {
        Self {
            id: c.id.0,
            fio: c.fio,
            age: c.age,
            description: c.description,
            mobile: c.mobile.as_str().into(),
            email: c.email.as_str().into(),
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ManagerBindDto {
    pub client_id: Uuid,
    pub manager_id: Uuid,
    pub priority: i32,
    pub created_at: DateTime<Utc>,
}

impl From<ManagerBind> for ManagerBindDto {
    fn from(b: ManagerBind) -> Self {
        Self { client_id: b.client_id.0, manager_id: b.manager_id.0, priority: b.priority, created_at: b.created_at }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PartnerResponse {
    pub client: ClientDto,
    pub manager_bind: ManagerBindDto,
}

#[derive(Serialize, ToSchema)]
pub struct BoundManager {
    pub manager: ManagerDto,
    pub priority: i32,
}

#[derive(Serialize, ToSchema)]
pub struct ClientWithManagers {
    pub client: ClientDto,
    /// By priority, lowest first.
    pub managers: Vec<BoundManager>,
}

impl From<ClientView> for ClientWithManagers {
    fn from(v: ClientView) -> Self {
        Self {
            client: v.client.into(),
            managers: v
                .managers
                .into_iter()
                .map(|(b, m)| BoundManager { manager: m.into(), priority: b.priority })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BoundClient {
    pub client: ClientDto,
    pub priority: i32,
}

#[derive(Serialize, ToSchema)]
pub struct ManagerClients {
    pub manager_id: Uuid,
    /// By priority, lowest first.
    pub items: Vec<BoundClient>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditViolation {
    pub invariant: String,
    pub detail: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditReport {
    pub ok: bool,
    pub violations: Vec<AuditViolation>,
}

macro_rules! page_dto {
    ($($name:ident of $item:ty),*) => {$(
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }

        impl<T: Into<$item>> From<Page<T>> for $name {
            fn from(p: Page<T>) -> Self {
                Self { items: p.items.into_iter().map(Into::into).collect(), next_cursor: p.next_cursor }
            }
        }
    )*};
}

page_dto!(NftPage of NftDto, LedgerPage of LedgerEntryDto);

// ----- marketplace -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NftIdRequest {
    pub nft_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOfferRequest {
    pub nft_id: Uuid,
    #[schema(value_type = String, example = "5")]
    pub price: Amount,
    /// 60 s – 30 days; default 7 days.
    pub expires_in_seconds: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferIdRequest {
    pub offer_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOfferPriceRequest {
    pub offer_id: Uuid,
    #[schema(value_type = String, example = "6")]
    pub price: Amount,
}

#[derive(Serialize, ToSchema)]
pub struct OfferDto {
    pub id: Uuid,
    pub nft_id: Uuid,
    /// Shown to the offerer and to the NFT's owner only.
    pub offerer_id: Option<i64>,
    pub price: String,
    /// `open`, `accepted`, `refused`, `cancelled` or `expired` (an open offer past `expires_at` is expired).
    pub status: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl OfferDto {
    /// `viewer_may_see_offerer`: the viewer is the offerer or owns the NFT.
    pub fn new(o: Offer, viewer_may_see_offerer: bool, now: DateTime<Utc>) -> Self {
        let status = if o.status == OfferStatus::Open && now >= o.expires_at { OfferStatus::Expired } else { o.status };
        Self {
            id: o.id.0,
            nft_id: o.nft_id.0,
            offerer_id: viewer_may_see_offerer.then_some(o.offerer_id.0),
            price: amount(o.price),
            status: status.as_str().into(),
            expires_at: o.expires_at,
            created_at: o.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuctionRequest {
    pub nft_id: Uuid,
    #[schema(value_type = String, example = "10")]
    pub start_price: Amount,
    /// 1–100, default 5.
    pub step_percent: Option<i64>,
    #[schema(value_type = Option<String>, example = "100")]
    pub buy_now_price: Option<Amount>,
    /// 60 s – 14 days.
    pub duration_seconds: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidRequest {
    pub auction_id: Uuid,
    #[schema(value_type = String, example = "10.5")]
    pub amount: Amount,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuctionIdRequest {
    pub auction_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct AuctionDto {
    pub id: Uuid,
    pub nft_id: Uuid,
    pub seller_id: i64,
    pub start_price: String,
    pub step_percent: u32,
    pub buy_now_price: Option<String>,
    pub ends_at: DateTime<Utc>,
    pub current_bid: Option<String>,
    pub leader_id: Option<i64>,
    pub bid_count: u32,
    /// The smallest bid accepted now.
    pub min_next_bid: String,
    /// `active`, `settled` or `cancelled`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<Auction> for AuctionDto {
    fn from(a: Auction) -> Self {
        Self {
            id: a.id.0,
            nft_id: a.nft_id.0,
            seller_id: a.seller_id.0,
            start_price: amount(a.start_price),
            step_percent: a.step_percent,
            buy_now_price: a.buy_now_price.map(amount),
            ends_at: a.ends_at,
            current_bid: a.current_bid.map(amount),
            leader_id: a.leader_id.map(|u| u.0),
            bid_count: a.bid_count,
            min_next_bid: amount(a.min_next_bid()),
            status: a.status.as_str().into(),
            created_at: a.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BidDto {
    pub id: Uuid,
    pub bidder_id: i64,
    pub amount: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AuctionDetail {
    #[serde(flatten)]
    pub auction: AuctionDto,
    /// Highest first.
    pub bids: Vec<BidDto>,
}

impl From<(Auction, Vec<Bid>)> for AuctionDetail {
    fn from((a, bids): (Auction, Vec<Bid>)) -> Self {
        Self {
            auction: a.into(),
            bids: bids
                .into_iter()
                .map(|b| BidDto {
                    id: b.id.0,
                    bidder_id: b.bidder_id.0,
                    amount: amount(b.amount),
                    created_at: b.created_at,
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPresaleRequest {
    pub title: String,
    pub collection: String,
    #[schema(value_type = String, example = "25")]
    pub price: Amount,
    /// RFC 3339; 1 hour – 60 days ahead.
    pub deliver_by: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresaleIdRequest {
    pub presale_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyPresaleRequest {
    pub presale_id: Uuid,
    #[schema(value_type = Option<String>)]
    pub expected_price: Option<Amount>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPresalePriceRequest {
    pub presale_id: Uuid,
    #[schema(value_type = String)]
    pub price: Amount,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverPresaleRequest {
    pub gift_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct PresaleDto {
    pub id: Uuid,
    pub seller_id: i64,
    pub title: String,
    pub collection: String,
    pub price: String,
    /// Held from the seller until delivery.
    pub collateral: String,
    pub deliver_by: DateTime<Utc>,
    /// `open`, `sold`, `delivered`, `expired` or `deleted`.
    pub status: String,
    /// Shown to the seller and the buyer only.
    pub buyer_id: Option<i64>,
    pub nft_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl PresaleDto {
    pub fn new(p: Presale, viewer: Option<UserId>) -> Self {
        let party = viewer.is_none_or(|v| v == p.seller_id || Some(v) == p.buyer_id);
        Self {
            id: p.id.0,
            seller_id: p.seller_id.0,
            title: p.title,
            collection: p.collection,
            price: amount(p.price),
            collateral: amount(p.collateral),
            deliver_by: p.deliver_by,
            status: p.status.as_str().into(),
            buyer_id: p.buyer_id.filter(|_| party).map(|u| u.0),
            nft_id: p.nft_id.map(|n| n.0),
            created_at: p.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeliveredPresale {
    pub presale: PresaleDto,
    pub nft: NftDto,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    #[schema(value_type = String, example = "5")]
    pub amount: Amount,
    /// Raw (`0:<64 hex>`) or user-friendly (48 characters, base64/base64url, with checksum).
    pub address: String,
}

#[derive(Serialize, ToSchema)]
pub struct WithdrawalDto {
    pub id: Uuid,
    pub amount: String,
    pub address: String,
    /// `pending`, `sent`, `failed` or `stuck`.
    pub status: String,
    pub tx_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Withdrawal> for WithdrawalDto {
    fn from(w: Withdrawal) -> Self {
        Self {
            id: w.id.0,
            amount: amount(w.amount),
            address: w.address,
            status: w.status.as_str().into(),
            tx_hash: w.tx_hash,
            created_at: w.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OfferListParams {
    pub nft_id: Uuid,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuctionListParams {
    /// `active`, `settled` or `cancelled`.
    pub status: Option<String>,
    pub nft_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PresaleListParams {
    /// `open`, `sold`, `delivered`, `expired` or `deleted`.
    pub status: Option<String>,
    /// `me` or a user id.
    pub seller: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

page_dto!(OfferPage of OfferDto, AuctionPage of AuctionDto, PresalePage of PresaleDto, WithdrawalPage of WithdrawalDto);
