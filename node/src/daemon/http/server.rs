//! The HTTP listeners: accepting connections, the read API's mutual TLS, serving
//! HTTP/1.1 (keep-alive) and HTTP/2 on each connection, and the limits every request
//! passes through.
//!
//! Limits: connections held at once ([`MAX_CONNECTIONS`]), the TLS handshake
//! ([`HANDSHAKE_TIMEOUT`]) and a request's head ([`HEADER_TIMEOUT`],
//! [`MAX_HEADER_BYTES`]) by hyper; requests answered at once ([`MAX_REQUESTS`], more
//! are answered 503 at once rather than queued), a request's time ([`REQUEST_TIMEOUT`])
//! and body ([`MAX_BODY`]) by tower layers. A connection is asked to close after
//! [`MAX_CONNECTION_AGE`], so a client cannot hold a slot for ever.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::error_handling::HandleErrorLayer;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{BoxError, Router};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{Service, ServiceBuilder};
use tower_http::limit::RequestBodyLimitLayer;

use super::caller::Peer;
use super::error::{self, ApiError};
use super::{metrics, routes, Health};
use crate::certs::{peer_identity, server_config};
use crate::daemon::Node;

/// Connections held at once per listener; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 512;
/// Time for a client to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a request's head to arrive (HTTP/1.1; also how long an idle keep-alive
/// connection waits for its next request).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's head at most (request line and headers).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Requests answered at once by a listener.
pub const MAX_REQUESTS: usize = 64;
/// Time to answer one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A request's body at most (every route is a `GET`).
pub const MAX_BODY: usize = 8 * 1024;
/// Concurrent HTTP/2 streams per connection.
pub const MAX_STREAMS: u32 = 32;
/// After this long a connection is closed gracefully (its requests answered first).
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(600);

/// Serves the read API on `listener` over mutual TLS; runs until the task is dropped.
pub async fn serve_api(node: Arc<Node>, listener: TcpListener) {
    let Some(mut acceptor) = acceptor(&node) else {
        return;
    };
    let mut generation = node.peers.generation();
    let app = api_layers(routes::router(node.clone()), node.clone());
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((tcp, remote)) = listener.accept().await else {
            continue;
        };
        // Answers go out at once (HTTP/2 writes a response as several frames).
        let _ = tcp.set_nodelay(true);
        // Certificates reloaded (a new revocation list): handshakes from now on use them.
        if node.peers.generation() != generation {
            generation = node.peers.generation();
            if let Some(a) = self::acceptor(&node) {
                acceptor = a;
            }
        }
        let (node, acceptor, app) = (node.clone(), acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::warn!(%remote, error = %e, "read API: refused a TLS handshake");
                    node.metrics.refused_connection("api-handshake-failed");
                    return;
                }
                Err(_) => {
                    node.metrics.refused_connection("api-handshake-timeout");
                    return;
                }
            };
            let certs: Vec<CertificateDer<'static>> = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.to_vec())
                .unwrap_or_default();
            let peer = Peer(Arc::new(peer_identity(&certs).map_err(|e| e.to_string())));
            if let Err(e) = serve_connection(tls, app, Some(peer)).await {
                tracing::debug!(%remote, error = %e, "read API connection ended");
            }
            drop(slot);
        });
    }
}

/// Serves `/metrics` and `/health` on `listener` (plain HTTP, meant for loopback);
/// `node` is filled in once the node has started. Runs until the task is dropped.
pub async fn serve_metrics(
    listener: TcpListener,
    node: Arc<OnceLock<Arc<Node>>>,
    health: Arc<Health>,
) {
    let app = metrics::router(node, health).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(layer_error))
            .timeout(REQUEST_TIMEOUT),
    );
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let _ = serve_connection(tcp, app, None).await;
            drop(slot);
        });
    }
}

/// The read API's layers around its routes, outermost first: answers counted, error
/// answers made JSON, overload and timeouts answered 503, the body limit.
fn api_layers(router: Router, node: Arc<Node>) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(node, count))
            .layer(middleware::map_response(error::as_json))
            .layer(HandleErrorLayer::new(layer_error))
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(MAX_REQUESTS))
            .timeout(REQUEST_TIMEOUT)
            .layer(RequestBodyLimitLayer::new(MAX_BODY)),
    )
}

/// Counts each answer by route and status, with its duration.
async fn count(State(node): State<Arc<Node>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", MatchedPath::as_str)
        .to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    node.metrics
        .api_request(&route, response.status().as_u16(), started.elapsed());
    response
}

/// The answer to a request a layer stopped.
async fn layer_error(e: BoxError) -> ApiError {
    if e.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs()),
        )
    } else if e.is::<tower::load_shed::error::Overloaded>() {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("busy: {MAX_REQUESTS} requests are being answered; try again shortly"),
        )
    } else {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

/// Serves one connection, HTTP/1.1 or HTTP/2 (by its preface), every request of it
/// carrying `peer` when given.
async fn serve_connection<I>(io: I, app: Router, peer: Option<Peer>) -> Result<(), BoxError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        if let Some(p) = &peer {
            request.extensions_mut().insert(p.clone());
        }
        app.clone().call(request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(MAX_HEADER_BYTES as u32)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => served,
        _ = tokio::time::sleep(MAX_CONNECTION_AGE) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    }
}

/// The TLS acceptor of the read API, from the node's certs directory: client
/// certificates of the federation CA required, HTTP/2 or HTTP/1.1 by ALPN.
fn acceptor(node: &Node) -> Option<TlsAcceptor> {
    match server_config(&node.config.certs_dir) {
        Ok(mut tls) => {
            tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(TlsAcceptor::from(Arc::new(tls)))
        }
        Err(e) => {
            tracing::error!(error = %e, "read API: unusable certificates");
            None
        }
    }
}
