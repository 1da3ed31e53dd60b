//! Discovery (SPEC §3): the NFT list's filters, its sorts and the keyset cursor that keeps each
//! sort's pages stable while listings change. The order is defined once here; every adapter sorts
//! by [`NftSort::key`].

use chrono::{DateTime, Utc};
use domain::*;
use uuid::Uuid;

/// Filters of the NFT list. Values of one attribute are alternatives (any of them); attributes
/// together must all hold. An NFT without attributes matches no attribute filter; price bounds
/// (inclusive) leave unlisted NFTs out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NftFilter {
    pub listed: Option<bool>,
    pub owner: Option<UserId>,
    pub collections: Vec<String>,
    pub models: Vec<String>,
    pub backdrops: Vec<String>,
    pub symbols: Vec<String>,
    pub number: Option<u32>,
    pub min_price: Option<Money>,
    pub max_price: Option<Money>,
}

impl NftFilter {
    /// Whether `nft` passes (the in-memory store filters with this; SQL says the same).
    pub fn matches(&self, n: &Nft) -> bool {
        let any = |values: &[String], have: Option<&Attribute>| {
            values.is_empty() || have.is_some_and(|a| values.contains(&a.name))
        };
        let priced = self.min_price.is_some() || self.max_price.is_some();
        self.listed.is_none_or(|l| n.price.is_some() == l)
            && self.owner.is_none_or(|o| n.owner_id == o)
            && (self.collections.is_empty() || self.collections.contains(&n.collection))
            && any(&self.models, n.traits.model.as_ref())
            && any(&self.backdrops, n.traits.backdrop.as_ref())
            && any(&self.symbols, n.traits.symbol.as_ref())
            && self.number.is_none_or(|x| n.traits.number == Some(x))
            && (!priced || n.price.is_some())
            && self.min_price.is_none_or(|min| n.price.is_some_and(|p| p >= min))
            && self.max_price.is_none_or(|max| n.price.is_some_and(|p| p <= max))
    }
}

/// How the NFT list is ordered. Price sorts list listed NFTs only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NftSort {
    /// By the later of registration and last listing, newest first.
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
    /// By number; NFTs without one last.
    NumberAsc,
    /// Rarest model first, then backdrop, then symbol; NFTs without attributes last.
    Rarity,
}

/// Where an NFT stands in a sort (ties broken by id, in the sort's direction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    /// Newest: the later of registration and last listing.
    At(DateTime<Utc>),
    Price(Money),
    /// Number; `u32::MAX + 1` for none (after every real number).
    Number(i64),
    /// Model, backdrop and symbol rarity; 1001 for none (after every real rarity).
    Rarity(i16, i16, i16),
}

/// What stands for a missing number / rarity in a sort key: after every real one.
pub const NO_NUMBER: i64 = u32::MAX as i64 + 1;
pub const NO_RARITY: i16 = 1001;

impl NftSort {
    pub const ALL: [(NftSort, &'static str); 5] = [
        (NftSort::Newest, "newest"),
        (NftSort::PriceAsc, "price_asc"),
        (NftSort::PriceDesc, "price_desc"),
        (NftSort::NumberAsc, "number_asc"),
        (NftSort::Rarity, "rarity"),
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(x, _)| *x)
    }

    pub fn as_str(&self) -> &'static str {
        Self::ALL.iter().find(|(x, _)| x == self).map(|(_, n)| *n).expect("every sort is named")
    }

    /// Newest first and price descending run from high to low; the others from low to high.
    pub fn descending(&self) -> bool {
        matches!(self, NftSort::Newest | NftSort::PriceDesc)
    }

    /// Only listed NFTs have a place in a price sort.
    pub fn lists_only_listed(&self) -> bool {
        matches!(self, NftSort::PriceAsc | NftSort::PriceDesc)
    }

    /// `nft`'s key in this sort (`None`: not in it — an unlisted NFT in a price sort).
    pub fn key(&self, n: &Nft) -> Option<SortKey> {
        let rarity = |a: &Option<Attribute>| a.as_ref().map_or(NO_RARITY, |a| a.rarity_per_mille as i16);
        Some(match self {
            NftSort::Newest => SortKey::At(n.listed_at.map_or(n.created_at, |l| l.max(n.created_at))),
            NftSort::PriceAsc | NftSort::PriceDesc => SortKey::Price(n.price?),
            NftSort::NumberAsc => SortKey::Number(n.traits.number.map_or(NO_NUMBER, i64::from)),
            NftSort::Rarity => {
                SortKey::Rarity(rarity(&n.traits.model), rarity(&n.traits.backdrop), rarity(&n.traits.symbol))
            }
        })
    }
}

/// Where the next page starts: after the NFT with this key and id, in the sort's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NftCursor {
    pub key: SortKey,
    pub id: Uuid,
}

impl NftCursor {
    /// The cursor after `nft` in `sort`.
    pub fn after(sort: NftSort, n: &Nft) -> Option<Self> {
        Some(Self { key: sort.key(n)?, id: n.id.0 })
    }

    /// Whether (`key`, `id`) comes after this cursor in `sort`'s order.
    pub fn precedes(&self, sort: NftSort, key: SortKey, id: Uuid) -> bool {
        let (mine, theirs) = ((self.key, self.id), (key, id));
        if sort.descending() {
            theirs < mine
        } else {
            theirs > mine
        }
    }

    /// The opaque text form: `n` + the sort's letter + its key + `.` + the id.
    pub fn encode(&self) -> String {
        let id = self.id.simple();
        match self.key {
            SortKey::At(t) => format!("nt{}.{id}", t.timestamp_micros()),
            SortKey::Price(p) => format!("np{p}.{id}"),
            SortKey::Number(n) => format!("nn{n}.{id}"),
            SortKey::Rarity(a, b, c) => format!("nr{a}-{b}-{c}.{id}"),
        }
    }

