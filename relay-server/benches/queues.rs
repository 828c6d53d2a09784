//! Relay queue throughput: messages written, read and acknowledged per second through the
//! relay's HTTPS API on loopback, against raw SQLite doing the same row work on the
//! relay's own schema, in one run.
//!
//! - Raw (the baseline): rusqlite on a database made by `SqliteStore::open` (so the schema
//!   is exactly the relay's), with the relay's pragmas (WAL, `synchronous = FULL`,
//!   exclusive locking, `secure_delete`, foreign keys). Per message, as the relay's storage
//!   does it minus HTTP and authentication: insert the message row in one transaction,
//!   select the oldest row of the queue, delete it in a second transaction. Statements
//!   are prepared once.
//! - Relay: an in-process relay (`Relay::open` on a temporary data directory, the real
//!   SQLite store, `TlsListener` with the relay identity's certificate on 127.0.0.1)
//!   driven by the core's `RelayClient` (pinned HTTPS): per message `send` + `next` +
//!   `ack`, three signed requests. With concurrency *c*, *c* clients each drive their own
//!   queue at the same time (the relay is expected to overlap their requests while the
//!   disk syncs).
//!
//! The ratio relay / raw (messages per second) is printed for each concurrency; the target
//! is at least 0.5x. Rounds of the contenders are interleaved and the best round of each
//! is kept (the machine is shared), so load from other processes affects all alike; the
//! median and range of the round-by-round ratios are printed beside it.
//!
//! Then the pieces of one request are timed on their own, to show where the relay's time
//! goes: an HTTPS round trip with neither signature nor storage (`/v1/info`), signing a
//! request, the store's signed write and read called directly (each one synced
//! transaction that also records the nonce), a key lookup through the blocking pool, and
//! whole signed requests (`send`, `next` on an empty queue).
//!
//! `SOTTO_BENCH_QUICK=1` runs a tiny version for smoke tests.
//! Run with `cargo bench -p sotto-relay --bench queues`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};
use rusqlite::{Connection, OptionalExtension as _, params};
use sotto_core::relay::OwnQueue;
use sotto_core::relay::{Host, QueueKeyPair, RelayAddress};
use sotto_core::transport::RelayClient;
use sotto_relay::config::{Limits, LogLevel, MixSettings, Settings};
use sotto_relay::server::Relay;
use sotto_relay::storage::{
    Day, NonceBucket, QueueKeys, RelayStore as _, RequestNonce, SqliteStore,
};
use sotto_relay::tls::TlsListener;
use sotto_relay::{RelayIdentity, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Size of a message body: one Sphinx-sized packet.
const BODY_LEN: usize = 4096;

/// How much to measure.
struct Plan {
    /// Messages per round (per contender, split among the concurrent clients).
    messages: usize,
    /// Interleaved rounds; the best of each contender is kept.
    rounds: usize,
}

fn plan() -> Plan {
    if std::env::var_os("SOTTO_BENCH_QUICK").is_some() {
        Plan {
            messages: 16,
            rounds: 1,
        }
    } else {
        Plan {
            messages: 300,
            rounds: 10,
        }
    }
}

fn main() {
    let plan = plan();
    let body: Arc<[u8]> = random_bytes(BODY_LEN).into();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let raw_dir = tempfile::tempdir().expect("temporary directory");
    let mut raw = RawQueue::new(raw_dir.path());
    let relay_dir = tempfile::tempdir().expect("temporary directory");
    let relay = runtime.block_on(RunningRelay::start(relay_dir.path()));
    let mut clients = Vec::new();
    for _ in 0..CONTENDERS.iter().map(|(_, c)| *c).max().unwrap_or(1) {
        clients.push(Arc::new(runtime.block_on(Worker::new(&relay.address))));
    }

    println!(
        "relay queues: {} messages of {BODY_LEN} bytes per round, best of {} rounds",
        plan.messages, plan.rounds
    );
    // Warm-up: both paths once, untimed (connections, caches, the WAL's first growth).
    raw.round(&body, plan.messages.min(100));
    for protocol in [Protocol::Separate, Protocol::Combined] {
        runtime.block_on(relay_round(
            &clients[..1],
            &body,
            plan.messages.min(100),
            protocol,
        ));
    }

    // Round by round: raw, then each relay contender, so that the disk's and the machine's
    // load at that moment weighs on all of them.
    let mut raw_rounds = Vec::new();
    let mut raw_latencies = Vec::new();
    let mut relay_rounds = vec![Vec::new(); CONTENDERS.len()];
    let mut relay_latencies = vec![Vec::new(); CONTENDERS.len()];
    for _ in 0..plan.rounds {
        let (took, latencies) = raw.round(&body, plan.messages);
        raw_rounds.push(took);
        raw_latencies.extend(latencies);
        for ((rounds, latencies), &(protocol, concurrency)) in relay_rounds
            .iter_mut()
            .zip(relay_latencies.iter_mut())
            .zip(&CONTENDERS)
        {
            let (took, requests) = runtime.block_on(relay_round(
                &clients[..concurrency],
                &body,
                plan.messages,
                protocol,
            ));
            rounds.push(took);
            latencies.extend(requests);
        }
    }
    let best_raw = raw_rounds.iter().copied().min().unwrap_or_default();
    let best_relay: Vec<Duration> = relay_rounds
        .iter()
        .map(|rounds| rounds.iter().copied().min().unwrap_or_default())
        .collect();

    let per_second = |took: Duration| plan.messages as f64 / took.as_secs_f64();
    let micros = |took: Duration| took.as_secs_f64() * 1e6 / plan.messages as f64;
    println!("| contender | µs / message | messages / s | p50 µs / request | p99 µs / request |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let (p50, p99) = percentiles(&mut raw_latencies);
    println!(
        "| raw rusqlite: insert + select + delete, 2 transactions | {:.1} | {:.0} | {p50:.0} | {p99:.0} |",
        micros(best_raw),
        per_second(best_raw)
    );
    for ((&took, &(protocol, concurrency)), latencies) in best_relay
        .iter()
        .zip(&CONTENDERS)
        .zip(relay_latencies.iter_mut())
    {
        let (p50, p99) = percentiles(latencies);
        println!(
            "| relay over HTTPS: {}, {concurrency} concurrent | {:.1} | {:.0} | {p50:.0} | {p99:.0} |",
            protocol.describe(),
            micros(took),
            per_second(took)
        );
    }
    for ((&took, rounds), &(protocol, concurrency)) in
        best_relay.iter().zip(&relay_rounds).zip(&CONTENDERS)
    {
        let target = if concurrency == 1 { 0.5 } else { 1.0 };
        // The same ratio round by round (each relay round against the raw round just
        // before it): its median shows how steady the best-of figure is.
        let mut ratios: Vec<f64> = rounds
            .iter()
            .zip(&raw_rounds)
            .map(|(relay, raw)| raw.as_secs_f64() / relay.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "relay / raw, {}, {concurrency} concurrent: {:.2}x best of each (target >= {target}x); \
             round by round: median {:.2}x, range {:.2}x to {:.2}x",
            protocol.describe(),
            per_second(took) / per_second(best_raw),
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
        );
    }

    let repeats = plan.messages;
    println!("where one request's time goes (mean of {repeats}, one after the other):");
    runtime.block_on(breakdown(&clients[0], &relay.address, &body, repeats));

    runtime.block_on(relay.stop());
}

/// The median and the 99th percentile of `latencies`, in µs (a request's or a raw
/// transaction's time, from all rounds).
fn percentiles(latencies: &mut [Duration]) -> (f64, f64) {
    if latencies.is_empty() {
        return (0.0, 0.0);
    }
    latencies.sort();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1e6
    };
    (at(0.50), at(0.99))
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// The baseline: the relay's schema and pragmas, one queue, rows written and deleted by
/// hand.
struct RawQueue {
    conn: Connection,
    queue: [u8; 16],
    next_seq: i64,
}

impl RawQueue {
    fn new(dir: &Path) -> Self {
        // The relay's own store makes the file: schema, header, WAL.
        let store = SqliteStore::open(dir, Limits::default().policy()).expect("store opens");
        let path = store.path().to_owned();
        store.close().expect("store closes");
        let conn = Connection::open(path).expect("open the data file");
        conn.execute_batch(
            "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;",
        )
        .expect("pragmas");
        let mut queue = [0; 16];
        rand::rng().fill_bytes(&mut queue);
        let mut sender = [0; 16];
        rand::rng().fill_bytes(&mut sender);
        conn.execute(
            "INSERT INTO queues (recipient_id, sender_id, recipient_key, sender_key, expires_day)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&queue[..], &sender[..], [5u8; 33], [6u8; 33], i64::MAX / 2],
        )
        .expect("a queue");
        Self {
            conn,
            queue,
            next_seq: 1,
        }
    }

    /// Writes, reads and deletes `messages` messages, one after the other; the round's
    /// time and each transaction's.
    fn round(&mut self, body: &[u8], messages: usize) -> (Duration, Vec<Duration>) {
        let today = Day::from_unix_seconds(unix_now()).0 as i64;
        let conn = &self.conn;
        let prepare = |sql| conn.prepare_cached(sql).expect("prepare");
        let mut begin = prepare("BEGIN IMMEDIATE");
        let mut commit = prepare("COMMIT");
        let mut insert = prepare(
            "INSERT INTO messages (queue, seq, message_id, body, expires_day)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        );
        let mut select = prepare(
            "SELECT message_id, body FROM messages
             WHERE queue = ?1 AND expires_day >= ?2 ORDER BY seq LIMIT 1",
        );
        let mut delete = prepare(
            "DELETE FROM messages WHERE queue = ?1 AND message_id = ?2 AND expires_day >= ?3",
        );
        let mut latencies = Vec::with_capacity(messages * 2);
        let start = Instant::now();
        for _ in 0..messages {
            let mut id = [0; 16];
            rand::rng().fill_bytes(&mut id);
            let written = Instant::now();
            begin.execute([]).expect("begin");
            insert
                .execute(params![
                    &self.queue[..],
                    self.next_seq,
                    &id[..],
                    body,
                    today + 21
                ])
                .expect("insert");
            commit.execute([]).expect("commit");
            latencies.push(written.elapsed());
            self.next_seq += 1;
            let read = Instant::now();
            let (read_id, read_body): (Vec<u8>, Vec<u8>) = select
                .query_row(params![&self.queue[..], today], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()
                .expect("select")
                .expect("the message just written");
            assert_eq!(read_body.len(), body.len());
            begin.execute([]).expect("begin");
            let deleted = delete
                .execute(params![&self.queue[..], read_id, today])
                .expect("delete");
            assert_eq!(deleted, 1);
            commit.execute([]).expect("commit");
            latencies.push(read.elapsed());
        }
        (start.elapsed(), latencies)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A relay served over TLS on loopback by this process.
struct RunningRelay {
    address: RelayAddress,
    stop: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
}

impl RunningRelay {
    async fn start(data_dir: &Path) -> Self {
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
            mix: MixSettings::default(),
        };
        let identity = Arc::new(RelayIdentity::load_or_create(data_dir).expect("relay identity"));
        let tls = Arc::new(identity.server_config().expect("TLS configuration"));
        let relay = Relay::open(&settings, Arc::clone(&identity), Arc::new(SystemClock))
            .expect("relay opens");
        let listener = TcpListener::bind(settings.listen).await.expect("bind");
        let port = listener.local_addr().expect("local address").port();
        let address = settings
            .relay_address(identity.public_key(), port)
            .expect("relay address");
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            relay
                .run(TlsListener::new(listener, tls), async move {
                    let _ = stopped.await;
                })
                .await
                .expect("the relay serves");
        });
        Self {
            address,
            stop,
            served,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.served.await.expect("the relay stops");
    }
}

/// One client of the relay with its own queue, as a recipient that also writes to itself.
struct Worker {
    client: RelayClient,
    queue: OwnQueue,
}

impl Worker {
    async fn new(address: &RelayAddress) -> Self {
        let client = RelayClient::new(address.clone()).expect("client");
        let queue = client
            .create_queue(SystemTime::now(), &mut rand::rng())
            .await
            .expect("a queue");
        Self { client, queue }
    }

    /// Sends, reads and acknowledges `messages` messages, one after the other, the way
    /// `protocol` says.
    async fn run(&self, body: &[u8], messages: usize, protocol: Protocol) -> Vec<Duration> {
        let capability = self.queue.capability();
        // A `Send` generator: the worker runs as a task of its own.
        let mut rng = StdRng::from_rng(&mut rand::rng());
        let mut unacknowledged = None;
        let mut latencies = Vec::with_capacity(messages * 3);
        let mut request = Instant::now();
        let mut lap = |latencies: &mut Vec<Duration>| {
            latencies.push(request.elapsed());
            request = Instant::now();
        };
        for _ in 0..messages {
            self.client
                .send(&capability, body, SystemTime::now(), &mut rng)
                .await
                .expect("send");
            lap(&mut latencies);
            let read = match unacknowledged.take() {
                Some(ack) => self
                    .client
                    .ack_then_next(&self.queue, &ack, None, SystemTime::now(), &mut rng)
                    .await
                    .expect("ack then next"),
                None => self
                    .client
                    .next(&self.queue, SystemTime::now(), &mut rng)
                    .await
                    .expect("next"),
            }
            .expect("the message just sent");
            lap(&mut latencies);
            assert_eq!(read.packet.len(), body.len());
            match protocol {
                Protocol::Separate => {
                    self.client
                        .ack(&self.queue, &read.id, SystemTime::now(), &mut rng)
                        .await
                        .expect("ack");
                    lap(&mut latencies);
                }
                Protocol::Combined => unacknowledged = Some(read.id),
            }
        }
        // The last message's acknowledgement, on its own (part of the round's time).
        if let Some(ack) = unacknowledged {
            self.client
                .ack(&self.queue, &ack, SystemTime::now(), &mut rng)
                .await
                .expect("ack");
            lap(&mut latencies);
        }
        latencies
    }
}

/// How a client reads and acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `send`, `next`, `ack`: three signed requests (and three synced commits) a message.
    Separate,
    /// `send`, then a `next` that acknowledges the message read before: two of each.
    Combined,
}

impl Protocol {
    fn describe(self) -> &'static str {
        match self {
            Protocol::Separate => "send + next + ack",
            Protocol::Combined => "send + next acknowledging the one before",
        }
    }
}

/// The relay's contenders: each protocol at each concurrency.
const CONTENDERS: [(Protocol, usize); 4] = [
    (Protocol::Separate, 1),
    (Protocol::Combined, 1),
    (Protocol::Separate, 8),
    (Protocol::Combined, 8),
];

/// `messages` messages through the relay, split among `workers`, each a task of its own
/// (so the clients' signing runs on the runtime's threads beside the relay's handlers).
async fn relay_round(
    workers: &[Arc<Worker>],
    body: &Arc<[u8]>,
    messages: usize,
    protocol: Protocol,
) -> (Duration, Vec<Duration>) {
    let share = |i: usize| messages / workers.len() + usize::from(i < messages % workers.len());
    let start = Instant::now();
    let mut runs = tokio::task::JoinSet::new();
    for (i, worker) in workers.iter().enumerate() {
        let (worker, body, count) = (Arc::clone(worker), Arc::clone(body), share(i));
        runs.spawn(async move { worker.run(&body, count, protocol).await });
    }
    let mut latencies = Vec::new();
    while let Some(done) = runs.join_next().await {
        latencies.extend(done.expect("a client task"));
    }
    (start.elapsed(), latencies)
}

/// Times the pieces of one request, `repeats` times each, and prints their means.
async fn breakdown(worker: &Worker, address: &RelayAddress, body: &[u8], repeats: usize) {
    let report = |what: &str, took: Duration| {
        println!(
            "  {what}: {:.1} µs",
            took.as_secs_f64() * 1e6 / repeats as f64
        );
    };
    let mut rng = StdRng::from_rng(&mut rand::rng());
    let start = Instant::now();
    for _ in 0..repeats {
        worker.client.info().await.expect("info");
    }
    report(
        "HTTPS round trip, unsigned, no storage (GET /v1/info)",
        start.elapsed(),
    );
    let key = QueueKeyPair::generate(&mut rng);
    let start = Instant::now();
    for _ in 0..repeats {
        key.sign(
            address.key(),
            unix_now(),
            "POST",
            "/v1/send/x",
            body,
            &mut rng,
        )
        .expect("sign");
    }
    report("signing a send (client)", start.elapsed());

    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(SqliteStore::open(dir.path(), Limits::default().policy()).expect("store"));
    let today = Day::from_unix_seconds(unix_now());
    let nonce = || {
        let mut nonce = [0; 16];
        rand::rng().fill_bytes(&mut nonce);
        RequestNonce {
            nonce,
            expires: NonceBucket::from_unix_seconds(unix_now() + 600),
        }
    };
    let keys = QueueKeys {
        recipient_key: key.public(),
        sender_key: key.public(),
    };
    let queue = store.create_queue(&keys, today, &nonce()).expect("a queue");
    let start = Instant::now();
    for _ in 0..repeats {
        store
            .write_message(&queue.sender_id, body, today, &nonce())
            .expect("write");
    }
    report(
        "store: write_message with its nonce (one synced transaction)",
        start.elapsed(),
    );
    let start = Instant::now();
    for _ in 0..repeats {
        store
            .next_message(&queue.recipient_id, today, &nonce())
            .expect("next");
    }
    report(
        "store: next_message with its nonce (one synced transaction)",
        start.elapsed(),
    );
    let start = Instant::now();
    for _ in 0..repeats {
        let (store, recipient) = (Arc::clone(&store), queue.recipient_id);
        tokio::task::spawn_blocking(move || store.recipient_key(&recipient, today))
            .await
            .expect("blocking task")
            .expect("lookup");
    }
    report(
        "store: key lookup through the blocking pool",
        start.elapsed(),
    );

    let capability = worker.queue.capability();
    let start = Instant::now();
    for _ in 0..repeats {
        worker
            .client
            .send(&capability, body, SystemTime::now(), &mut rng)
            .await
            .expect("send");
    }
    report("relay: signed send over HTTPS", start.elapsed());
    // Empty the queue again, untimed, then time reads of an empty queue.
    while let Some(read) = worker
        .client
        .next(&worker.queue, SystemTime::now(), &mut rng)
        .await
        .expect("next")
    {
        worker
            .client
            .ack(&worker.queue, &read.id, SystemTime::now(), &mut rng)
            .await
            .expect("ack");
    }
    let start = Instant::now();
    for _ in 0..repeats {
        worker
            .client
            .next(&worker.queue, SystemTime::now(), &mut rng)
            .await
            .expect("next");
    }
    report(
        "relay: signed next on an empty queue over HTTPS",
        start.elapsed(),
    );
}
