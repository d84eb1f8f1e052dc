//! Backups as RocksDB checkpoints, and restoring one into a stopped node's data
//! directory.
//!
//! A checkpoint is a consistent copy of the store at one point in time, made of hard
//! links to the immutable SST files plus copies of the rest, so it is cheap to take
//! on the same file system. Restoring never deletes the store it replaces: that one is
//! moved aside to `<data-dir>.replaced-<millis>`.

use std::path::{Path, PathBuf};

use rocksdb::checkpoint::Checkpoint;

use super::{Result, Store, StoreError};

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    /// The data directory now holding the checkpoint's store.
    pub data_dir: PathBuf,
    /// Where the store it replaced was moved, if there was one.
    pub replaced: Option<PathBuf>,
    /// Live records in the restored store.
    pub live: u64,
    /// Tombstones in it.
    pub tombstones: u64,
}

fn io(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Writes a checkpoint of the store to `path` (which must not exist) and returns
    /// the number of record versions in it. Writes wait meanwhile.
    pub fn checkpoint(&self, path: &Path) -> Result<u64> {
        let _writes_wait = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let (live, tombstones) = self.count(credithub_protocol::DivisionCode::NATIONAL, None)?;
        let cp = Checkpoint::new(&self.db).map_err(|e| self.db_err(e))?;
        cp.create_checkpoint(path).map_err(|e| self.db_err(e))?;
        Ok(live + tombstones)
    }

    /// Restores the checkpoint at `checkpoint` into `data_dir`, whose node must be
    /// stopped. The checkpoint is copied (and checked by opening it) before anything
    /// is moved; the store it replaces is moved aside, not deleted.
    pub fn restore(checkpoint: &Path, data_dir: &Path, now_millis: u64) -> Result<Restored> {
        if !checkpoint.join("CURRENT").exists() {
            return Err(StoreError::Missing(checkpoint.to_path_buf()));
        }
        if data_dir.join("CURRENT").exists() {
            // Fails while the node runs (RocksDB's lock), which is what we want.
            drop(Store::open(data_dir, None)?);
        }
        let staging = sibling(data_dir, "restoring");
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| io(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| io(&staging, e))?;
        for entry in std::fs::read_dir(checkpoint).map_err(|e| io(checkpoint, e))? {
            let entry = entry.map_err(|e| io(checkpoint, e))?;
            let from = entry.path();
            if from.is_file() {
                std::fs::copy(&from, staging.join(entry.file_name())).map_err(|e| io(&from, e))?;
            }
        }
        let (live, tombstones) = {
            let store = Store::open(&staging, None)?;
            store.count(credithub_protocol::DivisionCode::NATIONAL, None)?
        };
        let replaced = if data_dir.exists() {
            let aside = sibling(data_dir, &format!("replaced-{now_millis}"));
            std::fs::rename(data_dir, &aside).map_err(|e| io(data_dir, e))?;
            Some(aside)
        } else {
            None
        };
        std::fs::rename(&staging, data_dir).map_err(|e| io(&staging, e))?;
        Ok(Restored {
            data_dir: data_dir.to_path_buf(),
            replaced,
            live,
            tombstones,
        })
    }
}

/// `dir` with `.suffix` appended to its last component.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use credithub_protocol::testing::body_about;
    use credithub_protocol::{DivisionCode, RecordKind};

    #[test]
    fn a_checkpoint_restores_to_its_point_in_time_and_keeps_the_replaced_store() {
        let dir = tempfile::tempdir().expect("tmp");
        let data = dir.path().join("data");
        let j = DivisionCode::parse("320500").expect("code");
        let store = Store::open(&data, Some(j)).expect("open");
        let bodies = |r: std::ops::Range<u32>| {
            r.map(|n| (RecordKind::PENALTY, body_about(n, "320583")))
                .collect()
        };
        store.write_local(bodies(0..10), 1_000).expect("write");
        let cp = dir.path().join("cp");
        assert_eq!(store.checkpoint(&cp).expect("checkpoint"), 10);
        store
            .write_local(bodies(10..15), 2_000)
            .expect("write more");
        // The node is running: restore refuses.
        assert!(Store::restore(&cp, &data, 3).is_err());
        drop(store);
        let r = Store::restore(&cp, &data, 3).expect("restore");
        assert_eq!((r.live, r.tombstones), (10, 0));
        let replaced = r.replaced.expect("moved aside");
        let store = Store::open(&data, None).expect("reopen");
        assert_eq!(
            store.count(DivisionCode::NATIONAL, None).expect("count").0,
            10
        );
        assert!(store.verify(|_| {}).expect("verify").is_clean());
        let old = Store::open(&replaced, None).expect("old store kept");
        assert_eq!(
            old.count(DivisionCode::NATIONAL, None).expect("count").0,
            15
        );
        assert!(matches!(
            Store::restore(&dir.path().join("nothing"), &data, 4),
            Err(StoreError::Missing(_))
        ));
    }
}
