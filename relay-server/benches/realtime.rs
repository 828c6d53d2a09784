//! Real-time delivery through the `Messenger` handle: message sent -> `MessageReceived`
//! event on the other handle, over 3-hop onion paths without mixing delays and with reads
//! through a proxy relay, against a direct signed write into a queue in the same run; and
//! the idle cost of a connected handle.
//!
//! Five `sotto-relay` processes listen on 127.0.0.11 to 127.0.0.15; in front of each a tap
//! (`tests/common/tap.rs`) on 127.0.0.21 to 127.0.0.25 is the address clients know it by,
//! so every byte a client exchanges crosses one. Alice and Bob are `Messenger`s (SQLCipher
//! profile directories) with their background work on; they meet by invitation. Then:
//!
//! 1. **Baseline**: one signed `POST /v1/send` of a packet-sized body straight to a queue
//!    on one relay, timed from the call to the relay's `201` ([`RelayClient::send`]).
//! 2. **Handle**: Alice's `send_text`, timed from the call to the `MessageReceived` event
//!    on Bob's subscription (Bob's waiting read, through his proxy relay, wakes when the
//!    packet lands in his queue; Bob then opens, stores, acknowledges and sends the
//!    receipt). Baseline and handle take turns message by message.
//! 3. **Idle**: Alice shuts down; Bob's handle stays connected with nothing to receive for
//!    [`IDLE_FULL`] ([`IDLE_QUICK`] with `SOTTO_BENCH_QUICK=1`). The relays' request
//!    counters (every endpoint of the public port) and Bob's bytes at the taps give requests
//!    per minute and bytes per hour.
//!
//! Prints p50/p99 of both, their ratio, the target (p50 <= 50 ms, p99 <= 250 ms) and the
//! idle figures. Run with `scripts/bench -p sotto-relay --bench realtime`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use sotto_core::client::SendRoute;
use sotto_core::invitation::Invitation;
use sotto_core::messenger::{Event, OwnedProtection, Subscription};
use sotto_core::padding::PACKET_PAYLOAD_SIZE;
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, SqlCipherStore};
use sotto_core::transport::RelayClient;
use sotto_core::{ClientSettings, Messenger};

#[path = "../tests/common/process.rs"]
mod process;
use process::RunningRelay;
#[path = "../tests/common/tap.rs"]
mod tap;

type Handle = Messenger<SqlCipherStore>;

const MESSAGES_FULL: usize = 300;
const MESSAGES_QUICK: usize = 5;
const IDLE_FULL: Duration = Duration::from_secs(300);
const IDLE_QUICK: Duration = Duration::from_secs(3);
/// The clients' address: what the kernel picks to reach any loopback address.
const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn handle(root: &std::path::Path, name: &str, relays: &[RelayAddress]) -> Handle {
    let settings = ClientSettings::new(relays.to_vec(), name).with_route(SendRoute::Onion {
        hops: 3,
        mean_delay: Duration::ZERO,
    });
    let messenger = Messenger::create(
        ProfileDirectory::new(root.join(name)),
        OwnedProtection::Passphrase {
            passphrase: name.to_owned().into(),
            params: Argon2Params::new(8 * 1024, 1, 1).expect("params"),
        },
        settings,
    )
    .await
    .expect("a profile");
    messenger.start().await.expect("started");
    messenger
}

async fn until(events: &mut Subscription, wanted: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let event = events.next().await.expect("running");
            if wanted(&event) {
                return event;
            }
        }
    })
    .await
    .expect("the event within 60 s")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Requests answered by all relays on their public ports, every endpoint but `/health`
