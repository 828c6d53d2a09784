//! What the C ABI costs over the Rust handle: the same texts sent and received through
//! `libsotto` by a C program and through `Messenger` in Rust, in one run.
//!
//! One `sotto-relay` process on loopback; pairs of people (SQLCipher profile directories)
//! who met by invitation, writing straight to each other's queues (`SendRoute::Direct`, so
//! that the relay path is short and the shells' own cost shows), background work on:
//!
//! - **Rust** (the baseline): the sender's `Messenger::send_text` for every message while
//!   the recipient's subscription counts `MessageReceived` events.
//! - **C**: `ffi/benches/throughput.c`, compiled with the system's C compiler (`-O2`)
//!   against `include/sotto.h` and the `libsotto.so` built with this bench: the sender's
//!   `sotto_messenger_send_text` for every message (each through the ABI's string
//!   conversions, its runtime and the messenger's thread) while the recipient's event
//!   callback counts them in.
//!
//! Each contender sends [`FULL`] messages ([`QUICK`] with `SOTTO_BENCH_QUICK=1`), timed from
//! the first send to the last message received, twice, in the order Rust, C, C, Rust (so
//! that neither gains from going second). Prints messages per second of each and the ratio
//! C / Rust (target: at least 0.9x). Run with
//! `scripts/bench -p sotto-relay --bench c_abi_overhead`.

use std::process::Command;

#[path = "../tests/common/c_program.rs"]
mod c_program;
#[path = "../tests/common/process.rs"]
mod process;
#[path = "common/shells.rs"]
mod shells;
use shells::{report, through_program, through_rust};

const FULL: usize = 10_000;
const QUICK: usize = 20;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let count = if quick { QUICK } else { FULL };
    let root = tempfile::tempdir().expect("temp dir");
    let program = root.path().join("throughput");
    c_program::compile_file(
        "cc",
        &c_program::workspace().join("ffi/benches/throughput.c"),
        &program,
        &["-std=c11", "-O2"],
    );
    let relay = shells::relay();
    let address = &relay.address;

    let c = || Command::new(&program);
    let rust_first = through_rust(root.path(), 1, address, count).await;
    let c_first = through_program(c(), root.path(), "c-1", address, count);
    let c_second = through_program(c(), root.path(), "c-2", address, count);
    let rust_second = through_rust(root.path(), 2, address, count).await;

    report(
        count,
        [rust_first, rust_second],
        [c_first, c_second],
        "C",
        0.9,
    );
}
