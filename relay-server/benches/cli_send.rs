//! What `sotto send` costs end to end (a process starts, unlocks and opens the profile,
//! sends, waits for the relay's answer, closes the profile and exits) against the handle's
//! own send in a profile kept open, in one run; and where the command's time goes.
//!
//! One `sotto-relay` process on loopback; Alice and Bob made, introduced and driven by the
//! `sotto` binary itself (passphrase profiles with the default Argon2id cost, route
//! `--hops 0`, straight to the mailbox relay, so that the relay path is short and the
//! shell's own cost shows). `SOTTO_BENCH_CLI` names the binary (scripts/bench builds it).
//!
//! - **Handle** (the baseline): Alice's profile opened once as a `Messenger`; each message is
//!   `send_text` and the `sync` that writes it, as `sotto send` does.
//! - **CLI**: `sotto --profile alice --passphrase-env … send Bob TEXT`, one process per
//!   message.
//! - **Where the time goes**: `sotto --version` (a process starting and exiting), the
//!   handle's open and shutdown of the profile (Argon2id, SQLCipher, the messenger's thread),
//!   and the send itself (the baseline).
//!
//! [`FULL`] messages each ([`QUICK`] with `SOTTO_BENCH_QUICK=1`), in the order handle, CLI,
//! CLI, handle. Prints milliseconds per message and the ratio CLI / handle. Run with
//! `scripts/bench -p sotto-relay --bench cli_send`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sotto_core::client::ClientSettings;
use sotto_core::contacts::ContactId;
use sotto_core::store::{ProfileDirectory, SqlCipherStore};
use sotto_core::{Event, Messenger};

#[path = "../tests/common/process.rs"]
mod process;
#[path = "common/shells.rs"]
mod shells;

const FULL: usize = 30;
const QUICK: usize = 2;
const PASSPHRASE: &str = "a passphrase for the bench";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let count = if quick { QUICK } else { FULL };
    let binary = PathBuf::from(
        std::env::var_os("SOTTO_BENCH_CLI")
            .expect("SOTTO_BENCH_CLI names the sotto binary (scripts/bench builds it)"),
    );
    let root = tempfile::tempdir().expect("temp dir");
    let relay = shells::relay();
    let cli = Cli {
        binary,
        root: root.path().to_owned(),
    };
    let address = relay.address.to_string();
    for name in ["alice", "bob"] {
        cli.run(
            name,
            &["init", "--name", name, "--hops", "0", "--relay", &address],
        );
    }
    let invitation: serde_json::Value =
        serde_json::from_slice(&cli.run("alice", &["--json", "invite"]).stdout).expect("json");
    let link = invitation["link"].as_str().expect("a link");
    cli.run("bob", &["accept", link, "--name", "Alice"]);
    cli.run("alice", &["receive", "--wait", "10"]);
    cli.run("alice", &["rename", &only_contact(&cli), "Bob"]);
    cli.run("bob", &["receive", "--wait", "10"]);

    let start_exit = time_each(count, || {
        cli.run("alice", &["--version"]);
    });
    let handle_first = through_handle(&cli.profile("alice"), count).await;
    let cli_first = time_each(count, || {
        cli.run("alice", &["send", "Bob", "a text from the command line"]);
    });
    let cli_second = time_each(count, || {
        cli.run("alice", &["send", "Bob", "a text from the command line"]);
    });
    let handle_second = through_handle(&cli.profile("alice"), count).await;

    let per = |d: Duration| d.as_secs_f64() * 1000.0 / count as f64;
    let handle_send = per(handle_first.send.min(handle_second.send));
    let handle_open = per(handle_first.open.min(handle_second.open));
    let handle_close = per(handle_first.close.min(handle_second.close));
    let command = per(cli_first.min(cli_second));
    let process = per(start_exit);
    println!("cli_send: {count} messages each, route direct, one relay on loopback");
    println!(
        "  handle: send_text + sync     {handle_send:>8.2} ms per message (runs: {:.2}, {:.2})",
        per(handle_first.send),
        per(handle_second.send)
    );
    println!(
        "  cli:    sotto send           {command:>8.2} ms per message (runs: {:.2}, {:.2})",
        per(cli_first),
        per(cli_second)
    );
    println!("  ratio cli / handle: {:.1}x", command / handle_send);
    println!("  where a command's time goes (measured apart):");
    println!("    process start and exit      {process:>8.2} ms (sotto --version)");
    println!("    unlock and open the profile {handle_open:>8.2} ms (Argon2id, SQLCipher, thread)");
    println!("    send and sync               {handle_send:>8.2} ms");
    println!("    close the profile           {handle_close:>8.2} ms");
    println!(
        "    the rest                    {:>8.2} ms (parsing, listing contacts, printing)",
        command - process - handle_open - handle_send - handle_close
    );
}

