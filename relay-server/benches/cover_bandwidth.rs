//! Bandwidth of cover traffic per client per day at the default rates, measured on the
//! wire, against the figure computed from the rates (`CoverTraffic::bytes_per_day`: 4700
//! bytes per packet, nothing else) in one run.
//!
//! Five `sotto-relay` processes listen on 127.0.0.11 to 127.0.0.15 and send from there. In
//! front of each, a tap (a counting TCP forwarder, `tests/common/tap.rs`) on 127.0.0.21 to
//! 127.0.0.25 is the address the client knows the relay by (same key: TLS passes through
//! untouched), so every byte the client exchanges with the network crosses one of them.
//! The taps count by the connecting side's address; the bench takes the client's
//! (127.0.0.1), both ways — TLS records with their HTTP requests and answers, not TCP/IP
//! headers — and leaves out the relays' connections to each other (next hops, tunnels). One `sotto_core::Client` with cover traffic
//! on at the default rates (0.2 payload + 0.05 loop + 0.05 drop packets per second, 3-hop
//! paths) and no messages calls `cover_tick` every 50 ms for [`FULL`] ([`QUICK`] with
//! `SOTTO_BENCH_QUICK=1`); that includes reading its loops back through its proxy relay.
//!
//! Prints the packets sent, the bytes up and down, the measured bytes per day, the computed
//! bytes per day and their ratio. Run with `scripts/bench -p sotto-relay --bench
//! cover_bandwidth`.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use sotto_core::client::{CoverTraffic, SendRoute};
use sotto_core::store::{Argon2Params, ProfileDirectory, Protection, SqlCipherStore};
use sotto_core::{Client, ClientSettings};

#[path = "../tests/common/process.rs"]
mod process;
use process::RunningRelay;
#[path = "../tests/common/tap.rs"]
mod tap;

/// How long the full measurement runs.
const FULL: Duration = Duration::from_secs(300);
/// How long the quick (smoke) run runs.
const QUICK: Duration = Duration::from_secs(5);
/// How often the client ticks its cover traffic.
const TICK: Duration = Duration::from_millis(50);
/// The client's address: what the kernel picks to reach any loopback address.
const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let duration = if quick { QUICK } else { FULL };
    let root = tempfile::tempdir().expect("temp dir");
    let counts = tap::Counts::default();
    let mut relays = Vec::new();
    let mut addresses = Vec::new();
    for n in 1..=5u8 {
        let relay = RunningRelay::start_on(
            &format!("127.0.0.{}:0", 10 + n),
            &["--log-level", "warn", "--allow-private-hops"],
        );
        let at_tap = tap::tap_relay(
            Ipv4Addr::new(127, 0, 0, 20 + n),
            &relay.address,
            counts.clone(),
        )
        .await;
        addresses.push(at_tap);
        relays.push(relay);
    }

    let cover = CoverTraffic::default();
    let route = SendRoute::Onion {
        hops: 3,
        mean_delay: Duration::ZERO,
    };
    let name = "cover";
    let mut person: Client<SqlCipherStore> = Client::create(
        &ProfileDirectory::new(root.path().join(name)),
        Protection::Passphrase {
            passphrase: name,
            params: Argon2Params::new(8 * 1024, 1, 1).expect("params"),
        },
        ClientSettings::new(addresses, name)
            .with_route(route)
            .with_cover(cover),
    )
    .await
    .expect("a profile");

    let started = Instant::now();
    let (mut sent, mut loops_returned, mut loops_lost) = (0usize, 0usize, 0usize);
    while started.elapsed() < duration {
        let report = person.cover_tick().await.expect("a cover tick");
        sent += report.sent;
        loops_returned += report.loops_returned;
        loops_lost += report.loops_lost;
        tokio::time::sleep(TICK).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Let the last answers through the forwarders.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = tap::snapshot(&counts)
        .get(&CLIENT_IP)
        .copied()
        .unwrap_or_default();
    let (up, down) = (client.up, client.down);
    let per_day = (up + down) as f64 / elapsed * 86_400.0;
    let computed = cover.bytes_per_day();
    println!(
        "cover traffic at the default rates ({} + {} + {} packets/s), 3-hop paths, {elapsed:.0} s",
        cover.payload_per_second, cover.loop_per_second, cover.drop_per_second
    );
    println!(
        "  packets sent: {sent} ({:.3}/s; rates sum to {:.3}/s); loops back: {loops_returned}, lost: {loops_lost}",
        sent as f64 / elapsed,
        cover.payload_per_second + cover.loop_per_second + cover.drop_per_second
    );
    println!(
        "  on the wire (client's TLS bytes): up {up} B, down {down} B; {:.0} B per packet sent",
        (up + down) as f64 / sent.max(1) as f64
    );
    println!(
        "  measured {:.1} MB/day vs computed {:.1} MB/day (4700 B per packet): {:.2}x",
        per_day / 1e6,
        computed / 1e6,
        per_day / computed
    );
    drop(relays);
}
