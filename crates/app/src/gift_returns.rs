//! A gift return's outcome: delivered → `withdrawn`; refused for good → `available` again.

use std::sync::Arc;

use domain::ports::{NftRepo, OutboxRepo};
use domain::*;

use crate::effects::Effects;
use crate::Services;

crate::define_uow!(
    /// Recording a gift return: the NFT and the notice.
    GiftReturnUow, GiftReturnUowFactory { nfts: NftRepo, outbox: OutboxRepo }
);
crate::use_case_error!(GiftReturnError);

pub struct GiftReturns {
    uows: Arc<dyn GiftReturnUowFactory>,
    services: Services,
}

impl GiftReturns {
    pub fn new(uows: Arc<dyn GiftReturnUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Telegram delivered the gift: the NFT is `withdrawn`; the owner is told. Repeats are no-ops.
    pub async fn returned(&self, nft: NftId) -> Result<Option<Nft>, GiftReturnError> {
        self.record(nft, true).await
    }

    /// Telegram refused for good: the NFT is `available` again; the owner is told.
    pub async fn failed(&self, nft: NftId) -> Result<Option<Nft>, GiftReturnError> {
        self.record(nft, false).await
    }

    async fn record(&self, nft_id: NftId, delivered: bool) -> Result<Option<Nft>, GiftReturnError> {
        self.services
            .run("gift_return_result", || async {
                let mut fx = Effects::new(&self.services, self.services.now());
                let mut uow = self.uows.begin().await?;
                let mut nft = uow.nfts().lock(nft_id).await?.ok_or(GiftReturnError::NotFound("NFT"))?;
                if nft.status != NftStatus::Withdrawing {
                    return Ok(None);
                }
                if delivered {
                    nft.status = NftStatus::Withdrawn;
                    fx.notify(nft.owner_id, format!("\"{}\" is back in your Telegram account.", nft.title));
                } else {
                    nft.status = NftStatus::Available;
                    fx.notify(
                        nft.owner_id,
                        format!("Returning \"{}\" failed; it is in your marketplace account again.", nft.title),
                    );
                }
                uow.nfts().update(&nft).await?;
                fx.write_outbox(uow.outbox()).await?;
                uow.commit().await?;
                Ok(Some(nft))
            })
            .await
    }
}
