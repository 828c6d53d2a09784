//! The store conformance suite (`common/store_contract.rs`) against every backend: natively
//! in memory and in SQLCipher files; on wasm32 (in Node, by `scripts/wasm-tests`) in memory
//! and in SQLCipher compiled to WebAssembly, its files in sqlite-wasm-rs's default VFS.

mod common;

use common::store_contract::store_conformance;

store_conformance!(memory, sotto_core::store::MemoryStore::new());

#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
store_conformance!(sqlcipher, crate::common::sqlcipher_files::new_store());

#[cfg(all(feature = "sqlcipher", target_arch = "wasm32"))]
store_conformance!(sqlcipher, crate::vfs_store());

/// A new SQLCipher store under a name of its own in the VFS (nothing to clean up: the
/// memory VFS ends with the test process).
#[cfg(all(feature = "sqlcipher", target_arch = "wasm32"))]
fn vfs_store() -> (sotto_core::store::SqlCipherStore, ()) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "/conformance-{}.sqlite",
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let key = sotto_core::store::DatabaseKey::generate();
    let store = sotto_core::store::SqlCipherStore::create(&name, &key)
        .unwrap_or_else(|e| panic!("create {name}: {e}"));
    (store, ())
}
