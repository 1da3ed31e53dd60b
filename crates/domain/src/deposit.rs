//! Credited on-chain deposits.

use chrono::{DateTime, Utc};

use crate::ids::*;
use crate::money::Money;

/// An on-chain transfer credited to a user; `tx_hash` is unique.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    pub id: DepositId,
    pub user_id: UserId,
    pub amount: Money,
    pub tx_hash: String,
    pub created_at: DateTime<Utc>,
}

impl Deposit {
    /// Whether a replay with these values is the same deposit.
    pub fn same_as(&self, user_id: UserId, amount: Money) -> bool {
        self.user_id == user_id && self.amount == amount
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn a_replay_is_the_same_deposit_only_with_the_same_user_and_amount() {
        let d = Deposit {
            id: DepositId(uuid::Uuid::nil()),
            user_id: UserId(1),
            amount: m("5"),
            tx_hash: "h".into(),
            created_at: Utc::now(),
        };
        assert!(d.same_as(UserId(1), m("5")));
        assert!(d.same_as(UserId(1), m("5.000")));
        assert!(!d.same_as(UserId(2), m("5")));
        assert!(!d.same_as(UserId(1), m("6")));
        assert!(!d.same_as(UserId(2), m("6")));
    }
}
