//! Instant sell: the owner sells at once into the best open bid that covers their minimum.

use domain::ports::{AccountRepo, CollectionOfferRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "sell_nft";

crate::define_uow!(
    /// Selling: the NFT, the best collection offer it matches, the single offers on it, both
    /// users' funds, the ledger, the notices and the market's events.
    SellNftUow {
        nfts: NftRepo,
        collection_offers: CollectionOfferRepo,
        offers: OfferRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        outbox: OutboxRepo,
        events: EventRepo,
    }
);

#[derive(Clone, Debug)]
pub struct SellNftCommand {
    pub owner: UserId,
    pub nft_id: NftId,
    pub min_price: Money,
    pub idempotency: Option<IdempotencyKey>,
}

/// What an instant sale did: the NFT as it is now, the price, the fee, and which offer bought it
/// (a single offer's id or a collection offer's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstantSale {
    pub nft: Nft,
    pub price: Money,
    pub fee: Money,
    pub offer_id: uuid::Uuid,
}

pub struct SellNft {
    uows: Uows<dyn SellNftUow>,
    services: Services,
    fees: FeeRule,
}

impl SellNft {
    pub fn new(uows: Uows<dyn SellNftUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// The best live bid — the single offers on the NFT and the collection offers it matches,
    /// highest price, then oldest — if it is at least `min_price`: the same sale as accepting
    /// that offer or filling that collection offer with this NFT. Else `no_offer`.
    #[tracing::instrument(level = "debug", name = "sell_nft", skip_all, fields(owner = %cmd.owner, nft = %cmd.nft_id))]
    pub async fn execute(&self, cmd: SellNftCommand) -> Result<InstantSale, Error> {
        self.services.run_locked(NAME, &lock::nft(cmd.nft_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &SellNftCommand) -> Result<InstantSale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            nft.ensure_owned_available(cmd.owner)?;
            // Lock order: the NFT, the collection offer, the single offers, the users.
            let mut bulk = match uow.collection_offers().best_for(&nft, cmd.owner, fx.now).await? {
                Some(best) => uow.collection_offers().lock(best.id).await?,
                None => None,
            };
            if let Some(o) = &bulk {
                if !(o.is_live(fx.now) && o.criteria.matches(&nft) && o.user_id != cmd.owner) {
                    // Filled, cancelled or repriced between the read and the lock: look again.
                    return Err(RepoError::Transient("the best collection offer changed".into()).into());
                }
            }
            let singles = uow.offers().lock_open_for_nft(nft.id).await?;
            let single = singles
                .iter()
                .filter(|o| o.is_live(fx.now) && o.offerer_id != cmd.owner)
                .min_by_key(|o| (std::cmp::Reverse(o.price), o.created_at, o.id))
                .cloned();
            let take_single = match (&single, &bulk) {
                // Highest price, then oldest; at the same instant, the lower id (ids are time-ordered).
                (Some(s), Some(b)) => {
                    (std::cmp::Reverse(s.price), s.created_at, s.id.0)
                        < (std::cmp::Reverse(b.price), b.created_at, b.id.0)
                }
                (Some(_), None) => true,
                (None, _) => false,
            };
            let price = match (take_single, &single, &bulk) {
                (true, Some(s), _) => s.price,
                (false, _, Some(b)) => b.price,
                _ => return Err(RuleViolation::NoOffer.into()),
            };
            if price < cmd.min_price {
                return Err(RuleViolation::NoOffer.into());
            }
            let (fee, _) = self.fees.split(price);
            let offer_id;
            if take_single {
                let mut offer = single.expect("chosen");
                offer_id = offer.id.0;
                let mut accounts = Accounts::lock(uow.accounts(), &[cmd.owner, offer.offerer_id]).await?;
                crate::offers::accept_into(&mut fx, self.fees, &mut accounts, &mut offer, &mut nft)?;
                uow.nfts().update(&nft).await?;
                uow.offers().update(&offer).await?;
                accounts.save(uow.accounts()).await?;
            } else {
                let mut offer = bulk.take().expect("chosen");
                offer_id = offer.id.0;
                let mut accounts = Accounts::lock(uow.accounts(), &[cmd.owner, offer.user_id]).await?;
                let (sold, closed) = crate::collection_offers::sell_into(
                    &mut fx,
                    self.fees,
                    &mut accounts,
                    &mut offer,
                    cmd.owner,
                    vec![nft],
                    singles,
                )?;
                nft = sold.into_iter().next().expect("one sold");
                uow.nfts().update(&nft).await?;
                for o in &closed {
                    uow.offers().update(o).await?;
                }
                uow.collection_offers().update(&offer).await?;
                accounts.save(uow.accounts()).await?;
            }
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            fx.write_events(uow.events()).await?;
            Ok(InstantSale { nft, price, fee, offer_id })
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    const OWNER: i64 = 1;

    fn listed_gold() -> Nft {
        let mut n = nft(OWNER, Some("50"));
        n.collection = "Plush Pepe".into();
        n.traits.model = Some(Attribute::new("Gold", 20).unwrap());
        n
    }

    fn bulk(by: i64, price: &str, age_s: i64) -> CollectionOffer {
        CollectionOffer {
            id: CollectionOfferId(uuid::Uuid::from_u128(900 + by as u128)),
            user_id: UserId(by),
            criteria: OfferCriteria { collection: "Plush Pepe".into(), ..Default::default() },
            price: m(price),
            quantity: 2,
            filled: 0,
            status: CollectionOfferStatus::Open,
            expires_at: now() + chrono::Duration::hours(1),
            created_at: now() - chrono::Duration::seconds(age_s),
        }
    }

    fn single(by: i64, price: &str, age_s: i64) -> Offer {
        let mut o = offer(by, price);
        o.id = OfferId(uuid::Uuid::from_u128(by as u128));
        o.created_at = now() - chrono::Duration::seconds(age_s);
        o
    }

    fn world(best: Option<CollectionOffer>, singles: Vec<Offer>) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(listed_gold())));
        let locked = best.clone();
        tx.collection_offers.expect_best_for().returning(move |_, _, _| Ok(best.clone()));
        tx.collection_offers.expect_lock().returning(move |_| Ok(locked.clone()));
        tx.offers.expect_lock_open_for_nft().returning(move |_| Ok(singles.clone()));
        tx
    }

