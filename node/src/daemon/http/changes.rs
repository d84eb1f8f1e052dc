//! `GET /v1/changes?since=&kinds=&limit=&wait=&audience=` — the change feed
//! ([`crate::query::feed`]): the events after the cursor `since`, for the caller's
//! audience, with a long poll of up to [`MAX_WAIT_SECS`] seconds when there are none.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credithub_protocol::RecordKind;

use super::caller::{Caller, Params};
use super::error::ApiError;
use crate::daemon::{reads, Node};
use crate::query::feed::{FeedRequest, DEFAULT_EVENTS, MAX_EVENTS};

/// Longest long poll, in seconds: below the API's request timeout.
pub const MAX_WAIT_SECS: u32 = 25;

/// The feed's page for the caller.
pub async fn changes(
    State(node): State<Arc<Node>>,
    Caller(who): Caller,
    q: Params,
) -> Result<Response, ApiError> {
    let audience = q.audience()?;
    let request = request(&q)?;
    let wait = q.number("wait", 0)?;
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::bad_request(format!(
            "wait: {wait} s is longer than the longest poll, {MAX_WAIT_SECS} s"
        )));
    }
    let page = reads::changes(
        node,
        &who,
        audience,
        request,
        Duration::from_secs(u64::from(wait)),
    )
    .await
    .map_err(|e| ApiError::refused(&e))?;
    Ok(Json(page).into_response())
}

/// The feed request a query string asks for.
fn request(q: &Params) -> Result<FeedRequest, ApiError> {
    let since = match q.get("since") {
        None => 0,
        Some(v) => v.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "since: {v:?} is not a cursor (give the `next` of the previous page, or 0)"
            ))
        })?,
    };
    let mut kinds = Vec::new();
    for name in q
        .get("kinds")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
    {
        let kind = RecordKind::parse(name.trim()).ok_or_else(|| {
            ApiError::bad_request(format!("kinds: {name:?} is not a record kind"))
        })?;
        kinds.push(kind);
    }
    let limit = q.number("limit", DEFAULT_EVENTS)?;
    if limit == 0 || limit > MAX_EVENTS {
        return Err(ApiError::bad_request(format!(
            "limit: give 1 to {MAX_EVENTS} events (got {limit})"
        )));
    }
    Ok(FeedRequest {
        since,
        kinds,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_and_bad_ones_named() {
        let ok = request(&Params::from_pairs(&[
            ("since", "42"),
            ("kinds", "penalty,licence"),
            ("limit", "10"),
        ]))
        .expect("request");
        assert_eq!(ok.since, 42);
        assert_eq!(ok.kinds, vec![RecordKind::PENALTY, RecordKind::LICENCE]);
        assert_eq!(ok.limit, 10);
        for (pairs, names) in [
            (vec![("since", "-1")], "since"),
            (vec![("kinds", "penalty,fines")], "fines"),
            (vec![("limit", "0")], "limit"),
            (vec![("limit", "5000")], "limit"),
        ] {
            let e = request(&Params::from_pairs(&pairs)).expect_err("refused");
            assert!(format!("{e:?}").contains(names), "{e:?}");
        }
    }
}
