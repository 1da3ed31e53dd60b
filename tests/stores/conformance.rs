//! One conformance suite for the repositories and Units of Work, run against every adapter
//! (in-memory and PostgreSQL): CRUD, rollback on drop, rollback on error, isolation, row locks.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use adapters_memory::MemoryStore;
use adapters_postgres::PgStore;
use app::deposits::credit::CreditDepositUow;
use app::gifts::receive::ReceiveGiftUow;
use app::nfts::buy::BuyNftUow;
use app::partners::create_partner::CreatePartnerUow;
use app::ports::reads::{CollectionGlance, NftCursor, NftFilter, NftQuery, NftSort, PageRequest, StreamScope};
use app::uow::Begin;
use atomarket::Store;
use chrono::{DateTime, SubsecRound};
use domain::*;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Timestamps at the precision every adapter keeps (microseconds), as the system clock gives.
fn now() -> DateTime<chrono::Utc> {
    chrono::Utc::now().trunc_subsecs(6)
}

fn m(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn nft(owner: i64, gift: &str) -> Nft {
    Nft {
        id: NftId(Uuid::now_v7()),
        gift_id: gift.into(),
        title: "Plush Pepe".into(),
        collection: "pepe".into(),
        owner_id: UserId(owner),
        price: None,
        status: NftStatus::Available,
        created_at: now(),
        listed_at: None,
        traits: Default::default(),
        can_transfer_at: None,
        telegram: None,
    }
}

fn offer(nft: NftId, offerer: i64, price: &str) -> Offer {
    Offer {
        id: OfferId(Uuid::now_v7()),
        nft_id: nft,
        offerer_id: UserId(offerer),
        price: m(price),
        status: OfferStatus::Open,
        expires_at: now() + chrono::Duration::days(1),
        created_at: now(),
    }
}

/// The first `limit` NFTs matching `filter`, newest first.
fn listing(filter: NftFilter, limit: u32) -> NftQuery {
    NftQuery { filter, sort: NftSort::Newest, after: None, limit }
}

async fn begin<S: Store>(s: &S) -> Box<dyn BuyNftUow> {
    Begin::<dyn BuyNftUow>::begin(s, "conformance").await.expect("begin")
}

/// Creates users with the given available balance, committed.
async fn users<S: Store>(s: &S, ids: &[i64], available: &str) {
    let mut uow = begin(s).await;
    for id in ids {
        let mut u = uow.accounts().ensure_locked(UserId(*id), None).await.unwrap();
        u.available = m(available);
        uow.accounts().save(&u).await.unwrap();
    }
    uow.commit().await.unwrap();
}

/// Every page of `filter` by `sort`, `limit` at a time through the cursor: the gift ids in the
/// order they came. More than ten pages fails (a cursor that never ends must not loop).
async fn walk<S: Store>(s: &S, filter: &NftFilter, sort: NftSort, limit: u32) -> Vec<String> {
    let (mut seen, mut after) = (Vec::new(), None);
    for _ in 0..10 {
        let p = s.nfts(&NftQuery { filter: filter.clone(), sort, after, limit }).await.unwrap();
        seen.extend(p.items.iter().map(|n| n.gift_id.clone()));
        let Some(c) = p.next_cursor else { return seen };
        after = Some(NftCursor::decode(sort, &c).unwrap());
    }
    panic!("{filter:?} by {sort:?}: more than ten pages of {limit}")
}

/// SPEC §3 "Discovery" on five NFTs whose every order is known by hand: each sort (ties by id),
/// the filters (any value of one attribute, all attributes together, price bounds inclusive), and
/// keyset pages that neither repeat nor skip rows that did not move while a listing changed.
async fn discovery_filters_sorts_and_pages_stably<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2], "0").await;
    let t0 = now();
    let attr = |name: &str, r: i64| Some(Attribute::new(name, r).unwrap());
    let make = |i: i64, collection: &str, number: Option<u32>, m: Option<(&str, i64)>, price: Option<&str>| {
        let mut n = nft(1 + i % 2, &format!("disc-{i}"));
        n.collection = collection.into();
        n.created_at = t0 + chrono::Duration::seconds(i);
        n.price = price.map(m_);
        n.traits.number = number;
        if let Some((model, rarity)) = m {
            n.traits.model = attr(model, rarity);
        }
        n
    };
    fn m_(s: &str) -> Money {
        Money::parse(s).unwrap()
    }
    let mut n1 = make(1, "C", Some(3), Some(("A", 10)), Some("5"));
    n1.traits.backdrop = attr("X", 5);
    n1.traits.symbol = attr("S", 1);
    n1.listed_at = Some(t0 + chrono::Duration::seconds(10));
    let mut n2 = make(2, "C", Some(1), Some(("B", 20)), Some("2"));
    n2.traits.backdrop = attr("Y", 50);
    n2.traits.symbol = attr("S", 1);
    let mut n3 = make(3, "C", Some(2), Some(("A", 10)), None);
    n3.traits.backdrop = attr("Y", 50);
    n3.traits.symbol = attr("T", 3);
    let n4 = make(4, "C", None, None, Some("9"));
    let mut n5 = make(5, "D", Some(1), Some(("A", 10)), Some("5"));
    n5.traits.backdrop = attr("X", 5);
    n5.traits.symbol = attr("S", 1);
    let mut uow = begin(&*s).await;
    for n in [&n1, &n2, &n3, &n4, &n5] {
        uow.nfts().insert(n).await.unwrap();
    }
    uow.commit().await.unwrap();

    let ids = |p: app::ports::reads::Page<Nft>| p.items.into_iter().map(|n| n.gift_id).collect::<Vec<_>>();
    let run = |filter: NftFilter, sort: NftSort| {
        let s = s.clone();
        async move { ids(s.nfts(&NftQuery { filter, sort, after: None, limit: 20 }).await.unwrap()) }
    };
    let all = NftFilter::default();
    let d = |xs: &[i32]| xs.iter().map(|i| format!("disc-{i}")).collect::<Vec<_>>();
    assert_eq!(
        run(all.clone(), NftSort::Newest).await,
        d(&[1, 5, 4, 3, 2]),
        "by the later of registration and listing"
    );
    assert_eq!(run(all.clone(), NftSort::PriceAsc).await, d(&[2, 1, 5, 4]), "listed only; a tie by id");
    assert_eq!(run(all.clone(), NftSort::PriceDesc).await, d(&[4, 5, 1, 2]));
    assert_eq!(run(all.clone(), NftSort::NumberAsc).await, d(&[2, 5, 3, 1, 4]), "no number last");
    assert_eq!(run(all.clone(), NftSort::Rarity).await, d(&[1, 5, 3, 2, 4]), "rarest model, backdrop, symbol");

    let f = |f: NftFilter| f;
    let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases = [
        (f(NftFilter { models: v(&["A"]), ..Default::default() }), d(&[1, 5, 3])),
        (f(NftFilter { models: v(&["A", "B"]), backdrops: v(&["Y"]), ..Default::default() }), d(&[3, 2])),
        (
            f(NftFilter {
                collections: v(&["C"]),
                min_price: Some(m_("2")),
                max_price: Some(m_("5")),
                ..Default::default()
            }),
            d(&[1, 2]),
        ),
        (f(NftFilter { number: Some(1), ..Default::default() }), d(&[5, 2])),
        (f(NftFilter { symbols: v(&["Nope"]), ..Default::default() }), d(&[])),
        (f(NftFilter { listed: Some(false), ..Default::default() }), d(&[3])),
        (f(NftFilter { collections: v(&["D", "C"]), owner: Some(UserId(2)), ..Default::default() }), d(&[1, 5, 3])),
    ];
    for (filter, expected) in cases {
        assert_eq!(run(filter.clone(), NftSort::Newest).await, expected, "{filter:?}");
    }
    // Listings by backdrop or symbol across collections (PostgreSQL merges each value's newest, or
    // reads the ids first by price): the same answers, and pages of one through the cursor.
    let by_backdrop = NftFilter { backdrops: v(&["X", "Y"]), listed: Some(true), ..Default::default() };
    let by_symbol = NftFilter { symbols: v(&["S"]), min_price: Some(m_("2")), ..Default::default() };
    assert_eq!(run(by_backdrop.clone(), NftSort::Newest).await, d(&[1, 5, 2]));
    assert_eq!(run(by_symbol.clone(), NftSort::Newest).await, d(&[1, 5, 2]));
    assert_eq!(run(by_backdrop.clone(), NftSort::PriceAsc).await, d(&[2, 1, 5]));
    assert_eq!(run(by_symbol.clone(), NftSort::PriceDesc).await, d(&[5, 1, 2]));
    for (filter, sort, expected) in
        [(by_backdrop.clone(), NftSort::Newest, d(&[1, 5, 2])), (by_symbol, NftSort::PriceAsc, d(&[2, 1, 5]))]
    {
        assert_eq!(walk(&*s, &filter, sort, 1).await, expected, "{filter:?} by {sort:?}, a page at a time");
    }

    // Pages of two by price while disc-2 is repriced between pages: the rows that did not move
    // come exactly once.
    let page = |after: Option<NftCursor>| {
        let s = s.clone();
        async move {
            s.nfts(&NftQuery { filter: NftFilter::default(), sort: NftSort::PriceAsc, after, limit: 2 }).await.unwrap()
        }
    };
    let first = page(None).await;
    assert_eq!(first.items.iter().map(|n| n.gift_id.clone()).collect::<Vec<_>>(), d(&[2, 1]));
    let mut uow = begin(&*s).await;
    let mut moved = uow.nfts().lock(n2.id).await.unwrap().unwrap();
    moved.set_price(moved.owner_id, Some(m_("100")), t0 + chrono::Duration::seconds(60)).unwrap();
    uow.nfts().update(&moved).await.unwrap();
    uow.commit().await.unwrap();
    let mut seen = first.items.iter().map(|n| n.gift_id.clone()).collect::<Vec<_>>();
    let mut cursor = first.next_cursor.clone();
    while let Some(c) = cursor {
        let next = page(Some(NftCursor::decode(NftSort::PriceAsc, &c).unwrap())).await;
        seen.extend(next.items.iter().map(|n| n.gift_id.clone()));
        cursor = next.next_cursor;
    }
    assert_eq!(seen, d(&[2, 1, 5, 4, 2]), "the moved row may come again; no other repeats, no gaps");

    // The orders over every NFT (PostgreSQL reads them off nft_keys, kept beside the rows): the
    // repricing moved disc-2 to the front of the newest first; a sale, which keeps the listing
    // time, moves nothing there; listed-ness and attributes filter them, a page at a time too.
    assert_eq!(run(all.clone(), NftSort::Newest).await, d(&[2, 1, 5, 4, 3]), "relisted is newest");
    let mut uow = begin(&*s).await;
    let mut sold = uow.nfts().lock(n4.id).await.unwrap().unwrap();
    sold.owner_id = UserId(2);
    sold.price = None;
    uow.nfts().update(&sold).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(run(all.clone(), NftSort::Newest).await, d(&[2, 1, 5, 4, 3]), "a sale keeps its place");
    let unlisted = NftFilter { listed: Some(false), ..Default::default() };
    assert_eq!(run(unlisted.clone(), NftSort::Newest).await, d(&[4, 3]));
    assert_eq!(run(unlisted.clone(), NftSort::NumberAsc).await, d(&[3, 4]));
    assert_eq!(run(unlisted, NftSort::Rarity).await, d(&[3, 4]));
    let model_a = NftFilter { models: v(&["A"]), ..Default::default() };
    assert_eq!(run(model_a.clone(), NftSort::NumberAsc).await, d(&[5, 3, 1]));
    let in_c = NftFilter { collections: v(&["C"]), listed: Some(false), ..Default::default() };
    assert_eq!(run(in_c, NftSort::Rarity).await, d(&[3, 4]));
    for (filter, sort, expected) in [
        (all.clone(), NftSort::NumberAsc, d(&[2, 5, 3, 1, 4])),
        (all.clone(), NftSort::Rarity, d(&[1, 5, 3, 2, 4])),
        (all.clone(), NftSort::Newest, d(&[2, 1, 5, 4, 3])),
        (model_a, NftSort::Rarity, d(&[1, 5, 3])),
    ] {
        assert_eq!(walk(&*s, &filter, sort, 2).await, expected, "{filter:?} by {sort:?}, two at a time");
    }
}

