//! The NFT's current owner accepts an offer: a sale at the offer's price.

use domain::ports::{AccountRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "accept_offer";

crate::define_uow!(
    /// Accepting: the NFT, the offer, both users' funds, the ledger and the notice.
    AcceptOfferUow {
        nfts: NftRepo,
        offers: OfferRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        outbox: OutboxRepo,
        events: EventRepo,
    }
);

#[derive(Clone, Debug)]
pub struct AcceptOfferCommand {
    pub owner: UserId,
    pub offer_id: OfferId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct AcceptOffer {
    uows: Uows<dyn AcceptOfferUow>,
    services: Services,
    fees: FeeRule,
}

impl AcceptOffer {
    pub fn new(uows: Uows<dyn AcceptOfferUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// The held price goes to the owner minus the fee and the NFT to the offerer (unlisted); the
    /// offerer is told. The offer must be open and not expired, the NFT `available`.
    #[tracing::instrument(level = "debug", name = "accept_offer", skip_all, fields(owner = %cmd.owner, offer = %cmd.offer_id))]
    pub async fn execute(&self, cmd: AcceptOfferCommand) -> Result<Offer, Error> {
        self.services.run_locked(NAME, &lock::offer(cmd.offer_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &AcceptOfferCommand) -> Result<Offer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            // Lock order: the NFT first, then the offer (re-read under its lock).
            let nft_id = uow.offers().get(cmd.offer_id).await?.ok_or(Error::NotFound("offer"))?.nft_id;
            let mut nft = uow.nfts().lock(nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            let mut offer = uow.offers().lock(cmd.offer_id).await?.ok_or(Error::NotFound("offer"))?;
            if nft.owner_id != cmd.owner {
                return Err(RuleViolation::NotOwner.into());
            }
            offer.ensure_live(fx.now)?;
            nft.ensure_available()?;
            let (owner, offerer) = (nft.owner_id, offer.offerer_id);
            if offerer == owner {
                return Err(RuleViolation::OwnItem.into());
            }
            let mut accounts = Accounts::lock(uow.accounts(), &[owner, offerer]).await?;
            super::accept_into(&mut fx, self.fees, &mut accounts, &mut offer, &mut nft)?;
            uow.nfts().update(&nft).await?;
            accounts.save(uow.accounts()).await?;
            uow.offers().update(&offer).await?;
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

    fn with(owner: i64, o: Offer) -> FakeTx {
        let mut tx = FakeTx::default();
        let read = o.clone();
        tx.offers.expect_get().returning(move |_| Ok(Some(read.clone())));
        tx.offers.expect_lock().returning(move |_| Ok(Some(o.clone())));
        tx.nfts.expect_lock().returning(move |_| Ok(Some(nft(owner, Some("50")))));
        tx
    }

    async fn accept(tx: FakeTx, by: i64) -> (Result<Offer, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = AcceptOfferCommand { owner: UserId(by), offer_id: offer(2, "10").id, idempotency: None };
        let r = AcceptOffer::new(store, services(), FeeRule::default()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn accepting_pays_the_owner_moves_the_nft_and_commits() {
        let mut tx = with(1, offer(2, "10"));
        let (accounts, saved) = accounts_saving(vec![user(1, "0", "0"), user(2, "0", "10")]);
        tx.accounts = accounts;
        tx.nfts.expect_update().withf(|n| n.owner_id == UserId(2) && n.price.is_none()).times(1).returning(|_| Ok(()));
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Accepted).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (events, written) = events_recording();
        tx.events = events;
        let (r, committed) = accept(tx, 1).await;
        assert_eq!(r.unwrap().status, OfferStatus::Accepted);
        assert!(committed);
        assert_eq!(saved.all(), [user(1, "9.5", "0"), user(2, "0", "0")]);
        assert_eq!(
            entries.lines(),
            [
                (Some(2), Account::Held, d("-10")),
                (Some(1), Account::Available, d("9.5")),
                (None, Account::Fees, d("0.5"))
            ]
        );
        assert_eq!(sent.notified(), [2]);
        assert_eq!(
            written.all().into_iter().map(|e| (e.kind, e.price)).collect::<Vec<_>>(),
            [(EventKind::OfferAccepted, Some(m("10")))]
        );
    }

    #[tokio::test]
    async fn an_owner_cannot_accept_their_own_offer() {
        let (r, committed) = accept(with(2, offer(2, "10")), 2).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OwnItem.into(), false));
    }

    #[tokio::test]
    async fn an_nft_that_is_not_available_cannot_be_sold_to_an_offer() {
        let mut tx = FakeTx::default();
        tx.offers.expect_get().returning(|_| Ok(Some(offer(2, "10"))));
        tx.offers.expect_lock().returning(|_| Ok(Some(offer(2, "10"))));
        tx.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::InTrade;
            Ok(Some(n))
        });
        let (r, committed) = accept(tx, 1).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NftUnavailable.into(), false));
    }

    #[tokio::test]
    async fn a_stranger_cannot_accept() {
        let (r, committed) = accept(with(1, offer(2, "10")), 3).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
    }

    #[tokio::test]
    async fn an_expired_offer_cannot_be_accepted_even_before_the_job_ran() {
        let mut expired = offer(2, "10");
        expired.expires_at = now();
        let (r, committed) = accept(with(1, expired), 1).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OfferNotOpen.into(), false));
    }
}
