//! Store benchmark: the SQLCipher [`Store`] against raw rusqlite on the same schema, key
//! and settings, in one run.
//!
//! 1. Receive throughput. One received message is one change set, as `Profile::receive`
//!    writes it: the incoming message (a ~200-byte content frame), the contact row (its
//!    `shown_through` advances) and the libsignal session record (~2.5 KiB of opaque
//!    bytes, the ratchet's new state).
//!    - Store: `SqlCipherStore::apply` of that `ChangeSet`, one transaction per message.
//!    - Raw: the same three upserts with statements prepared once, in a `BEGIN IMMEDIATE`
//!      … `COMMIT` per message, on a connection with the store's pragmas (WAL,
//!      `synchronous = FULL`, `secure_delete`, ...).
//!
//!    Both databases are made by `SqlCipherStore::create` (so the schema is exactly the
//!    store's) and live side by side in one temporary directory. Target: the store at least
//!    0.5x the raw messages per second.
//! 2. Opening a large profile. 100,000 messages over 20 contacts (5,000 per conversation);
//!    each measurement opens a fresh connection and reads the newest 50 messages of one
//!    conversation.
//!    - Store: `SqlCipherStore::open` + `recent_messages(contact, 50)`.
//!    - Raw: `rusqlite::Connection::open` + `PRAGMA key` + the same `SELECT … ORDER BY …
//!      LIMIT 50` on the same file.
//!    - Empty: the store's open + `recent_messages` on a profile with the same contacts
//!      and sessions but no messages.
//!
//!    Targets: the store at most 2x raw, and at most 1.5x the empty profile. The headline
//!    profile interleaves the conversations message by message (the worst case for
//!    locality); the same profile with conversations in runs of 25 messages, and the
//!    store's open alone (full against empty), are printed beside it to show where the
//!    time goes.
//!
//! Rounds of the contenders are interleaved and the best round of each is kept (the
//! machine is shared), so load from other processes affects all alike; the opens also
//! report their median.
//!
//! `SOTTO_BENCH_QUICK=1` runs a tiny version for smoke tests.
//! Run with `cargo bench -p sotto-core --bench store`.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_executor::block_on;
use rand::RngCore;
use rusqlite::{Connection, Statement, params};
use sotto_core::store::{
    ChangeSet, ContactRecord, DatabaseKey, MessageDirection, MessageRecord, MessageStatus,
    SqlCipherStore, Store,
};

/// Contacts of every profile in the bench.
const CONTACTS: usize = 20;
/// Size of an encoded content frame of a short text message.
const FRAME_LEN: usize = 200;
/// Size of a serialized libsignal session record (PQXDH session with a few chains).
const SESSION_LEN: usize = 2560;
/// Messages read when a conversation opens.
const RECENT: usize = 50;
/// Time of the first message, ms since the Unix epoch.
const FIRST_MS: u64 = 1_790_000_000_000;

/// The store's settings after the key, as `SqlCipherStore` applies them.
const STORE_PRAGMAS: &str = "PRAGMA cipher_compatibility = 4; PRAGMA temp_store = MEMORY; \
     PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF; \
     PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;";

const SESSION_UPSERT: &str = "INSERT INTO sessions (address, record) VALUES (?1, ?2) \
     ON CONFLICT (address) DO UPDATE SET record = excluded.record";
const CONTACT_UPSERT: &str = "INSERT OR REPLACE INTO contacts (id, identity_key, display_name, \
     verified, pending_identity_key, last_sent_sequence, shown_through, awaiting_reply) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
const MESSAGE_UPSERT: &str = "INSERT INTO messages (contact, direction, id, sequence, at_ms, \
     frame, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
     ON CONFLICT (contact, direction, id) DO UPDATE SET sequence = excluded.sequence, \
     at_ms = excluded.at_ms, frame = excluded.frame, status = excluded.status";
const RECENT_SELECT: &str = "SELECT contact, direction, id, sequence, at_ms, frame, status \
     FROM messages WHERE contact = ?1 \
     ORDER BY at_ms DESC, direction DESC, sequence DESC LIMIT ?2";

