//! Exact TON amounts: at most 9 fractional digits (1 nanoton), never floating point.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// Fractional digits of one nanoton.
pub const SCALE: u32 = 9;

/// The largest amount a request may carry: 1 000 000 000 TON.
pub fn max_request_amount() -> Decimal {
    Decimal::from(1_000_000_000u64)
}

/// A non-negative amount of TON with at most 9 decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("more than 9 decimal places")]
    TooPrecise,
    #[error("must not be negative")]
    Negative,
    #[error("must be greater than 0")]
    NotPositive,
    #[error("must not exceed 1000000000")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Wraps a decimal, rejecting negatives and more than 9 fractional digits.
    pub fn from_decimal(d: Decimal) -> Result<Self, MoneyError> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::Negative);
        }
        let n = d.normalize();
        if n.scale() > SCALE {
            return Err(MoneyError::TooPrecise);
        }
        Ok(Money(n))
    }

    /// Parses plain decimal notation only: digits with at most one point, digits on both sides of
    /// it (`12.5`, `0.000000001`, `-3` for a negative that is then refused). No exponent, sign
    /// other than a leading `-`, spaces, `NaN` or `inf` (SPEC §2). Exact: never through a float.
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        let digits = s.strip_prefix('-').unwrap_or(s);
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || !frac.is_none_or(all_digits) {
            return Err(MoneyError::NotANumber);
        }
        let d = Decimal::from_str_exact(s).map_err(|e| match e {
            rust_decimal::Error::Underflow => MoneyError::TooPrecise,
            _ => MoneyError::NotANumber,
        })?;
        Self::from_decimal(d)
    }

    /// Parses an amount given in a request: `0 < amount ≤ 1 000 000 000`, at most 9 decimals.
    pub fn parse_amount(s: &str) -> Result<Self, MoneyError> {
        let m = Self::parse(s)?;
        m.check_request_bounds()?;
        Ok(m)
    }

    /// Checks the bounds every amount in a request must satisfy.
    pub fn check_request_bounds(&self) -> Result<(), MoneyError> {
        if self.0.is_zero() {
            return Err(MoneyError::NotPositive);
        }
        if self.0 > max_request_amount() {
            return Err(MoneyError::TooLarge);
        }
        Ok(())
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(|d| Money(d.normalize()))
    }

    /// `None` when the result would be negative.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        if other.0 > self.0 {
            None
        } else {
            Some(Money((self.0 - other.0).normalize()))
        }
    }

    /// `n` times the amount (`None` on overflow): what a bid for `n` items at this price holds.
    pub fn times(self, n: u32) -> Option<Money> {
        self.0.checked_mul(Decimal::from(n)).map(|d| Money(d.normalize()))
    }

    /// Signed value, for ledger postings.
    pub fn negated(self) -> Decimal {
        -self.0
    }

    /// From nanotons (the chain's integer unit), exactly; `None` when negative or out of range.
    pub fn from_nanotons(nanotons: i128) -> Option<Money> {
        Money::from_decimal(Decimal::try_from_i128_with_scale(nanotons, SCALE).ok()?).ok()
    }

    /// In nanotons, exactly; `None` when it does not fit a `u64` (amounts have nine decimals at
    /// most, so nothing is ever rounded).
    pub fn to_nanotons(self) -> Option<u64> {
        let scaled = self.0 * Decimal::from(1_000_000_000u64);
        scaled.is_integer().then(|| u64::try_from(scaled.mantissa() / 10i128.pow(scaled.scale())).ok()).flatten()
    }
}

impl fmt::Display for Money {
    /// Plain decimal, no exponent, trailing zeros trimmed: `12.5`, `0.000000001`, `3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.normalize();
        write!(f, "{n}")
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// From the string [`Serialize`](serde::Serialize) writes (stored payloads), by [`Money::parse`].
impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Money::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_amount_round_trips_through_serde_as_its_string() {
        let m = Money::parse("1.25").unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"1.25\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(serde_json::from_str::<Money>("\"1e3\"").is_err());
    }

    #[test]
    fn formats_without_trailing_zeros_or_exponent() {
        assert_eq!(Money::parse("12.500").unwrap().to_string(), "12.5");
        assert_eq!(Money::parse("0.000000001").unwrap().to_string(), "0.000000001");
        assert_eq!(Money::parse("100").unwrap().to_string(), "100");
    }

    #[test]
    fn rejects_what_is_not_an_exact_amount() {
        assert_eq!(Money::parse("0.0000000001"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("abc"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse(""), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("1.2.3"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse(" 1 2"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("NaN"), Err(MoneyError::NotANumber));
        for not_plain in ["1e3", "1E3", "1.5e1", "+1", "1.", ".5", "0x10", "1_000", "١", "inf", " 1", "1 ", "--1"] {
            assert_eq!(Money::parse(not_plain), Err(MoneyError::NotANumber), "{not_plain}");
        }
        assert_eq!(Money::parse_amount("0"), Err(MoneyError::NotPositive));
        assert_eq!(Money::parse_amount("1000000000.000000001"), Err(MoneyError::TooLarge));
        assert!(Money::parse_amount("1000000000").is_ok());
    }

    #[test]
    fn amounts_convert_to_and_from_nanotons_exactly() {
        assert_eq!(Money::from_nanotons(1_500_000_001), Some(Money::parse("1.500000001").unwrap()));
        assert_eq!(Money::from_nanotons(-1), None);
        assert_eq!(Money::parse("2.000000003").unwrap().to_nanotons(), Some(2_000_000_003));
        assert_eq!(Money::parse("0.5").unwrap().to_nanotons(), Some(500_000_000));
        assert_eq!(Money::ZERO.to_nanotons(), Some(0));
        assert_eq!(Money::parse("18446744074").unwrap().to_nanotons(), None, "beyond u64");
    }

    #[test]
    fn more_decimals_than_a_decimal_can_hold_are_too_precise_not_garbage() {
        // 29 fractional digits: rust_decimal reports an underflow, which is still "too precise".
        assert_eq!(Money::parse("0.00000000000000000000000000001"), Err(MoneyError::TooPrecise));
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(Money::parse("-0"), Ok(Money::ZERO));
    }

    #[test]
    fn only_an_amount_of_nothing_is_zero() {
        assert!(Money::ZERO.is_zero());
        assert!(Money::parse("0.000").unwrap().is_zero());
        assert!(!Money::parse("0.000000001").unwrap().is_zero());
    }

    #[test]
    fn from_str_parses_like_parse() {
        assert_eq!("12.5".parse::<Money>(), Ok(Money::parse("12.5").unwrap()));
        assert_eq!("12.5".parse::<Money>().unwrap().to_string(), "12.5");
        assert_eq!("x".parse::<Money>(), Err(MoneyError::NotANumber));
    }

    proptest! {
        #[test]
        fn parse_and_format_round_trip(units in 0u64..1_000_000_000, nanos in 0u32..1_000_000_000) {
            let text = format!("{units}.{nanos:09}");
            let m = Money::parse(&text).unwrap();
            let back = Money::parse(&m.to_string()).unwrap();
            prop_assert_eq!(m, back);
            prop_assert_eq!(m.as_decimal(), Decimal::from_str_exact(&text).unwrap());
            prop_assert!(!m.to_string().contains('e'));
        }
    }
}
