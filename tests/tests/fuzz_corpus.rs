//! The fuzz targets' checks without libFuzzer (see `fuzz/README.md`).
//!
//! For each target (`frame_decode`, `reconciler`, `csv_import`, `identity`):
//!
//! 1. every file of `fuzz/corpus/<target>/` (the minimised corpus, with every input
//!    that once crashed) goes through the target's check;
//! 2. a fixed-seed pseudo-random pass generates a few thousand inputs — structured ones
//!    (frames, honest reconciliation transcripts, import files built from real column
//!    names and values, identity URIs) and mutations of them and of corpus files — and
//!    runs the same check on each.
//!
//! The checks are the functions of `fuzz/src/lib.rs`, included here as a module, so
//! the fuzz targets and this test cannot drift apart. A failing check panics; the test
//! reports the inputs that failed and fails.

// The fuzz crate's public API, seen from this test as a private module.
#[allow(unreachable_pub)]
#[path = "../../fuzz/src/lib.rs"]
mod checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use credithub_protocol::digest::{Fragment, NodePath, PartitionId};
use credithub_protocol::ids::DivisionCode;
use credithub_protocol::link::{DiffOutcome, Frame, SessionMode, WireRecord};
use credithub_protocol::record::{RecordId, RecordKey, RecordKind};
use credithub_protocol::report::{ChildReport, NodeReport};
use credithub_protocol::sync::sketch::Symbol;
use credithub_protocol::sync::{
    MemIndex, Message, Part, PartitionRoot, Reconciler, WireCell, WireItem,
};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Generated inputs per target (the reconciler's cost more: each builds two indexes
/// and runs an honest reconciliation first).
const GENERATED: usize = 3_000;
const GENERATED_RECONCILER: usize = 2_000;

/// The seed of the pseudo-random pass (fixed: the pass is the same on every run).
const SEED: u64 = 0x6372_6564_6974_6875; // "credithu"

type Check = fn(&[u8]);

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// The corpus files of a target, in name order.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&path).expect("corpus file");
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Runs `check` on each input, collecting the names of those that fail.
fn run_all<'a>(check: Check, inputs: impl IntoIterator<Item = (String, &'a [u8])>) -> usize {
    let mut failed = Vec::new();
    let mut n = 0;
    for (name, bytes) in inputs {
        n += 1;
        if catch_unwind(AssertUnwindSafe(|| check(bytes))).is_err() {
            eprintln!("check failed on {name} ({} bytes)", bytes.len());
            failed.push(name);
        }
    }
    assert!(
        failed.is_empty(),
        "{} inputs failed: {failed:?}",
        failed.len()
    );
    n
}

fn replay(target: &str, check: Check) {
    let files = corpus(target);
    assert!(!files.is_empty(), "the {target} corpus is empty");
    let n = run_all(
        check,
        files
            .iter()
            .map(|(name, b)| (format!("{target}/{name}"), b.as_slice())),
    );
    eprintln!("{target}: {n} corpus files pass");
}

/// Runs the pseudo-random pass: `generate` makes each input (it may use the corpus).
fn generated(
    target: &str,
    count: usize,
    check: Check,
    generate: impl Fn(&mut ChaCha8Rng, &Corpus) -> Vec<u8>,
) {
    let corpus = Corpus(corpus(target).into_iter().map(|(_, b)| b).collect());
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ target.len() as u64);
    let inputs: Vec<Vec<u8>> = (0..count).map(|_| generate(&mut rng, &corpus)).collect();
    let n = run_all(
        check,
        inputs
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("{target} generated #{i} {}", hex(b)), b.as_slice())),
    );
    eprintln!("{target}: {n} generated inputs pass");
}

fn hex(b: &[u8]) -> String {
    let shown: String = b.iter().take(64).map(|x| format!("{x:02x}")).collect();
    if b.len() > 64 {
        format!("{shown}…")
    } else {
        shown
    }
}

struct Corpus(Vec<Vec<u8>>);

impl Corpus {
    fn pick<'a>(&'a self, rng: &mut ChaCha8Rng) -> Option<&'a [u8]> {
        self.0.choose(rng).map(Vec::as_slice)
    }
}

// ---------------------------------------------------------------------------------
// Mutations (a few of libFuzzer's, enough to leave the well-formed paths)

