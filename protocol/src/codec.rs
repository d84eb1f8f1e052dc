//! The canonical encoding of records and their content digests.
//!
//! A record body is encoded with postcard (field order fixed by the type definitions,
//! maps ordered), which is deterministic: every node produces the same bytes, and so
//! the same digest, for the same record version. The digest is BLAKE3 in derive-key
//! mode ("credithub record v1") over the key, the version and the encoded body.
//!
//! The stored and transmitted form of a record version is
//! `format (1) ‖ version (u64 BE) ‖ digest (32) ‖ body`, so that the version and digest
//! can be read without decoding the body.
//!
//! The format byte is the record's **form**: 1 for a body that a build of link
//! version 2 reads, 2 for a body that uses anything added since (a tax number or a
//! natural person's identity document as an identifier, a list entry with its review
//! trail, a code mapping, the `Removed` status; see [`RecordBody::record_form`]). The
//! form is a function of the body, checked when a record is decoded; a link carries a
//! record only at a version that reads its form ([`link_version_for_form`]), so an
//! older node never receives what it cannot read.

use crate::digest::{Digest, DigestItem};
use crate::record::{Record, RecordBody, RecordKey, Version};

/// The first record form.
pub const FORMAT_V1: u8 = 1;
/// The record form of bodies that use what came with link version 3.
pub const FORMAT_V2: u8 = 2;
/// The newest record form this build reads and writes.
pub const NEWEST_FORMAT: u8 = FORMAT_V2;

/// The oldest link version that carries records of form `form`.
pub fn link_version_for_form(form: u8) -> u16 {
    match form {
        0 | 1 => 1,
        _ => 3,
    }
}
/// Bytes before the body in the encoded form.
pub const HEADER_LEN: usize = 1 + 8 + 32;

/// Why encoded bytes could not be read as a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Fewer bytes than the header needs.
    #[error("encoded record is {0} bytes, shorter than its {HEADER_LEN}-byte header")]
    Truncated(usize),
    /// A format this build does not know.
    #[error("unknown record format {0} (this build reads formats {FORMAT_V1} to {NEWEST_FORMAT})")]
    Format(u8),
    /// The format byte is not the form the body needs.
    #[error("record states form {stated} but its content is of form {needed}")]
    FormMismatch {
        /// The form the bytes state.
        stated: u8,
        /// The form the content needs.
        needed: u8,
    },
    /// The body does not decode (or an identifier in it does not validate).
    #[error("record body does not decode: {0}")]
    Body(String),
    /// The key is not the key of the record's natural key.
    #[error("key {key} does not match the record's natural key (expected {derived})")]
    KeyMismatch {
        /// The key the record came with.
        key: RecordKey,
        /// The key its content gives.
        derived: RecordKey,
    },
    /// The stated digest is not the digest of the content.
    #[error("digest mismatch: stated {stated}, computed {computed}")]
    DigestMismatch {
        /// The digest the bytes claim.
        stated: Digest,
        /// The digest of the content.
        computed: Digest,
    },
}

/// The canonical bytes of a body (or of a tombstone, `None`).
pub fn body_bytes(body: Option<&RecordBody>) -> Vec<u8> {
    // Sized for a typical record, so that the buffer rarely grows. Postcard fails only
    // on sequences of unknown length or a Serialize impl that returns an error; a body
    // has neither (derived impls, identifiers serialised as their text), so a failure
    // here is a bug in this crate and must not pass as an empty encoding.
    match postcard::to_extend(&body, Vec::with_capacity(768)) {
        Ok(bytes) => bytes,
        Err(e) => unreachable!("a record body always encodes: {e}"),
    }
}

/// The digest of a record version from its parts.
pub fn digest_of(key: &RecordKey, version: Version, body_bytes: &[u8]) -> Digest {
    static BASE: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
    let mut h = BASE
        .get_or_init(|| blake3::Hasher::new_derive_key("credithub record v1"))
        .clone();
    h.update(&key.to_bytes());
    h.update(&version.0.to_be_bytes());
    h.update(body_bytes);
    Digest(*h.finalize().as_bytes())
}

/// A record version in its encoded form, with its digest computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    /// The record's key (not part of `bytes`: it is the storage key).
    pub key: RecordKey,
    /// `format ‖ version ‖ digest ‖ body`.
    pub bytes: Vec<u8>,
}

/// The version and digest at the front of an encoded record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The record version.
    pub version: Version,
    /// Its content digest.
    pub digest: Digest,
}

impl EncodedRecord {
    /// Encodes a record version, computing its digest.
    pub fn encode(record: &Record) -> EncodedRecord {
        let body = body_bytes(record.body.as_ref());
        Self::from_parts(record.key, record.version, record.record_form(), &body)
    }

    /// Encodes a body (or a tombstone, `None`) as version `version` of the record
    /// `key`, computing its form and digest.
    pub fn of_body(key: RecordKey, version: Version, body: Option<&RecordBody>) -> EncodedRecord {
        let form = body
            .map_or(FORMAT_V1, RecordBody::record_form)
            .max(key.kind.record_form());
        Self::from_parts(key, version, form, &body_bytes(body))
    }

