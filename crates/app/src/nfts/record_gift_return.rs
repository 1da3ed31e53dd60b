//! A gift return's outcome, reported by the relay: delivered → `withdrawn`; refused for good →
//! `available` again.

use domain::ports::{NftRepo, OutboxRepo};
use domain::*;

use crate::effects::Effects;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "record_gift_return";

crate::define_uow!(
    /// Recording a gift return: the NFT and the notice.
    RecordGiftReturnUow { nfts: NftRepo, outbox: OutboxRepo }
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordGiftReturnCommand {
    pub nft_id: NftId,
    /// Telegram delivered the gift (`true`) or refused it for good (`false`).
    pub delivered: bool,
}

pub struct RecordGiftReturn {
    uows: Uows<dyn RecordGiftReturnUow>,
    services: Services,
}

impl RecordGiftReturn {
    pub fn new(uows: Uows<dyn RecordGiftReturnUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Delivered: the NFT is `withdrawn`. Refused: it is `available` again. The owner is told
    /// either way. `Ok(None)` when the NFT is not `withdrawing` (a repeat: nothing to do).
    #[tracing::instrument(level = "debug", name = "record_gift_return", skip_all, fields(nft = %cmd.nft_id, delivered = cmd.delivered))]
    pub async fn execute(&self, cmd: RecordGiftReturnCommand) -> Result<Option<Nft>, Error> {
        self.services.run(NAME, || self.attempt(cmd)).await
    }

    async fn attempt(&self, cmd: RecordGiftReturnCommand) -> Result<Option<Nft>, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            let mut nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            if nft.status != NftStatus::Withdrawing {
                return Ok(None);
            }
            if cmd.delivered {
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
            Ok(Some(nft))
        }
        .await;
        crate::uow::finish_some(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn leaving() -> Nft {
        let mut n = nft(1, None);
        n.status = NftStatus::Withdrawing;
        n
    }

    async fn record(tx: FakeTx, delivered: bool) -> (Option<Nft>, bool) {
        let (store, committed) = store(tx);
        let cmd = RecordGiftReturnCommand { nft_id: leaving().id, delivered };
        let r = RecordGiftReturn::new(store, services()).execute(cmd).await.unwrap();
        (r, committed.get())
    }

    #[tokio::test]
    async fn a_delivered_gift_is_withdrawn_and_the_owner_told() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(leaving())));
        tx.nfts.expect_update().withf(|n| n.status == NftStatus::Withdrawn).times(1).returning(|_| Ok(()));
        tx.outbox.expect_enqueue().times(1).returning(|_| Ok(()));
        assert!(matches!(record(tx, true).await, (Some(_), true)));
    }

    #[tokio::test]
    async fn a_refused_return_makes_the_nft_available_again() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(leaving())));
        tx.nfts.expect_update().withf(|n| n.status == NftStatus::Available).times(1).returning(|_| Ok(()));
        tx.outbox.expect_enqueue().times(1).returning(|_| Ok(()));
        assert!(matches!(record(tx, false).await, (Some(_), true)));
    }

    #[tokio::test]
    async fn a_repeat_changes_nothing() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        assert_eq!(record(tx, true).await, (None, false));
    }
}
