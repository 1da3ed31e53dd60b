//! A gift return's outcome, reported by the relay: delivered → `withdrawn`; refused for good →
//! `available` again, the return's fee refunded.

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "record_gift_return";

crate::define_uow!(
    /// Recording a gift return: the NFT, the notice, and on failure the fee back.
    RecordGiftReturnUow { nfts: NftRepo, outbox: OutboxRepo, accounts: AccountRepo, ledger: LedgerRepo }
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordGiftReturnCommand {
    pub nft_id: NftId,
    /// Telegram delivered the gift (`true`) or refused it for good (`false`).
    pub delivered: bool,
    /// The fee charged for the return (refunded when it failed).
    pub fee: Money,
}

pub struct RecordGiftReturn {
    uows: Uows<dyn RecordGiftReturnUow>,
    services: Services,
}

impl RecordGiftReturn {
    pub fn new(uows: Uows<dyn RecordGiftReturnUow>, services: Services) -> Self {
        Self { uows, services }
    }

    /// Delivered: the NFT is `withdrawn`. Refused: it is `available` again and the fee goes back
    /// to the owner. The owner is told either way. `Ok(None)` when the NFT is not `withdrawing` (a repeat: nothing to do).
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
                if !cmd.fee.is_zero() {
                    let mut accounts = Accounts::lock(uow.accounts(), &[nft.owner_id]).await?;
                    accounts.payee(nft.owner_id)?.credit(cmd.fee);
                    fx.record(fx.posting(Operation::GiftReturnRefund, nft.id).transfer(
                        (None, Account::Fees),
                        (Some(nft.owner_id), Account::Available),
                        cmd.fee,
                    ));
                    accounts.save(uow.accounts()).await?;
                    fx.write_ledger(uow.ledger()).await?;
                }
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
        let cmd = RecordGiftReturnCommand { nft_id: leaving().id, delivered, fee: Money::ZERO };
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
    async fn a_refused_return_gives_the_fee_back() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(leaving())));
        tx.nfts.expect_update().withf(|n| n.status == NftStatus::Available).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "3", "0")]));
        tx.accounts.expect_save().withf(|u| u.available == m("3.5")).times(1).returning(|_| Ok(()));
        tx.ledger
            .expect_append()
            .withf(|e| {
                e.iter().all(|l| l.operation == Operation::GiftReturnRefund)
                    && e.iter().any(|l| l.account == Account::Fees && l.amount == -m("0.5").as_decimal())
            })
            .times(1)
            .returning(|_| Ok(()));
        tx.outbox.expect_enqueue().times(1).returning(|_| Ok(()));
        let (store, committed) = store(tx);
        let cmd = RecordGiftReturnCommand { nft_id: leaving().id, delivered: false, fee: m("0.5") };
        let r = RecordGiftReturn::new(store, services()).execute(cmd).await.unwrap();
        assert_eq!(r.map(|n| n.status), Some(NftStatus::Available));
        assert!(committed.get());
    }

    #[tokio::test]
    async fn a_delivered_return_keeps_the_fee() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(leaving())));
        tx.nfts.expect_update().times(1).returning(|_| Ok(()));
        tx.outbox.expect_enqueue().times(1).returning(|_| Ok(()));
        let (store, committed) = store(tx);
        let cmd = RecordGiftReturnCommand { nft_id: leaving().id, delivered: true, fee: m("0.5") };
        RecordGiftReturn::new(store, services()).execute(cmd).await.unwrap();
        assert!(committed.get(), "no account or ledger touched (their mocks would panic)");
    }

    #[tokio::test]
    async fn a_repeat_changes_nothing() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        assert_eq!(record(tx, true).await, (None, false));
    }
}
