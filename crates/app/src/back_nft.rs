//! Return a gift to its owner's Telegram account.

use std::sync::Arc;

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
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
    pub async fn execute(&self, by: UserId, nft_id: NftId) -> Result<Nft, BackNftError> {
        self.services
            .run_locked("back_nft", &format!("nft:{nft_id}"), || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                let mut nft = uow.nfts().lock(nft_id).await?.ok_or(BackNftError::NotFound("NFT"))?;
                nft.ensure_owned_available(by)?;
                let mut offers = uow.offers().lock_open_for_nft(nft.id).await?;
                let offerers: Vec<UserId> = offers.iter().map(|o| o.offerer_id).collect();
                let mut accounts = Accounts::lock(uow.accounts(), &offerers).await?;
                for offer in &mut offers {
                    offer.close(OfferStatus::Cancelled);
                    accounts.payee(offer.offerer_id)?.release(offer.price);
                    fx.record(fx.posting(Operation::OfferRelease, offer.id).release(offer.offerer_id, offer.price));
                    fx.notify(offer.offerer_id, format!("Your offer on \"{}\" was cancelled: the owner withdrew it. {} TON are available again.", nft.title, offer.price));
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
