//! Stores written by older schema versions still open: `tests/fixtures/store-v1.sqlite`
//! was written by schema v1 and must open, migrate to the current version and read back
//! the records below.
//!
//! Regenerate the fixture (only ever for a new version's file, never to "fix" an old one):
//! `cargo test -p sotto-core --test sqlcipher_fixture -- --ignored write_store_v1_fixture`

#![cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]

mod common;

use std::path::PathBuf;

use common::block_on;
use common::sqlcipher_files::{file_state, temp_dir};
use common::store_contract::use_of;
use sotto_core::store::{ChangeSet, DatabaseKey, IdentityRecord, SqlCipherStore, Store};

/// The fixture's key: bytes 0x00, 0x01, …, 0x1f (hex `000102…1f`).
fn fixture_key() -> DatabaseKey {
    DatabaseKey::from_bytes(std::array::from_fn(|i| i as u8))
}

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1.sqlite")
}

/// What schema v1 wrote into the fixture.
fn v1_records() -> ChangeSet {
    let mut changes = ChangeSet {
        identity: Some(IdentityRecord {
            key_pair: b"fixture v1 identity key pair".to_vec(),
            registration_id: 4242,
            display_name: Some("Fixture v1 \u{1F512}".into()),
        }),
        ..ChangeSet::default()
    };
    changes
        .sessions
        .insert("alice.1".into(), b"alice session".to_vec());
    changes
        .sessions
        .insert("bob.1".into(), b"bob session".to_vec());
    changes
        .remote_identities
        .insert("alice.1".into(), b"alice identity key".to_vec());
    changes
        .pre_keys
        .insert(1, Some(b"one-time prekey 1".to_vec()));
    changes
        .pre_keys
        .insert(u32::MAX, Some(b"one-time prekey max".to_vec()));
    changes
        .signed_pre_keys
        .insert(10, Some(b"signed prekey 10".to_vec()));
    changes
        .kyber_pre_keys
        .insert(20, Some(b"kyber prekey 20".to_vec()));
    changes.kyber_base_keys.push(use_of(20, 10, &[9; 33]));
    changes
}

#[test]
fn the_v1_fixture_opens_migrates_and_reads_its_records() {
    let fixture = fixture_path();
    // Work on a copy: opening writes the log beside the file.
    let dir = temp_dir();
    let path = dir.path().join("store-v1.sqlite");
    std::fs::copy(&fixture, &path).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let pristine = file_state(&fixture);

    let store = SqlCipherStore::open(&path, &fixture_key()).expect("open the v1 fixture");
    assert_eq!(
        store.schema_version().unwrap(),
        SqlCipherStore::SCHEMA_VERSION
    );
    store.integrity_check().unwrap();
    let expected = v1_records();
    block_on(async {
        assert_eq!(store.load_identity().await.unwrap(), expected.identity);
        // Tables added by later versions exist and start empty.
        assert!(store.contacts().await.unwrap().is_empty());
        assert!(store.outbox().await.unwrap().is_empty());
        for (address, record) in &expected.sessions {
            assert_eq!(
                store.load_session(address).await.unwrap().as_ref(),
                Some(record)
            );
        }
        assert_eq!(store.load_session("carol.1").await.unwrap(), None);
        assert_eq!(
            store.load_remote_identity("alice.1").await.unwrap(),
            Some(b"alice identity key".to_vec())
        );
        assert_eq!(store.pre_key_ids().await.unwrap(), [1, u32::MAX]);
        assert_eq!(
            store.load_pre_key(u32::MAX).await.unwrap(),
            Some(b"one-time prekey max".to_vec())
        );
        assert_eq!(store.signed_pre_key_ids().await.unwrap(), [10]);
        assert_eq!(
            store.load_signed_pre_key(10).await.unwrap(),
            Some(b"signed prekey 10".to_vec())
        );
        assert_eq!(
            store.load_kyber_pre_key(20).await.unwrap(),
            Some(b"kyber prekey 20".to_vec())
        );
        assert!(
            store
                .kyber_base_key_seen(&use_of(20, 10, &[9; 33]))
                .await
                .unwrap()
        );
        assert!(
            !store
                .kyber_base_key_seen(&use_of(20, 10, &[8; 33]))
                .await
                .unwrap()
        );
    });
    drop(store);
    assert_eq!(
        file_state(&fixture),
        pristine,
        "the fixture itself is never written"
    );
}

#[test]
fn the_v1_fixture_refuses_another_key() {
    let dir = temp_dir();
    let path = dir.path().join("store-v1.sqlite");
    std::fs::copy(fixture_path(), &path).unwrap();
    assert_eq!(
        SqlCipherStore::open(&path, &DatabaseKey::from_bytes([0; 32])).unwrap_err(),
        sotto_core::store::StoreError::WrongKey
    );
}

/// Writes `tests/fixtures/store-v1.sqlite` anew. Only valid while the current schema
/// version is 1: a fixture must be written by the version it is named after.
#[test]
#[ignore = "writes the checked-in fixture; run by hand"]
fn write_store_v1_fixture() {
    assert_eq!(
        SqlCipherStore::SCHEMA_VERSION,
        1,
        "store-v1.sqlite must be written by schema v1: check out a v1 build to regenerate it"
    );
    let path = fixture_path();
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("{}: {e}", path.display()),
    }
    let store = SqlCipherStore::create(&path, &fixture_key()).unwrap();
    block_on(store.apply(v1_records())).unwrap();
    drop(store); // Checkpoints the log into the file and removes it.
    assert!(path.exists());
}
