//! The SQLCipher store's life on disk: creating, reopening, wrong keys and files that are
//! not stores. Every refusal leaves the file byte for byte as it was.

#![cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]

mod common;

use std::path::Path;

use common::block_on;
use common::sqlcipher_files::{
    FileState, db_path, file_state, key, new_store, sha256, sidecar, temp_dir,
};
use common::store_contract::{one_of_each, record, use_of};
use rand::RngCore;
use sotto_core::store::{ChangeSet, SqlCipherStore, Store, StoreError};

/// Everything a test wrote with `one_of_each(tag)` (plus a second session), read back.
fn read_all(store: &SqlCipherStore) -> Result<String, StoreError> {
    block_on(async {
        Ok(format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            store.load_identity().await?,
            store.load_session("peer.1").await?,
            store.load_session("peer.2").await?,
            store.load_remote_identity("peer.1").await?,
            store.load_pre_key(7).await?,
            store.load_signed_pre_key(8).await?,
            store.load_kyber_pre_key(9).await?,
            store.pre_key_ids().await?,
            store.kyber_pre_key_ids().await?,
            store.kyber_base_key_seen(&use_of(9, 8, &[0xA0, 6])).await?,
        ))
    })
}

fn filled(store: &SqlCipherStore) {
    block_on(store.apply(one_of_each(0xA0))).expect("apply");
    let mut more = ChangeSet::default();
    more.sessions.insert("peer.2".into(), vec![0x5E; 3000]);
    for id in 100..400 {
        more.pre_keys.insert(id, Some(vec![id as u8; 200]));
    }
    block_on(store.apply(more)).expect("apply");
}

fn assert_unchanged(path: &Path, before: &FileState, what: &str) {
    assert_eq!(&file_state(path), before, "{what} changed the file");
}

#[test]
fn a_store_reopened_after_drop_holds_everything_and_is_one_file() {
    let dir = temp_dir();
    let path = db_path(&dir);
    let written = {
        let store = SqlCipherStore::create(&path, &key(1)).unwrap();
        filled(&store);
        assert!(sidecar(&path, "-wal").exists(), "WAL mode while open");
        read_all(&store).unwrap()
    };
    assert!(
        !sidecar(&path, "-wal").exists(),
        "a clean close checkpoints and removes the log"
    );
    let store = SqlCipherStore::open(&path, &key(1)).unwrap();
    assert_eq!(read_all(&store).unwrap(), written);
    assert_eq!(
        block_on(store.load_identity()).unwrap(),
        Some(record("first"))
    );
    assert_eq!(block_on(store.pre_key_ids()).unwrap().len(), 301);
    assert_eq!(
        store.schema_version().unwrap(),
        SqlCipherStore::SCHEMA_VERSION
    );
    assert_eq!(store.path(), path);
    store.integrity_check().unwrap();
}

#[test]
fn another_key_is_wrong_key_and_changes_no_byte_of_a_closed_store() {
    let dir = temp_dir();
    let path = db_path(&dir);
    filled(&SqlCipherStore::create(&path, &key(1)).unwrap());
    let before = file_state(&path);
    assert!(before.main.is_some() && before.wal.is_none());
    for wrong in [key(2), key(0), sotto_core::store::DatabaseKey::generate()] {
        assert_eq!(
            SqlCipherStore::open(&path, &wrong).unwrap_err(),
            StoreError::WrongKey
        );
        assert_unchanged(&path, &before, "opening with a wrong key");
    }
    // The right key still opens it.
    assert!(read_all(&SqlCipherStore::open(&path, &key(1)).unwrap()).is_ok());
}

#[test]
fn another_key_changes_no_byte_of_a_store_open_elsewhere_with_its_log() {
    let dir = temp_dir();
    let path = db_path(&dir);
    let store = SqlCipherStore::create(&path, &key(1)).unwrap();
    filled(&store);
    let before = file_state(&path);
    assert!(before.wal.is_some(), "the open store has a write-ahead log");
    assert_eq!(
        SqlCipherStore::open(&path, &key(3)).unwrap_err(),
        StoreError::WrongKey
    );
    assert_unchanged(&path, &before, "opening with a wrong key");
    // The first handle is unharmed.
    assert_eq!(
        block_on(store.load_identity()).unwrap(),
        Some(record("first"))
    );
}

