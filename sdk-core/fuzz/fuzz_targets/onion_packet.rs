//! Fuzz target: what a relay parses of an onion packet (the last hop's delivery, a packet or
//! batch, a hop address) and a client of a relay's Sphinx key announcements. The body lives
//! in `src/lib.rs`, shared with the corpus replay test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sotto_core_fuzz::onion_packet(data));
