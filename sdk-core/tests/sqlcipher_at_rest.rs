//! No plaintext on disk: records written through the SQLCipher store never appear in the
//! database file, its write-ahead log or its shared-memory index, while the store is open
//! or after it is closed.

#![cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]

mod common;

use std::path::Path;

use common::block_on;
use common::sqlcipher_files::{contains, db_path, key, sidecar, temp_dir};
use sotto_core::store::{ChangeSet, IdentityRecord, SqlCipherStore, Store};

const MARKERS: [&str; 6] = [
    "MARKER-display-name-3b9e",
    "MARKER-identity-key-pair-51c0",
    "MARKER-session-record-a7d2",
    "MARKER-remote-address-0f44",
    "MARKER-one-time-prekey-9e1b",
    "MARKER-kyber-prekey-c3aa",
];

/// Change sets holding every marker, several times over, in every kind of record.
fn marked_changes() -> Vec<ChangeSet> {
    (0..20u32)
        .map(|round| {
            let mut changes = ChangeSet {
                identity: Some(IdentityRecord {
                    key_pair: format!("{}/{round}", MARKERS[1]).into_bytes(),
                    registration_id: 1234,
                    display_name: Some(format!("{} {round}", MARKERS[0])),
                }),
                ..ChangeSet::default()
            };
            let address = format!("{}.{round}", MARKERS[3]);
            changes.sessions.insert(
                address.clone(),
                format!("{} {round}", MARKERS[2]).repeat(40).into_bytes(),
            );
            changes
                .remote_identities
                .insert(address, MARKERS[1].as_bytes().to_vec());
            changes
                .pre_keys
                .insert(round, Some(MARKERS[4].as_bytes().to_vec()));
            changes
                .kyber_pre_keys
                .insert(round, Some(MARKERS[5].repeat(50).into_bytes()));
            changes
        })
        .collect()
}

/// The markers found in a buffer.
fn markers_in(bytes: &[u8]) -> Vec<&'static str> {
    MARKERS
        .into_iter()
        .filter(|m| contains(bytes, m.as_bytes()))
        .collect()
}

/// Every marker found in the database, its log and its index, by file.
fn scan(path: &Path) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    for file in [
        path.to_path_buf(),
        sidecar(path, "-wal"),
        sidecar(path, "-shm"),
    ] {
        if let Ok(bytes) = std::fs::read(&file) {
            for marker in markers_in(&bytes) {
                found.push((file.display().to_string(), marker));
            }
        }
    }
    found
}

#[test]
fn the_scan_finds_markers_in_the_bytes_that_were_written() {
    // Positive control: the records handed to `apply`, laid end to end, show every marker.
    let mut written = Vec::new();
    for changes in marked_changes() {
        let identity = changes.identity.as_ref().unwrap();
        written.extend_from_slice(&identity.key_pair);
        written.extend_from_slice(identity.display_name.as_ref().unwrap().as_bytes());
        for (address, record) in &changes.sessions {
            written.extend_from_slice(address.as_bytes());
            written.extend_from_slice(record);
        }
        for record in changes
            .pre_keys
            .values()
            .chain(changes.kyber_pre_keys.values())
        {
            written.extend_from_slice(record.as_ref().unwrap());
        }
    }
    assert_eq!(markers_in(&written), MARKERS);
}

#[test]
fn the_scan_finds_markers_in_an_unencrypted_sqlite_file() {
    // Positive control on disk: plain SQLite (no key) keeps the same records readable.
    let dir = temp_dir();
    let path = dir.path().join("plain.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v BLOB);")
        .unwrap();
    for marker in MARKERS {
        conn.execute("INSERT INTO t VALUES (?1)", [marker.as_bytes()])
            .unwrap();
    }
    let found: Vec<_> = scan(&path).into_iter().map(|(_, m)| m).collect();
    for marker in MARKERS {
        assert!(
            found.contains(&marker),
            "{marker} not found in plain SQLite"
        );
    }
}

#[test]
fn no_marker_reaches_the_disk_while_open_or_after_close() {
    let dir = temp_dir();
    let path = db_path(&dir);
    let store = SqlCipherStore::create(&path, &key(9)).unwrap();
    for changes in marked_changes() {
        block_on(store.apply(changes)).unwrap();
    }
    // The records are readable through the store ...
    let identity = block_on(store.load_identity()).unwrap().unwrap();
    assert!(
        identity
            .display_name
            .as_deref()
            .unwrap_or_default()
            .starts_with(MARKERS[0])
    );

    // ... and nowhere on disk. While open, the changes sit in the write-ahead log.
    let wal_len = std::fs::metadata(sidecar(&path, "-wal")).unwrap().len();
    assert!(
        wal_len > 20 * 4096,
        "the log holds the change sets ({wal_len} bytes)"
    );
    assert!(sidecar(&path, "-shm").exists());
    assert_eq!(scan(&path), [], "plaintext on disk while the store is open");

    // No other file appeared beside the database (no temporary files in clear).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["profile.sqlite", "profile.sqlite-shm", "profile.sqlite-wal"]
    );

    drop(store);
    assert_eq!(scan(&path), [], "plaintext on disk after the store closed");

    // Even SQLite's file header is encrypted: the file starts with a random salt.
    let head = std::fs::read(&path).unwrap();
    assert!(!head.starts_with(b"SQLite format 3\0"));
}
