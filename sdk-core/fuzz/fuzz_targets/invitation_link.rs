//! Fuzz target: an invitation link of either form, or a short link's sealed invitation.
//! The body lives in `src/lib.rs`, shared with the corpus replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_core_fuzz::invitation_link(data));