    /// Builds the encoded form from already-canonical body bytes of form `form`
    /// ([`Record::record_form`]).
    pub fn from_parts(key: RecordKey, version: Version, form: u8, body: &[u8]) -> EncodedRecord {
        let digest = digest_of(&key, version, body);
        let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
        bytes.push(form);
        bytes.extend_from_slice(&version.0.to_be_bytes());
        bytes.extend_from_slice(&digest.0);
        bytes.extend_from_slice(body);
        EncodedRecord { key, bytes }
    }

    /// The header (version and digest).
    pub fn header(&self) -> RecordHeader {
        read_header(&self.bytes).unwrap_or(RecordHeader {
            version: Version(0),
            digest: Digest([0; 32]),
        })
    }

    /// The record's form (its format byte).
    pub fn form(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(FORMAT_V1)
    }

    /// The canonical body bytes.
    pub fn body(&self) -> &[u8] {
        &self.bytes[HEADER_LEN.min(self.bytes.len())..]
    }

    /// The digest-index item of this version.
    pub fn item(&self) -> DigestItem {
        let h = self.header();
        DigestItem {
            id: self.key.id,
            version: h.version,
            digest: h.digest,
        }
    }

    /// Whether this version is a tombstone.
    pub fn is_tombstone(&self) -> bool {
        self.body() == [0u8]
    }
}

/// Reads the header of an encoded record.
pub fn read_header(bytes: &[u8]) -> Result<RecordHeader, CodecError> {
    if bytes.len() < HEADER_LEN {
        return Err(CodecError::Truncated(bytes.len()));
    }
    if !(FORMAT_V1..=NEWEST_FORMAT).contains(&bytes[0]) {
        return Err(CodecError::Format(bytes[0]));
    }
    let version = Version(u64::from_be_bytes(
        bytes[1..9]
            .try_into()
            .map_err(|_| CodecError::Truncated(bytes.len()))?,
    ));
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&bytes[9..41]);
    Ok(RecordHeader {
        version,
        digest: Digest(digest),
    })
}

/// The content checks of a record version that arrived from elsewhere: it decodes,
/// its digest is the digest of its content, and its key is the key of its natural
/// key (authority, decision number, subject, …), so that nobody can file a record
/// under another record's key. Every node applies these same checks (the store and
/// the simulation's nodes alike), inside the atomic write of what arrived.
pub fn check_received(record: &EncodedRecord) -> Result<Record, CodecError> {
    let decoded = decode(record.key, &record.bytes)?;
    if let Some(body) = &decoded.body {
        let derived = RecordKey::derive(record.key.origin, record.key.kind, body);
        if derived != record.key {
            return Err(CodecError::KeyMismatch {
                key: record.key,
                derived,
            });
        }
    }
    Ok(decoded)
}

/// Decodes an encoded record, checking that its digest matches its content.
pub fn decode(key: RecordKey, bytes: &[u8]) -> Result<Record, CodecError> {
    let header = read_header(bytes)?;
    let body = &bytes[HEADER_LEN..];
    let computed = digest_of(&key, header.version, body);
    if computed != header.digest {
        return Err(CodecError::DigestMismatch {
            stated: header.digest,
            computed,
        });
    }
    let parsed: Option<RecordBody> =
        postcard::from_bytes(body).map_err(|e| CodecError::Body(e.to_string()))?;
    // The encoding must be canonical: re-encoding gives the same bytes.
    if body_bytes(parsed.as_ref()) != body {
        return Err(CodecError::Body("body is not in canonical form".into()));
    }
    let record = Record {
        key,
        version: header.version,
        body: parsed,
    };
    let needed = record.record_form();
    if needed != bytes[0] {
        return Err(CodecError::FormMismatch {
            stated: bytes[0],
            needed,
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_record;

    #[test]
    fn round_trip_and_digest_check() {
        let record = sample_record(1);
        let enc = EncodedRecord::encode(&record);
        assert_eq!(decode(record.key, &enc.bytes).unwrap(), record);
        assert_eq!(enc.header().version, record.version);
        assert!(!enc.is_tombstone());

        let mut forged = enc.bytes.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(matches!(
            decode(record.key, &forged),
            Err(CodecError::DigestMismatch { .. })
        ));
        assert!(matches!(
            decode(record.key, &enc.bytes[..10]),
            Err(CodecError::Truncated(10))
        ));
    }

    #[test]
    fn same_content_same_digest_and_tombstones() {
        let a = EncodedRecord::encode(&sample_record(2));
        let b = EncodedRecord::encode(&sample_record(2));
        assert_eq!(a, b);
        let mut t = sample_record(2);
        t.body = None;
        t.version = Version(t.version.0 + 1);
        let enc = EncodedRecord::encode(&t);
        assert!(enc.is_tombstone());
        assert_ne!(enc.header().digest, a.header().digest);
        assert_eq!(decode(t.key, &enc.bytes).unwrap(), t);
    }
}