#[test]
fn opening_a_missing_path_is_not_found_and_creates_nothing() {
    let dir = temp_dir();
    let path = db_path(&dir);
    match SqlCipherStore::open(&path, &key(1)) {
        Err(StoreError::NotFound { path: reported }) => assert_eq!(reported, path),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let missing_dir = dir.path().join("no-such-folder").join("profile.sqlite");
    assert!(matches!(
        SqlCipherStore::open(&missing_dir, &key(1)),
        Err(StoreError::NotFound { .. })
    ));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "open created {left:?}");
}

#[test]
fn creating_over_an_existing_file_is_refused_and_keeps_it() {
    let dir = temp_dir();
    let path = db_path(&dir);
    filled(&SqlCipherStore::create(&path, &key(1)).unwrap());
    let before = file_state(&path);
    for k in [key(1), key(2)] {
        match SqlCipherStore::create(&path, &k) {
            Err(StoreError::AlreadyExists { path: reported }) => assert_eq!(reported, path),
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
        assert_unchanged(&path, &before, "create over a store");
    }
    assert!(read_all(&SqlCipherStore::open(&path, &key(1)).unwrap()).is_ok());

    // Any file at all, and a leftover log of an earlier database, are in the way too.
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, b"not mine").unwrap();
    assert!(matches!(
        SqlCipherStore::create(&other, &key(1)),
        Err(StoreError::AlreadyExists { .. })
    ));
    assert_eq!(std::fs::read(&other).unwrap(), b"not mine");
    let fresh = dir.path().join("fresh.sqlite");
    std::fs::write(sidecar(&fresh, "-wal"), b"stale log").unwrap();
    match SqlCipherStore::create(&fresh, &key(1)) {
        Err(StoreError::AlreadyExists { path }) => assert_eq!(path, sidecar(&fresh, "-wal")),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert!(!fresh.exists());
}

#[test]
fn a_file_of_random_bytes_is_refused_and_unchanged() {
    let dir = temp_dir();
    for len in [1, 100, 4095, 4096, 3 * 4096, 10_000] {
        let path = dir.path().join(format!("random-{len}"));
        let mut bytes = vec![0u8; len];
        rand::rng().fill_bytes(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        let before = file_state(&path);
        let error = SqlCipherStore::open(&path, &key(1)).unwrap_err();
        if len < 4096 {
            // Shorter than one page: no database at all.
            assert!(
                matches!(error, StoreError::NotAStore(_)),
                "{len} bytes: {error:?}"
            );
        } else {
            // The first page fails authentication, exactly as with a wrong key.
            assert_eq!(error, StoreError::WrongKey, "{len} random bytes");
        }
        assert_unchanged(&path, &before, "opening random bytes");
    }
}

#[test]
fn an_empty_file_and_a_directory_are_not_stores() {
    let dir = temp_dir();
    let empty = dir.path().join("empty.sqlite");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        SqlCipherStore::open(&empty, &key(1)),
        Err(StoreError::NotAStore(_))
    ));
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    assert!(!sidecar(&empty, "-wal").exists());

    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    assert!(matches!(
        SqlCipherStore::open(&folder, &key(1)),
        Err(StoreError::NotAStore(_))
    ));
    assert!(matches!(
        SqlCipherStore::create(&folder, &key(1)),
        Err(StoreError::AlreadyExists { .. })
    ));
}

#[test]
fn a_truncated_store_gives_typed_errors_and_is_unchanged() {
    let dir = temp_dir();
    let original = db_path(&dir);
    filled(&SqlCipherStore::create(&original, &key(1)).unwrap());
    let full = std::fs::read(&original).unwrap();
    assert!(full.len() >= 8 * 4096, "a store of {} bytes", full.len());

    for cut in [
        10,
        4000,
        4096,
        4096 + 1000,
        2 * 4096,
        full.len() / 2,
        full.len() - 4096,
    ] {
        let path = dir.path().join(format!("truncated-{cut}.sqlite"));
        std::fs::write(&path, &full[..cut]).unwrap();
        let before = file_state(&path);
        let outcome = SqlCipherStore::open(&path, &key(1)).and_then(|store| {
            // Opening may succeed when the first pages are intact; the lost pages must
            // then show up as errors, not as missing records.
            read_all(&store)?;
            store.integrity_check()
        });
        println!("cut at {cut} of {} bytes: {outcome:?}", full.len());
        match outcome {
            Err(StoreError::WrongKey | StoreError::Corrupt(_) | StoreError::NotAStore(_)) => {}
            other => panic!("cut at {cut} bytes: expected a typed error, got {other:?}"),
        }
        assert_unchanged(
            &path,
            &before,
            &format!("opening a store cut at {cut} bytes"),
        );
    }
}

