//! The tests' observed relay: `sotto-relay` itself (`sotto_relay::launch`), with two test
//! knobs no shipped binary has. `cargo test` builds it (as an example of this package); no
//! release build, package or installation does.
//!
//! - `SOTTO_RELAY_OBSERVATIONS=<file>`: appends what the relay saw to the file, one JSON
//!   line each (`sotto_relay::observe`), for the metadata tests (`tests/observed.rs`).
//! - `SOTTO_RELAY_CLOCK_AHEAD_SECONDS=<n>`: runs on the system's clock read `n` seconds
//!   ahead, for tests that move their clients' clock by days.

use std::process::ExitCode;
use std::sync::Arc;

use sotto_relay::{AheadClock, Clock, SystemClock};

fn main() -> ExitCode {
    if let Some(path) = std::env::var_os("SOTTO_RELAY_OBSERVATIONS") {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(file) => sotto_relay::observe::install(Box::new(file)),
            Err(e) => {
                eprintln!("sotto-relay-observed: cannot open the observations file: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let clock: Arc<dyn Clock> = match std::env::var("SOTTO_RELAY_CLOCK_AHEAD_SECONDS")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
    {
        Some(ahead) => Arc::new(AheadClock(ahead)),
        None => Arc::new(SystemClock),
    };
    sotto_relay::launch::main(clock)
}
