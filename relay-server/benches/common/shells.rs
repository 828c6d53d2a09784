//! What the shell benches share: the Rust handle's run (the baseline every shell is
//! measured against) and the run of a program in another language that prints
//! `seconds <s>`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sotto_core::Messenger;
use sotto_core::client::{ClientSettings, SendRoute};
use sotto_core::invitation::Invitation;
use sotto_core::messenger::{Event, OwnedProtection};
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, SqlCipherStore};

use crate::process::RunningRelay;

/// The relay the shells are measured through: one process, room for every message of a run
/// at once.
pub fn relay() -> RunningRelay {
    RunningRelay::start(&[
        "--log-level",
        "warn",
        "--max-queue-messages",
        "50000",
        "--max-queue-bytes",
        "1000000000",
    ])
}

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
pub async fn through_rust(root: &Path, run: usize, relay: &RelayAddress, count: usize) -> Duration {
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

/// Runs `command` (a program in another language) with a fresh folder, the relay's
/// address and the count as its last three arguments; returns the time it printed as
/// `seconds <s>`.
pub fn through_program(
    mut command: Command,
    root: &Path,
    tag: &str,
    relay: &RelayAddress,
    count: usize,
) -> Duration {
    let folder = root.join(tag);
    std::fs::create_dir(&folder).expect("a folder");
    let output = command
        .arg(&folder)
        .arg(relay.to_string())
        .arg(count.to_string())
        .output()
        .expect("run the program");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the program failed ({}):\n{stdout}\n{}",
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

/// Prints both runs of the Rust baseline and of the shell `shell` (named `name`), and the
/// ratio shell / Rust over both runs against `target`.
pub fn report(count: usize, rust: [Duration; 2], shell: [Duration; 2], name: &str, target: f64) {
    let one = |d: Duration| count as f64 / d.as_secs_f64();
    let both = |[a, b]: [Duration; 2]| 2.0 * count as f64 / (a + b).as_secs_f64();
    println!("{count} texts sent and received, direct writes to one relay, background work on");
    for (label, [first, second]) in [("Rust Messenger (baseline)", rust), (name, shell)] {
        println!(
            "  {label:<26}: {:.1} s and {:.1} s, {:.0} and {:.0} messages/s",
            first.as_secs_f64(),
            second.as_secs_f64(),
            one(first),
            one(second)
        );
    }
    let (rust, shell) = (both(rust), both(shell));
    println!(
        "  over both runs: Rust {rust:.0}, {name} {shell:.0} messages/s; {name} / Rust {:.2}x \
         (target at least {target}x)",
        shell / rust
    );
}