/// The filter panel and the portfolio on NFTs whose numbers are known by hand: returned NFTs left
/// out, floors the lowest listed price, each holding at its (collection, model) floor, else the
/// collection's, else 0.
async fn attribute_panels_and_portfolios_count_what_is_in_custody_at_floor<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2], "0").await;
    let attr = |name: &str, r: i64| Some(Attribute::new(name, r).unwrap());
    let make = |i: u32, owner: i64, collection: &str, model: Option<(&str, i64)>, price: Option<&str>| {
        let mut n = nft(owner, &format!("panel-{i}"));
        n.collection = collection.into();
        n.price = price.map(|p| Money::parse(p).unwrap());
        if let Some((name, r)) = model {
            n.traits.model = attr(name, r);
            n.traits.backdrop = attr("Blue", 30);
        }
        n
    };
    let a1 = make(1, 1, "P", Some(("Gold", 2)), Some("10"));
    let a2 = make(2, 2, "P", Some(("Gold", 2)), Some("7"));
    let a3 = make(3, 1, "P", Some(("Frog", 40)), None);
    let a4 = make(4, 1, "P", None, Some("3"));
    let mut gone = make(5, 1, "P", Some(("Ruby", 1)), None);
    gone.status = NftStatus::Withdrawn;
    let b1 = make(6, 1, "Q", None, None);
    let mut uow = begin(&*s).await;
    for n in [&a1, &a2, &a3, &a4, &gone, &b1] {
        uow.nfts().insert(n).await.unwrap();
    }
    uow.commit().await.unwrap();

    let panel = s.attribute_panel("P").await.unwrap().unwrap();
    let row = |name: &str, r: u16, count: u64, listed: u64, floor: Option<&str>| app::ports::reads::AttributeStats {
        name: name.into(),
        rarity_per_mille: r,
        count,
        listed,
        floor: floor.map(|f| Money::parse(f).unwrap()),
    };
    assert_eq!(
        panel.model,
        vec![row("Gold", 2, 2, 2, Some("7")), row("Frog", 40, 1, 0, None)],
        "rarest first; Ruby was returned"
    );
    assert_eq!(panel.backdrop, vec![row("Blue", 30, 3, 2, Some("7"))]);
    assert!(panel.symbol.is_empty());
    assert_eq!(s.attribute_panel("Q").await.unwrap(), Some(Default::default()), "a collection without attributes");
    assert_eq!(s.attribute_panel("nobody").await.unwrap(), None);

    let p = s.portfolio(UserId(1)).await.unwrap();
    // P: a1 at Gold's floor 7, a3 (Frog, unlisted model) at P's floor 3, a4 (no model) at 3; Q: 0.
    let m_ = |x: &str| Money::parse(x).unwrap();
    assert_eq!(p.count, 4);
    assert_eq!(p.value, m_("13"));
    assert_eq!(
        p.collections,
        vec![
            app::ports::reads::Holding { collection: "P".into(), count: 3, floor: Some(m_("3")), value: m_("13") },
            app::ports::reads::Holding { collection: "Q".into(), count: 1, floor: None, value: Money::ZERO },
        ]
    );
    assert_eq!(s.portfolio(UserId(3)).await.unwrap(), Default::default(), "nothing held");

    // Custody changes move the counts (PostgreSQL keeps them in a table by trigger: ADR 016); a
    // sale and a listing move only the listed counts and floors.
    let mut uow = begin(&*s).await;
    let (mut a1, mut a3, mut gone) = (a1, a3, gone);
    a1.transfer_to(UserId(2)); // sold: Gold keeps two in custody, one listed, at a2's 7
    uow.nfts().update(&a1).await.unwrap();
    a3.status = NftStatus::Withdrawing;
    uow.nfts().update(&a3).await.unwrap();
    gone.status = NftStatus::Available; // came back
    uow.nfts().update_custody(&gone).await.unwrap();
    uow.commit().await.unwrap();
    let panel = s.attribute_panel("P").await.unwrap().unwrap();
    assert_eq!(
        panel.model,
        vec![row("Ruby", 1, 1, 0, None), row("Gold", 2, 2, 1, Some("7")), row("Frog", 40, 1, 0, None)],
        "leaving (withdrawing) is still in custody; the returned one is back"
    );
    assert_eq!(panel.backdrop, vec![row("Blue", 30, 4, 1, Some("7"))]);
    let mut uow = begin(&*s).await;
    a3.status = NftStatus::Withdrawn;
    uow.nfts().update(&a3).await.unwrap();
    let mut a2 = a2;
    a2.set_price(UserId(2), Some(m_("4")), now()).unwrap();
    uow.nfts().update(&a2).await.unwrap();
    uow.commit().await.unwrap();
    let panel = s.attribute_panel("P").await.unwrap().unwrap();
    assert_eq!(panel.model, vec![row("Ruby", 1, 1, 0, None), row("Gold", 2, 2, 1, Some("4"))], "Frog has left");
    assert_eq!(panel.backdrop, vec![row("Blue", 30, 3, 1, Some("4"))]);
    let mut uow = begin(&*s).await;
    assert!(uow.nfts().insert(&make(7, 2, "P", Some(("Frog", 40)), None)).await.is_ok());
    uow.commit().await.unwrap();
    let panel = s.attribute_panel("P").await.unwrap().unwrap();
    assert_eq!(panel.model[2], row("Frog", 40, 1, 0, None), "a new one of a value that had left");
}

async fn gift_inbox<S: Store>(s: &S) -> Box<dyn ReceiveGiftUow> {
    Begin::<dyn ReceiveGiftUow>::begin(s, "conformance").await.expect("begin")
}

fn received(slug: &str, owned: &str) -> ReceivedGift {
    ReceivedGift {
        gift_id: slug.into(),
        collection: "Plush Pepe".into(),
        traits: GiftTraits {
            number: Some(7),
            model: Some(Attribute::new("Cozy Galaxy", 15).unwrap()),
            backdrop: None,
            symbol: Some(Attribute::new("Star", 4).unwrap()),
        },
        telegram: TelegramGift { owned_gift_id: owned.into(), transfer_star_count: Some(25) },
        can_transfer_at: Some(now()),
        from_blockchain: true,
    }
}

fn unmatched(slug: &str) -> UnmatchedGift {
    UnmatchedGift {
        id: UnmatchedGiftId(Uuid::now_v7()),
        gift: received(slug, "77"),
        sender_id: Some(UserId(5)),
        reason: UnmatchedReason::FromBlockchain,
        received_at: now(),
        assigned_to: None,
        assigned_at: None,
    }
}

async fn the_gift_inbox_notes_updates_once_and_keeps_one_open_unmatched_gift_each<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "0").await;
    let mut uow = gift_inbox(&*s).await;
    assert!(uow.gifts().claim_update(41, now()).await.unwrap(), "first time");
    assert!(!uow.gifts().claim_update(41, now()).await.unwrap(), "again in the same unit of work");
    let a = unmatched("gift-a");
    assert!(uow.gifts().insert_unmatched(&a).await.unwrap());
    assert!(!uow.gifts().insert_unmatched(&unmatched("gift-a")).await.unwrap(), "kept already: nothing changes");
    uow.commit().await.unwrap();

    let mut uow = gift_inbox(&*s).await;
    assert!(!uow.gifts().claim_update(41, now()).await.unwrap(), "committed: seen");
    assert!(uow.gifts().claim_update(42, now()).await.unwrap());
    uow.rollback().await;
    let mut uow = gift_inbox(&*s).await;
    assert!(uow.gifts().claim_update(42, now()).await.unwrap(), "a rolled-back claim is not kept");
    uow.rollback().await;

    let page = s.unmatched_gifts(PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items, vec![a.clone()], "read back whole");

    // Assigned: kept as history, and the same gift may be kept (unassigned) once more later.
    let mut uow = gift_inbox(&*s).await;
    let mut locked = uow.gifts().lock_unmatched(a.id).await.unwrap().unwrap();
    assert_eq!(locked, a);
    locked.assigned_to = Some(UserId(1));
    locked.assigned_at = Some(now());
    uow.gifts().update_unmatched(&locked).await.unwrap();
    uow.commit().await.unwrap();
    let mut uow = gift_inbox(&*s).await;
    assert!(uow.gifts().insert_unmatched(&unmatched("gift-a")).await.unwrap());
    assert_eq!(uow.gifts().lock_unmatched(UnmatchedGiftId(Uuid::nil())).await.unwrap(), None);
    uow.rollback().await;
    assert_eq!(s.unmatched_gifts(PageRequest::first(10)).await.unwrap().items, vec![locked.clone()]);

    let mut uow = gift_inbox(&*s).await;
    let mut orphan = locked.clone();
    orphan.assigned_to = Some(UserId(999));
    let failed = uow.gifts().update_unmatched(&orphan).await;
    assert!(matches!(failed, Err(RepoError::MissingReference(Constraint::UnmatchedGiftAssignee))), "{failed:?}");
}

async fn a_gift_is_found_by_its_id_and_its_custody_rewritten<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2], "0").await;
    let mut n = nft(1, "PlushPepe-7");
    n.telegram = Some(TelegramGift { owned_gift_id: "100".into(), transfer_star_count: None });
    let mut other = nft(1, "PlushPepe-8");
    other.telegram = Some(TelegramGift { owned_gift_id: "101".into(), transfer_star_count: None });
    let staff_registered = nft(1, "by-staff");
    let mut uow = gift_inbox(&*s).await;
    for x in [&n, &other, &staff_registered] {
        uow.nfts().insert(x).await.unwrap();
    }
    assert_eq!(uow.nfts().lock_by_gift_id("PlushPepe-7").await.unwrap().as_ref(), Some(&n));
    assert_eq!(uow.nfts().lock_by_gift_id("nope").await.unwrap(), None);
    uow.commit().await.unwrap();
    let later = now() + chrono::Duration::seconds(1);
    let mut held = s.gifts_in_custody(later).await.unwrap();
    held.sort();
    assert_eq!(held, ["PlushPepe-7", "PlushPepe-8"], "only gifts that came through Telegram");
    assert!(s.gifts_in_custody(n.created_at).await.unwrap().is_empty(), "only those registered before");

    // It left, then came back from someone else.
    let mut uow = gift_inbox(&*s).await;
    let mut gone = uow.nfts().lock_by_gift_id("PlushPepe-8").await.unwrap().unwrap();
    gone.status = NftStatus::Withdrawn;
    uow.nfts().update(&gone).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.gifts_in_custody(later).await.unwrap(), ["PlushPepe-7"], "a gift that left is not expected");

    // What a reconciliation found missing: audit reports those still in custody, and each
    // complete pass replaces the last one's.
    let mut uow = gift_inbox(&*s).await;
    uow.gifts().replace_missing(&["gone-long-ago".into(), "PlushPepe-8".into()], now()).await.unwrap();
    uow.commit().await.unwrap();
    assert!(s.audit_facts().await.unwrap().gifts_missing_from_account.is_empty(), "neither is held here");
    let mut uow = gift_inbox(&*s).await;
    uow.gifts().replace_missing(&["PlushPepe-7".into()], now()).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.audit_facts().await.unwrap().gifts_missing_from_account, ["PlushPepe-7"]);
    let mut uow = gift_inbox(&*s).await;
    uow.gifts().replace_missing(&[], now()).await.unwrap();
    uow.commit().await.unwrap();
    assert!(s.audit_facts().await.unwrap().gifts_missing_from_account.is_empty(), "replaced");
    let mut uow = gift_inbox(&*s).await;
    let mut back = uow.nfts().lock_by_gift_id("PlushPepe-8").await.unwrap().unwrap();
    assert!(back.come_back(UserId(2), &received("PlushPepe-8", "202")));
    uow.nfts().update_custody(&back).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.nft(back.id).await.unwrap(), Some(back.clone()), "owner, status, handles and time rewritten");
    assert_eq!(back.owner_id, UserId(2));

    let mut uow = gift_inbox(&*s).await;
    back.owner_id = UserId(999);
    let failed = uow.nfts().update_custody(&back).await;
    assert!(matches!(failed, Err(RepoError::MissingReference(Constraint::NftOwner))), "{failed:?}");
}

