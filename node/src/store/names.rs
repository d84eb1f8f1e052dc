//! Reads of the name index: the records whose subject's name holds every one of some
//! character pairs ([`credithub_protocol::names`]).

use credithub_protocol::record::{RecordKey, KEY_LEN};
use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions, DB};

use super::keys::{self, NAME_PREFIX_LEN};
use super::{Result, Store};

/// One posting list being walked: a pair's entries under one audience flag.
struct Postings<'a> {
    prefix: [u8; NAME_PREFIX_LEN],
    it: DBRawIteratorWithThreadMode<'a, DB>,
}

impl Postings<'_> {
    /// Moves to the first entry at or after `target` and returns its record key.
    fn seek(&mut self, target: &[u8; KEY_LEN]) -> Option<[u8; KEY_LEN]> {
        let mut k = [0u8; NAME_PREFIX_LEN + KEY_LEN];
        k[..NAME_PREFIX_LEN].copy_from_slice(&self.prefix);
        k[NAME_PREFIX_LEN..].copy_from_slice(target);
        self.it.seek(k);
        let key = self.it.key()?;
        key.get(NAME_PREFIX_LEN..)?.try_into().ok()
    }
}

/// The key after `k` (fixed length; `None` past the last).
fn successor(mut k: [u8; KEY_LEN]) -> Option<[u8; KEY_LEN]> {
    for b in k.iter_mut().rev() {
        if *b < 0xff {
            *b += 1;
            return Some(k);
        }
        *b = 0;
    }
    None
}

impl Store {
    /// The keys of records filed in the name index under every one of `prefixes`
    /// (pairs with their audience flag, [`keys::name_prefix`]), in key order, at most
    /// `limit`; and whether that is all of them. The posting lists are intersected by
    /// leapfrogging (each seek jumps to the largest key seen so far), so the cost
    /// follows the shortest list, not the longest.
    pub fn name_candidates(
        &self,
        prefixes: &[[u8; NAME_PREFIX_LEN]],
        limit: usize,
    ) -> Result<(Vec<RecordKey>, bool)> {
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
                }
            })
            .collect();
        let mut out = Vec::new();
        let mut target = [0u8; KEY_LEN];
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
                return Ok((out, false));
            }
            let key = RecordKey::from_bytes(&target)
                .map_err(|e| self.corrupt("name index entry", e.to_string()))?;
            out.push(key);
            match successor(target) {
                Some(next) => target = next,
                None => break,
            }
        }
        for l in &lists {
            l.it.status().map_err(|e| self.db_err(e))?;
        }
        Ok((out, true))
    }
}
