//! The name index: subjects filed under the character pairs of their normalised names
//! ([`credithub_protocol::names`]), kept in the `names` family in the same batch as
//! the records that carry the names.
//!
//! # Layout
//! The index files *subjects*, not records: one (subject, name) is filed once however
//! many records carry it.
//!
//! * A **posting** says that a subject bears a name holding a pair:
//!   `pair (8) ‖ flag (1) ‖ suffix` → the normalised name (UTF-8).
//! * A **marker** counts the live records that carry the (subject, name):
//!   `0xff ‖ flag (1) ‖ suffix` → count (u32, big-endian) ‖ the normalised name.
//!
//! The suffix is `length of the subject key (1) ‖ subject-index key ‖ name hash (8)`
//! ([`names::name_hash`]); the flag is [`keys::NAME_ORGANISATION`] or
//! [`keys::NAME_PERSON`]. A write reads the markers of the (subject, name)s it adds or
//! removes records for (one batched read), writes their new counts, and writes the
//! postings of a (subject, name) when its count leaves zero and deletes them when it
//! returns to zero. `verify` checks markers against the records and postings against
//! markers.
//!
//! # Search
//! [`Store::name_candidates`] intersects the posting lists of a fragment's pairs by
//! leapfrogging over their suffixes: the cost follows the shortest list, and no record
//! is read.

use std::collections::HashMap;

use credithub_protocol::ids::SubjectKind;
use credithub_protocol::names;
use credithub_protocol::record::{RecordBody, RecordKind};
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, WriteBatch, DB};

use super::keys::{self, NAME_PREFIX_LEN};
use super::{Result, Store};

/// Length of the name hash at the end of a suffix.
const HASH_LEN: usize = 8;

/// Where one record version's subject is filed in the name index: its audience flag,
/// its subject-index key and its normalised name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct NameFiling {
    /// [`keys::NAME_ORGANISATION`] or [`keys::NAME_PERSON`].
    pub(crate) flag: u8,
    /// The subject-index key of the record's subject.
    pub(crate) subject: Vec<u8>,
    /// The subject's normalised name.
    pub(crate) name: String,
}

impl NameFiling {
    /// The filing of a version of a record of `kind`: none for a tombstone, for
    /// objections and code mappings (found through the records they concern) and for
    /// a name made only of pairs too common to index.
    pub(crate) fn of(kind: RecordKind, body: Option<&RecordBody>) -> Option<NameFiling> {
        let body = body?;
        if kind == RecordKind::OBJECTION || kind == RecordKind::SUBJECT_MAPPING {
            return None;
        }
        let name = names::normalise(&body.subject.name);
        let subject = body.subject.id.index_key();
        if names::pairs(&name).is_empty() || subject.len() > usize::from(u8::MAX) {
            return None;
        }
        let flag = if body.subject.kind == SubjectKind::NaturalPerson {
            keys::NAME_PERSON
        } else {
            keys::NAME_ORGANISATION
        };
        Some(NameFiling {
            flag,
            subject,
            name,
        })
    }

    /// The prefixes of the postings of this filing.
    pub(crate) fn prefixes(&self) -> Vec<[u8; NAME_PREFIX_LEN]> {
        names::pairs(&self.name)
            .into_iter()
            .map(|p| keys::name_prefix(p, self.flag))
            .collect()
    }

    /// The key suffix shared by this filing's marker and postings.
    fn suffix(&self) -> Vec<u8> {
        let mut s = Vec::with_capacity(1 + self.subject.len() + HASH_LEN);
        // `of` keeps subject keys within a byte's length.
        s.push(self.subject.len() as u8);
        s.extend_from_slice(&self.subject);
        s.extend_from_slice(&names::name_hash(&self.name));
        s
    }

    /// The posting key under one prefix.
    pub(crate) fn posting_key(&self, prefix: &[u8; NAME_PREFIX_LEN]) -> Vec<u8> {
        let mut k = prefix.to_vec();
        k.extend_from_slice(&self.suffix());
        k
    }

    /// The marker key.
    pub(crate) fn marker_key(&self) -> Vec<u8> {
        let mut k = vec![keys::NAME_MARKER, self.flag];
        k.extend_from_slice(&self.suffix());
        k
    }

