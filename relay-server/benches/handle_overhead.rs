//! What the `Messenger` handle costs over driving `sotto_core::Client` directly: the same
//! messages sent and received both ways, in one run.
//!
//! One `sotto-relay` process on loopback; two pairs of people (SQLCipher profile
//! directories) who met by invitation, writing straight to each other's queues
//! (`SendRoute::Direct`, so that the relay path is short and the handle's own cost shows):
//!
//! - **Client** (the baseline): the sender's `send_text` for every message, then the
//!   recipient's `sync` until all have been shown, as an app driving the core itself would.
//! - **Handle**: the sender's `Messenger::send_text` for every message (each call a trip to
//!   the messenger's thread and back), while the recipient's messenger receives them with
//!   its background work (waiting reads) and pushes `MessageReceived` events, until all
//!   have arrived.
//!
//! - **Handle, same pattern**: two `Messenger`s without background work, called exactly as
//!   the baseline calls its clients (every send, then the recipient's `sync` until all are
//!   shown): what the handle itself costs, call for call.
//!
//! Each contender sends [`FULL`] messages ([`QUICK`] with `SOTTO_BENCH_QUICK=1`), timed from
//! the first send to the last message shown. Prints messages per second of each and the
//! ratios to the baseline (target: the handle at least 0.9x the client). Run with
//! `scripts/bench -p sotto-relay --bench handle_overhead`.

use std::path::Path;
use std::time::{Duration, Instant};

use sotto_core::client::{ClientEvent, SendRoute};
use sotto_core::contacts::ContactId;
use sotto_core::invitation::Invitation;
use sotto_core::messenger::{Event, OwnedProtection, Subscription};
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, Protection, SqlCipherStore};
use sotto_core::{Client, ClientSettings, Messenger};

#[path = "../tests/common/process.rs"]
mod process;
use process::RunningRelay;

const FULL: usize = 10_000;
const QUICK: usize = 20;

fn settings(relay: &RelayAddress, name: &str) -> ClientSettings {
    ClientSettings::new(vec![relay.clone()], name).with_route(SendRoute::Direct)
}

fn params() -> Argon2Params {
    Argon2Params::new(8 * 1024, 1, 1).expect("params")
}

async fn client(root: &Path, name: &str, relay: &RelayAddress) -> Client<SqlCipherStore> {
    let protection = Protection::Passphrase {
        passphrase: name,
        params: params(),
    };
    Client::create(
        &ProfileDirectory::new(root.join(name)),
        protection,
        settings(relay, name),
    )
    .await
    .expect("a profile")
}

type Handle = Messenger<SqlCipherStore>;

async fn messenger(root: &Path, name: &str, relay: &RelayAddress) -> Handle {
    let protection = OwnedProtection::Passphrase {
        passphrase: name.to_owned().into(),
        params: params(),
    };
    Messenger::create(
        ProfileDirectory::new(root.join(name)),
        protection,
        settings(relay, name),
    )
    .await
    .expect("a profile")
}

/// Sends `count` texts through two `Client`s; returns the time to the last one shown.
async fn through_clients(root: &Path, relay: &RelayAddress, count: usize) -> Duration {
    let mut sender = client(root, "client-sender", relay).await;
    let mut recipient = client(root, "client-recipient", relay).await;
    let link = sender
        .create_invitation()
        .await
        .expect("invitation")
        .to_uri();
    recipient
        .accept_invitation(&Invitation::from_uri(&link).expect("link"))
        .await
        .expect("accepted");
    let mut to: Option<ContactId> = None;
    while to.is_none() {
        sender.sync().await.expect("sync");
        to = sender.take_events().into_iter().find_map(|e| match e {
            ClientEvent::ContactJoined { contact, .. } => Some(contact),
            _ => None,
        });
    }
    recipient.sync().await.expect("sync");
    recipient.take_events();
    let to = to.expect("met");

    let started = Instant::now();
    for i in 0..count {
        sender
            .send_text(&to, &format!("message {i}"))
            .await
            .expect("sent");
    }
    let mut shown = 0;
    while shown < count {
        recipient.sync().await.expect("sync");
        shown += recipient
            .take_events()
            .iter()
            .filter(|e| matches!(e, ClientEvent::Message { .. }))
            .count();
    }
    started.elapsed()
}

