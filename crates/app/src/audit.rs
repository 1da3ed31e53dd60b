//! The invariants of the money model (SPEC §2), checked over facts read from the store.

use rust_decimal::Decimal;

use crate::ports::reads::AuditFacts;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

/// Every violation found in `facts`; empty means clean.
pub fn check(facts: &AuditFacts) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut push = |invariant, detail: String| out.push(Violation { invariant, detail });
    let mut total_balances = Decimal::ZERO;
    for u in &facts.users {
        total_balances += u.available + u.held;
        if u.available.is_sign_negative() && !u.available.is_zero() || u.held.is_sign_negative() && !u.held.is_zero() {
            push("non_negative_balance", format!("user {}: available {}, held {}", u.id, u.available, u.held));
        }
        if u.available != u.ledger_available {
            push(
                "balance_equals_ledger",
                format!("user {}: available {} but ledger says {}", u.id, u.available, u.ledger_available),
            );
        }
        if u.held != u.ledger_held {
            push("balance_equals_ledger", format!("user {}: held {} but ledger says {}", u.id, u.held, u.ledger_held));
        }
        if u.held != u.obligations {
            push(
                "held_equals_obligations",
                format!("user {}: held {} but open obligations are {}", u.id, u.held, u.obligations),
            );
        }
    }
    for (op, sum) in &facts.unbalanced_operations {
        push("balanced_operations", format!("operation {op} sums to {sum}"));
    }
    let inside = total_balances + facts.fees + facts.pending_payouts;
    let expected = facts.total_deposits - facts.total_sent_payouts;
    if inside != expected {
        push(
            "money_conserved",
            format!("balances + fees + pending payouts = {inside}, deposits - sent payouts = {expected}"),
        );
    }
    if facts.pending_withdrawals != facts.pending_payouts {
        push(
            "pending_payouts_match_withdrawals",
            format!("pending payouts {} but pending withdrawals {}", facts.pending_payouts, facts.pending_withdrawals),
        );
    }
    for nft in &facts.orphan_nfts {
        push("nft_has_one_owner", format!("NFT {nft} has no owning account"));
    }
    for nft in &facts.misplaced_trade_nfts {
        push(
            "nft_in_one_open_trade",
            format!("NFT {nft} is in_trade without being offered by exactly one open trade, or the reverse"),
        );
    }
    for nft in &facts.nfts_with_several_auctions {
        push("one_active_auction", format!("NFT {nft} has more than one active auction"));
    }
    for gift in &facts.gifts_missing_from_account {
        push("gift_in_custody", format!("gift {gift} is in custody here but not on the business account"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::reads::UserFacts;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn clean() -> AuditFacts {
        AuditFacts {
            users: vec![UserFacts {
                id: 1,
                available: d("9"),
                held: d("1"),
                ledger_available: d("9"),
                ledger_held: d("1"),
                obligations: d("1"),
            }],
            total_deposits: d("10.5"),
            fees: d("0.5"),
            ..Default::default()
        }
    }

    fn nil_nft() -> domain::NftId {
        domain::NftId(uuid::Uuid::nil())
    }

    fn only(invariant: &'static str, detail: &str) -> Vec<Violation> {
        vec![Violation { invariant, detail: detail.into() }]
    }

    #[test]
    fn consistent_facts_are_clean() {
        assert_eq!(check(&clean()), vec![]);
    }

    #[test]
    fn money_in_flight_and_paid_out_still_balances() {
        // Two users (10 + 4), fees 0.5, pending payouts 2: 16.5 inside; deposits 20 - sent 3.5.
        let mut f = clean();
        f.users.push(UserFacts {
            id: 2,
            available: d("3"),
            held: d("1"),
            ledger_available: d("3"),
            ledger_held: d("1"),
            obligations: d("1"),
        });
        f.pending_payouts = d("2");
        f.pending_withdrawals = d("2");
        f.total_deposits = d("20");
        f.total_sent_payouts = d("3.5");
        assert_eq!(check(&f), vec![]);
    }

    #[test]
    fn a_negative_zero_balance_is_not_negative() {
        let mut f = clean();
        f.users[0].held = d("-0");
        f.users[0].ledger_held = d("-0");
        f.users[0].obligations = d("-0");
        f.users[0].available = d("-0");
        f.users[0].ledger_available = d("-0");
        f.total_deposits = d("0.5");
        assert_eq!(check(&f), vec![]);
    }

    #[test]
    fn a_negative_available_balance_is_reported() {
        let mut f = clean();
        f.users[0].available = d("-2");
        f.users[0].ledger_available = d("-2");
        f.total_deposits = d("-0.5");
        assert_eq!(check(&f), only("non_negative_balance", "user 1: available -2, held 1"));
    }

    #[test]
    fn a_negative_held_balance_is_reported() {
        let mut f = clean();
        f.users[0].held = d("-1");
        f.users[0].ledger_held = d("-1");
        f.users[0].obligations = d("-1");
        f.total_deposits = d("8.5");
        assert_eq!(check(&f), only("non_negative_balance", "user 1: available 9, held -1"));
    }

    #[test]
    fn an_available_balance_the_ledger_disagrees_with_is_reported() {
        let mut f = clean();
        f.users[0].ledger_available = d("8");
        assert_eq!(check(&f), only("balance_equals_ledger", "user 1: available 9 but ledger says 8"));
    }

    #[test]
    fn a_held_balance_the_ledger_disagrees_with_is_reported() {
        let mut f = clean();
        f.users[0].ledger_held = d("2");
        assert_eq!(check(&f), only("balance_equals_ledger", "user 1: held 1 but ledger says 2"));
    }

    #[test]
    fn a_held_balance_beside_other_obligations_is_reported() {
        let mut f = clean();
        f.users[0].obligations = d("0");
        assert_eq!(check(&f), only("held_equals_obligations", "user 1: held 1 but open obligations are 0"));
    }

    #[test]
    fn an_unbalanced_operation_is_reported_with_its_sum() {
        let mut f = clean();
        f.unbalanced_operations.push((domain::OperationId(uuid::Uuid::nil()), d("1")));
        assert_eq!(check(&f), only("balanced_operations", "operation 00000000-0000-0000-0000-000000000000 sums to 1"));
    }

    #[test]
    fn money_that_appeared_or_vanished_is_reported() {
        let mut f = clean();
        f.total_deposits = d("11");
        assert_eq!(
            check(&f),
            only("money_conserved", "balances + fees + pending payouts = 10.5, deposits - sent payouts = 11")
        );
    }

    #[test]
    fn pending_payouts_beside_other_pending_withdrawals_are_reported() {
        let mut f = clean();
        f.pending_withdrawals = d("1");
        assert_eq!(check(&f), only("pending_payouts_match_withdrawals", "pending payouts 0 but pending withdrawals 1"));
    }

    #[test]
    fn an_nft_without_an_owning_account_is_reported() {
        let mut f = clean();
        f.orphan_nfts.push(nil_nft());
        assert_eq!(
            check(&f),
            only("nft_has_one_owner", "NFT 00000000-0000-0000-0000-000000000000 has no owning account")
        );
    }

    #[test]
    fn an_nft_misplaced_by_trades_is_reported() {
        let mut f = clean();
        f.misplaced_trade_nfts.push(nil_nft());
        assert_eq!(
            check(&f),
            only(
                "nft_in_one_open_trade",
                "NFT 00000000-0000-0000-0000-000000000000 is in_trade without being offered by exactly one open \
                 trade, or the reverse"
            )
        );
    }

    #[test]
    fn an_nft_with_several_active_auctions_is_reported() {
        let mut f = clean();
        f.nfts_with_several_auctions.push(nil_nft());
        assert_eq!(
            check(&f),
            only("one_active_auction", "NFT 00000000-0000-0000-0000-000000000000 has more than one active auction")
        );
    }

    #[test]
    fn every_broken_invariant_is_reported_not_just_the_first() {
        let mut f = clean();
        f.users[0].available = d("8");
        let v: Vec<_> = check(&f).into_iter().map(|v| v.invariant).collect();
        assert_eq!(v, ["balance_equals_ledger", "money_conserved"]);
    }
}
