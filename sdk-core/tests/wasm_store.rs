//! The SQLCipher store compiled to WebAssembly (run in Node by `scripts/wasm-tests`; its
//! files live in sqlite-wasm-rs's default VFS, in memory): a store's life as natively. It
//! reopens with its key and keeps every record; another key is refused and changes
//! nothing; a missing store is not created by opening it; a taken name is not overwritten.
//! The conformance suite runs against it too (`store_conformance.rs`).

#![cfg(all(feature = "sqlcipher", target_arch = "wasm32"))]

mod common;

use common::store_contract::one_of_each;
use sotto_core::store::{DatabaseKey, SqlCipherStore, Store, StoreError};
use wasm_bindgen_test::wasm_bindgen_test;

fn key(seed: u8) -> DatabaseKey {
    DatabaseKey::from_bytes([seed; 32])
}

/// What a test compares: every record `one_of_each` writes, read back.
async fn records(store: &SqlCipherStore) -> String {
    let read = async {
        Ok::<_, StoreError>(format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            store.load_identity().await?,
            store.load_session("peer.1").await?,
            store.load_remote_identity("peer.1").await?,
            store.load_pre_key(7).await?,
            store.load_signed_pre_key(8).await?,
            store.load_kyber_pre_key(9).await?,
            store.pre_key_ids().await?,
        ))
    };
    let records = read.await.expect("read the store");
    assert!(
        records.contains("Some"),
        "the store holds records: {records}"
    );
    records
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