/// (read from their operator ports, which count nothing of their own).
async fn requests(relays: &[RunningRelay]) -> u64 {
    let mut total = 0;
    for relay in relays {
        let (_, text) = process::operator_get(&relay.operator, "/metrics");
        total += text
            .lines()
            .filter(|l| l.starts_with("sotto_relay_requests_total{"))
            .filter(|l| !l.contains("endpoint=\"health\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let (messages, idle) = if quick {
        (MESSAGES_QUICK, IDLE_QUICK)
    } else {
        (MESSAGES_FULL, IDLE_FULL)
    };
    let root = tempfile::tempdir().expect("temp dir");
    let counts = tap::Counts::default();
    let mut relays = Vec::new();
    let mut addresses = Vec::new();
    for n in 1..=5u8 {
        let relay = RunningRelay::start_on(
            &format!("127.0.0.{}:0", 10 + n),
            &["--log-level", "warn", "--allow-private-hops"],
        );
        addresses.push(
            tap::tap_relay(
                Ipv4Addr::new(127, 0, 0, 20 + n),
                &relay.address,
                counts.clone(),
            )
            .await,
        );
        relays.push(relay);
    }

    let alice = handle(root.path(), "alice", &addresses).await;
    let bob = handle(root.path(), "bob", &addresses).await;
    let mut bob_events = bob.subscribe();
    let mut alice_events = alice.subscribe();
    let link = alice
        .create_invitation()
        .await
        .expect("invitation")
        .to_uri();
    let alice_at_bob = bob
        .accept_invitation(&Invitation::from_uri(&link).expect("link"))
        .await
        .expect("accepted");
    let Event::ContactAdded {
        contact: bob_at_alice,
        ..
    } = until(&mut alice_events, |e| {
        matches!(e, Event::ContactAdded { .. })
    })
    .await
    else {
        unreachable!()
    };
    until(
        &mut bob_events,
        |e| matches!(e, Event::ContactReady { contact } if *contact == alice_at_bob),
    )
    .await;
    drop(alice_events);

    // The baseline's queue, on the first relay, written straight to.
    let direct = RelayClient::new(addresses[0].clone()).expect("client");
    let mut rng = StdRng::from_os_rng();
    let queue = direct
        .create_queue(std::time::SystemTime::now(), &mut rng)
        .await
        .expect("a queue");
    let capability = queue.capability();
    let body = vec![7u8; PACKET_PAYLOAD_SIZE];

    let (mut baseline, mut through_handle) = (Vec::new(), Vec::new());
    for i in 0..messages {
        let started = Instant::now();
        direct
            .send(&capability, &body, std::time::SystemTime::now(), &mut rng)
            .await
            .expect("a direct write");
        baseline.push(started.elapsed());
        // Emptied now and then, so its quota never refuses (not timed).
        if i % 50 == 49 {
            while let Some(m) = direct
                .next(&queue, std::time::SystemTime::now(), &mut rng)
                .await
                .expect("read")
            {
                direct
                    .ack(&queue, &m.id, std::time::SystemTime::now(), &mut rng)
                    .await
                    .expect("ack");
            }
        }

        let started = Instant::now();
        let id = alice
            .send_text(&bob_at_alice, &format!("message {i}"))
            .await
            .expect("sent");
        until(
            &mut bob_events,
            |e| matches!(e, Event::MessageReceived { content, .. } if content.id == id),
        )
        .await;
        through_handle.push(started.elapsed());
    }
    baseline.sort();
    through_handle.sort();
    let (b50, b99) = (percentile(&baseline, 0.5), percentile(&baseline, 0.99));
    let (h50, h99) = (
        percentile(&through_handle, 0.5),
        percentile(&through_handle, 0.99),
    );
    println!(
        "real-time delivery, {messages} messages, 3-hop onion paths without mixing delays, reads through a proxy relay"
    );
    println!(
        "  direct signed write (baseline): p50 {:.2} ms, p99 {:.2} ms",
        ms(b50),
        ms(b99)
    );
    println!(
        "  send_text -> MessageReceived on the other handle: p50 {:.2} ms, p99 {:.2} ms ({:.2}x / {:.2}x the direct write)",
        ms(h50),
        ms(h99),
        ms(h50) / ms(b50),
        ms(h99) / ms(b99)
    );
    println!(
        "  target p50 <= 50 ms: {}; p99 <= 250 ms: {}",
        if h50 <= Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        },
        if h99 <= Duration::from_millis(250) {
            "met"
        } else {
            "NOT met"
        }
    );

    // Idle: Bob alone, connected, nothing to receive.
    alice.shutdown().await.expect("shut down");
    drop(alice);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_requests = requests(&relays).await;
    let before_bytes = tap::snapshot(&counts)
        .get(&CLIENT_IP)
        .copied()
        .unwrap_or_default();
    let started = Instant::now();
    tokio::time::sleep(idle).await;
    let elapsed = started.elapsed().as_secs_f64();
    let after_requests = requests(&relays).await;
    let after_bytes = tap::snapshot(&counts)
        .get(&CLIENT_IP)
        .copied()
        .unwrap_or_default();
    let requests = after_requests - before_requests;
    let bytes = (after_bytes.up + after_bytes.down) - (before_bytes.up + before_bytes.down);
    println!(
        "idle handle (1 contact, so 1 queue read; {elapsed:.0} s): {:.2} requests/min at the relays, {:.1} kB/hour on the client's links (up {} B, down {} B)",
        requests as f64 / elapsed * 60.0,
        bytes as f64 / elapsed * 3600.0 / 1e3,
        after_bytes.up - before_bytes.up,
        after_bytes.down - before_bytes.down,
    );
    bob.shutdown().await.expect("shut down");
    drop(relays);
}
