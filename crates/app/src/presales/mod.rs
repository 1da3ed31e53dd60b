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
