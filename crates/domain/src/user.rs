//! A Telegram user and their custodial balances.

use crate::error::RuleViolation;
use crate::ids::*;
use crate::money::Money;

/// A Telegram user with custodial balances. `held` backs open offers, leading bids and presales.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Option<String>,
    pub available: Money,
    pub held: Money,
}

impl User {
    pub fn new(id: UserId, username: Option<String>) -> Self {
        Self { id, username, available: Money::ZERO, held: Money::ZERO }
    }

    pub fn credit(&mut self, amount: Money) {
        self.available = self.available.checked_add(amount).expect("balance overflow");
    }

    /// Takes `amount` from available funds.
    pub fn debit(&mut self, amount: Money) -> Result<(), RuleViolation> {
        self.available = self.available.checked_sub(amount).ok_or(RuleViolation::InsufficientFunds)?;
        Ok(())
    }

    /// Moves `amount` from available to held.
    pub fn hold(&mut self, amount: Money) -> Result<(), RuleViolation> {
        self.debit(amount)?;
        self.held = self.held.checked_add(amount).expect("balance overflow");
        Ok(())
    }

    /// Moves `amount` from held back to available.
    pub fn release(&mut self, amount: Money) {
        self.take_held(amount);
        self.credit(amount);
    }

    /// Removes `amount` from held (it leaves this user).
    pub fn take_held(&mut self, amount: Money) {
        self.held = self.held.checked_sub(amount).expect("held below zero: hold bookkeeping is broken");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_move_between_available_and_held() {
        let mut u = User::new(UserId(1), None);
        u.credit(Money::parse("10").unwrap());
        u.hold(Money::parse("4").unwrap()).unwrap();
        assert_eq!((u.available.to_string(), u.held.to_string()), ("6".into(), "4".into()));
        assert_eq!(u.hold(Money::parse("7").unwrap()), Err(RuleViolation::InsufficientFunds));
        u.release(Money::parse("4").unwrap());
        assert_eq!((u.available.to_string(), u.held.to_string()), ("10".into(), "0".into()));
    }

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn a_new_user_has_empty_balances() {
        let u = User::new(UserId(7), Some("ann".into()));
        assert_eq!((u.id, u.username.as_deref()), (UserId(7), Some("ann")));
        assert_eq!((u.available, u.held), (Money::ZERO, Money::ZERO));
    }

    #[test]
    fn credits_add_up() {
        let mut u = User::new(UserId(1), None);
        u.credit(m("1.5"));
        u.credit(m("2"));
        assert_eq!(u.available, m("3.5"));
    }

    #[test]
    fn a_debit_takes_from_available_down_to_zero_but_not_below() {
        let mut u = User::new(UserId(1), None);
        u.credit(m("5"));
        assert_eq!(u.debit(m("2")), Ok(()));
        assert_eq!(u.available, m("3"));
        assert_eq!(u.debit(m("3.000000001")), Err(RuleViolation::InsufficientFunds));
        assert_eq!(u.available, m("3"), "a refused debit changes nothing");
        assert_eq!(u.debit(m("3")), Ok(()));
        assert_eq!(u.available, Money::ZERO);
    }

    #[test]
    fn a_refused_hold_changes_neither_balance() {
        let mut u = User::new(UserId(1), None);
        u.credit(m("1"));
        assert_eq!(u.hold(m("2")), Err(RuleViolation::InsufficientFunds));
        assert_eq!((u.available, u.held), (m("1"), Money::ZERO));
    }

    #[test]
    fn taking_held_funds_removes_them_from_the_user() {
        let mut u = User::new(UserId(1), None);
        u.credit(m("10"));
        u.hold(m("4")).unwrap();
        u.take_held(m("3"));
        assert_eq!((u.available, u.held), (m("6"), m("1")));
    }
}
