//! `atomarket`: serve, migrate, audit, init-data.

use std::path::PathBuf;

use anyhow::Context;
use atomarket::Settings;
use clap::{Parser, Subcommand};
use rand::Rng;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "atomarket", version, about = "Custodial marketplace for Telegram collectible gifts, paid in TON")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// HTTP server (with background jobs unless --no-jobs).
    Serve {
        #[arg(long)]
        no_jobs: bool,
    },
    /// Background work only: jobs (offer expiry, auction settlement, presale deadlines, key
    /// reaping) and the outbox relay (payouts, gift returns, notifications).
    Worker,
    /// Apply database migrations.
    Migrate,
    /// Check every money invariant; exit code 1 on a violation.
    Audit,
    /// Print a valid `tma` credential for the configured bot token.
    InitData {
        #[arg(long)]
        user_id: i64,
        #[arg(long)]
        username: Option<String>,
    },
}

/// Where `serve` keeps generated secrets so `init-data` on the same machine can use them.
fn dev_secrets_path() -> PathBuf {
    std::env::temp_dir().join("atomarket-dev-secrets.env")
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::rng().random();
    format!("{prefix}{}", hex::encode(bytes))
}

fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = cli.settings;
    match cli.command {
        Command::Serve { no_jobs } => {
            init_tracing(&settings.log_format);
            ensure_secrets(&mut settings)?;
            serve(settings, no_jobs).await
        }
        Command::Worker => {
            init_tracing(&settings.log_format);
            settings.bot_token.get_or_insert_with(|| "unused-by-the-worker".into());
            settings.bot_token_generated = std::env::var("BOT_TOKEN").is_err();
            let app = atomarket::build(&settings).await?;
            if app.pg.is_none() {
                eprintln!("note: no DATABASE_URL: the worker runs over an empty in-memory store of its own");
            }
            tracing::info!(interval_ms = settings.job_interval_ms, "worker running jobs");
            let (stop, background) = atomarket::spawn_background(&app, &settings);
            shutdown_signal().await;
            let _ = stop.send(true);
            for task in background {
                let _ = task.await;
            }
            Ok(())
        }
        Command::Migrate => {
            init_tracing(&settings.log_format);
            let url = settings.database_url.context("migrate needs DATABASE_URL")?;
            let pool =
                adapters_postgres::connect(&url, &Default::default()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            adapters_postgres::migrate(&pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("migrations applied");
            Ok(())
        }
        Command::Audit => {
            init_tracing(&settings.log_format);
            settings.bot_token.get_or_insert_with(|| "unused".into());
            let app = atomarket::build(&settings).await?;
            if app.pg.is_none() {
                eprintln!("note: no DATABASE_URL, auditing an empty in-memory store");
            }
            let violations = atomarket::audit(&*app.state.reads).await?;
            if violations.is_empty() {
                println!("audit clean");
                Ok(())
            } else {
                for v in &violations {
                    println!("VIOLATION {}: {}", v.invariant, v.detail);
                }
                std::process::exit(1);
            }
        }
        Command::InitData { user_id, username } => {
            let token = match settings.bot_token {
                Some(t) => t,
                None => read_dev_secret("BOT_TOKEN").context(
                    "no BOT_TOKEN: set it, or start `atomarket serve` once without one so it generates and records one",
                )?,
            };
            println!("{}", http_api::init_data(&token, user_id, username.as_deref(), chrono::Utc::now().timestamp()));
            Ok(())
        }
    }
}

fn read_dev_secret(name: &str) -> Option<String> {
    let text = std::fs::read_to_string(dev_secrets_path()).ok()?;
    text.lines().find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// Generates missing secrets, prints them once and records them for `init-data`.
fn ensure_secrets(settings: &mut Settings) -> anyhow::Result<()> {
    let mut generated = Vec::new();
    if settings.bot_token.is_none() {
        let token = format!("{}:{}", rand::rng().random_range(100_000_000..999_999_999u32), random_token(""));
        generated.push(format!("BOT_TOKEN={token}"));
        settings.bot_token = Some(token);
        settings.bot_token_generated = true;
    }
    settings.staff_tokens.retain(|t| !t.is_empty());
    if settings.staff_tokens.is_empty() {
        let token = random_token("staff_");
        generated.push(format!("STAFF_TOKENS={token}"));
        settings.staff_tokens.push(token);
    }
    if !generated.is_empty() {
        let path = dev_secrets_path();
        let mut all = generated.clone();
        if let Some(t) = &settings.bot_token {
            if !all.iter().any(|l| l.starts_with("BOT_TOKEN=")) {
                all.push(format!("BOT_TOKEN={t}"));
            }
        }
        std::fs::write(&path, all.join("\n") + "\n").with_context(|| format!("writing {}", path.display()))?;
        println!("generated for this run (also written to {}):", path.display());
        for line in &generated {
            println!("  {line}");
        }
    }
    Ok(())
}

async fn serve(settings: Settings, no_jobs: bool) -> anyhow::Result<()> {
    let app = atomarket::build(&settings).await?;
    let (stop, background) = if no_jobs {
        (tokio::sync::watch::channel(false).0, Vec::new())
    } else {
        atomarket::spawn_background(&app, &settings)
    };
    match &settings.database_url {
        Some(_) => tracing::info!("storage: PostgreSQL"),
        None => {
            println!("storage: embedded in-memory store — data is gone when the process exits (set DATABASE_URL for PostgreSQL)");
        }
    }
    if settings.redis_url.is_none() {
        tracing::info!("locks: in-process (set REDIS_URL to share locks between instances)");
    }
    let listener = tokio::net::TcpListener::bind(&settings.listen_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen_addr))?;
    println!("listening on http://{}", listener.local_addr()?);
    let router = app.router(&settings);
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await?;
    let _ = stop.send(true);
    for task in background {
        let _ = task.await;
    }
    tracing::info!("stopped: in-flight requests and jobs finished");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown signal: no new connections, finishing in-flight requests");
}
