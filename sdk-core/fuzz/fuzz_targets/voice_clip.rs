//! Fuzz target: a voice clip's Ogg Opus container, as a client reads a file it sends.
//! The body lives in `src/lib.rs`, shared with the corpus replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_core_fuzz::voice_clip(data));
