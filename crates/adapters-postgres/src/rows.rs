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