/// Number, model, backdrop, symbol, `can_transfer_at` and Telegram's handles come back as they
/// went in, through every way an NFT is read; an NFT without them reads back without them.
async fn an_nft_keeps_its_attributes_and_telegram_handles<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2], "5").await;
    let mut full = nft(1, "PlushPepe-1234");
    full.traits = GiftTraits {
        number: Some(1234),
        model: Some(Attribute::new("Cozy Galaxy", 15).unwrap()),
        backdrop: Some(Attribute::new("Midnight Blue", 0).unwrap()),
        symbol: Some(Attribute::new("Star", 1000).unwrap()),
    };
    full.can_transfer_at = Some(now() + chrono::Duration::days(7));
    full.telegram = Some(TelegramGift { owned_gift_id: "5123".into(), transfer_star_count: Some(25) });
    let mut free = nft(1, "PlushPepe-1235");
    free.telegram = Some(TelegramGift { owned_gift_id: "5124".into(), transfer_star_count: None });
    let bare = nft(1, "bare");
    let mut uow = begin(&*s).await;
    for n in [&full, &free, &bare] {
        uow.nfts().insert(n).await.unwrap();
    }
    uow.commit().await.unwrap();

    for n in [&full, &free, &bare] {
        assert_eq!(s.nft(n.id).await.unwrap().as_ref(), Some(n), "read side");
        let mut uow = begin(&*s).await;
        assert_eq!(uow.nfts().get(n.id).await.unwrap().as_ref(), Some(n), "get");
        assert_eq!(uow.nfts().lock(n.id).await.unwrap().as_ref(), Some(n), "lock");
        assert_eq!(uow.nfts().lock_all(&[n.id]).await.unwrap(), vec![n.clone()], "lock_all");
        let sale = uow.sales().lock_sale(n.id, UserId(2)).await.unwrap().unwrap();
        assert_eq!(&sale.nft, n, "lock_sale");
        uow.rollback().await;
    }
    let page = s.nfts(&listing(NftFilter { owner: Some(UserId(1)), ..Default::default() }, 10)).await.unwrap();
    assert_eq!(page.items, vec![bare.clone(), free.clone(), full.clone()], "the list, newest first");

    // A sale keeps them.
    let mut uow = begin(&*s).await;
    let mut sold = uow.nfts().lock(full.id).await.unwrap().unwrap();
    sold.transfer_to(UserId(2));
    uow.nfts().update(&sold).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.nft(full.id).await.unwrap(), Some(sold));
}

async fn accounts_are_created_read_locked_in_order_and_saved<S: Store>(s: Arc<S>) {
    let mut uow = begin(&*s).await;
    let created = uow.accounts().ensure_locked(UserId(2), Some("bob".into())).await.unwrap();
    assert_eq!(
        created,
        User { id: UserId(2), username: Some("bob".into()), available: Money::ZERO, held: Money::ZERO }
    );
    uow.accounts().ensure_locked(UserId(1), None).await.unwrap();
    let again = uow.accounts().ensure_locked(UserId(2), None).await.unwrap();
    assert_eq!(again.username.as_deref(), Some("bob"), "a missing username does not erase the known one");
    let locked = uow.accounts().lock(&[UserId(2), UserId(99), UserId(1), UserId(2)]).await.unwrap();
    assert_eq!(locked.iter().map(|u| u.id.0).collect::<Vec<_>>(), [1, 2], "ascending, deduplicated, missing omitted");
    let mut bob = locked[1].clone();
    bob.available = m("1.000000001");
    bob.held = m("2");
    uow.accounts().save(&bob).await.unwrap();
    assert_eq!(uow.accounts().get(UserId(2)).await.unwrap(), Some(bob.clone()), "own writes are visible");
    uow.commit().await.unwrap();
    assert_eq!(s.user(UserId(2)).await.unwrap(), Some(bob));
    assert_eq!(s.user(UserId(3)).await.unwrap(), None);
}

async fn nfts_are_inserted_updated_and_gift_ids_are_unique<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2], "0").await;
    let mut uow = begin(&*s).await;
    let mut n = nft(1, "gift-1");
    uow.nfts().insert(&n).await.unwrap();
    n.price = Some(m("5"));
    n.owner_id = UserId(2);
    uow.nfts().update(&n).await.unwrap();
    assert_eq!(uow.nfts().lock(n.id).await.unwrap(), Some(n.clone()));
    n.price = None;
    n.status = NftStatus::Withdrawing;
    uow.nfts().update(&n).await.unwrap();
    assert_eq!(uow.nfts().lock(n.id).await.unwrap(), Some(n.clone()));
    let dup = uow.nfts().insert(&nft(1, "gift-1")).await;
    assert!(matches!(dup, Err(RepoError::Duplicate(Constraint::GiftId))), "{dup:?}");
    drop(uow);

    let mut uow = begin(&*s).await;
    let n = nft(1, "gift-2");
    uow.nfts().insert(&n).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.nft(n.id).await.unwrap(), Some(n.clone()));
    let mut uow = begin(&*s).await;
    assert_eq!(uow.nfts().get(n.id).await.unwrap(), Some(n));
    assert_eq!(uow.nfts().get(NftId(Uuid::nil())).await.unwrap(), None);
    let orphan = uow.nfts().insert(&nft(77, "gift-3")).await;
    assert!(matches!(orphan, Err(RepoError::MissingReference(_))), "{orphan:?}");
}

async fn a_sale_locks_the_nft_the_buyers_open_offer_and_both_accounts<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2, 3], "5").await;
    let (a, b) = (nft(1, "gift-sale-a"), nft(3, "gift-sale-b"));
    let (mine, theirs, elsewhere) = (offer(a.id, 2, "1"), offer(a.id, 3, "2"), offer(b.id, 2, "3"));
    let mut uow = begin(&*s).await;
    uow.nfts().insert(&a).await.unwrap();
    uow.nfts().insert(&b).await.unwrap();
    for o in [&mine, &theirs, &elsewhere] {
        uow.offers().insert(o).await.unwrap();
    }
    uow.commit().await.unwrap();
    let user = |id: i64| User { id: UserId(id), username: None, available: m("5"), held: Money::ZERO };

    let mut uow = begin(&*s).await;
    let sale = uow.sales().lock_sale(a.id, UserId(2)).await.unwrap().expect("the NFT exists");
    assert_eq!(
        sale,
        domain::ports::SaleLocks { nft: a.clone(), own_offer: Some(mine.clone()), parties: vec![user(1), user(2)] }
    );
    let stranger = uow.sales().lock_sale(a.id, UserId(99)).await.unwrap().unwrap();
    assert_eq!((stranger.own_offer, stranger.parties), (None, vec![user(1)]), "an unknown buyer has no account");
    let own = uow.sales().lock_sale(a.id, UserId(1)).await.unwrap().unwrap();
    assert_eq!(own.parties, vec![user(1)], "the owner once");
    assert_eq!(uow.sales().lock_sale(NftId(Uuid::nil()), UserId(2)).await.unwrap(), None);
    drop(uow);

    // A sale waiting for the NFT sees the owner it has once the lock is free.
    let mut first = begin(&*s).await;
    first.sales().lock_sale(a.id, UserId(2)).await.unwrap().unwrap();
    let waiting = {
        let s = s.clone();
        tokio::spawn(async move {
            let mut uow = begin(&*s).await;
            let sale = uow.sales().lock_sale(a.id, UserId(3)).await.unwrap().unwrap();
            (sale.nft.owner_id, sale.parties.iter().map(|u| u.id.0).collect::<Vec<_>>())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut sold = a.clone();
    sold.owner_id = UserId(2);
    first.nfts().update(&sold).await.unwrap();
    first.commit().await.unwrap();
    assert_eq!(waiting.await.unwrap(), (UserId(2), vec![2, 3]));

    // A write to a row that does not exist fails the Unit of Work, at the latest at commit.
    let mut uow = begin(&*s).await;
    let ghost = nft(1, "gift-ghost");
    let failed = async {
        uow.nfts().update(&ghost).await?;
        uow.commit().await
    }
    .await;
    assert!(failed.is_err(), "{failed:?}");
}

async fn memos_cursors_unmatched_deposits_and_the_wallet_journal<S: Store>(s: Arc<S>) {
    use app::deposits::record_chain::RecordChainTransactionUow;
    use app::ports::{TransferState, WalletTransfer};
    use app::withdrawals::request::WithdrawUow;
    users(&*s, &[1, 2], "0").await;
    let chain = || async { Begin::<dyn RecordChainTransactionUow>::begin(&*s, "conformance").await.unwrap() };

    let mut uow = chain().await;
    uow.chain().insert_memo(UserId(1), "aaaaaaaaaa").await.unwrap();
    drop(uow);
    let mut uow = chain().await;
    assert_eq!(uow.chain().memo_of(UserId(1)).await.unwrap(), None, "rolled back with its Unit of Work");
    uow.chain().insert_memo(UserId(1), "aaaaaaaaaa").await.unwrap();
    uow.commit().await.unwrap();
    for (user, memo) in [(2, "aaaaaaaaaa"), (1, "bbbbbbbbbb")] {
        let mut uow = chain().await;
        let taken = uow.chain().insert_memo(UserId(user), memo).await;
        assert!(matches!(taken, Err(RepoError::Duplicate(_))), "a memo is one user's, a user has one: {taken:?}");
        // After a failed statement the Unit of Work cannot commit (PostgreSQL aborted it).
        assert!(uow.commit().await.is_err(), "committed after a failed statement");
    }
    let mut uow = chain().await;
    assert_eq!(uow.chain().memo_of(UserId(1)).await.unwrap().as_deref(), Some("aaaaaaaaaa"));
    assert_eq!(uow.chain().user_by_memo("aaaaaaaaaa").await.unwrap(), Some(UserId(1)));
    assert_eq!(uow.chain().user_by_memo("cccccccccc").await.unwrap(), None);

    // The cursor: empty, then where it was saved; a rolled-back move is forgotten.
    assert_eq!(uow.chain().lock_cursor("0:dep").await.unwrap(), None);
    let at = ChainCursor { lt: 47_000_000_000_123, hash: "h1".into() };
    uow.chain().save_cursor("0:dep", &at).await.unwrap();
    uow.commit().await.unwrap();
    let mut uow = chain().await;
    assert_eq!(uow.chain().lock_cursor("0:dep").await.unwrap(), Some(at.clone()));
    uow.chain().save_cursor("0:dep", &ChainCursor { lt: 1, hash: "x".into() }).await.unwrap();
    drop(uow);
    let mut uow = chain().await;
    assert_eq!(uow.chain().lock_cursor("0:dep").await.unwrap(), Some(at));
    assert_eq!(uow.chain().lock_cursor("0:other").await.unwrap(), None, "one cursor per account");

    // Unmatched deposits: one per transaction; assigned by staff.
    let mut kept = UnmatchedDeposit {
        id: UnmatchedDepositId(Uuid::now_v7()),
        tx_hash: "t1".into(),
        sender: "0:11".into(),
        amount: m("2.000000001"),
        comment: Some("for pizza".into()),
        received_at: now(),
        assigned_to: None,
        assigned_at: None,
    };
    assert!(uow.unmatched().insert(&kept).await.unwrap());
    let again = UnmatchedDeposit { id: UnmatchedDepositId(Uuid::now_v7()), ..kept.clone() };
    assert!(!uow.unmatched().insert(&again).await.unwrap(), "one per transaction, and the Unit of Work goes on");
    uow.commit().await.unwrap();
    let mut uow = chain().await;
    assert_eq!(uow.unmatched().lock(kept.id).await.unwrap(), Some(kept.clone()));
    kept.assigned_to = Some(UserId(2));
    kept.assigned_at = Some(now());
    uow.unmatched().update(&kept).await.unwrap();
    uow.commit().await.unwrap();
    let page = s.unmatched_deposits(PageRequest { limit: 10, after: None }).await.unwrap();
    assert_eq!(page.items, vec![kept]);

    // The wallet journal: one transfer in flight per wallet, one live per withdrawal.
    let withdrawal = |user: i64| Withdrawal {
        id: WithdrawalId(Uuid::now_v7()),
        user_id: UserId(user),
        amount: m("1"),
        address: "0:ab".into(),
        status: WithdrawalStatus::Pending,
        tx_hash: None,
        created_at: now(),
    };
    let (w1, w2) = (withdrawal(1), withdrawal(2));
    let mut uow = Begin::<dyn WithdrawUow>::begin(&*s, "conformance").await.unwrap();
    uow.withdrawals().insert(&w1).await.unwrap();
    uow.withdrawals().insert(&w2).await.unwrap();
    uow.commit().await.unwrap();
    let transfer = |w: &Withdrawal, hash: &str, seqno: u32| WalletTransfer {
        msg_hash: hash.into(),
        withdrawal_id: w.id,
        wallet: "0:wallet".into(),
        seqno,
        destination: "0:ab".into(),
        amount: m("1"),
        valid_until: now() + chrono::Duration::seconds(60),
        boc: "te6cc".into(),
        state: TransferState::InFlight,
        tx_hash: None,
        created_at: now(),
    };
    assert_eq!(s.transfer_of(w1.id).await.unwrap(), None);
    let t1 = transfer(&w1, "m1", 5);
    s.record(&t1).await.unwrap();
    let busy = s.record(&transfer(&w2, "m2", 5)).await;
    assert!(matches!(busy, Err(RepoError::Duplicate(_))), "one seqno in use per wallet: {busy:?}");
    assert_eq!(s.in_flight("0:wallet").await.unwrap(), Some(t1.clone()));
    assert_eq!(s.in_flight("0:another").await.unwrap(), None);
    s.settle("m1", TransferState::Expired, None).await.unwrap();
    let t3 = transfer(&w1, "m3", 5);
    s.record(&t3).await.expect("an expired transfer frees its withdrawal and the wallet");
    s.settle("m3", TransferState::Landed, Some("tx3")).await.unwrap();
    s.settle("m3", TransferState::Expired, None).await.unwrap(); // not in flight: nothing changes
    let landed = s.transfer_of(w1.id).await.unwrap().unwrap();
    assert_eq!(
        (landed.msg_hash.as_str(), landed.state, landed.tx_hash.as_deref()),
        ("m3", TransferState::Landed, Some("tx3"))
    );
    let twice = s.record(&transfer(&w1, "m4", 6)).await;
    assert!(matches!(twice, Err(RepoError::Duplicate(_))), "never two payouts of one withdrawal: {twice:?}");
    s.record(&transfer(&w2, "m5", 6)).await.expect("the wallet is free again");
}

async fn one_open_offer_per_user_and_nft<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2, 3], "0").await;
    let mut uow = begin(&*s).await;
    let n = nft(1, "gift-o");
    uow.nfts().insert(&n).await.unwrap();
    uow.commit().await.unwrap();

    let mut uow = begin(&*s).await;
    let mut first = offer(n.id, 2, "1");
    uow.offers().insert(&first).await.unwrap();
    uow.offers().insert(&offer(n.id, 3, "2")).await.unwrap();
    uow.commit().await.unwrap();

    let mut uow = begin(&*s).await;
    let dup = uow.offers().insert(&offer(n.id, 2, "3")).await;
    assert!(matches!(dup, Err(RepoError::Duplicate(Constraint::OneOpenOfferPerUserAndNft))), "{dup:?}");
    drop(uow);

    let mut uow = begin(&*s).await;
    assert_eq!(uow.offers().lock_open_by(n.id, UserId(2)).await.unwrap(), Some(first.clone()));
    assert_eq!(uow.offers().lock_open_for_nft(n.id).await.unwrap().len(), 2);
    first.close(OfferStatus::Cancelled);
    uow.offers().update(&first).await.unwrap();
    assert_eq!(uow.offers().lock_open_by(n.id, UserId(2)).await.unwrap(), None);
    uow.offers().insert(&offer(n.id, 2, "4")).await.expect("a closed offer frees the slot");
    uow.commit().await.unwrap();
}

