//! (being written)

/// Errors of this module (being written).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {}
