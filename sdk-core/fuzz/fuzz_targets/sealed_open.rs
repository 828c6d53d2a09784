//! Fuzz target: sealed-sender packets opened for a fixed recipient.
//! The body lives in `src/lib.rs`, shared with the corpus replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_core_fuzz::sealed_open(data));
