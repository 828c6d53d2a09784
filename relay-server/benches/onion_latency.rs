//! Client-to-client latency of a text message over 3-hop onion paths on loopback, against
//! the same message written straight into the queue, in one run.
//!
//! Five `sotto-relay` processes forward to each other on loopback. Three pairs of
//! `sotto_core::Client`s (SQLCipher profile directories) have met by invitation over them:
//! one writes straight to the mailbox relay (`SendRoute::Direct`, the baseline), one sends
//! over 3-hop paths with no mixing delay, one over 3-hop paths with exponential mixing
//! delays of mean [`MIX_MEAN`] at each of the two forwarding hops. A measurement is one
//! message, from the sender's `send_text` to the end of the recipient's `sync` that shows
//! it (the recipient syncs every millisecond until it does); the pairs take turns message
//! by message so load weighs on all alike.
//!
//! Prints p50 and p99 of each, the ratios to the direct write, and the mixing pair's mean
//! added latency against the mean of the sum of the chosen delays (2 × [`MIX_MEAN`]).
//! `SOTTO_BENCH_QUICK=1` runs a few messages for smoke tests.
//! Run with `scripts/bench -p sotto-relay --bench onion_latency`.

use std::time::{Duration, Instant};

use sotto_core::client::{ClientEvent, SendRoute};
use sotto_core::contacts::ContactId;
use sotto_core::content::Body;
use sotto_core::invitation::Invitation;
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, Protection, SqlCipherStore};
use sotto_core::{Client, ClientSettings};

#[path = "../tests/common/process.rs"]
mod process;
use process::RunningRelay;

type Person = Client<SqlCipherStore>;

/// Mean mixing delay per forwarding hop of the mixing pair.
const MIX_MEAN: Duration = Duration::from_millis(20);

async fn person(
    root: &std::path::Path,
    name: &str,
    relays: &[RelayAddress],
    route: SendRoute,
) -> Person {
    Client::create(
        &ProfileDirectory::new(root.join(name)),
        Protection::Passphrase {
            passphrase: name,
            params: Argon2Params::new(8 * 1024, 1, 1).expect("params"),
        },
        ClientSettings::new(relays.to_vec(), name).with_route(route),
    )
    .await
    .expect("a profile")
}

/// Syncs until an event matches; returns the events.
async fn sync_until(
    person: &mut Person,
    wanted: impl Fn(&ClientEvent) -> bool,
) -> Vec<ClientEvent> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut events = Vec::new();
    loop {
        person.sync().await.expect("sync");
        events.extend(person.take_events());
        if events.iter().any(&wanted) {
            return events;
        }
        assert!(Instant::now() < deadline, "nothing arrived within 60 s");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A pair that has met: (sender, recipient, recipient at sender).
async fn pair(
    root: &std::path::Path,
    tag: &str,
    relays: &[RelayAddress],
    route: SendRoute,
) -> (Person, Person, ContactId) {
    let mut sender = person(root, &format!("{tag}-sender"), relays, route).await;
    let mut recipient = person(root, &format!("{tag}-recipient"), relays, route).await;
    let link = sender
        .create_invitation()
        .await
        .expect("invitation")
        .to_uri();
    recipient
        .accept_invitation(&Invitation::from_uri(&link).expect("link"))
        .await
        .expect("accept");
    let events = sync_until(&mut sender, |e| {
        matches!(e, ClientEvent::ContactJoined { .. })
    })
    .await;
    let contact = events
        .into_iter()
        .find_map(|e| match e {
            ClientEvent::ContactJoined { contact, .. } => Some(contact),
            _ => None,
        })
        .expect("joined");
    sync_until(&mut recipient, |e| {
        matches!(e, ClientEvent::ContactAccepted { .. })
    })
    .await;
    (sender, recipient, contact)
}

/// One message's latency; the sender then takes its receipt, untimed.
async fn one(pair: &mut (Person, Person, ContactId), text: &str) -> Duration {
    let (sender, recipient, contact) = pair;
    let started = Instant::now();
    sender.send_text(contact, text).await.expect("send");
    sync_until(recipient, |e| {
        matches!(e, ClientEvent::Message { content, .. } if content.body == Body::Text(text.to_owned()))
    })
    .await;
    let elapsed = started.elapsed();
    sync_until(sender, |e| matches!(e, ClientEvent::Delivered { .. })).await;
    elapsed
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mean(values: &[Duration]) -> Duration {
    values.iter().sum::<Duration>() / values.len().max(1) as u32
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let messages = if quick { 5 } else { 300 };
    let root = tempfile::tempdir().expect("temp dir");
    let relays: Vec<RunningRelay> = (0..5)
        .map(|_| RunningRelay::start(&["--log-level", "warn", "--allow-private-hops"]))
        .collect();
    let addresses: Vec<RelayAddress> = relays.iter().map(|r| r.address.clone()).collect();

    let onion = |mean_delay| SendRoute::Onion {
        hops: 3,
        mean_delay,
    };
    let mut pairs = [
        pair(root.path(), "direct", &addresses, SendRoute::Direct).await,
        pair(root.path(), "onion", &addresses, onion(Duration::ZERO)).await,
        pair(root.path(), "mixing", &addresses, onion(MIX_MEAN)).await,
    ];
    let mut times: [Vec<Duration>; 3] = Default::default();
    for n in 0..messages {
        for (i, pair) in pairs.iter_mut().enumerate() {
            times[i].push(one(pair, &format!("latency {n}")).await);
        }
    }
    let means: Vec<Duration> = times.iter().map(|t| mean(t)).collect();
    for t in &mut times {
        t.sort();
    }
    let (d50, d99) = (percentile(&times[0], 0.5), percentile(&times[0], 0.99));
    println!("client-to-client text latency on loopback, 5 relays ({messages} messages per route)");
    for (i, label) in [
        "direct write to the mailbox relay (baseline)",
        "3 hops, no mixing delay",
        "3 hops, mixing (mean 20 ms per forwarding hop)",
    ]
    .iter()
    .enumerate()
    {
        let (p50, p99) = (percentile(&times[i], 0.5), percentile(&times[i], 0.99));
        println!(
            "  {label:<48} p50 {:>7.2} ms  p99 {:>7.2} ms  ({:.2}x / {:.2}x direct)",
            ms(p50),
            ms(p99),
            ms(p50) / ms(d50),
            ms(p99) / ms(d99)
        );
    }
    let added = means[2].saturating_sub(means[1]);
    println!(
        "  mixing: mean latency {:.2} ms vs {:.2} ms without: {:.2} ms added, against {:.2} ms expected (mean of the sum of the chosen delays, 2 x {} ms): {:.2}x",
        ms(means[2]),
        ms(means[1]),
        ms(added),
        ms(2 * MIX_MEAN),
        MIX_MEAN.as_millis(),
        ms(added) / ms(2 * MIX_MEAN)
    );
}
