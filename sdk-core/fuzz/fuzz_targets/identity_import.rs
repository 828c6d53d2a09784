//! Fuzz target: public identities, as text and as bytes.
//! The body lives in `src/lib.rs`, shared with the corpus replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_core_fuzz::identity_import(data));
