//! Presales: sell a gift before it can be delivered, backed by the seller's collateral.

pub mod buy;
pub mod delete;
pub mod deliver;
pub mod expire;
pub mod new;
pub mod set_price;

use domain::*;

use crate::effects::{Accounts, Effects};
use crate::Error;

/// Moves the seller's collateral from `before` to `after`: holds the difference or releases it.
fn adjust_collateral(
    accounts: &mut Accounts,
    fx: &mut Effects<'_>,
    presale: PresaleId,
    seller: UserId,
    before: Money,
    after: Money,
) -> Result<(), Error> {
    let user = accounts.payer(seller)?;
    if let Some(more) = after.checked_sub(before) {
        user.hold(more)?;
        fx.record(fx.posting(Operation::CollateralHold, presale).hold(seller, more));
    } else if let Some(less) = before.checked_sub(after) {
        user.release(less);
        fx.record(fx.posting(Operation::CollateralRelease, presale).release(seller, less));
    }
    Ok(())
}

#[cfg(test)]
mod fixtures {
    use super::*;
    use crate::testing::*;

    pub fn presale(buyer: Option<i64>) -> Presale {
        Presale {
            id: PresaleId(uuid::Uuid::from_u128(8)),
            seller_id: UserId(1),
            title: "Cake".into(),
            collection: "cakes".into(),
            price: m("20"),
            collateral: m("4"),
            deliver_by: now() + chrono::Duration::days(1),
            buyer_id: buyer.map(UserId),
            status: if buyer.is_some() { PresaleStatus::Sold } else { PresaleStatus::Open },
            nft_id: None,
            created_at: now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    /// Moves the collateral of seller 1 (10 available, 4 held) from `before` to `after`.
    async fn adjusted(
        before: &str,
        after: &str,
    ) -> (Result<(), Error>, User, Vec<(Option<i64>, Account, rust_decimal::Decimal)>) {
        let s = services();
        let mut fx = Effects::new(&s);
        let mut accounts = Accounts::locked(vec![user(1, "10", "4")]);
        let id = PresaleId(uuid::Uuid::from_u128(8));
        let r = adjust_collateral(&mut accounts, &mut fx, id, UserId(1), m(before), m(after));
        let (mut ledger, entries) = ledger_recording();
        fx.write_ledger(&mut ledger).await.unwrap();
        (r, accounts.payee(UserId(1)).unwrap().clone(), entries.lines())
    }

    #[tokio::test]
    async fn a_higher_collateral_holds_the_difference() {
        let (r, seller, lines) = adjusted("4", "6").await;
        r.unwrap();
        assert_eq!(seller, user(1, "8", "6"));
        assert_eq!(lines, [(Some(1), Account::Available, d("-2")), (Some(1), Account::Held, d("2"))]);
    }

    #[tokio::test]
    async fn a_lower_collateral_releases_the_difference() {
        let (r, seller, lines) = adjusted("4", "0").await;
        r.unwrap();
        assert_eq!(seller, user(1, "14", "0"));
        assert_eq!(lines, [(Some(1), Account::Held, d("-4")), (Some(1), Account::Available, d("4"))]);
    }

    #[tokio::test]
    async fn the_same_collateral_moves_nothing() {
        let (r, seller, lines) = adjusted("4", "4").await;
        r.unwrap();
        assert_eq!((seller, lines), (user(1, "10", "4"), vec![]));
    }

    #[tokio::test]
    async fn a_higher_collateral_beyond_the_funds_is_refused() {
        let (r, seller, lines) = adjusted("4", "15").await;
        assert_eq!(r, Err(RuleViolation::InsufficientFunds.into()));
        assert_eq!((seller, lines), (user(1, "10", "4"), vec![]));
    }
}
