//! The record model: what a node stores and federations exchange.
//!
//! A [`Record`] is one version of one record: its [`RecordKey`] (origin jurisdiction,
//! kind, and an id derived from the record's natural key, so the same decision imported
//! twice is the same record), the [`Version`] its origin assigned, and its
//! [`RecordBody`], or `None` for a tombstone (a deleted record).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::ids::{DivisionCode, Subject, SubjectId, Uscc};

/// The kind of a record: a small number, so that partitions stay compact.
///
/// Kinds 1-5 are the ones this system models with typed details; others (sector
/// records, government integrity, …) use codes from 100 up with [`Details::Other`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKind(u16);

impl RecordKind {
    /// Administrative licence (行政许可).
    pub const LICENCE: RecordKind = RecordKind(1);
    /// Administrative penalty (行政处罚).
    pub const PENALTY: RecordKind = RecordKind(2);
    /// Red-list entry (守信红名单).
    pub const RED_LIST: RecordKind = RecordKind(3);
    /// Black-list entry (严重失信主体名单).
    pub const BLACK_LIST: RecordKind = RecordKind(4);
    /// Dishonest judgment debtor (失信被执行人).
    pub const DISHONEST_DEBTOR: RecordKind = RecordKind(5);
    /// An objection (异议) a subject filed against another record, at any node.
    pub const OBJECTION: RecordKind = RecordKind(6);
    /// A mapping of a subject's old codes to its USCC (新旧代码映射), from record form 2.
    pub const SUBJECT_MAPPING: RecordKind = RecordKind(7);
    /// The kinds with typed details, in code order.
    pub const BUILT_IN: [RecordKind; 7] = [
        Self::LICENCE,
        Self::PENALTY,
        Self::RED_LIST,
        Self::BLACK_LIST,
        Self::DISHONEST_DEBTOR,
        Self::OBJECTION,
        Self::SUBJECT_MAPPING,
    ];

    /// The list kinds, whose entries are reviewed before publication.
    pub const LISTS: [RecordKind; 3] = [Self::RED_LIST, Self::BLACK_LIST, Self::DISHONEST_DEBTOR];

    /// Whether entries of this kind are list entries (red, black, dishonest debtors).
    pub fn is_list(self) -> bool {
        Self::LISTS.contains(&self)
    }

    /// The record form a record of this kind needs at least (2 for kinds added with
    /// form 2).
    pub fn record_form(self) -> u8 {
        if self == Self::SUBJECT_MAPPING {
            2
        } else {
            1
        }
    }

    /// An additional kind; its code must be at least 100.
    pub fn other(code: u16) -> Option<RecordKind> {
        (code >= 100).then_some(RecordKind(code))
    }

    /// Rebuilds a kind from its code, refusing codes that name nothing (0, 8-99).
    pub fn from_code(code: u16) -> Option<RecordKind> {
        (matches!(code, 1..=7) || code >= 100).then_some(RecordKind(code))
    }

    /// The numeric code.
    pub fn code(self) -> u16 {
        self.0
    }

    /// The stable name: `licence`, `penalty`, `red-list`, `black-list`,
    /// `dishonest-debtor`, or `kind-N` for others.
    pub fn name(self) -> String {
        match self.0 {
            1 => "licence".into(),
            2 => "penalty".into(),
            3 => "red-list".into(),
            4 => "black-list".into(),
            5 => "dishonest-debtor".into(),
            6 => "objection".into(),
            7 => "mapping".into(),
            n => format!("kind-{n}"),
        }
    }

    /// Parses a name as printed by [`name`](Self::name).
    pub fn parse(s: &str) -> Option<RecordKind> {
        let kind = match s.trim() {
            "licence" | "license" => Self::LICENCE,
            "penalty" => Self::PENALTY,
            "red-list" => Self::RED_LIST,
            "black-list" => Self::BLACK_LIST,
            "dishonest-debtor" => Self::DISHONEST_DEBTOR,
            "objection" => Self::OBJECTION,
            "mapping" => Self::SUBJECT_MAPPING,
            other => return Self::other(other.strip_prefix("kind-")?.parse().ok()?),
        };
        Some(kind)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Debug for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordKind({})", self.name())
    }
}

/// Serialised as its code; deserialising refuses codes that name no kind.
impl Serialize for RecordKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.0)
    }
}

