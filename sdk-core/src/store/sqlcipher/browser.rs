//! Persistent stores in a browser: SQLCipher's files in the origin private file system
//! (OPFS), through the "sahpool" VFS of `sqlite-wasm-vfs` (sync access handles, which only
//! a dedicated Web Worker has). Without it, stores on wasm32 live in memory.

use super::SqlCipherStore;
use crate::store::StoreError;

/// The name SQLite knows the OPFS VFS by.
const VFS_NAME: &str = "sotto-opfs";

impl SqlCipherStore {
    /// Makes the origin private file system, folder `directory`, the home of every store
    /// created or opened afterwards in this worker (SQLite's default VFS from then on), with
    /// room for at least `stores` stores. Calling it again with the same folder only adds
    /// room.
    ///
    /// The VFS keeps a pool of OPFS files, each holding one SQLite file: a store takes two
    /// (its database and its write-ahead log). Creating a store beyond the room
    /// fails with [`StoreError::Io`] ("unable to open database file").
    ///
    /// Only in a dedicated Web Worker of a secure context (OPFS sync access handles); one
    /// worker at a time may hold the folder, so an app opening one profile in two tabs must
    /// keep the second out (a Web Lock), or this fails in the second.
    ///
    /// # Errors
    /// [`StoreError::Io`] when OPFS is not available here or the folder is held elsewhere.
    pub async fn use_origin_private_file_system(
        directory: &str,
        stores: usize,
    ) -> Result<(), StoreError> {
        use sqlite_wasm_vfs::sahpool::{OpfsSAHPoolCfgBuilder, install};
        let config = OpfsSAHPoolCfgBuilder::new()
            .vfs_name(VFS_NAME)
            .directory(directory)
            .build();
        let pool = install::<sqlite_wasm_rs::WasmOsCallback>(&config, true)
            .await
            .map_err(|e| {
                StoreError::Io(format!(
                    "opening the origin private file system (folder {directory:?}; a dedicated \
                     worker of a secure context is needed): {e}"
                ))
            })?;
        pool.ensure_capacity(stores.saturating_mul(FILES_PER_STORE))
            .await
            .map_err(|e| StoreError::Io(format!("making room for {stores} stores in OPFS: {e}")))
    }
}

/// OPFS files a store takes: the database and its write-ahead log.
const FILES_PER_STORE: usize = 2;
