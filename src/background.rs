//! Background work: job passes and relay passes until told to stop.

use std::sync::Arc;
use std::time::Duration;

use app::jobs::Jobs;
use app::relay::Relay;

use crate::settings::Settings;
use crate::wiring::App;

/// Runs job passes every `interval` until `stop` resolves.
pub async fn run_jobs(jobs: Arc<Jobs>, interval: Duration, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        let report = jobs.run_once().await;
        if report != Default::default() {
            tracing::info!(?report, "job pass");
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Runs relay passes until `stop` resolves: one after another while they find full batches (the
/// relay keeps up with the market), every `interval` once the outbox is drained.
pub async fn run_relay(relay: Arc<Relay>, interval: Duration, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        let report = relay.run_once().await;
        if report != Default::default() {
            tracing::debug!(?report, "relay pass");
        }
        // A receiver that asks to wait (a retry) is not called again at once for the next rows.
        let more = report.claimed >= relay.policy().batch as usize && report.retried == 0 && report.gave_up == 0;
        let pause = if more { Duration::ZERO } else { interval };
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Folds the filter panels' listed-count deltas every `interval` (the PostgreSQL store's own
/// upkeep, ADR 016) until `stop` resolves; one fold at a time across instances.
pub async fn run_folds(
    store: adapters_postgres::PgStore,
    interval: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        if let Err(e) = store.fold_listed_counts().await {
            tracing::warn!(error = %e, "cannot fold listed counts; next pass retries");
        }
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Starts the jobs, the relay and (on PostgreSQL) the listed counts' folds in the background;
/// they stop when `true` is sent.
pub fn spawn_background(
    app: &App,
    settings: &Settings,
) -> (tokio::sync::watch::Sender<bool>, Vec<tokio::task::JoinHandle<()>>) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let jobs = tokio::spawn(run_jobs(app.jobs.clone(), settings.job_interval(), stopped(rx.clone())));
    let relay = tokio::spawn(run_relay(app.relay.clone(), settings.relay_interval(), stopped(rx.clone())));
    let mut handles = vec![jobs, relay];
    if let Some(store) = &app.pg {
        // As often as the job passes: upkeep like theirs.
        handles.push(tokio::spawn(run_folds(store.clone(), settings.job_interval(), stopped(rx))));
    }
    (tx, handles)
}
