//! Return a gift to its owner's Telegram account.

use domain::ports::{AccountRepo, LedgerRepo, NftRepo, OfferRepo, OutboxRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "back_nft";

crate::define_uow!(
    /// The return cascade: the NFT, every open offer on it, the offerers' funds, the outbox.
    BackNftUow { nfts: NftRepo, offers: OfferRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo }
);

#[derive(Clone, Debug)]
pub struct BackNftCommand {
    pub owner: UserId,
    pub nft_id: NftId,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct BackNft {
    uows: Uows<dyn BackNftUow>,
    services: Services,
    fee: Money,
}

impl BackNft {
    /// `fee`: `GIFT_WITHDRAWAL_FEE`, charged to the owner with the return.
    pub fn new(uows: Uows<dyn BackNftUow>, services: Services, fee: Money) -> Self {
        Self { uows, services, fee }
    }

    /// Owner only, NFT `available`, Telegram letting it leave (`gift_locked` before
    /// `can_transfer_at`), the owner able to pay the fee (`insufficient_funds`). In one Unit of Work: unlisted, every open offer cancelled and
    /// refunded (offerers told), status `withdrawing`, and a gift transfer in the outbox.
    #[tracing::instrument(level = "debug", name = "back_nft", skip_all, fields(owner = %cmd.owner, nft = %cmd.nft_id))]
    pub async fn execute(&self, cmd: BackNftCommand) -> Result<Nft, Error> {
        self.services.run_locked(NAME, &lock::nft(cmd.nft_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &BackNftCommand) -> Result<Nft, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        let done = async {
            fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
            let mut nft = uow.nfts().lock(cmd.nft_id).await?.ok_or(Error::NotFound("NFT"))?;
            nft.ensure_owned_available(cmd.owner)?;
            nft.ensure_transferable(fx.now)?;
            let mut offers = uow.offers().lock_open_for_nft(nft.id).await?;
            let mut parties: Vec<UserId> = offers.iter().map(|o| o.offerer_id).collect();
            if !self.fee.is_zero() {
                parties.push(cmd.owner);
            }
            let mut accounts = Accounts::lock(uow.accounts(), &parties).await?;
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
            if !self.fee.is_zero() {
                accounts.payer(cmd.owner)?.debit(self.fee)?;
                fx.record(fx.posting(Operation::GiftReturnFee, nft.id).transfer(
                    (Some(cmd.owner), Account::Available),
                    (None, Account::Fees),
                    self.fee,
                ));
            }
            nft.price = None;
            nft.status = NftStatus::Withdrawing;
            fx.send(OutboxPayload::GiftTransfer {
                nft_id: nft.id,
                gift_id: nft.gift_id.clone(),
                user_id: cmd.owner,
                owned_gift_id: nft.telegram.as_ref().map(|t| t.owned_gift_id.clone()),
                star_count: nft.telegram.as_ref().and_then(|t| t.transfer_star_count),
                fee: self.fee,
            });
            uow.nfts().update(&nft).await?;
            accounts.save(uow.accounts()).await?;
            fx.write_ledger(uow.ledger()).await?;
            fx.write_outbox(uow.outbox()).await?;
            Ok(nft)
        }
        .await;
        crate::uow::finish(uow, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn cmd(owner: i64) -> BackNftCommand {
        BackNftCommand { owner: UserId(owner), nft_id: nft(1, None).id, idempotency: None }
    }

    #[tokio::test]
    async fn back_refunds_offers_writes_the_gift_transfer_and_commits_once() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, Some("5")))));
        tx.offers.expect_lock_open_for_nft().returning(|_| Ok(vec![offer(2, "3")]));
        tx.offers.expect_update().withf(|o| o.status == OfferStatus::Cancelled).times(1).returning(|_| Ok(()));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(2, "0", "3")]));
        tx.accounts.expect_save().withf(|u| u.available == m("3") && u.held == m("0")).times(1).returning(|_| Ok(()));
        tx.nfts
            .expect_update()
            .withf(|n| n.status == NftStatus::Withdrawing && n.price.is_none())
            .times(1)
            .returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox
            .expect_enqueue()
            .withf(|m| matches!(m.payload, OutboxPayload::GiftTransfer { .. }))
            .times(1)
            .returning(|_| Ok(()));
        tx.outbox.expect_enqueue().withf(|m| matches!(m.payload, OutboxPayload::Notify { .. })).returning(|_| Ok(()));
        let (store, committed) = store(tx);

        let nft = BackNft::new(store, services(), Money::ZERO).execute(cmd(1)).await.unwrap();

        assert_eq!(nft.status, NftStatus::Withdrawing);
        assert!(committed.get());
    }

    #[tokio::test]
    async fn the_return_fee_is_charged_with_the_return_and_its_handles_go_in_the_message() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.telegram = Some(TelegramGift { owned_gift_id: "5123".into(), transfer_star_count: Some(25) });
            Ok(Some(n))
        });
        tx.offers.expect_lock_open_for_nft().returning(|_| Ok(vec![]));
        tx.accounts.expect_lock().withf(|ids| ids == [UserId(1)]).returning(|_| Ok(vec![user(1, "2", "0")]));
        tx.accounts.expect_save().withf(|u| u.available == m("1.5")).times(1).returning(|_| Ok(()));
        tx.nfts.expect_update().times(1).returning(|_| Ok(()));
        tx.ledger
            .expect_append()
            .withf(|e| e.iter().all(|l| l.operation == Operation::GiftReturnFee) && e.len() == 2)
            .times(1)
            .returning(|_| Ok(()));
        tx.outbox
            .expect_enqueue()
            .withf(|m| {
                matches!(&m.payload, OutboxPayload::GiftTransfer { owned_gift_id: Some(o), star_count: Some(25), fee, .. }
                    if o == "5123" && *fee == crate::testing::m("0.5"))
            })
            .times(1)
            .returning(|_| Ok(()));
        let (store, committed) = store(tx);

        BackNft::new(store, services(), m("0.5")).execute(cmd(1)).await.unwrap();

        assert!(committed.get());
    }

    #[tokio::test]
    async fn an_owner_short_of_the_fee_cannot_take_the_gift_back() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        tx.offers.expect_lock_open_for_nft().returning(|_| Ok(vec![]));
        tx.accounts.expect_lock().returning(|_| Ok(vec![user(1, "0.4", "0")]));
        let (store, committed) = store(tx);

        let e = BackNft::new(store, services(), m("0.5")).execute(cmd(1)).await.unwrap_err();

        assert_eq!(e, RuleViolation::InsufficientFunds.into());
        assert!(!committed.get(), "nothing changes");
    }

    #[tokio::test]
    async fn a_gift_telegram_still_locks_cannot_be_taken_back_yet() {
        let until = now() + chrono::Duration::seconds(1);
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(move |_| {
            let mut n = nft(1, Some("5"));
            n.can_transfer_at = Some(until);
            Ok(Some(n))
        });
        let (store, committed) = store(tx);

        let e = BackNft::new(store, services(), Money::ZERO).execute(cmd(1)).await.unwrap_err();

        assert_eq!(e, RuleViolation::GiftLocked { until }.into());
        assert!(!committed.get(), "nothing changes");
    }

    #[tokio::test]
    async fn only_the_owner_can_take_a_gift_back() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| Ok(Some(nft(1, None))));
        let (store, committed) = store(tx);

        let e = BackNft::new(store, services(), Money::ZERO).execute(cmd(2)).await.unwrap_err();

        assert_eq!(e, RuleViolation::NotOwner.into());
        assert!(!committed.get());
    }

    #[tokio::test]
    async fn a_gift_on_auction_cannot_be_taken_back() {
        let mut tx = FakeTx::default();
        tx.nfts.expect_lock().returning(|_| {
            let mut n = nft(1, None);
            n.status = NftStatus::OnAuction;
            Ok(Some(n))
        });
        let (store, committed) = store(tx);

        let e = BackNft::new(store, services(), Money::ZERO).execute(cmd(1)).await.unwrap_err();

        assert_eq!(e, RuleViolation::NftUnavailable.into());
        assert!(!committed.get());
    }
}
