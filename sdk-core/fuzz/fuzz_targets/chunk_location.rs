//! Fuzz target: an attachment's chunk location (from a decrypted pointer) and the chunk ids
//! and capability headers a relay parses. The body lives in `src/lib.rs`, shared with the
//! corpus replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_core_fuzz::chunk_location(data));
