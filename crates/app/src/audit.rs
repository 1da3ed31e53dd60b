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

    #[test]
    fn consistent_facts_are_clean() {
        assert_eq!(check(&clean()), vec![]);
    }

    #[test]
    fn each_broken_invariant_is_reported() {
        let mut f = clean();
        f.users[0].available = d("8");
        let v = check(&f);
        assert!(v.iter().any(|v| v.invariant == "balance_equals_ledger"));
        assert!(v.iter().any(|v| v.invariant == "money_conserved"));

        let mut f = clean();
        f.users[0].obligations = d("0");
        assert_eq!(check(&f)[0].invariant, "held_equals_obligations");

        let mut f = clean();
        f.users[0].held = d("-1");
        f.users[0].ledger_held = d("-1");
        f.users[0].obligations = d("-1");
        f.total_deposits = d("8.5");
        assert_eq!(check(&f)[0].invariant, "non_negative_balance");

        let mut f = clean();
        f.unbalanced_operations.push((domain::OperationId(uuid::Uuid::nil()), d("1")));
        assert_eq!(check(&f)[0].invariant, "balanced_operations");

        let mut f = clean();
        f.orphan_nfts.push(domain::NftId(uuid::Uuid::nil()));
        assert_eq!(check(&f)[0].invariant, "nft_has_one_owner");

        let mut f = clean();
        f.misplaced_trade_nfts.push(domain::NftId(uuid::Uuid::nil()));
        assert_eq!(check(&f)[0].invariant, "nft_in_one_open_trade");
    }
}
