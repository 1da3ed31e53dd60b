//! A gift has arrived in custody: register it as an `available` NFT of its owner.

use std::sync::Arc;

use domain::ports::{AccountRepo, NftRepo};
use domain::*;

use crate::idempotency::{IdempotencyError, IdempotencyKey};
use crate::services::Services;
use crate::uow::UseCaseError;

crate::define_uow!(
    /// Registering touches the owner's account (created when new) and the NFTs.
    RegisterNftUow, RegisterNftUowFactory { accounts: AccountRepo, nfts: NftRepo }
);

#[derive(Clone, Debug)]
pub struct RegisterNftCommand {
    pub owner_id: UserId,
    pub gift_id: String,
    pub title: String,
    pub collection: String,
    pub idempotency: Option<IdempotencyKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterNftError {
    #[error("gift {0} is already registered")]
    DuplicateGift(String),
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    #[error(transparent)]
    Storage(#[from] RepoError),
}

impl UseCaseError for RegisterNftError {
    fn is_transient(&self) -> bool {
        matches!(self, RegisterNftError::Storage(e) if e.is_transient())
    }
    fn reason(&self) -> &'static str {
        match self {
            RegisterNftError::DuplicateGift(_) => "duplicate",
            RegisterNftError::Idempotency(_) => "idempotency",
            RegisterNftError::Storage(_) => "storage",
        }
    }
}

pub struct RegisterNft {
    uows: Arc<dyn RegisterNftUowFactory>,
    services: Services,
}

impl RegisterNft {
    pub fn new(uows: Arc<dyn RegisterNftUowFactory>, services: Services) -> Self {
        Self { uows, services }
    }

    pub async fn execute(&self, cmd: RegisterNftCommand) -> Result<Nft, RegisterNftError> {
        self.services
            .run("register_nft", || async {
                let mut uow = self.uows.begin().await?;
                crate::idempotency::claim(uow.idempotency(), cmd.idempotency.as_ref(), self.services.now()).await??;
                uow.accounts().ensure_locked(cmd.owner_id, None).await?;
                let nft = Nft {
                    id: self.services.new_id(),
                    gift_id: cmd.gift_id.clone(),
                    title: cmd.title.clone(),
                    collection: cmd.collection.clone(),
                    owner_id: cmd.owner_id,
                    price: None,
                    status: NftStatus::Available,
                    created_at: self.services.now(),
                };
                match uow.nfts().insert(&nft).await {
                    Err(RepoError::Duplicate(_)) => return Err(RegisterNftError::DuplicateGift(cmd.gift_id.clone())),
                    other => other?,
                }
                uow.commit().await?;
                Ok(nft)
            })
            .await
    }
}
