//! Helpers shared by the end-to-end tests that run `credit-admin`.

#![allow(dead_code)] // each test file uses its own subset

pub(crate) mod rogue;

use std::path::PathBuf;
use std::process::Output;

use credithub_scenarios::federation::cluster::node_binary;

/// The `credit-admin` binary, built beside `credit-node`.
pub(crate) fn admin_binary() -> PathBuf {
    node_binary()
        .expect("binaries built")
        .with_file_name("credit-admin")
}

/// A command's stdout and stderr, for messages and searches.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A successful command's stdout as JSON.
pub(crate) fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", text(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}