/// Runs `sotto` commands on profiles under one folder.
struct Cli {
    binary: PathBuf,
    root: PathBuf,
}

impl Cli {
    fn profile(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Runs `sotto --profile ROOT/NAME --passphrase-env … ARGS`; it must succeed.
    fn run(&self, name: &str, args: &[&str]) -> Output {
        let output = Command::new(&self.binary)
            .arg("--profile")
            .arg(self.profile(name))
            .args(["--passphrase-env", "SOTTO_BENCH_PASSPHRASE"])
            .args(args)
            .env("SOTTO_BENCH_PASSPHRASE", PASSPHRASE)
            .output()
            .expect("sotto runs");
        assert!(
            output.status.success(),
            "sotto {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

/// Alice's one contact's id, as `sotto contacts --json` prints it.
fn only_contact(cli: &Cli) -> String {
    let output = cli.run("alice", &["--json", "contacts"]);
    let line = String::from_utf8_lossy(&output.stdout);
    let contact: serde_json::Value = serde_json::from_str(line.trim()).expect("one contact");
    contact["contact"].as_str().expect("an id").to_owned()
}

fn time_each(count: usize, mut once: impl FnMut()) -> Duration {
    let started = Instant::now();
    for _ in 0..count {
        once();
    }
    started.elapsed()
}

/// The handle's times for `count` messages: opening the profile and shutting it down
/// (each `count` times, as the commands do), and sending.
struct HandleRun {
    open: Duration,
    send: Duration,
    close: Duration,
}

async fn through_handle(profile: &Path, count: usize) -> HandleRun {
    let open = || {
        Messenger::<SqlCipherStore>::open(
            ProfileDirectory::new(profile),
            Some(PASSPHRASE.to_owned()),
            ClientSettings::new(Vec::new(), ""),
        )
    };
    let (mut opening, mut closing) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..count {
        let started = Instant::now();
        let messenger = open().await.expect("opened");
        opening += started.elapsed();
        let started = Instant::now();
        messenger.shutdown().await.expect("closed");
        closing += started.elapsed();
    }
    let messenger = open().await.expect("opened");
    let bob = messenger
        .contacts()
        .await
        .expect("contacts")
        .into_iter()
        .map(|c| c.id)
        .next()
        .expect("Bob");
    let send = send_each(&messenger, &bob, count).await;
    messenger.shutdown().await.expect("closed");
    HandleRun {
        open: opening,
        send,
        close: closing,
    }
}

async fn send_each(
    messenger: &Messenger<SqlCipherStore>,
    to: &ContactId,
    count: usize,
) -> Duration {
    let mut events = messenger.subscribe();
    let started = Instant::now();
    for _ in 0..count {
        let id = messenger
            .send_text(to, "a text from the handle")
            .await
            .expect("sent");
        messenger.sync().await.expect("synced");
        let sent = std::iter::from_fn(|| events.try_next()).any(|event| {
            matches!(event, Event::StatusChanged { message_ids, status, .. }
                if status == sotto_core::DeliveryStatus::Sent && message_ids.contains(&id))
        });
        assert!(sent, "the handle's message went out");
    }
    started.elapsed()
}
