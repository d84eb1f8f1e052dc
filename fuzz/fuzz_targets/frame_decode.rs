//! Link frames and reconciliation messages from arbitrary bytes (see `src/lib.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| credithub_fuzz::frame_decode(data));
