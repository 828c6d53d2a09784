//! Crash safety: a writer process killed with SIGKILL in the middle of a stream of change
//! sets loses none that `apply` acknowledged, and leaves no half-applied one behind.
//!
//! The test re-runs its own binary as the writer (`crash_writer`, selected by the
//! environment variable `SOTTO_CRASH_WRITER`). The writer applies change sets of a one-time
//! prekey plus a session, and prints `ack <id>` only after `apply` returned `Ok`. The
//! parent kills it after a few hundred acknowledgements, reopens the store and checks it.

#![cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]

mod common;

use std::io::Write;
use std::path::Path;

use common::sqlcipher_files::{db_path, file_state, key, sidecar, temp_dir};
use common::{block_on, killed_writer};
use sotto_core::store::{ChangeSet, SqlCipherStore, Store, StoreError};

const WRITER_ENV: &str = "SOTTO_CRASH_WRITER";
const KEY_SEED: u8 = 0x4B;
/// Change sets one writer run would apply if nobody stopped it.
const IDS_PER_RUN: u32 = 100_000;
/// Acknowledgements to wait for before the kill (plus a random extra).
const ACKS_BEFORE_KILL: usize = 300;
const RUNS: u32 = 3;

/// The prekey record of change set `id`: its bytes say which id they belong to, so a torn
/// or mixed-up record is recognised.
fn pre_key_record(id: u32) -> Vec<u8> {
    let mut record = b"prekey:".to_vec();
    for _ in 0..24 {
        record.extend_from_slice(&id.to_be_bytes());
    }
    record
}

fn session_record(id: u32) -> Vec<u8> {
    format!("session:{id}:").repeat(20).into_bytes()
}

fn session_address(id: u32) -> String {
    format!("peer-{id}.1")
}

/// The writer's side. Does nothing unless the parent test started this process.
#[test]
fn crash_writer() {
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let (path, first) = spec.split_once('|').expect("path|first id");
    let first: u32 = first.parse().expect("first id");
    let store = SqlCipherStore::open(path, &key(KEY_SEED)).expect("writer opens the store");
    let mut out = std::io::stdout().lock();
    // Ends libtest's "test crash_writer ... " line, so every ack starts a line.
    writeln!(out).expect("stdout");
    for id in first..first + IDS_PER_RUN {
        let mut changes = ChangeSet::default();
        changes.pre_keys.insert(id, Some(pre_key_record(id)));
        changes
            .sessions
            .insert(session_address(id), session_record(id));
        block_on(store.apply(changes)).expect("writer applies");
        writeln!(out, "ack {id}").expect("stdout");
        out.flush().expect("stdout");
    }
}

/// Runs the writer from id `first` and kills it after `kill_after` acknowledgements;
/// returns every id it acknowledged.
fn run_writer_and_kill(path: &Path, first: u32, kill_after: usize, log: &Path) -> Vec<u32> {
    killed_writer::run_and_kill(
        "crash_writer",
        WRITER_ENV,
        &format!("{}|{first}", path.display()),
        kill_after,
        log,
    )
    .iter()
    .map(|id| id.parse().expect("ack id"))
    .collect()
}

#[test]
fn a_writer_killed_mid_stream_loses_no_acknowledged_change_set() {
    let dir = temp_dir();
    let path = db_path(&dir);
    let store_key = key(KEY_SEED);
    drop(SqlCipherStore::create(&path, &store_key).expect("create"));

    let mut all_acked = Vec::new();
    for run in 0..RUNS {
        let first = run * IDS_PER_RUN + 1;
        let extra = (rand::random::<u32>() % 200) as usize;
        let log = dir.path().join(format!("writer-{run}.log"));
        let acked = run_writer_and_kill(&path, first, ACKS_BEFORE_KILL + extra, &log);
        assert!(acked.len() >= ACKS_BEFORE_KILL + extra);
        assert_eq!(
            acked,
            (first..first + acked.len() as u32).collect::<Vec<_>>(),
            "acks arrive in order"
        );
        all_acked.extend_from_slice(&acked);
        let wal = std::fs::metadata(sidecar(&path, "-wal")).map_or(0, |m| m.len());
        assert!(
            wal > 0,
            "run {run}: the killed writer left its log to recover"
        );

        // A wrong key neither recovers nor checkpoints the orphaned log.
        let before = file_state(&path);
        assert_eq!(
            SqlCipherStore::open(&path, &key(KEY_SEED ^ 1)).unwrap_err(),
            StoreError::WrongKey
        );
        assert_eq!(
            file_state(&path),
            before,
            "run {run}: a wrong key changed the files"
        );

        let store = SqlCipherStore::open(&path, &store_key).expect("reopen after the kill");
        store
            .integrity_check()
            .expect("integrity check after the kill");
        let present = block_on(store.pre_key_ids()).expect("ids");
        for id in &all_acked {
            assert!(
                present.binary_search(id).is_ok(),
                "run {run}: acknowledged change set {id} was lost"
            );
        }
        // Anything beyond the acks (at most the change set in flight) is whole.
        let last_acked = *acked.last().expect("some acks");
        let unacked: Vec<u32> = present
            .iter()
            .copied()
            .filter(|id| *id > last_acked)
            .collect();
        assert!(
            unacked.len() <= 1,
            "run {run}: unacknowledged ids {unacked:?}"
        );
        println!(
            "run {run}: killed after {} acks, log of {wal} bytes, {} unacknowledged change \
             set(s) present",
            acked.len(),
            unacked.len()
        );
        block_on(async {
            for &id in &present {
                assert_eq!(
                    store.load_pre_key(id).await.unwrap(),
                    Some(pre_key_record(id)),
                    "prekey {id}"
                );
                assert_eq!(
                    store.load_session(&session_address(id)).await.unwrap(),
                    Some(session_record(id)),
                    "session {id} belongs with prekey {id}"
                );
            }
        });
        drop(store);
    }
    assert!(all_acked.len() >= RUNS as usize * ACKS_BEFORE_KILL);
}
