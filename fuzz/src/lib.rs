//! The checks behind the cargo-fuzz targets, one function per target.
//!
//! Each function takes the raw input of one run and panics when a check fails; an
//! input the code under test refuses with an error is fine. The fuzz targets
//! (`fuzz_targets/*.rs`) call them under libFuzzer, and the replay test of the main
//! workspace (`tests/tests/fuzz_corpus.rs`) includes this file as a module and calls
//! the same functions on every corpus file and on generated inputs, so that `make test`
//! runs the checks without libFuzzer.
//!
//! The file uses only `credithub-protocol`, `credithub-node` and `tempfile`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;

use credithub_node::certs::Identity;
use credithub_node::import::{ImportFile, RejectWriter, RowOutcome};
use credithub_protocol::codec::{self, EncodedRecord};
use credithub_protocol::digest::{Digest, DigestItem, NodePath, PartitionId};
use credithub_protocol::ids::DivisionCode;
use credithub_protocol::link::{Frame, MAX_FRAME};
use credithub_protocol::record::{Record, RecordId, RecordKey, RecordKind, Version};
use credithub_protocol::sync::{DigestView, Limits, MemIndex, Message, Outcome, Reconciler};

/// The largest message the targets decode (what a node accepts in one frame).
pub const MESSAGE_LIMIT: usize = MAX_FRAME;

// ---------------------------------------------------------------------------------
// frame_decode

/// Link frames and reconciliation messages: whatever decodes re-encodes to bytes that
/// decode to the same value, and encoding is stable.
pub fn frame_decode(data: &[u8]) {
    if let Ok(frame) = Frame::decode(data) {
        let bytes = frame.encode().expect("a decoded frame encodes");
        assert!(!bytes.is_empty(), "a decoded frame encodes to nothing");
        let again = Frame::decode(&bytes).expect("a re-encoded frame decodes");
        assert_eq!(again, frame, "frame changed in a round trip");
        assert_eq!(
            again.encode().expect("encodes"),
            bytes,
            "frame encoding is not stable"
        );
        let _ = (frame.name(), format!("{frame:?}"));
    }
    if let Ok(msg) = Message::decode(data, MESSAGE_LIMIT) {
        let bytes = msg.encode().expect("a decoded message encodes");
        assert!(!bytes.is_empty(), "a decoded message encodes to nothing");
        let again = Message::decode(&bytes, MESSAGE_LIMIT).expect("a re-encoded message decodes");
        assert_eq!(again, msg, "message changed in a round trip");
        assert_eq!(
            again.encode().expect("encodes"),
            bytes,
            "message encoding is not stable"
        );
        // Wrapped in a frame, as it crosses a link.
        let framed = Frame::Sync(msg);
        let back = Frame::decode(&framed.encode().expect("encodes")).expect("a sync frame decodes");
        assert_eq!(back, framed, "sync frame changed in a round trip");
    }
}

// ---------------------------------------------------------------------------------
// reconciler

/// Length of the configuration at the start of a `reconciler` input.
pub const RECONCILER_CONFIG_LEN: usize = 8;

/// What the first [`RECONCILER_CONFIG_LEN`] bytes of a `reconciler` input select.
#[derive(Debug, Clone, Copy)]
pub struct ReconcilerConfig {
    /// Whether the fuzzed side opens the reconciliation (sends the hello).
    pub initiator: bool,
    /// Partitions in the index (1 to 4).
    pub partitions: usize,
    /// Items in the first partition (the others hold fewer).
    pub items: usize,
    /// The reconciler's limits.
    pub limits: Limits,
    /// Seed of the items' ids, versions and digests.
    pub seed: u32,
}

impl ReconcilerConfig {
    /// Reads the configuration bytes (missing bytes count as zero).
    pub fn from_bytes(data: &[u8]) -> ReconcilerConfig {
        let mut c = [0u8; RECONCILER_CONFIG_LEN];
        let n = data.len().min(RECONCILER_CONFIG_LEN);
        c[..n].copy_from_slice(&data[..n]);
        ReconcilerConfig {
            initiator: c[0] & 0x80 != 0,
            partitions: 1 + usize::from(c[0] & 3),
            items: usize::from(c[1] % 48),
            limits: Limits {
                list_threshold: 1 + i64::from(c[2] % 8),
                max_parts: 4096,
                max_items: 256,
                max_rounds: 24,
                // Small enough that estimates and sketches are reached with few items.
                sketch_from: if c[3] & 0x80 != 0 {
                    4096
                } else {
                    4 + i64::from(c[3] % 40)
                },
            },
            seed: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        }
    }
}

