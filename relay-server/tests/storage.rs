//! The SQLite store on real files: durability across reopening, the file's contents and
//! schema, refusal of foreign or shared files, expiry.

use std::path::Path;

use rand::RngCore as _;
use rusqlite::Connection;
use sotto_core::relay::{QueueKeyPair, RecipientId, RelayMessageId};
use sotto_relay::storage::sqlite::{APPLICATION_ID, DATA_FILE, SCHEMA_VERSION};
use sotto_relay::storage::{
    Day, NonceBucket, Policy, QueueKeys, RelayStore, RequestNonce, SqliteStore, StoreCounts,
    StoreError,
};

const TODAY: Day = Day(20_833);

fn policy() -> Policy {
    Policy {
        max_queue_messages: 100,
        max_queue_bytes: 1 << 20,
        expiry_days: 21,
        max_queues: 1000,
    }
}

fn keys() -> QueueKeys {
    let mut rng = rand::rng();
    QueueKeys {
        recipient_key: QueueKeyPair::generate(&mut rng).public(),
        sender_key: QueueKeyPair::generate(&mut rng).public(),
    }
}

/// A fresh request nonce, kept far beyond every sweep of these tests.
fn nonce() -> RequestNonce {
    let mut nonce = [0; 16];
    rand::rng().fill_bytes(&mut nonce);
    RequestNonce {
        nonce,
        expires: NonceBucket(1 << 40),
    }
}

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir, policy()).expect("store opens")
}

#[test]
fn a_stored_message_and_a_nonce_survive_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let keys = keys();
    let queue = store.create_queue(&keys, TODAY, &nonce()).unwrap();
    let id = store
        .write_message(&queue.sender_id, b"durable", TODAY, &nonce())
        .unwrap()
        .id;
    assert!(store.remember_nonce(&[7; 16], NonceBucket(10)).unwrap());
    store.close().unwrap();
    assert!(
        !dir.path().join(format!("{DATA_FILE}-wal")).exists(),
        "a clean close leaves no WAL behind"
    );

    let store = open(dir.path());
    assert_eq!(
        store.sender_key(&queue.sender_id, TODAY).unwrap(),
        Some(keys.sender_key)
    );
    assert_eq!(
        store.recipient_key(&queue.recipient_id, TODAY).unwrap(),
        Some(keys.recipient_key)
    );
    let message = store
        .next_message(&queue.recipient_id, TODAY, &nonce())
        .unwrap()
        .expect("the message is still there");
    assert_eq!((message.id, &message.body[..]), (id, &b"durable"[..]));
    assert!(!store.remember_nonce(&[7; 16], NonceBucket(10)).unwrap());
}

#[test]
fn the_file_is_wal_strict_and_stamped_and_holds_only_the_listed_columns() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).close().unwrap();
    let conn = Connection::open(dir.path().join(DATA_FILE)).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let app: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let columns = |table: &str| -> Vec<String> {
        let mut stmt = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    // Adding a column here is a decision about what the relay knows: update PROTOCOL.md.
    assert_eq!(
        columns("queues"),
        [
            "recipient_id",
            "sender_id",
            "recipient_key",
            "sender_key",
            "expires_day"
        ]
    );
    assert_eq!(
        columns("messages"),
        ["queue", "seq", "message_id", "body", "expires_day"]
    );
    assert_eq!(columns("nonces"), ["nonce", "expires_bucket"]);
    let strict: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_list WHERE strict = 1 AND wr = 1
             AND name IN ('queues', 'messages', 'nonces')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(strict, 3, "three STRICT tables without rowid");
}