/// `MessageDirection::Incoming` and `MessageStatus::Shown` as the schema stores them.
const INCOMING: i64 = 0;
const SHOWN: i64 = 5;

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A contact as the profile keeps it: local id, libsignal address, identity key.
struct Contact {
    id: String,
    address: String,
    identity_key: Vec<u8>,
}

fn make_contacts() -> Vec<Contact> {
    (0..CONTACTS)
        .map(|_| Contact {
            id: hex(&random_bytes(16)),
            address: format!("{}.1", hex(&random_bytes(33))),
            identity_key: random_bytes(33),
        })
        .collect()
}

fn contact_record(contact: &Contact, shown_through: u64) -> ContactRecord {
    ContactRecord {
        id: contact.id.clone(),
        identity_key: contact.identity_key.clone(),
        display_name: None,
        verified: false,
        pending_identity_key: None,
        last_sent_sequence: 0,
        shown_through,
        awaiting_reply: false,
    }
}

/// One received message: what the ratchet and the content layer hand to the store.
struct Incoming {
    contact: usize,
    id: [u8; 16],
    sequence: u64,
    at_ms: u64,
    frame: Vec<u8>,
    session: Vec<u8>,
}

/// Messages `first..first + count` of a profile, one millisecond apart. The contacts take
/// turns in runs of `run` messages: `run = 1` interleaves every conversation with all the
/// others (a conversation's messages are spread over the whole table), a longer run is a
/// chat that goes back and forth for a while before the next one.
fn incoming(first: u64, count: u64, run: u64) -> Vec<Incoming> {
    let contacts = CONTACTS as u64;
    (first..first + count)
        .map(|n| {
            let mut id = [0; 16];
            rand::rng().fill_bytes(&mut id);
            let block = n / run;
            Incoming {
                contact: (block % contacts) as usize,
                id,
                sequence: block / contacts * run + n % run + 1,
                at_ms: FIRST_MS + n,
                frame: random_bytes(FRAME_LEN),
                session: random_bytes(SESSION_LEN),
            }
        })
        .collect()
}

/// A new store at `path` holding the contacts and a session with each, no messages.
fn create_profile(path: &Path, key: &DatabaseKey, contacts: &[Contact]) {
    let store = SqlCipherStore::create(path, key).expect("create the store");
    let mut changes = ChangeSet::default();
    for contact in contacts {
        changes
            .contacts
            .insert(contact.id.clone(), contact_record(contact, 0));
        changes
            .sessions
            .insert(contact.address.clone(), random_bytes(SESSION_LEN));
    }
    block_on(store.apply(changes)).expect("seed the contacts");
}

/// A connection to a store file that bypasses the store: the key, then `pragmas`.
fn raw_connection(path: &Path, key: &DatabaseKey, pragmas: &str) -> Connection {
    let conn = Connection::open(path).expect("open the database file");
    conn.execute_batch(&format!(
        "PRAGMA key = \"x'{}'\"; {pragmas}",
        hex(key.as_bytes())
    ))
    .expect("key and pragmas");
    conn
}

/// Receives `messages` through `Store::apply`, one change set each.
fn store_receive(store: &SqlCipherStore, contacts: &[Contact], messages: &[Incoming]) {
    for m in messages {
        let contact = &contacts[m.contact];
        let mut changes = ChangeSet::default();
        changes
            .sessions
            .insert(contact.address.clone(), m.session.clone());
        changes.put_message(MessageRecord {
            contact: contact.id.clone(),
            direction: MessageDirection::Incoming,
            id: m.id,
            sequence: m.sequence,
            at_ms: m.at_ms,
            frame: m.frame.clone(),
            status: MessageStatus::Shown,
            deleted: false,
        });
        changes
            .contacts
            .insert(contact.id.clone(), contact_record(contact, m.sequence));
        block_on(store.apply(changes)).expect("apply");
    }
}

/// The raw contender's statements, prepared once.
struct RawStatements<'c> {
    begin: Statement<'c>,
    session: Statement<'c>,
    contact: Statement<'c>,
    message: Statement<'c>,
    commit: Statement<'c>,
}