    async fn run(tx: FakeTx, min: &str) -> (Result<InstantSale, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd =
            SellNftCommand { owner: UserId(OWNER), nft_id: listed_gold().id, min_price: m(min), idempotency: None };
        (SellNft::new(store, services(), FeeRule::new(500)).execute(cmd).await, committed.get())
    }

    #[tokio::test]
    async fn the_highest_single_offer_buys_when_it_beats_the_collection_offers() {
        let mut tx = world(Some(bulk(3, "10", 100)), vec![single(2, "12", 5), single(4, "11", 50)]);
        let (accounts, saved) = accounts_saving(vec![user(1, "0", "0"), user(2, "0", "12")]);
        tx.accounts = accounts;
        tx.nfts.expect_update().withf(|n| n.owner_id == UserId(2) && n.price.is_none()).times(1).returning(|_| Ok(()));
        tx.offers
            .expect_update()
            .withf(|o| o.status == OfferStatus::Accepted && o.offerer_id == UserId(2))
            .times(1)
            .returning(|_| Ok(()));
        tx.ledger = ledger_recording().0;
        tx.outbox = outbox_recording().0;
        let (r, committed) = run(tx, "12").await;
        let sale = r.unwrap();
        assert_eq!((sale.price, sale.fee, sale.offer_id, committed), (m("12"), m("0.6"), single(2, "1", 0).id.0, true));
        assert_eq!(saved.all(), [user(1, "11.4", "0"), user(2, "0", "0")]);
    }

    #[tokio::test]
    async fn at_equal_price_the_older_bid_wins_and_a_collection_offer_sells_like_a_fill() {
        // The collection offer is older than the single offer at the same price.
        let mut tx = world(Some(bulk(3, "12", 100)), vec![single(2, "12", 5), single(3, "2", 500)]);
        let (accounts, saved) = accounts_saving(vec![user(1, "0", "0"), user(3, "0", "26")]);
        tx.accounts = accounts;
        tx.nfts.expect_update().withf(|n| n.owner_id == UserId(3)).times(1).returning(|_| Ok(()));
        // The buyer's own single offer on the NFT is refunded.
        tx.offers
            .expect_update()
            .withf(|o| o.offerer_id == UserId(3) && o.status == OfferStatus::Cancelled)
            .times(1)
            .returning(|_| Ok(()));
        tx.collection_offers.expect_update().withf(|o| o.filled == 1).times(1).returning(|_| Ok(()));
        tx.ledger = ledger_recording().0;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (events, written) = events_recording();
        tx.events = events;
        let (r, committed) = run(tx, "1").await;
        assert_eq!((r.unwrap().offer_id, committed), (bulk(3, "1", 0).id.0, true));
        assert_eq!(saved.all(), [user(1, "11.4", "0"), user(3, "2", "12")]);
        assert_eq!(sent.notified(), [1, 3]);
        assert_eq!(written.all().iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::Sold]);
    }

    #[tokio::test]
    async fn no_bid_or_none_that_covers_the_minimum_is_no_offer() {
        let (r, committed) = run(world(None, vec![]), "1").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NoOffer.into(), false));
        let (r, committed) = run(world(Some(bulk(3, "10", 1)), vec![single(2, "9", 1)]), "10.5").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NoOffer.into(), false));
        let mut expired = single(2, "99", 1);
        expired.expires_at = now();
        let (r, _) = run(world(None, vec![expired, single(OWNER, "50", 1)]), "1").await;
        assert_eq!(r.unwrap_err(), RuleViolation::NoOffer.into(), "expired and own bids do not count");
    }

    #[tokio::test]
    async fn only_the_owner_sells_an_available_nft() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(5, None))));
        let (r, committed) = run(tx, "1").await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
    }
}
