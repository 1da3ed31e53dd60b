//! The read side: plain queries outside any Unit of Work, one port per aggregate, grouped by
//! area. They never write; a read sees only what committed. Every method fails only with
//! [`RepoError::Unavailable`](domain::RepoError::Unavailable) or
//! [`RepoError::Other`](domain::RepoError::Other) (the store failed); what is absent is `None`
//! or an empty page, never an error.

mod accounts;
mod activity;
mod audit;
mod deals;
mod desk;
mod discovery;
mod market;
mod partners;

pub use accounts::*;
pub use activity::*;
pub use audit::*;
pub use deals::*;
pub use desk::*;
pub use discovery::*;
pub use market::*;
pub use partners::*;

use domain::Nft;
use uuid::Uuid;

/// A page request: `limit` items after the opaque cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;

    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    /// Encodes the position after `id` as an opaque cursor.
    pub fn encode_cursor(id: Uuid) -> String {
        format!("c1{}", id.simple())
    }

    /// Decodes a cursor made by [`PageRequest::encode_cursor`].
    pub fn decode_cursor(cursor: &str) -> Option<Uuid> {
        let hex = cursor.strip_prefix("c1")?;
        let exact = hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        exact.then(|| Uuid::try_parse(hex).ok()).flatten()
    }
}

/// Items in order and, when more may follow, the cursor of the next page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl Page<Nft> {
    /// A page of discovery from up to `limit + 1` NFTs in `sort`'s order.
    pub fn of_nfts(mut items: Vec<Nft>, limit: u32, sort: NftSort) -> Self {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor =
            if more { items.last().and_then(|n| NftCursor::after(sort, n)).map(|c| c.encode()) } else { None };
        Page { items, next_cursor }
    }
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items (the extra one only says "more").
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> Uuid) -> Self {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more { items.last().map(|t| PageRequest::encode_cursor(id_of(t))) } else { None };
        Page { items, next_cursor }
    }
}

/// The whole read side: every aggregate's plain queries, outside any Unit of Work.
pub trait ReadModel:
    UserReads
    + NftReads
    + AuctionReads
    + OfferReads
    + CollectionOfferReads
    + PresaleReads
    + WithdrawalReads
    + DepositReads
    + GiftReads
    + ActivityReads
    + TradeReads
    + ChannelReads
    + PartnerReads
    + DeskReads
    + StoreHealth
{
}

impl<T> ReadModel for T where
    T: UserReads
        + NftReads
        + AuctionReads
        + OfferReads
        + CollectionOfferReads
        + CollectionOfferReads
        + PresaleReads
        + WithdrawalReads
        + DepositReads
        + GiftReads
        + ActivityReads
        + TradeReads
        + ChannelReads
        + PartnerReads
        + DeskReads
        + StoreHealth
{
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_first_page_has_its_limit_and_no_cursor() {
        assert_eq!(PageRequest::first(7), PageRequest { limit: 7, after: None });
    }

    #[test]
    fn a_cursor_decodes_to_the_id_it_was_made_of() {
        for n in [0, 1, 0xdead_beef, u128::MAX] {
            let cursor = PageRequest::encode_cursor(id(n));
            assert_eq!(cursor.len(), 34);
            assert!(cursor.starts_with("c1"), "{cursor}");
            assert_eq!(PageRequest::decode_cursor(&cursor), Some(id(n)), "{cursor}");
        }
        assert_eq!(PageRequest::encode_cursor(id(0xab)), format!("c1{:032x}", 0xab));
    }

    #[test]
    fn a_cursor_of_another_shape_is_refused() {
        let hex = format!("{:032x}", 0x1234_5678_9abc_def0_u128 << 64);
        for bad in [
            String::new(),
            "c1".into(),
            hex.clone(),                         // no prefix
            format!("c2{hex}"),                  // another version
            format!("c1{}", &hex[1..]),          // 31 digits
            format!("c1{hex}0"),                 // 33 digits
            format!("c1{}", hex.to_uppercase()), // upper case: not what encode makes
            format!("c1{}g", &hex[1..]),         // not hex
            format!("c1{}", id(1).hyphenated()), // another text form of a UUID
        ] {
            assert_eq!(PageRequest::decode_cursor(&bad), None, "{bad}");
        }
    }

    #[test]
    fn an_overfetched_page_keeps_its_limit_and_says_where_the_next_starts() {
        let page = Page::from_overfetch(vec![1u128, 2, 3], 2, |n| id(*n));
        assert_eq!(page, Page { items: vec![1, 2], next_cursor: Some(PageRequest::encode_cursor(id(2))) });
    }

    #[test]
    fn a_page_not_overfetched_is_the_last() {
        assert_eq!(Page::from_overfetch(vec![1u128, 2], 2, |n| id(*n)), Page { items: vec![1, 2], next_cursor: None });
        assert_eq!(Page::from_overfetch(vec![1u128], 2, |n| id(*n)), Page { items: vec![1], next_cursor: None });
        assert_eq!(Page::from_overfetch(Vec::<u128>::new(), 2, |n| id(*n)), Page { items: vec![], next_cursor: None });
    }
}
