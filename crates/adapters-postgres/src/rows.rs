//! What every row mapper shares: decoding errors and amounts.

use domain::*;
use rust_decimal::Decimal;

pub(crate) fn bad(what: &str, e: impl std::fmt::Display) -> RepoError {
    RepoError::Other(format!("bad {what} in database: {e}"))
}

pub(crate) fn money(d: Decimal) -> Result<Money, RepoError> {
    Money::from_decimal(d).map_err(|e| bad("amount", e))
}

/// An optional amount as the database stores it.
pub(crate) fn opt(m: Option<Money>) -> Option<Decimal> {
    m.map(|m| m.as_decimal())
}

/// An attribute stored as a name column and a rarity column (both set, or both NULL).
pub(crate) fn attribute(name: Option<String>, rarity: Option<i16>) -> Option<domain::Attribute> {
    name.zip(rarity).map(|(name, rarity)| domain::Attribute { name, rarity_per_mille: rarity as u16 })
}

/// Binds a gift's number and its three attributes as seven columns: number, model,
/// model_rarity, backdrop, backdrop_rarity, symbol, symbol_rarity.
pub(crate) trait BindTraits<'q> {
    fn bind_traits(self, traits: &'q domain::GiftTraits) -> Self;
}

impl<'q> BindTraits<'q> for sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    fn bind_traits(self, t: &'q domain::GiftTraits) -> Self {
        let name = |a: &'q Option<domain::Attribute>| a.as_ref().map(|a| a.name.as_str());
        let rarity = |a: &Option<domain::Attribute>| a.as_ref().map(|a| a.rarity_per_mille as i16);
        self.bind(t.number.map(i64::from))
            .bind(name(&t.model))
            .bind(rarity(&t.model))
            .bind(name(&t.backdrop))
            .bind(rarity(&t.backdrop))
            .bind(name(&t.symbol))
            .bind(rarity(&t.symbol))
    }
}
