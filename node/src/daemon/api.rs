//! The read API for portals and other government systems: HTTP/1.1 and JSON over
//! mutual TLS, described by `docs/openapi.json`.
//!
//! Callers present a certificate of the federation CA (role `client` for government
//! systems, `public` for portals, `auditor`, or `admin`); the role decides the
//! audience, exactly as on the QUIC listener. Certificates rather than tokens: the
//! federation already runs a CA, a certificate cannot leak into a URL or a log line,
//! and revocation is the same procedure as for nodes.
//!
//! Routes (all `GET`):
//! - `/v1/subjects/{id}/records?purpose=&audience=&fresh=true` — the subject query;
//! - `/v1/subjects/{id}/measures?action=&purpose=` — the joint-measure check;
//! - `/v1/subjects/{id}/report?purpose=&format=text` — the credit report (JSON, or
//!   text with `format=text`);
//! - `/v1/search?name=&page=&per_page=&audience=` — subjects by a fragment of their
//!   name (natural persons never for the public audience).
//!
//! One request per connection (`Connection: close`), read up to its blank line
//! (8 KiB at most, 10 s).

use std::sync::Arc;
use std::time::Duration;

use credithub_protocol::lifecycle::Audience;
use rustls_pki_types::CertificateDer;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::{reads, Node};
use crate::certs::{peer_identity, server_config, Identity};
use crate::link::session::blocking;

/// Starts the API on `listener`; runs until the task is dropped.
pub async fn serve(node: Arc<Node>, listener: TcpListener) {
    let Some(mut acceptor) = acceptor(&node) else {
        return;
    };
    let mut generation = node.peers.generation();
    loop {
        let Ok((tcp, remote)) = listener.accept().await else {
            continue;
        };
        // Certificates reloaded (a new revocation list): handshakes from now on use them.
        if node.peers.generation() != generation {
            generation = node.peers.generation();
            if let Some(a) = self::acceptor(&node) {
                acceptor = a;
            }
        }
        let node = node.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let served =
                tokio::time::timeout(Duration::from_secs(30), connection(&node, acceptor, tcp))
                    .await;
            if let Ok(Err(e)) = served {
                tracing::debug!(%remote, error = %e, "read API connection ended");
            }
        });
    }
}

/// The TLS acceptor of the read API, from the node's certs directory.
fn acceptor(node: &Node) -> Option<TlsAcceptor> {
    match server_config(&node.config.certs_dir) {
        Ok(mut tls) => {
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
            Some(TlsAcceptor::from(Arc::new(tls)))
        }
        Err(e) => {
            tracing::error!(error = %e, "read API: unusable certificates");
            None
        }
    }
}

async fn connection(
    node: &Arc<Node>,
    acceptor: TlsAcceptor,
    tcp: TcpStream,
) -> std::io::Result<()> {
    let mut tls = match acceptor.accept(tcp).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "read API: refused a TLS handshake");
            node.metrics.refused_connection("api-handshake-failed");
            return Ok(());
        }
    };
    let who = {
        let certs: Vec<CertificateDer<'static>> = tls
            .get_ref()
            .1
            .peer_certificates()
            .map(|c| c.to_vec())
            .unwrap_or_default();
        peer_identity(&certs)
    };
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
            let n = tls.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    let (status, kind, body) = match (who, read) {
        (_, Err(_)) => error(408, "request not received in time"),
        (_, Ok(Err(e))) => return Err(e),
        (Err(e), _) => error(403, &format!("certificate: {e}")),
        (Ok(who), Ok(Ok(()))) => route(node, &who, &String::from_utf8_lossy(&buf)).await,
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    tls.write_all(head.as_bytes()).await?;
    tls.write_all(body.as_bytes()).await?;
    tls.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        _ => "Internal Server Error",
    }
}

#[derive(Serialize)]
struct ApiError<'a> {
    error: &'a str,
}

fn error(status: u16, message: &str) -> (u16, &'static str, String) {
    let body = serde_json::to_string(&ApiError { error: message }).unwrap_or_default();
    (status, "application/json", body)
}

fn ok<T: Serialize>(value: &T) -> (u16, &'static str, String) {
    match serde_json::to_string(value) {
        Ok(body) => (200, "application/json", body),
        Err(e) => error(500, &e.to_string()),
    }
}

/// Decodes `%XX` escapes and `+` of a query-string value.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then(|| decode(v))
        })
        .filter(|v| !v.is_empty())
}

async fn route(node: &Arc<Node>, who: &Identity, request: &str) -> (u16, &'static str, String) {
    let mut parts = request.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method != "GET" {
        return error(405, "GET only");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let audience = match param(query, "audience").as_deref() {
        None => None,
        Some("public") => Some(Audience::Public),
        Some("government") => Some(Audience::Government),
        Some("auditor") => Some(Audience::Auditor),
        Some(other) => {
            return error(
                400,
                &format!("audience {other:?}: use public, government or auditor"),
            )
        }
    };
    if segments.as_slice() == ["v1", "search"] {
        let Some(name) = param(query, "name") else {
            return error(400, "name: give two characters of the name at least");
        };
        let number = |p: &str, default: u32| {
            param(query, p).map_or(Ok(default), |v| {
                v.parse::<u32>()
                    .map_err(|_| format!("{p}: {v:?} is not a number"))
            })
        };
        let (page, per_page) = match (number("page", 1), number("per_page", 20)) {
            (Ok(p), Ok(n)) => (p, n),
            (Err(e), _) | (_, Err(e)) => return error(400, &e),
        };
        return match blocking(|| reads::search(node, who, &name, audience, page, per_page)) {
            Ok(a) => ok(&a),
            Err(e) => {
                let text = format!("{e:#}");
                error(if text.contains("may not") { 403 } else { 400 }, &text)
            }
        };
    }
    let ["v1", "subjects", id, what] = segments.as_slice() else {
        return error(404, ROUTES);
    };
    let id = decode(id);
    let purpose = param(query, "purpose");
    let refused = |e: anyhow::Error| {
        let text = format!("{e:#}");
        let status = if text.contains("may not") { 403 } else { 400 };
        error(status, &text)
    };
    match *what {
        "records" => {
            let fresh = param(query, "fresh").as_deref() == Some("true");
            match reads::query(node, who, &id, purpose.as_deref(), audience, fresh).await {
                Ok(a) => ok(&a),
                Err(e) => refused(e),
            }
        }
        "measures" => {
            let action = param(query, "action");
            match blocking(|| reads::check(node, who, &id, action.as_deref(), purpose.as_deref())) {
                Ok(c) => ok(&c),
                Err(e) => refused(e),
            }
        }
        "report" => match blocking(|| reads::report(node, who, &id, purpose.as_deref())) {
            Ok(r) if param(query, "format").as_deref() == Some("text") => {
                (200, "text/plain; charset=utf-8", r.to_text())
            }
            Ok(r) => ok(&r),
            Err(e) => refused(e),
        },
        _ => error(404, ROUTES),
    }
}

/// The routes, for a 404's message.
const ROUTES: &str = "routes: /v1/subjects/{id}/records, /measures, /report; /v1/search?name=";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(decode("%E8%B4%B7%E6%AC%BE+review"), "贷款 review");
        assert_eq!(
            param("a=1&purpose=%E5%AE%A1%E8%AE%A1&b=", "purpose").as_deref(),
            Some("审计")
        );
        assert_eq!(param("a=1&b=", "b"), None);
        assert_eq!(decode("100%"), "100%");
    }
}