impl<'de> Deserialize<'de> for RecordKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u16::deserialize(d)?;
        RecordKind::from_code(v)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown record kind {v}")))
    }
}

/// A record's id: 14 bytes of a hash of its origin, kind and natural key, then the
/// subject's prefecture as two bytes (`3205` for a subject registered in Suzhou; 0 when
/// the identifier names none). The hash bytes come first, so ids are uniformly
/// distributed in every prefix, which the digest index relies on; the prefecture
/// lets any holder of a key, a tombstone included, tell which jurisdiction the record
/// is about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordId(pub [u8; 16]);

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", hex::encode(self.0))
    }
}

/// The stable key of a record: where it comes from, what it is, and which one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    /// The jurisdiction of the node that owns the record (GB/T 2260).
    pub origin: DivisionCode,
    /// The record kind.
    pub kind: RecordKind,
    /// The id derived from the natural key.
    pub id: RecordId,
}

/// The length of [`RecordKey::to_bytes`]: origin (4), kind (2), id (16).
pub const KEY_LEN: usize = 22;

/// Why a record key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text form is not `ORIGIN:KIND:ID`.
    #[error("record key {0:?} is not of the form ORIGIN:KIND:ID (e.g. 320500:penalty:0123…cdef)")]
    Form(String),
    /// A part of the key is invalid.
    #[error("record key {key:?}: {reason}")]
    Part {
        /// The key as given.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl RecordKey {
    /// Derives the key of a record from its origin, kind and body's natural key.
    pub fn derive(origin: DivisionCode, kind: RecordKind, body: &RecordBody) -> RecordKey {
        static BASE: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
        let mut h = BASE
            .get_or_init(|| blake3::Hasher::new_derive_key("credithub record id v1"))
            .clone();
        h.update(&origin.as_u32().to_be_bytes());
        h.update(&kind.code().to_be_bytes());
        body.visit_natural_key(|part| {
            h.update(&(part.len() as u32).to_be_bytes());
            h.update(part);
        });
        let mut id = [0u8; 16];
        id[..14].copy_from_slice(&h.finalize().as_bytes()[..14]);
        let region = body
            .subject
            .id
            .division()
            .map(|d| d.prefecture().as_u32() / 100)
            .unwrap_or(0);
        id[14..].copy_from_slice(&(region as u16).to_be_bytes());
        RecordKey {
            origin,
            kind,
            id: RecordId(id),
        }
    }

    /// The storage and wire form: origin (u32 BE), kind (u16 BE), id. Keys of one
    /// origin and kind sort together, ordered by id.
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        let mut b = [0u8; KEY_LEN];
        b[..4].copy_from_slice(&self.origin.as_u32().to_be_bytes());
        b[4..6].copy_from_slice(&self.kind.code().to_be_bytes());
        b[6..].copy_from_slice(&self.id.0);
        b
    }

    /// Reads the form written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(b: &[u8]) -> Result<RecordKey, KeyError> {
        let bad = |reason: String| KeyError::Part {
            key: hex::encode(b),
            reason,
        };
        if b.len() != KEY_LEN {
            return Err(bad(format!("{} bytes, expected {KEY_LEN}", b.len())));
        }
        let origin = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let origin = DivisionCode::from_u32(origin).map_err(|e| bad(e.to_string()))?;
        let kind = u16::from_be_bytes([b[4], b[5]]);
        let kind =
            RecordKind::from_code(kind).ok_or_else(|| bad(format!("unknown kind {kind}")))?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&b[6..]);
        Ok(RecordKey {
            origin,
            kind,
            id: RecordId(id),
        })
    }

    /// The origin partition this record's digest lives in.
    pub fn partition(&self) -> crate::digest::PartitionId {
        crate::digest::PartitionId::origin(self.origin, self.kind)
    }

    /// The prefecture (or, for a subject registered directly at a province, the
    /// province) where the record's subject is registered, read from the id.
    pub fn subject_region(&self) -> Option<DivisionCode> {
        let region = u16::from_be_bytes([self.id.0[14], self.id.0[15]]);
        if region == 0 {
            return None;
        }
        DivisionCode::from_u32(u32::from(region) * 100).ok()
    }

    /// The subjects partition the record also lives in: that of its subject's
    /// prefecture, when the record was issued outside that prefecture.
    pub fn subjects_partition(&self) -> Option<crate::digest::PartitionId> {
        let region = self.subject_region()?;
        (region != self.origin.prefecture())
            .then(|| crate::digest::PartitionId::subjects(region, self.kind))
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.origin,
            self.kind,
            hex::encode(self.id.0)
        )
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordKey({self})")
    }
}

