//! Return a gift to its owner's Telegram account.

use std::sync::Arc;

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::Services;

crate::define_uow!(
    /// The return cascade: the NFT, every open offer on it, the offerers' funds, the outbox.
    BackNftUow, BackNftUowFactory { nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);
crate::use_case_error!(BackNftError);

pub struct BackNft {
    uows: Arc<dyn BackNftUowFactory>,
    services: Services,
}

impl BackNft {
    pub fn new(uows: Arc<dyn BackNftUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Owner only, NFT `available`. In one Unit of Work: unlisted, every open offer cancelled and
    /// refunded (offerers told), status `withdrawing`, and a gift transfer in the outbox.
    #[tracing::instrument(name = "back_nft", skip_all, fields(by = %by, nft = %nft_id))]
    pub async fn execute(&self, by: UserId, nft_id: NftId, key: Option<&IdempotencyKey>) -> Result<Nft, BackNftError> {
        self.services
            .run_locked("back_nft", &format!("nft:{nft_id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), key, self.services.now()).await??;
                let mut nft = uow.nfts().lock(nft_id).await?.ok_or(BackNftError::NotFound("NFT"))?;
                nft.ensure_owned_available(by)?;
                let mut offers = uow.offers().lock_open_for_nft(nft.id).await?;
                let offerers: Vec<UserId> = offers.iter().map(|o| o.offerer_id).collect();
                let mut accounts = Accounts::lock(uow.accounts(), &offerers).await?;
                for offer in &mut offers {
                    offer.close(OfferStatus::Cancelled);
                    accounts.payee(offer.offerer_id)?.release(offer.price);
                    fx.record(fx.posting(Operation::OfferRelease, offer.id).release(offer.offerer_id, offer.price));
                    fx.notify(
                        offer.offerer_id,
                        format!(
                            "Your offer on \"{}\" was cancelled: the owner withdrew it. {} TON are available again.",
                            nft.title, offer.price
                        ),
                    );
                    uow.offers().update(offer).await?;
                }
                nft.price = None;
                nft.status = NftStatus::Withdrawing;
                fx.send(OutboxPayload::GiftTransfer { nft_id: nft.id, gift_id: nft.gift_id.clone(), user_id: by });
                uow.nfts().update(&nft).await?;
                accounts.save(uow.accounts()).await?;
                fx.write_ledger(uow.ledger()).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok(nft)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::UseCaseError;
    use domain::ports::*;

    crate::fake_uow!(FakeUow: BackNftUow, FakeFactory: BackNftUowFactory {
        nfts: MockNftRepo => NftRepo, offers: MockOfferRepo => OfferRepo, accounts: MockAccountRepo => AccountRepo,
        ledger: MockLedgerRepo => LedgerRepo, outbox: MockOutboxRepo => OutboxRepo,
    });

    #[tokio::test]
    async fn back_refunds_offers_writes_the_gift_transfer_and_commits_once() {
        let mut uow = FakeUow::default();
        uow.nfts.expect_lock().returning(|_| Ok(Some(nft(1, Some("5")))));
        uow.offers.expect_lock_open_for_nft().returning(|_| Ok(vec![offer(2, "3")]));
        uow.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        uow.accounts.expect_lock().returning(|_| Ok(vec![user(2, "0", "3")]));
        uow.accounts.expect_save().withf(|u| u.available == m("3") && u.held == m("0")).times(1).returning(|_| Ok(()));
        uow.nfts
            .expect_update()
            .withf(|n| n.status == NftStatus::Withdrawing && n.price.is_none())
            .times(1)
            .returning(|_| Ok(()));
        uow.ledger = balanced_ledger();
        uow.outbox
            .expect_enqueue()
            .withf(|m| matches!(m.payload, OutboxPayload::GiftTransfer { .. }))
            .times(1)
            .returning(|_| Ok(()));
        uow.outbox
            .expect_enqueue()
            .withf(|m| matches!(m.payload, OutboxPayload::Notify { .. }))
            .times(1)
            .returning(|_| Ok(()));
        let (f, committed) = FakeFactory::new(uow);
        BackNft::new(f, services()).execute(UserId(1), nft(1, None).id, None).await.unwrap();
        assert!(committed.get());
    }

    #[tokio::test]
    async fn back_by_someone_else_or_of_an_nft_on_auction_commits_nothing() {
        let mut uow = FakeUow::default();
        uow.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        let (f, committed) = FakeFactory::new(uow);
        let e = BackNft::new(f, services()).execute(UserId(2), nft(1, None).id, None).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("forbidden", false));

        let mut uow = FakeUow::default();
        uow.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::OnAuction;
            Ok(Some(n))
        });
        let (f, committed) = FakeFactory::new(uow);
        let e = BackNft::new(f, services()).execute(UserId(1), nft(1, None).id, None).await.unwrap_err();
        assert_eq!((e.reason(), committed.get()), ("nft_unavailable", false));
    }
}
