//! Channel sales: a Telegram channel (and the gifts it holds) sold for TON. The marketplace cannot
//! move a channel: the seller hands it over in Telegram and the price stays in escrow until the
//! buyer owns it. Telegram is asked outside any Unit of Work; the Unit of Work re-locks and
//! re-checks the sale.

pub mod buy;
pub mod check;
pub mod confirm;
pub mod delete;
pub mod list;
pub mod resolve;
pub mod set_price;

use domain::ports::{ChannelDirectory, DirectoryError};
use domain::*;

use crate::effects::{Accounts, Effects};
use crate::Error;

/// Who owns the sale's channel now, as Telegram says (the stand-in without Telegram keeps
/// saying the seller). `None` when Telegram cannot tell.
async fn owner_now(directory: &dyn ChannelDirectory, sale: &ChannelSale) -> Result<Option<UserId>, Error> {
    match directory.inspect(&ChannelRef::Id(sale.chat_id), sale.seller_id).await {
        Ok(info) => Ok(info.owner_id),
        Err(DirectoryError::NotFound(_)) => Ok(None),
        Err(DirectoryError::Unavailable { reason, .. }) => {
            tracing::warn!(sale = %sale.id, %reason, "cannot ask Telegram who owns the channel");
            Err(Error::Dependency("Telegram"))
        }
    }
}

/// Releases the escrow to the seller, less the fee: the sale is `completed`; both are told.
fn complete(sale: &mut ChannelSale, accounts: &mut Accounts, fx: &mut Effects<'_>, fees: FeeRule) -> Result<(), Error> {
    let buyer = sale.awaiting_buyer()?;
    let (fee, proceeds) = fees.split(sale.price);
    accounts.payee(buyer)?.take_held(sale.price);
    accounts.payee(sale.seller_id)?.credit(proceeds);
    fx.record(fx.posting(Operation::ChannelRelease, sale.id).sale(buyer, Account::Held, sale.seller_id, proceeds, fee));
    sale.status = ChannelSaleStatus::Completed;
    fx.notify(sale.seller_id, format!("The sale of \"{}\" is complete: {proceeds} TON credited.", sale.title));
    fx.notify(buyer, format!("\"{}\" is yours; the payment went to the seller.", sale.title));
    Ok(())
}

/// Returns the escrow to the buyer: the sale is `refunded`; both are told.
fn refund(sale: &mut ChannelSale, accounts: &mut Accounts, fx: &mut Effects<'_>) -> Result<(), Error> {
    let buyer = sale.awaiting_buyer()?;
    accounts.payee(buyer)?.release(sale.price);
    fx.record(fx.posting(Operation::ChannelRefund, sale.id).release(buyer, sale.price));
    sale.status = ChannelSaleStatus::Refunded;
    fx.notify(buyer, format!("\"{}\" was not handed over: {} TON are available again.", sale.title, sale.price));
    fx.notify(sale.seller_id, format!("The sale of \"{}\" was refunded to the buyer.", sale.title));
    Ok(())
}

/// Locks a sale for `by`: once sold it is visible to its two parties only.
async fn lock_visible(
    sales: &mut dyn domain::ports::ChannelSaleRepo,
    id: ChannelSaleId,
    by: UserId,
) -> Result<ChannelSale, Error> {
    sales.lock(id).await?.filter(|s| s.visible_to(by)).ok_or(Error::NotFound("channel sale"))
}

#[cfg(test)]
mod fixtures {
    use super::*;
    use crate::testing::*;

    pub const SELLER: i64 = 1;
    pub const BUYER: i64 = 2;

    pub fn listed() -> ChannelSale {
        ChannelSale {
            id: ChannelSaleId(uuid::Uuid::from_u128(55)),
            seller_id: UserId(SELLER),
            chat_id: -1001,
            title: "Gift Hub".into(),
            username: Some("gift_hub".into()),
            description: None,
            price: m("100"),
            buyer_id: None,
            status: ChannelSaleStatus::Listed,
            transfer_by: None,
            created_at: now(),
        }
    }

    pub fn sold() -> ChannelSale {
        let mut s = listed();
        s.buyer_id = Some(UserId(BUYER));
        s.status = ChannelSaleStatus::AwaitingTransfer;
        s.transfer_by = Some(now() + chrono::Duration::days(1));
        s
    }