#[test]
fn an_acknowledged_message_leaves_no_trace_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let queue = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    let marker = b"MARKER-4f1d2c-sealed-bytes-MARKER";
    let id = store
        .write_message(&queue.sender_id, marker, TODAY, &nonce())
        .unwrap()
        .id;
    store
        .ack_message(&queue.recipient_id, &id, TODAY, &nonce())
        .unwrap();
    store.close().unwrap();
    let bytes = std::fs::read(dir.path().join(DATA_FILE)).unwrap();
    assert!(
        !bytes.windows(marker.len()).any(|w| w == marker),
        "secure_delete overwrites deleted bodies"
    );
    assert!(
        bytes
            .windows(16)
            .any(|w| w == queue.recipient_id.as_bytes()),
        "(the scan does see what is stored)"
    );
}

#[test]
fn a_second_relay_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    assert!(matches!(
        SqliteStore::open(dir.path(), policy()),
        Err(StoreError::InUse)
    ));
    first.close().unwrap();
    open(dir.path()).close().unwrap();
}

#[test]
fn files_of_other_applications_and_newer_relays_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATA_FILE);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (text TEXT); PRAGMA application_id = 1;")
            .unwrap();
    }
    assert!(matches!(
        SqliteStore::open(dir.path(), policy()),
        Err(StoreError::Incompatible(_))
    ));
    let conn = Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1, "nothing was added to the foreign file");
    drop(conn);

    let newer = tempfile::tempdir().unwrap();
    open(newer.path()).close().unwrap();
    {
        let conn = Connection::open(newer.path().join(DATA_FILE)).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    assert!(matches!(
        SqliteStore::open(newer.path(), policy()),
        Err(StoreError::Incompatible(_))
    ));
}

#[test]
fn messages_keep_their_order_per_queue_across_acks_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    let b = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    for i in 1..=5u8 {
        store
            .write_message(&a.sender_id, &[b'a', i], TODAY, &nonce())
            .unwrap();
        store
            .write_message(&b.sender_id, &[b'b', i], TODAY, &nonce())
            .unwrap();
    }
    let first = store
        .next_message(&a.recipient_id, TODAY, &nonce())
        .unwrap()
        .unwrap();
    store
        .ack_message(&a.recipient_id, &first.id, TODAY, &nonce())
        .unwrap();
    store.close().unwrap();
    let store = open(dir.path());
    let mut read = Vec::new();
    while let Some(message) = store
        .next_message(&a.recipient_id, TODAY, &nonce())
        .unwrap()
    {
        store
            .ack_message(&a.recipient_id, &message.id, TODAY, &nonce())
            .unwrap();
        read.push(message.body[1]);
    }
    assert_eq!(read, [2, 3, 4, 5]);
    store
        .write_message(&a.sender_id, b"a6", TODAY, &nonce())
        .unwrap();
    assert_eq!(
        store
            .next_message(&a.recipient_id, TODAY, &nonce())
            .unwrap()
            .unwrap()
            .body,
        b"a6"
    );
    assert_eq!(
        store
            .next_message(&b.recipient_id, TODAY, &nonce())
            .unwrap()
            .unwrap()
            .body,
        [b'b', 1]
    );
}

#[test]
fn unknown_ids_are_typed_errors_and_deleting_a_queue_deletes_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let queue = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    store
        .write_message(&queue.sender_id, b"x", TODAY, &nonce())
        .unwrap();
    let nobody = RecipientId::from_bytes([9; 16]);
    assert!(matches!(
        store.next_message(&nobody, TODAY, &nonce()),
        Err(StoreError::UnknownQueue)
    ));
    assert!(matches!(
        store.ack_message(
            &queue.recipient_id,
            &RelayMessageId::from_bytes([1; 16]),
            TODAY,
            &nonce()
        ),
        Err(StoreError::UnknownMessage)
    ));
    assert!(matches!(
        store.delete_queue(&nobody, &nonce()),
        Err(StoreError::UnknownQueue)
    ));
    store.delete_queue(&queue.recipient_id, &nonce()).unwrap();
    let counts = store.counts().unwrap();
    assert_eq!((counts.queues, counts.messages), (0, 0));
    assert!(matches!(
        store.write_message(&queue.sender_id, b"y", TODAY, &nonce()),
        Err(StoreError::UnknownQueue)
    ));
}