impl<'c> RawStatements<'c> {
    fn new(conn: &'c Connection) -> Self {
        let prepare = |sql| conn.prepare(sql).expect("prepare");
        Self {
            begin: prepare("BEGIN IMMEDIATE"),
            session: prepare(SESSION_UPSERT),
            contact: prepare(CONTACT_UPSERT),
            message: prepare(MESSAGE_UPSERT),
            commit: prepare("COMMIT"),
        }
    }

    /// Writes the rows `store_receive` writes, in the same order, one transaction each.
    fn receive(&mut self, contacts: &[Contact], messages: &[Incoming]) {
        for m in messages {
            let contact = &contacts[m.contact];
            self.begin.execute([]).expect("begin");
            self.session
                .execute(params![contact.address, m.session])
                .expect("session");
            self.contact
                .execute(params![
                    contact.id,
                    contact.identity_key,
                    None::<String>,
                    false,
                    None::<Vec<u8>>,
                    0_i64,
                    m.sequence as i64,
                    false
                ])
                .expect("contact");
            self.message
                .execute(params![
                    contact.id,
                    INCOMING,
                    &m.id[..],
                    m.sequence as i64,
                    m.at_ms as i64,
                    m.frame,
                    SHOWN
                ])
                .expect("message");
            self.commit.execute([]).expect("commit");
        }
    }
}

/// Fills a profile with `count` messages in runs of `run` per contact, in one raw
/// transaction (setup, not measured).
fn fill(path: &Path, key: &DatabaseKey, contacts: &[Contact], count: u64, run: u64) {
    let conn = raw_connection(path, key, STORE_PRAGMAS);
    conn.execute_batch("BEGIN").expect("begin");
    {
        let mut insert = conn.prepare(MESSAGE_UPSERT).expect("prepare");
        let mut contact = conn.prepare(CONTACT_UPSERT).expect("prepare");
        const BATCH: u64 = 10_000;
        let mut first = 0;
        while first < count {
            let batch = incoming(first, BATCH.min(count - first), run);
            for m in &batch {
                insert
                    .execute(params![
                        contacts[m.contact].id,
                        INCOMING,
                        &m.id[..],
                        m.sequence as i64,
                        m.at_ms as i64,
                        m.frame,
                        SHOWN
                    ])
                    .expect("insert");
            }
            first += batch.len() as u64;
        }
        for c in contacts {
            let shown = count / CONTACTS as u64;
            contact
                .execute(params![
                    c.id,
                    c.identity_key,
                    None::<String>,
                    false,
                    None::<Vec<u8>>,
                    0_i64,
                    shown as i64,
                    false
                ])
                .expect("contact");
        }
    }
    conn.execute_batch("COMMIT").expect("commit");
    // Closing the last connection checkpoints the log into the file and removes it: the
    // profile is at rest, as after the application quit.
}

/// A message row as the raw contender reads it (the columns of `MessageRecord`).
#[allow(dead_code)] // Read so that the raw side decodes every column, as the store does.
struct RawMessage {
    contact: String,
    direction: i64,
    id: Vec<u8>,
    sequence: i64,
    at_ms: i64,
    frame: Vec<u8>,
    status: i64,
}