fn mutate(rng: &mut ChaCha8Rng, input: &[u8], other: Option<&[u8]>) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let len = out.len();
        match rng.gen_range(0..8) {
            0 if len > 0 => {
                let i = rng.gen_range(0..len);
                out[i] ^= 1 << rng.gen_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.gen_range(0..len);
                out[i] = *[0u8, 1, 0x7f, 0x80, 0xff, b',', b'"', b'\n', b'/', b'0']
                    .choose(rng)
                    .unwrap_or(&0);
            }
            2 if len > 0 => out.truncate(rng.gen_range(0..len)),
            3 => {
                let i = rng.gen_range(0..=len);
                let extra: Vec<u8> = (0..rng.gen_range(1..8)).map(|_| rng.gen()).collect();
                out.splice(i..i, extra);
            }
            4 if len > 1 => {
                let a = rng.gen_range(0..len);
                let b = rng.gen_range(a..=len.min(a + 16));
                out.drain(a..b);
            }
            5 if len > 1 => {
                let a = rng.gen_range(0..len);
                let b = rng.gen_range(a..=len.min(a + 32));
                let copy = out[a..b].to_vec();
                let at = rng.gen_range(0..=len);
                out.splice(at..at, copy);
            }
            6 => {
                if let Some(o) = other.filter(|o| !o.is_empty()) {
                    let at = rng.gen_range(0..=len);
                    let from = rng.gen_range(0..o.len());
                    let to = rng.gen_range(from..=o.len());
                    out.truncate(at);
                    out.extend_from_slice(&o[from..to]);
                }
            }
            _ => {
                // A varint-shaped length or count somewhere.
                if len > 0 {
                    let i = rng.gen_range(0..len);
                    out[i] = 0xff;
                    out.splice(i + 1..i + 1, [0xff, 0xff, 0x7f]);
                }
            }
        }
    }
    out
}

fn random_bytes(rng: &mut ChaCha8Rng, max: usize) -> Vec<u8> {
    let n = rng.gen_range(0..=max);
    (0..n).map(|_| rng.gen()).collect()
}

// ---------------------------------------------------------------------------------
// frame_decode

const CODES: [u32; 8] = [0, 320000, 320500, 320583, 320100, 330000, 330100, 110105];

fn division(rng: &mut ChaCha8Rng) -> DivisionCode {
    DivisionCode::from_u32(*CODES.choose(rng).unwrap_or(&0)).unwrap_or(DivisionCode::NATIONAL)
}

fn kind(rng: &mut ChaCha8Rng) -> RecordKind {
    let code = *[1u16, 2, 3, 4, 5, 6, 100, 65535].choose(rng).unwrap_or(&2);
    RecordKind::from_code(code).unwrap_or(RecordKind::PENALTY)
}

fn partition(rng: &mut ChaCha8Rng) -> PartitionId {
    if rng.gen_bool(0.5) {
        // The partitions the fuzzed reconciler holds.
        checks::fuzz_partition(rng.gen_range(0..4))
    } else if rng.gen_bool(0.8) {
        PartitionId::origin(division(rng), kind(rng))
    } else {
        let region =
            DivisionCode::from_u32(*[320500u32, 320100, 330100].choose(rng).unwrap_or(&320500))
                .unwrap_or(DivisionCode::NATIONAL);
        PartitionId::subjects(region, kind(rng))
    }
}

fn node_path(rng: &mut ChaCha8Rng) -> NodePath {
    let level = rng.gen_range(0..=15u8);
    let prefix = if level == 0 {
        0
    } else {
        rng.gen::<u64>() >> (64 - 4 * u32::from(level))
    };
    NodePath::new(level, prefix).unwrap_or(NodePath::ROOT)
}

fn record_id(rng: &mut ChaCha8Rng) -> RecordId {
    RecordId(rng.gen())
}

fn wire_cell(rng: &mut ChaCha8Rng) -> WireCell {
    WireCell {
        count: match rng.gen_range(0..10) {
            0 => rng.gen(),
            1 => *[i64::MIN, i64::MAX, -1, 1 << 62, -(1 << 62)]
                .choose(rng)
                .unwrap_or(&-1),
            _ => rng.gen_range(0..100),
        },
        sums: [
            (rng.gen::<u64>() >> 3).to_le_bytes(),
            (rng.gen::<u64>() >> 3).to_le_bytes(),
            (rng.gen::<u64>() >> 3).to_le_bytes(),
        ],
    }
}

