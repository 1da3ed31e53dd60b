//! The TON rails (SPEC §5a) against a local fake of TON Center API v3 (`common::ton_fake`):
//! deposits found on chain (matched, unmatched, bounced, aborted, duplicated across pages, a
//! watcher restarted midway, two watchers at once) and wallet payouts (success, a refused send,
//! an applied send whose answer was lost, a message that never lands, a wallet short of funds, two
//! instances racing for one wallet) — each withdrawal paid once, none both paid and refunded.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use adapters_gateways::{HttpTimeouts, MarketWallet, TonCenter};
use app::deposits::watch::DepositWatcher;
use app::ports::WalletJournal;
use app::withdrawals::WalletPayouts;
use common::ton_fake::{raw, FakeTonCenter, SendMode};
use common::{As, TestApp};
use domain::ports::{PayoutGateway, PayoutRequest, PayoutStatus};
use domain::{Money, WithdrawalId};
use rust_decimal::Decimal;
use serde_json::json;

/// The deposit account of these tests (not the wallet: deposits only).
const DEPOSITS: &str = "0:3333333333333333333333333333333333333333333333333333333333333333";
/// The test mnemonic published with tonlib-core's wallet tests, and its v4r2 address.
const MNEMONIC: &str = "fancy carpet hello mandate penalty trial consider property top vicious exit rebuild tragic profit urban major total month holiday sudden rib gather media vicious";
const WALLET: &str = "EQCDM_QGggZ3qMa_f3lRPk4_qLDnLTqdi6OkMAV2NB9r5TG3";
const PAYEE: &str = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";
const TON: u64 = 1_000_000_000;

fn ton_settings(fake: &FakeTonCenter, database: Option<String>) -> atomarket::Settings {
    let mut s = common::settings(database, None);
    s.ton_api_url = Some(fake.url());
    s.ton_deposit_address = Some(DEPOSITS.into());
    s
}

fn api(fake: &FakeTonCenter) -> TonCenter {
    TonCenter::new(&fake.url(), Some("test-key".into()), HttpTimeouts::default())
        .with_retries(4, Duration::from_millis(5))
}

/// A watcher with small pages, as a fresh process would start it.
fn watcher(app: &TestApp, fake: &FakeTonCenter) -> DepositWatcher {
    DepositWatcher::new(app.app.state.ctx.clone(), Arc::new(api(fake)), DEPOSITS.into()).with_paging(2, 2)
}

