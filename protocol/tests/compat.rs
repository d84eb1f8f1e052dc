//! Wire compatibility: frames, reconciliation messages and encoded records written by
//! every released link version are kept as fixtures (`tests/fixtures/link-vN/`) and
//! must decode in every later build, and re-encode to the very same bytes (so that
//! nothing was lost or read differently).
//!
//! A fixture directory is written once, by the build that introduced its version:
//! `CREDITHUB_WRITE_FIXTURES=1 cargo test -p credithub-protocol --test compat
//! write_current_fixtures` writes `link-v{LINK_VERSION}` when it does not exist yet.
//! The fixtures of older versions are never rewritten; a change that breaks one of
//! them breaks a rolling upgrade and needs a new link version instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use credithub_protocol::accounts::{
    Frequency, MonitorMonth, Month, NodeAccounts, Obligation, SubtreeAccounts, UnitAccount,
    UnitMonth, UnitRole,
};
use credithub_protocol::codec::{self, EncodedRecord};
use credithub_protocol::digest::{Digest, DigestItem, NodePath, PartitionId};
use credithub_protocol::ids::DivisionCode;
use credithub_protocol::link::{
    DeclineCode, DiffOutcome, Frame, SessionMode, WireRecord, LINK_VERSION, MAX_FRAME,
    MIN_LINK_VERSION,
};
use credithub_protocol::record::{Record, RecordId, RecordKey, RecordKind, Version};
use credithub_protocol::report::NodeReport;
use credithub_protocol::sync::{Limits, MemIndex, Message, Reconciler};
use credithub_protocol::testing::{body_about, form2_bodies, sample_record};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("code")
}

/// Records of several shapes: a full penalty, penalties about other regions, a
/// tombstone.
fn records() -> Vec<EncodedRecord> {
    let mut out = vec![EncodedRecord::encode(&sample_record(1))];
    for (n, region) in [(2, "320583"), (3, "330106"), (4, "110105")] {
        let body = body_about(n, region);
        let key = RecordKey::derive(code("320100"), RecordKind::PENALTY, &body);
        out.push(EncodedRecord::encode(&Record {
            key,
            version: Version((1_700_000_000_000 << 16) + n as u64),
            body: Some(body),
        }));
    }
    let gone = sample_record(5);
    out.push(EncodedRecord::encode(&Record {
        key: gone.key,
        version: Version(gone.version.0 + 1),
        body: None,
    }));
    out
}

/// The messages of one real reconciliation that takes many paths (children,
/// listings, fragments, estimates, sketches): two indexes of a few hundred items that
/// differ in a few dozen, with small thresholds.
fn messages() -> Vec<Message> {
    let p = PartitionId::origin(code("320500"), RecordKind::PENALTY);
    let q = PartitionId::subjects(code("320500"), RecordKind::PENALTY);
    let (mut a, mut b) = (MemIndex::new(), MemIndex::new());
    for i in 0u32..400 {
        let h = blake3::hash(&i.to_be_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.as_bytes()[..16]);
        let item = DigestItem {
            id: RecordId(id),
            version: Version(1000 + i as u64),
            digest: Digest(*h.as_bytes()),
        };
        let part = if i % 5 == 0 { q } else { p };
        if i % 17 != 0 {
            a.put(part, item);
        }
        if i % 23 != 0 {
            let mut item = item;
            if i % 29 == 0 {
                item.version = Version(item.version.0 + 1);
            }
            b.put(part, item);
        }
    }
    let limits = Limits {
        list_threshold: 2,
        sketch_from: 64,
        ..Limits::default()
    };
    let all = |_: &PartitionId| true;
    let mut left = Reconciler::new(&a, all, limits).with_salt(0x5eed);
    let mut right = Reconciler::new(&b, all, limits);
    let mut msg = left.start().expect("start");
    let mut out = Vec::new();
    for turn in 0.. {
        out.push(msg.clone());
        let side = if turn % 2 == 0 { &mut right } else { &mut left };
        match side.receive(msg).expect("reconciles") {
            Some(reply) => msg = reply,
            None => break,
        }
    }
    out
}