impl std::str::FromStr for RecordKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let [origin, kind, id] = parts.as_slice() else {
            return Err(KeyError::Form(s.to_string()));
        };
        let bad = |reason: String| KeyError::Part {
            key: s.to_string(),
            reason,
        };
        let origin = DivisionCode::parse(origin).map_err(|e| bad(format!("origin: {e}")))?;
        let kind = RecordKind::parse(kind).ok_or_else(|| bad(format!("unknown kind {kind:?}")))?;
        let bytes = hex::decode(id).map_err(|e| bad(format!("id: {e}")))?;
        let id: [u8; 16] = bytes
            .try_into()
            .map_err(|_| bad("id must be 32 hex digits".into()))?;
        Ok(RecordKey {
            origin,
            kind,
            id: RecordId(id),
        })
    }
}

/// A record version, assigned by the record's origin. Larger is newer; for one key a
/// version never goes back.
///
/// The high bits carry the origin's clock in milliseconds and the low 16 bits a
/// counter, so versions are roughly time-ordered while [`Version::next`] keeps them
/// strictly increasing per key even when the clock stalls or steps back.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version(pub u64);

impl Version {
    /// The version that follows `previous` at wall-clock time `now_millis` (the caller's
    /// clock: this crate has none).
    pub fn next(previous: Option<Version>, now_millis: u64) -> Version {
        let clock = now_millis.saturating_mul(1 << 16);
        match previous {
            Some(p) => Version(clock.max(p.0.saturating_add(1))),
            None => Version(clock.max(1)),
        }
    }

    /// The clock part, in milliseconds since the Unix epoch.
    pub fn millis(self) -> u64 {
        self.0 >> 16
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({})", self.0)
    }
}

/// How serious a record is; decides its publication period (policy, configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// Not a negative record (licences, red lists).
    NotApplicable,
    /// A light penalty (warnings, reprimands): in principle not published.
    Light,
    /// A general penalty: published 3 months to 1 year.
    General,
    /// A serious penalty or list entry: published 1 to 3 years.
    Serious,
}

/// Where a record stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecordStatus {
    /// In force and published.
    Active,
    /// Disputed by its subject; the origin has not decided yet.
    UnderObjection,
    /// The decision was revoked.
    Withdrawn,
    /// Credit repair granted: no longer published or used, kept for auditors.
    Repaired,
    /// A list entry taken off its list (expiry, the court's deletion on performance,
    /// revocation); its [`Removal`] says why. Kept for auditors. Record form 2.
    Removed,
}

/// A body that issues or recognises records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Authority {
    /// Its name.
    pub name: String,
    /// Its USCC, when the source gives one.
    pub uscc: Option<Uscc>,
}

/// A legal representative named in a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Representative {
    /// The representative's name.
    pub name: String,
    /// The kind of identity document, as the source names it.
    pub id_type: Option<String>,
    /// The document number (personal data: masked in output).
    pub id_number: Option<String>,
}

/// Licence category (`XK_XKLB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LicenceCategory {
    /// 普通
    Ordinary,
    /// 特许
    Franchise,
    /// 认可
    Approval,
    /// 核准
    Verification,
    /// 登记
    Registration,
    /// 其他
    Other,
}

impl LicenceCategory {
    /// Parses the Chinese category names and their English equivalents.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "普通" | "ordinary" | "1" => Self::Ordinary,
            "特许" | "franchise" | "2" => Self::Franchise,
            "认可" | "approval" | "3" => Self::Approval,
            "核准" | "verification" | "4" => Self::Verification,
            "登记" | "registration" | "5" => Self::Registration,
            "其他" | "其它" | "other" | "6" => Self::Other,
            _ => return None,
        })
    }
}

