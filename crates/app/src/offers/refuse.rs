//! The NFT's current owner refuses an offer: the offerer's hold is released.

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "refuse_offer";

crate::define_uow!(
    /// Refusing: the NFT (to check its owner), the offer, the offerer's funds, the notice.
    RefuseOfferUow { nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Debug)]
pub struct RefuseOfferCommand {
    pub owner: UserId,
    pub offer_id: OfferId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct RefuseOffer {
    uows: Uows<dyn RefuseOfferUow>,
    services: Services,
}

impl RefuseOffer {
    pub fn new(uows: Uows<dyn RefuseOfferUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Current owner only, open offer: `refused`, funds released, offerer told.
    #[tracing::instrument(level = "debug", name = "refuse_offer", skip_all, fields(owner = %cmd.owner, offer = %cmd.offer_id))]
    pub async fn execute(&self, cmd: RefuseOfferCommand) -> Result<Offer, Error> {
        self.services.run_locked(NAME, &lock::offer(cmd.offer_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &RefuseOfferCommand) -> Result<Offer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            // Lock order: the NFT first, then the offer (re-read under its lock).
            let nft_id = uow.offers().get(cmd.offer_id).await?.ok_or(Error::NotFound("offer"))?.nft_id;
            let nft = uow.nfts().lock(nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            let mut offer = uow.offers().lock(cmd.offer_id).await?.ok_or(Error::NotFound("offer"))?;
            if nft.owner_id != cmd.owner {
                return Err(RuleViolation::NotOwner.into());
            }
            if offer.status != OfferStatus::Open {
                return Err(RuleViolation::OfferNotOpen.into());
            }
            let offerer = offer.offerer_id;
            let mut accounts = Accounts::lock(uow.accounts(), &[offerer]).await?;
            accounts.payee(offerer)?.release(offer.price);
            fx.record(fx.posting(Operation::OfferRelease, offer.id).release(offerer, offer.price));
            offer.close(OfferStatus::Refused);
            fx.notify(
                offerer,
                format!("Your offer of {} TON for \"{}\" was refused; the funds are back.", offer.price, nft.title),
            );
            accounts.save(uow.accounts()).await?;
            uow.offers().update(&offer).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
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

    fn with(o: Offer) -> FakeTx {
        let mut tx = FakeTx::default();
        let read = o.clone();
        tx.offers.expect_get().returning(move |_| Ok(Some(read.clone())));
        tx.offers.expect_lock().returning(move |_| Ok(Some(o.clone())));
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, Some("50")))));
        tx
    }

    async fn refuse(tx: FakeTx, by: i64) -> (Result<Offer, Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = RefuseOfferCommand { owner: UserId(by), offer_id: offer(2, "10").id, idempotency: None };
        let r = RefuseOffer::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn refusing_releases_the_hold_and_commits() {
        let mut tx = with(offer(2, "10"));
        let (accounts, saved) = accounts_saving(vec![user(2, "0", "10")]);
        tx.accounts = accounts;
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Refused).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (r, committed) = refuse(tx, 1).await;
        assert_eq!(r.unwrap().status, OfferStatus::Refused);
        assert!(committed);
        assert_eq!(saved.all(), [user(2, "10", "0")]);
        assert_eq!(entries.lines(), [(Some(2), Account::Held, d("-10")), (Some(2), Account::Available, d("10"))]);
        assert_eq!(sent.notified(), [2], "the offerer is told");
    }

    #[tokio::test]
    async fn only_the_current_owner_refuses() {
        let (r, committed) = refuse(with(offer(2, "10")), 2).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NotOwner.into(), false));
    }

    #[tokio::test]
    async fn a_closed_offer_cannot_be_refused() {
        let mut closed = offer(2, "10");
        closed.status = OfferStatus::Cancelled;
        let (r, committed) = refuse(with(closed), 1).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OfferNotOpen.into(), false));
    }
}
