//! What the resources' request and response bodies share: exact amounts, pages, optional nulls.

use domain::*;
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

/// An amount in a request: a JSON string (`"12.5"`) or number (`12.5`), parsed exactly;
/// `0 < amount ≤ 1 000 000 000`, at most 9 decimals, plain decimal notation (no exponent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount(pub Money);

/// Plain decimal notation, at most 10 integer digits and 9 decimals.
pub const AMOUNT_PATTERN: &str = r"^[0-9]{1,10}(\.[0-9]{1,9})?$";

fn amount_schema() -> utoipa::openapi::schema::OneOfBuilder {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(AMOUNT_PATTERN)).examples(["12.5"]))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .exclusive_minimum(Some(0.0))
                .maximum(Some(1_000_000_000.0))
                .examples([12.5]),
        )
        .description(Some(
            "TON, `0 < amount ≤ 1000000000`, at most 9 decimals, as a string or a number in plain \
             decimal notation (no exponent)",
        ))
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        amount_schema().into()
    }
}

impl ToSchema for Amount {}

/// An amount that may be `null` (and must be given).
pub fn nullable_amount() -> utoipa::openapi::schema::Schema {
    let null = utoipa::openapi::schema::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::Null);
    utoipa::openapi::schema::Schema::OneOf(amount_schema().item(null).build())
}

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
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

pub fn amount(m: Money) -> String {
    m.to_string()
}

pub fn signed(d: Decimal) -> String {
    d.normalize().to_string()
}

/// `limit` (1–100, default 20) and the opaque `cursor` of the previous page.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^c1[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

/// A page DTO: `{items, next_cursor}` of `$item`, built from a `Page` of anything that converts.
macro_rules! page_dto {
    ($($name:ident of $item:ty),*) => {$(
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }

        impl<T: Into<$item>> From<app::ports::reads::Page<T>> for $name {
            fn from(p: app::ports::reads::Page<T>) -> Self {
                Self { items: p.items.into_iter().map(Into::into).collect(), next_cursor: p.next_cursor }
            }
        }
    )*};
}

pub(crate) use page_dto;