/// The `i`-th partition of a fuzzed index: origin and subjects partitions of Jiangsu
/// prefectures, penalties and licences.
pub fn fuzz_partition(i: usize) -> PartitionId {
    let codes = [320500, 320100, 320200, 320500];
    let code = DivisionCode::from_u32(codes[i % codes.len()]).unwrap_or(DivisionCode::NATIONAL);
    let kind = if i.is_multiple_of(2) {
        RecordKind::PENALTY
    } else {
        RecordKind::LICENCE
    };
    if i == 3 {
        PartitionId::subjects(code, kind)
    } else {
        PartitionId::origin(code, kind)
    }
}

/// Whether a fuzzed reconciler compares partition `p`: Jiangsu's (so that a message
/// naming another province's partition is refused).
pub fn fuzz_scope(p: &PartitionId) -> bool {
    p.scope.code().as_u32() / 10_000 == 32
}

/// A deterministic item: id, version and digest derived from `seed`, `n` and `version`.
pub fn fuzz_item(seed: u32, n: u64, version: u64) -> DigestItem {
    let base = mix(u64::from(seed) ^ mix(n));
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&mix(base).to_be_bytes());
    id[8..].copy_from_slice(&mix(base ^ 1).to_be_bytes());
    let mut digest = [0u8; 32];
    for (i, chunk) in digest.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(base ^ version.rotate_left(17) ^ (i as u64 + 2)).to_le_bytes());
    }
    DigestItem {
        id: RecordId(id),
        version: Version(version),
        digest: Digest(digest),
    }
}

/// SplitMix64's finaliser: a bijective mixing of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The index a configuration selects.
pub fn fuzz_index(config: &ReconcilerConfig) -> MemIndex {
    let mut index = MemIndex::new();
    for p in 0..config.partitions {
        for n in 0..config.items >> p {
            let n = n as u64 | (p as u64) << 32;
            index.put(fuzz_partition(p), fuzz_item(config.seed, n, 1 + n % 3));
        }
    }
    index
}

/// Splits the rest of a `reconciler` input into messages: each is a little-endian
/// `u16` length and that many bytes (the last one takes what is left).
pub fn split_chunks(mut rest: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    out
}

/// Builds a `reconciler` input from a configuration and encoded messages (each at most
/// 65 535 bytes), the inverse of [`split_chunks`].
pub fn join_chunks(config: &[u8; RECONCILER_CONFIG_LEN], messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = config.to_vec();
    for m in messages {
        let len = u16::try_from(m.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&m[..usize::from(len)]);
    }
    out
}

/// One side of a reconciliation, over an index chosen by the first bytes, fed
/// arbitrary messages: it never panics, stops within its round limit, answers only
/// with messages that survive the wire, and its outcome stays inside its scope and
/// names only what it holds as what to send. Returns the outcome.
pub fn reconciler(data: &[u8]) -> Outcome {
    let config = ReconcilerConfig::from_bytes(data);
    let index = fuzz_index(&config);
    let held: BTreeSet<(PartitionId, RecordId)> = index.all().map(|(p, it)| (p, it.id)).collect();
    let salt = u64::from(config.seed);
    let mut side = Reconciler::new(&index, fuzz_scope, config.limits).with_salt(salt);
    if config.initiator {
        let hello = side.start().expect("start");
        check_wire(&hello);
    }
    let rest = data.get(RECONCILER_CONFIG_LEN..).unwrap_or_default();
    let mut received = 0u32;
    for chunk in split_chunks(rest) {
        let Ok(msg) = Message::decode(chunk, MESSAGE_LIMIT) else {
            continue;
        };
        let was_finished = side.is_finished();
        received += 1;
        match side.receive(msg) {
            Ok(Some(reply)) => check_wire(&reply),
            Ok(None) => assert!(side.is_finished(), "no reply, yet not finished"),
            Err(_) => {
                // An error ends the session; the shell drops the reconciler.
                break;
            }
        }
        assert!(!was_finished, "a finished reconciler accepted a message");
        assert!(
            side.rounds() <= config.limits.max_rounds,
            "{} rounds accepted with a limit of {}",
            side.rounds(),
            config.limits.max_rounds
        );
        assert!(side.rounds() <= received);
    }
    let outcome = side.outcome();
    let partitions = outcome
        .send
        .iter()
        .chain(&outcome.fetch)
        .chain(&outcome.conflicts)
        .map(|(p, _)| p)
        .chain(outcome.send_ranges.iter().map(|(p, _)| p))
        .chain(outcome.fetch_ranges.iter().map(|(p, _)| p));
    for p in partitions {
        assert!(
            fuzz_scope(p),
            "outcome names partition {p}, outside the scope"
        );
    }
    for key in outcome.send.iter().chain(&outcome.conflicts) {
        assert!(
            held.contains(key),
            "outcome sends or reports {key:?}, which this side does not hold"
        );
    }
    for (p, path) in &outcome.send_ranges {
        let cell = DigestView::cell(&index, p, *path).unwrap_or_default();
        assert!(
            !cell.is_empty(),
            "outcome sends {p} {path}, which is empty here"
        );
        assert!(valid_path(*path));
    }
    for (_, path) in &outcome.fetch_ranges {
        assert!(valid_path(*path));
    }
    outcome.clone()
}

