//! A soak of one `sotto-relay` process under mixed load: memory, file descriptors and disk
//! sampled while it runs, and every message checked to arrive once, in order.
//!
//! The relay is the shipped binary (release build), started as an operator would, with
//! Sphinx epochs of five minutes so that keys and replay tags rotate several times during
//! the run. Eight clients, each on a queue of its own, loop over: a signed send, a read
//! acknowledging the message before (so each message is written, read and deleted), and
//! every 10th turn a 256 KiB attachment part uploaded, downloaded, compared and deleted,
//! and every 5th turn a batch of four one-hop drop packets (Sphinx opened, replay tag kept,
//! dropped). A sampler reads the relay's resident memory (`/proc/<pid>/status`), its open
//! file descriptors (`/proc/<pid>/fd`) and the data directory's size every 10 s.
//!
//! At the end it prints the samples, the throughput, and the figures that say whether the
//! relay is flat: the mean of each measure over the last fifth of the run against the mean
//! over the second fifth (after warm-up); and it fails if a message was lost, doubled or
//! reordered, or if any request failed.
//!
//! `scripts/soak [SECONDS]` runs it (default 1800 s); `SOTTO_BENCH_QUICK=1` (the smoke run
//! of `scripts/bench --smoke`) runs two clients for 3 s.
//!
//! Known failure (open): about once in 40 client-minutes a part's download is cut (the
//! client sees "error decoding response body"; the relay logs nothing). See
//! docs/BENCHMARKS.md, "Soak".

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use sotto_core::onion::{Delivery, Hop, HopAddress, build_packet};
use sotto_core::relay::RelayAddress;
use sotto_core::relay::chunks::ChunkSeed;
use sotto_core::transport::RelayClient;

#[path = "../tests/common/process.rs"]
mod process;

/// Clients, each with a queue of its own (two in the smoke run).
const CLIENTS: usize = 8;
/// Bytes of a message.
const MESSAGE_BYTES: usize = 4096;
/// Bytes of an attachment part moved every tenth turn.
const PART_BYTES: usize = 256 * 1024;
/// Time between samples.
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// What the sampler saw at one moment.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: u64,
    disk_kib: u64,
    messages: u64,
}

/// Counted by the clients.
#[derive(Default)]
struct Counters {
    messages: AtomicU64,
    parts: AtomicU64,
    packets: AtomicU64,
}

