//! The store conformance suite (`common/store_contract.rs`) against every backend.

mod common;

use common::store_contract::store_conformance;

store_conformance!(memory, sotto_core::store::MemoryStore::new());