async fn deposits_are_unique_by_tx_hash<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "0").await;
    let d = Deposit {
        id: DepositId(Uuid::now_v7()),
        user_id: UserId(1),
        amount: m("3"),
        tx_hash: "h1".into(),
        created_at: now(),
    };
    let mut uow = Begin::<dyn CreditDepositUow>::begin(&*s, "conformance").await.unwrap();
    assert_eq!(uow.deposits().find_by_tx_hash("h1").await.unwrap(), None);
    uow.deposits().insert(&d).await.unwrap();
    uow.commit().await.unwrap();
    let mut uow = Begin::<dyn CreditDepositUow>::begin(&*s, "conformance").await.unwrap();
    assert_eq!(uow.deposits().find_by_tx_hash("h1").await.unwrap(), Some(d.clone()));
    let dup = uow.deposits().insert(&Deposit { id: DepositId(Uuid::now_v7()), ..d }).await;
    assert!(matches!(dup, Err(RepoError::Duplicate(Constraint::DepositTxHash))), "{dup:?}");
}

fn client(email: &str) -> Client {
    Client {
        id: ClientId(Uuid::now_v7()),
        fio: "Ivan".into(),
        age: 30,
        description: String::new(),
        mobile: Mobile::parse("+79991234567").unwrap(),
        email: Email::parse(email).unwrap(),
        created_at: now(),
    }
}

fn manager() -> Manager {
    Manager {
        id: ManagerId(Uuid::now_v7()),
        name: "Anna".into(),
        telegram_username: None,
        active: true,
        created_at: now(),
    }
}

async fn clients_managers_and_binds_keep_their_constraints<S: Store>(s: Arc<S>) {
    let mgr = manager();
    let c = client("a@example.com");
    let mut uow = Begin::<dyn CreatePartnerUow>::begin(&*s, "conformance").await.unwrap();
    uow.managers().insert(&mgr).await.unwrap();
    uow.clients().insert(&c).await.unwrap();
    assert_eq!(uow.managers().get_for_share(mgr.id).await.unwrap(), Some(mgr.clone()));
    let bind = ManagerBind { client_id: c.id, manager_id: mgr.id, priority: 2, created_at: now() };
    uow.manager_binds().insert(&bind).await.unwrap();
    uow.commit().await.unwrap();

    let view = s.client(c.id).await.unwrap().unwrap();
    assert_eq!(view.client, c);
    assert_eq!(view.managers, vec![(bind.clone(), mgr.clone())]);
    assert_eq!(s.manager_clients(mgr.id).await.unwrap(), Some(vec![(bind.clone(), c.clone())]));
    assert_eq!(s.manager_clients(ManagerId(Uuid::nil())).await.unwrap(), None);

    let mut uow = Begin::<dyn CreatePartnerUow>::begin(&*s, "conformance").await.unwrap();
    let dup = uow.clients().insert(&client("a@example.com")).await;
    assert!(matches!(dup, Err(RepoError::Duplicate(Constraint::ClientEmail))), "{dup:?}");
    drop(uow);
    let mut uow = Begin::<dyn CreatePartnerUow>::begin(&*s, "conformance").await.unwrap();
    let dup = uow.manager_binds().insert(&bind).await;
    assert!(matches!(dup, Err(RepoError::Duplicate(_))), "{dup:?}");
    drop(uow);
    let mut uow = Begin::<dyn CreatePartnerUow>::begin(&*s, "conformance").await.unwrap();
    let c2 = client("b@example.com");
    uow.clients().insert(&c2).await.unwrap();
    let orphan = uow
        .manager_binds()
        .insert(&ManagerBind { client_id: c2.id, manager_id: ManagerId(Uuid::nil()), priority: 0, created_at: now() })
        .await;
    assert!(matches!(orphan, Err(RepoError::MissingReference(_))), "{orphan:?}");
    drop(uow);
    assert_eq!(s.client(c2.id).await.unwrap(), None, "the failed unit of work left no client behind");
}

async fn a_dropped_unit_of_work_rolls_everything_back<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "5").await;
    let mut uow = begin(&*s).await;
    let mut u = uow.accounts().lock(&[UserId(1)]).await.unwrap().remove(0);
    u.available = m("0");
    uow.accounts().save(&u).await.unwrap();
    uow.accounts().ensure_locked(UserId(2), None).await.unwrap();
    let n = nft(1, "gift-r");
    uow.nfts().insert(&n).await.unwrap();
    let logs = common::CapturedLogs::default();
    tracing::subscriber::with_default(logs.subscriber(), || drop(uow));
    let warned = logs.text();
    assert!(warned.contains("WARN") && warned.contains("dropped without commit"), "logged: {warned}");
    assert!(warned.contains("conformance"), "the log names the use case: {warned}");
    assert_eq!(s.user(UserId(1)).await.unwrap().unwrap().available, m("5"));
    assert_eq!(s.user(UserId(2)).await.unwrap(), None);
    assert_eq!(s.nft(n.id).await.unwrap(), None);
}

async fn an_explicit_rollback_keeps_nothing_and_logs_nothing<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "5").await;
    let mut uow = begin(&*s).await;
    let mut u = uow.accounts().lock(&[UserId(1)]).await.unwrap().remove(0);
    u.available = m("0");
    uow.accounts().save(&u).await.unwrap();
    let n = nft(1, "gift-rb");
    uow.nfts().insert(&n).await.unwrap();
    let logs = common::CapturedLogs::default();
    let rolled_back = uow.rollback();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    rolled_back.await;
    assert!(!logs.text().contains("WARN"), "a rollback is the normal end of a no-op: {}", logs.text());
    assert_eq!(s.user(UserId(1)).await.unwrap().unwrap().available, m("5"));
    assert_eq!(s.nft(n.id).await.unwrap(), None);
}

async fn an_error_midway_rolls_back_the_earlier_writes<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "0").await;
    let mut uow = begin(&*s).await;
    uow.nfts().insert(&nft(1, "taken")).await.unwrap();
    uow.commit().await.unwrap();

    let mut uow = begin(&*s).await;
    let mut u = uow.accounts().lock(&[UserId(1)]).await.unwrap().remove(0);
    u.available = m("100");
    uow.accounts().save(&u).await.unwrap();
    let failed = uow.nfts().insert(&nft(1, "taken")).await;
    assert!(failed.is_err());
    drop(uow);
    assert_eq!(s.user(UserId(1)).await.unwrap().unwrap().available, Money::ZERO);
}

async fn uncommitted_writes_are_invisible_to_others<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "1").await;
    let mut uow = begin(&*s).await;
    let mut u = uow.accounts().lock(&[UserId(1)]).await.unwrap().remove(0);
    u.available = m("42");
    uow.accounts().save(&u).await.unwrap();
    let n = nft(1, "gift-i");
    uow.nfts().insert(&n).await.unwrap();

    assert_eq!(s.user(UserId(1)).await.unwrap().unwrap().available, m("1"), "reader sees the committed balance");
    assert_eq!(s.nft(n.id).await.unwrap(), None, "reader does not see the uncommitted NFT");

    uow.commit().await.unwrap();
    assert_eq!(s.user(UserId(1)).await.unwrap().unwrap().available, m("42"));
    assert!(s.nft(n.id).await.unwrap().is_some());
}

async fn a_locked_row_makes_a_second_writer_wait_and_no_update_is_lost<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "0").await;
    let mut first = begin(&*s).await;
    let mut u = first.accounts().lock(&[UserId(1)]).await.unwrap().remove(0);
    u.credit(m("1"));
    first.accounts().save(&u).await.unwrap();

    let s2 = s.clone();
    let second = tokio::spawn(async move {
        let mut uow = begin(&*s2).await;
        let mut u = uow.accounts().lock(&[UserId(1)]).await.unwrap().remove(0);
        u.credit(m("2"));
        uow.accounts().save(&u).await.unwrap();
        uow.commit().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second writer must wait for the row lock");
    first.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), second).await.expect("second writer finishes").unwrap();
    assert_eq!(s.user(UserId(1)).await.unwrap().unwrap().available, m("3"), "both increments survive");
}

async fn ledger_and_outbox_are_written_with_the_unit_of_work<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "0").await;
    let mut uow = begin(&*s).await;
    let mut entries = Vec::new();
    for amount in ["1", "2", "3"] {
        let p = Posting::new(OperationId(Uuid::now_v7()), Operation::Deposit, "tx", now()).transfer(
            (None, Account::External),
            (Some(UserId(1)), Account::Available),
            m(amount),
        );
        entries.extend(p.finish(|| LedgerEntryId(Uuid::now_v7())));
    }
    uow.ledger().append(&entries).await.unwrap();
    uow.outbox()
        .enqueue(&OutboxMessage {
            id: OutboxId(Uuid::now_v7()),
            payload: OutboxPayload::Notify { user_id: UserId(1), text: "hi".into() },
            created_at: now(),
        })
        .await
        .unwrap();
    let mut u = uow.accounts().lock(&[UserId(1)]).await.unwrap().remove(0);
    u.available = m("6");
    uow.accounts().save(&u).await.unwrap();
    uow.commit().await.unwrap();

    let page = s.ledger(UserId(1), PageRequest::first(2)).await.unwrap();
    let amounts: Vec<Decimal> = page.items.iter().map(|e| e.amount).collect();
    assert_eq!(amounts, [Decimal::from(3), Decimal::from(2)], "newest first, only the user's side");
    let after = PageRequest::decode_cursor(page.next_cursor.as_deref().unwrap());
    let rest = s.ledger(UserId(1), PageRequest { limit: 2, after }).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next_cursor, None);

    // The live stream's read: the entries of the users asked for, after an id, oldest first.
    let mine: Vec<LedgerEntry> = entries.iter().filter(|e| e.user_id == Some(UserId(1))).cloned().collect();
    let start = Uuid::nil();
    assert_eq!(s.ledger_after(start, &[UserId(1), UserId(9)], 100).await.unwrap(), mine);
    assert_eq!(s.ledger_after(mine[0].id.0, &[UserId(1)], 1).await.unwrap(), [mine[1].clone()]);
    assert!(s.ledger_after(start, &[UserId(9)], 100).await.unwrap().is_empty());
    assert!(s.ledger_after(start, &[], 100).await.unwrap().is_empty());

    let facts = s.audit_facts().await.unwrap();
    assert!(facts.unbalanced_operations.is_empty());
    assert_eq!(facts.users[0].ledger_available, Decimal::from(6));
    assert_eq!(app::audit::check(&facts).len(), 1, "no deposits rows: money is not conserved, and audit says so");
}