fn wire_item(rng: &mut ChaCha8Rng) -> WireItem {
    WireItem {
        id: record_id(rng),
        version: credithub_protocol::Version(rng.gen_range(0..10)),
        digest: rng.gen(),
    }
}

fn part(rng: &mut ChaCha8Rng) -> Part {
    let p = partition(rng);
    let n = rng.gen_range(0..5);
    match rng.gen_range(0..6) {
        0 => Part::Roots(
            (0..n)
                .map(|_| PartitionRoot {
                    partition: partition(rng),
                    cell: wire_cell(rng),
                })
                .collect(),
        ),
        1 => Part::Children {
            partition: p,
            path: node_path(rng),
            cells: (0..if rng.gen_bool(0.8) { 16 } else { n })
                .map(|_| wire_cell(rng))
                .collect(),
        },
        2 => Part::Items {
            partition: p,
            path: node_path(rng),
            items: (0..n).map(|_| wire_item(rng)).collect(),
        },
        3 => {
            let level = rng.gen_range(1..=5u8);
            let len = if rng.gen_bool(0.7) && level <= 3 {
                1usize << (4 * level)
            } else {
                n
            };
            Part::Estimate {
                partition: p,
                level,
                fingerprints: (0..len).map(|_| rng.gen()).collect(),
            }
        }
        4 => Part::Sketch {
            partition: p,
            level: rng.gen_range(1..=5),
            subtrees: (0..n).map(|_| rng.gen_range(0..300)).collect(),
            symbols: (0..n)
                .map(|_| Symbol {
                    count: rng.gen_range(-3..3),
                    sums: rng.gen(),
                })
                .collect(),
        },
        _ => Part::Fragment {
            partition: p,
            fragment: Fragment(rng.gen::<u64>() >> 3),
            items: (0..n).map(|_| wire_item(rng)).collect(),
        },
    }
}

fn message(rng: &mut ChaCha8Rng) -> Message {
    if rng.gen_bool(0.2) {
        Message::Hello {
            version: rng.gen_range(0..3),
            salt: rng.gen(),
            summary: credithub_protocol::sync::message::RootSummary {
                cell: wire_cell(rng),
                hash: rng.gen(),
            },
        }
    } else {
        let n = rng.gen_range(0..4);
        Message::Round((0..n).map(|_| part(rng)).collect())
    }
}

fn report(rng: &mut ChaCha8Rng, depth: u32) -> NodeReport {
    NodeReport {
        name: ["suzhou", "", "江苏"]
            .choose(rng)
            .unwrap_or(&"")
            .to_string(),
        jurisdiction: division(rng),
        records: rng.gen_range(0..1000),
        scope_count: rng.gen_range(-5..1000),
        children: (0..if depth < 3 { rng.gen_range(0..3) } else { 0 })
            .map(|_| ChildReport {
                name: "child".into(),
                jurisdiction: division(rng),
                behind_records: rng.gen_bool(0.5).then(|| rng.gen()),
                report: rng.gen_bool(0.5).then(|| Box::new(report(rng, depth + 1))),
                ..ChildReport::default()
            })
            .collect(),
        ..NodeReport::default()
    }
}

fn frame(rng: &mut ChaCha8Rng) -> Frame {
    let n = rng.gen_range(0..4);
    match rng.gen_range(0..10) {
        0 => Frame::Open {
            version: rng.gen_range(0..3),
            subscriptions: (0..n).map(|_| kind(rng)).collect(),
            mode: if rng.gen() {
                SessionMode::Sync
            } else {
                SessionMode::Diff
            },
            report: Box::new(report(rng, 0)),
        },
        1 => Frame::Accepted {
            jurisdiction: division(rng),
        },
        2 => Frame::Refused {
            reason: "scope: 不在范围内".into(),
        },
        3 => Frame::Sync(message(rng)),
        4 => Frame::Want {
            items: (0..n).map(|_| (partition(rng), record_id(rng))).collect(),
            ranges: (0..n).map(|_| (partition(rng), node_path(rng))).collect(),
        },
        5 => Frame::WantDone,
        6 => Frame::Records(
            (0..n)
                .map(|_| WireRecord {
                    key: RecordKey {
                        origin: division(rng),
                        kind: kind(rng),
                        id: record_id(rng),
                    },
                    bytes: random_bytes(rng, 60),
                })
                .collect(),
        ),
        7 => Frame::Diff(Box::new(DiffOutcome {
            parent_newer: (0..n).map(|_| (partition(rng), record_id(rng))).collect(),
            child_only: (0..n).map(|_| (partition(rng), node_path(rng))).collect(),
            ..DiffOutcome::default()
        })),
        8 => Frame::SyncNow,
        _ => Frame::Done { records: rng.gen() },
    }
}

