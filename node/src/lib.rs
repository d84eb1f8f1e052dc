//! # credithub-node
//!
//! The credithub node: its RocksDB [`store`] with the always-current digest index,
//! and the [`import`] of national 双公示 files.

pub mod admin;
pub mod certs;
pub mod clock;
pub mod daemon;
pub mod export;
pub mod import;
pub mod ingest;
pub mod link;
pub mod query;

pub mod store;
pub mod sync;

pub use store::{Store, StoreError, StoreOptions};
