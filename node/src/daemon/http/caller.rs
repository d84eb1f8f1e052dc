//! Who is asking, and what: the identity of the caller's certificate (taken once per
//! connection, handed to every request as an extension) and the query parameters.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use credithub_protocol::lifecycle::Audience;

use super::error::ApiError;
use crate::certs::Identity;

/// The identity of a connection's client certificate, or why it has none; the server
/// puts it in every request of the connection.
#[derive(Debug, Clone)]
pub struct Peer(pub Arc<Result<Identity, String>>);

/// The caller of a read API request: a certificate with a credithub identity.
#[derive(Debug, Clone)]
pub struct Caller(pub Identity);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, ApiError> {
        match parts.extensions.get::<Peer>().map(|p| p.0.as_ref()) {
            Some(Ok(who)) => Ok(Caller(who.clone())),
            Some(Err(e)) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("certificate: {e}"),
            )),
            None => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no certificate identity for this connection",
            )),
        }
    }
}

/// The query parameters of a request, in order. A name given twice counts once (its
/// first value); an empty value counts as not given.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Params, ApiError> {
        match Query::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Query(pairs)) => Ok(Params(pairs)),
            Err(e) => Err(ApiError::bad_request(format!(
                "query string: {}",
                e.body_text()
            ))),
        }
    }
}

impl Params {
    /// Parameters from pairs (for tests and callers that build requests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The value of `name`, if given and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// `name` as a number, `default` when not given.
    pub fn number(&self, name: &str, default: u32) -> Result<u32, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| ApiError::bad_request(format!("{name}: {v:?} is not a number"))),
        }
    }

    /// The audience asked (`audience=public|government|auditor`), if any.
    pub fn audience(&self) -> Result<Option<Audience>, ApiError> {
        match self.get("audience") {
            None => Ok(None),
            Some("public") => Ok(Some(Audience::Public)),
            Some("government") => Ok(Some(Audience::Government)),
            Some("auditor") => Ok(Some(Audience::Auditor)),
            Some(other) => Err(ApiError::bad_request(format!(
                "audience {other:?}: use public, government or auditor"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_count_once_and_empty_ones_not_at_all() {
        let p = Params::from_pairs(&[("page", "2"), ("page", "3"), ("name", "")]);
        assert_eq!(p.get("page"), Some("2"));
        assert_eq!(p.get("name"), None);
        assert_eq!(p.number("per_page", 20), Ok(20));
        let e = Params::from_pairs(&[("page", "x")]).number("page", 1);
        assert_eq!(
            e.map_err(|e| e.message),
            Err("page: \"x\" is not a number".into())
        );
        let a = Params::from_pairs(&[("audience", "everyone")]).audience();
        assert!(a.is_err_and(|e| e.message.contains("public, government or auditor")));
    }
}