    /// The marker value for `count` records.
    fn marker_value(&self, count: u32) -> Vec<u8> {
        let mut v = count.to_be_bytes().to_vec();
        v.extend_from_slice(self.name.as_bytes());
        v
    }
}

/// A marker's value: the record count and the normalised name.
pub(crate) fn parse_marker_value(value: &[u8]) -> Option<(u32, &str)> {
    let (count, name) = value.split_at_checked(4)?;
    let count = u32::from_be_bytes(count.try_into().ok()?);
    Some((count, std::str::from_utf8(name).ok()?))
}

/// A marker key's flag and suffix parts: (flag, subject-index key, name hash).
pub(crate) fn parse_marker_key(key: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&first, rest) = key.split_first()?;
    if first != keys::NAME_MARKER {
        return None;
    }
    let (&flag, suffix) = rest.split_first()?;
    let (subject, hash) = parse_suffix(suffix)?;
    Some((flag, subject, hash))
}

/// A suffix's subject-index key and name hash.
fn parse_suffix(suffix: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&len, rest) = suffix.split_first()?;
    let len = usize::from(len);
    (rest.len() == len + HASH_LEN).then(|| rest.split_at(len))
}

/// The changes of one batch to the name index: per filing, the records that now carry
/// it less those that no longer do.
#[derive(Default)]
pub(crate) struct NameDeltas(HashMap<NameFiling, i64>);

impl NameDeltas {
    /// Notes that a record's filing changes from `old` to `new`.
    pub(crate) fn change(&mut self, old: Option<&NameFiling>, new: Option<&NameFiling>) {
        if old == new {
            return;
        }
        if let Some(o) = old {
            *self.0.entry(o.clone()).or_default() -= 1;
        }
        if let Some(n) = new {
            *self.0.entry(n.clone()).or_default() += 1;
        }
    }
}

/// One subject found under every pair of a fragment: its subject-index key, audience
/// flag and normalised name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCandidate {
    /// The subject-index key.
    pub subject: Vec<u8>,
    /// The normalised name.
    pub name: String,
}

/// One posting list being walked: a pair's postings under one audience flag.
struct Postings<'a> {
    prefix: [u8; NAME_PREFIX_LEN],
    it: DBRawIteratorWithThreadMode<'a, DB>,
    /// The key sought last (reused, to spare an allocation per seek).
    buf: Vec<u8>,
}

/// Steps tried before a seek: in a dense intersection the next posting is usually the
/// one sought, and a step costs a fraction of a seek.
const STEPS_BEFORE_SEEK: usize = 4;

impl Postings<'_> {
    /// Moves to the first posting whose suffix is at or after `target` and returns
    /// that suffix. Targets only grow, so a list standing at or after the target is
    /// already there, and a few steps forward are tried before a seek.
    fn seek(&mut self, target: &[u8]) -> Option<Vec<u8>> {
        for _ in 0..STEPS_BEFORE_SEEK {
            match self.it.key().and_then(|k| k.get(NAME_PREFIX_LEN..)) {
                Some(here) if here >= target => return Some(here.to_vec()),
                Some(_) => self.it.next(),
                None => break,
            }
        }
        self.buf.clear();
        self.buf.extend_from_slice(&self.prefix);
        self.buf.extend_from_slice(target);
        self.it.seek(&self.buf);
        Some(self.it.key()?.get(NAME_PREFIX_LEN..)?.to_vec())
    }
}

