//! Client-to-client latency of a text message through one relay on loopback.
//!
//! Two `sotto_core::Client`s with SQLCipher profile directories (passphrase mode) have met
//! by invitation through a real `sotto-relay` process (TLS pinned to its key). Each
//! measurement is one message, timed from Alice's `send_text` call to the end of the Bob
//! `sync` that shows it — sealing, Alice's durable store write, the HTTPS write into Bob's
//! queue (answered only once the relay made it durable), Bob's read, open, durable store
//! write, end-to-end receipt and acknowledgement. Alice then syncs (her receipt), untimed.
//!
//! Baseline, in the same run and against the same relay: the bare queue round trip of a
//! packet of the same size with the core's `RelayClient` (signed write, read, acknowledge),
//! which is what the network and the relay cost without any of the client's work.
//!
//! Prints p50 and p99 of both and their ratio. `SOTTO_BENCH_QUICK=1` runs a few messages
//! for smoke tests. Run with `scripts/bench -p sotto-relay --bench latency`.

use std::time::{Duration, Instant, SystemTime};

use sotto_core::client::{ClientEvent, SendRoute};
use sotto_core::invitation::Invitation;
use sotto_core::padding::PACKET_PAYLOAD_SIZE;
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, Protection, SqlCipherStore};
use sotto_core::transport::RelayClient;
use sotto_core::{Client, ClientSettings};

#[path = "../tests/common/process.rs"]
mod process;
use process::RunningRelay;

type Person = Client<SqlCipherStore>;

async fn person(root: &std::path::Path, name: &str, relay: &RelayAddress) -> Person {
    Client::create(
        &ProfileDirectory::new(root.join(name)),
        Protection::Passphrase {
            passphrase: name,
            params: Argon2Params::new(8 * 1024, 1, 1).expect("params"),
        },
        ClientSettings::new(vec![relay.clone()], name).with_route(SendRoute::Direct),
    )
    .await
    .expect("a profile")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let messages = if quick { 10 } else { 500 };
    let root = tempfile::tempdir().expect("temp dir");
    let relay = RunningRelay::start(&["--log-level", "warn"]);
    let address = relay.address.clone();

    let mut alice = person(root.path(), "alice", &address).await;
    let mut bob = person(root.path(), "bob", &address).await;
    let link = alice
        .create_invitation()
        .await
        .expect("invitation")
        .to_uri();
    let alice_at_bob = bob
        .accept_invitation(&Invitation::from_uri(&link).expect("link"))
        .await
        .expect("accept");
    alice.sync().await.expect("answer");
    let bob_at_alice = alice
        .take_events()
        .into_iter()
        .find_map(|e| match e {
            ClientEvent::ContactJoined { contact, .. } => Some(contact),
            _ => None,
        })
        .expect("bob joined");
    bob.sync().await.expect("accepted");
    bob.take_events();
    let _ = alice_at_bob;

    // Baseline: the bare queue round trip.
    let raw = RelayClient::new(address.clone()).expect("client");
    let mut rng = rand::rng();
    let queue = raw
        .create_queue(SystemTime::now(), &mut rng)
        .await
        .expect("queue");
    let packet = vec![7u8; PACKET_PAYLOAD_SIZE];
    let mut client_times = Vec::with_capacity(messages);
    let mut raw_times = Vec::with_capacity(messages);
    for n in 0..messages {
        // Interleaved, so load from elsewhere affects both alike.
        let started = Instant::now();
        raw.send(&queue.capability(), &packet, SystemTime::now(), &mut rng)
            .await
            .expect("send");
        let read = raw
            .next(&queue, SystemTime::now(), &mut rng)
            .await
            .expect("next")
            .expect("a message");
        raw.ack(&queue, &read.id, SystemTime::now(), &mut rng)
            .await
            .expect("ack");
        raw_times.push(started.elapsed());

        let text = format!("latency {n}");
        let started = Instant::now();
        alice.send_text(&bob_at_alice, &text).await.expect("send");
        bob.sync().await.expect("sync");
        let elapsed = started.elapsed();
        let shown = bob.take_events().into_iter().any(|e| {
            matches!(e, ClientEvent::Message { content, .. }
                if content.body == sotto_core::content::Body::Text(text.clone()))
        });
        assert!(shown, "message {n} arrived in the sync after it was sent");
        client_times.push(elapsed);
        alice.sync().await.expect("receipt");
        alice.take_events();
    }
    client_times.sort();
    raw_times.sort();
    let (c50, c99) = (
        percentile(&client_times, 0.50),
        percentile(&client_times, 0.99),
    );
    let (r50, r99) = (percentile(&raw_times, 0.50), percentile(&raw_times, 0.99));
    println!("client-to-client text latency through one relay on loopback ({messages} messages)");
    println!(
        "  bare queue round trip (send + next + ack): p50 {:>8.0} us  p99 {:>8.0} us",
        micros(r50),
        micros(r99)
    );
    println!(
        "  Client send_text -> Client sync shows it:  p50 {:>8.0} us  p99 {:>8.0} us",
        micros(c50),
        micros(c99)
    );
    println!(
        "  ratio client/bare: p50 {:.2}x  p99 {:.2}x",
        micros(c50) / micros(r50),
        micros(c99) / micros(r99)
    );
}
