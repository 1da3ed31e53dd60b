//! Money arriving on chain: the transactions of the deposit account as an indexer reports them,
//! the watcher's cursor, and deposits nobody could be matched to.

use chrono::{DateTime, Utc};

use crate::ids::{UnmatchedDepositId, UserId};
use crate::money::Money;

/// Where the deposit watcher is in an account's history: the last transaction it handled.
/// Transactions of one account are ordered by logical time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCursor {
    pub lt: u64,
    pub hash: String,
}

/// A transaction of the deposit account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTransaction {
    pub hash: String,
    pub lt: u64,
    pub at: DateTime<Utc>,
    /// Set when it brought money in from another account and went through: not aborted, its
    /// message not a bounce. Everything else (outgoing payouts, bounces, aborted or external
    /// transactions) only moves the cursor.
    pub incoming: Option<IncomingTransfer>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingTransfer {
    pub sender: String,
    pub amount: Money,
    /// The text comment, if the message carried one.
    pub comment: Option<String>,
}

impl ChainTransaction {
    pub fn cursor(&self) -> ChainCursor {
        ChainCursor { lt: self.lt, hash: self.hash.clone() }
    }

    /// Whether the watcher at `cursor` has handled this transaction already.
    pub fn is_behind(&self, cursor: Option<&ChainCursor>) -> bool {
        cursor.is_some_and(|c| self.lt < c.lt || (self.lt == c.lt && self.hash == c.hash))
    }
}

/// An incoming transfer whose comment matched no user's memo: kept for staff, never dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnmatchedDeposit {
    pub id: UnmatchedDepositId,
    pub tx_hash: String,
    pub sender: String,
    pub amount: Money,
    pub comment: Option<String>,
    pub received_at: DateTime<Utc>,
    /// Who it was credited to by staff, and when.
    pub assigned_to: Option<UserId>,
    pub assigned_at: Option<DateTime<Utc>>,
}

/// Deposit memos: short, unguessable, one per user, forever.
pub const MEMO_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
pub const MEMO_LENGTH: usize = 10;

/// Builds a memo from random bytes (at least [`MEMO_LENGTH`]): 31 symbols, no look-alikes.
pub fn memo_from(random: &[u8]) -> String {
    random.iter().take(MEMO_LENGTH).map(|b| MEMO_ALPHABET[usize::from(*b) % MEMO_ALPHABET.len()] as char).collect()
}

/// The memo a comment names, if it looks like one (surrounding blanks and case ignored).
pub fn memo_in(comment: &str) -> Option<String> {
    let c = comment.trim().to_ascii_lowercase();
    (c.len() == MEMO_LENGTH && c.bytes().all(|b| MEMO_ALPHABET.contains(&b))).then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_is_short_from_its_alphabet_and_found_in_a_comment() {
        let memo = memo_from(&[0, 30, 31, 255, 7, 8, 9, 10, 11, 12, 13]);
        assert_eq!(memo.len(), MEMO_LENGTH);
        assert!(memo.bytes().all(|b| MEMO_ALPHABET.contains(&b)));
        assert_eq!(memo_in(&format!("  {}\n", memo.to_uppercase())), Some(memo.clone()));
        assert_eq!(memo_in("hello"), None);
        assert_eq!(memo_in("abcdefghi0"), None, "0 is not in the alphabet");
    }

    #[test]
    fn a_cursor_is_behind_what_it_handled() {
        let tx = |lt, hash: &str| ChainTransaction { hash: hash.into(), lt, at: Utc::now(), incoming: None };
        let at = ChainCursor { lt: 10, hash: "b".into() };
        assert!(tx(9, "a").is_behind(Some(&at)));
        assert!(tx(10, "b").is_behind(Some(&at)));
        assert!(!tx(11, "c").is_behind(Some(&at)));
        assert!(!tx(1, "a").is_behind(None));
    }

    fn tx(lt: u64, hash: &str) -> ChainTransaction {
        ChainTransaction { hash: hash.into(), lt, at: Utc::now(), incoming: None }
    }

    #[test]
    fn another_transaction_at_the_cursors_logical_time_is_not_behind_it() {
        let at = ChainCursor { lt: 10, hash: "b".into() };
        assert!(!tx(10, "c").is_behind(Some(&at)));
        assert!(!tx(11, "b").is_behind(Some(&at)), "a later time is never behind, whatever the hash");
        assert!(tx(9, "b").is_behind(Some(&at)));
    }

    #[test]
    fn a_transactions_cursor_is_its_logical_time_and_hash() {
        assert_eq!(tx(42, "h42").cursor(), ChainCursor { lt: 42, hash: "h42".into() });
        assert!(tx(42, "h42").is_behind(Some(&tx(42, "h42").cursor())));
    }

    #[test]
    fn a_memo_takes_each_symbol_by_its_byte_modulo_the_alphabet() {
        assert_eq!(memo_from(&[0, 30, 31, 255, 7, 8, 9, 10, 11, 12, 13]), "a9ahhjkmnp");
        assert_eq!(memo_from(&[62, 93, 124, 155, 186, 217, 248, 1, 32, 63]), "aaaaaaabbb");
    }

    #[test]
    fn a_comment_names_a_memo_only_at_exactly_its_length() {
        assert_eq!(memo_in("abcdefghjk"), Some("abcdefghjk".to_string()));
        assert_eq!(memo_in("abcdefghj"), None);
        assert_eq!(memo_in("abcdefghjkm"), None);
        assert_eq!(memo_in("abc"), None);
        assert_eq!(memo_in(""), None);
    }
}