#[test]
fn the_sweep_deletes_expired_messages_queues_and_nonces_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let old = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    store
        .write_message(&old.sender_id, b"old", TODAY, &nonce())
        .unwrap();
    let later = TODAY.plus(15);
    let kept = store.create_queue(&keys(), later, &nonce()).unwrap();
    store
        .write_message(&kept.sender_id, b"kept", later, &nonce())
        .unwrap();
    assert!(store.remember_nonce(&[1; 16], NonceBucket(100)).unwrap());
    assert!(store.remember_nonce(&[2; 16], NonceBucket(101)).unwrap());

    let report = store.sweep(TODAY.plus(21), NonceBucket(101)).unwrap();
    assert_eq!((report.messages, report.queues, report.nonces), (0, 0, 1));
    let report = store.sweep(TODAY.plus(22), NonceBucket(101)).unwrap();
    assert_eq!((report.messages, report.queues, report.nonces), (1, 1, 0));
    assert_eq!(store.counts().unwrap().queues, 1);
    assert_eq!(
        store
            .next_message(&kept.recipient_id, TODAY.plus(22), &nonce())
            .unwrap()
            .unwrap()
            .body,
        b"kept"
    );
    assert!(!store.remember_nonce(&[2; 16], NonceBucket(101)).unwrap());
    assert!(store.remember_nonce(&[1; 16], NonceBucket(101)).unwrap());
}

#[test]
fn a_signed_operation_records_its_nonce_with_it_and_a_refusal_keeps_only_the_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(
        dir.path(),
        Policy {
            max_queue_messages: 1,
            ..policy()
        },
    )
    .unwrap();
    let queue = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    // A write and its nonce: the same nonce again is a replay and stores nothing.
    let write = nonce();
    store
        .write_message(&queue.sender_id, b"first", TODAY, &write)
        .unwrap();
    assert!(matches!(
        store.write_message(&queue.sender_id, b"again", TODAY, &write),
        Err(StoreError::Replayed)
    ));
    assert!(!store.remember_nonce(&write.nonce, write.expires).unwrap());
    assert_eq!(store.counts().unwrap().messages, 1);
    // A refused write (the queue is full) changes nothing but records its nonce, which
    // then makes the same request a replay even once the queue has room.
    let refused = nonce();
    assert!(matches!(
        store.write_message(&queue.sender_id, b"second", TODAY, &refused),
        Err(StoreError::QuotaExceeded)
    ));
    let first = store
        .next_message(&queue.recipient_id, TODAY, &nonce())
        .unwrap()
        .unwrap();
    // A refused acknowledgement leaves the queue's expiry and the message as they were.
    let later = TODAY.plus(3);
    assert!(matches!(
        store.ack_message(
            &queue.recipient_id,
            &RelayMessageId::from_bytes([1; 16]),
            later,
            &nonce()
        ),
        Err(StoreError::UnknownMessage)
    ));
    store.sweep(TODAY.plus(22), NonceBucket(0)).unwrap();
    assert_eq!(
        store.counts().unwrap().queues,
        0,
        "the refusal did not touch the queue"
    );
    let store = {
        drop(store);
        open(dir.path())
    };
    let queue = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    assert!(matches!(
        store.write_message(&queue.sender_id, b"second", TODAY, &refused),
        Err(StoreError::Replayed)
    ));
    assert_eq!(first.body, b"first");
    // Replays are checked before the operation: an unknown queue with a used nonce is a
    // replay.
    assert!(matches!(
        store.delete_queue(&RecipientId::from_bytes([9; 16]), &write),
        Err(StoreError::Replayed)
    ));
}