fn frame_input(rng: &mut ChaCha8Rng, corpus: &Corpus) -> Vec<u8> {
    let base = match rng.gen_range(0..10) {
        0..=3 => frame(rng).encode().expect("encodes"),
        4..=6 => message(rng).encode().expect("encodes"),
        7..=8 => corpus.pick(rng).map(<[u8]>::to_vec).unwrap_or_default(),
        _ => return random_bytes(rng, 64),
    };
    if rng.gen_bool(0.5) {
        let other = corpus.pick(rng);
        mutate(rng, &base, other)
    } else {
        base
    }
}

// ---------------------------------------------------------------------------------
// reconciler

/// A peer's index: the fuzzed side's items, some missing, some at other versions, some
/// extra.
fn peer_index(
    rng: &mut ChaCha8Rng,
    config: &checks::ReconcilerConfig,
    mine: &MemIndex,
) -> MemIndex {
    let mut peer = MemIndex::new();
    let (drop, bump) = (rng.gen_range(0.0..0.3), rng.gen_range(0.0..0.2));
    for (p, item) in mine.all() {
        if rng.gen_bool(drop) {
            continue;
        }
        if rng.gen_bool(bump) {
            let n = rng.gen();
            peer.put(p, checks::fuzz_item(config.seed, n, item.version.0 + 1));
        } else {
            peer.put(p, item);
        }
    }
    for _ in 0..rng.gen_range(0..8) {
        let p = checks::fuzz_partition(rng.gen_range(0..4));
        peer.put(p, checks::fuzz_item(config.seed ^ 0xdead, rng.gen(), 1));
    }
    peer
}

/// An honest reconciliation between the fuzzed side's index and a peer's: the
/// messages the peer sends, and the fuzzed side's outcome.
fn transcript(
    config: &checks::ReconcilerConfig,
    mine: &MemIndex,
    peer: &MemIndex,
    peer_salt: u64,
) -> (Vec<Message>, credithub_protocol::sync::Outcome) {
    let mut a =
        Reconciler::new(mine, checks::fuzz_scope, config.limits).with_salt(u64::from(config.seed));
    let mut b = Reconciler::new(peer, checks::fuzz_scope, config.limits).with_salt(peer_salt);
    let mut sent = Vec::new();
    let mut to_b = if config.initiator {
        a.start().expect("start")
    } else {
        let hello = b.start().expect("start");
        sent.push(hello.clone());
        match a.receive(hello).expect("hello") {
            Some(reply) => reply,
            None => return (sent, a.outcome().clone()),
        }
    };
    while let Some(reply) = b.receive(to_b).expect("honest peer") {
        sent.push(reply.clone());
        match a.receive(reply).expect("honest reply") {
            Some(next) => to_b = next,
            None => break,
        }
    }
    (sent, a.outcome().clone())
}

/// A random configuration, and the messages a peer sends in an honest reconciliation
/// with the fuzzed side, and the fuzzed side's outcome.
fn honest_run(
    rng: &mut ChaCha8Rng,
) -> (
    [u8; checks::RECONCILER_CONFIG_LEN],
    Vec<Message>,
    credithub_protocol::sync::Outcome,
) {
    let mut config_bytes = [0u8; checks::RECONCILER_CONFIG_LEN];
    rng.fill_bytes(&mut config_bytes);
    let config = checks::ReconcilerConfig::from_bytes(&config_bytes);
    let mine = checks::fuzz_index(&config);
    let peer = peer_index(rng, &config, &mine);
    let (messages, outcome) = transcript(&config, &mine, &peer, rng.gen());
    (config_bytes, messages, outcome)
}

