//! Double-entry ledger: every movement of money is a set of entries summing to zero.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::ids::{LedgerEntryId, OperationId, UserId};
use crate::money::Money;

/// Which balance an entry moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// A user's available balance.
    Available,
    /// A user's held balance.
    Held,
    /// The marketplace's fee income (no user).
    Fees,
    /// Funds on their way out to TON addresses (per user).
    PendingPayouts,
    /// The outside world: deposits come from it, sent payouts go to it.
    External,
}

impl Account {
    pub fn as_str(&self) -> &'static str {
        match self {
            Account::Available => "available",
            Account::Held => "held",
            Account::Fees => "fees",
            Account::PendingPayouts => "pending_payouts",
            Account::External => "external",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "available" => Account::Available,
            "held" => Account::Held,
            "fees" => Account::Fees,
            "pending_payouts" => Account::PendingPayouts,
            "external" => Account::External,
            _ => return None,
        })
    }
}

/// The business operation that moved the money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Deposit,
    Buy,
    OfferHold,
    OfferRelease,
    OfferAccept,
    BidHold,
    BidRelease,
    AuctionSettle,
    CollateralHold,
    CollateralRelease,
    PresaleHold,
    PresaleDeliver,
    PresaleForfeit,
    Withdrawal,
    PayoutSent,
    PayoutFailed,
    TradeHold,
    TradeRelease,
    TradeSettle,
    ChannelEscrow,
    ChannelRelease,
    ChannelRefund,
    /// `GIFT_WITHDRAWAL_FEE`, charged when a gift is returned.
    GiftReturnFee,
    /// The fee back, when the return failed for good.
    GiftReturnRefund,
    /// A collection offer's price × quantity held, or more held when its price rises.
    CollectionOfferHold,
    /// What a collection offer no longer needs, back to available (cancel, expiry, a lower price).
    CollectionOfferRelease,
    /// A gift sold into a collection offer: from the offerer's held funds.
    CollectionOfferFill,
}

const OPERATIONS: [(Operation, &str); 27] = [
    (Operation::Deposit, "deposit"),
    (Operation::Buy, "buy"),
    (Operation::OfferHold, "offer_hold"),
    (Operation::OfferRelease, "offer_release"),
    (Operation::OfferAccept, "offer_accept"),
    (Operation::BidHold, "bid_hold"),
    (Operation::BidRelease, "bid_release"),
    (Operation::AuctionSettle, "auction_settle"),
    (Operation::CollateralHold, "collateral_hold"),
    (Operation::CollateralRelease, "collateral_release"),
    (Operation::PresaleHold, "presale_hold"),
    (Operation::PresaleDeliver, "presale_deliver"),
    (Operation::PresaleForfeit, "presale_forfeit"),
    (Operation::Withdrawal, "withdrawal"),
    (Operation::PayoutSent, "payout_sent"),
    (Operation::PayoutFailed, "payout_failed"),
    (Operation::TradeHold, "trade_hold"),
    (Operation::TradeRelease, "trade_release"),
    (Operation::TradeSettle, "trade_settle"),
    (Operation::ChannelEscrow, "channel_escrow"),
    (Operation::ChannelRelease, "channel_release"),
    (Operation::ChannelRefund, "channel_refund"),
    (Operation::GiftReturnFee, "gift_return_fee"),
    (Operation::GiftReturnRefund, "gift_return_refund"),
    (Operation::CollectionOfferHold, "collection_offer_hold"),
    (Operation::CollectionOfferRelease, "collection_offer_release"),
    (Operation::CollectionOfferFill, "collection_offer_fill"),
];

impl Operation {
    pub fn as_str(&self) -> &'static str {
        OPERATIONS.iter().find(|(o, _)| o == self).map(|(_, s)| *s).expect("every operation is named")
    }

    pub fn parse(s: &str) -> Option<Self> {
        OPERATIONS.iter().find(|(_, name)| *name == s).map(|(o, _)| *o)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: LedgerEntryId,
    pub operation_id: OperationId,
    pub operation: Operation,
    /// `None` only for the fee and external accounts.
    pub user_id: Option<UserId>,
    pub account: Account,
    /// Signed: positive increases the account.
    pub amount: Decimal,
    /// What the movement is about (an NFT id, a tx hash…).
    pub reference: String,
    pub created_at: DateTime<Utc>,
}