/// Typed fields of an administrative licence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LicenceDetails {
    /// Decision document name (`XK_XKWS`).
    pub document_name: String,
    /// Licence category (`XK_XKLB`).
    pub category: LicenceCategory,
    /// Certificate name (`XK_XKZS`).
    pub certificate_name: Option<String>,
    /// Licence number (`XK_XKBH`).
    pub licence_no: Option<String>,
    /// What is licensed (`XK_NR`).
    pub content: String,
    /// Valid from (`XK_YXQZ`).
    pub valid_from: Date,
    /// Valid to (`XK_YXQZI`); `None` for no end.
    pub valid_to: Option<Date>,
    /// Current state (`XK_ZT`), as the source writes it.
    pub state: Option<String>,
}

/// Typed fields of an administrative penalty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PenaltyDetails {
    /// Violation type (`CF_WFXW`).
    pub violation_type: String,
    /// Facts (`CF_SY`).
    pub facts: String,
    /// Legal basis (`CF_YJ`).
    pub legal_basis: String,
    /// Penalty categories (`CF_CFLB`), e.g. 警告, 罚款.
    pub categories: Vec<String>,
    /// Penalty content (`CF_NR`).
    pub content: String,
    /// Fine in fen (`CF_NR_FK`, given in 10k yuan).
    pub fine_fen: Option<i64>,
    /// Confiscated amount in fen (`CF_NR_WFFF`, given in 10k yuan).
    pub confiscated_fen: Option<i64>,
    /// Licence suspended or revoked (`CF_NR_ZKDX`).
    pub licence_affected: Option<String>,
    /// End of the penalty's validity (`CF_YXQ`).
    pub valid_until: Option<Date>,
}

/// Typed fields of a red- or black-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListEntryDetails {
    /// The list's name (e.g. 重大税收违法失信主体).
    pub list_name: String,
    /// Why the subject was listed.
    pub reason: String,
    /// Legal basis of the listing.
    pub legal_basis: String,
    /// When the listing ends, if fixed.
    pub valid_until: Option<Date>,
}

/// Typed fields of a dishonest-judgment-debtor entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DebtorDetails {
    /// Enforcement case number (案号).
    pub case_no: String,
    /// The enforcing court.
    pub court: String,
    /// The enforcement basis (执行依据文号).
    pub enforcement_basis: String,
    /// The obligation fixed by the judgment.
    pub obligation: String,
    /// How far the obligation was performed.
    pub performance: String,
    /// The dishonest conduct.
    pub dishonest_conduct: String,
    /// Filing date of the case (立案时间).
    pub filed_on: Date,
}

/// The kind-specific part of a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Details {
    /// An administrative licence.
    Licence(LicenceDetails),
    /// An administrative penalty.
    Penalty(PenaltyDetails),
    /// A red- or black-list entry.
    ListEntry(ListEntryDetails),
    /// A dishonest judgment debtor.
    DishonestDebtor(DebtorDetails),
    /// Any other kind: its fields live in [`RecordBody::extra`].
    Other,
    /// An objection against another record.
    Objection(ObjectionDetails),
    /// A red-list, black-list or dishonest-debtor entry with its review trail (record
    /// form 2; entries of form 1 are [`Details::ListEntry`] and
    /// [`Details::DishonestDebtor`]).
    Listing(ListingDetails),
    /// A mapping of a subject's older codes to its USCC: the subject is the USCC, its
    /// [`RecordBody::other_ids`] the older codes (record form 2).
    Mapping(MappingDetails),
}

/// One step in the life of a list entry, recorded in its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReviewAction {
    /// Proposed for the list (by import or by hand).
    Proposed,
    /// Reviewed (审核) by an administrator other than the proposer.
    Reviewed,
    /// Confirmed (确认) by an administrator other than the proposer.
    Confirmed,
    /// Refused at review or confirmation: the entry is never published.
    Rejected,
    /// Published: from this version on the entry travels and takes effect.
    Published,
    /// Taken off the list (repair, expiry, the court's deletion on performance).
    Removed,
}

impl ReviewAction {
    /// The stable name (`proposed`, `reviewed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewAction::Proposed => "proposed",
            ReviewAction::Reviewed => "reviewed",
            ReviewAction::Confirmed => "confirmed",
            ReviewAction::Rejected => "rejected",
            ReviewAction::Published => "published",
            ReviewAction::Removed => "removed",
        }
    }
}

