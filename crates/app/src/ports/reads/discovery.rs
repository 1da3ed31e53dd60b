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
        self.listed.is_none_or(|l| n.price.is_some() == l)
            && self.owner.is_none_or(|o| n.owner_id == o)
            && (self.collections.is_empty() || self.collections.contains(&n.collection))
            && any(&self.models, n.traits.model.as_ref())
            && any(&self.backdrops, n.traits.backdrop.as_ref())
            && any(&self.symbols, n.traits.symbol.as_ref())
            && self.number.is_none_or(|x| n.traits.number == Some(x))
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
    fn a_panel_counts_what_is_in_custody_and_floors_what_is_listed() {
        let mut a = nft(1);
        a.traits.model = Some(Attribute::new("Gold", 3).unwrap());
        a.price = Some(Money::parse("4").unwrap());
        let mut b = nft(2);
        b.traits.model = Some(Attribute::new("Gold", 2).unwrap());
        b.price = Some(Money::parse("6").unwrap());
        let mut c = nft(3);
        c.traits.model = Some(Attribute::new("Frog", 1).unwrap());
        c.status = NftStatus::Withdrawn;
        let mut other = nft(4);
        other.collection = "Other".into();
        let panel = AttributePanel::of("Plush Pepe", [&a, &b, &c, &other]).unwrap();
        assert_eq!(
            panel.model,
            vec![AttributeStats {
                name: "Gold".into(),
                rarity_per_mille: 2,
                count: 2,
                listed: 2,
                floor: Some(Money::parse("4").unwrap())
            }],
            "the returned Frog left out; the lowest rarity and price kept"
        );
        assert_eq!(AttributePanel::of("Plush Pepe", [&c]), Some(AttributePanel::default()), "known, all returned");
        assert_eq!(AttributePanel::of("Nobody", [&a]), None);
    }

    #[test]
    fn a_holding_is_worth_its_model_floor_else_its_collection_floor_else_nothing() {
        let p = |s: &str| Some(Money::parse(s).unwrap());
        let mut mine_gold = nft(1);
        mine_gold.traits.model = Some(Attribute::new("Gold", 3).unwrap());
        let mut mine_frog = nft(2);
        mine_frog.traits.model = Some(Attribute::new("Frog", 9).unwrap());
        let mut listed_gold = nft(3);
        listed_gold.owner_id = UserId(2);
        listed_gold.traits.model = Some(Attribute::new("Gold", 3).unwrap());
        listed_gold.price = p("10");
        let mut listed_cheap = nft(4);
        listed_cheap.owner_id = UserId(2);
        listed_cheap.price = p("2");
        let mut leaving = nft(5);
        leaving.status = NftStatus::Withdrawing;
        let mut elsewhere = nft(6);
        elsewhere.collection = "Unlisted".into();
        let all = [&mine_gold, &mine_frog, &listed_gold, &listed_cheap, &leaving, &elsewhere];
        let folio = Portfolio::of(UserId(1), &all);
        assert_eq!(folio.count, 3, "the one being returned left out");
        assert_eq!(folio.value, Money::parse("12").unwrap(), "Gold at 10, Frog at the collection's 2, the other at 0");
        assert_eq!(folio.collections.len(), 2);
        assert_eq!((folio.collections[0].count, folio.collections[0].floor), (2, p("2")));
        assert_eq!((folio.collections[1].collection.as_str(), folio.collections[1].value), ("Unlisted", Money::ZERO));
    }

    #[test]
    fn every_sort_round_trips_its_name() {
        for (sort, name) in NftSort::ALL {
            assert_eq!(NftSort::parse(name), Some(sort));
            assert_eq!(sort.as_str(), name);
        }
        assert_eq!(NftSort::parse("newest"), Some(NftSort::Newest));
        assert_eq!(NftSort::parse("Newest"), None);
        assert_eq!(NftSort::default(), NftSort::Newest);
    }

    #[test]
    fn ascending_sorts_go_up_and_descending_ones_down() {
        let directions: Vec<bool> = NftSort::ALL.iter().map(|(s, _)| s.descending()).collect();
        assert_eq!(directions, [true, false, true, false, false]);
        let only_listed: Vec<bool> = NftSort::ALL.iter().map(|(s, _)| s.lists_only_listed()).collect();
        assert_eq!(only_listed, [false, true, true, false, false]);
        let at = |p: &str| SortKey::Price(Money::parse(p).unwrap());
        let cursor = NftCursor { key: at("5"), id: Uuid::from_u128(5) };
        assert!(cursor.precedes(NftSort::PriceAsc, at("6"), Uuid::from_u128(1)), "dearer comes after, going up");
        assert!(!cursor.precedes(NftSort::PriceAsc, at("4"), Uuid::from_u128(9)));
        assert!(cursor.precedes(NftSort::PriceDesc, at("4"), Uuid::from_u128(9)), "cheaper comes after, going down");
        assert!(!cursor.precedes(NftSort::PriceDesc, at("6"), Uuid::from_u128(1)));
        for sort in [NftSort::PriceAsc, NftSort::PriceDesc] {
            assert!(!cursor.precedes(sort, cursor.key, cursor.id), "the cursor's own row is not after it ({sort:?})");
        }
        let upper = format!("np5.{}", Uuid::from_u128(0xabcdef).simple()).to_uppercase().replacen("NP", "np", 1);
        assert_eq!(NftCursor::decode(NftSort::PriceAsc, &upper), None, "only the lower-case form given out");
    }

    #[test]
    fn no_number_sorts_after_the_largest_number() {
        let mut largest = nft(1);
        largest.traits.number = Some(u32::MAX);
        let key = |n: &Nft| NftSort::NumberAsc.key(n).unwrap();
        assert!(key(&largest) < key(&nft(2)));
        assert_eq!(key(&nft(2)), SortKey::Number(NO_NUMBER));
        assert_eq!(NO_NUMBER, 4_294_967_296);
    }

    #[test]
    fn the_filter_checks_listing_owner_collection_and_number() {
        let mut n = nft(1);
        n.traits.number = Some(7);
        n.price = Some(Money::parse("1").unwrap());
        let f = |f: NftFilter| f.matches(&n);
        assert!(f(NftFilter { listed: Some(true), ..Default::default() }));
        assert!(!f(NftFilter { listed: Some(false), ..Default::default() }));
        assert!(f(NftFilter { owner: Some(UserId(1)), ..Default::default() }));
        assert!(!f(NftFilter { owner: Some(UserId(2)), ..Default::default() }));
        assert!(f(NftFilter { collections: vec!["Other".into(), "Plush Pepe".into()], ..Default::default() }));
        assert!(!f(NftFilter { collections: vec!["Other".into()], ..Default::default() }));
        assert!(f(NftFilter { number: Some(7), ..Default::default() }));
        assert!(!f(NftFilter { number: Some(8), ..Default::default() }));
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

/// One value of an attribute in a collection, with the numbers a filter panel shows beside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeStats {
    pub name: String,
    pub rarity_per_mille: u16,
    /// NFTs with it in custody (not returned).
    pub count: u64,
    /// Of those, listed.
    pub listed: u64,
    /// The lowest listed price; `None` when none is listed.
    pub floor: Option<Money>,
}

