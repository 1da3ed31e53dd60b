//! List an NFT at a price, or unlist it.

use std::sync::Arc;

use domain::ports::NftRepo;
use domain::*;

use crate::services::Services;
use crate::uow::UseCaseError;

crate::define_uow!(SetNftPriceUow, SetNftPriceUowFactory { nfts: NftRepo });

#[derive(Clone, Debug)]
pub struct SetNftPriceCommand {
    pub owner: UserId,
    pub nft_id: NftId,
    /// `None` unlists.
    pub price: Option<Money>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetNftPriceError {
    #[error("NFT not found")]
    NotFound,
    #[error(transparent)]
    Rule(#[from] RuleViolation),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl UseCaseError for SetNftPriceError {
    fn is_transient(&self) -> bool {
        matches!(self, SetNftPriceError::Storage(e) if e.is_transient())
    }
    fn reason(&self) -> &'static str {
        match self {
            SetNftPriceError::NotFound => "not_found",
            SetNftPriceError::Rule(r) => r.code(),
            SetNftPriceError::Storage(_) => "storage",
        }
    }
}

pub struct SetNftPrice {
    uows: Arc<dyn SetNftPriceUowFactory>,
    services: Services,
}

impl SetNftPrice {
    pub fn new(uows: Arc<dyn SetNftPriceUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Owner only, NFT `available`. Takes the NFT's lock so a price change and a buy queue.
    pub async fn execute(&self, cmd: SetNftPriceCommand) -> Result<Nft, SetNftPriceError> {
        let key = format!("nft:{}", cmd.nft_id);
        self.services
            .run_locked("set_nft_price", &key, || async {
                let mut uow = self.uows.begin().await?;
                let mut nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(SetNftPriceError::NotFound)?;
                nft.set_price(cmd.owner, cmd.price)?;
                uow.nfts().update(&nft).await?;
                uow.commit().await?;
                Ok(nft)
            })
            .await
    }
}
