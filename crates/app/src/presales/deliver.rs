//! Staff confirm a presale's gift arrived: it becomes the buyer's NFT, with an audit trail.

use domain::ports::{AccountRepo, EventRepo, LedgerRepo, NftRepo, OutboxRepo, PresaleRepo, StaffActionRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "deliver_presale";

crate::define_uow!(
    /// Delivery: the presale, the new NFT, buyer and seller funds, the audit trail.
    DeliverPresaleUow {
        presales: PresaleRepo,
        nfts: NftRepo,
        accounts: AccountRepo,
        ledger: LedgerRepo,
        outbox: OutboxRepo,
        events: EventRepo,
        staff_actions: StaffActionRepo,
    }
);

#[derive(Clone, Debug)]
pub struct DeliverPresaleCommand {
    /// Who confirms it (the staff token's audit label).
    pub actor: String,
    pub presale_id: PresaleId,
    pub gift_id: String,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct DeliverPresale {
    uows: Uows<dyn DeliverPresaleUow>,
    services: Services,
    fees: FeeRule,
}

impl DeliverPresale {
    pub fn new(uows: Uows<dyn DeliverPresaleUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// An NFT owned by the buyer is created, the held price goes to the seller minus the fee and
    /// the collateral is released to the seller; recorded as a staff action by `actor`.
    #[tracing::instrument(level = "debug", name = "deliver_presale", skip_all, fields(presale = %cmd.presale_id))]
    pub async fn execute(&self, cmd: DeliverPresaleCommand) -> Result<(Presale, Nft), Error> {
        self.services.run_locked(NAME, &lock::presale(cmd.presale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &DeliverPresaleCommand) -> Result<(Presale, Nft), Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut presale = uow.presales().lock(cmd.presale_id).await?.ok_or(Error::NotFound("presale"))?;
            let nft_id: NftId = self.services.new_id();
            let buyer = presale.deliver(nft_id)?;
            let nft = Nft {
                id: nft_id,
                gift_id: cmd.gift_id.clone(),
                title: presale.title.clone(),
                collection: presale.collection.clone(),
                owner_id: buyer,
                price: None,
                status: NftStatus::Available,
                created_at: fx.now,
                listed_at: None,
                traits: Default::default(),
                can_transfer_at: None,
                telegram: None,
            };
            let seller = presale.seller_id;
            let mut accounts = Accounts::lock(uow.accounts(), &[buyer, seller]).await?;
            match uow.nfts().insert(&nft).await {
                Err(RepoError::Duplicate(_)) => {
                    return Err(RuleViolation::Duplicate { what: format!("gift {}", cmd.gift_id) }.into())
                }
                other => other?,
            }
            let (fee, proceeds) = self.fees.split(presale.price);
            accounts.payee(buyer)?.take_held(presale.price);
            let s = accounts.payee(seller)?;
            s.credit(proceeds);
            s.release(presale.collateral);
            fx.record(fx.posting(Operation::PresaleDeliver, presale.id).sale(
                buyer,
                Account::Held,
                seller,
                proceeds,
                fee,
            ));
            fx.record(fx.posting(Operation::CollateralRelease, presale.id).release(seller, presale.collateral));
            fx.notify(buyer, format!("Your presale gift \"{}\" was delivered.", presale.title));
            fx.notify(
                seller,
                format!("Delivery of \"{}\" confirmed: {proceeds} TON credited, collateral released.", presale.title),
            );
            uow.presales().update(&presale).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.event(EventKind::PresaleDelivered, &nft, None);
            fx.write_outbox(uow.outbox()).await?;
            fx.write_events(uow.events()).await?;
            let action = StaffAction {
                id: self.services.new_id(),
                actor: cmd.actor.clone(),
                action: NAME.into(),
                subject: presale.id.to_string(),
                detail: format!("delivered as gift {}: NFT {} to user {buyer}", cmd.gift_id, nft.id),
                created_at: fx.now,
            };
            uow.staff_actions().record(&action).await?;
            Ok((presale, nft))
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presales::fixtures::presale;
    use crate::testing::*;

    async fn deliver(tx: FakeTx) -> (Result<(Presale, Nft), Error>, bool) {
        let (store, committed) = store(tx);
        let cmd = DeliverPresaleCommand {
            actor: "staff:ab12".into(),
            presale_id: presale(None).id,
            gift_id: "g".into(),
            idempotency: None,
        };
        let r = DeliverPresale::new(store, services(), FeeRule::default()).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn delivery_creates_the_nft_pays_the_seller_and_commits() {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
        tx.presales.expect_update().withf(|p| p.status == PresaleStatus::Delivered).returning(|_| Ok(()));
        tx.nfts.expect_insert().withf(|n| n.owner_id == UserId(2)).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "4"), user(2, "0", "20")]));
        tx.accounts
            .expect_save()
            .withf(|u| u.id != UserId(1) || (u.available == m("23") && u.held == m("0")))
            .times(2)
            .returning(|_| Ok(()));
        let (ledger, entries) = ledger_recording();
        tx.ledger = ledger;
        let (outbox, sent) = outbox_recording();
        tx.outbox = outbox;
        tx.staff_actions
            .expect_record()
            .withf(|a| {
                a.actor == "staff:ab12"
                    && a.action == "deliver_presale"
                    && a.detail.starts_with("delivered as gift g: NFT ")
            })
            .times(1)
            .returning(|_| Ok(()));
        let (r, committed) = deliver(tx).await;
        let (p, n) = r.unwrap();
        assert_eq!(
            (p.status, p.nft_id, n.owner_id, n.gift_id.as_str()),
            (PresaleStatus::Delivered, Some(n.id), UserId(2), "g")
        );
        assert!(committed);
        assert_eq!(
            entries.lines(),
            [
                (Some(2), Account::Held, d("-20")),
                (Some(1), Account::Available, d("19")),
                (None, Account::Fees, d("1")),
                (Some(1), Account::Held, d("-4")),
                (Some(1), Account::Available, d("4")),
            ]
        );
        assert_eq!(sent.notified(), [2, 1]);
    }

    #[tokio::test]
    async fn delivering_an_unsold_presale_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(None))));
        let (r, committed) = deliver(tx).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::PresaleNotSold.into(), false));
    }

    #[tokio::test]
    async fn delivering_a_known_gift_is_a_duplicate_and_commits_nothing() {
        let mut tx = FakeTx::default();
        tx.presales.expect_lock().returning(|_| Ok(Some(presale(Some(2)))));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0", "4"), user(2, "0", "20")]));
        tx.nfts.expect_insert().returning(|_| Err(RepoError::Duplicate(Constraint::GiftId)));
        let (r, committed) = deliver(tx).await;
        assert_eq!((r.unwrap_err(), committed), (RuleViolation::Duplicate { what: "gift g".into() }.into(), false));
    }
}