async fn nft_queries_filter_and_page<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2], "0").await;
    let mut uow = begin(&*s).await;
    let mut a = nft(1, "a");
    a.price = Some(m("1"));
    let b = nft(1, "b");
    let mut c = nft(2, "c");
    c.collection = "other".into();
    for n in [&a, &b, &c] {
        uow.nfts().insert(n).await.unwrap();
    }
    uow.commit().await.unwrap();
    let ids = |p: app::ports::reads::Page<Nft>| p.items.into_iter().map(|n| n.id).collect::<Vec<_>>();
    let all = NftFilter::default();
    assert_eq!(ids(s.nfts(&listing(all.clone(), 10)).await.unwrap()), [c.id, b.id, a.id]);
    let listed = NftFilter { listed: Some(true), ..Default::default() };
    assert_eq!(ids(s.nfts(&listing(listed, 10)).await.unwrap()), [a.id]);
    let unlisted_of_1 = NftFilter { listed: Some(false), owner: Some(UserId(1)), ..Default::default() };
    assert_eq!(ids(s.nfts(&listing(unlisted_of_1, 10)).await.unwrap()), [b.id]);
    let other = NftFilter { collections: vec!["other".into()], ..Default::default() };
    assert_eq!(ids(s.nfts(&listing(other, 10)).await.unwrap()), [c.id]);
    let p1 = s.nfts(&listing(all.clone(), 2)).await.unwrap();
    let after = NftCursor::decode(NftSort::Newest, p1.next_cursor.as_deref().unwrap());
    assert!(after.is_some());
    let rest = NftQuery { filter: all.clone(), sort: NftSort::Newest, after, limit: 2 };
    assert_eq!(ids(s.nfts(&rest).await.unwrap()), [a.id]);
}

async fn ensure_user_creates_once_and_keeps_balances<S: Store>(s: Arc<S>) {
    let u = s.ensure_user(UserId(9), Some("neo".into())).await.unwrap();
    assert_eq!((u.available, u.held, u.username.as_deref()), (Money::ZERO, Money::ZERO, Some("neo")));
    users(&*s, &[9], "4").await;
    let again = s.ensure_user(UserId(9), Some("trinity".into())).await.unwrap();
    assert_eq!((again.available, again.username.as_deref()), (m("4"), Some("trinity")));
    assert!(s.ping().await.is_ok());
}

async fn auctions_allow_one_active_per_nft_and_keep_their_bids<S: Store>(s: Arc<S>) {
    use app::auctions::bid::PlaceBidUow;
    use app::ports::reads::AuctionFilter;
    users(&*s, &[1, 2], "0").await;
    let n = nft(1, "gift-a");
    let mut uow = begin(&*s).await;
    uow.nfts().insert(&n).await.unwrap();
    uow.commit().await.unwrap();

    let terms = AuctionTerms::new(m("10"), Some(5), None, 3600).unwrap();
    let mut a = Auction::open(AuctionId(Uuid::now_v7()), n.id, UserId(1), &terms, now());
    let mut uow = Begin::<dyn PlaceBidUow>::begin(&*s, "conformance").await.unwrap();
    uow.auctions().insert(&a).await.unwrap();
    let second = Auction::open(AuctionId(Uuid::now_v7()), n.id, UserId(1), &terms, now());
    let dup = uow.auctions().insert(&second).await;
    assert!(matches!(dup, Err(RepoError::Duplicate(Constraint::OneActiveAuctionPerNft))), "{dup:?}");
    drop(uow);

    let mut uow = Begin::<dyn PlaceBidUow>::begin(&*s, "conformance").await.unwrap();
    uow.auctions().insert(&a).await.unwrap();
    a.accept_bid(UserId(2), m("10"), now(), chrono::Duration::zero()).unwrap();
    let low =
        Bid { id: BidId(Uuid::now_v7()), auction_id: a.id, bidder_id: UserId(2), amount: m("10"), created_at: now() };
    let high =
        Bid { id: BidId(Uuid::now_v7()), auction_id: a.id, bidder_id: UserId(2), amount: m("12"), created_at: now() };
    uow.auctions().insert_bid(&low).await.unwrap();
    uow.auctions().insert_bid(&high).await.unwrap();
    uow.auctions().update(&a).await.unwrap();
    assert_eq!(uow.auctions().lock(a.id).await.unwrap(), Some(a.clone()));
    uow.commit().await.unwrap();

    let (read, bids) = s.auction(a.id).await.unwrap().unwrap();
    assert_eq!(read, a);
    assert_eq!(bids, vec![high, low], "highest first");
    let active = AuctionFilter { status: Some(AuctionStatus::Active), nft: Some(n.id) };
    assert_eq!(s.auctions(&active, PageRequest::first(10)).await.unwrap().items, vec![a.clone()]);

    let mut uow = Begin::<dyn PlaceBidUow>::begin(&*s, "conformance").await.unwrap();
    a.settle();
    uow.auctions().update(&a).await.unwrap();
    uow.auctions().insert(&second).await.expect("a settled auction frees the NFT for a new one");
    uow.commit().await.unwrap();
    let facts = s.audit_facts().await.unwrap();
    assert!(facts.nfts_with_several_auctions.is_empty());
}

async fn presales_and_withdrawals_round_trip<S: Store>(s: Arc<S>) {
    use app::ports::reads::PresaleFilter;
    use app::presales::buy::BuyPresaleUow;
    use app::withdrawals::request::WithdrawUow;
    users(&*s, &[1, 2], "0").await;
    let mut p = Presale {
        id: PresaleId(Uuid::now_v7()),
        seller_id: UserId(1),
        title: "Cake".into(),
        collection: "cakes".into(),
        price: m("20"),
        collateral: m("4"),
        deliver_by: now() + chrono::Duration::days(1),
        buyer_id: None,
        status: PresaleStatus::Open,
        nft_id: None,
        created_at: now(),
    };
    let mut uow = Begin::<dyn BuyPresaleUow>::begin(&*s, "conformance").await.unwrap();
    uow.presales().insert(&p).await.unwrap();
    p.sell_to(UserId(2), None, now()).unwrap();
    uow.presales().update(&p).await.unwrap();
    assert_eq!(uow.presales().lock(p.id).await.unwrap(), Some(p.clone()));
    uow.commit().await.unwrap();
    assert_eq!(s.presale(p.id).await.unwrap(), Some(p.clone()));
    let sold = PresaleFilter { status: Some(PresaleStatus::Sold), seller: Some(UserId(1)) };
    assert_eq!(s.presales(&sold, PageRequest::first(5)).await.unwrap().items.len(), 1);
    let open = PresaleFilter { status: Some(PresaleStatus::Open), seller: None };
    assert!(s.presales(&open, PageRequest::first(5)).await.unwrap().items.is_empty());

    let mut w = Withdrawal {
        id: WithdrawalId(Uuid::now_v7()),
        user_id: UserId(2),
        amount: m("3"),
        address: "0:ab".into(),
        status: WithdrawalStatus::Pending,
        tx_hash: None,
        created_at: now(),
    };
    let mut uow = Begin::<dyn WithdrawUow>::begin(&*s, "conformance").await.unwrap();
    uow.withdrawals().insert(&w).await.unwrap();
    w.status = WithdrawalStatus::Sent;
    w.tx_hash = Some("tx".into());
    uow.withdrawals().update(&w).await.unwrap();
    assert_eq!(uow.withdrawals().lock(w.id).await.unwrap(), Some(w.clone()));
    uow.commit().await.unwrap();
    assert_eq!(s.withdrawal(w.id).await.unwrap(), Some(w.clone()));
    assert_eq!(s.withdrawals(UserId(2), PageRequest::first(5)).await.unwrap().items, vec![w]);
    assert!(s.withdrawals(UserId(1), PageRequest::first(5)).await.unwrap().items.is_empty());
}

async fn offers_are_read_by_nft_and_by_involvement<S: Store>(s: Arc<S>) {
    use app::ports::reads::OfferFilter;
    users(&*s, &[1, 2, 3], "0").await;
    let n = nft(1, "gift-q");
    let o = offer(n.id, 2, "1");
    let mut uow = begin(&*s).await;
    uow.nfts().insert(&n).await.unwrap();
    uow.offers().insert(&o).await.unwrap();
    assert_eq!(uow.offers().get(o.id).await.unwrap(), Some(o.clone()));
    assert_eq!(uow.offers().lock(o.id).await.unwrap(), Some(o.clone()));
    uow.commit().await.unwrap();
    assert_eq!(s.offer(o.id).await.unwrap(), Some(o.clone()));
    assert_eq!(s.offers(&OfferFilter::Nft(n.id), PageRequest::first(5)).await.unwrap().items, vec![o.clone()]);
    assert_eq!(
        s.offers(&OfferFilter::Involving(UserId(1)), PageRequest::first(5)).await.unwrap().items.len(),
        1,
        "received"
    );
    assert_eq!(
        s.offers(&OfferFilter::Involving(UserId(2)), PageRequest::first(5)).await.unwrap().items.len(),
        1,
        "made"
    );
    assert!(s.offers(&OfferFilter::Involving(UserId(3)), PageRequest::first(5)).await.unwrap().items.is_empty());
}

async fn due_work_is_found_by_time<S: Store>(s: Arc<S>) {
    use app::auctions::bid::PlaceBidUow;
    users(&*s, &[1, 2], "0").await;
    let n = nft(1, "gift-d");
    let mut o = offer(n.id, 2, "1");
    o.expires_at = now() + chrono::Duration::seconds(60);
    let a = Auction::open(
        AuctionId(Uuid::now_v7()),
        n.id,
        UserId(1),
        &AuctionTerms::new(m("1"), None, None, 120).unwrap(),
        now(),
    );
    let mut uow = Begin::<dyn PlaceBidUow>::begin(&*s, "conformance").await.unwrap();
    uow.nfts().insert(&n).await.unwrap();
    uow.offers().insert(&o).await.unwrap();
    uow.auctions().insert(&a).await.unwrap();
    uow.commit().await.unwrap();
    let t = now();
    assert!(s.due_offers(t, 10).await.unwrap().is_empty());
    assert!(s.due_auctions(t, 10).await.unwrap().is_empty());
    assert_eq!(s.due_offers(t + chrono::Duration::seconds(60), 10).await.unwrap(), vec![o.id]);
    assert!(s.due_auctions(t + chrono::Duration::seconds(60), 10).await.unwrap().is_empty());
    assert_eq!(s.due_auctions(t + chrono::Duration::seconds(121), 10).await.unwrap(), vec![a.id]);
    assert!(s.due_presales(t + chrono::Duration::days(100), 10).await.unwrap().is_empty());
    assert!(s.due_offers(t + chrono::Duration::seconds(60), 0).await.unwrap().is_empty(), "the limit holds");
}

fn notify(user: i64, text: &str) -> OutboxMessage {
    OutboxMessage {
        id: OutboxId(Uuid::now_v7()),
        payload: OutboxPayload::Notify { user_id: UserId(user), text: text.into() },
        created_at: now(),
    }
}

/// A relay pass records its deliveries in one write: every row named, none other.
async fn deliveries_of_a_batch_are_recorded_together<S: Store>(s: Arc<S>) {
    let t = now() + chrono::Duration::seconds(1);
    let lease = t + chrono::Duration::seconds(60);
    let rows = [notify(1, "x"), notify(2, "y"), notify(3, "z")];
    let mut uow = begin(&*s).await;
    for r in &rows {
        uow.outbox().enqueue(r).await.unwrap();
    }
    uow.commit().await.unwrap();
    assert_eq!(s.claim(t, 10, lease).await.unwrap().len(), 3);
    s.delivered(&[(rows[0].id, 1), (rows[2].id, 4)], t).await.unwrap();
    s.delivered(&[], t).await.unwrap();
    assert_eq!(s.backlog().await.unwrap(), 1, "only y is left");
    let after_lease = s.claim(lease, 10, lease + chrono::Duration::seconds(60)).await.unwrap();
    assert_eq!(after_lease.iter().map(|c| c.message.id).collect::<Vec<_>>(), [rows[1].id]);
    assert_eq!(s.purge_delivered(t + chrono::Duration::seconds(1), 100).await.unwrap(), 2);
}

