//! What each relay saw: five relay processes, each on a loopback address of its own
//! (127.0.0.11 to 127.0.0.15, the addresses they also send from), record what they saw
//! (the test-only observation record of `src/observe.rs`); two clients on 127.0.0.1 meet
//! and talk over 3-hop onion paths and read their queues and move an attachment through a
//! proxy relay. Then, from those records and the relays' logs:
//!
//! - a relay sees only the previous and the next hop of a packet;
//! - the relay that writes a packet into its queue got it from another relay, never from
//!   the sender;
//! - a relay sees requests for its queues and chunks only from another relay (the proxy),
//!   never from a client; and no relay but the one holding a queue or chunk sees its id,
//!   neither in what it saw nor in its log;
//! - every packet between relays, and from clients, has the same size;
//!
//! and, captured on the wire between relays (taps in front of three relays count the TLS
//! bytes of every connection by the side that opened it): a packet carrying a one-byte
//! message, one carrying a 4096-byte message and a drop packet cost exactly the same bytes
//! on every link.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use sotto_core::client::SendRoute;
use sotto_core::onion::{Delivery, Hop, HopAddress, PACKET_BYTES, build_packet};
use sotto_core::transport::RelayClient;

#[path = "common/people.rs"]
mod people;
#[path = "common/process.rs"]
mod process;
#[path = "common/tap.rs"]
mod tap;
use people::{Person, Relay, TestClock, meet, settle, texts};

/// 3-hop paths without mixing delays.
const THREE_HOPS: SendRoute = SendRoute::Onion {
    hops: 3,
    mean_delay: Duration::ZERO,
};

/// The clients' address: what the kernel picks to reach any loopback address.
const CLIENT_IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

async fn person(root: &Path, name: &str, relays: &[Relay], clock: &Arc<TestClock>) -> Person {
    let refs: Vec<&Relay> = relays.iter().collect();
    people::create(root, name, people::settings(&refs, name, clock, THREE_HOPS)).await
}

fn socket_of(relay: &Relay) -> SocketAddr {
    HopAddress::of(&relay.address).unwrap().socket
}