fn valid_path(path: NodePath) -> bool {
    NodePath::new(path.level(), path.prefix()) == Some(path)
}

/// A message this side sends decodes to itself on the other side.
fn check_wire(msg: &Message) {
    let bytes = msg.encode().expect("a decoded message encodes");
    assert!(!bytes.is_empty());
    let back = Message::decode(&bytes, usize::MAX).expect("a reply decodes");
    assert_eq!(&back, msg, "a reply changed on the wire");
}

// ---------------------------------------------------------------------------------
// csv_import

thread_local! {
    static IMPORT_DIR: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// The input file and the reject file of `csv_import`, in a temporary directory of
/// this thread.
fn import_paths() -> (PathBuf, PathBuf) {
    IMPORT_DIR.with(|d| {
        let mut d = d.borrow_mut();
        let dir = d.get_or_insert_with(|| tempfile::tempdir().expect("temporary directory"));
        (
            dir.path().join("fuzz.csv"),
            dir.path().join("fuzz.csv.rejects.csv"),
        )
    })
}

/// An import file, written to a temporary file and opened with `ImportFile::open` as
/// `credit-admin import` does (no store needed): opening it either fails with an error
/// or maps its header; its rows then come out in order, each either a record body that encodes canonically (so
/// that every node accepts it) or a reject with at least one reason, which the reject
/// file takes.
pub fn csv_import(data: &[u8]) {
    let (input, reject_file) = import_paths();
    std::fs::write(&input, data).expect("input file");
    let _ = std::fs::remove_file(&reject_file);
    let Ok(file) = ImportFile::open(&input) else {
        return;
    };
    let _ = format!("{file:?}");
    let total = file.total_bytes();
    let origin = DivisionCode::from_u32(320500).expect("Suzhou");
    let mut rejects = RejectWriter::create(&reject_file, file.header());
    let (mut last_line, mut last_bytes, mut rows) = (1u64, 0u64, 0u64);
    for outcome in file.rows().map_while(Result::ok) {
        rows += 1;
        // Every row takes at least one byte (the reader stops when it makes no progress).
        assert!(rows <= total + 1, "more rows than bytes");
        assert!(outcome.line() >= last_line, "lines go back");
        assert!(outcome.line() >= 2, "a data row on the header's line");
        assert!(outcome.bytes_read() >= last_bytes, "bytes read go back");
        assert!(outcome.bytes_read() <= total, "read beyond the text");
        last_line = outcome.line();
        last_bytes = outcome.bytes_read();
        match outcome {
            RowOutcome::Valid(row) => {
                assert_eq!(row.kind, file.kind().record_kind());
                let key = RecordKey::derive(origin, row.kind, &row.body);
                let record = Record {
                    key,
                    version: Version(1 << 16),
                    body: Some(row.body),
                };
                let encoded = EncodedRecord::encode(&record);
                let decoded = codec::decode(key, &encoded.bytes)
                    .unwrap_or_else(|e| panic!("an accepted row does not decode: {e}"));
                assert_eq!(decoded, record, "an accepted row changed in its encoding");
            }
            RowOutcome::Invalid(row) => {
                assert!(!row.errors.is_empty(), "a reject without a reason");
                rejects.write(&row).expect("reject file");
            }
        }
    }
    rejects.finish().expect("reject file");
}

// ---------------------------------------------------------------------------------
// identity

/// Certificate identities: a URI that parses is the canonical form of its identity;
/// a certificate's identity (if any) is a valid one.
pub fn identity(data: &[u8]) {
    if let Ok(uri) = std::str::from_utf8(data) {
        check_uri(uri);
    }
    if let Ok(id) = Identity::from_der(data) {
        assert_eq!(Identity::from_uri(&id.to_uri()), Ok(id.clone()));
        let _ = id.common_name();
    }
}

fn check_uri(uri: &str) {
    if let Ok(id) = Identity::from_uri(uri) {
        assert_eq!(id.to_uri(), uri, "an identity URI that is not canonical");
        assert_eq!(id.to_string(), uri);
        assert!(!id.name.is_empty() && id.name.len() <= 64);
    }
}