async fn the_outbox_queue_leases_reschedules_and_never_sees_rolled_back_rows<S: Store>(s: Arc<S>) {
    let t = now() + chrono::Duration::seconds(1);
    let lease = t + chrono::Duration::seconds(60);
    let mut uow = begin(&*s).await;
    uow.outbox().enqueue(&notify(1, "rolled back")).await.unwrap();
    drop(uow);
    assert!(s.claim(t, 10, lease).await.unwrap().is_empty(), "a rolled back unit of work leaves no outbox row");

    let (a, b) = (notify(1, "a"), notify(2, "b"));
    let mut uow = begin(&*s).await;
    uow.outbox().enqueue(&a).await.unwrap();
    uow.outbox().enqueue(&b).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.backlog().await.unwrap(), 2);

    let first = s.claim(t, 1, lease).await.unwrap();
    let second = s.claim(t, 10, lease).await.unwrap();
    assert_eq!((first.len(), second.len()), (1, 1), "a leased row is not claimed twice");
    assert_ne!(first[0].message.id, second[0].message.id);
    assert!(s.claim(t, 10, lease).await.unwrap().is_empty());
    let again = s.claim(lease, 10, lease + chrono::Duration::seconds(60)).await.unwrap();
    assert_eq!(again.len(), 2, "after the lease a crashed relay's rows come back");

    s.delivered(&[(a.id, 1)], t).await.unwrap();
    s.retry_at(b.id, 1, t + chrono::Duration::seconds(30), "busy").await.unwrap();
    assert!(
        s.claim(t + chrono::Duration::seconds(29), 10, lease).await.unwrap().is_empty(),
        "not before its retry time"
    );
    let retried = s.claim(t + chrono::Duration::seconds(30), 10, lease).await.unwrap();
    assert_eq!((retried.len(), retried[0].attempts, retried[0].message.clone()), (1, 1, b.clone()));
    s.give_up(b.id, 2, "enough", t).await.unwrap();
    assert_eq!(s.backlog().await.unwrap(), 0);
    assert!(s.claim(t + chrono::Duration::days(1), 10, lease + chrono::Duration::days(1)).await.unwrap().is_empty());
}

async fn idempotency_keys_are_claimed_with_the_unit_of_work<S: Store>(s: Arc<S>) {
    use app::idempotency::{IdempotencyKey, KeyClaim};
    let key =
        IdempotencyKey { owner: "user:1".into(), route: "POST /x".into(), key: "k".into(), request_hash: "h1".into() };
    let mut uow = begin(&*s).await;
    assert_eq!(uow.idempotency().claim(&key, now()).await.unwrap(), KeyClaim::Claimed);
    drop(uow);
    let mut uow = begin(&*s).await;
    assert_eq!(
        uow.idempotency().claim(&key, now()).await.unwrap(),
        KeyClaim::Claimed,
        "a rolled back claim frees the key"
    );
    uow.commit().await.unwrap();

    let mut uow = begin(&*s).await;
    assert_eq!(
        uow.idempotency().claim(&key, now()).await.unwrap(),
        KeyClaim::InUse,
        "claimed, response not stored yet"
    );
    let other_body = IdempotencyKey { request_hash: "h2".into(), ..key.clone() };
    assert_eq!(uow.idempotency().claim(&other_body, now()).await.unwrap(), KeyClaim::Reused);
    let other_user = IdempotencyKey { owner: "user:2".into(), ..key.clone() };
    assert_eq!(uow.idempotency().claim(&other_user, now()).await.unwrap(), KeyClaim::Claimed, "keys are per user");
    drop(uow);

    s.save_response(&key, 202, b"{}").await.unwrap();
    let mut uow = begin(&*s).await;
    assert_eq!(
        uow.idempotency().claim(&key, now()).await.unwrap(),
        KeyClaim::Replay { status: 202, body: b"{}".to_vec() }
    );
    drop(uow);
    assert_eq!(s.reap(now() - chrono::Duration::hours(24)).await.unwrap(), 0);
    assert_eq!(s.reap(now() + chrono::Duration::seconds(1)).await.unwrap(), 1);
    let mut uow = begin(&*s).await;
    assert_eq!(uow.idempotency().claim(&key, now()).await.unwrap(), KeyClaim::Claimed, "a reaped key is free again");
    drop(uow);

    // A claim racing an open one waits for it to end instead of answering at once: rolled back,
    // the key is claimed (a client retrying right after a refusal runs); committed, it is in use.
    for (commit, expected) in [(false, KeyClaim::Claimed), (true, KeyClaim::InUse)] {
        let racing = IdempotencyKey { key: format!("race-{commit}"), ..key.clone() };
        let (held_tx, held_rx) = tokio::sync::oneshot::channel();
        let first = {
            let (s, racing) = (s.clone(), racing.clone());
            tokio::spawn(async move {
                let mut uow = begin(&*s).await;
                assert_eq!(uow.idempotency().claim(&racing, now()).await.unwrap(), KeyClaim::Claimed);
                held_tx.send(()).unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                if commit {
                    uow.commit().await.unwrap();
                }
            })
        };
        held_rx.await.unwrap();
        let mut uow = begin(&*s).await;
        let claim = uow.idempotency().claim(&racing, now()).await.unwrap();
        assert_eq!(claim, expected, "after the first one {}", if commit { "committed" } else { "rolled back" });
        drop(uow);
        first.await.unwrap();
    }
}

/// A console session's digest: any 32 bytes will do for the store.
fn session_digest(n: u8) -> [u8; 32] {
    [n; 32]
}

async fn console_sessions_are_found_by_digest_until_they_expire_or_close<S: Store>(s: Arc<S>) {
    use app::ports::{ConsoleSessions, StaffSession};
    let sessions: &dyn ConsoleSessions = &*s;
    let (t, ttl) = (now(), chrono::Duration::hours(8));
    let (a, b) = (session_digest(1), session_digest(2));
    sessions.open(a, "staff:a", "csrf-a", t + ttl, t).await.unwrap();
    sessions.open(b, "staff:a", "csrf-b", t + ttl, t).await.unwrap();

    let found = sessions.find(a, t + chrono::Duration::hours(7), false).await.unwrap();
    let expected = StaffSession { actor: "staff:a".into(), csrf: "csrf-a".into(), flash: None };
    assert_eq!(found, Some(expected.clone()), "live until it expires");
    assert_eq!(sessions.find(a, t, true).await.unwrap(), Some(expected), "taking no flash changes nothing");
    assert_eq!(sessions.find(session_digest(3), t, false).await.unwrap(), None, "another digest is not found");
    assert!(sessions.open(a, "staff:b", "csrf-x", t + ttl, t).await.is_err(), "an open digest is not replaced");
    assert_eq!(sessions.find(a, t, false).await.unwrap().map(|f| f.csrf).as_deref(), Some("csrf-a"));

    sessions.close(b).await.unwrap();
    assert_eq!(sessions.find(b, t, false).await.unwrap(), None, "closed");
    sessions.close(b).await.unwrap();
    sessions.close(session_digest(4)).await.unwrap();
    assert_eq!(
        sessions.find(a, t, false).await.unwrap().map(|f| f.actor).as_deref(),
        Some("staff:a"),
        "closing one leaves the others"
    );

    // Opening a session forgets those expired by then: found at an earlier time no more.
    let c = session_digest(5);
    sessions.open(c, "staff:c", "csrf-c", t + chrono::Duration::hours(1), t).await.unwrap();
    let later = t + chrono::Duration::hours(2);
    sessions.open(session_digest(6), "staff:d", "csrf-d", later + ttl, later).await.unwrap();
    assert_eq!(sessions.find(c, t, false).await.unwrap(), None, "forgotten, not only expired");
    assert!(sessions.find(a, t, false).await.unwrap().is_some(), "a live one is kept");

    assert_eq!(sessions.find(a, t + ttl, false).await.unwrap(), None, "expired at expires_at");
    assert_eq!(sessions.find(a, t + ttl + chrono::Duration::hours(1), true).await.unwrap(), None, "and after");
}

async fn a_console_sessions_flash_is_taken_once<S: Store>(s: Arc<S>) {
    use app::ports::{ConsoleSessions, Flash};
    let sessions: &dyn ConsoleSessions = &*s;
    let t = now();
    let a = session_digest(1);
    sessions.open(a, "staff:a", "csrf-a", t + chrono::Duration::hours(8), t).await.unwrap();
    let flash = |ok: bool, text: &str| Some(Flash { ok, text: text.into() });

    sessions.set_flash(a, true, "first").await.unwrap();
    sessions.set_flash(a, false, "Deposit refused: amount must be positive").await.unwrap();
    assert_eq!(sessions.find(a, t, false).await.unwrap().unwrap().flash, None, "a form's request leaves it");
    let shown = sessions.find(a, t, true).await.unwrap().unwrap().flash;
    assert_eq!(shown, flash(false, "Deposit refused: amount must be positive"), "the last one, on the next page");
    assert_eq!(sessions.find(a, t, true).await.unwrap().unwrap().flash, None, "shown once");

    sessions.set_flash(session_digest(2), true, "nobody").await.unwrap();
    assert_eq!(sessions.find(session_digest(2), t, true).await.unwrap(), None, "a flash opens no session");

    // Pages loaded at once: one of them shows it.
    for round in 0..5 {
        sessions.set_flash(a, true, &format!("round {round}")).await.unwrap();
        let pages = futures::future::join_all((0..4).map(|_| sessions.find(a, t, true))).await;
        let shown: Vec<_> = pages.into_iter().filter_map(|p| p.unwrap().unwrap().flash).collect();
        assert_eq!(shown, vec![Flash { ok: true, text: format!("round {round}") }]);
    }
}

async fn trades_are_locked_counted_and_read_by_party<S: Store>(s: Arc<S>) {
    use app::ports::reads::TradeFilter;
    use app::trades::accept::AcceptTradeUow;
    users(&*s, &[1, 2, 3], "0").await;
    let (a, b) = (nft(1, "gift-t1"), nft(2, "gift-t2"));
    let mut uow = begin(&*s).await;
    uow.nfts().insert(&a).await.unwrap();
    uow.nfts().insert(&b).await.unwrap();
    uow.commit().await.unwrap();
    let side = |n: &Nft, amount: Option<&str>| TradeSide { nft_ids: vec![n.id], amount: amount.map(m) };
    let open = |maker: i64, taker: i64, give: TradeSide, want: TradeSide, secs: i64| {
        let terms = TradeTerms::new(UserId(maker), UserId(taker), give, want, Some(secs)).unwrap();
        Trade::open(TradeId(Uuid::now_v7()), terms, now())
    };
    let t1 = open(1, 2, side(&a, Some("1.5")), side(&b, None), 3600);
    let t2 = open(1, 3, side(&a, None), TradeSide::default(), 60);
    let t3 = open(2, 1, side(&b, None), TradeSide::default(), 3600);

    let mut uow = Begin::<dyn AcceptTradeUow>::begin(&*s, "conformance").await.unwrap();
    for t in [&t1, &t2, &t3] {
        uow.trades().insert(t).await.unwrap();
    }
    assert_eq!(uow.trades().lock(t1.id).await.unwrap(), Some(t1.clone()), "read back as written, amounts exact");
    assert_eq!(uow.trades().count_live_by_maker(UserId(1), now()).await.unwrap(), 2);
    assert_eq!(
        uow.trades().count_live_by_maker(UserId(1), now() + chrono::Duration::seconds(61)).await.unwrap(),
        1,
        "an expired trade no longer counts"
    );
    let locked = uow.nfts().lock_all(&[b.id, a.id, Uuid::now_v7().into()]).await.unwrap();
    let mut ids = vec![a.id, b.id];
    ids.sort();
    assert_eq!(locked.iter().map(|n| n.id).collect::<Vec<_>>(), ids, "in id order, missing ones left out");
    uow.commit().await.unwrap();

    let mut uow = Begin::<dyn AcceptTradeUow>::begin(&*s, "conformance").await.unwrap();
    let mut closed = t3.clone();
    closed.close(TradeStatus::Declined);
    uow.trades().update(&closed).await.unwrap();
    uow.commit().await.unwrap();

    let all = |party: i64, role: Option<TradeParty>, status: Option<TradeStatus>| TradeFilter {
        party: UserId(party),
        role,
        status,
    };
    let page = s.trades(&all(1, None, None), PageRequest::first(10)).await.unwrap();
    assert_eq!(page.items.iter().map(|t| t.id).collect::<Vec<_>>(), vec![t3.id, t2.id, t1.id], "newest first");
    let made = s.trades(&all(1, Some(TradeParty::Maker), None), PageRequest::first(1)).await.unwrap();
    assert_eq!((made.items.len(), made.next_cursor.is_some()), (1, true));
    let taken =
        s.trades(&all(1, Some(TradeParty::Taker), Some(TradeStatus::Declined)), PageRequest::first(5)).await.unwrap();
    assert_eq!(taken.items, vec![closed.clone()]);
    assert!(s.trades(&all(3, Some(TradeParty::Maker), None), PageRequest::first(5)).await.unwrap().items.is_empty());
    assert_eq!(s.trade(t2.id).await.unwrap(), Some(t2.clone()));
    assert_eq!(s.due_trades(now() + chrono::Duration::seconds(61), 10).await.unwrap(), vec![t2.id]);
}