/// Builds the entries of one operation; `finish` refuses an unbalanced set.
#[derive(Debug)]
pub struct Posting {
    operation_id: OperationId,
    operation: Operation,
    reference: String,
    at: DateTime<Utc>,
    lines: Vec<(Option<UserId>, Account, Decimal)>,
}

impl Posting {
    pub fn new(
        operation_id: OperationId,
        operation: Operation,
        reference: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self { operation_id, operation, reference: reference.into(), at, lines: Vec::new() }
    }

    /// Moves `amount` from one account to another.
    pub fn transfer(mut self, from: (Option<UserId>, Account), to: (Option<UserId>, Account), amount: Money) -> Self {
        if !amount.is_zero() {
            self.lines.push((from.0, from.1, amount.negated()));
            self.lines.push((to.0, to.1, amount.as_decimal()));
        }
        self
    }

    /// Moves `amount` from a user's available to their held balance.
    pub fn hold(self, user: UserId, amount: Money) -> Self {
        self.transfer((Some(user), Account::Available), (Some(user), Account::Held), amount)
    }

    /// Moves `amount` from a user's held back to their available balance.
    pub fn release(self, user: UserId, amount: Money) -> Self {
        self.transfer((Some(user), Account::Held), (Some(user), Account::Available), amount)
    }