/// The accounts of a city with one unit, a refusal, an obligation and monitoring
/// figures, passed up by its province.
fn accounts() -> SubtreeAccounts {
    let march = Month::new(2026, 3).expect("month");
    let mut figures = UnitMonth {
        records: 3,
        measured: 3,
        on_time: 2,
        optional_slots: 30,
        optional_filled: 21,
        rejected: 1,
        ..UnitMonth::default()
    };
    figures.by_kind.insert(RecordKind::PENALTY.code(), 3);
    figures.delays.extend([(2, 1), (5, 1), (12, 1)]);
    figures.add_reason("CF_WSH: required value is empty", 1);
    let city = NodeAccounts {
        name: "suzhou".into(),
        jurisdiction: code("320500"),
        at_ms: 1_770_000_000_000,
        units: vec![UnitAccount {
            role: UnitRole::Source,
            name: "苏州市市场监督管理局".into(),
            uscc: Some("11320500014112345X".into()),
            origin: code("320500"),
            months: [(march, figures)].into_iter().collect(),
        }],
        obligations: vec![Obligation {
            name: "苏州市交通运输局".into(),
            uscc: None,
            origin: code("320500"),
            kinds: vec![RecordKind::PENALTY, RecordKind::LICENCE],
            frequency: Frequency::Quarterly,
            since: Some(march),
            reported: [(march, 0)].into_iter().collect(),
        }],
        monitor: [(
            code("320500"),
            [(
                march,
                MonitorMonth {
                    red_listed: 1,
                    black_listed: 2,
                    objections: 3,
                    objections_in_time: 2,
                    objections_overdue: 1,
                    repairs: 1,
                    repairs_timed: 1,
                    repairs_in_time: 1,
                },
            )]
            .into_iter()
            .collect(),
        )]
        .into_iter()
        .collect(),
    };
    SubtreeAccounts {
        nodes: vec![
            NodeAccounts {
                name: "jiangsu".into(),
                jurisdiction: code("320000"),
                at_ms: 1_770_000_000_500,
                ..NodeAccounts::default()
            },
            city,
        ],
    }
}

/// Every frame a link of `version` carries, by name.
fn frames(version: u16) -> BTreeMap<String, Frame> {
    let p = PartitionId::origin(code("320500"), RecordKind::PENALTY);
    let recs = records();
    let wire: Vec<WireRecord> = recs
        .iter()
        .map(|r| WireRecord {
            key: r.key,
            bytes: r.bytes.clone(),
        })
        .collect();
    let id = recs[0].key.id;
    let mut f = BTreeMap::new();
    let mut add = |name: &str, frame: Frame| {
        f.insert(name.to_string(), frame);
    };
    add(
        "open",
        Frame::Open {
            version,
            subscriptions: vec![RecordKind::BLACK_LIST, RecordKind::DISHONEST_DEBTOR],
            mode: SessionMode::Sync,
            report: Box::<NodeReport>::default(),
        },
    );
    add(
        "open-diff",
        Frame::Open {
            version,
            subscriptions: vec![],
            mode: SessionMode::Diff,
            report: Box::<NodeReport>::default(),
        },
    );
    add(
        "accepted",
        Frame::Accepted {
            jurisdiction: code("320000"),
        },
    );
    add(
        "refused",
        Frame::Refused {
            reason: "this node is draining for maintenance".into(),
        },
    );
    for (i, m) in messages().into_iter().enumerate() {
        add(&format!("sync-{i:02}"), Frame::Sync(m));
    }
    add(
        "want",
        Frame::Want {
            items: vec![(p, id)],
            ranges: vec![(p, NodePath::ROOT)],
        },
    );
    add("want-done", Frame::WantDone);
    add("records", Frame::Records(wire));
    add(
        "diff",
        Frame::Diff(Box::new(DiffOutcome {
            parent_newer: vec![(p, id)],
            child_newer: vec![],
            parent_only: vec![(p, NodePath::ROOT)],
            child_only: vec![],
            conflicts: vec![(p, id)],
        })),
    );
    add("sync-now", Frame::SyncNow);
    add(
        "subject-query",
        Frame::SubjectQuery {
            subject: "91110000600037341L".into(),
        },
    );
    add("done", Frame::Done { records: 5 });
    if version >= 3 {
        let wire = form2_bodies()
            .into_iter()
            .enumerate()
            .map(|(i, (kind, body))| {
                let key = RecordKey::derive(code("320500"), kind, &body);
                let version = Version((1_700_000_000_000 << 16) + i as u64);
                let r = EncodedRecord::of_body(key, version, Some(&body));
                assert_eq!(r.form(), codec::FORMAT_V2);
                WireRecord {
                    key: r.key,
                    bytes: r.bytes,
                }
            })
            .collect();
        add("records-form2", Frame::Records(wire));
    }
    if version >= 4 {
        add("accounts", Frame::Accounts(Box::new(accounts())));
    }
    if version >= 2 {
        add(
            "declined",
            Frame::Declined {
                code: DeclineCode::Busy,
                reason: "2 sync sessions with this child are running already".into(),
            },
        );
    }
    f
}

