//! The import parser on arbitrary files (see `src/lib.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| credithub_fuzz::csv_import(data));
