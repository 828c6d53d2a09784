//! What the Python binding costs over the Rust handle: the same texts sent and received
//! through the installed `sotto` package by a Python program and through `Messenger` in
//! Rust, in one run.
//!
//! One `sotto-relay` process on loopback; pairs of people (SQLCipher profile directories)
//! who met by invitation, writing straight to each other's queues (`SendRoute::Direct`),
//! background work on:
//!
//! - **Rust** (the baseline): the sender's `Messenger::send_text` for every message while
//!   the recipient's subscription counts `MessageReceived` events.
//! - **Python**: `bindings/benches/throughput.py` run by the interpreter named in
//!   `SOTTO_BENCH_PYTHON` (one with the wheel installed; `scripts/bench` makes it): the
//!   sender awaits `send_text` for every message (each an asyncio coroutine over UniFFI)
//!   while the recipient's `async for` over its events counts them in.
//!
//! Each contender sends [`FULL`] messages ([`QUICK`] with `SOTTO_BENCH_QUICK=1`), timed from
//! the first send to the last message received, twice, in the order Rust, Python, Python,
//! Rust. Prints messages per second of each and the ratio Python / Rust (target: at least
//! 0.5x). Run with `scripts/bench -p sotto-relay --bench python_overhead`.

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
    let python = std::env::var_os("SOTTO_BENCH_PYTHON").expect(
        "SOTTO_BENCH_PYTHON names a Python with the sotto wheel installed (scripts/bench sets it)",
    );
    let script = c_program::workspace().join("bindings/benches/throughput.py");
    let root = tempfile::tempdir().expect("temp dir");
    let relay = shells::relay();
    let address = &relay.address;

    let py = || {
        let mut command = Command::new(&python);
        command.arg(&script);
        command
    };
    let rust_first = through_rust(root.path(), 1, address, count).await;
    let python_first = through_program(py(), root.path(), "python-1", address, count);
    let python_second = through_program(py(), root.path(), "python-2", address, count);
    let rust_second = through_rust(root.path(), 2, address, count).await;
    report(
        count,
        [rust_first, rust_second],
        [python_first, python_second],
        "Python",
        0.5,
    );
}