impl fmt::Display for ReviewAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who took a step of a list entry's review, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReviewStep {
    /// What was done.
    pub action: ReviewAction,
    /// Who did it: the name of the administrator's certificate.
    pub by: String,
    /// When (ms since the epoch, the origin's clock).
    pub at_ms: u64,
    /// Why, in the administrator's words.
    pub note: String,
}

/// Why a list entry was taken off its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RemovalCause {
    /// Credit repair granted (信用修复).
    Repair,
    /// The listing period ended (有效期届满).
    Expiry,
    /// The court deleted the debtor on performance, settlement or the end of
    /// execution (履行完毕、和解、终结执行).
    Performed,
    /// The recognising decision was revoked or found wrong (撤销).
    Revoked,
}

impl RemovalCause {
    /// Parses the names of [`as_str`](Self::as_str) and the usual Chinese terms.
    pub fn parse(s: &str) -> Option<RemovalCause> {
        Some(match s.trim() {
            "repair" | "信用修复" | "修复" => RemovalCause::Repair,
            "expiry" | "有效期届满" | "期满" | "到期" | "期满移出" => {
                RemovalCause::Expiry
            }
            "performed" | "履行完毕" | "已履行" | "全部履行" | "和解" | "终结执行" => {
                RemovalCause::Performed
            }
            "revoked" | "撤销" | "撤销认定" => RemovalCause::Revoked,
            _ => return None,
        })
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalCause::Repair => "repair",
            RemovalCause::Expiry => "expiry",
            RemovalCause::Performed => "performed",
            RemovalCause::Revoked => "revoked",
        }
    }
}

/// When and why a list entry left its list (移出日期, 移出事由).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Removal {
    /// The day it left.
    pub on: Date,
    /// Why.
    pub cause: RemovalCause,
    /// The reason as written (移出事由).
    pub reason: String,
}

/// The court's part of a dishonest-debtor entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CourtCase {
    /// Enforcement case number (案号).
    pub case_no: String,
    /// The enforcing court (执行法院).
    pub court: String,
    /// Filing date of the case (立案时间).
    pub filed_on: Date,
    /// The unit that issued the enforcement basis (做出执行依据单位).
    pub basis_issuer: String,
    /// The obligation fixed by the effective legal document (生效法律文书确定的义务).
    pub obligation: String,
    /// How far it was performed (履行情况).
    pub performance: String,
}

/// Typed fields of a list entry of record form 2: red and black lists (the
/// recognising unit is the record's authority, 认定依据/文号 its decision number and
/// legal basis, 列入日期 its decision date) and dishonest debtors (the court's
/// [`CourtCase`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ListingDetails {
    /// The list's name (e.g. 重大税收违法失信主体名单, 失信被执行人名单).
    pub list_name: String,
    /// Why the subject was listed (列入事由; for debtors 失信行为具体情形).
    pub reason: String,
    /// The legal basis of the listing (认定依据).
    pub legal_basis: String,
    /// The end of the listing, if fixed (有效期至).
    pub valid_until: Option<Date>,
    /// The court's case, for dishonest debtors.
    pub court: Option<CourtCase>,
    /// When and why it left the list, once it did.
    pub removal: Option<Removal>,
    /// Every step of its review and life, oldest first.
    pub review: Vec<ReviewStep>,
}

impl ListingDetails {
    /// The last step taken, if any.
    pub fn last_action(&self) -> Option<ReviewAction> {
        self.review.last().map(|s| s.action)
    }

    /// Who proposed the entry.
    pub fn proposer(&self) -> Option<&str> {
        self.review
            .iter()
            .find(|s| s.action == ReviewAction::Proposed)
            .map(|s| s.by.as_str())
    }

    /// Whether the entry was published (and so may travel and take effect).
    pub fn is_published(&self) -> bool {
        self.review
            .iter()
            .any(|s| s.action == ReviewAction::Published)
    }
}

/// Typed fields of a code mapping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MappingDetails {
    /// Remarks of the mapping file, if any.
    pub note: String,
}

/// Typed fields of an objection (异议): which record is disputed and why. The
/// objection's subject is the disputed record's subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectionDetails {
    /// The disputed record.
    pub target: RecordKey,
    /// The version of it that was disputed.
    pub target_version: Version,
    /// The subject's grounds.
    pub reason: String,
}

