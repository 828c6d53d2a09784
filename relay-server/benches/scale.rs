//! Relay scale: what an idle queue and a stored message cost in disk and memory, and
//! whether the cost of a write stays flat as the number of queues grows.
//!
//! For each population *N* (0, 10,000, 100,000 and 1,000,000 queues):
//!
//! 1. A data directory is made by the relay's own store (`SqliteStore::open`, so the
//!    schema is exactly the relay's), and *N* idle queues (random ids, random 33-byte keys,
//!    the default expiry) are inserted into it with rusqlite in one transaction — going
//!    through the API would cost one synced transaction per queue and prove nothing more.
//!    The store is closed (the WAL checkpointed), and the data file's size is taken.
//! 2. A `sotto-relay` process is started on it (the binary, over TLS on loopback), and the
//!    core's `RelayClient` creates a few queues and writes messages into them through the
//!    real path (signed HTTPS requests, the nonce recorded, the write synced): the time
//!    per write, best of several rounds, and the process's resident memory (`VmRSS` from
//!    `/proc/PID/status`) after the writes. The relays of all populations run at once and
//!    take their rounds in turn, so the machine's load weighs on all alike.
//! 3. The relay is stopped with SIGTERM (it checkpoints the WAL and closes the store), and
//!    the data directory's size (data file + WAL, if any) is taken again.
//!
//! Per idle queue: disk and memory over the empty relay's, divided by *N*. Per stored
//! message: the growth of the data directory over the writes, divided by the messages
//! (each message's request nonce, kept for up to fifteen minutes, included). The ratio
//! of the write cost at 100,000 (and 1,000,000) queues to that at 10,000 shows whether it
//! stays flat.
//!
//! `SOTTO_BENCH_QUICK=1` runs a tiny version for smoke tests.
//! Run with `cargo bench -p sotto-relay --bench scale`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use rand::RngCore as _;
use rusqlite::{Connection, params};
use sotto_core::relay::OwnQueue;
use sotto_core::transport::RelayClient;
use sotto_relay::config::Limits;
use sotto_relay::storage::sqlite::DATA_FILE;
use sotto_relay::storage::{Day, SqliteStore};

#[path = "../tests/common/process.rs"]
mod process;
use process::spawn_relay;

/// Size of a message body: one Sphinx-sized packet.
const BODY_LEN: usize = 4096;
/// Queues the measured writes go to (round-robin).
const WRITE_QUEUES: usize = 8;

/// How much to measure.
struct Plan {
    /// Idle-queue populations, the first 0 (the empty relay everything is compared with).
    populations: &'static [u64],
    /// Writes per round.
    writes: usize,
    /// Rounds of writes; the best round gives the cost per write.
    rounds: usize,
}

fn plan() -> Plan {
    if std::env::var_os("SOTTO_BENCH_QUICK").is_some() {
        Plan {
            populations: &[0, 200, 1000],
            writes: 5,
            rounds: 1,
        }
    } else {
        Plan {
            populations: &[0, 10_000, 100_000, 1_000_000],
            writes: 100,
            rounds: 10,
        }
    }
}

/// What one population measured.
struct Measured {
    queues: u64,
    populate: Duration,
    idle_disk: u64,
    disk_after: u64,
    rss_after: u64,
    write: Duration,
    messages: u64,
}

fn main() {
    let plan = plan();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "relay scale: {} writes of {BODY_LEN} bytes per round, best of {} rounds, per population",
        plan.writes, plan.rounds
    );
    let results = measure_all(&plan, &runtime);
    let empty = &results[0];
    println!(
        "| idle queues | populate s | disk idle MiB | disk B / queue | RSS MiB | RSS B / queue \
         | disk B / message | µs / write |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for m in &results {
        let per_queue = |value: u64, base: u64| {
            if m.queues == 0 {
                "—".to_owned()
            } else {
                format!("{:.0}", (value as f64 - base as f64) / m.queues as f64)
            }
        };
        println!(
            "| {} | {:.1} | {:.1} | {} | {:.1} | {} | {:.0} | {:.1} |",
            m.queues,
            m.populate.as_secs_f64(),
            mib(m.idle_disk),
            per_queue(m.idle_disk, empty.idle_disk),
            mib(m.rss_after),
            per_queue(m.rss_after, empty.rss_after),
            (m.disk_after as f64 - m.idle_disk as f64) / m.messages as f64,
            micros(m.write),
        );
    }
    if let Some(base) = results.get(1) {
        for m in &results[2..] {
            println!(
                "write cost at {} queues / at {} queues: {:.2}x (flat: about 1x)",
                m.queues,
                base.queues,
                m.write.as_secs_f64() / base.write.as_secs_f64()
            );
        }
    }
}

