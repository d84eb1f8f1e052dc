//! The loopback endpoint of operators (`metrics.listen`): `GET /metrics` (OpenMetrics
//! text), `GET /health` (200 while the process runs) and `GET /health?ready=1` (200
//! once the store is open and the listener bound, 503 while starting or draining).

use std::sync::{Arc, OnceLock};

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::Health;
use crate::daemon::metrics::exposition;
use crate::daemon::Node;

/// What the endpoint answers from: the node once it has started, and its health.
#[derive(Clone)]
struct Endpoint {
    node: Arc<OnceLock<Arc<Node>>>,
    health: Arc<Health>,
}

/// The router of `/metrics` and `/health`.
pub fn router(node: Arc<OnceLock<Arc<Node>>>, health: Arc<Health>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health_answer))
        .fallback(|| async {
            text(
                StatusCode::NOT_FOUND,
                "routes: /metrics /health /health?ready=1\n",
            )
        })
        .method_not_allowed_fallback(|| async {
            text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n")
        })
        .with_state(Endpoint { node, health })
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let kind = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    (status, kind, body.into()).into_response()
}

async fn health_answer(
    State(e): State<Endpoint>,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return text(
            StatusCode::BAD_REQUEST,
            "query string: use /health or /health?ready=1\n",
        );
    };
    let ready = query
        .iter()
        .any(|(k, v)| k == "ready" && (v == "1" || v.is_empty()));
    match (ready, e.health.is_ready()) {
        (true, true) => text(StatusCode::OK, "ready\n"),
        (true, false) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", e.health.as_str()),
        ),
        (false, _) => text(StatusCode::OK, format!("alive, {}\n", e.health.as_str())),
    }
}

async fn metrics(State(e): State<Endpoint>) -> Response {
    let Some(node) = e.node.get().cloned() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "starting\n");
    };
    match tokio::task::spawn_blocking(move || exposition::render(&node)).await {
        Ok(body) => ([(header::CONTENT_TYPE, exposition::CONTENT_TYPE)], body).into_response(),
        Err(err) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("metrics: {err}\n"),
        ),
    }
}
