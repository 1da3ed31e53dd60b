//! The marketplace fee taken on every sale.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::{Money, SCALE};

/// `fee = floor(price × bps / 10000)` to 9 decimals; the seller gets the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeRule {
    bps: u32,
}

impl FeeRule {
    /// `bps` is capped at 10000 (100 %).
    pub fn new(bps: u32) -> Self {
        Self { bps: bps.min(10_000) }
    }

    pub fn bps(&self) -> u32 {
        self.bps
    }

    /// Splits a price into `(fee, proceeds)`; `fee + proceeds == price` always.
    pub fn split(&self, price: Money) -> (Money, Money) {
        let raw = price.as_decimal() * Decimal::from(self.bps) / Decimal::from(10_000u32);
        let fee = raw.round_dp_with_strategy(SCALE, RoundingStrategy::ToZero);
        let fee = Money::from_decimal(fee).expect("fee of a valid price is a valid amount");
        let proceeds = price.checked_sub(fee).expect("fee never exceeds price");
        (fee, proceeds)
    }
}

impl Default for FeeRule {
    fn default() -> Self {
        Self::new(500)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn five_percent_of_ten_is_half_a_ton() {
        let (fee, proceeds) = FeeRule::new(500).split(Money::parse("10").unwrap());
        assert_eq!(fee.to_string(), "0.5");
        assert_eq!(proceeds.to_string(), "9.5");
    }

    #[test]
    fn fee_is_rounded_down_to_a_nanoton() {
        let (fee, _) = FeeRule::new(500).split(Money::parse("0.000000019").unwrap());
        assert_eq!(fee.to_string(), "0");
        let (fee, _) = FeeRule::new(500).split(Money::parse("0.00000003").unwrap());
        assert_eq!(fee.to_string(), "0.000000001");
    }

    #[test]
    fn the_rate_is_kept_up_to_one_hundred_percent() {
        assert_eq!(FeeRule::new(250).bps(), 250);
        assert_eq!(FeeRule::new(10_000).bps(), 10_000);
        assert_eq!(FeeRule::new(10_001).bps(), 10_000);
        assert_eq!(FeeRule::default().bps(), 500);
        assert_eq!(FeeRule::default(), FeeRule::new(500));
    }

    #[test]
    fn a_fee_scales_with_the_price_and_the_rate() {
        let (fee, proceeds) = FeeRule::new(250).split(Money::parse("123.4").unwrap());
        assert_eq!(fee.to_string(), "3.085");
        assert_eq!(proceeds.to_string(), "120.315");
        let (fee, proceeds) = FeeRule::new(10_000).split(Money::parse("7").unwrap());
        assert_eq!((fee.to_string(), proceeds.to_string()), ("7".to_string(), "0".to_string()));
        let (fee, proceeds) = FeeRule::new(0).split(Money::parse("7").unwrap());
        assert_eq!((fee.to_string(), proceeds.to_string()), ("0".to_string(), "7".to_string()));
    }

    proptest! {
        #[test]
        fn fee_plus_proceeds_is_price(units in 0u64..1_000_000_000, nanos in 0u32..1_000_000_000, bps in 0u32..=10_000) {
            let price = Money::parse(&format!("{units}.{nanos:09}")).unwrap();
            let (fee, proceeds) = FeeRule::new(bps).split(price);
            prop_assert_eq!(fee.checked_add(proceeds).unwrap(), price);
            prop_assert!(fee <= price);
        }
    }
}
