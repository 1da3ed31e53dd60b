//! The staff desk's reads (the operator console, SPEC §8) on every adapter: withdrawals and
//! channel sales by status, newest first, paged with the API's cursors; the counts of work waiting
//! for staff and the outbox's backlog with its oldest row.

use std::sync::Arc;

use adapters_memory::MemoryStore;
use adapters_postgres::PgStore;
use app::channels::buy::BuyChannelUow;
use app::deposits::record_chain::RecordChainTransactionUow;
use app::gifts::receive::ReceiveGiftUow;
use app::ports::reads::{DeskBacklog, PageRequest};
use app::uow::Begin;
use app::withdrawals::request::WithdrawUow;
use atomarket::Store;
use chrono::SubsecRound;
use domain::*;
use uuid::Uuid;

fn withdrawal(user: i64, status: WithdrawalStatus) -> Withdrawal {
    Withdrawal {
        id: WithdrawalId(Uuid::now_v7()),
        user_id: UserId(user),
        amount: Money::parse("1.5").unwrap(),
        address: "0:ab".into(),
        status,
        tx_hash: (status == WithdrawalStatus::Sent).then(|| "tx".into()),
        created_at: chrono::Utc::now().trunc_subsecs(6),
    }
}

fn unmatched_deposit(tx: &str, assigned_to: Option<i64>) -> UnmatchedDeposit {
    let at = chrono::Utc::now().trunc_subsecs(6);
    UnmatchedDeposit {
        id: UnmatchedDepositId(Uuid::now_v7()),
        tx_hash: tx.into(),
        sender: "0:11".into(),
        amount: Money::parse("2").unwrap(),
        comment: None,
        received_at: at,
        assigned_to: assigned_to.map(UserId),
        assigned_at: assigned_to.map(|_| at),
    }
}

fn unmatched_gift(slug: &str) -> UnmatchedGift {
    UnmatchedGift {
        id: UnmatchedGiftId(Uuid::now_v7()),
        gift: ReceivedGift {
            gift_id: slug.into(),
            collection: "Plush Pepe".into(),
            traits: GiftTraits::default(),
            telegram: TelegramGift { owned_gift_id: format!("owned-{slug}"), transfer_star_count: None },
            can_transfer_at: None,
            from_blockchain: true,
        },
        sender_id: None,
        reason: UnmatchedReason::FromBlockchain,
        received_at: chrono::Utc::now().trunc_subsecs(6),
        assigned_to: None,
        assigned_at: None,
    }
}

