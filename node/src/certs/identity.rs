//! Who a certificate speaks for: its [`Role`], its jurisdiction and its name.
//!
//! # Encoding
//!
//! Every credithub end-entity certificate carries **exactly one** subject alternative
//! name of type URI of the form
//!
//! ```text
//! credithub://<role>/<jurisdiction>/<name>
//! ```
//!
//! - `<role>` is `node`, `admin` or `client`;
//! - `<jurisdiction>` is a six-digit GB/T 2260 division code (`000000` is the national
//!   hub, `320000` Jiangsu, `320500` Suzhou): for a node, the division it serves; for an
//!   admin or a client, what it may administer or query;
//! - `<name>` is 1 to 64 characters of `a-z`, `0-9` and `-`.
//!
//! Examples: `credithub://node/320500/suzhou`, `credithub://admin/320500/ops`.
//!
//! The subject is `CN=<role> <jurisdiction> <name>, O=credithub` for people reading
//! the certificate; the SAN URI is the only thing [`Identity::from_der`] trusts. A
//! node's certificate also names its DNS names and IP addresses, which TLS clients
//! check as the server name. A peer's jurisdiction and role are always taken from its
//! certificate, never from its address.

use std::fmt;
use std::str::FromStr;

use credithub_protocol::{DivisionCode, IdError};
use serde::{Deserialize, Serialize};
use x509_parser::extensions::GeneralName;

/// The URI scheme of identity SANs, with its separator.
pub const URI_PREFIX: &str = "credithub://";
/// The organisation (`O=`) of every credithub certificate subject.
pub const ORGANISATION: &str = "credithub";
/// The longest accepted name.
pub const MAX_NAME_LEN: usize = 64;

/// What a certificate holder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A credithub node (a national, provincial or municipal hub).
    Node,
    /// An operator administering nodes of a jurisdiction.
    Admin,
    /// A government system querying the records of a jurisdiction: every shared
    /// record, personal numbers masked.
    Client,
    /// A public portal: published records only, personal numbers masked.
    Public,
    /// An auditor: everything held (repaired and withdrawn records included),
    /// personal numbers in full, and the audit log.
    Auditor,
}

impl Role {
    /// The role as written in certificates (`node`, `admin`, `client`, `public`,
    /// `auditor`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Node => "node",
            Role::Admin => "admin",
            Role::Client => "client",
            Role::Public => "public",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, IdentityError> {
        match s {
            "node" => Ok(Role::Node),
            "admin" => Ok(Role::Admin),
            "client" => Ok(Role::Client),
            "public" => Ok(Role::Public),
            "auditor" => Ok(Role::Auditor),
            _ => Err(IdentityError::Role(s.to_string())),
        }
    }
}

/// The identity a certificate carries (see the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// What the holder is.
    pub role: Role,
    /// The division the holder serves (a node) or may administer or query.
    pub jurisdiction: DivisionCode,
    /// The holder's name (1-64 characters of `a-z0-9-`).
    pub name: String,
}

/// Why a certificate does not carry a valid credithub identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The bytes are not a DER X.509 certificate.
    #[error("not an X.509 certificate: {0}")]
    Certificate(String),
    /// The subject alternative name extension could not be read.
    #[error("unreadable subject alternative names: {0}")]
    SubjectAltNames(String),
    /// No SAN URI starts with `credithub://`.
    #[error("no credithub:// identity URI among the subject alternative names")]
    Missing,
    /// More than one SAN URI starts with `credithub://`.
    #[error("{0} credithub:// identity URIs where exactly one is allowed")]
    Several(usize),
    /// The identity URI is not `credithub://<role>/<jurisdiction>/<name>`.
    #[error("identity URI {uri:?} is not credithub://<role>/<jurisdiction>/<name>")]
    Malformed {
        /// The URI found.
        uri: String,
    },
    /// The role is not one of the five.
    #[error("role {0:?} is not one of node, admin, client, public, auditor")]
    Role(String),
    /// The jurisdiction is not a valid division code.
    #[error("jurisdiction {found:?} is not a division code: {reason}")]
    Jurisdiction {
        /// The text found.
        found: String,
        /// Why it was refused.
        reason: IdError,
    },
    /// The name is empty, too long or has characters outside `a-z0-9-`.
    #[error("name {found:?} is not 1-64 characters of a-z, 0-9 and '-'")]
    Name {
        /// The text found.
        found: String,
    },
    /// The peer presented no certificate.
    #[error("the peer presented no certificate")]
    NoPeerCertificate,
}

/// Checks a holder name: 1 to [`MAX_NAME_LEN`] characters of `a-z`, `0-9` and `-`.
pub fn validate_name(name: &str) -> Result<(), IdentityError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(IdentityError::Name {
            found: name.to_string(),
        })
    }
}

impl Identity {
    /// An identity with a checked name.
    pub fn new(
        role: Role,
        jurisdiction: DivisionCode,
        name: impl Into<String>,
    ) -> Result<Self, IdentityError> {
        let name = name.into();
        validate_name(&name)?;
        Ok(Identity {
            role,
            jurisdiction,
            name,
        })
    }

    /// The SAN URI encoding this identity (`credithub://node/320500/suzhou`).
    pub fn to_uri(&self) -> String {
        format!(
            "{URI_PREFIX}{}/{}/{}",
            self.role, self.jurisdiction, self.name
        )
    }

    /// The subject common name (`node 320500 suzhou`).
    pub fn common_name(&self) -> String {
        format!("{} {} {}", self.role, self.jurisdiction, self.name)
    }

