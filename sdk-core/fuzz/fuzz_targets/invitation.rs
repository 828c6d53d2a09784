//! Fuzz target: an invitation, scanned or pasted. The body lives in `src/lib.rs`, shared
//! with the corpus replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_core_fuzz::invitation(data));