/// A collection's attribute values, each kind rarest first (then by name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttributePanel {
    pub model: Vec<AttributeStats>,
    pub backdrop: Vec<AttributeStats>,
    pub symbol: Vec<AttributeStats>,
}

impl AttributePanel {
    /// The panel of `collection` from its NFTs (those returned left out) — the in-memory store's
    /// way, and the definition SQL follows. `None` when no NFT was ever of the collection.
    pub fn of<'a>(collection: &str, nfts: impl IntoIterator<Item = &'a Nft>) -> Option<Self> {
        use std::collections::BTreeMap;
        let mut seen = false;
        let mut kinds: [BTreeMap<String, AttributeStats>; 3] = Default::default();
        for n in nfts.into_iter().filter(|n| n.collection == collection) {
            seen = true;
            if n.status == NftStatus::Withdrawn {
                continue;
            }
            for (kind, attribute) in [&n.traits.model, &n.traits.backdrop, &n.traits.symbol].into_iter().enumerate() {
                let Some(a) = attribute else { continue };
                let stats = kinds[kind].entry(a.name.clone()).or_insert_with(|| AttributeStats {
                    name: a.name.clone(),
                    rarity_per_mille: a.rarity_per_mille,
                    count: 0,
                    listed: 0,
                    floor: None,
                });
                stats.rarity_per_mille = stats.rarity_per_mille.min(a.rarity_per_mille);
                stats.count += 1;
                if let Some(p) = n.price {
                    stats.listed += 1;
                    stats.floor = Some(stats.floor.map_or(p, |f| f.min(p)));
                }
            }
        }
        let ordered = |m: BTreeMap<String, AttributeStats>| {
            let mut v: Vec<AttributeStats> = m.into_values().collect();
            v.sort_by(|a, b| (a.rarity_per_mille, &a.name).cmp(&(b.rarity_per_mille, &b.name)));
            v
        };
        let [model, backdrop, symbol] = kinds;
        seen.then(|| AttributePanel { model: ordered(model), backdrop: ordered(backdrop), symbol: ordered(symbol) })
    }
}