async fn channel_sales_keep_one_live_listing_per_channel<S: Store>(s: Arc<S>) {
    use app::channels::buy::BuyChannelUow;
    use app::ports::reads::ChannelFilter;
    users(&*s, &[1, 2, 3], "0").await;
    let sale = |chat: i64| ChannelSale {
        id: ChannelSaleId(Uuid::now_v7()),
        seller_id: UserId(1),
        chat_id: chat,
        title: "Gift Hub".into(),
        username: Some("gift_hub".into()),
        description: Some("daily".into()),
        price: m("100.000000001"),
        buyer_id: None,
        status: ChannelSaleStatus::Listed,
        transfer_by: None,
        created_at: now(),
    };
    let first = sale(-100);
    let mut uow = Begin::<dyn BuyChannelUow>::begin(&*s, "conformance").await.unwrap();
    uow.channel_sales().insert(&first).await.unwrap();
    let dup = uow.channel_sales().insert(&sale(-100)).await;
    assert!(matches!(dup, Err(RepoError::Duplicate(Constraint::OneLiveSalePerChannel))), "{dup:?}");
    drop(uow);

    let mut uow = Begin::<dyn BuyChannelUow>::begin(&*s, "conformance").await.unwrap();
    uow.channel_sales().insert(&first).await.unwrap();
    uow.commit().await.unwrap();
    let mut bought = first.clone();
    bought.sell_to(UserId(2), None, now(), chrono::Duration::hours(1)).unwrap();
    let mut uow = Begin::<dyn BuyChannelUow>::begin(&*s, "conformance").await.unwrap();
    uow.channel_sales().update(&bought).await.unwrap();
    assert!(
        matches!(uow.channel_sales().insert(&sale(-100)).await, Err(RepoError::Duplicate(_))),
        "awaiting transfer is live"
    );
    drop(uow);
    let mut uow = Begin::<dyn BuyChannelUow>::begin(&*s, "conformance").await.unwrap();
    uow.channel_sales().update(&bought).await.unwrap();
    let other = sale(-200);
    uow.channel_sales().insert(&other).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.channel_sale(first.id).await.unwrap(), Some(bought.clone()), "read back as written");

    let seen = |viewer: i64| ChannelFilter { viewer: UserId(viewer), status: None };
    let ids = |p: app::ports::reads::Page<ChannelSale>| p.items.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.channel_sales(&seen(3), PageRequest::first(10)).await.unwrap()),
        vec![other.id],
        "strangers see listings only"
    );
    assert_eq!(
        ids(s.channel_sales(&seen(2), PageRequest::first(10)).await.unwrap()),
        vec![other.id, first.id],
        "the buyer sees its sale"
    );
    let awaiting = ChannelFilter { viewer: UserId(1), status: Some(ChannelSaleStatus::AwaitingTransfer) };
    assert_eq!(ids(s.channel_sales(&awaiting, PageRequest::first(10)).await.unwrap()), vec![first.id]);
    assert_eq!(
        s.awaiting_channel_sales(10).await.unwrap().iter().map(|a| (a.id, a.transfer_by)).collect::<Vec<_>>(),
        vec![(first.id, bought.transfer_by.unwrap())]
    );
    let facts = s.audit_facts().await.unwrap();
    assert!(facts.misplaced_trade_nfts.is_empty());
}

async fn open_offers_of_one_offerer_are_locked_across_nfts<S: Store>(s: Arc<S>) {
    users(&*s, &[1, 2, 3], "0").await;
    let (a, b, c) = (nft(1, "gift-o1"), nft(1, "gift-o2"), nft(1, "gift-o3"));
    let mut uow = begin(&*s).await;
    for n in [&a, &b, &c] {
        uow.nfts().insert(n).await.unwrap();
    }
    let mine = [offer(a.id, 2, "1"), offer(c.id, 2, "2")];
    for o in &mine {
        uow.offers().insert(o).await.unwrap();
    }
    uow.offers().insert(&offer(a.id, 3, "5")).await.unwrap();
    uow.commit().await.unwrap();
    let mut uow = begin(&*s).await;
    let found = uow.offers().lock_open_by_on(UserId(2), &[a.id, b.id, c.id]).await.unwrap();
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|o| o.offerer_id == UserId(2)));
    assert!(uow.offers().lock_open_by_on(UserId(2), &[b.id]).await.unwrap().is_empty());
}

async fn delivered_outbox_rows_are_purged_after_their_retention<S: Store>(s: Arc<S>) {
    users(&*s, &[1], "0").await;
    let mut uow = begin(&*s).await;
    for text in ["delivered", "given up", "pending"] {
        uow.outbox().enqueue(&notify(1, text)).await.unwrap();
    }
    uow.commit().await.unwrap();
    let t = now() + chrono::Duration::seconds(1);
    let claimed = s.claim(t, 10, t + chrono::Duration::minutes(5)).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let by_text = |text: &str| {
        claimed
            .iter()
            .find(|c| matches!(&c.message.payload, OutboxPayload::Notify { text: x, .. } if x == text))
            .unwrap()
            .message
            .id
    };
    s.delivered(&[(by_text("delivered"), 1)], t).await.unwrap();
    s.give_up(by_text("given up"), 1, "no", t).await.unwrap();
    s.retry_at(by_text("pending"), 1, t, "later").await.unwrap();
    assert_eq!(s.purge_delivered(t, 100).await.unwrap(), 0, "not older than the cut-off");
    assert_eq!(s.purge_delivered(t + chrono::Duration::seconds(1), 100).await.unwrap(), 1, "only the delivered row");
    assert_eq!(
        s.purge_delivered(t + chrono::Duration::days(30), 100).await.unwrap(),
        0,
        "given-up and pending rows stay"
    );
    assert_eq!(s.backlog().await.unwrap(), 1);
}

/// Market events are rows of the Unit of Work: none from one dropped or failed, all from one
/// committed; the feed shows public ones newest first, the stream's read sees private ones too,
/// and statistics and charts count the sales exactly.
async fn market_events_are_kept_exactly_when_their_unit_of_work_commits<S: Store>(s: Arc<S>) {
    use app::ports::reads::{ActivityFilter, Interval};
    let start = Uuid::now_v7();
    let ev = |kind: EventKind, nft: NftId, price: Option<&str>, recipient: Option<i64>| MarketEvent {
        id: MarketEventId(Uuid::now_v7()),
        kind,
        collection: Some("frog".into()),
        nft_id: Some(nft),
        auction_id: None,
        price: price.map(m),
        recipient: recipient.map(UserId),
        created_at: now(),
    };
    users(&*s, &[1], "0").await;
    let taken = nft(1, "ev-taken");
    let mut uow = begin(&*s).await;
    uow.nfts().insert(&taken).await.unwrap();
    uow.commit().await.unwrap();

    // Dropped, and failed midway: no event.
    let mut uow = begin(&*s).await;
    uow.events().append(&[ev(EventKind::Listed, taken.id, Some("1"), None)]).await.unwrap();
    drop(uow);
    let mut uow = begin(&*s).await;
    uow.events().append(&[ev(EventKind::Sold, taken.id, Some("1"), None)]).await.unwrap();
    assert!(uow.nfts().insert(&nft(1, "ev-taken")).await.is_err());
    assert!(uow.commit().await.is_err(), "a Unit of Work with a failed write never commits");
    assert!(s.events_after(start, &StreamScope::All, 100).await.unwrap().is_empty(), "rolled-back events are gone");
    assert!(s.activity(&ActivityFilter::default(), PageRequest::first(10)).await.unwrap().items.is_empty());

    // Committed: two sales, a listing, and an offer only user 7 may see.
    let (a, b) = (NftId(Uuid::now_v7()), NftId(Uuid::now_v7()));
    let written = [
        ev(EventKind::Listed, a, Some("3"), None),
        ev(EventKind::Sold, a, Some("3"), None),
        ev(EventKind::OfferReceived, b, Some("1.5"), Some(7)),
        ev(EventKind::OfferAccepted, b, Some("4.25"), None),
    ];
    let mut uow = begin(&*s).await;
    uow.events().append(&written[..2]).await.unwrap();
    uow.events().append(&written[2..]).await.unwrap();
    uow.commit().await.unwrap();

    let ids = |events: Vec<MarketEvent>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let all = s.events_after(start, &StreamScope::All, 100).await.unwrap();
    assert_eq!(all, written.to_vec(), "the stream's read: every event as written, oldest first");
    let later = s.events_after(written[1].id.0, &StreamScope::All, 100).await.unwrap();
    assert_eq!(ids(later), [written[2].id, written[3].id]);
    // One stream's read (a replay): its public events and its user's private ones, nobody else's.
    let stream = |user: i64, nft_id: Option<NftId>| StreamScope::Stream {
        user: UserId(user),
        collection: Some("frog".into()),
        nft_id,
        auction_id: None,
    };
    let of_7 = s.events_after(start, &stream(7, None), 100).await.unwrap();
    assert_eq!(ids(of_7), written.iter().map(|e| e.id).collect::<Vec<_>>());
    let of_8 = s.events_after(start, &stream(8, None), 100).await.unwrap();
    assert_eq!(ids(of_8), [written[0].id, written[1].id, written[3].id]);
    assert_eq!(ids(s.events_after(start, &stream(8, Some(b)), 1).await.unwrap()), [written[3].id]);
    let elsewhere =
        StreamScope::Stream { user: UserId(8), collection: Some("toad".into()), nft_id: None, auction_id: None };
    assert!(s.events_after(start, &elsewhere, 100).await.unwrap().is_empty());
    let feed = s.activity(&ActivityFilter::default(), PageRequest::first(10)).await.unwrap();
    assert_eq!(ids(feed.items), [written[3].id, written[1].id, written[0].id], "public, newest first");
    let of_a = ActivityFilter { nft_id: Some(a), ..Default::default() };
    assert_eq!(ids(s.activity(&of_a, PageRequest::first(10)).await.unwrap().items), [written[1].id, written[0].id]);
    let sold = ActivityFilter { kind: Some(EventKind::Sold), collection: Some("frog".into()), ..Default::default() };
    assert_eq!(ids(s.activity(&sold, PageRequest::first(10)).await.unwrap().items), [written[1].id]);
    let elsewhere = ActivityFilter { collection: Some("toad".into()), ..Default::default() };
    assert!(s.activity(&elsewhere, PageRequest::first(10)).await.unwrap().items.is_empty());
    let p1 = s.activity(&ActivityFilter::default(), PageRequest::first(2)).await.unwrap();
    let after = PageRequest::decode_cursor(p1.next_cursor.as_deref().unwrap());
    let p2 = s.activity(&ActivityFilter::default(), PageRequest { limit: 2, after }).await.unwrap();
    assert_eq!((ids(p2.items), p2.next_cursor), (vec![written[0].id], None));

    let stats = s.collection_stats("frog", now()).await.unwrap().expect("sold, so known");
    assert_eq!((stats.sales_24h, stats.volume_24h, stats.sales_7d, stats.volume_7d), (2, m("7.25"), 2, m("7.25")));
    assert_eq!(stats.last_sale.map(|(p, _)| p), Some(m("4.25")));
    let week_later = s.collection_stats("frog", now() + chrono::Duration::days(8)).await.unwrap().unwrap();
    assert_eq!((week_later.sales_7d, week_later.volume_7d), (0, Money::ZERO), "windows end");
    let points = s.collection_history("frog", Interval::Day, now() - chrono::Duration::days(1)).await.unwrap();
    let total: u64 = points.iter().map(|p| p.sales).sum();
    assert_eq!(total, 2);
    assert_eq!(s.collection_stats("toad", now()).await.unwrap(), None);

    // Collections: the names of NFTs in custody, in order, paged by name.
    let mut uow = begin(&*s).await;
    for (i, collection) in ["toad", "frog", "axolotl", "frog"].into_iter().enumerate() {
        uow.nfts().insert(&Nft { collection: collection.into(), ..nft(1, &format!("ev-c{i}")) }).await.unwrap();
    }
    uow.commit().await.unwrap();
    assert_eq!(s.collections(None, 2).await.unwrap(), ["axolotl", "frog"]);
    assert_eq!(s.collections(Some("frog"), 10).await.unwrap(), ["pepe", "toad"]);
    assert_eq!(s.collections(Some("toad"), 10).await.unwrap(), Vec::<String>::new());

    // Owners are holders in custody: a withdrawn NFT's owner is not one.
    users(&*s, &[2], "0").await;
    let mut uow = begin(&*s).await;
    let gone = Nft { collection: "toad".into(), status: NftStatus::Withdrawn, ..nft(2, "ev-gone") };
    uow.nfts().insert(&gone).await.unwrap();
    let listed = Nft { collection: "toad".into(), price: Some(m("2.5")), ..nft(1, "ev-listed") };
    uow.nfts().insert(&listed).await.unwrap();
    uow.commit().await.unwrap();
    let toad = s.collection_stats("toad", now()).await.unwrap().unwrap();
    assert_eq!((toad.owners, toad.listed, toad.floor, toad.sales_7d), (1, 1, Some(m("2.5")), 0));

    // At a glance: what the statistics say, in the names' order, an unknown name left out; the
    // day's window ends like the statistics'.
    let names: Vec<String> = ["toad", "nobody", "frog", "pepe"].map(String::from).to_vec();
    for at in [now(), now() + chrono::Duration::days(2)] {
        let mut expected = Vec::new();
        for name in &names {
            if let Some(stats) = s.collection_stats(name, at).await.unwrap() {
                expected.push(CollectionGlance::from(stats));
            }
        }
        assert_eq!(expected.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["toad", "frog", "pepe"]);
        assert_eq!(s.collection_glances(&names, at).await.unwrap(), expected);
    }
    let frog = &s.collection_glances(&["frog".to_string()], now()).await.unwrap()[0];
    assert_eq!((frog.sales_24h, frog.volume_24h), (2, m("7.25")), "the day's sales");
    assert_eq!(s.collection_glances(&[], now()).await.unwrap(), Vec::new());
}