/// Writes the current version's fixtures if they are missing (see the module docs).
#[test]
fn write_current_fixtures() {
    if std::env::var_os("CREDITHUB_WRITE_FIXTURES").is_none() {
        return;
    }
    for version in MIN_LINK_VERSION..=LINK_VERSION {
        let dir = fixtures().join(format!("link-v{version}"));
        if dir.exists() {
            eprintln!("{} exists: fixtures are never rewritten", dir.display());
            continue;
        }
        std::fs::create_dir_all(&dir).expect("fixture directory");
        for (name, frame) in frames(version) {
            let bytes = frame.encode().expect("encodes");
            std::fs::write(dir.join(format!("{name}.bin")), bytes).expect("fixture written");
        }
    }
}

#[test]
fn every_released_versions_frames_decode_and_reencode_the_same() {
    let mut seen = 0;
    for version in MIN_LINK_VERSION..=LINK_VERSION {
        let dir = fixtures().join(format!("link-v{version}"));
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        assert!(entries.len() >= 12, "{}: too few fixtures", dir.display());
        for path in entries {
            let bytes = std::fs::read(&path).expect("fixture");
            let frame = Frame::decode(&bytes)
                .unwrap_or_else(|e| panic!("{} no longer decodes: {e}", path.display()));
            assert!(bytes.len() <= MAX_FRAME);
            assert_eq!(
                frame.encode().expect("encodes"),
                bytes,
                "{} re-encodes differently",
                path.display()
            );
            assert!(
                frame.since_version() <= version,
                "{}: a {} frame in a version-{version} fixture",
                path.display(),
                frame.name()
            );
            match &frame {
                Frame::Open { version: v, .. } => assert_eq!(*v, version, "{}", path.display()),
                Frame::Sync(m) => {
                    let again = Message::decode(&m.encode().expect("encodes"), MAX_FRAME)
                        .expect("message decodes");
                    assert_eq!(&again, m);
                }
                Frame::Records(batch) => {
                    for r in batch {
                        let enc = EncodedRecord {
                            key: r.key,
                            bytes: r.bytes.clone(),
                        };
                        codec::check_received(&enc).unwrap_or_else(|e| {
                            panic!("{}: record {} fails its checks: {e}", path.display(), r.key)
                        });
                    }
                }
                _ => {}
            }
            seen += 1;
        }
    }
    assert!(seen > 0);
}

#[test]
fn the_current_frames_are_the_fixtures_of_the_current_version() {
    // What this build sends is exactly what its version's fixtures hold: a change of
    // encoding without a new link version fails here.
    let dir = fixtures().join(format!("link-v{LINK_VERSION}"));
    for (name, frame) in frames(LINK_VERSION) {
        let path = dir.join(format!("{name}.bin"));
        let kept = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            frame.encode().expect("encodes"),
            kept,
            "{name}: this build encodes it differently from the fixture"
        );
    }
}