    /// Parses an identity URI (`credithub://<role>/<jurisdiction>/<name>`).
    pub fn from_uri(uri: &str) -> Result<Self, IdentityError> {
        let malformed = || IdentityError::Malformed {
            uri: uri.to_string(),
        };
        let rest = uri.strip_prefix(URI_PREFIX).ok_or_else(malformed)?;
        let mut parts = rest.split('/');
        let (Some(role), Some(jurisdiction), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let role: Role = role.parse()?;
        // DivisionCode::parse trims; an identity allows no blanks at all.
        if jurisdiction.len() != 6 || !jurisdiction.bytes().all(|b| b.is_ascii_digit()) {
            let reason = DivisionCode::parse(jurisdiction).err().unwrap_or_else(|| {
                IdError::Division("blanks are not allowed in an identity".into())
            });
            return Err(IdentityError::Jurisdiction {
                found: jurisdiction.to_string(),
                reason,
            });
        }
        let code =
            DivisionCode::parse(jurisdiction).map_err(|reason| IdentityError::Jurisdiction {
                found: jurisdiction.to_string(),
                reason,
            })?;
        Identity::new(role, code, name)
    }

    /// Reads the identity of a DER-encoded X.509 certificate: exactly one SAN URI
    /// starting with `credithub://`, with a valid role, jurisdiction and name. SAN
    /// entries of other types or schemes are ignored.
    pub fn from_der(cert_der: &[u8]) -> Result<Self, IdentityError> {
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
            .map_err(|e| IdentityError::Certificate(e.to_string()))?;
        Self::from_x509(&cert)
    }

    /// Reads the identity of a parsed certificate, as [`from_der`](Self::from_der).
    pub fn from_x509(
        cert: &x509_parser::certificate::X509Certificate<'_>,
    ) -> Result<Self, IdentityError> {
        let san = cert
            .subject_alternative_name()
            .map_err(|e| IdentityError::SubjectAltNames(e.to_string()))?;
        let uris: Vec<&str> = san
            .iter()
            .flat_map(|ext| ext.value.general_names.iter())
            .filter_map(|name| match name {
                GeneralName::URI(uri) if uri.starts_with(URI_PREFIX) => Some(*uri),
                _ => None,
            })
            .collect();
        match uris.as_slice() {
            [] => Err(IdentityError::Missing),
            [uri] => Self::from_uri(uri),
            several => Err(IdentityError::Several(several.len())),
        }
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair, SanType};

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).unwrap()
    }

    fn cert_with_uris(uris: &[&str]) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.subject_alt_names = uris
            .iter()
            .map(|u| SanType::URI((*u).try_into().unwrap()))
            .collect();
        params
            .subject_alt_names
            .push(SanType::DnsName("localhost".try_into().unwrap()));
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn uri_round_trip() {
        let id = Identity::new(Role::Node, code("320500"), "suzhou").unwrap();
        assert_eq!(id.to_uri(), "credithub://node/320500/suzhou");
        assert_eq!(id.common_name(), "node 320500 suzhou");
        assert_eq!(Identity::from_uri(&id.to_uri()).unwrap(), id);
        let hub = Identity::from_uri("credithub://admin/000000/ops-1").unwrap();
        assert_eq!(hub.jurisdiction, DivisionCode::NATIONAL);
        assert_eq!(hub.role, Role::Admin);
    }

    #[test]
    fn malformed_uris_say_what_is_wrong() {
        let err = |u: &str| Identity::from_uri(u).unwrap_err();
        assert!(matches!(
            err("credithub://node/320500"),
            IdentityError::Malformed { .. }
        ));
        assert!(matches!(
            err("credithub://node/320500/a/b"),
            IdentityError::Malformed { .. }
        ));
        assert!(matches!(
            err("https://node/320500/a"),
            IdentityError::Malformed { .. }
        ));
        assert_eq!(
            err("credithub://root/320500/a"),
            IdentityError::Role("root".into())
        );
        assert!(matches!(
            err("credithub://node/990000/a"),
            IdentityError::Jurisdiction { .. }
        ));
        assert!(matches!(
            err("credithub://node/ 32050/a"),
            IdentityError::Jurisdiction { .. }
        ));
        assert!(matches!(
            err("credithub://node/320500/"),
            IdentityError::Name { .. }
        ));
        assert!(matches!(
            err("credithub://node/320500/Suzhou"),
            IdentityError::Name { .. }
        ));
        let long = format!("credithub://node/320500/{}", "a".repeat(65));
        assert!(matches!(err(&long), IdentityError::Name { .. }));
        assert!(Identity::from_uri(&format!("credithub://node/320500/{}", "a".repeat(64))).is_ok());
    }

    #[test]
    fn from_der_requires_exactly_one_identity_uri() {
        let one = cert_with_uris(&["https://example.org/x", "credithub://client/320000/app"]);
        let id = Identity::from_der(&one).unwrap();
        assert_eq!(
            id,
            Identity::new(Role::Client, code("320000"), "app").unwrap()
        );

        assert_eq!(
            Identity::from_der(&cert_with_uris(&[])),
            Err(IdentityError::Missing)
        );
        let two = cert_with_uris(&["credithub://node/320500/a", "credithub://node/320500/b"]);
        assert_eq!(Identity::from_der(&two), Err(IdentityError::Several(2)));
        assert!(matches!(
            Identity::from_der(b"not a certificate"),
            Err(IdentityError::Certificate(_))
        ));
    }

    #[test]
    fn errors_name_the_offending_part() {
        let msg = Identity::from_uri("credithub://node/320005/x")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("320005") && msg.contains("county part"),
            "{msg}"
        );
        let msg = Identity::from_uri("credithub://node/320500/x_y")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("x_y"), "{msg}");
    }
}
