//! The store conformance suite (`common/store_contract.rs`) against every backend.

mod common;

use common::store_contract::store_conformance;

store_conformance!(memory, sotto_core::store::MemoryStore::new());

#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
store_conformance!(sqlcipher, crate::common::sqlcipher_files::new_store());