/// Two messengers, `<tag>-sender` and `<tag>-recipient`, that met by invitation (driven by
/// `sync` calls, background work off); returns them with the sender's name for the
/// recipient and the recipient's subscription.
async fn met_messengers(
    root: &Path,
    tag: &str,
    relay: &RelayAddress,
) -> (Handle, Handle, ContactId, Subscription) {
    let sender = messenger(root, &format!("{tag}-sender"), relay).await;
    let recipient = messenger(root, &format!("{tag}-recipient"), relay).await;
    let (mut sender_events, mut recipient_events) = (sender.subscribe(), recipient.subscribe());
    let link = sender
        .create_invitation()
        .await
        .expect("invitation")
        .to_uri();
    recipient
        .accept_invitation(&Invitation::from_uri(&link).expect("link"))
        .await
        .expect("accepted");
    let to = loop {
        sender.sync().await.expect("sync");
        if let Some(Event::ContactAdded { contact, .. }) = sender_events.try_next() {
            break contact;
        }
    };
    loop {
        recipient.sync().await.expect("sync");
        if let Some(Event::ContactReady { .. }) = recipient_events.try_next() {
            break;
        }
    }
    (sender, recipient, to, recipient_events)
}

/// Sends `count` texts through two `Messenger`s without background work, in the pattern
/// of the client baseline (send all, then `sync` until shown): the handle's own cost, call
/// for call.
async fn through_handles_like_clients(root: &Path, relay: &RelayAddress, count: usize) -> Duration {
    let (sender, recipient, to, _) = met_messengers(root, "manual", relay).await;
    let started = Instant::now();
    send_all(&sender, &to, count).await;
    let mut shown = 0;
    while shown < count {
        shown += recipient.sync().await.expect("sync").shown;
    }
    let elapsed = started.elapsed();
    sender.shutdown().await.expect("shut down");
    recipient.shutdown().await.expect("shut down");
    elapsed
}

/// Sends `count` texts through two `Messenger`s with their background work on; returns
/// the time to the last one shown.
async fn through_handles(root: &Path, relay: &RelayAddress, count: usize) -> Duration {
    let (sender, recipient, to, mut recipient_events) = met_messengers(root, "handle", relay).await;
    sender.start().await.expect("started");
    recipient.start().await.expect("started");
    let started = Instant::now();
    let receiving = tokio::spawn(async move {
        let mut shown = 0;
        while shown < count {
            match recipient_events.next().await {
                Some(Event::MessageReceived { .. }) => shown += 1,
                Some(Event::Missed { count }) => panic!("the subscription missed {count} events"),
                Some(_) => {}
                None => panic!("the messenger stopped"),
            }
        }
    });
    send_all(&sender, &to, count).await;
    receiving.await.expect("received");
    let elapsed = started.elapsed();
    sender.shutdown().await.expect("shut down");
    recipient.shutdown().await.expect("shut down");
    elapsed
}

async fn send_all(sender: &Handle, to: &ContactId, count: usize) {
    for i in 0..count {
        sender
            .send_text(to, &format!("message {i}"))
            .await
            .expect("sent");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let count = if quick { QUICK } else { FULL };
    let root = tempfile::tempdir().expect("temp dir");
    // Room for every message of the baseline at once (it sends all before it reads).
    let relay = RunningRelay::start(&[
        "--log-level",
        "warn",
        "--max-queue-messages",
        "50000",
        "--max-queue-bytes",
        "1000000000",
    ]);
    // The client pair runs on a thread of its own (its futures are not `Send`).
    let (client_root, client_relay) = (root.path().to_owned(), relay.address.clone());
    let baseline = tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(through_clients(&client_root, &client_relay, count))
    })
    .await
    .expect("the client run");
    let manual = through_handles_like_clients(root.path(), &relay.address, count).await;
    let handle = through_handles(root.path(), &relay.address, count).await;
    let rate = |d: Duration| count as f64 / d.as_secs_f64();
    println!("{count} texts sent and shown, direct writes to one relay");
    println!(
        "  Client driven by the app (send all, then sync): {:.1} s, {:.0} messages/s",
        baseline.as_secs_f64(),
        rate(baseline)
    );
    println!(
        "  Messenger, same pattern (send all, then sync):  {:.1} s, {:.0} messages/s",
        manual.as_secs_f64(),
        rate(manual)
    );
    println!(
        "  Messenger with its background work (waiting reads): {:.1} s, {:.0} messages/s",
        handle.as_secs_f64(),
        rate(handle)
    );
    println!(
        "  handle / client, same pattern: {:.2}x (target at least 0.9x); with background receiving: {:.2}x",
        rate(manual) / rate(baseline),
        rate(handle) / rate(baseline)
    );
}