#[test]
fn concurrent_signed_operations_commit_together_and_each_keeps_its_own_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(dir.path()));
    let queue = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    // Sixteen writers at once; four of them send the same signed request (one nonce).
    let shared = nonce();
    let writers: Vec<_> = (0..16u8)
        .map(|i| {
            let store = std::sync::Arc::clone(&store);
            let sender = queue.sender_id;
            std::thread::spawn(move || {
                let nonce = if i % 4 == 0 { shared } else { nonce() };
                store.write_message(&sender, &[i], TODAY, &nonce)
            })
        })
        .collect();
    let outcomes: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let stored = outcomes.iter().filter(|o| o.is_ok()).count();
    let replays = outcomes
        .iter()
        .filter(|o| matches!(o, Err(StoreError::Replayed)))
        .count();
    assert_eq!((stored, replays), (13, 3), "{outcomes:?}");
    // Every stored message is there once, in the queue's order, after reopening.
    drop(outcomes);
    let store = std::sync::Arc::into_inner(store).unwrap();
    store.close().unwrap();
    let store = open(dir.path());
    let mut read = Vec::new();
    while let Some(message) = store
        .next_message(&queue.recipient_id, TODAY, &nonce())
        .unwrap()
    {
        store
            .ack_message(&queue.recipient_id, &message.id, TODAY, &nonce())
            .unwrap();
        read.push(message.body[0]);
    }
    read.sort_unstable();
    read.dedup();
    assert_eq!(read.len(), 13);
}

#[test]
fn the_read_that_ends_a_wait_records_no_nonce_and_marks_the_queue_used() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let queue = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    // The waiting read's first look: signed, its nonce recorded; the queue is empty.
    assert!(
        store
            .next_message(&queue.recipient_id, TODAY, &nonce())
            .unwrap()
            .is_none()
    );
    store
        .write_message(&queue.sender_id, b"arrived", TODAY, &nonce())
        .unwrap();
    // The look that ends the wait (days later) reads the message that woke it.
    let message = store
        .next_message_after_wait(&queue.recipient_id, TODAY.plus(3))
        .unwrap()
        .expect("the message that woke the wait");
    assert_eq!(message.body, b"arrived");
    assert!(matches!(
        store.next_message_after_wait(&RecipientId::from_bytes([9; 16]), TODAY),
        Err(StoreError::UnknownQueue)
    ));
    // Sweeping every nonce counts them: three signed requests, nothing for that look. It
    // marked the queue used: on the day the queue would have expired, it is kept.
    let swept = store
        .sweep(TODAY.plus(22), NonceBucket((1 << 40) + 1))
        .unwrap();
    assert_eq!(swept.nonces, 3);
    assert_eq!(swept.queues, 0);
    assert_eq!(store.counts().unwrap().queues, 1);
}

#[test]
fn the_totals_follow_every_change_and_a_refused_write_changes_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(
        dir.path(),
        Policy {
            max_queue_messages: 2,
            ..policy()
        },
    )
    .unwrap();
    let totals = |store: &SqliteStore| store.counts().unwrap();
    let counts = |queues, messages, message_bytes| StoreCounts {
        queues,
        messages,
        message_bytes,
    };
    assert_eq!(totals(&store), counts(0, 0, 0));
    let a = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    let b = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    store
        .write_message(&a.sender_id, b"12345", TODAY, &nonce())
        .unwrap();
    let second = store
        .write_message(&a.sender_id, b"123", TODAY, &nonce())
        .unwrap();
    store
        .write_message(&b.sender_id, b"1234567", TODAY, &nonce())
        .unwrap();
    assert_eq!(totals(&store), counts(2, 3, 15));
    // A write over the quota is refused, its transaction rolled back: no total moves.
    assert!(matches!(
        store.write_message(&a.sender_id, b"refused", TODAY, &nonce()),
        Err(StoreError::QuotaExceeded)
    ));
    assert_eq!(totals(&store), counts(2, 3, 15));
    store
        .ack_message(&a.recipient_id, &second.id, TODAY, &nonce())
        .unwrap();
    assert_eq!(totals(&store), counts(2, 2, 12));
    // Deleting a queue deletes its messages (a cascade): both totals follow.
    store.delete_queue(&b.recipient_id, &nonce()).unwrap();
    assert_eq!(totals(&store), counts(1, 1, 5));
    // Reopened, the totals are counted again from the file; the sweep keeps them too.
    store.close().unwrap();
    let store = open(dir.path());
    assert_eq!(totals(&store), counts(1, 1, 5));
    store.sweep(TODAY.plus(22), NonceBucket(1)).unwrap();
    assert_eq!(totals(&store), counts(0, 0, 0));
}