#[test]
fn a_store_of_a_newer_schema_is_refused_untouched() {
    let dir = temp_dir();
    let path = db_path(&dir);
    filled(&SqlCipherStore::create(&path, &key(1)).unwrap());
    let newer = SqlCipherStore::SCHEMA_VERSION + 1;
    {
        let conn = keyed_connection(&path, 1);
        conn.pragma_update(None, "user_version", newer).unwrap();
    }
    let before = file_state(&path);
    assert_eq!(
        SqlCipherStore::open(&path, &key(1)).unwrap_err(),
        StoreError::NewerSchema {
            found: newer,
            supported: SqlCipherStore::SCHEMA_VERSION
        }
    );
    assert_unchanged(&path, &before, "opening a newer store");
}

#[test]
fn an_encrypted_database_of_another_application_is_not_a_store() {
    let dir = temp_dir();
    let path = db_path(&dir);
    std::fs::write(&path, b"").unwrap();
    {
        let conn = keyed_connection(&path, 1);
        conn.execute_batch("CREATE TABLE theirs (x); INSERT INTO theirs VALUES (1);")
            .unwrap();
    }
    let before = file_state(&path);
    assert!(matches!(
        SqlCipherStore::open(&path, &key(1)),
        Err(StoreError::NotAStore(_))
    ));
    assert_unchanged(&path, &before, "opening another application's database");
}

#[test]
fn a_failed_apply_rolls_back_every_write_of_its_change_set() {
    let (store, dir) = new_store();
    block_on(store.apply(one_of_each(0xA0))).unwrap();
    let before = read_all(&store).unwrap();
    {
        // Make the last table the change set writes refuse one value.
        let conn = keyed_connection(&db_path(&dir), 7);
        conn.execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON kyber_base_key_uses \
             WHEN NEW.base_key = x'dead' BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
    }
    let mut changes = one_of_each(0xB0);
    changes.identity = Some(record("second"));
    changes.sessions.insert("peer.2".into(), vec![2]);
    changes.pre_keys.insert(7, None);
    changes.kyber_base_keys.push(use_of(9, 8, &[0xde, 0xad]));
    let error = block_on(store.apply(changes)).unwrap_err();
    assert!(
        matches!(&error, StoreError::Backend(m) if m.contains("poisoned")),
        "{error:?}"
    );
    assert_eq!(
        read_all(&store).unwrap(),
        before,
        "nothing of the set was kept"
    );
    // The store goes on working.
    let mut next = ChangeSet::default();
    next.sessions.insert("peer.2".into(), vec![2]);
    block_on(store.apply(next)).unwrap();
    assert_eq!(
        block_on(store.load_session("peer.2")).unwrap(),
        Some(vec![2])
    );
}

#[test]
fn the_store_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<SqlCipherStore>();
    let (store, _dir) = new_store();
    let store = std::sync::Arc::new(store);
    let writers: Vec<_> = (0..4u32)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    let mut changes = ChangeSet::default();
                    changes.pre_keys.insert(t * 100 + i, Some(vec![t as u8]));
                    block_on(store.apply(changes)).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(block_on(store.pre_key_ids()).unwrap().len(), 100);
}

/// A raw rusqlite connection to a store file with `key(seed)`, for tests that must reach
/// under the `Store` API.
fn keyed_connection(path: &Path, seed: u8) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    let hex = common::sqlcipher_files::hex(key(seed).as_bytes());
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        .unwrap();
    conn
}

#[test]
fn sha256_sees_a_one_byte_change() {
    // The tests above trust `file_state` to notice any change.
    let dir = temp_dir();
    let path = dir.path().join("f");
    std::fs::write(&path, [0u8; 100]).unwrap();
    let before = sha256(&path);
    std::fs::write(&path, {
        let mut b = [0u8; 100];
        b[57] = 1;
        b
    })
    .unwrap();
    assert_ne!(sha256(&path), before);
}
