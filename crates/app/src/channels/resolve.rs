//! Staff settle a disputed channel sale either way while it awaits transfer.

use domain::ports::{AccountRepo, ChannelSaleRepo, LedgerRepo, OutboxRepo, StaffActionRepo};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::idempotency::IdempotencyKey;
use crate::services::lock;
use crate::uow::Uows;
use crate::{Error, Services};

const NAME: &str = "resolve_channel_sale";

crate::define_uow!(
    /// Resolving: the sale, both parties' funds, the ledger, the notices, the audit trail.
    ResolveChannelSaleUow {
        channel_sales: ChannelSaleRepo, accounts: AccountRepo, ledger: LedgerRepo, outbox: OutboxRepo,
        staff_actions: StaffActionRepo,
    }
);

/// Staff's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelOutcome {
    /// The buyer got the channel: the seller is paid.
    Complete,
    /// The buyer did not: the escrow goes back.
    Refund,
}

#[derive(Clone, Debug)]
pub struct ResolveChannelSaleCommand {
    pub actor: String,
    pub sale_id: ChannelSaleId,
    pub outcome: ChannelOutcome,
    pub idempotency: Option<IdempotencyKey>,
}

pub struct ResolveChannelSale {
    uows: Uows<dyn ResolveChannelSaleUow>,
    services: Services,
    fees: FeeRule,
}

impl ResolveChannelSale {
    pub fn new(uows: Uows<dyn ResolveChannelSaleUow>, services: Services, fees: FeeRule) -> Self {
        Self { uows, services, fees }
    }

    /// While awaiting transfer (else `channel_sale_closed`): complete or refund; recorded.
    #[tracing::instrument(level = "debug", name = "resolve_channel_sale", skip_all, fields(sale = %cmd.sale_id, actor = %cmd.actor))]
    pub async fn execute(&self, cmd: ResolveChannelSaleCommand) -> Result<ChannelSale, Error> {
        self.services.run_locked(NAME, &lock::channel_sale(cmd.sale_id), || self.attempt(&cmd)).await
    }

    async fn attempt(&self, cmd: &ResolveChannelSaleCommand) -> Result<ChannelSale, Error> {
        let mut fx = Effects::new(&self.services);
        let mut uow = self.uows.begin(NAME).await?;
        fx.claim(uow.idempotency(), cmd.idempotency.as_ref()).await?;
        let mut sale = uow.channel_sales().lock(cmd.sale_id).await?.ok_or(Error::NotFound("channel sale"))?;
        let buyer = sale.awaiting_buyer()?;
        let mut accounts = Accounts::lock(uow.accounts(), &[buyer, sale.seller_id]).await?;
        let detail = match cmd.outcome {
            ChannelOutcome::Complete => {
                super::complete(&mut sale, &mut accounts, &mut fx, self.fees)?;
                "complete"
            }
            ChannelOutcome::Refund => {
                super::refund(&mut sale, &mut accounts, &mut fx)?;
                "refund"
            }
        };
        let action = StaffAction {
            id: self.services.new_id(),
            actor: cmd.actor.clone(),
            action: NAME.into(),
            subject: sale.id.to_string(),
            detail: detail.into(),
            created_at: fx.now,
        };
        uow.staff_actions().record(&action).await?;
        uow.channel_sales().update(&sale).await?;
        accounts.save(uow.accounts()).await?;
        fx.write_ledger(uow.ledger()).await?;
        fx.write_outbox(uow.outbox()).await?;
        uow.commit().await?;
        Ok(sale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::fixtures::*;
    use crate::testing::*;

    async fn resolve(
        sale: ChannelSale,
        outcome: ChannelOutcome,
        to: ChannelSaleStatus,
    ) -> (Result<ChannelSale, Error>, bool) {
        let mut tx = FakeTx::default();
        tx.channel_sales.expect_lock().returning(move |_| Ok(Some(sale.clone())));
        tx.accounts = accounts_with(vec![user(SELLER, "0", "0"), user(BUYER, "0", "100")]);
        tx.channel_sales.expect_update().withf(move |s| s.status == to).returning(|_| Ok(()));
        tx.staff_actions.expect_record().withf(|a| a.action == "resolve_channel_sale").returning(|_| Ok(()));
        tx.ledger = balanced_ledger();
        tx.outbox = any_outbox();
        let (store, committed) = store(tx);
        let cmd = ResolveChannelSaleCommand { actor: "staff:1".into(), sale_id: sold().id, outcome, idempotency: None };
        let r = ResolveChannelSale::new(store, services(), FeeRule::new(500)).execute(cmd).await;
        (r, committed.get())
    }

    #[tokio::test]
    async fn staff_complete_or_refund_an_awaiting_sale() {
        let (r, c) = resolve(sold(), ChannelOutcome::Complete, ChannelSaleStatus::Completed).await;
        assert_eq!((r.unwrap().status, c), (ChannelSaleStatus::Completed, true));
        let (r, c) = resolve(sold(), ChannelOutcome::Refund, ChannelSaleStatus::Refunded).await;
        assert_eq!((r.unwrap().status, c), (ChannelSaleStatus::Refunded, true));
    }

    #[tokio::test]
    async fn a_sale_not_awaiting_transfer_is_closed() {
        let (r, c) = resolve(listed(), ChannelOutcome::Refund, ChannelSaleStatus::Refunded).await;
        assert_eq!((r.unwrap_err(), c), (RuleViolation::ChannelSaleClosed.into(), false));
    }
}