fn reconciler_input(rng: &mut ChaCha8Rng, corpus: &Corpus) -> Vec<u8> {
    if rng.gen_bool(0.15) {
        if let Some(base) = corpus.pick(rng) {
            let other = corpus.pick(rng);
            return mutate(rng, base, other);
        }
    }
    let (config_bytes, messages, _) = honest_run(rng);
    let mut wire: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| m.encode().expect("encodes"))
        .collect();
    if rng.gen_bool(0.3) || wire.is_empty() {
        // Unchanged: the honest reconciliation itself.
        return checks::join_chunks(&config_bytes, &wire);
    }
    for _ in 0..rng.gen_range(1..=3) {
        let i = rng.gen_range(0..wire.len());
        match rng.gen_range(0..5) {
            0 => wire[i] = message(rng).encode().expect("encodes"),
            1 => wire.insert(i, message(rng).encode().expect("encodes")),
            2 => {
                let copy = wire[i].clone();
                wire.insert(rng.gen_range(0..=wire.len()), copy);
            }
            3 => {
                wire.remove(i);
                if wire.is_empty() {
                    wire.push(message(rng).encode().expect("encodes"));
                }
            }
            _ => {
                let other = wire.choose(rng).cloned();
                wire[i] = mutate(rng, &wire[i], other.as_deref());
            }
        }
    }
    checks::join_chunks(&config_bytes, &wire)
}

// ---------------------------------------------------------------------------------
// csv_import

// The column codes of the national format, as the generator writes them.
use credithub_scenarios::generate::FileKind;

const CHINESE: &[&str] = &[
    "行政相对人名称",
    "行政相对人类别",
    "统一社会信用代码",
    "工商注册号",
    "组织机构代码",
    "法定代表人",
    "证件类型",
    "证件号码",
    "行政处罚决定书文号",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "处罚决定日期",
    "处罚机关",
    "数据来源单位",
    "行政许可决定文书号",
    "许可内容",
    "许可决定日期",
    "许可机关",
    "有效期至",
    "备注",
    "_line",
    "_errors",
];

/// Values a column may hold: valid ones of every type and near misses.
fn value(rng: &mut ChaCha8Rng, column: &str) -> String {
    let pool: &[&str] =
        if column.contains("SHXYM") || column.contains("DM") || column.contains("信用代码") {
            &[
                "91320505MA9CM6AW62",
                "92320583MAT9A3GTXU",
                "11320508069965548W",
                "91350100M0001TGQXM",
                "91320581MAY0QCPP7H",
                "91320581MAY0QCPP7X",
                "9132050",
                " 91320505ma9cm6aw62 ",
            ]
        } else if column.contains("ZJHM") || column.contains("证件号码") {
            &[
                "320505196409143949",
                "32050719810710660X",
                "32050719810710660x",
                "320505640914394",
                "320505196409143948",
                "320505199902301234",
                "990505196409143949",
            ]
        } else if column.contains("ZJLX") || column.contains("证件类型") {
            &["身份证", "护照", "", "居民身份证"]
        } else if column.contains("LB") || column.contains("类别") {
            &[
                "法人及非法人组织",
                "个体工商户",
                "自然人",
                "罚款;警告",
                "警告",
                "普通",
                "其他-通报批评",
            ]
        } else if column.contains("RQ")
            || column.contains("YXQ")
            || column.contains("GSJZQ")
            || column.contains("日期")
            || column.contains("有效期")
        {
            &[
                "2025-01-27",
                "2025/1/27",
                "20250127",
                "2022-02-30",
                "2025年1月27日",
                "2099-12-31",
                "1899-01-01",
                "0000-00-00",
                "2024-02-29",
            ]
        } else if column.contains("FK") || column.contains("WFFF") || column.contains("万元") {
            &[
                "0.8",
                "-2.859966",
                "1e9",
                "99999999999999999999",
                "0.000001",
                "１２",
                "5,000",
                "NaN",
            ]
        } else if column.contains("GSZC") || column.contains("注册号") {
            &["320505000012345", "110108000000016", "12345"]
        } else if column.contains("ZZJG") || column.contains("组织机构") {
            &["06996554-8", "069965548", "D2143569-X", "000000000"]
        } else {
            &[
                "苏州亿晟汽车零部件有限公司",
                "苏虎交许〔2025〕1号",
                "苏州市虎丘区交通运输局",
                "罚款人民币500元",
                "a \"quoted\" value",
                "two\nlines",
                "semi;colon",
                "tab\there",
                "=HYPERLINK(\"x\")",
            ]
        };
    let v = pool.choose(rng).copied().unwrap_or_default();
    match rng.gen_range(0..12) {
        0 => String::new(),
        1 => format!(" {v} "),
        _ => v.to_string(),
    }
}

