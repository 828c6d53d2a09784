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

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sotto_core::Messenger;
use sotto_core::client::{ClientSettings, SendRoute};
use sotto_core::invitation::Invitation;
use sotto_core::messenger::{Event, OwnedProtection};
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, SqlCipherStore};

#[path = "../tests/common/c_program.rs"]
mod c_program;
#[path = "../tests/common/process.rs"]
mod process;
use process::RunningRelay;

const FULL: usize = 10_000;
const QUICK: usize = 20;

type Handle = Messenger<SqlCipherStore>;

async fn messenger(root: &Path, name: &str, relay: &RelayAddress) -> Handle {
    let protection = OwnedProtection::Passphrase {
        passphrase: name.to_owned().into(),
        params: Argon2Params::new(8 * 1024, 1, 1).expect("params"),
    };
    let settings = ClientSettings::new(vec![relay.clone()], name).with_route(SendRoute::Direct);
    let messenger = Messenger::create(ProfileDirectory::new(root.join(name)), protection, settings)
        .await
        .expect("a profile");
    messenger.start().await.expect("started");
    messenger
}

/// Sends `count` texts between two `Messenger`s with their background work on; returns
/// the time from the first send to the last message received.
async fn through_rust(root: &Path, run: usize, relay: &RelayAddress, count: usize) -> Duration {
    let sender = messenger(root, &format!("rust-sender-{run}"), relay).await;
    let recipient = messenger(root, &format!("rust-recipient-{run}"), relay).await;
    let (mut sender_events, mut recipient_events) = (sender.subscribe(), recipient.subscribe());
    let link = sender.create_invitation().await.expect("invitation");
    recipient
        .accept_invitation(&Invitation::from_uri(&link.to_uri()).expect("link"))
        .await
        .expect("accepted");
    let to = loop {
        if let Some(Event::ContactAdded { contact, .. }) = sender_events.next().await {
            break contact;
        }
    };
    while !matches!(
        recipient_events.next().await,
        Some(Event::ContactReady { .. })
    ) {}

    let started = Instant::now();
    let receiving = tokio::spawn(async move {
        let mut received = 0;
        while received < count {
            match recipient_events.next().await {
                Some(Event::MessageReceived { .. }) => received += 1,
                Some(Event::Missed { count }) => panic!("the subscription missed {count} events"),
                Some(_) => {}
                None => panic!("the messenger stopped"),
            }
        }
    });
    for i in 0..count {
        sender
            .send_text(&to, &format!("message {i}"))
            .await
            .expect("sent");
    }
    receiving.await.expect("received");
    let elapsed = started.elapsed();
    sender.shutdown().await.expect("shut down");
    recipient.shutdown().await.expect("shut down");
    elapsed
}

/// Runs the compiled C program on a fresh folder; returns the time it measured.
fn through_c(
    program: &Path,
    root: &Path,
    run: usize,
    relay: &RelayAddress,
    count: usize,
) -> Duration {
    let folder = root.join(format!("c-{run}"));
    std::fs::create_dir(&folder).expect("a folder");
    let output = Command::new(program)
        .arg(&folder)
        .arg(relay.to_string())
        .arg(count.to_string())
        .output()
        .expect("run the C program");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the C program failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let seconds: f64 = stdout
        .lines()
        .find_map(|line| line.strip_prefix("seconds "))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `seconds` line in {stdout:?}"));
    Duration::from_secs_f64(seconds)
}

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
    let relay = RunningRelay::start(&[
        "--log-level",
        "warn",
        "--max-queue-messages",
        "50000",
        "--max-queue-bytes",
        "1000000000",
    ]);
    let address = &relay.address;

    let rust_first = through_rust(root.path(), 1, address, count).await;
    let c_first = through_c(&program, root.path(), 1, address, count);
    let c_second = through_c(&program, root.path(), 2, address, count);
    let rust_second = through_rust(root.path(), 2, address, count).await;

    let rate = |d: Duration| count as f64 / d.as_secs_f64();
    println!("{count} texts sent and received, direct writes to one relay, background work on");
    for (name, first, second) in [
        ("Rust Messenger (baseline)", rust_first, rust_second),
        ("C ABI (libsotto from C)  ", c_first, c_second),
    ] {
        println!(
            "  {name}: {:.1} s and {:.1} s, {:.0} and {:.0} messages/s",
            first.as_secs_f64(),
            second.as_secs_f64(),
            rate(first),
            rate(second)
        );
    }
    let both = |a: Duration, b: Duration| 2.0 * count as f64 / (a + b).as_secs_f64();
    let (rust, c) = (both(rust_first, rust_second), both(c_first, c_second));
    println!(
        "  over both runs: Rust {rust:.0}, C {c:.0} messages/s; C / Rust {:.2}x (target at least 0.9x)",
        c / rust
    );
}
