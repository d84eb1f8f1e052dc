//! The read API's routes (all `GET`), described by `docs/openapi.json`:
//! - `/v1/subjects/{id}/records?purpose=&audience=&fresh=true` — the subject query;
//! - `/v1/subjects/{id}/measures?action=&purpose=` — the joint-measure check;
//! - `/v1/subjects/{id}/report?purpose=&format=text` — the credit report (JSON, or
//!   text with `format=text`);
//! - `/v1/search?name=&page=&per_page=&audience=` — subjects by a fragment of their
//!   name (natural persons never for the public audience);
//! - `/v1/lists/{name}?page=&per_page=&origin=&since=&until=&after=&audience=` — a
//!   published list ([`super::lists`]);
//! - `/v1/changes?since=&kinds=&limit=&wait=&audience=` — the change feed
//!   ([`super::changes`]).
//!
//! Callers present a certificate of the federation CA (role `client` for government
//! systems, `public` for portals, `auditor`, or `admin`); the role decides the
//! audience, exactly as on the QUIC listener ([`reads::audience_for`]).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::caller::{Caller, Params};
use super::error::ApiError;
use super::{changes, lists};
use crate::daemon::{reads, Node};
use crate::link::session::blocking;

/// The routes, for a 404's message.
pub const ROUTES: &str = "routes: /v1/subjects/{id}/records, /measures, /report; /v1/search?name=; /v1/lists/{red-list|black-list|dishonest-debtors}; /v1/changes?since=";

/// The read API's router (its layers are added by [`super::server`]).
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/v1/subjects/{id}/records", get(records))
        .route("/v1/subjects/{id}/measures", get(measures))
        .route("/v1/subjects/{id}/report", get(report))
        .route("/v1/search", get(search))
        .route("/v1/lists/{name}", get(lists::list))
        .route("/v1/changes", get(changes::changes))
        .fallback(not_found)
        .method_not_allowed_fallback(get_only)
        .with_state(node)
}

async fn not_found() -> ApiError {
    ApiError::not_found(ROUTES)
}

async fn get_only() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "GET only")
}

/// The subject of a path, percent-decoded.
type Subject = Result<Path<String>, axum::extract::rejection::PathRejection>;

fn subject(s: Subject) -> Result<String, ApiError> {
    s.map(|Path(id)| id)
        .map_err(|e| ApiError::bad_request(format!("subject: {}", e.body_text())))
}

async fn records(
    State(node): State<Arc<Node>>,
    Caller(who): Caller,
    id: Subject,
    q: Params,
) -> Result<Response, ApiError> {
    let id = subject(id)?;
    let audience = q.audience()?;
    let fresh = q.get("fresh") == Some("true");
    let answer = reads::query(&node, &who, &id, q.get("purpose"), audience, fresh)
        .await
        .map_err(|e| ApiError::refused(&e))?;
    Ok(Json(answer).into_response())
}

async fn measures(
    State(node): State<Arc<Node>>,
    Caller(who): Caller,
    id: Subject,
    q: Params,
) -> Result<Response, ApiError> {
    let id = subject(id)?;
    q.audience()?;
    let answer = blocking(|| reads::check(&node, &who, &id, q.get("action"), q.get("purpose")))
        .map_err(|e| ApiError::refused(&e))?;
    Ok(Json(answer).into_response())
}

async fn report(
    State(node): State<Arc<Node>>,
    Caller(who): Caller,
    id: Subject,
    q: Params,
) -> Result<Response, ApiError> {
    let id = subject(id)?;
    q.audience()?;
    let report = blocking(|| reads::report(&node, &who, &id, q.get("purpose")))
        .map_err(|e| ApiError::refused(&e))?;
    if q.get("format") == Some("text") {
        let text = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
        return Ok((text, report.to_text()).into_response());
    }
    Ok(Json(report).into_response())
}

async fn search(
    State(node): State<Arc<Node>>,
    Caller(who): Caller,
    q: Params,
) -> Result<Response, ApiError> {
    let audience = q.audience()?;
    let Some(name) = q.get("name") else {
        return Err(ApiError::bad_request(
            "name: give two characters of the name at least",
        ));
    };
    let (page, per_page) = (q.number("page", 1)?, q.number("per_page", 20)?);
    let answer = blocking(|| reads::search(&node, &who, name, audience, page, per_page))
        .map_err(|e| ApiError::refused(&e))?;
    Ok(Json(answer).into_response())
}
