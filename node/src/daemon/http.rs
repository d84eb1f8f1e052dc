//! The node's small HTTP endpoint (loopback by default): `GET /metrics` (Prometheus
//! text), `GET /health` (200 while the process runs) and `GET /health?ready=1` (200
//! once the store is open and the listener bound, 503 while starting or draining).
//!
//! Three read-only routes do not justify an HTTP framework: requests are read up to
//! their blank line (at most 8 KiB, 5 s), answered, and the connection closed.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{metrics, Node};

/// Where a node is in its life.
#[derive(Debug, Default)]
pub struct Health(AtomicU8);

const STARTING: u8 = 0;
const READY: u8 = 1;
const DRAINING: u8 = 2;

impl Health {
    /// Marks the node ready.
    pub fn set_ready(&self) {
        let _ = self
            .0
            .compare_exchange(STARTING, READY, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Marks the node draining (for good: it is about to stop).
    pub fn set_draining(&self) {
        self.0.store(DRAINING, Ordering::SeqCst);
    }

    /// Whether the node is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst) == READY
    }

    /// Whether the node is draining.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst) == DRAINING
    }

    /// `starting`, `ready` or `draining`.
    pub fn as_str(&self) -> &'static str {
        match self.0.load(Ordering::SeqCst) {
            READY => "ready",
            DRAINING => "draining",
            _ => "starting",
        }
    }
}

/// Serves until the task is dropped. `node` is filled in once the node has started.
pub async fn serve(listener: TcpListener, node: Arc<OnceLock<Arc<Node>>>, health: Arc<Health>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let node = node.clone();
        let health = health.clone();
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(Duration::from_secs(5), answer(stream, &node, &health)).await;
        });
    }
}

async fn answer(
    mut stream: TcpStream,
    node: &OnceLock<Arc<Node>>,
    health: &Health,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let request = String::from_utf8_lossy(&buf);
    let mut parts = request.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, body, kind) = match (method, path) {
        ("GET", "/health") if query.split('&').any(|q| q == "ready=1" || q == "ready") => {
            if health.is_ready() {
                ("200 OK", "ready\n".to_string(), "text/plain")
            } else {
                (
                    "503 Service Unavailable",
                    format!("{}\n", health.as_str()),
                    "text/plain",
                )
            }
        }
        ("GET", "/health") => (
            "200 OK",
            format!("alive, {}\n", health.as_str()),
            "text/plain",
        ),
        ("GET", "/metrics") => match node.get() {
            Some(n) => {
                let n = n.clone();
                let text = tokio::task::spawn_blocking(move || metrics::render(&n))
                    .await
                    .unwrap_or_default();
                ("200 OK", text, "text/plain; version=0.0.4")
            }
            None => (
                "503 Service Unavailable",
                "starting\n".to_string(),
                "text/plain",
            ),
        },
        ("GET", _) => (
            "404 Not Found",
            "routes: /metrics /health /health?ready=1\n".to_string(),
            "text/plain",
        ),
        _ => (
            "405 Method Not Allowed",
            "GET only\n".to_string(),
            "text/plain",
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