async fn memo(app: &TestApp, user: i64) -> String {
    let r = app.get("/api/me/deposit", As::User(user)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["address"], DEPOSITS);
    r.body["memo"].as_str().unwrap().to_string()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

async fn deposits_found_on_chain_are_credited_exactly_once(app: TestApp, second: Option<TestApp>, fake: FakeTonCenter) {
    let (alice, bob) = (501, 502);
    let (a, b) = (memo(&app, alice).await, memo(&app, bob).await);
    assert_eq!(memo(&app, alice).await, a, "a memo is stable");
    assert_ne!(a, b);
    fake.with(|c| {
        c.incoming(DEPOSITS, 1_500_000_000, Some(&a), false, false);
        c.incoming(DEPOSITS, 2 * TON, None, false, false); // no memo
        c.incoming(DEPOSITS, 300_000_000, Some("zzzzzzzzzz"), false, false); // nobody's memo
        c.incoming(DEPOSITS, 1, Some(&format!("  {}  ", b.to_uppercase())), false, false); // one nanoton
        c.incoming(DEPOSITS, 5 * TON, Some(&a), true, false); // a bounce
        c.incoming(DEPOSITS, 7 * TON, Some(&a), false, true); // aborted
        c.outgoing(DEPOSITS, 3 * TON);
        c.incoming(DEPOSITS, 2_250_000_000, Some(&a), false, false);
        c.overlap = 1; // pages come back overlapping
        c.fail_reads = 2; // and the indexer is busy at first
    });

    // A first watcher handles two pages, then its process "crashes"; a new one carries on.
    let first = watcher(&app, &fake).run_once().await;
    assert!(first.credited + first.unmatched + first.skipped <= 4, "{first:?}");

    let mut passes = 0;
    loop {
        let w = watcher(&app, &fake);
        let report = w.run_once().await;
        assert_eq!(report.failures, 0, "{report:?}");
        passes += 1;
        if report.credited + report.unmatched + report.skipped == 0 || passes > 10 {
            break;
        }
    }
    assert_eq!(
        app.money(alice).await,
        (d("3.75"), d("0")),
        "1.5 + 2.25: the bounce and the aborted one are not money in"
    );
    assert_eq!(app.money(bob).await.0, d("0.000000001"));
    let unmatched = app.get("/api/admin/deposits/unmatched", As::Staff).await;
    let items = unmatched.body["items"].as_array().unwrap().clone();
    let amounts: Vec<&str> = items.iter().map(|i| i["amount"].as_str().unwrap()).collect();
    assert_eq!(items.len(), 2, "{}", unmatched.body);
    assert!(amounts.contains(&"2") && amounts.contains(&"0.3"), "{amounts:?}");

    // Staff credit the one without a memo to Bob, once.
    let lost = items.iter().find(|i| i["amount"] == "2").unwrap();
    let path = format!("/api/admin/deposits/unmatched/{}/assign", lost["id"].as_str().unwrap());
    let r = app.post(&path, As::Staff, json!({"user_id": bob})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.body["deposit"]["user_id"].as_i64(), r.body["unmatched"]["assigned_to"].as_i64()),
        (Some(bob), Some(bob))
    );
    let again = app.post(&path, As::Staff, json!({"user_id": alice})).await;
    assert_eq!((again.status.as_u16(), again.code()), (409, "duplicate"));
    assert_eq!(app.money(bob).await.0, d("2.000000001"));

    // Two watchers at once (two instances on PostgreSQL) over new transfers: each credited once.
    fake.with(|c| {
        for _ in 0..5 {
            c.incoming(DEPOSITS, TON, Some(&a), false, false);
        }
    });
    let other = second.as_ref().unwrap_or(&app);
    for _ in 0..4 {
        let (x, y) = (watcher(&app, &fake), watcher(other, &fake));
        let (rx, ry) = tokio::join!(x.run_once(), y.run_once());
        assert_eq!(rx.failures + ry.failures, 0, "{rx:?} {ry:?}");
    }
    assert_eq!(app.money(alice).await.0, d("8.75"));
    // A new watcher from scratch finds nothing left to do.
    let idle = watcher(&app, &fake).run_once().await;
    assert_eq!((idle.credited, idle.unmatched), (0, 0));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn deposits_found_on_chain_are_credited_exactly_once_on_memory() {
    let fake = FakeTonCenter::start(WALLET, 0).await;
    let app = TestApp::with(ton_settings(&fake, None)).await;
    deposits_found_on_chain_are_credited_exactly_once(app, None, fake).await;
}

#[tokio::test]
async fn deposits_found_on_chain_are_credited_exactly_once_on_postgres() {
    let fake = FakeTonCenter::start(WALLET, 0).await;
    let db = Arc::new(common::fresh_database().await);
    let a = TestApp::with(ton_settings(&fake, Some(db.url.clone()))).await.keeping(db.clone());
    let b = TestApp::with(ton_settings(&fake, Some(db.url.clone()))).await.keeping(db);
    deposits_found_on_chain_are_credited_exactly_once(a, Some(b), fake).await;
}

#[tokio::test]
async fn without_ton_settings_there_is_no_deposit_address() {
    let app = TestApp::memory().await;
    let r = app.get("/api/me/deposit", As::User(1)).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
}

// ----- wallet payouts --------------------------------------------------------------------------

/// Withdrawals to pay: `n` users each withdraw `amount` to [`PAYEE`].
async fn withdrawals(app: &TestApp, n: i64, amount: &str) -> Vec<WithdrawalId> {
    let mut out = Vec::new();
    for i in 0..n {
        let user = 700 + i;
        app.deposit(user, "100").await;
        let body = json!({"amount": amount, "address": PAYEE});
        let r = app.post_with_key("/api/market/output", As::User(user), body, &format!("w{i}")).await;
        assert_eq!(r.status, 202, "{}", r.body);
        out.push(WithdrawalId(r.body["id"].as_str().unwrap().parse().unwrap()));
    }
    out
}

fn payouts(fake: &FakeTonCenter, journal: Arc<dyn WalletJournal>, ttl_secs: i64) -> WalletPayouts {
    let wallet = MarketWallet::from_mnemonic(MNEMONIC, "v4r2", false).unwrap();
    WalletPayouts::new(Arc::new(api(fake)), Arc::new(wallet), journal, Arc::new(atomarket::system::SystemClock))
        .with_timing(chrono::Duration::seconds(ttl_secs), chrono::Duration::seconds(1))
}

fn request(id: WithdrawalId, amount: &str) -> PayoutRequest {
    PayoutRequest { withdrawal_id: id, address: PAYEE.into(), amount: Money::parse(amount).unwrap() }
}

/// Drives a payout as the relay does (send first, then lookup-and-send) until it is decided.
async fn settle(gw: &WalletPayouts, p: &PayoutRequest) -> PayoutStatus {
    let mut status = gw.send(p).await;
    for _ in 0..40 {
        match &status {
            Ok(PayoutStatus::Sent { .. }) | Ok(PayoutStatus::Rejected(_)) => break,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        status = match gw.lookup(p.withdrawal_id).await {
            Ok(PayoutStatus::NotFound) => gw.send(p).await,
            other => other,
        };
    }
    status.expect("decided")
}

fn paid_to(fake: &FakeTonCenter, id: WithdrawalId) -> usize {
    fake.with(|c| c.applied.iter().filter(|a| a.comment == id.to_string()).count())
}

async fn wallet_payouts_pay_each_withdrawal_once(
    app: TestApp,
    journal: Arc<dyn WalletJournal>,
    other: Arc<dyn WalletJournal>,
) {
    let fake = FakeTonCenter::start(WALLET, u128::from(1_000 * TON)).await;
    let ids = withdrawals(&app, 7, "1.5").await;
    let gw = payouts(&fake, journal.clone(), 2);

    // Success: signed with the wallet's seqno, found on chain, reported with its transaction.
    match settle(&gw, &request(ids[0], "1.5")).await {
        PayoutStatus::Sent { tx_hash } => assert!(!tx_hash.is_empty()),
        other => panic!("{other:?}"),
    }
    let first = fake.with(|c| c.applied[0].clone());
    assert_eq!((first.seqno, first.nanotons, first.destination.to_ascii_uppercase()), (0, 1_500_000_000, raw(PAYEE)));
    // Asking again pays nothing more.
    assert!(matches!(gw.send(&request(ids[0], "1.5")).await, Ok(PayoutStatus::Sent { .. })));

    // Applied, but the answer was lost: found on chain, not sent again.
    fake.with(|c| c.send_mode = SendMode::ApplyLoseAnswer);
    assert!(matches!(settle(&gw, &request(ids[1], "1.5")).await, PayoutStatus::Sent { .. }));
    assert_eq!(paid_to(&fake, ids[1]), 1);

    // Refused by the API (500, never applied), then lost in the network (200, never lands):
    // re-signed only after expiry, when the seqno shows it never landed.
    fake.with(|c| c.send_mode = SendMode::Refuse);
    assert_eq!(gw.send(&request(ids[2], "1.5")).await, Ok(PayoutStatus::Pending));
    fake.with(|c| c.send_mode = SendMode::Swallow);
    assert_eq!(gw.lookup(ids[2]).await, Ok(PayoutStatus::Pending), "still valid: it may land");
    tokio::time::sleep(Duration::from_millis(3_200)).await; // past its expiry and the grace
    fake.with(|c| c.send_mode = SendMode::Apply);
    assert!(matches!(settle(&gw, &request(ids[2], "1.5")).await, PayoutStatus::Sent { .. }));
    assert_eq!(paid_to(&fake, ids[2]), 1);

    // A bad address is refused before anything is signed.
    let mut bad = request(ids[3], "1.5");
    bad.address = "EQbad".into();
    assert!(matches!(gw.send(&bad).await, Ok(PayoutStatus::Rejected(_))));
    assert_eq!(paid_to(&fake, ids[3]), 0);

    // The wallet short of funds: the payout waits (not failed), and goes once funds arrive.
    let balance = fake.with(|c| std::mem::replace(&mut c.wallet_balance, u128::from(TON)));
    assert!(gw.send(&request(ids[4], "1.5")).await.is_err(), "waits");
    fake.with(|c| c.wallet_balance = balance);
    assert!(matches!(settle(&gw, &request(ids[4], "1.5")).await, PayoutStatus::Sent { .. }));

    // Two instances racing for the same wallet and the same withdrawals.
    let rival = payouts(&fake, other, 2);
    let (p5, p6) = (request(ids[5], "1.5"), request(ids[6], "1.5"));
    let (x, y, z) = tokio::join!(settle(&gw, &p5), settle(&rival, &p5), settle(&rival, &p6));
    for s in [x, y, z] {
        assert!(matches!(s, PayoutStatus::Sent { .. }), "{s:?}");
    }
    for (i, id) in ids.iter().enumerate() {
        let expected = if i == 3 { 0 } else { 1 }; // the refused one is never paid
        assert_eq!(paid_to(&fake, *id), expected, "withdrawal {id}");
    }
    let seqnos: Vec<u32> = fake.with(|c| c.applied.iter().map(|a| a.seqno).collect());
    assert_eq!(seqnos, (0..seqnos.len() as u32).collect::<Vec<_>>(), "one seqno per payout, in order");
}

#[tokio::test]
async fn wallet_payouts_pay_each_withdrawal_once_on_memory() {
    let app = TestApp::memory().await;
    // The journal of one embedded store, shared by both "instances".
    let store = Arc::new(adapters_memory::MemoryStore::new());
    wallet_payouts_pay_each_withdrawal_once(app, store.clone(), store).await;
}

#[tokio::test]
async fn wallet_payouts_pay_each_withdrawal_once_on_postgres() {
    let app = TestApp::postgres().await;
    let store = app.app.pg.clone().expect("on PostgreSQL");
    // A second instance: its own pool on the same database.
    let url = app.database_url().expect("a database");
    let other = adapters_postgres::PgStore::new(
        adapters_postgres::connect(&url, &adapters_postgres::PgSettings::default()).await.unwrap(),
    );
    wallet_payouts_pay_each_withdrawal_once(app, Arc::new(store), Arc::new(other)).await;
}

/// The whole path: a withdrawal, the relay, the wallet, the chain — `sent` with the transaction
/// that paid it, once; the audit clean.
async fn a_withdrawal_is_paid_by_the_wallet_through_the_relay(db: Option<Arc<common::TestDb>>) {
    let fake = FakeTonCenter::start(WALLET, u128::from(50 * TON)).await;
    let mut s = common::settings(db.as_ref().map(|d| d.url.clone()), None);
    s.ton_api_url = Some(fake.url());
    s.ton_wallet_mnemonic = Some(MNEMONIC.into());
    let mut app = TestApp::with(s).await;
    if let Some(db) = db {
        app = app.keeping(db);
    }
    let r = app.get("/api/me/deposit", As::User(801)).await;
    assert_eq!(r.body["address"], WALLET, "deposits go to the wallet by default");
    let ids = withdrawals(&app, 2, "2.5").await;
    for _ in 0..10 {
        app.app.relay.run_once().await;
        app.advance(5);
    }
    for (i, id) in ids.iter().enumerate() {
        let w = app.get("/api/market/withdrawals", As::User(700 + i as i64)).await;
        let item = &w.body["items"][0];
        assert_eq!(item["status"], "sent", "{}", w.body);
        let paid: Vec<String> = fake
            .with(|c| c.applied.iter().filter(|a| a.comment == id.to_string()).map(|a| a.tx_hash.clone()).collect());
        assert_eq!(paid.len(), 1, "paid once");
        assert_eq!(item["tx_hash"], paid[0], "with the transaction that paid it");
    }
    assert_eq!(fake.with(|c| c.wallet_balance), u128::from(45 * TON));
    app.assert_audit_clean().await;
}

#[tokio::test]
async fn a_withdrawal_is_paid_by_the_wallet_through_the_relay_on_memory() {
    a_withdrawal_is_paid_by_the_wallet_through_the_relay(None).await;
}

#[tokio::test]
async fn a_withdrawal_is_paid_by_the_wallet_through_the_relay_on_postgres() {
    a_withdrawal_is_paid_by_the_wallet_through_the_relay(Some(Arc::new(common::fresh_database().await))).await;
}
