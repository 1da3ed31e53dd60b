//! TON without a middleman (SPEC §5a), split by role:
//!
//! - [`indexer`]: a client of the indexer's HTTP API (TON Center API v3 or a compatible one) that
//!   reads the chain and broadcasts messages ([`ChainIndexer`](domain::ports::ChainIndexer) for
//!   the deposit watcher, [`WalletChain`](domain::ports::WalletChain) for payouts);
//! - [`wallet`]: the marketplace's own wallet (v4r2 or v5r1, built and signed with `tonlib-core`),
//!   its key and signatures ([`TransferSigner`](domain::ports::TransferSigner)).
//!
//! The exactly-once payout logic over those two belongs to the use cases: `WalletPayouts`, in the
//! `app` crate (`withdrawals::wallet_payouts`).

mod indexer;
mod wallet;

pub use indexer::TonCenter;
pub use wallet::MarketWallet;

use domain::Money;

/// Nanotons (the API's integer strings) to an amount, exactly.
pub fn nanotons_to_money(nanotons: &str) -> Option<Money> {
    Money::from_nanotons(nanotons.trim().parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_s_integer_strings_are_read_exactly() {
        assert_eq!(nanotons_to_money("1500000001"), Some(Money::parse("1.500000001").unwrap()));
        assert_eq!(nanotons_to_money(" 7 "), Some(Money::parse("0.000000007").unwrap()));
        assert_eq!(nanotons_to_money("x"), None);
        assert_eq!(nanotons_to_money("-1"), None);
    }
}
