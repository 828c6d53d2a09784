//! Hop processing: raw `sphinx-packet` processing per second on one core, against the
//! relay's end-to-end hop rate, in one run.
//!
//! - Raw (the baseline): `SphinxPacket::from_bytes` + `process` with the relay's own Sphinx
//!   key (read from its key file), one packet after the other on this thread: what any mix
//!   node must do per packet, with nothing around it.
//! - Relay: an in-process relay (`Relay::open`, its real Sphinx keys and replay tags,
//!   `TlsListener` on 127.0.0.1) on a runtime of its own with one worker thread and one
//!   blocking thread, so it has one core's worth of threads. A client posts the packets
//!   in batches of 64 over pinned HTTPS; the relay receives each batch, opens every packet,
//!   checks and records its replay tag, and forwards it in batches over TLS pinned to the
//!   next hop's key digest to a sink: a TLS server with another relay identity that only
//!   counts packets. The rate is packets counted by the sink per second, from the first
//!   post to the last packet arriving.
//!
//! Packets are 3-hop packets (relay, sink, a third hop never reached) with zero delays.
//! The machine has two cores: the client and the sink run on the other one and share it.
//! Rounds are interleaved and the best of each is kept; the round-by-round ratios give the
//! median and range. Target: relay / raw ≥ 0.5x.
//!
//! `SOTTO_BENCH_QUICK=1` runs a tiny version for smoke tests.
//! Run with `cargo bench -p sotto-relay --bench hops`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use sotto_core::onion::{
    Delivery, Hop, HopAddress, MAX_BATCH_PACKETS, PACKET_BYTES, SphinxSecret, build_packet,
};
use sotto_core::relay::{Host, RelayAddress, RelayKey};
use sotto_core::transport::RelayClient;
use sotto_relay::config::{Limits, LogLevel, MixSettings, Settings};
use sotto_relay::server::{Relay, serve};
use sotto_relay::tls::TlsListener;
use sotto_relay::{RelayIdentity, SystemClock};
use tokio::net::TcpListener;

struct Plan {
    packets: usize,
    rounds: usize,
}

fn plan() -> Plan {
    if std::env::var_os("SOTTO_BENCH_QUICK").is_some() {
        Plan {
            packets: 128,
            rounds: 2,
        }
    } else {
        Plan {
            packets: 4096,
            rounds: 7,
        }
    }
}

/// A TLS server with a relay identity that answers `/v1/info` as a relay does (relays
/// forward only to addresses checked to be the relay a packet names), `202` to everything
/// else, and counts the packets posted to it.
struct Sink {
    address: RelayAddress,
    counted: Arc<AtomicU64>,
}

async fn start_sink(data_dir: &Path) -> Sink {
    let identity = RelayIdentity::load_or_create(data_dir).expect("sink identity");
    let tls = Arc::new(identity.server_config().expect("TLS configuration"));
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("local address").port();
    let counted = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&counted);
    let info = serde_json::to_vec(&sotto_core::relay::RelayInfo {
        version: "sink".into(),
        api: 1,
        key: identity.public_key().to_text(),
        max_message_bytes: 0,
        max_queue_messages: 0,
        max_queue_bytes: 0,
        message_expiry_days: 0,
        max_chunk_bytes: 0,
        max_chunk_store_bytes: 0,
        chunk_expiry_hours: 0,
        sphinx_keys: Vec::new(),
    })
    .expect("info JSON");
    let app = Router::new()
        .route(
            "/v1/info",
            axum::routing::get(move || {
                let info = info.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        info,
                    )
                }
            }),
        )
        .fallback(move |body: Bytes| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add((body.len() / PACKET_BYTES) as u64, Ordering::Relaxed);
                StatusCode::ACCEPTED
            }
        });
    tokio::spawn(serve(
        TlsListener::new(listener, tls),
        app,
        None,
        std::future::pending(),
    ));
    let address = RelayAddress::new(identity.public_key(), Host::V4(Ipv4Addr::LOCALHOST), port)
        .expect("sink address");
    Sink { address, counted }
}

/// The relay under test, served on its own single-threaded runtime.
fn start_relay(data_dir: &Path) -> (RelayAddress, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .expect("relay runtime");
    let settings = Settings {
        data_dir: data_dir.to_owned(),
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        websocket_listen: None,
        // Not served here: `run` serves the operator's port only when given a listener.
        operator_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        public_host: Host::V4(Ipv4Addr::LOCALHOST),
        limits: Limits::default(),
        log_level: LogLevel::Error,
        insecure_plain_http: false,
        // The bench's one client is no abuser.
        sources: sotto_relay::throttle::SourceLimits::unlimited(),
        mix: MixSettings {
            allow_private_hops: true,
            ..MixSettings::default()
        },
    };
    let identity = Arc::new(RelayIdentity::load_or_create(data_dir).expect("relay identity"));
    let tls = Arc::new(identity.server_config().expect("TLS configuration"));
    let relay =
        Relay::open(&settings, Arc::clone(&identity), Arc::new(SystemClock)).expect("relay opens");
    let listener = runtime
        .block_on(TcpListener::bind(settings.listen))
        .expect("bind");
    let port = listener.local_addr().expect("local address").port();
    let address = settings
        .relay_address(identity.public_key(), port)
        .expect("relay address");
    runtime.spawn(async move {
        let _ = relay
            .run(TlsListener::new(listener, tls), std::future::pending())
            .await;
    });
    (address, runtime)
}