/// The content of one record version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordBody {
    /// Whom the record is about.
    pub subject: Subject,
    /// Further identifiers of the subject that the source carried (older codes).
    pub other_ids: Vec<SubjectId>,
    /// The subject's legal representative, for organisations.
    pub representative: Option<Representative>,
    /// The deciding authority.
    pub authority: Authority,
    /// The unit that supplied the data, when different from the authority.
    pub source_unit: Option<Authority>,
    /// Decision document number (`CF_WSH`, `XK_WSH`, case number, …).
    pub decision_no: String,
    /// Decision date.
    pub decision_date: Date,
    /// Date of first publication at the origin.
    pub published_on: Option<Date>,
    /// End of publication, when the source fixes it (`CF_GSJZQ`).
    pub publication_end: Option<Date>,
    /// Severity class.
    pub severity: Severity,
    /// Where the record stands.
    pub status: RecordStatus,
    /// Kind-specific typed fields.
    pub details: Details,
    /// The remaining source fields, by source column name.
    pub extra: BTreeMap<String, String>,
}

impl RecordBody {
    /// The parts that identify the decision this record states, whatever its version:
    /// the authority (USCC, else name), the document number, the subject, and for
    /// licences the licence number.
    pub fn natural_key(&self) -> Vec<String> {
        let mut parts = Vec::new();
        self.visit_natural_key(|p| parts.push(String::from_utf8_lossy(p).into_owned()));
        parts
    }

    /// Calls `f` with each part of the [natural key](Self::natural_key), without
    /// allocating (key derivation is on the ingest hot path).
    pub fn visit_natural_key(&self, mut f: impl FnMut(&[u8])) {
        if let Details::Mapping(_) = self.details {
            // One mapping per subject and origin: a later file replaces it.
            let (tag, id) = self.subject.id.index_parts();
            f(&[tag]);
            f(id.as_bytes());
            return;
        }
        match &self.authority.uscc {
            Some(u) => f(u.as_str().as_bytes()),
            None => f(self.authority.name.trim().as_bytes()),
        }
        f(self.decision_no.trim().as_bytes());
        let (tag, id) = self.subject.id.index_parts();
        let mut subject = [0u8; 19];
        subject[0] = tag;
        let n = id.len().min(18);
        subject[1..=n].copy_from_slice(&id.as_bytes()[..n]);
        f(&subject[..=n]);
        match &self.details {
            Details::Licence(l) => f(l.licence_no.as_deref().unwrap_or_default().as_bytes()),
            Details::ListEntry(l) => f(l.list_name.as_bytes()),
            Details::DishonestDebtor(d) => f(d.case_no.as_bytes()),
            Details::Objection(o) => f(&o.target.to_bytes()),
            Details::Listing(l) => {
                f(l.list_name.as_bytes());
                if let Some(c) = &l.court {
                    f(c.case_no.as_bytes());
                }
            }
            Details::Penalty(_) | Details::Other | Details::Mapping(_) => {}
        }
    }

    /// The record form this body needs: 2 when it uses anything added with form 2
    /// (an identifier kind, a details kind, a status), else 1. A link carries a record
    /// only at a link version that knows its form.
    pub fn record_form(&self) -> u8 {
        let details = match self.details {
            Details::Listing(_) | Details::Mapping(_) => 2,
            _ => 1,
        };
        let status = match self.status {
            RecordStatus::Removed => 2,
            _ => 1,
        };
        self.other_ids
            .iter()
            .map(SubjectId::record_form)
            .chain([self.subject.id.record_form(), details, status])
            .max()
            .unwrap_or(1)
    }
}

/// One version of one record. `body: None` is a tombstone: the record was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Which record.
    pub key: RecordKey,
    /// Which version of it.
    pub version: Version,
    /// Its content, or `None` for a tombstone.
    pub body: Option<RecordBody>,
}

impl Record {
    /// Whether this version deletes the record.
    pub fn is_tombstone(&self) -> bool {
        self.body.is_none()
    }

    /// The record form this version needs (see [`RecordBody::record_form`]); a
    /// tombstone needs its kind's.
    pub fn record_form(&self) -> u8 {
        let body = self.body.as_ref().map_or(1, RecordBody::record_form);
        body.max(self.key.kind.record_form())
    }
}
