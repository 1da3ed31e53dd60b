//! The staff desk's reads (the operator console, SPEC §8) on every adapter: withdrawals by
//! status, newest first, paged with the API's cursors; the counts of work waiting for staff and
//! the outbox's backlog with its oldest row.

use std::sync::Arc;

use adapters_memory::MemoryStore;
use adapters_postgres::PgStore;
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