impl Store {
    /// Writes the name-index side of a batch: reads the markers of the filings that
    /// change (one batched read; callers hold the write lock), and puts their new
    /// counts, and the postings of filings that appear or disappear, into `batch`.
    pub(crate) fn write_name_deltas(
        &self,
        deltas: NameDeltas,
        batch: &mut WriteBatch,
    ) -> Result<()> {
        let mut changed: Vec<(Vec<u8>, NameFiling, i64)> = deltas
            .0
            .into_iter()
            .filter(|(_, d)| *d != 0)
            .map(|(f, d)| (f.marker_key(), f, d))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        changed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let cf = self.cf(keys::CF_NAMES);
        let held = self
            .db
            .batched_multi_get_cf(cf, changed.iter().map(|c| &c.0), true);
        let mut puts: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut deletes: Vec<Vec<u8>> = Vec::new();
        for ((marker, filing, delta), value) in changed.into_iter().zip(held) {
            let before = match value.map_err(|e| self.db_err(e))? {
                None => 0,
                Some(v) => {
                    parse_marker_value(&v)
                        .ok_or_else(|| self.corrupt("name index marker", hex::encode(&marker)))?
                        .0
                }
            };
            let after = i64::from(before) + delta;
            if after < 0 {
                // Only a damaged index gets here; `verify` reports it, writes go on.
                tracing::warn!(
                    marker = %hex::encode(&marker),
                    before,
                    delta,
                    "name index marker counts fewer records than are removed"
                );
            }
            let after = u32::try_from(after.max(0)).unwrap_or(u32::MAX);
            match (before, after) {
                (_, 0) => {
                    deletes.push(marker);
                    for p in filing.prefixes() {
                        deletes.push(filing.posting_key(&p));
                    }
                }
                (0, _) => {
                    puts.push((marker, filing.marker_value(after)));
                    for p in filing.prefixes() {
                        puts.push((filing.posting_key(&p), filing.name.as_bytes().to_vec()));
                    }
                }
                _ => puts.push((marker, filing.marker_value(after))),
            }
        }
        // In key order, as the rest of the batch (see `commit`).
        deletes.sort_unstable();
        for k in deletes {
            batch.delete_cf(cf, k);
        }
        puts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in puts {
            batch.put_cf(cf, k, v);
        }
        Ok(())
    }

    /// The subjects filed in the name index under every one of `prefixes` (pairs with
    /// their audience flag, [`keys::name_prefix`]), in key order, at most `limit`; and
    /// whether that is all of them. The posting lists are intersected by leapfrogging
    /// (each seek jumps to the largest suffix seen so far), so the cost follows the
    /// shortest list, not the longest. No record is read.
    pub fn name_candidates(
        &self,
        prefixes: &[[u8; NAME_PREFIX_LEN]],
        limit: usize,
    ) -> Result<(Vec<NameCandidate>, bool)> {
        if prefixes.is_empty() {
            return Ok((Vec::new(), true));
        }
        let cf = self.cf(keys::CF_NAMES);
        let mut lists: Vec<Postings<'_>> = prefixes
            .iter()
            .map(|prefix| {
                let mut ro = ReadOptions::default();
                if let Some(end) = keys::prefix_end(prefix) {
                    ro.set_iterate_upper_bound(end);
                }
                Postings {
                    prefix: *prefix,
                    it: self.db.raw_iterator_cf_opt(cf, ro),
                    buf: Vec::new(),
                }
            })
            .collect();
        let mut out = Vec::new();
        let mut target: Vec<u8> = Vec::new();
        let mut complete = true;
        'walk: loop {
            let mut agreed = 0;
            let mut i = 0;
            while agreed < lists.len() {
                let Some(found) = lists[i].seek(&target) else {
                    break 'walk;
                };
                if found == target {
                    agreed += 1;
                } else {
                    target = found;
                    agreed = 1;
                }
                i = (i + 1) % lists.len();
            }
            if out.len() == limit {
                complete = false;
                break;
            }
            // Every list stands on `target` now.
            let damaged = || self.corrupt("name index posting", hex::encode(&target));
            let (subject, _) = parse_suffix(&target).ok_or_else(damaged)?;
            let name = lists[0]
                .it
                .value()
                .and_then(|v| std::str::from_utf8(v).ok())
                .ok_or_else(damaged)?;
            out.push(NameCandidate {
                subject: subject.to_vec(),
                name: name.to_string(),
            });
            // On to the next posting of the first list: one step, not a seek (with one
            // pair, the walk is a plain scan).
            lists[0].it.next();
            match lists[0].it.key().and_then(|k| k.get(NAME_PREFIX_LEN..)) {
                Some(next) => target = next.to_vec(),
                None => break,
            }
        }
        for l in &lists {
            l.it.status().map_err(|e| self.db_err(e))?;
        }
        Ok((out, complete))
    }
}
