//! A TCP proxy in front of PostgreSQL that counts round trips: every simple `Query` ('Q') and
//! every `Sync` ('S') a client sends ends one exchange it waits for (a sqlx ping is a bare Sync).
//! Shared by the round-trip test and the benchmark (`#[path]`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Listens on a free local port, forwards to `upstream` (`host:port`); returns the port and the
/// counter of round trips so far.
pub async fn counting_proxy(upstream: String) -> (u16, Arc<AtomicU64>) {
    let counter = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
    let port = listener.local_addr().expect("proxy address").port();
    let total = counter.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, counter) = (upstream.clone(), total.clone());
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                });
                let mut buf = Vec::new();
                let mut chunk = vec![0u8; 64 * 1024];
                let mut started = false;
                while let Ok(n) = cr.read(&mut chunk).await {
                    if n == 0 || sw.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    loop {
                        // The startup message has no type byte; every later one has.
                        let at = usize::from(started);
                        if buf.len() < at + 4 {
                            break;
                        }
                        let len = u32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes")) as usize;
                        if buf.len() < at + len {
                            break;
                        }
                        if started && matches!(buf[0], b'Q' | b'S') {
                            counter.fetch_add(1, Ordering::Relaxed);
                        }
                        buf.drain(..at + len);
                        started = true;
                    }
                }
            });
        }
    });
    (port, counter)
}