fn micros(per_write: Duration) -> f64 {
    per_write.as_secs_f64() * 1e6
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A relay process on one population, with the queues the measured writes go to.
struct Population {
    queues: u64,
    dir: tempfile::TempDir,
    populate: Duration,
    idle_disk: u64,
    child: Child,
    client: RelayClient,
    own: Vec<OwnQueue>,
    rounds: Vec<Duration>,
}

/// Populates every data directory, starts a relay on each, then writes to them round by
/// round — one round per relay in turn, so the machine's load at each moment weighs on
/// all populations alike — and measures each.
fn measure_all(plan: &Plan, runtime: &tokio::runtime::Runtime) -> Vec<Measured> {
    let body = random_bytes(BODY_LEN);
    let mut populations: Vec<Population> = plan
        .populations
        .iter()
        .map(|&queues| {
            let dir = tempfile::tempdir().expect("temporary directory");
            let start = Instant::now();
            populate(dir.path(), queues);
            let populate = start.elapsed();
            let idle_disk = disk_usage(dir.path());
            let (child, address, _) =
                spawn_relay(dir.path(), &["--log-level", "error"], Stdio::null());
            let client = RelayClient::new(address).expect("client");
            let own = runtime.block_on(async {
                let mut own = Vec::new();
                for _ in 0..WRITE_QUEUES {
                    own.push(
                        client
                            .create_queue(SystemTime::now(), &mut rand::rng())
                            .await
                            .expect("a queue"),
                    );
                }
                // Warm-up: one write per queue, untimed.
                write_round(&client, &own, &body, own.len()).await;
                own
            });
            println!(
                "  {queues} queues: populated in {:.1} s",
                populate.as_secs_f64()
            );
            Population {
                queues,
                dir,
                populate,
                idle_disk,
                child,
                client,
                own,
                rounds: Vec::new(),
            }
        })
        .collect();
    for _ in 0..plan.rounds {
        for population in &mut populations {
            let took = runtime.block_on(write_round(
                &population.client,
                &population.own,
                &body,
                plan.writes,
            ));
            population.rounds.push(took);
        }
    }
    populations
        .into_iter()
        .map(|mut population| {
            let rss_after = resident_bytes(population.child.id());
            stop(&mut population.child);
            let best = population.rounds.iter().copied().min().unwrap_or_default();
            Measured {
                queues: population.queues,
                populate: population.populate,
                idle_disk: population.idle_disk,
                disk_after: disk_usage(population.dir.path()),
                rss_after,
                write: best / plan.writes as u32,
                messages: (population.own.len() + plan.rounds * plan.writes) as u64,
            }
        })
        .collect()
}

/// Writes `writes` messages into `queues`, round-robin, one after the other.
async fn write_round(
    client: &RelayClient,
    queues: &[OwnQueue],
    body: &[u8],
    writes: usize,
) -> Duration {
    let capabilities: Vec<_> = queues.iter().map(OwnQueue::capability).collect();
    let start = Instant::now();
    for to in capabilities.iter().cycle().take(writes) {
        client
            .send(to, body, SystemTime::now(), &mut rand::rng())
            .await
            .expect("send");
    }
    start.elapsed()
}

/// Makes the relay's data file in `dir` and inserts `queues` idle queues into it.
fn populate(dir: &Path, queues: u64) {
    let store = SqliteStore::open(dir, Limits::default().policy()).expect("store opens");
    let path = store.path().to_owned();
    store.close().expect("store closes");
    let mut conn = Connection::open(&path).expect("open the data file");
    // The populating connection only: a larger page cache for the one big transaction.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA cache_size = -65536;")
        .expect("pragmas");
    let expires = Day::from_unix_seconds(unix_now())
        .plus(Limits::default().message_expiry_days)
        .0 as i64;
    let tx = conn.transaction().expect("begin");
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO queues (recipient_id, sender_id, recipient_key, sender_key, \
                 expires_day) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .expect("prepare");
        let mut rng = rand::rng();
        let mut bytes = [0u8; 16 + 16 + 33 + 33];
        for _ in 0..queues {
            rng.fill_bytes(&mut bytes);
            let (recipient, rest) = bytes.split_at(16);
            let (sender, rest) = rest.split_at(16);
            let (recipient_key, sender_key) = rest.split_at(33);
            insert
                .execute(params![
                    recipient,
                    sender,
                    recipient_key,
                    sender_key,
                    expires
                ])
                .expect("a queue");
        }
    }
    tx.commit().expect("commit");
    conn.close().map_err(|(_, e)| e).expect("close");
}

/// Bytes of the data file and its WAL.
fn disk_usage(dir: &Path) -> u64 {
    let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
    size(DATA_FILE) + size(&format!("{DATA_FILE}-wal"))
}

/// The resident memory of process `pid`, from `/proc/PID/status`.
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .expect("VmRSS in the status")
}

/// Stops the relay as an operator does (SIGTERM: it finishes, checkpoints and closes).
fn stop(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "the relay is signalled");
    let exit = child.wait().expect("the relay exits");
    assert!(exit.success(), "the relay stops cleanly: {exit}");
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