/// The relay's Sphinx secret for now, read from its key file (the raw contender uses the
/// very same key).
fn relay_secret(data_dir: &Path) -> SphinxSecret {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let epoch = now / MixSettings::default().epoch_seconds;
    let bytes = std::fs::read(data_dir.join(format!("sphinx/{epoch}.key"))).expect("key file");
    SphinxSecret::from_bytes(bytes.try_into().expect("32 bytes"))
}

fn packets(
    relay: &RelayAddress,
    key: &SphinxSecret,
    sink: &RelayAddress,
    n: usize,
) -> Vec<Vec<u8>> {
    let mut rng = rand::rng();
    let far = RelayAddress::new(
        RelayKey::from_bytes([3; 32]),
        Host::V4([192, 0, 2, 7].into()),
        443,
    )
    .expect("address");
    let path = [
        Hop {
            address: HopAddress::of(relay).expect("hop"),
            key: key.public(),
        },
        Hop {
            address: HopAddress::of(sink).expect("hop"),
            key: SphinxSecret::generate(&mut rng).public(),
        },
        Hop {
            address: HopAddress::of(&far).expect("hop"),
            key: SphinxSecret::generate(&mut rng).public(),
        },
    ];
    (0..n)
        .map(|_| {
            build_packet(&path, &Delivery::Drop, &[Duration::ZERO; 3], &mut rng).expect("packet")
        })
        .collect()
}

/// Raw Sphinx processing of `packets` on this thread: packets per second.
fn raw_round(packets: &[Vec<u8>], key: &[u8; 32]) -> f64 {
    let secret = sphinx_packet::crypto::PrivateKey::from(*key);
    let started = Instant::now();
    for bytes in packets {
        let packet = sphinx_packet::SphinxPacket::from_bytes(bytes).expect("a packet");
        let processed = packet.process(&secret).expect("processed");
        std::hint::black_box(processed);
    }
    packets.len() as f64 / started.elapsed().as_secs_f64()
}

/// Posts `packets` to the relay in batches (two posts in flight) and waits until the sink
/// has counted them all: packets per second.
async fn relay_round(client: &RelayClient, packets: &[Vec<u8>], sink: &Sink) -> f64 {
    let before = sink.counted.load(Ordering::Relaxed);
    let target = before + packets.len() as u64;
    let started = Instant::now();
    let batches: Vec<Vec<u8>> = packets
        .chunks(MAX_BATCH_PACKETS)
        .map(|batch| batch.concat())
        .collect();
    let mut posts = Vec::new();
    for pair in batches.chunks(2) {
        posts.clear();
        for batch in pair {
            let (client, batch) = (client.clone(), batch.clone());
            posts.push(tokio::spawn(
                async move { client.send_packets(batch).await },
            ));
        }
        for post in posts.drain(..) {
            post.await
                .expect("post task")
                .expect("the relay takes the batch");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while sink.counted.load(Ordering::Relaxed) < target {
        assert!(
            Instant::now() < deadline,
            "the sink did not receive every packet"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    packets.len() as f64 / started.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let plan = plan();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let sink_dir = tempfile::tempdir().expect("temporary directory");
    let sink = runtime.block_on(start_sink(sink_dir.path()));
    let relay_dir = tempfile::tempdir().expect("temporary directory");
    let (relay, _relay_runtime) = start_relay(relay_dir.path());
    let secret = relay_secret(relay_dir.path());
    let key_bytes = secret.to_bytes();
    let client = RelayClient::new(relay.clone()).expect("client");

    println!(
        "hop processing: {} packets of {PACKET_BYTES} bytes per round, best of {} rounds",
        plan.packets, plan.rounds
    );
    // Warm-up, untimed: connections, the sink link, the replay files.
    let warm = packets(&relay, &secret, &sink.address, MAX_BATCH_PACKETS);
    raw_round(&warm, &key_bytes);
    runtime.block_on(relay_round(&client, &warm, &sink));

    let (mut raw, mut hop, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..plan.rounds {
        // Fresh packets every round: the relay drops replays.
        let round = packets(&relay, &secret, &sink.address, plan.packets);
        let r = raw_round(&round, &key_bytes);
        let h = runtime.block_on(relay_round(&client, &round, &sink));
        raw.push(r);
        hop.push(h);
        ratios.push(h / r);
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let (best_raw, best_hop) = (best(&raw), best(&hop));
    println!(
        "  raw sphinx-packet processing, one thread: {best_raw:>9.0} packets/s ({:.1} µs/packet)",
        1e6 / best_raw
    );
    println!(
        "  relay hop (receive, open, replay check, forward in batches): {best_hop:>9.0} packets/s ({:.1} µs/packet)",
        1e6 / best_hop
    );
    let (low, high) = (
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    println!(
        "  relay / raw: {:.2}x (round by round: median {:.2}x, {low:.2}x to {high:.2}x); target >= 0.5x",
        best_hop / best_raw,
        median(ratios.clone())
    );
}