fn main() {
    let quick = std::env::var_os("SOTTO_BENCH_QUICK").is_some();
    let client_count = if quick { 2 } else { CLIENTS };
    let seconds = if quick {
        3
    } else {
        std::env::var("SOTTO_SOAK_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1800)
    };
    let run_for = Duration::from_secs(seconds);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("relay");
    let log_path = dir.path().join("relay.log");
    let log = std::fs::File::create(&log_path).expect("the relay's log file");
    let (child, address, _) = process::spawn_relay(
        &data,
        &[
            "--allow-private-hops",
            "--sphinx-epoch-seconds",
            "300",
            "--sphinx-grace-seconds",
            "60",
        ],
        Stdio::from(log),
    );
    let child = KillOnDrop(child);
    let pid = child.0.id();
    println!("relay soak: {client_count} clients for {seconds} s against one relay process");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let samples = runtime.block_on(async {
        let mut clients = tokio::task::JoinSet::new();
        for _ in 0..client_count {
            let (address, counters, stop) =
                (address.clone(), Arc::clone(&counters), Arc::clone(&stop));
            clients.spawn(async move { client(address, counters, stop).await });
        }
        let mut samples = Vec::new();
        while started.elapsed() < run_for {
            samples.push(sample(pid, &data, started, &counters));
            let left = run_for.saturating_sub(started.elapsed());
            tokio::time::sleep(SAMPLE_EVERY.min(left)).await;
        }
        stop.store(true, Ordering::SeqCst);
        let mut failures = Vec::new();
        while let Some(done) = clients.join_next().await {
            if let Err(why) = done.expect("a client task") {
                failures.push(why);
            }
        }
        samples.push(sample(pid, &data, started, &counters));
        (samples, failures)
    });
    let (samples, failures) = samples;
    let took = started.elapsed().as_secs_f64();
    drop(child);
    report(&samples, &counters, took);
    // The relay's warnings and errors (its log is at `info`).
    let logged = std::fs::read_to_string(&log_path).unwrap_or_default();
    let troubles: Vec<&str> = logged
        .lines()
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .collect();
    println!("relay log: {} warnings or errors", troubles.len());
    for line in troubles.iter().take(20) {
        println!("  {line}");
    }
    assert!(failures.is_empty(), "clients failed: {failures:?}");
}

/// One client's loop until `stop`: its messages must come back once each, in order.
async fn client(
    address: RelayAddress,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let relay = RelayClient::new(address.clone()).map_err(|e| e.to_string())?;
    // A `Send` generator: the client runs as a task of its own.
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let queue = relay
        .create_queue(SystemTime::now(), &mut rng)
        .await
        .map_err(|e| format!("create a queue: {e}"))?;
    let capability = queue.capability();
    let hop = HopAddress::of(&address).map_err(|e| e.to_string())?;
    let mut unacknowledged = None;
    let mut turn = 0u64;
    while !stop.load(Ordering::SeqCst) {
        turn += 1;
        let mut message = vec![0u8; MESSAGE_BYTES];
        message[..8].copy_from_slice(&turn.to_be_bytes());
        relay
            .send(&capability, &message, SystemTime::now(), &mut rng)
            .await
            .map_err(|e| format!("send {turn}: {e}"))?;
        let read = match unacknowledged.take() {
            Some(ack) => {
                relay
                    .ack_then_next(&queue, &ack, None, SystemTime::now(), &mut rng)
                    .await
            }
            None => relay.next(&queue, SystemTime::now(), &mut rng).await,
        }
        .map_err(|e| format!("read {turn}: {e}"))?
        .ok_or_else(|| format!("message {turn} was not there"))?;
        if read.packet != message {
            return Err(format!(
                "message {turn} came back as another (lost or reordered)"
            ));
        }
        unacknowledged = Some(read.id);
        counters.messages.fetch_add(1, Ordering::Relaxed);

        if turn.is_multiple_of(10) {
            let part = ChunkSeed::random(&mut rng).part(0);
            let bytes = axum::body::Bytes::from(vec![(turn % 251) as u8; PART_BYTES]);
            relay
                .put_part(&part, bytes.clone())
                .await
                .map_err(|e| format!("upload {turn}: {e}"))?;
            let mut back = Vec::with_capacity(PART_BYTES);
            relay
                .get_part(&part, 0, PART_BYTES as u64, &mut back)
                .await
                .map_err(|e| format!("download {turn}: {e}"))?;
            if back != bytes {
                return Err(format!("part {turn} came back changed"));
            }
            relay
                .delete_part(&part)
                .await
                .map_err(|e| format!("delete part {turn}: {e}"))?;
            counters.parts.fetch_add(1, Ordering::Relaxed);
        }
        if turn.is_multiple_of(5) {
            let unix = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let keys = relay
                .sphinx_keys()
                .await
                .map_err(|e| format!("keys: {e}"))?;
            let key = keys
                .iter()
                .find(|k| k.covers(unix))
                .ok_or("no Sphinx key for now")?
                .key;
            let mut batch = Vec::new();
            for _ in 0..4 {
                let packet = build_packet(
                    &[Hop { address: hop, key }],
                    &Delivery::Drop,
                    &[Duration::ZERO],
                    &mut rng,
                )
                .map_err(|e| e.to_string())?;
                batch.extend_from_slice(&packet);
            }
            relay
                .send_packets(batch)
                .await
                .map_err(|e| format!("packets {turn}: {e}"))?;
            counters.packets.fetch_add(4, Ordering::Relaxed);
        }
    }
    if let Some(ack) = unacknowledged {
        relay
            .ack(&queue, &ack, SystemTime::now(), &mut rng)
            .await
            .map_err(|e| format!("last ack: {e}"))?;
    }
    match relay.next(&queue, SystemTime::now(), &mut rng).await {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err("a message was left over (doubled)".into()),
        Err(e) => Err(format!("last read: {e}")),
    }
}

fn sample(pid: u32, data: &Path, started: Instant, counters: &Counters) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count() as u64)
        .unwrap_or(0);
    Sample {
        at: started.elapsed(),
        rss_kib,
        fds,
        disk_kib: size_of(data) / 1024,
        messages: counters.messages.load(Ordering::Relaxed),
    }
}

/// Bytes of the files under `path`.
fn size_of(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                size_of(&path)
            } else {
                entry.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

fn report(samples: &[Sample], counters: &Counters, took: f64) {
    println!("| s | RSS MiB | fds | disk MiB | messages |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for s in samples {
        println!(
            "| {:.0} | {:.1} | {} | {:.1} | {} |",
            s.at.as_secs_f64(),
            s.rss_kib as f64 / 1024.0,
            s.fds,
            s.disk_kib as f64 / 1024.0,
            s.messages
        );
    }
    let messages = counters.messages.load(Ordering::Relaxed);
    println!(
        "moved: {messages} messages ({:.0} / s), {} attachment parts of 256 KiB, {} drop packets",
        messages as f64 / took,
        counters.parts.load(Ordering::Relaxed),
        counters.packets.load(Ordering::Relaxed),
    );
    // Flat or not: the last fifth of the run against the second (after warm-up).
    let fifth = samples.len() / 5;
    if fifth == 0 {
        println!("too short a run to compare its parts");
        return;
    }
    let mean = |part: &[Sample], f: fn(&Sample) -> u64| {
        part.iter().map(f).sum::<u64>() as f64 / part.len() as f64
    };
    let (early, late) = (
        &samples[fifth..2 * fifth],
        &samples[samples.len() - fifth..],
    );
    for (name, f) in [
        ("RSS", (|s: &Sample| s.rss_kib) as fn(&Sample) -> u64),
        ("file descriptors", |s: &Sample| s.fds),
        ("disk", |s: &Sample| s.disk_kib),
    ] {
        let (before, after) = (mean(early, f), mean(late, f));
        println!(
            "{name}: last fifth / second fifth = {:.2}x ({before:.0} -> {after:.0})",
            after / before.max(1.0)
        );
    }
}

/// The relay process, killed when the soak ends (or fails).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