/// Collection offers: written and read back whole, counted open per user, the best an NFT
/// matches (live, not the owner's, highest then oldest), the order book's filter, order and pages,
/// a user's offers, the expiry job's list, the sweep's cheapest listings; and `audit` counts what
/// an open offer holds.
async fn collection_offers_are_kept_matched_and_booked<S: Store>(s: Arc<S>) {
    use app::collection_offers::fill::FillCollectionOfferUow;
    use app::ports::reads::{BookCursor, BookFilter};
    users(&*s, &[1, 2, 3], "0").await;
    let t0 = now();
    let make = |i: u128, user: i64, price: &str, model: Option<&str>, age: i64| CollectionOffer {
        id: CollectionOfferId(Uuid::from_u128(i)),
        user_id: UserId(user),
        criteria: OfferCriteria { collection: "pepe".into(), model: model.map(Into::into), ..Default::default() },
        price: m(price),
        quantity: 3,
        filled: 0,
        status: CollectionOfferStatus::Open,
        expires_at: t0 + chrono::Duration::hours(1),
        created_at: t0 - chrono::Duration::seconds(age),
    };
    let a = make(1, 1, "5", None, 10); // any pepe
    let b = make(2, 2, "7", Some("Gold"), 5); // gold pepes only, best
    let c = make(3, 3, "5", None, 20); // same price as a, older
    let mut other = make(4, 2, "9", None, 1);
    other.criteria.collection = "frog".into();
    let mut closed = make(5, 2, "99", None, 1);
    closed.status = CollectionOfferStatus::Cancelled;
    let mut uow = Begin::<dyn FillCollectionOfferUow>::begin(&*s, "conformance").await.unwrap();
    for o in [&a, &b, &c, &other, &closed] {
        uow.collection_offers().insert(o).await.unwrap();
    }
    assert_eq!(uow.collection_offers().lock(b.id).await.unwrap(), Some(b.clone()), "own writes are visible");
    assert_eq!(uow.collection_offers().count_open(UserId(2), t0).await.unwrap(), 2);
    assert_eq!(
        uow.collection_offers().count_open(UserId(2), t0 + chrono::Duration::hours(2)).await.unwrap(),
        0,
        "past expiry, an offer no longer counts"
    );
    let mut gold = Nft { collection: "pepe".into(), ..nft(1, "co-gold") };
    gold.traits.model = Some(Attribute::new("Gold", 10).unwrap());
    gold.price = Some(m("20"));
    let plain = Nft { collection: "pepe".into(), price: Some(m("3")), ..nft(2, "co-plain") };
    uow.nfts().insert(&gold).await.unwrap();
    uow.nfts().insert(&plain).await.unwrap();
    let best = |o: Option<CollectionOffer>| o.map(|o| o.id);
    let coll = uow.collection_offers();
    assert_eq!(best(coll.best_for(&gold, UserId(1), t0).await.unwrap()), Some(b.id), "highest it matches");
    assert_eq!(best(coll.best_for(&gold, UserId(2), t0).await.unwrap()), Some(c.id), "not the owner's; then oldest");
    assert_eq!(
        best(coll.best_for(&plain, UserId(2), t0).await.unwrap()),
        Some(c.id),
        "no model: only offers naming none"
    );
    let later = t0 + chrono::Duration::hours(2);
    assert_eq!(coll.best_for(&gold, UserId(9), later).await.unwrap(), None, "expired offers are no bid");
    let mut filled = b.clone();
    filled.take(3).unwrap();
    coll.update(&filled).await.unwrap();
    assert_eq!(coll.lock(b.id).await.unwrap(), Some(filled.clone()));
    assert_eq!(coll.count_open(UserId(2), t0).await.unwrap(), 1, "a filled offer is not open");
    filled.status = CollectionOfferStatus::Open;
    filled.filled = 0;
    coll.update(&filled).await.unwrap();
    let any_pepe = OfferCriteria { collection: "pepe".into(), ..Default::default() };
    let cheapest = uow.nfts().cheapest_listed(&any_pepe, m("20"), UserId(9), 5).await.unwrap();
    assert_eq!(cheapest, [plain.id, gold.id], "cheapest first");
    assert_eq!(uow.nfts().cheapest_listed(&any_pepe, m("19.99"), UserId(9), 5).await.unwrap(), [plain.id]);
    assert_eq!(
        uow.nfts().cheapest_listed(&any_pepe, m("20"), UserId(2), 5).await.unwrap(),
        [gold.id],
        "not the buyer's own"
    );
    let gold_only = OfferCriteria { model: Some("Gold".into()), ..any_pepe };
    assert_eq!(uow.nfts().cheapest_listed(&gold_only, m("50"), UserId(9), 1).await.unwrap(), [gold.id]);
    uow.commit().await.unwrap();

    // The book: live open offers, best price first, then oldest; a filter keeps what a gift with
    // those attributes could fill.
    let ids =
        |p: &app::ports::reads::Page<CollectionOffer>| p.items.iter().map(|o| o.id.0.as_u128()).collect::<Vec<_>>();
    let all = BookFilter::default();
    assert_eq!(ids(&s.collection_offer_book(&all, None, 10, t0).await.unwrap()), [4, 2, 3, 1]);
    let pepe = BookFilter { collection: Some("pepe".into()), ..Default::default() };
    assert_eq!(ids(&s.collection_offer_book(&pepe, None, 10, t0).await.unwrap()), [2, 3, 1]);
    let frog_model = BookFilter { model: Some("Frog".into()), ..pepe.clone() };
    assert_eq!(ids(&s.collection_offer_book(&frog_model, None, 10, t0).await.unwrap()), [3, 1]);
    let p1 = s.collection_offer_book(&pepe, None, 2, t0).await.unwrap();
    assert_eq!(ids(&p1), [2, 3]);
    let cursor = BookCursor::decode(p1.next_cursor.as_deref().unwrap()).unwrap();
    let p2 = s.collection_offer_book(&pepe, Some(&cursor), 2, t0).await.unwrap();
    assert_eq!((ids(&p2), p2.next_cursor), (vec![1], None));
    assert!(s.collection_offer_book(&all, None, 10, later).await.unwrap().items.is_empty(), "expired ones leave");
    let mine = s.collection_offers_of(UserId(2), PageRequest::first(10)).await.unwrap();
    assert_eq!(ids(&mine), [5, 4, 2], "any status, newest first");
    assert_eq!(s.collection_offer(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(s.due_collection_offers(later, 10).await.unwrap().len(), 4, "the open ones past expiry");
    assert!(s.due_collection_offers(t0, 10).await.unwrap().is_empty());
    // The audit counts what each open offer still holds: price × what is left.
    let facts = s.audit_facts().await.unwrap();
    let owes = |id: i64| facts.users.iter().find(|u| u.id == id).map(|u| u.obligations).unwrap();
    assert_eq!((owes(1), owes(2), owes(3)), (d("15"), d("48"), d("15")), "3 × 5; 3 × 7 + 3 × 9; 3 × 5");
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(std::sync::Arc::new(super::MemoryStore::new())).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let db = crate::common::fresh_database().await;
                    let settings = adapters_postgres::PgSettings { max_connections: 4, ..Default::default() };
                    let pool = adapters_postgres::connect(&db.url, &settings).await.expect("connect");
                    super::$test(std::sync::Arc::new(super::PgStore::new(pool.clone()))).await;
                    pool.close().await;
                }
            )*
        }
    };
}

conformance!(
    collection_offers_are_kept_matched_and_booked,
    discovery_filters_sorts_and_pages_stably,
    attribute_panels_and_portfolios_count_what_is_in_custody_at_floor,
    an_nft_keeps_its_attributes_and_telegram_handles,
    the_gift_inbox_notes_updates_once_and_keeps_one_open_unmatched_gift_each,
    a_gift_is_found_by_its_id_and_its_custody_rewritten,
    accounts_are_created_read_locked_in_order_and_saved,
    nfts_are_inserted_updated_and_gift_ids_are_unique,
    one_open_offer_per_user_and_nft,
    a_sale_locks_the_nft_the_buyers_open_offer_and_both_accounts,
    memos_cursors_unmatched_deposits_and_the_wallet_journal,
    deposits_are_unique_by_tx_hash,
    clients_managers_and_binds_keep_their_constraints,
    a_dropped_unit_of_work_rolls_everything_back,
    an_explicit_rollback_keeps_nothing_and_logs_nothing,
    an_error_midway_rolls_back_the_earlier_writes,
    uncommitted_writes_are_invisible_to_others,
    a_locked_row_makes_a_second_writer_wait_and_no_update_is_lost,
    ledger_and_outbox_are_written_with_the_unit_of_work,
    nft_queries_filter_and_page,
    ensure_user_creates_once_and_keeps_balances,
    auctions_allow_one_active_per_nft_and_keep_their_bids,
    presales_and_withdrawals_round_trip,
    offers_are_read_by_nft_and_by_involvement,
    due_work_is_found_by_time,
    the_outbox_queue_leases_reschedules_and_never_sees_rolled_back_rows,
    idempotency_keys_are_claimed_with_the_unit_of_work,
    console_sessions_are_found_by_digest_until_they_expire_or_close,
    a_console_sessions_flash_is_taken_once,
    trades_are_locked_counted_and_read_by_party,
    channel_sales_keep_one_live_listing_per_channel,
    open_offers_of_one_offerer_are_locked_across_nfts,
    delivered_outbox_rows_are_purged_after_their_retention,
    market_events_are_kept_exactly_when_their_unit_of_work_commits,
    deliveries_of_a_batch_are_recorded_together,
);

/// One connection serves every Unit of Work and read in turn (`conns`): what a dropped or failed
/// Unit of Work did is rolled back before the connection serves again, and a read abandoned
/// halfway leaves nothing behind for the next.
#[tokio::test]
async fn a_reused_connection_carries_nothing_over() {
    let db = crate::common::fresh_database().await;
    let settings = adapters_postgres::PgSettings { max_connections: 1, ..Default::default() };
    let pool = adapters_postgres::connect(&db.url, &settings).await.expect("connect");
    let s = Arc::new(PgStore::new(pool.clone()));
    let kept = nothing_carried_over_by_units_of_work(s.clone()).await;
    // A read given up while PostgreSQL is still answering.
    let slow = sqlx::query("SELECT pg_sleep(0.5)").execute(s.pool());
    assert!(tokio::time::timeout(Duration::from_millis(50), slow).await.is_err());
    nothing_carried_over_by_a_read(s, kept).await;
    pool.close().await;
}

async fn nothing_carried_over_by_units_of_work<S: Store>(s: Arc<S>) -> Nft {
    users(&*s, &[1], "5").await;
    // Dropped without commit, then failed midway: on the one connection, each time.
    let mut uow = begin(&*s).await;
    let mut u = uow.accounts().lock(&[UserId(1)]).await.unwrap().remove(0);
    u.available = m("100");
    uow.accounts().save(&u).await.unwrap();
    uow.nfts().insert(&nft(1, "carried-over")).await.unwrap();
    drop(uow);
    let mut uow = begin(&*s).await;
    uow.nfts().insert(&nft(1, "taken")).await.unwrap();
    assert!(uow.nfts().insert(&nft(1, "taken")).await.is_err());
    assert!(uow.commit().await.is_err());
    // The next Unit of Work commits only its own write.
    let mut uow = begin(&*s).await;
    let kept = nft(1, "kept");
    uow.nfts().insert(&kept).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.user(UserId(1)).await.unwrap().unwrap().available, m("5"));
    let all = s.nfts(&listing(NftFilter::default(), 10)).await.unwrap();
    assert_eq!(all.items.iter().map(|n| n.gift_id.as_str()).collect::<Vec<_>>(), ["kept"]);
    kept
}

async fn nothing_carried_over_by_a_read<S: Store>(s: Arc<S>, kept: Nft) {
    assert_eq!(s.nft(kept.id).await.unwrap().map(|n| n.gift_id), Some("kept".to_string()));
    let mut uow = begin(&*s).await;
    uow.nfts().insert(&nft(1, "after")).await.unwrap();
    uow.commit().await.unwrap();
    assert_eq!(s.nfts(&listing(NftFilter::default(), 10)).await.unwrap().items.len(), 2);
}
