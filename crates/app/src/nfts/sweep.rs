//! Sweep: buy many listings in one Unit of Work — named items, or the cheapest that match.

use std::collections::{BTreeSet, HashMap};

use domain::ports::{AccountRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "sweep";

/// The most items one sweep buys.
pub const MAX_SWEEP: usize = 50;

crate::define_uow!(
    /// Sweeping: the NFTs, the buyer's own offers on them, every party's funds, the ledger, the
    /// notices and the market's events.
    SweepUow {
        nfts: NftRepo,
        offers: OfferRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        outbox: OutboxRepo,
        events: EventRepo,
    }
);

/// What to buy.
#[derive(Clone, Debug)]
pub enum SweepOrder {
    /// These NFTs, in this order, each at the price the buyer expects.
    Items(Vec<(NftId, Money)>),
    /// The cheapest listings matching `criteria`, cheapest first, up to `max_items`, each at
    /// `max_price_per_item` or less.
    Cheapest { criteria: OfferCriteria, max_items: u32, max_price_per_item: Money },
}

#[derive(Clone, Debug)]
pub struct SweepCommand {
    pub buyer: UserId,
    pub order: SweepOrder,
    /// Any failure: nothing is bought (`sweep_failed`).
    pub all_or_nothing: bool,
    pub idempotency: Option<IdempotencyKey>,
}

/// What a sweep did: each purchase with its price and fee, each failure with the code `buy`
/// would have given, and what was spent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    pub purchased: Vec<(NftId, Money, Money)>,
    pub failed: Vec<(NftId, &'static str)>,
    pub spent: Money,
}

pub struct Sweep {
    uows: Uows<dyn SweepUow>,
    services: Services,
    fees: FeeRule,
}

impl Sweep {
    pub fn new(uows: Uows<dyn SweepUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// Each item by `buy`'s rules, in order, each if the balance left covers it; locks every NFT
    /// in id order, then the buyer's offers on them, then every party in id order.
    #[tracing::instrument(level = "debug", name = "sweep", skip_all, fields(buyer = %cmd.buyer))]
    pub async fn execute(&self, cmd: SweepCommand) -> Result<SweepOutcome, Error> {
        let n = match &cmd.order {
            SweepOrder::Items(items) => items.len(),
            SweepOrder::Cheapest { max_items, .. } => *max_items as usize,
        };
        if n == 0 || n > MAX_SWEEP {
            let field = if matches!(cmd.order, SweepOrder::Items(_)) { "items" } else { "max_items" };
            return Err(Error::Invalid(vec![FieldError::new(field, "must be 1 to 50")]));
        }
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &SweepCommand) -> Result<SweepOutcome, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let buyer = cmd.buyer;
            // (NFT, the price the buyer agrees to, an exact price or a ceiling).
            let wanted: Vec<(NftId, Money, bool)> = match &cmd.order {
                SweepOrder::Items(items) => items.iter().map(|(id, p)| (*id, *p, true)).collect(),
                SweepOrder::Cheapest { criteria, max_items, max_price_per_item } => uow
                    .nfts()
                    .cheapest_listed(criteria, *max_price_per_item, buyer, *max_items)
                    .await?
                    .into_iter()
                    .map(|id| (id, *max_price_per_item, false))
                    .collect(),
            };
            let ids: Vec<NftId> = wanted.iter().map(|w| w.0).collect::<BTreeSet<_>>().into_iter().collect();
            let mut nfts: HashMap<NftId, Nft> =
                uow.nfts().lock_all(&ids).await?.into_iter().map(|n| (n.id, n)).collect();
            let mut own: HashMap<NftId, Offer> =
                uow.offers().lock_open_by_on(buyer, &ids).await?.into_iter().map(|o| (o.nft_id, o)).collect();
            let mut parties: Vec<UserId> = nfts.values().map(|n| n.owner_id).collect();
            parties.push(buyer);
            parties.sort();
            parties.dedup();
            let mut accounts = Accounts::lock(uow.accounts(), &parties).await?;

            let mut out = SweepOutcome { spent: Money::ZERO, ..Default::default() };
            let mut seen = BTreeSet::new();
            let mut bought = Vec::new();
            let mut refunded = Vec::new();
            for (id, agreed, exact) in &wanted {
                let fail = |code: &'static str| (*id, code);
                if !seen.insert(*id) {
                    out.failed.push(fail("duplicate"));
                    continue;
                }
                let Some(nft) = nfts.get_mut(id) else {
                    out.failed.push(fail(code::NOT_FOUND));
                    continue;
                };
                let price = match nft.price_for(buyer, exact.then_some(*agreed)) {
                    Ok(p) if !exact && p > *agreed => {
                        out.failed.push(fail(RuleViolation::PriceChanged { current: p }.code()));
                        continue;
                    }
                    Ok(p) => p,
                    Err(rule) => {
                        out.failed.push(fail(rule.code()));
                        continue;
                    }
                };
                let own_offer = own.get(id).map(|o| o.price).unwrap_or(Money::ZERO);
                let covers = accounts
                    .payer(buyer)
                    .map(|u| u.available.checked_add(own_offer).is_some_and(|a| a >= price))
                    .unwrap_or(false);
                if !covers {
                    out.failed.push(fail(RuleViolation::InsufficientFunds.code()));
                    continue;
                }
                let seller = nft.owner_id;
                if let Some(mut offer) = own.remove(id) {
                    offer.close(OfferStatus::Cancelled);
                    accounts.payee(buyer)?.release(offer.price);
                    fx.record(fx.posting(Operation::OfferRelease, offer.id).release(buyer, offer.price));
                    refunded.push(offer);
                }
                let (fee, proceeds) = self.fees.split(price);
                accounts.payer(buyer)?.debit(price)?;
                accounts.payee(seller)?.credit(proceeds);
                fx.record(fx.posting(Operation::Buy, nft.id).sale(buyer, Account::Available, seller, proceeds, fee));
                nft.transfer_to(buyer);
                fx.notify(
                    seller,
                    format!("Your NFT \"{}\" was sold for {price} TON; {proceeds} TON credited.", nft.title),
                );
                fx.event(EventKind::Sold, nft, Some(price));
                out.spent = out.spent.checked_add(price).unwrap_or(out.spent);
                out.purchased.push((*id, price, fee));
                bought.push(*id);
            }
            if cmd.all_or_nothing && !out.failed.is_empty() {
                return Err(Error::SweepFailed(out.failed));
            }
            if bought.is_empty() {
                return Ok(out); // nothing moved: the Unit of Work commits nothing worth keeping
            }
            for id in &bought {
                uow.nfts().update(&nfts[id]).await?;
            }
            for o in &refunded {
                uow.offers().update(o).await?;
            }
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            fx.write_events(uow.events()).await?;
            Ok(out)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    const BUYER: UserId = UserId(9);

    fn listed(i: u128, owner: i64, price: Option<&str>) -> Nft {
        let mut n = nft(owner, price);
        n.id = NftId(uuid::Uuid::from_u128(i));
        n
    }

    fn id(i: u128) -> NftId {
        NftId(uuid::Uuid::from_u128(i))
    }

    fn world(nfts: Vec<Nft>, available: &str) -> FakeTx {
        let mut tx = FakeTx::default();
        let mut parties = vec![user(BUYER.0, available, "0")];
        parties.extend(nfts.iter().map(|n| user(n.owner_id.0, "0", "0")));
        parties.sort_by_key(|u| u.id);
        parties.dedup_by_key(|u| u.id);
        tx.nfts.expect_lock_all().returning(move |_| Ok(nfts.clone()));
        tx.offers.expect_lock_open_by_on().returning(|_, _| Ok(vec![]));
        let (accounts, _) = accounts_saving(parties);
        tx.accounts = accounts;
        tx
    }

    fn items(list: &[(u128, &str)], all: bool) -> SweepCommand {
        SweepCommand {
            buyer: BUYER,
            order: SweepOrder::Items(list.iter().map(|(i, p)| (id(*i), m(p))).collect()),
            all_or_nothing: all,
            idempotency: None,
        }
    }

    async fn run(tx: FakeTx, c: SweepCommand) -> (Result<SweepOutcome, Error>, bool) {
        let (store, committed) = store(tx);
        (Sweep::new(store, services(), FeeRule::new(500)).execute(c).await, committed.get())
    }

    #[tokio::test]
    async fn each_item_is_bought_in_order_while_funds_last_and_each_failure_has_buys_code() {
        let nfts = vec![
            listed(1, 1, Some("5")),
            listed(2, 2, Some("6")),  // expected 7: price_changed
            listed(3, 3, None),       // not_for_sale
            listed(4, 9, Some("1")),  // own_item
            listed(5, 4, Some("20")), // insufficient_funds (5 + 4 spent of 12)
            listed(6, 5, Some("4")),  // cheaper: still bought
        ];
        let mut tx = world(nfts, "12");
        tx.nfts.expect_update().times(2).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let c = items(&[(1, "5"), (2, "7"), (3, "1"), (4, "1"), (5, "20"), (6, "4"), (1, "5"), (7, "1")], false);
        let (r, committed) = run(tx, c).await;
        let out = r.expect("the sweep answers");
        assert!(committed);
        assert_eq!(out.purchased, vec![(id(1), m("5"), m("0.25")), (id(6), m("4"), m("0.2"))]);
        assert_eq!(
            out.failed,
            vec![
                (id(2), "price_changed"),
                (id(3), "not_for_sale"),
                (id(4), "own_item"),
                (id(5), "insufficient_funds"),
                (id(1), "duplicate"),
                (id(7), "not_found"),
            ]
        );
        assert_eq!(out.spent, m("9"));
        assert_eq!(entries.lines().len(), 6);
        assert_eq!(sent.notified(), [1, 5]);
    }

    #[tokio::test]
    async fn all_or_nothing_buys_nothing_when_one_item_fails() {
        let (r, committed) =
            run(world(vec![listed(1, 1, Some("5")), listed(2, 2, None)], "100"), items(&[(1, "5"), (2, "5")], true))
                .await;
        assert_eq!((r.unwrap_err(), committed), (Error::SweepFailed(vec![(id(2), "not_for_sale")]), false));
    }

    #[tokio::test]
    async fn a_sweep_where_everything_fails_moves_nothing_and_answers() {
        let (r, _) = run(world(vec![listed(1, 1, None)], "100"), items(&[(1, "5")], false)).await;
        assert_eq!(
            r.unwrap(),
            SweepOutcome { purchased: vec![], failed: vec![(id(1), "not_for_sale")], spent: Money::ZERO }
        );
    }

    #[tokio::test]
    async fn by_criteria_the_cheapest_are_bought_at_most_at_the_ceiling() {
        let mut tx = world(vec![listed(1, 1, Some("3")), listed(2, 2, Some("8"))], "100");
        tx.nfts
            .expect_cheapest_listed()
            .withf(|c, max, not, n| c.collection == "P" && *max == m("5") && *not == BUYER && *n == 2)
            .returning(|_, _, _, _| Ok(vec![id(1), id(2)]));
        tx.nfts.expect_update().times(1).returning(|_| Ok(()));
        tx.ledger = ledger_recording().0;
        tx.outbox = outbox_recording().0;
        let c = SweepCommand {
            buyer: BUYER,
            order: SweepOrder::Cheapest {
                criteria: OfferCriteria { collection: "P".into(), ..Default::default() },
                max_items: 2,
                max_price_per_item: m("5"),
            },
            all_or_nothing: false,
            idempotency: None,
        };
        let (r, _) = run(tx, c).await;
        let out = r.unwrap();
        assert_eq!(out.purchased.len(), 1);
        assert_eq!(out.failed, vec![(id(2), "price_changed")], "repriced above the ceiling since it was read");
    }

    #[tokio::test]
    async fn none_or_more_than_fifty_items_is_invalid() {
        for n in [0u128, 51] {
            let list: Vec<(u128, &str)> = (0..n).map(|i| (i, "1")).collect();
            let (r, _) = run(FakeTx::default(), items(&list, false)).await;
            assert!(matches!(r, Err(Error::Invalid(_))), "{n}");
        }
    }
}
