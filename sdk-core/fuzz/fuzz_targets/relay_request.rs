//! Fuzz target: what relays and clients parse from each other (addresses, auth headers,
//! endpoints, JSON bodies). The body lives in `src/lib.rs`, shared with the corpus replay
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_core_fuzz::relay_request(data));
