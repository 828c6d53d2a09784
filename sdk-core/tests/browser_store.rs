//! The SQLCipher store in a browser, persistent: Chromium (driven by the pinned
//! wasm-bindgen-test runner through chromedriver, `scripts/wasm-tests`) runs these tests in
//! a dedicated Web Worker, where the store's files live in the origin private file system
//! (OPFS, the "sahpool" VFS). The store conformance suite passes there, and a store
//! reopens from OPFS with its records, refusing another key.

#![cfg(all(feature = "sqlcipher", target_arch = "wasm32"))]

mod common;

use common::store_contract::{one_of_each, read_back as records, store_conformance};
use sotto_core::store::{DatabaseKey, SqlCipherStore, Store, StoreError};
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Every test's store lives in OPFS, in this folder (room for all of them: the suite makes
/// a store per test).
async fn opfs() {
    SqlCipherStore::use_origin_private_file_system(".sotto-tests", 32)
        .await
        .expect("OPFS in a dedicated worker");
}

/// A store file name no earlier run of this browser profile used.
fn fresh_name(what: &str) -> String {
    let random: u64 = rand::random();
    format!("/{what}-{random:016x}.sqlite")
}

/// A new store in OPFS (the suite's fixture; `opfs()` ran first).
fn opfs_store() -> (SqlCipherStore, ()) {
    let name = fresh_name("conformance");
    let store = SqlCipherStore::create(&name, &DatabaseKey::generate())
        .unwrap_or_else(|e| panic!("create {name} in OPFS: {e}"));
    (store, ())
}

store_conformance!(opfs, crate::opfs_store(), setup = crate::opfs());

fn key(seed: u8) -> DatabaseKey {
    DatabaseKey::from_bytes([seed; 32])
}

#[wasm_bindgen_test]
async fn a_store_in_opfs_reopens_with_its_records_and_refuses_another_key() {
    opfs().await;
    let name = fresh_name("reopen");
    let written = {
        let store = SqlCipherStore::create(&name, &key(1)).unwrap();
        store.apply(one_of_each(6)).await.unwrap();
        records(&store).await
    };
    assert_eq!(
        SqlCipherStore::open(&name, &key(2)).unwrap_err(),
        StoreError::WrongKey
    );
    let store = SqlCipherStore::open(&name, &key(1)).unwrap();
    assert_eq!(records(&store).await, written);
    store.integrity_check().unwrap();
    assert!(matches!(
        SqlCipherStore::open(fresh_name("missing"), &key(1)),
        Err(StoreError::NotFound { .. })
    ));
}