    /// Pays a sale out of the buyer's `from` account: `proceeds` to the seller, `fee` to fees.
    pub fn sale(self, buyer: UserId, from: Account, seller: UserId, proceeds: Money, fee: Money) -> Self {
        self.transfer((Some(buyer), from), (Some(seller), Account::Available), proceeds).transfer(
            (Some(buyer), from),
            (None, Account::Fees),
            fee,
        )
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The entries, with ids from `next_id`. Lines on the same (user, account) are merged.
    pub fn finish(self, mut next_id: impl FnMut() -> LedgerEntryId) -> Vec<LedgerEntry> {
        let mut merged: Vec<(Option<UserId>, Account, Decimal)> = Vec::new();
        for (u, a, d) in self.lines {
            match merged.iter_mut().find(|(mu, ma, _)| *mu == u && *ma == a) {
                Some(line) => line.2 += d,
                None => merged.push((u, a, d)),
            }
        }
        let total: Decimal = merged.iter().map(|l| l.2).sum();
        assert!(total.is_zero(), "unbalanced posting");
        merged
            .into_iter()
            .filter(|l| !l.2.is_zero())
            .map(|(user_id, account, amount)| LedgerEntry {
                id: next_id(),
                operation_id: self.operation_id,
                operation: self.operation,
                user_id,
                account,
                amount,
                reference: self.reference.clone(),
                created_at: self.at,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    #[test]
    fn every_operation_round_trips_its_name() {
        for (op, name) in OPERATIONS {
            assert_eq!(op.as_str(), name);
            assert_eq!(Operation::parse(name), Some(op));
        }
    }

    proptest! {
        #[test]
        fn postings_always_sum_to_zero(amounts in proptest::collection::vec(1u64..1_000_000_000_000, 1..8)) {
            let mut p = Posting::new(OperationId(Uuid::nil()), Operation::Buy, "r", Utc::now());
            for (i, a) in amounts.iter().enumerate() {
                let m = Money::from_decimal(Decimal::new(*a as i64, 9)).unwrap();
                p = p.transfer((Some(UserId(i as i64)), Account::Available), (None, Account::Fees), m);
            }
            let entries = p.finish(|| LedgerEntryId(Uuid::new_v4()));
            let sum: Decimal = entries.iter().map(|e| e.amount).sum();
            prop_assert!(sum.is_zero());
        }
    }

    #[test]
    fn every_account_round_trips_its_name() {
        for (account, name) in [
            (Account::Available, "available"),
            (Account::Held, "held"),
            (Account::Fees, "fees"),
            (Account::PendingPayouts, "pending_payouts"),
            (Account::External, "external"),
        ] {
            assert_eq!(account.as_str(), name);
            assert_eq!(Account::parse(name), Some(account));
        }
        assert_eq!(Account::parse("Available"), None);
        assert_eq!(Account::parse(""), None);
    }

    #[test]
    fn an_unknown_operation_name_parses_to_nothing() {
        assert_eq!(Operation::parse("refund"), None);
        assert_eq!(Operation::parse(""), None);
    }

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn posting() -> Posting {
        Posting::new(OperationId(Uuid::from_u128(9)), Operation::OfferHold, "nft-1", Utc::now())
    }

    fn lines(entries: &[LedgerEntry]) -> Vec<(Option<UserId>, Account, Decimal)> {
        entries.iter().map(|e| (e.user_id, e.account, e.amount)).collect()
    }

    #[test]
    fn a_zero_transfer_posts_nothing() {
        let p = posting().transfer((Some(UserId(1)), Account::Available), (None, Account::Fees), Money::ZERO);
        assert!(p.is_empty());
        assert!(p.finish(|| LedgerEntryId(Uuid::new_v4())).is_empty());
    }

    #[test]
    fn a_transfer_debits_one_account_and_credits_the_other() {
        let p = posting().transfer((Some(UserId(1)), Account::Available), (None, Account::Fees), m("2.5"));
        assert!(!p.is_empty());
        let entries = p.finish(|| LedgerEntryId(Uuid::new_v4()));
        assert_eq!(
            lines(&entries),
            [(Some(UserId(1)), Account::Available, m("2.5").negated()), (None, Account::Fees, m("2.5").as_decimal())]
        );
    }

    #[test]
    fn entries_carry_the_operation_reference_time_and_fresh_ids() {
        let at = Utc::now();
        let op = OperationId(Uuid::from_u128(9));
        let mut n = 0u128;
        let entries = Posting::new(op, Operation::Deposit, "tx-hash", at)
            .transfer((None, Account::External), (Some(UserId(4)), Account::Available), m("1"))
            .finish(|| {
                n += 1;
                LedgerEntryId(Uuid::from_u128(n))
            });
        assert_eq!(entries.len(), 2);
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.id, LedgerEntryId(Uuid::from_u128(i as u128 + 1)));
            assert_eq!(e.operation_id, op);
            assert_eq!(e.operation, Operation::Deposit);
            assert_eq!(e.reference, "tx-hash");
            assert_eq!(e.created_at, at);
        }
    }

    #[test]
    fn lines_on_the_same_user_and_account_are_merged_and_others_kept_apart() {
        let entries = posting()
            .hold(UserId(1), m("3"))
            .hold(UserId(1), m("2"))
            .hold(UserId(2), m("1"))
            .finish(|| LedgerEntryId(Uuid::new_v4()));
        assert_eq!(
            lines(&entries),
            [
                (Some(UserId(1)), Account::Available, m("5").negated()),
                (Some(UserId(1)), Account::Held, m("5").as_decimal()),
                (Some(UserId(2)), Account::Available, m("1").negated()),
                (Some(UserId(2)), Account::Held, m("1").as_decimal()),
            ]
        );
    }

    #[test]
    fn lines_that_cancel_out_leave_no_entry() {
        let entries = posting()
            .hold(UserId(1), m("3"))
            .release(UserId(1), m("3"))
            .transfer((Some(UserId(1)), Account::Held), (None, Account::Fees), m("1"))
            .finish(|| LedgerEntryId(Uuid::new_v4()));
        assert_eq!(
            lines(&entries),
            [(Some(UserId(1)), Account::Held, m("1").negated()), (None, Account::Fees, m("1").as_decimal())]
        );
    }

    #[test]
    fn a_sale_pays_the_seller_and_the_fee_account_from_the_buyer() {
        let entries = posting()
            .sale(UserId(1), Account::Held, UserId(2), m("9"), m("1"))
            .finish(|| LedgerEntryId(Uuid::new_v4()));
        assert_eq!(
            lines(&entries),
            [
                (Some(UserId(1)), Account::Held, m("10").negated()),
                (Some(UserId(2)), Account::Available, m("9").as_decimal()),
                (None, Account::Fees, m("1").as_decimal()),
            ]
        );
    }
}