fn csv_field(s: &str, delimiter: char) -> String {
    if s.contains([delimiter, '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_input(rng: &mut ChaCha8Rng, corpus: &Corpus) -> Vec<u8> {
    if rng.gen_bool(0.3) {
        if let Some(base) = corpus.pick(rng) {
            let other = corpus.pick(rng);
            return mutate(rng, base, other);
        }
    }
    let codes: Vec<&str> = match rng.gen_range(0..3) {
        0 => FileKind::Penalty.codes().to_vec(),
        1 => FileKind::Licence.codes().to_vec(),
        _ => CHINESE.to_vec(),
    };
    let mut header: Vec<&str> = codes
        .iter()
        .copied()
        .filter(|_| rng.gen_bool(0.92))
        .collect();
    if rng.gen_bool(0.3) {
        header.shuffle(rng);
    }
    if rng.gen_bool(0.1) {
        header.push("自定义列");
    }
    let delimiter = *[',', ',', ',', '\t', ';'].choose(rng).unwrap_or(&',');
    let newline = *["\n", "\r\n", "\r"].choose(rng).unwrap_or(&"\n");
    let mut text = String::new();
    if rng.gen_bool(0.2) {
        text.push('\u{feff}');
    }
    let line = |fields: Vec<String>| {
        fields
            .iter()
            .map(|f| csv_field(f, delimiter))
            .collect::<Vec<_>>()
            .join(&delimiter.to_string())
    };
    text.push_str(&line(header.iter().map(|h| h.to_string()).collect()));
    for _ in 0..rng.gen_range(0..6) {
        text.push_str(newline);
        let mut fields: Vec<String> = header.iter().map(|h| value(rng, h)).collect();
        match rng.gen_range(0..10) {
            0 => {
                fields.pop();
            }
            1 => fields.push("extra".into()),
            2 => fields = header.iter().map(|h| h.to_string()).collect(),
            _ => {}
        }
        text.push_str(&line(fields));
    }
    if rng.gen_bool(0.5) {
        text.push_str(newline);
    }
    let bytes = text.into_bytes();
    if rng.gen_bool(0.25) {
        mutate(rng, &bytes, None)
    } else {
        bytes
    }
}

// ---------------------------------------------------------------------------------
// identity

fn identity_input(rng: &mut ChaCha8Rng, corpus: &Corpus) -> Vec<u8> {
    if rng.gen_bool(0.4) {
        if let Some(base) = corpus.pick(rng) {
            let other = corpus.pick(rng);
            return mutate(rng, base, other);
        }
    }
    let prefix = *[
        "credithub://",
        "credithub://",
        "CREDITHUB://",
        "credithub:/",
        "https://",
        "",
    ]
    .choose(rng)
    .unwrap_or(&"");
    let role = *["node", "admin", "client", "Node", "root", ""]
        .choose(rng)
        .unwrap_or(&"");
    let jurisdiction = *[
        "320500",
        "000000",
        "330100",
        "32050",
        "3205000",
        "32 500",
        " 320500",
        "990000",
        "３２０５００",
        "320599",
    ]
    .choose(rng)
    .unwrap_or(&"");
    let name: String = (0..rng.gen_range(0..70))
        .map(|_| {
            *['a', 'z', '0', '9', '-', 'A', '_', '/', ' ', 'é', '苏']
                .choose(rng)
                .unwrap_or(&'a')
        })
        .collect();
    let mut uri = format!("{prefix}{role}/{jurisdiction}/{name}");
    if rng.gen_bool(0.1) {
        uri.push_str("/extra");
    }
    let bytes = uri.into_bytes();
    if rng.gen_bool(0.2) {
        mutate(rng, &bytes, None)
    } else {
        bytes
    }
}

// ---------------------------------------------------------------------------------
// The tests

#[test]
fn frame_decode_corpus_and_generated_inputs() {
    replay("frame_decode", checks::frame_decode);
    generated("frame_decode", GENERATED, checks::frame_decode, frame_input);
}

#[test]
fn reconciler_corpus_and_generated_inputs() {
    replay("reconciler", |d| {
        checks::reconciler(d);
    });
    generated(
        "reconciler",
        GENERATED_RECONCILER,
        |d| {
            checks::reconciler(d);
        },
        reconciler_input,
    );
}

/// The harness itself: replaying an honest peer's messages reproduces the honest
/// outcome (so that the fuzzer starts from real conversations).
#[test]
fn reconciler_replays_honest_runs() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    for _ in 0..200 {
        let (config, messages, outcome) = honest_run(&mut rng);
        let wire: Vec<Vec<u8>> = messages
            .iter()
            .map(|m| m.encode().expect("encodes"))
            .collect();
        if wire.iter().any(|m| m.len() > usize::from(u16::MAX)) {
            continue;
        }
        let input = checks::join_chunks(&config, &wire);
        assert_eq!(checks::reconciler(&input), outcome, "config {config:?}");
    }
}

/// The input kept for the nested-reports finding (see `fuzz/README.md`) is what its
/// name says: refused now, and the same layout a few levels deep is a valid frame.
#[test]
fn nested_reports_regression_input() {
    let path = corpus_dir("frame_decode").join("regression-nested-reports-8000-levels");
    let bytes = std::fs::read(&path).expect("regression input");
    assert!(
        Frame::decode(&bytes).is_err(),
        "8000 levels of reports decode"
    );
    // Open (variant, version, no subscriptions, sync), 20 bytes per level, the leaf:
    // the same layout decodes up to the limit of nested reports, and not beyond.
    let (head, level, leaf) = (&bytes[..4], &bytes[4..24], &bytes[bytes.len() - 11..]);
    let frame = |levels: usize| [head, &level.repeat(levels), leaf].concat();
    let limit = credithub_protocol::report::MAX_NESTED_REPORTS;
    let Ok(Frame::Open { report, .. }) = Frame::decode(&frame(limit)) else {
        panic!("{limit} levels of reports do not decode");
    };
    let mut depth = 0;
    let mut r = &*report;
    while let Some(child) = r.children.first().and_then(|c| c.report.as_deref()) {
        depth += 1;
        r = child;
    }
    assert_eq!(depth, limit);
    assert!(Frame::decode(&frame(limit + 1)).is_err());
}

#[test]
fn csv_import_corpus_and_generated_inputs() {
    replay("csv_import", checks::csv_import);
    generated("csv_import", GENERATED, checks::csv_import, csv_input);
}

#[test]
fn identity_corpus_and_generated_inputs() {
    replay("identity", checks::identity);
    generated("identity", GENERATED, checks::identity, identity_input);
}

/// Writes seed inputs for the fuzzers (generated ones and real certificates) to
/// `$CREDITHUB_FUZZ_SEEDS/<target>/`: `CREDITHUB_FUZZ_SEEDS=/tmp/seeds cargo test
/// --workspace --test fuzz_corpus -- --ignored write_seeds`, then merge them into the
/// corpora with `cargo fuzz cmin` (see `fuzz/README.md`).
#[test]
#[ignore = "writes seed files; run by hand"]
fn write_seeds() {
    let Some(out) = std::env::var_os("CREDITHUB_FUZZ_SEEDS").map(PathBuf::from) else {
        panic!("set CREDITHUB_FUZZ_SEEDS to the directory to write the seeds to");
    };
    let empty = Corpus(Vec::new());
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    type Generator = fn(&mut ChaCha8Rng, &Corpus) -> Vec<u8>;
    let targets: [(&str, Generator); 4] = [
        ("frame_decode", frame_input),
        ("reconciler", reconciler_input),
        ("csv_import", csv_input),
        ("identity", identity_input),
    ];
    for (target, generate) in targets {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir).expect("seed directory");
        for i in 0..200 {
            let input = generate(&mut rng, &empty);
            std::fs::write(dir.join(format!("seed-{i:03}")), input).expect("seed file");
        }
    }
    // Real certificates, as nodes and operators get them.
    let tmp = tempfile::tempdir().expect("temporary directory");
    let certs = tmp.path().join("certs");
    let ca_key = tmp.path().join("ca.key");
    let ca = credithub_node::certs::create_ca(&certs, &ca_key, 365, false).expect("CA");
    let suzhou = DivisionCode::from_u32(320500).expect("Suzhou");
    let node =
        credithub_node::certs::create_node(&certs, &ca_key, suzhou, "suzhou", &[], 365, false)
            .expect("node certificate");
    let admin = credithub_node::certs::create_client(
        &certs,
        &ca_key,
        credithub_node::certs::Role::Admin,
        suzhou,
        "ops",
        365,
        false,
    )
    .expect("admin certificate");
    for (name, created) in [("ca", ca), ("node", node), ("admin", admin)] {
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::from_pem_file(&created.cert_file)
            .expect("PEM certificate");
        std::fs::write(
            out.join("identity").join(format!("cert-{name}.der")),
            der.as_ref(),
        )
        .expect("seed file");
    }
}
