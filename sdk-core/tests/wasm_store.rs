//! The SQLCipher store compiled to WebAssembly (run in Node by `scripts/wasm-tests`; its
//! files live in sqlite-wasm-rs's default VFS, in memory): a store's life as natively. It
//! reopens with its key and keeps every record; another key is refused and changes
//! nothing; a missing store is not created by opening it; a taken name is not overwritten.
//! A passphrase profile (`VfsProfiles`) opens with its passphrase only.
//! The conformance suite runs against it too (`store_conformance.rs`).

#![cfg(all(feature = "sqlcipher", target_arch = "wasm32"))]

mod common;

use common::store_contract::{one_of_each, read_back as records};
use sotto_core::store::{DatabaseKey, SqlCipherStore, Store, StoreError};
use wasm_bindgen_test::wasm_bindgen_test;

fn key(seed: u8) -> DatabaseKey {
    DatabaseKey::from_bytes([seed; 32])
}

#[wasm_bindgen_test]
async fn a_store_reopens_with_its_key_and_keeps_its_records() {
    let name = "/lifecycle-reopen.sqlite";
    let written = {
        let store = SqlCipherStore::create(name, &key(1)).unwrap();
        store.apply(one_of_each(3)).await.unwrap();
        records(&store).await
    };
    let store = SqlCipherStore::open(name, &key(1)).unwrap();
    assert_eq!(records(&store).await, written);
    assert_eq!(
        store.schema_version().unwrap(),
        SqlCipherStore::SCHEMA_VERSION
    );
    store.integrity_check().unwrap();
}

#[wasm_bindgen_test]
async fn another_key_is_refused_and_changes_nothing() {
    let name = "/lifecycle-wrong-key.sqlite";
    let written = {
        let store = SqlCipherStore::create(name, &key(1)).unwrap();
        store.apply(one_of_each(4)).await.unwrap();
        records(&store).await
    };
    assert_eq!(
        SqlCipherStore::open(name, &key(2)).unwrap_err(),
        StoreError::WrongKey
    );
    assert!(!SqlCipherStore::key_opens(name, &key(2)).unwrap());
    assert!(SqlCipherStore::key_opens(name, &key(1)).unwrap());
    let store = SqlCipherStore::open(name, &key(1)).unwrap();
    assert_eq!(records(&store).await, written);
}

#[wasm_bindgen_test]
fn opening_a_missing_store_creates_nothing() {
    let name = "/lifecycle-missing.sqlite";
    assert!(matches!(
        SqlCipherStore::open(name, &key(1)),
        Err(StoreError::NotFound { .. })
    ));
    // Still missing: the failed open left no file behind.
    assert!(matches!(
        SqlCipherStore::open(name, &key(1)),
        Err(StoreError::NotFound { .. })
    ));
    SqlCipherStore::create(name, &key(1)).unwrap();
}

#[wasm_bindgen_test]
async fn a_taken_name_is_never_overwritten() {
    let name = "/lifecycle-taken.sqlite";
    let written = {
        let store = SqlCipherStore::create(name, &key(1)).unwrap();
        store.apply(one_of_each(5)).await.unwrap();
        records(&store).await
    };
    assert!(matches!(
        SqlCipherStore::create(name, &key(2)),
        Err(StoreError::AlreadyExists { .. })
    ));
    let store = SqlCipherStore::open(name, &key(1)).unwrap();
    assert_eq!(records(&store).await, written);
}

/// Cheap Argon2id settings: the tests check the profile's life, not the key's cost.
fn quick_kdf() -> sotto_core::store::Argon2Params {
    sotto_core::store::Argon2Params::new(8 * 1024, 1, 1).unwrap()
}

#[wasm_bindgen_test]
async fn a_passphrase_profile_opens_with_its_passphrase_only() {
    use sotto_core::Error;
    use sotto_core::store::{KeyError, VfsProfiles};

    assert!(!VfsProfiles::exists("carol").unwrap());
    let written = {
        let store = VfsProfiles::create("carol", "correct horse", quick_kdf()).unwrap();
        store.apply(one_of_each(7)).await.unwrap();
        records(&store).await
    };
    assert!(VfsProfiles::exists("carol").unwrap());
    assert!(matches!(
        VfsProfiles::open("carol", "wrong horse"),
        Err(Error::Key(KeyError::WrongPassphrase))
    ));
    let store = VfsProfiles::open("carol", "correct horse").unwrap();
    assert_eq!(records(&store).await, written);
    drop(store);

    // A taken name is refused, and the profile is still the same one.
    assert!(matches!(
        VfsProfiles::create("carol", "another", quick_kdf()),
        Err(Error::Store(StoreError::AlreadyExists { .. }))
    ));
    let store = VfsProfiles::open("carol", "correct horse").unwrap();
    assert_eq!(records(&store).await, written);

    assert!(matches!(
        VfsProfiles::open("nobody", "x"),
        Err(Error::Store(StoreError::NotFound { .. }))
    ));
    let too_long = "x".repeat(65);
    for bad in ["", "a/b", "../x", "name with spaces", too_long.as_str()] {
        assert!(
            VfsProfiles::create(bad, "p", quick_kdf()).is_err(),
            "{bad:?} is refused"
        );
    }
    assert!(matches!(
        VfsProfiles::create("dave", "", quick_kdf()),
        Err(Error::Key(KeyError::EmptyPassphrase))
    ));
    assert!(!VfsProfiles::exists("dave").unwrap());
}