/// Raw: open, key, the newest `RECENT` messages of `contact`.
fn raw_open_recent(path: &Path, key: &DatabaseKey, contact: &str) -> Vec<RawMessage> {
    let conn = raw_connection(path, key, "");
    let mut stmt = conn.prepare(RECENT_SELECT).expect("prepare");
    stmt.query_map(params![contact, RECENT as i64], |row| {
        Ok(RawMessage {
            contact: row.get(0)?,
            direction: row.get(1)?,
            id: row.get(2)?,
            sequence: row.get(3)?,
            at_ms: row.get(4)?,
            frame: row.get(5)?,
            status: row.get(6)?,
        })
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Store: open, the newest `RECENT` messages of `contact`.
fn store_open_recent(path: &Path, key: &DatabaseKey, contact: &str) -> Vec<MessageRecord> {
    let store = SqlCipherStore::open(path, key).expect("open the store");
    block_on(store.recent_messages(contact, RECENT)).expect("recent messages")
}

/// Times `f`; the value it returns is dropped (the connection closed) after the clock stops.
fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let value = f();
    (start.elapsed(), value)
}

/// Median and best of a set of timings.
struct Timings(Vec<Duration>);

impl Timings {
    fn best(&self) -> Duration {
        self.0.iter().copied().min().unwrap_or_default()
    }

    fn median(&self) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn bench_receive(dir: &Path, per_round: u64, rounds: usize) {
    println!(
        "1. receive: {per_round} messages per round (one change set = message + contact + \
         {SESSION_LEN}-byte session, one transaction each), best of {rounds}"
    );
    let contacts = make_contacts();
    let store_key = DatabaseKey::generate();
    let raw_key = DatabaseKey::generate();
    let store_path = dir.join("receive-store.sqlite");
    let raw_path = dir.join("receive-raw.sqlite");
    create_profile(&store_path, &store_key, &contacts);
    create_profile(&raw_path, &raw_key, &contacts);

    let store = SqlCipherStore::open(&store_path, &store_key).expect("open the store");
    let raw = raw_connection(&raw_path, &raw_key, STORE_PRAGMAS);
    let mut statements = RawStatements::new(&raw);

    let mut store_best = Duration::MAX;
    let mut raw_best = Duration::MAX;
    for round in 0..rounds {
        // Both receive the same messages (each into its own database).
        let messages = incoming(round as u64 * per_round, per_round, 1);
        let (elapsed, ()) = timed(|| store_receive(&store, &contacts, &messages));
        store_best = store_best.min(elapsed);
        let (elapsed, ()) = timed(|| statements.receive(&contacts, &messages));
        raw_best = raw_best.min(elapsed);
    }
    drop(statements);

    // Both hold every message.
    let count = |conn: &Connection| -> i64 {
        conn.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
            .expect("count")
    };
    let expected = (rounds as u64 * per_round) as i64;
    assert_eq!(count(&raw), expected, "raw message count");
    drop(store);
    let check = raw_connection(&store_path, &store_key, "");
    assert_eq!(count(&check), expected, "store message count");

    let rate = |d: Duration| per_round as f64 / d.as_secs_f64();
    let per_message = |d: Duration| d.as_secs_f64() * 1e6 / per_round as f64;
    println!(
        "  raw rusqlite, prepared statements  {:8.1} µs/message  ({:7.0} messages/s)",
        per_message(raw_best),
        rate(raw_best)
    );
    println!(
        "  Store::apply(ChangeSet)            {:8.1} µs/message  ({:7.0} messages/s)",
        per_message(store_best),
        rate(store_best)
    );
    let ratio = rate(store_best) / rate(raw_best);
    println!(
        "  ratio store/raw (messages/s) {ratio:.2}x   (target >= 0.50x: {})",
        verdict(ratio >= 0.5)
    );
}

/// Length of a conversation's runs in the second, clustered layout of the large profile.
const RUN: u64 = 25;

fn bench_open(dir: &Path, messages: u64, repeats: usize) {
    println!(
        "2. open + newest {RECENT} of one conversation: {messages} messages over {CONTACTS} \
         contacts ({} per conversation), {repeats} fresh opens each, median and best",
        messages / CONTACTS as u64
    );
    let contacts = make_contacts();
    let key = DatabaseKey::generate();
    // The same profile twice: conversations interleaved message by message (the headline:
    // the worst case for locality), and in runs of `RUN` messages.
    let interleaved = dir.join("open-interleaved.sqlite");
    let clustered = dir.join("open-clustered.sqlite");
    let empty = dir.join("open-empty.sqlite");
    for (path, run) in [(&interleaved, 1), (&clustered, RUN)] {
        create_profile(path, &key, &contacts);
        let start = Instant::now();
        fill(path, &key, &contacts, messages, run);
        let size = std::fs::metadata(path).expect("size").len();
        println!(
            "  (runs of {run}: filled in {:.1} s, {:.1} MiB)",
            start.elapsed().as_secs_f64(),
            size as f64 / (1024.0 * 1024.0)
        );
    }
    create_profile(&empty, &key, &contacts);

    // The first contact's conversation: its newest message is not the newest of the
    // profile, so the read walks the index rather than the table's end.
    let contact = contacts[0].id.as_str();
    let raw_recent = |path: &Path| {
        let (elapsed, rows) = timed(|| raw_open_recent(path, &key, contact));
        (elapsed, rows.into_iter().map(|m| m.id).collect::<Vec<_>>())
    };
    let store_recent = |path: &Path| {
        let (elapsed, rows) = timed(|| store_open_recent(path, &key, contact));
        (elapsed, rows.into_iter().map(|m| m.id.to_vec()).collect())
    };
    let store_open = |path: &Path| {
        let (elapsed, _store) = timed(|| SqlCipherStore::open(path, &key).expect("open"));
        (elapsed, Vec::new())
    };
    type Case<'a> = (String, Box<dyn Fn() -> (Duration, Vec<Vec<u8>>) + 'a>);
    let cases: [Case<'_>; 8] = [
        (
            "raw open + key + SELECT, interleaved".into(),
            Box::new(|| raw_recent(&interleaved)),
        ),
        (
            "Store open + recent, interleaved".into(),
            Box::new(|| store_recent(&interleaved)),
        ),
        (
            "Store open + recent, empty profile".into(),
            Box::new(|| store_recent(&empty)),
        ),
        (
            "raw open + key + SELECT, empty profile".into(),
            Box::new(|| raw_recent(&empty)),
        ),
        (
            format!("raw open + key + SELECT, runs of {RUN}"),
            Box::new(|| raw_recent(&clustered)),
        ),
        (
            format!("Store open + recent, runs of {RUN}"),
            Box::new(|| store_recent(&clustered)),
        ),
        (
            "Store open alone, interleaved".into(),
            Box::new(|| store_open(&interleaved)),
        ),
        (
            "Store open alone, empty profile".into(),
            Box::new(|| store_open(&empty)),
        ),
    ];
    let mut timings: Vec<Timings> = cases.iter().map(|_| Timings(Vec::new())).collect();
    for _ in 0..repeats {
        let mut read = Vec::new();
        for ((_, case), timings) in cases.iter().zip(&mut timings) {
            let (elapsed, ids) = case();
            timings.0.push(elapsed);
            read.push(ids);
        }
        // Raw and store read the same 50 messages; the empty profile none.
        assert_eq!(read[0].len(), RECENT);
        assert_eq!(read[0], read[1], "raw and store read the same messages");
        assert_eq!(read[4].len(), RECENT);
        assert_eq!(read[4], read[5], "raw and store read the same messages");
        assert!(read[2].is_empty() && read[3].is_empty());
    }
    for ((label, _), t) in cases.iter().zip(&timings) {
        println!(
            "  {label:<40} median {:7.3} ms   best {:7.3} ms",
            ms(t.median()),
            ms(t.best())
        );
    }
    let [
        raw,
        store,
        store_empty,
        raw_empty,
        raw_runs,
        store_runs,
        open,
        open_empty,
    ] = &timings[..]
    else {
        unreachable!("eight cases")
    };
    let ratios = |label: &str, a: &Timings, b: &Timings| {
        let best = a.best().as_secs_f64() / b.best().as_secs_f64();
        let median = a.median().as_secs_f64() / b.median().as_secs_f64();
        println!("  ratio {label:<46} best {best:5.2}x   median {median:5.2}x");
        best
    };
    let vs_raw = ratios("store/raw, interleaved", store, raw);
    let vs_empty = ratios("store full/empty, interleaved", store, store_empty);
    ratios(&format!("store/raw, runs of {RUN}"), store_runs, raw_runs);
    ratios(
        &format!("store full/empty, runs of {RUN}"),
        store_runs,
        store_empty,
    );
    ratios("raw full/empty, interleaved", raw, raw_empty);
    ratios("store open alone, full/empty", open, open_empty);
    println!(
        "  target store/raw <= 2.00x: {}; target store full/empty <= 1.50x: {}",
        verdict(vs_raw <= 2.0),
        verdict(vs_empty <= 1.5)
    );
}

fn main() {
    let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let (per_round, rounds, messages, repeats) = if quick {
        (200, 2, 2_000, 2)
    } else {
        (1000, 5, 100_000, 20)
    };
    println!(
        "store benchmark{}",
        if quick { " (quick mode)" } else { "" }
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    bench_receive(dir.path(), per_round, rounds);
    bench_open(dir.path(), messages, repeats);
}