#[test]
fn queue_creation_stops_at_max_queues_and_resumes_after_a_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(
        dir.path(),
        Policy {
            max_queues: 3,
            ..policy()
        },
    )
    .unwrap();
    let queues: Vec<_> = (0..3)
        .map(|_| store.create_queue(&keys(), TODAY, &nonce()).unwrap())
        .collect();
    let refused = nonce();
    assert!(matches!(
        store.create_queue(&keys(), TODAY, &refused),
        Err(StoreError::TooManyQueues)
    ));
    assert!(StoreError::TooManyQueues.is_refusal());
    assert_eq!(store.counts().unwrap().queues, 3, "nothing was created");
    // The refusal recorded its nonce like every refusal: the same request is a replay.
    assert!(matches!(
        store.create_queue(&keys(), TODAY, &refused),
        Err(StoreError::Replayed)
    ));
    store
        .delete_queue(&queues[0].recipient_id, &nonce())
        .unwrap();
    store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    // The bound holds after a restart too: the totals are counted again on opening.
    drop(store);
    let store = SqliteStore::open(
        dir.path(),
        Policy {
            max_queues: 3,
            ..policy()
        },
    )
    .unwrap();
    assert!(matches!(
        store.create_queue(&keys(), TODAY, &nonce()),
        Err(StoreError::TooManyQueues)
    ));
}

#[test]
fn a_queues_quota_is_kept_across_restarts_and_its_order_holds() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy {
        max_queue_messages: 3,
        ..policy()
    };
    let store = SqliteStore::open(dir.path(), policy).unwrap();
    let queue = store.create_queue(&keys(), TODAY, &nonce()).unwrap();
    for body in [&b"1"[..], b"2", b"3"] {
        store
            .write_message(&queue.sender_id, body, TODAY, &nonce())
            .unwrap();
    }
    store.close().unwrap();
    // The queue's totals are counted again on opening: still full.
    let store = SqliteStore::open(dir.path(), policy).unwrap();
    assert!(matches!(
        store.write_message(&queue.sender_id, b"4", TODAY, &nonce()),
        Err(StoreError::QuotaExceeded)
    ));
    let first = store
        .next_message(&queue.recipient_id, TODAY, &nonce())
        .unwrap()
        .unwrap();
    assert_eq!(first.body, b"1");
    store
        .ack_message(&queue.recipient_id, &first.id, TODAY, &nonce())
        .unwrap();
    store
        .write_message(&queue.sender_id, b"4", TODAY, &nonce())
        .unwrap();
    // Drained in order, the last acknowledgement riding on the empty read.
    let mut read = Vec::new();
    let mut ack = None;
    loop {
        let next = match ack {
            Some(id) => {
                let (acked, next) = store
                    .ack_then_next(&queue.recipient_id, &id, TODAY, &nonce())
                    .unwrap();
                assert!(acked);
                next
            }
            None => store
                .next_message(&queue.recipient_id, TODAY, &nonce())
                .unwrap(),
        };
        let Some(message) = next else { break };
        read.push(message.body);
        ack = Some(message.id);
    }
    assert_eq!(read, [b"2".to_vec(), b"3".to_vec(), b"4".to_vec()]);
    assert_eq!(store.counts().unwrap().messages, 0);
    // An empty queue starts its places again and takes a full quota.
    for body in [&b"5"[..], b"6", b"7"] {
        store
            .write_message(&queue.sender_id, body, TODAY, &nonce())
            .unwrap();
    }
    assert_eq!(
        store
            .next_message(&queue.recipient_id, TODAY, &nonce())
            .unwrap()
            .unwrap()
            .body,
        b"5"
    );
}