async fn withdrawals_are_read_by_status_and_the_work_waiting_for_staff_is_counted<S: Store>(s: Arc<S>) {
    assert_eq!(s.desk_backlog().await.unwrap(), DeskBacklog::default(), "nothing waits in an empty store");

    let mut uow = Begin::<dyn WithdrawUow>::begin(&*s, "desk").await.unwrap();
    uow.accounts().ensure_locked(UserId(1), None).await.unwrap();
    let stuck: Vec<Withdrawal> = (0..3).map(|_| withdrawal(1, WithdrawalStatus::Stuck)).collect();
    let others = [withdrawal(1, WithdrawalStatus::Pending), withdrawal(1, WithdrawalStatus::Sent)];
    for w in stuck.iter().chain(&others) {
        uow.withdrawals().insert(w).await.unwrap();
    }
    let t0 = chrono::Utc::now().trunc_subsecs(6) - chrono::Duration::minutes(10);
    let messages: Vec<OutboxMessage> = (0..3)
        .map(|i| OutboxMessage {
            id: OutboxId(Uuid::now_v7()),
            payload: OutboxPayload::Notify { user_id: UserId(1), text: format!("m{i}") },
            created_at: t0 + chrono::Duration::minutes(i),
        })
        .collect();
    for m in &messages {
        uow.outbox().enqueue(m).await.unwrap();
    }
    uow.commit().await.unwrap();
    // The oldest is delivered: the backlog is the two after it, the oldest left the second.
    s.delivered(&[(messages[0].id, 1)], chrono::Utc::now()).await.unwrap();
    let mut uow = Begin::<dyn RecordChainTransactionUow>::begin(&*s, "desk").await.unwrap();
    uow.accounts().ensure_locked(UserId(2), None).await.unwrap();
    for d in [unmatched_deposit("t1", None), unmatched_deposit("t2", Some(2)), unmatched_deposit("t3", None)] {
        assert!(uow.unmatched().insert(&d).await.unwrap());
    }
    uow.commit().await.unwrap();
    let mut uow = Begin::<dyn ReceiveGiftUow>::begin(&*s, "desk").await.unwrap();
    assert!(uow.gifts().insert_unmatched(&unmatched_gift("g1")).await.unwrap());
    uow.commit().await.unwrap();

    let backlog = s.desk_backlog().await.unwrap();
    let expected = DeskBacklog {
        stuck_withdrawals: 3,
        unassigned_deposits: 2,
        unassigned_gifts: 1,
        outbox_backlog: 2,
        oldest_outbox_at: Some(messages[1].created_at),
    };
    assert_eq!(backlog, expected);

    let first = s.withdrawals_in(WithdrawalStatus::Stuck, PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items, vec![stuck[2].clone(), stuck[1].clone()], "newest first");
    let cursor = first.next_cursor.expect("one more");
    let after = PageRequest { limit: 2, after: PageRequest::decode_cursor(&cursor) };
    let rest = s.withdrawals_in(WithdrawalStatus::Stuck, after).await.unwrap();
    assert_eq!((rest.items, rest.next_cursor), (vec![stuck[0].clone()], None));
    let pending = s.withdrawals_in(WithdrawalStatus::Pending, PageRequest::first(10)).await.unwrap();
    assert_eq!(pending.items, vec![others[0].clone()]);
    assert!(s.withdrawals_in(WithdrawalStatus::Failed, PageRequest::first(10)).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn withdrawals_are_read_by_status_and_the_work_waiting_for_staff_is_counted_on_memory() {
    withdrawals_are_read_by_status_and_the_work_waiting_for_staff_is_counted(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn withdrawals_are_read_by_status_and_the_work_waiting_for_staff_is_counted_on_postgres() {
    let db = crate::common::fresh_database().await;
    let settings = adapters_postgres::PgSettings { max_connections: 4, ..Default::default() };
    let pool = adapters_postgres::connect(&db.url, &settings).await.expect("connect");
    withdrawals_are_read_by_status_and_the_work_waiting_for_staff_is_counted(Arc::new(PgStore::new(pool.clone())))
        .await;
    pool.close().await;
}

/// A channel sale of `seller`'s in `status`; bought by `buyer` (due by `transfer_by`) unless listed
/// or deleted.
fn channel_sale(
    seller: i64,
    chat: i64,
    status: ChannelSaleStatus,
    buyer: Option<i64>,
    transfer_by: Option<chrono::DateTime<chrono::Utc>>,
) -> ChannelSale {
    ChannelSale {
        id: ChannelSaleId(Uuid::now_v7()),
        seller_id: UserId(seller),
        chat_id: chat,
        title: format!("Channel {chat}"),
        username: Some(format!("channel_{}", -chat)),
        description: None,
        price: Money::parse("3.000000001").unwrap(),
        buyer_id: buyer.map(UserId),
        status,
        transfer_by,
        created_at: chrono::Utc::now().trunc_subsecs(6),
    }
}

async fn channel_sales_are_read_by_status_for_everyone_newest_first_and_paged<S: Store>(s: Arc<S>) {
    // Arrange: five sales awaiting transfer among three sellers and two buyers, their deadlines in
    // another order than their ids; beside them sales in every other status.
    let mut uow = Begin::<dyn BuyChannelUow>::begin(&*s, "desk").await.unwrap();
    for user in 1..=5 {
        uow.accounts().ensure_locked(UserId(user), None).await.unwrap();
    }
    let t0 = chrono::Utc::now().trunc_subsecs(6);
    let awaiting: Vec<ChannelSale> = (0..5)
        .map(|i| {
            let by = t0 + chrono::Duration::hours(10 - i);
            channel_sale(1 + i % 3, -100 - i, ChannelSaleStatus::AwaitingTransfer, Some(4 + i % 2), Some(by))
        })
        .collect();
    let listed = [
        channel_sale(1, -200, ChannelSaleStatus::Listed, None, None),
        channel_sale(2, -201, ChannelSaleStatus::Listed, None, None),
    ];
    let completed = channel_sale(3, -300, ChannelSaleStatus::Completed, Some(4), Some(t0));
    let refunded = channel_sale(2, -301, ChannelSaleStatus::Refunded, Some(5), Some(t0));
    for sale in awaiting.iter().chain(&listed).chain([&completed, &refunded]) {
        uow.channel_sales().insert(sale).await.unwrap();
    }
    uow.commit().await.unwrap();
    let newest_first: Vec<ChannelSale> = awaiting.iter().rev().cloned().collect();

    // Act: the sales awaiting transfer, two a page, each page after the last one's cursor.
    let mut pages = Vec::new();
    let mut request = PageRequest::first(2);
    loop {
        let page = s.channel_sales_in(ChannelSaleStatus::AwaitingTransfer, request).await.unwrap();
        pages.push(page.items.clone());
        let Some(cursor) = page.next_cursor else { break };
        request = PageRequest { limit: 2, after: Some(PageRequest::decode_cursor(&cursor).expect("the API's cursor")) };
        assert!(pages.len() < 10, "the cursor moves on");
    }

    // Assert: three pages (2, 2, 1) that together are every seller's and buyer's sale in that
    // status, newest first by id, read back as written, none twice and none left out.
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
    assert_eq!(pages.concat(), newest_first, "newest first by id, not by deadline; no duplicates, no gaps");
    let one_page = s.channel_sales_in(ChannelSaleStatus::AwaitingTransfer, PageRequest::first(5)).await.unwrap();
    assert_eq!((one_page.items, one_page.next_cursor), (newest_first, None), "no cursor after the last one");
    let listed_read = s.channel_sales_in(ChannelSaleStatus::Listed, PageRequest::first(10)).await.unwrap();
    assert_eq!(listed_read.items, vec![listed[1].clone(), listed[0].clone()], "listings of two sellers");
    let completed_read = s.channel_sales_in(ChannelSaleStatus::Completed, PageRequest::first(10)).await.unwrap();
    assert_eq!(completed_read.items, vec![completed]);
    let refunded_read = s.channel_sales_in(ChannelSaleStatus::Refunded, PageRequest::first(10)).await.unwrap();
    assert_eq!(refunded_read.items, vec![refunded]);
    let deleted = s.channel_sales_in(ChannelSaleStatus::Deleted, PageRequest::first(10)).await.unwrap();
    assert_eq!((deleted.items, deleted.next_cursor), (vec![], None));
}

#[tokio::test]
async fn channel_sales_are_read_by_status_for_everyone_newest_first_and_paged_on_memory() {
    channel_sales_are_read_by_status_for_everyone_newest_first_and_paged(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn channel_sales_are_read_by_status_for_everyone_newest_first_and_paged_on_postgres() {
    let db = crate::common::fresh_database().await;
    let settings = adapters_postgres::PgSettings { max_connections: 4, ..Default::default() };
    let pool = adapters_postgres::connect(&db.url, &settings).await.expect("connect");
    channel_sales_are_read_by_status_for_everyone_newest_first_and_paged(Arc::new(PgStore::new(pool.clone()))).await;
    pool.close().await;
}