    /// Reads a cursor [`encode`](Self::encode) made for `sort`; `None` for anything else.
    pub fn decode(sort: NftSort, text: &str) -> Option<Self> {
        let rest = text.strip_prefix('n')?;
        let (key, id) = rest.get(1..)?.rsplit_once('.')?;
        let exact = id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let id = exact.then(|| Uuid::try_parse(id).ok()).flatten()?;
        let key = match (sort, rest.as_bytes()[0]) {
            (NftSort::Newest, b't') => SortKey::At(DateTime::from_timestamp_micros(key.parse().ok()?)?),
            (NftSort::PriceAsc | NftSort::PriceDesc, b'p') => SortKey::Price(Money::parse(key).ok()?),
            (NftSort::NumberAsc, b'n') => SortKey::Number(key.parse().ok().filter(|n| (1..=NO_NUMBER).contains(n))?),
            (NftSort::Rarity, b'r') => {
                let mut parts = key.split('-').map(|p| p.parse::<i16>().ok().filter(|r| (0..=NO_RARITY).contains(r)));
                let (a, b, c) = (parts.next()??, parts.next()??, parts.next()??);
                if parts.next().is_some() {
                    return None;
                }
                SortKey::Rarity(a, b, c)
            }
            _ => return None,
        };
        Some(Self { key, id })
    }
}

/// One page of discovery: the filter, the order, where to start, how many.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NftQuery {
    pub filter: NftFilter,
    pub sort: NftSort,
    pub after: Option<NftCursor>,
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nft(id: u128) -> Nft {
        Nft {
            id: NftId(Uuid::from_u128(id)),
            gift_id: format!("g{id}"),
            title: "t".into(),
            collection: "Plush Pepe".into(),
            owner_id: UserId(1),
            price: None,
            status: NftStatus::Available,
            created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            listed_at: None,
            traits: GiftTraits::default(),
            can_transfer_at: None,
            telegram: None,
        }
    }

    #[test]
    fn every_cursor_round_trips_for_its_own_sort_only() {
        let mut n = nft(7);
        n.price = Some(Money::parse("12.5").unwrap());
        n.traits.number = Some(42);
        n.traits.model = Some(Attribute::new("M", 15).unwrap());
        for (sort, _) in NftSort::ALL {
            let c = NftCursor::after(sort, &n).unwrap();
            let text = c.encode();
            assert_eq!(NftCursor::decode(sort, &text), Some(c), "{text}");
            for (other, _) in NftSort::ALL {
                let same_family = sort == other || (sort.lists_only_listed() && other.lists_only_listed());
                assert_eq!(NftCursor::decode(other, &text).is_some(), same_family, "{text} as {other:?}");
            }
        }
        for bad in [
            "",
            "n",
            "ntx.0",
            "c10193",
            "nr1-2.00000000000000000000000000000007",
            "nn0.00000000000000000000000000000007",
        ] {
            assert_eq!(NftCursor::decode(NftSort::Rarity, bad), None, "{bad}");
            assert_eq!(NftCursor::decode(NftSort::NumberAsc, bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_put_what_lacks_a_value_last_and_follow_the_sorts_direction() {
        let mut a = nft(1);
        a.traits.number = Some(5);
        let b = nft(2);
        assert!(NftSort::NumberAsc.key(&a) < NftSort::NumberAsc.key(&b), "no number after every number");
        assert_eq!(NftSort::PriceAsc.key(&b), None, "unlisted: not in a price sort");
        let mut listed_late = nft(3);
        listed_late.listed_at = Some(listed_late.created_at + chrono::Duration::hours(1));
        assert_eq!(NftSort::Newest.key(&listed_late), Some(SortKey::At(listed_late.listed_at.unwrap())));
        let c = NftCursor::after(NftSort::Newest, &listed_late).unwrap();
        assert!(c.precedes(NftSort::Newest, NftSort::Newest.key(&a).unwrap(), a.id.0), "older comes after");
        assert!(!c.precedes(NftSort::Newest, c.key, Uuid::from_u128(4)), "a bigger id of the same time comes before");
        assert!(c.precedes(NftSort::Newest, c.key, Uuid::from_u128(2)));
    }

    #[test]
    fn the_filter_takes_any_value_of_one_attribute_and_all_attributes_together() {
        let mut n = nft(1);
        n.traits.model = Some(Attribute::new("Cozy", 15).unwrap());
        n.traits.backdrop = Some(Attribute::new("Blue", 20).unwrap());
        n.price = Some(Money::parse("10").unwrap());
        let f = |f: NftFilter| f.matches(&n);
        assert!(f(NftFilter { models: vec!["Other".into(), "Cozy".into()], ..Default::default() }));
        assert!(!f(NftFilter { models: vec!["Cozy".into()], backdrops: vec!["Red".into()], ..Default::default() }));
        assert!(!f(NftFilter { symbols: vec!["Star".into()], ..Default::default() }), "no symbol: no match");
        let p = |s: &str| Some(Money::parse(s).unwrap());
        assert!(f(NftFilter { min_price: p("10"), max_price: p("10"), ..Default::default() }), "inclusive");
        assert!(!f(NftFilter { min_price: p("10.000000001"), ..Default::default() }));
        n.price = None;
        assert!(!NftFilter { max_price: p("100"), ..Default::default() }.matches(&n), "unlisted left out");
        assert!(NftFilter::default().matches(&n));
    }
}
