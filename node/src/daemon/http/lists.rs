//! `GET /v1/lists/{name}`: a page of the red list, the black list or the dishonest
//! debtors ([`crate::query::lists`]), as the caller's audience may see it.
//!
//! Parameters: `page` (from 1), `per_page` (1–100, default 20), `origin` (a division
//! code or its prefix: `32`, `3205`, `320583`), `since` and `until` (listing days,
//! `YYYY-MM-DD`, both included), `after` (the previous page's `next_after`) and
//! `audience`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use credithub_protocol::{Date, DivisionCode, RecordKey};

use super::caller::{Caller, Params};
use super::error::ApiError;
use crate::daemon::{reads, Node};
use crate::link::session::blocking;
use crate::query::lists::{ListName, ListQuery, DEFAULT_PER_PAGE};

/// Answers `GET /v1/lists/{name}`.
pub async fn list(
    State(node): State<Arc<Node>>,
    Caller(who): Caller,
    name: Result<Path<String>, axum::extract::rejection::PathRejection>,
    q: Params,
) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::bad_request(format!("list: {}", e.body_text())))?;
    let query = query(&name, &q)?;
    let audience = q.audience()?;
    let answer = blocking(|| reads::list(&node, &who, &query, audience))
        .map_err(|e| ApiError::refused(&e))?;
    Ok(Json(answer).into_response())
}

/// Reads the list's name and its parameters.
fn query(name: &str, q: &Params) -> Result<ListQuery, ApiError> {
    let list = ListName::parse(name).ok_or_else(|| {
        let names: Vec<&str> = ListName::ALL.iter().map(|l| l.as_str()).collect();
        ApiError::not_found(format!(
            "no list named {name:?}: the lists are {}",
            names.join(", ")
        ))
    })?;
    let day = |p: &str| -> Result<Option<Date>, ApiError> {
        q.get(p)
            .map(|v| {
                Date::parse(v).map_err(|e| {
                    ApiError::bad_request(format!("{p}: {v:?} is not a day YYYY-MM-DD ({e})"))
                })
            })
            .transpose()
    };
    let after = q
        .get("after")
        .map(|v| {
            v.parse::<RecordKey>()
                .map_err(|e| ApiError::bad_request(format!("after: {e}")))
        })
        .transpose()?;
    Ok(ListQuery {
        list,
        origin: q.get("origin").map_or(Ok(DivisionCode::NATIONAL), origin)?,
        since: day("since")?,
        until: day("until")?,
        page: q.number("page", 1)?,
        per_page: q.number("per_page", DEFAULT_PER_PAGE)?,
        after,
    })
}

/// A division code or its prefix (`32` → `320000`, `3205` → `320500`).
fn origin(v: &str) -> Result<DivisionCode, ApiError> {
    let bad = |why: String| {
        ApiError::bad_request(format!(
            "origin: {v:?} {why} (give a division code or its first 2 or 4 digits: 32, 3205, 320583)"
        ))
    };
    if !matches!(v.len(), 2 | 4 | 6) || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not 2, 4 or 6 digits".into()));
    }
    DivisionCode::parse(&format!("{v:0<6}")).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_division_prefixes() {
        assert_eq!(origin("32").map(|c| c.as_u32()), Ok(320000));
        assert_eq!(origin("3205").map(|c| c.as_u32()), Ok(320500));
        assert_eq!(origin("320583").map(|c| c.as_u32()), Ok(320583));
        assert!(origin("3").is_err_and(|e| e.message.contains("2, 4 or 6 digits")));
        assert!(origin("99").is_err_and(|e| e.message.contains("province")));
    }

    #[test]
    fn parameters_are_read_and_named_when_wrong() {
        let q = Params::from_pairs(&[("since", "2025-01-01"), ("per_page", "5")]);
        let l = query("black-list", &q).expect("valid");
        assert_eq!((l.per_page, l.page), (5, 1));
        assert_eq!(l.since, Date::new(2025, 1, 1));
        let e = query("grey-list", &q).map_err(|e| e.message).unwrap_err();
        assert!(e.contains("red-list, black-list, dishonest-debtors"), "{e}");
        let q = Params::from_pairs(&[("until", "2025-13-01")]);
        let e = query("red-list", &q).map_err(|e| e.message).unwrap_err();
        assert!(e.starts_with("until:"), "{e}");
    }
}
