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
            _ => {
                return Err(D::Error::custom(
                    "must be a decimal amount, as a string or a number",
                ))
            }
        };
        Money::parse_amount(&text)
            .map(Amount)
            .map_err(D::Error::custom)
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
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
        Self {
            id: u.id.0,
            username: u.username,
            available: amount(u.available),
            held: amount(u.held),
        }
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
        Self {
            client_id: b.client_id.0,
            manager_id: b.manager_id.0,
            priority: b.priority,
            created_at: b.created_at,
        }
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
                .map(|(b, m)| BoundManager {
                    manager: m.into(),
                    priority: b.priority,
                })
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
