//! Fill a collection offer with some of one's NFTs.

use std::collections::BTreeSet;

use domain::collection_offer::MAX_FILL;
use domain::ports::{AccountRepo, CollectionOfferRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "fill_collection_offer";

crate::define_uow!(
    /// Filling: the NFTs, the offer, the offerer's single offers on them, both users' funds, the
    /// ledger, the notices and the market's events.
    FillCollectionOfferUow {
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
pub struct FillCollectionOfferCommand {
    pub seller: UserId,
    pub offer_id: CollectionOfferId,
    /// 1–10, distinct.
    pub nft_ids: Vec<NftId>,
    /// When given and different from the offer's price, nothing moves (`price_changed`).
    pub expected_price: Option<Money>,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct FillCollectionOffer {
    uows: Uows<dyn FillCollectionOfferUow>,
    services: Services,
    fees: FeeRule,
}

impl FillCollectionOffer {
    pub fn new(uows: Uows<dyn FillCollectionOfferUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// Each NFT sold to the offerer at the offer's price, in one Unit of Work: all of them or
    /// none. Locks: the NFTs by id, the offer, the offerer's single offers on them, both users.
    #[tracing::instrument(level = "debug", name = "fill_collection_offer", skip_all, fields(seller = %cmd.seller, offer = %cmd.offer_id))]
    pub async fn execute(&self, cmd: FillCollectionOfferCommand) -> Result<CollectionOffer, Error> {
        let distinct: BTreeSet<NftId> = cmd.nft_ids.iter().copied().collect();
        if cmd.nft_ids.is_empty() || cmd.nft_ids.len() > MAX_FILL {
            return Err(Error::Invalid(vec![FieldError::new("nft_ids", "must name 1 to 10 NFTs")]));
        }
        if distinct.len() != cmd.nft_ids.len() {
            return Err(Error::Invalid(vec![FieldError::new("nft_ids", "must not repeat an NFT")]));
        }
        self.services.run(NAME, || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &FillCollectionOfferCommand) -> Result<CollectionOffer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            // Lock order: the NFTs (by id), then the offer.
            let nfts = uow.nfts().lock_all(&cmd.nft_ids).await?;
            if nfts.len() != cmd.nft_ids.len() {
                return Err(Error::NotFound("NFT"));
            }
            let mut offer =
                uow.collection_offers().lock(cmd.offer_id).await?.ok_or(Error::NotFound("collection offer"))?;
            offer.ensure_live(fx.now)?;
            if offer.user_id == cmd.seller {
                return Err(RuleViolation::OwnItem.into());
            }
            for nft in &nfts {
                nft.ensure_owned_available(cmd.seller)?;
            }
            if !nfts.iter().all(|n| offer.criteria.matches(n)) {
                return Err(RuleViolation::CriteriaMismatch.into());
            }
            if nfts.len() as u32 > offer.remaining() {
                return Err(RuleViolation::OfferNotOpen.into());
            }
            if let Some(expected) = cmd.expected_price {
                if expected != offer.price {
                    return Err(RuleViolation::PriceChanged { current: offer.price }.into());
                }
            }
            let ids: Vec<NftId> = nfts.iter().map(|n| n.id).collect();
            let own = uow.offers().lock_open_by_on(offer.user_id, &ids).await?;
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.seller, offer.user_id]).await?;
            let (sold, closed) =
                super::sell_into(&mut fx, self.fees, &mut accounts, &mut offer, cmd.seller, nfts, own)?;
            for nft in &sold {
                uow.nfts().update(nft).await?;
            }
            for o in &closed {
                uow.offers().update(o).await?;
            }
            uow.collection_offers().update(&offer).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            fx.write_events(uow.events()).await?;
            Ok(offer)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    const SELLER: UserId = UserId(1);
    const OFFERER: UserId = UserId(2);

    fn gold(i: u128, owner: i64) -> Nft {
        let mut n = nft(owner, Some("9"));
        n.id = NftId(uuid::Uuid::from_u128(i));
        n.collection = "Plush Pepe".into();
        n.traits.model = Some(Attribute::new("Gold", 20).unwrap());
        n
    }

    fn open(quantity: u32, filled: u32) -> CollectionOffer {
        CollectionOffer {
            id: CollectionOfferId(uuid::Uuid::from_u128(77)),
            user_id: OFFERER,
            criteria: OfferCriteria {
                collection: "Plush Pepe".into(),
                model: Some("Gold".into()),
                ..Default::default()
            },
            price: m("10"),
            quantity,
            filled,
            status: CollectionOfferStatus::Open,
            expires_at: now() + chrono::Duration::hours(1),
            created_at: now(),
        }
    }

    fn world(offer: CollectionOffer, nfts: Vec<Nft>) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.collection_offers.expect_lock().returning(move |_| Ok(Some(offer.clone())));
        tx.nfts.expect_lock_all().returning(move |_| Ok(nfts.clone()));
        tx
    }

    fn cmd(ids: &[u128], expected: Option<&str>) -> FillCollectionOfferCommand {
        FillCollectionOfferCommand {
            seller: SELLER,
            offer_id: open(1, 0).id,
            nft_ids: ids.iter().map(|i| NftId(uuid::Uuid::from_u128(*i))).collect(),
            expected_price: expected.map(m),
            idempotency: None,
        }
    }

    async fn run(tx: FakeTx, c: FillCollectionOfferCommand) -> (Result<CollectionOffer, Error>, bool) {
        let (store, committed) = store(tx);
        let r = FillCollectionOffer::new(store, services(), FeeRule::new(500)).execute(c).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn filling_sells_each_nft_from_the_held_funds_and_refunds_the_offerers_own_offers() {
        let mut tx = world(open(3, 0), vec![gold(1, 1), gold(2, 1)]);
        let mut own = offer(2, "4");
        own.nft_id = NftId(uuid::Uuid::from_u128(2));
        tx.offers.expect_lock_open_by_on().returning(move |_, _| Ok(vec![own.clone()]));
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        let (accounts, saved) = accounts_saving(vec![user(1, "0", "0"), user(2, "0", "34")]);
        tx.accounts = accounts;
        tx.nfts.expect_update().withf(|n| n.owner_id == OFFERER && n.price.is_none()).times(2).returning(|_| Ok(()));
        tx.collection_offers
            .expect_update()
            .withf(|o| o.filled == 2 && o.status == CollectionOfferStatus::Open)
            .times(1)
            .returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (events, written) = events_recording();
        tx.events = events;
        let (r, committed) = run(tx, cmd(&[1, 2], Some("10"))).await;
        assert_eq!((r.unwrap().remaining(), committed), (1, true));
        // 2 × 10 from held to the seller (9.5 each) and the fees; the own offer's 4 back.
        assert_eq!(saved.all(), [user(1, "19", "0"), user(2, "4", "10")]);
        assert_eq!(entries.lines().len(), 3 * 2 + 2);
        assert_eq!(sent.notified(), [1, 2]);
        assert_eq!(written.all().iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::Sold, EventKind::Sold]);
    }

    #[tokio::test]
    async fn the_last_gifts_fill_the_offer() {
        let mut tx = world(open(2, 1), vec![gold(1, 1)]);
        tx.offers.expect_lock_open_by_on().returning(|_, _| Ok(vec![]));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "0"), user(2, "0", "10")]));
        tx.accounts.expect_save().returning(|_| Ok(()));
        tx.nfts.expect_update().returning(|_| Ok(()));
        tx.collection_offers
            .expect_update()
            .withf(|o| o.filled == 2 && o.status == CollectionOfferStatus::Filled)
            .times(1)
            .returning(|_| Ok(()));
        tx.ledger = ledger_recording().0;
        tx.outbox = outbox_recording().0;
        let (r, committed) = run(tx, cmd(&[1], None)).await;
        assert_eq!((r.unwrap().status, committed), (CollectionOfferStatus::Filled, true));
    }

    #[tokio::test]
    async fn every_rule_refuses_the_whole_fill_and_writes_nothing() {
        let mut mismatch = gold(2, 1);
        mismatch.traits.model = Some(Attribute::new("Frog", 20).unwrap());
        let mut listed_elsewhere = gold(2, 1);
        listed_elsewhere.status = NftStatus::OnAuction;
        let mut expired = open(3, 0);
        expired.expires_at = now();
        let cases: Vec<(CollectionOffer, Vec<Nft>, FillCollectionOfferCommand, Error)> = vec![
            (open(3, 0), vec![gold(1, 1), mismatch], cmd(&[1, 2], None), RuleViolation::CriteriaMismatch.into()),
            (open(3, 0), vec![gold(1, 1), gold(2, 3)], cmd(&[1, 2], None), RuleViolation::NotOwner.into()),
            (open(3, 0), vec![gold(1, 1), listed_elsewhere], cmd(&[1, 2], None), RuleViolation::NftUnavailable.into()),
            (open(3, 2), vec![gold(1, 1), gold(2, 1)], cmd(&[1, 2], None), RuleViolation::OfferNotOpen.into()),
            (expired, vec![gold(1, 1)], cmd(&[1], None), RuleViolation::OfferNotOpen.into()),
            (
                open(3, 0),
                vec![gold(1, 1)],
                cmd(&[1], Some("9")),
                RuleViolation::PriceChanged { current: m("10") }.into(),
            ),
            (open(3, 0), vec![gold(1, 1)], cmd(&[1, 2], None), Error::NotFound("NFT")),
        ];
        for (offer, nfts, c, want) in cases {
            let (r, committed) = run(world(offer, nfts), c).await;
            assert_eq!((r.unwrap_err(), committed), (want, false));
        }
        let mut own = cmd(&[1], None);
        own.seller = OFFERER;
        let (r, committed) = run(world(open(3, 0), vec![gold(1, 2)]), own).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OwnItem.into(), false));
    }

    #[tokio::test]
    async fn a_fill_of_none_eleven_or_repeated_nfts_is_invalid() {
        for ids in [vec![], (0..11).collect::<Vec<u128>>(), vec![1, 1]] {
            let (r, _) = run(FakeTx::default(), cmd(&ids, None)).await;
            assert!(matches!(r, Err(Error::Invalid(_))), "{ids:?}");
        }
    }
}
