//! Partitions of the digest index: which records each gathers, and its storage form.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::DivisionCode;
use crate::record::RecordKind;

/// Which records a partition gathers: those of one origin, or those about subjects
/// registered in one prefecture that were issued outside it.
///
/// Every record lies in the [`Scope::Origin`] partition of its origin and kind; that
/// family carries records *up* the hierarchy. A record about a subject registered in
/// another prefecture than its origin's (its key names the subject's prefecture, see
/// [`RecordKey::subject_region`](crate::record::RecordKey::subject_region)) also lies
/// in the [`Scope::Subjects`] partition of that prefecture and kind; that family carries
/// records *down* to the jurisdiction where their subject is registered, whoever issued
/// them. Both flows are thus whole partitions, comparable without touching unrelated
/// data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Records issued by this origin.
    Origin(DivisionCode),
    /// Records about subjects registered in this prefecture (a code ending in `00`),
    /// issued by any origin outside it.
    Subjects(DivisionCode),
}

impl Scope {
    /// The division code the scope names.
    pub fn code(&self) -> DivisionCode {
        match self {
            Scope::Origin(c) | Scope::Subjects(c) => *c,
        }
    }
}

/// A partition of the digest index: one [`Scope`] and one record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionId {
    /// Which records of the kind.
    pub scope: Scope,
    /// The record kind.
    pub kind: RecordKind,
}

/// Length of [`PartitionId::to_bytes`]; for origin partitions equal to the first bytes
/// of a record key.
pub const PARTITION_LEN: usize = 6;

/// The top byte of a [`Scope::Subjects`] partition's storage form (division codes fit
/// in the low 20 bits, so origin partitions start with 0).
const SUBJECTS_TAG: u8 = 0x80;

impl PartitionId {
    /// The partition of one origin's records of one kind.
    pub fn origin(origin: DivisionCode, kind: RecordKind) -> PartitionId {
        PartitionId {
            scope: Scope::Origin(origin),
            kind,
        }
    }

    /// The partition of records of one kind about subjects registered in `region`
    /// (a prefecture) and issued outside it.
    pub fn subjects(region: DivisionCode, kind: RecordKind) -> PartitionId {
        PartitionId {
            scope: Scope::Subjects(region),
            kind,
        }
    }

    /// The origin, for an origin partition.
    pub fn origin_code(&self) -> Option<DivisionCode> {
        match self.scope {
            Scope::Origin(c) => Some(c),
            Scope::Subjects(_) => None,
        }
    }

    /// The storage form. For an origin partition it is also the prefix of every record
    /// key in the partition; a subjects partition has its top bit set.
    pub fn to_bytes(&self) -> [u8; PARTITION_LEN] {
        let mut b = [0u8; PARTITION_LEN];
        b[..4].copy_from_slice(&self.scope.code().as_u32().to_be_bytes());
        if matches!(self.scope, Scope::Subjects(_)) {
            b[0] |= SUBJECTS_TAG;
        }
        b[4..].copy_from_slice(&self.kind.code().to_be_bytes());
        b
    }

    /// Reads the storage form.
    pub fn from_bytes(b: &[u8]) -> Option<PartitionId> {
        if b.len() != PARTITION_LEN {
            return None;
        }
        let subjects = b[0] & SUBJECTS_TAG != 0;
        let code = u32::from_be_bytes([b[0] & !SUBJECTS_TAG, b[1], b[2], b[3]]);
        let code = DivisionCode::from_u32(code).ok()?;
        let kind = RecordKind::from_code(u16::from_be_bytes([b[4], b[5]]))?;
        let scope = if subjects {
            if code.prefecture() != code || code == DivisionCode::NATIONAL {
                return None;
            }
            Scope::Subjects(code)
        } else {
            Scope::Origin(code)
        };
        Some(PartitionId { scope, kind })
    }
}

impl fmt::Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            Scope::Origin(c) => write!(f, "{c}/{}", self.kind),
            Scope::Subjects(c) => write!(f, "about-{c}/{}", self.kind),
        }
    }
}