    /// A directory that reports `owner` and the bot as an administrator.
    pub fn directory(owner: Option<i64>) -> std::sync::Arc<dyn ChannelDirectory> {
        let mut d = domain::ports::MockChannelDirectory::new();
        d.expect_inspect().returning(move |_, _| {
            Ok(ChannelInfo {
                chat_id: -1001,
                title: "Gift Hub".into(),
                username: Some("gift_hub".into()),
                owner_id: owner.map(UserId),
                bot_is_admin: true,
            })
        });
        std::sync::Arc::new(d)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::testing::*;
    use domain::ports::{MockChannelDirectory, MockChannelSaleRepo};

    fn answering(answer: Result<Option<i64>, DirectoryError>) -> MockChannelDirectory {
        let mut d = MockChannelDirectory::new();
        d.expect_inspect()
            .withf(|c, claimed| *c == ChannelRef::Id(-1001) && *claimed == UserId(SELLER))
            .times(1)
            .return_once(move |_, _| {
                answer.map(|owner| ChannelInfo {
                    chat_id: -1001,
                    title: "Gift Hub".into(),
                    username: None,
                    owner_id: owner.map(UserId),
                    bot_is_admin: true,
                })
            });
        d
    }

    #[tokio::test]
    async fn telegram_says_who_owns_the_channel_or_that_it_cannot_tell() {
        assert_eq!(owner_now(&answering(Ok(Some(BUYER))), &sold()).await, Ok(Some(UserId(BUYER))));
        assert_eq!(owner_now(&answering(Ok(None)), &sold()).await, Ok(None));
        let unknown = Err(DirectoryError::NotFound("-1001".into()));
        assert_eq!(owner_now(&answering(unknown), &sold()).await, Ok(None));
    }

    #[tokio::test]
    async fn telegram_unavailable_is_a_dependency_failure() {
        let down = Err(DirectoryError::Unavailable { retry_after: None, reason: "429".into() });
        assert_eq!(owner_now(&answering(down), &sold()).await, Err(Error::Dependency("Telegram")));
    }

    #[tokio::test]
    async fn completing_pays_the_seller_less_the_fee_out_of_the_buyers_escrow() {
        let s = services();
        let mut fx = Effects::new(&s);
        let mut accounts = Accounts::locked(vec![user(SELLER, "1", "0"), user(BUYER, "0", "100")]);
        let mut sale = sold();
        complete(&mut sale, &mut accounts, &mut fx, FeeRule::new(500)).unwrap();
        assert_eq!(sale.status, ChannelSaleStatus::Completed);
        assert_eq!(*accounts.payee(UserId(SELLER)).unwrap(), user(SELLER, "96", "0"));
        assert_eq!(*accounts.payee(UserId(BUYER)).unwrap(), user(BUYER, "0", "0"));
        let (mut ledger, entries) = ledger_recording();
        fx.write_ledger(&mut ledger).await.unwrap();
        assert_eq!(
            entries.lines(),
            [
                (Some(BUYER), Account::Held, d("-100")),
                (Some(SELLER), Account::Available, d("95")),
                (None, Account::Fees, d("5")),
            ]
        );
        let (mut outbox, sent) = outbox_recording();
        fx.write_outbox(&mut outbox).await.unwrap();
        assert_eq!(sent.notified(), [SELLER, BUYER]);
    }

    #[tokio::test]
    async fn refunding_returns_the_escrow_to_the_buyer() {
        let s = services();
        let mut fx = Effects::new(&s);
        let mut accounts = Accounts::locked(vec![user(SELLER, "1", "0"), user(BUYER, "0", "100")]);
        let mut sale = sold();
        refund(&mut sale, &mut accounts, &mut fx).unwrap();
        assert_eq!(sale.status, ChannelSaleStatus::Refunded);
        assert_eq!(*accounts.payee(UserId(BUYER)).unwrap(), user(BUYER, "100", "0"));
        assert_eq!(*accounts.payee(UserId(SELLER)).unwrap(), user(SELLER, "1", "0"));
        let (mut ledger, entries) = ledger_recording();
        fx.write_ledger(&mut ledger).await.unwrap();
        assert_eq!(
            entries.lines(),
            [(Some(BUYER), Account::Held, d("-100")), (Some(BUYER), Account::Available, d("100"))]
        );
        let (mut outbox, sent) = outbox_recording();
        fx.write_outbox(&mut outbox).await.unwrap();
        assert_eq!(sent.notified(), [BUYER, SELLER]);
    }

    #[test]
    fn a_sale_not_awaiting_transfer_is_neither_completed_nor_refunded() {
        let s = services();
        let mut fx = Effects::new(&s);
        let mut accounts = Accounts::locked(vec![user(SELLER, "0", "0")]);
        let mut sale = listed();
        assert_eq!(
            complete(&mut sale, &mut accounts, &mut fx, FeeRule::default()),
            Err(RuleViolation::ChannelSaleClosed.into())
        );
        assert_eq!(refund(&mut sale, &mut accounts, &mut fx), Err(RuleViolation::ChannelSaleClosed.into()));
        assert_eq!(sale.status, ChannelSaleStatus::Listed);
    }

    #[tokio::test]
    async fn a_sold_sale_is_visible_to_its_parties_only() {
        for (by, seen) in [(SELLER, true), (BUYER, true), (9, false)] {
            let mut sales = MockChannelSaleRepo::new();
            sales.expect_lock().returning(|_| Ok(Some(sold())));
            let r = lock_visible(&mut sales, sold().id, UserId(by)).await.map(|s| s.id);
            assert_eq!(r, if seen { Ok(sold().id) } else { Err(Error::NotFound("channel sale")) }, "{by}");
        }
        let mut sales = MockChannelSaleRepo::new();
        sales.expect_lock().returning(|_| Ok(Some(listed())));
        assert_eq!(lock_visible(&mut sales, listed().id, UserId(9)).await.map(|s| s.id), Ok(listed().id));
    }
}
