//! A reconciler over a small index fed arbitrary messages (see `src/lib.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    credithub_fuzz::reconciler(data);
});