/// What a relay recorded, a JSON value per line.
fn records(relay: &Relay) -> Vec<Value> {
    let path = relay.observations.as_ref().unwrap();
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn address(record: &Value, field: &str) -> SocketAddr {
    record[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {record}"))
        .parse()
        .unwrap()
}

/// The queue, message or chunk ids a request path names (`/v1/queues/<id>/ack/<id>`,
/// `/v1/chunks/<id>`): its long segments.
fn ids_in(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|segment| segment.len() >= 16)
        .map(str::to_owned)
}

/// Whether a request path is a relay's public business (its info, packets handed to a first
/// hop), which a client may ask for itself.
fn is_public(path: &str) -> bool {
    matches!(path, "/v1/info" | "/v1/packets" | "/health")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_relay_sees_only_its_neighbours_and_no_proxy_sees_a_queue() {
    let root = people::tempdir("sotto-observed-");
    let relays: Vec<Relay> = (1..=5)
        .map(|n| {
            Relay::start_observed(
                root.path(),
                &format!("relay-{n}"),
                &format!("127.0.0.{}", 10 + n),
                &["--allow-private-hops"],
            )
        })
        .collect();
    let clock = Arc::new(TestClock::default());
    let mut alice = person(root.path(), "alice", &relays, &clock).await;
    let mut bob = person(root.path(), "bob", &relays, &clock).await;
    let (bob_at_alice, alice_at_bob) = meet(&mut alice, &mut bob).await;
    for n in 0..10 {
        alice
            .send_text(&bob_at_alice, &format!("alice {n}"))
            .await
            .unwrap();
        bob.send_text(&alice_at_bob, &format!("bob {n}"))
            .await
            .unwrap();
    }
    let (alice_events, bob_events) = settle(&mut alice, &mut bob, Duration::from_millis(600)).await;
    assert_eq!(texts(&bob_events).len(), 10, "{bob_events:?}");
    assert_eq!(texts(&alice_events).len(), 10, "{alice_events:?}");
    let attachment: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    people::attachment_round_trip(
        root.path(),
        &mut alice,
        &mut bob,
        (&bob_at_alice, &alice_at_bob),
        &attachment,
    )
    .await;

    let sockets: Vec<SocketAddr> = relays.iter().map(socket_of).collect();
    let relay_ips: HashSet<IpAddr> = sockets.iter().map(SocketAddr::ip).collect();
    let mut private_ids: Vec<BTreeSet<String>> = vec![BTreeSet::new(); relays.len()];
    let (mut deliveries, mut tunnels, mut hop_batches, mut first_hop_batches) = (0, 0, 0, 0);
    for (n, relay) in relays.iter().enumerate() {
        for record in records(relay) {
            let from = address(&record, "from").ip();
            assert!(
                from == CLIENT_IP || relay_ips.contains(&from),
                "relay {n} saw an unknown peer: {record}"
            );
            match record["seen"].as_str().unwrap() {
                "batch" => {
                    let packets = record["packets"].as_u64().unwrap();
                    assert!(packets >= 1, "{record}");
                    assert_eq!(
                        record["bytes"].as_u64().unwrap(),
                        packets * PACKET_BYTES as u64,
                        "every packet on every link is {PACKET_BYTES} bytes: {record}"
                    );
                    if from == CLIENT_IP {
                        first_hop_batches += 1;
                    } else {
                        hop_batches += 1;
                    }
                }
                "forward" => {
                    let next = address(&record, "to");
                    assert!(sockets.contains(&next), "{record}");
                    assert_ne!(next, sockets[n], "a relay is never its own next hop");
                }
                "deliver" => {
                    deliveries += 1;
                    assert!(
                        relay_ips.contains(&from) && from != sockets[n].ip(),
                        "the mailbox relay got a packet from another relay, never from its \
                         sender: {record}"
                    );
                    private_ids[n].insert(record["queue"].as_str().unwrap().to_owned());
                }
                "request" => {
                    let path = record["path"].as_str().unwrap();
                    if is_public(path) {
                        continue;
                    }
                    assert!(
                        relay_ips.contains(&from),
                        "relay {n} saw a request for a queue or chunk straight from a \
                         client: {record}"
                    );
                    private_ids[n].extend(ids_in(path));
                }
                "tunnel" => {
                    tunnels += 1;
                    assert_eq!(from, CLIENT_IP, "clients open tunnels: {record}");
                    let to = address(&record, "to");
                    assert!(sockets.contains(&to) && to != sockets[n], "{record}");
                }
                other => panic!("unknown record {other}: {record}"),
            }
        }
    }
    assert!(deliveries >= 21, "{deliveries} packets delivered");
    assert!(tunnels >= 1, "reads went through tunnels");
    assert!(hop_batches >= 40, "{hop_batches} batches between relays");
    assert!(
        first_hop_batches >= 21,
        "{first_hop_batches} batches from clients"
    );
    let private: usize = private_ids.iter().map(BTreeSet::len).sum();
    assert!(
        private >= 4,
        "queue and chunk ids seen at their relays: {private}"
    );

    // No relay but the one holding a queue or a chunk ever saw its id: not in what it
    // recorded, not in its log (the proxy that carried the reads included).
    for (n, relay) in relays.iter().enumerate() {
        let seen = std::fs::read_to_string(relay.observations.as_ref().unwrap()).unwrap();
        let log = std::fs::read_to_string(&relay.log).unwrap();
        for (m, ids) in private_ids.iter().enumerate() {
            if m == n {
                continue;
            }
            for id in ids {
                assert!(
                    !seen.contains(id.as_str()) && !log.contains(id.as_str()),
                    "relay {n} saw an id of relay {m}'s: {id}"
                );
            }
        }
    }
}

/// What one round of packets cost on the links between relays: bytes by relay address.
type LinkBytes = Vec<(IpAddr, tap::Bytes)>;

/// The bytes each relay of `from` sent and received on its links since `before`.
fn link_bytes(
    counts: &tap::Counts,
    before: &HashMap<IpAddr, tap::Bytes>,
    from: &[IpAddr],
) -> LinkBytes {
    let now = tap::snapshot(counts);
    from.iter()
        .map(|ip| {
            let (then, now) = (
                before.get(ip).copied().unwrap_or_default(),
                now.get(ip).copied().unwrap_or_default(),
            );
            (
                *ip,
                tap::Bytes {
                    up: now.up - then.up,
                    down: now.down - then.down,
                },
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_wire_long_and_short_messages_and_drop_packets_look_the_same() {
    let root = people::tempdir("sotto-wire-");
    let counts = tap::Counts::default();
    let mut relays = Vec::new();
    let mut tapped = Vec::new();
    for n in 1..=3u8 {
        let relay = Relay::start_with_ip(
            root.path(),
            &format!("relay-{n}"),
            &format!("127.0.0.{}", 30 + n),
            &["--allow-private-hops"],
        );
        tapped.push(
            tap::tap_relay(
                std::net::Ipv4Addr::new(127, 0, 0, 40 + n),
                &relay.address,
                counts.clone(),
            )
            .await,
        );
        relays.push(relay);
    }
    let relay_ips: Vec<IpAddr> = relays.iter().map(|r| socket_of(r).ip()).collect();

    // A fixed path 1 → 2 → 3 (so that every link is open before the rounds are counted),
    // a queue on relay 3, and packets built by hand.
    let mut rng = rand::rng();
    let mailbox = RelayClient::new(tapped[2].clone()).unwrap();
    let queue = mailbox
        .create_queue(SystemTime::now(), &mut rng)
        .await
        .unwrap();
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut path = Vec::new();
    for relay in &tapped {
        let keys = RelayClient::new(relay.clone())
            .unwrap()
            .sphinx_keys()
            .await
            .unwrap();
        path.push(Hop {
            address: HopAddress::of(relay).unwrap(),
            key: keys.iter().find(|k| k.covers(unix)).unwrap().key,
        });
    }
    let first = RelayClient::new(tapped[0].clone()).unwrap();
    let write = |len: usize| {
        Delivery::signed_write(&queue.capability(), vec![0x5A; len], unix, &mut rand::rng())
            .unwrap()
    };
    // Sends packets one at a time, each once the previous one reached its last hop.
    let send = |delivery: Delivery| {
        let (first, path, last) = (&first, &path, &relays[2]);
        async move {
            let counter = match delivery {
                Delivery::Drop => "sotto_relay_drop_packets_total",
                Delivery::Write { .. } => "sotto_relay_packets_delivered_total",
            };
            let before = people::metric(last, counter).await;
            let packet =
                build_packet(path, &delivery, &[Duration::ZERO; 3], &mut rand::rng()).unwrap();
            first.send_packets(packet).await.unwrap();
            for _ in 0..200 {
                if people::metric(last, counter).await == before + 1 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("a packet did not reach its last hop");
        }
    };
    // Open the links.
    send(write(1)).await;
    send(Delivery::Drop).await;

    let mut rounds = Vec::new();
    for (label, delivery) in [
        ("1-byte messages", write(1)),
        ("4096-byte messages", write(4096)),
        ("drop packets", Delivery::Drop),
    ] {
        let before = tap::snapshot(&counts);
        for _ in 0..10 {
            let delivery = match &delivery {
                Delivery::Write { body, .. } => write(body.len()),
                Delivery::Drop => Delivery::Drop,
            };
            send(delivery).await;
        }
        rounds.push((label, link_bytes(&counts, &before, &relay_ips[..2])));
    }
    for (label, bytes) in &rounds {
        for (ip, link) in bytes {
            assert!(
                link.up >= 10 * PACKET_BYTES as u64,
                "{label}: relay {ip} sent {} bytes for 10 packets",
                link.up
            );
        }
        assert_eq!(
            bytes, &rounds[0].1,
            "{label} and {} differ on the wire between relays",
            rounds[0].0
        );
    }
}
