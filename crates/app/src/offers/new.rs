//! Make an offer on an NFT.

use chrono::Duration;
use domain::ports::{AccountRepo, EventRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "new_offer";

crate::define_uow!(
    /// Making an offer: the NFT (locked to check owner and status), offers, the offerer's funds.
    NewOfferUow {
        nfts: NftRepo,
        offers: OfferRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        outbox: OutboxRepo,
        events: EventRepo,
    }
);

#[derive(Clone, Debug)]
pub struct NewOfferCommand {
    pub offerer: UserId,
    pub nft_id: NftId,
    pub price: Money,
    /// 60 s – 30 days (checked at the edge).
    pub expires_in: Duration,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct NewOffer {
    uows: Uows<dyn NewOfferUow>,
    services: Services,
}

impl NewOffer {
    pub fn new(uows: Uows<dyn NewOfferUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Holds the price from the offerer and tells the owner. One open offer per user and NFT.
    #[tracing::instrument(level = "debug", name = "new_offer", skip_all, fields(offerer = %cmd.offerer, nft = %cmd.nft_id))]
    pub async fn execute(&self, cmd: NewOfferCommand) -> Result<Offer, Error> {
        self.services.run_locked(NAME, &lock::nft(cmd.nft_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &NewOfferCommand) -> Result<Offer, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            if nft.owner_id == cmd.offerer {
                return Err(RuleViolation::OwnItem.into());
            }
            nft.ensure_available()?;
            let offer = Offer {
                id: self.services.new_id(),
                nft_id: nft.id,
                offerer_id: cmd.offerer,
                price: cmd.price,
                status: OfferStatus::Open,
                expires_at: fx.now + cmd.expires_in,
                created_at: fx.now,
            };
            // Users are locked before inserting rows that reference them (see ADR 002).
            let mut accounts = Accounts::lock(uow.accounts(), &[cmd.offerer]).await?;
            accounts.payer(cmd.offerer)?.hold(cmd.price)?;
            match uow.offers().insert(&offer).await {
                Err(RepoError::Duplicate(_)) => return Err(RuleViolation::OfferExists.into()),
                other => other?,
            }
            fx.record(fx.posting(Operation::OfferHold, offer.id).hold(cmd.offerer, cmd.price));
            fx.notify(nft.owner_id, format!("New offer of {} TON for \"{}\".", cmd.price, nft.title));
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.event(EventKind::OfferMade, &nft, Some(cmd.price));
            fx.private_event(nft.owner_id, EventKind::OfferReceived, &nft, Some(cmd.price));
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

    fn cmd(offerer: i64, price: &str) -> NewOfferCommand {
        NewOfferCommand {
            offerer: UserId(offerer),
            nft_id: nft(1, None).id,
            price: m(price),
            expires_in: Duration::days(7),
            idempotency: None,
        }
    }

    fn with_nft(n: Nft) -> FakeTx {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(move |_| Ok(Some(n.clone())));
        tx
    }

    async fn run(tx: FakeTx, cmd: NewOfferCommand) -> (Result<Offer, Error>, bool) {
        let (store, committed) = store(tx);
        let r = NewOffer::new(store, services()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn a_new_offer_holds_the_price_and_commits() {
        let mut tx = with_nft(nft(1, None));
        tx.offers
            .expect_insert()
            .withf(|o| {
                o.offerer_id == UserId(2)
                    && o.price == m("4")
                    && o.status == OfferStatus::Open
                    && o.expires_at == now() + Duration::days(7)
            })
            .times(1)
            .returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(2, "10", "0")]));
        tx.accounts.expect_save().withf(|u| u.available == m("6") && u.held == m("4")).times(1).returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        let (events, written) = events_recording();
        tx.events = events;

        let (r, committed) = run(tx, cmd(2, "4")).await;

        let o = r.unwrap();
        assert_eq!((o.status, o.expires_at), (OfferStatus::Open, now() + Duration::days(7)));
        assert!(committed);
        assert_eq!(entries.lines(), [(Some(2), Account::Available, d("-4")), (Some(2), Account::Held, d("4"))]);
        assert_eq!(sent.notified(), [1], "the owner is told");
        assert_eq!(
            written.all().into_iter().map(|e| (e.kind, e.recipient)).collect::<Vec<_>>(),
            [(EventKind::OfferMade, None), (EventKind::OfferReceived, Some(UserId(1)))]
        );
    }

    #[tokio::test]
    async fn offering_on_your_own_nft_commits_nothing() {
        let (r, committed) = run(with_nft(nft(2, None)), cmd(2, "4")).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OwnItem.into(), false));
    }

    #[tokio::test]
    async fn offering_on_an_unavailable_nft_commits_nothing() {
        let mut gone = nft(1, None);
        gone.status = NftStatus::Withdrawing;
        let (r, committed) = run(with_nft(gone), cmd(2, "4")).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::NftUnavailable.into(), false));
    }

    #[tokio::test]
    async fn a_second_open_offer_commits_nothing() {
        let mut tx = with_nft(nft(1, None));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(2, "10", "0")]));
        tx.offers.expect_insert().returning(|_| Err(RepoError::Duplicate(Constraint::OneOpenOfferPerUserAndNft)));
        let (r, committed) = run(tx, cmd(2, "4")).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::OfferExists.into(), false));
    }

    #[tokio::test]
    async fn too_little_money_commits_nothing() {
        let mut tx = with_nft(nft(1, None));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(2, "3", "0")]));
        let (r, committed) = run(tx, cmd(2, "4")).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::InsufficientFunds.into(), false));
    }
}