/// What one collection of a user's holdings is worth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub collection: String,
    pub count: u64,
    /// The collection's floor (lowest listed price), if any NFT of it is listed.
    pub floor: Option<Money>,
    /// Each NFT at the floor of its collection and model, else of its collection, else 0.
    pub value: Money,
}

/// A user's NFTs in custody, valued at floor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Portfolio {
    pub count: u64,
    pub value: Money,
    /// By collection name.
    pub collections: Vec<Holding>,
}

impl Portfolio {
    /// `owner`'s portfolio from every NFT (the in-memory store's way; SQL follows it). NFTs in
    /// custody are those not being returned nor returned.
    pub fn of(owner: UserId, nfts: &[&Nft]) -> Self {
        use std::collections::BTreeMap;
        let mut collection_floor: BTreeMap<&str, Money> = BTreeMap::new();
        let mut model_floor: BTreeMap<(&str, &str), Money> = BTreeMap::new();
        for n in nfts {
            if let Some(p) = n.price {
                let f = collection_floor.entry(&n.collection).or_insert(p);
                *f = (*f).min(p);
                if let Some(m) = &n.traits.model {
                    let f = model_floor.entry((&n.collection, &m.name)).or_insert(p);
                    *f = (*f).min(p);
                }
            }
        }
        let mut held: BTreeMap<&str, Holding> = BTreeMap::new();
        for n in nfts.iter().filter(|n| n.owner_id == owner && in_custody(n)) {
            let floor = collection_floor.get(n.collection.as_str()).copied();
            let by_model =
                n.traits.model.as_ref().and_then(|m| model_floor.get(&(n.collection.as_str(), m.name.as_str())));
            let worth = by_model.copied().or(floor).unwrap_or(Money::ZERO);
            let h = held.entry(&n.collection).or_insert_with(|| Holding {
                collection: n.collection.clone(),
                count: 0,
                floor,
                value: Money::ZERO,
            });
            h.count += 1;
            h.value = h.value.checked_add(worth).unwrap_or(h.value);
        }
        let collections: Vec<Holding> = held.into_values().collect();
        let count = collections.iter().map(|h| h.count).sum();
        let value = collections.iter().fold(Money::ZERO, |v, h| v.checked_add(h.value).unwrap_or(v));
        Portfolio { count, value, collections }
    }
}

/// In custody: not being returned, not returned.
pub fn in_custody(n: &Nft) -> bool {
    !matches!(n.status, NftStatus::Withdrawing | NftStatus::Withdrawn)
}
