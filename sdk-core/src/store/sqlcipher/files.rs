//! What the store asks of the file system around SQLite: where a store is, whether it
//! exists, and claiming the name of a new one.
//!
//! Natively that is the operating system's file system. On wasm32 there is none: SQLite's
//! files live in the VFS that sqlite-wasm-rs registered as the default (memory, or OPFS in
//! a browser's worker), so the same questions go to SQLite itself.

use std::path::{Path, PathBuf};

use super::error::io_error;
use crate::store::StoreError;

/// `path` made absolute (without touching the file system), so the store reports one
/// unambiguous path and SQLite never reads a relative `file:` name as a URI. On wasm32 a
/// VFS name is taken as it is.
pub(super) fn absolute(path: &Path) -> Result<PathBuf, StoreError> {
    if cfg!(target_arch = "wasm32") {
        return Ok(path.to_path_buf());
    }
    std::path::absolute(path).map_err(|e| io_error(&format!("resolving {}", path.display()), &e))
}

#[cfg(not(target_arch = "wasm32"))]
pub(super) use native::{
    JOURNAL_MODE, LOCKING_MODE, check_existing, claim_new, may_open_immutable, remove_new,
};
#[cfg(target_arch = "wasm32")]
pub(super) use vfs::{
    JOURNAL_MODE, LOCKING_MODE, check_existing, claim_new, exists, may_open_immutable, remove_new,
};

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};

    use super::super::error::io_error;
    use crate::store::StoreError;

    /// SQLCipher's page size under `cipher_compatibility = 4`: every store file is at least
    /// one page long.
    const PAGE_SIZE: u64 = 4096;

    /// Refuses what cannot be an existing store before SQLite sees it: nothing there
    /// ([`StoreError::NotFound`]), not a regular file, or shorter than one page (SQLite
    /// would take an empty file for a new database and write to it).
    pub(in super::super) fn check_existing(path: &Path) -> Result<(), StoreError> {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(io_error(&format!("reading {}", path.display()), &e)),
        };
        if !metadata.is_file() {
            return Err(StoreError::NotAStore(format!(
                "{} is not a regular file",
                path.display()
            )));
        }
        if metadata.len() < PAGE_SIZE {
            return Err(StoreError::NotAStore(format!(
                "{} holds {} bytes, less than one {PAGE_SIZE}-byte page",
                path.display(),
                metadata.len()
            )));
        }
        Ok(())
    }

    /// Creates the empty database file, failing if anything already has that name, or a
    /// leftover `-wal`/`-journal` lies beside it. Readable and writable by its owner only
    /// (the -wal and -shm files inherit these permissions).
    pub(in super::super) fn claim_new(path: &Path) -> Result<(), StoreError> {
        for leftover in [sidecar(path, "-wal"), sidecar(path, "-journal")] {
            if leftover.exists() {
                return Err(StoreError::AlreadyExists { path: leftover });
            }
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(StoreError::AlreadyExists {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => Err(io_error(&format!("creating {}", path.display()), &e)),
        }
    }

    /// Removes what a failed creation left (best effort: the error that matters is the one
    /// being returned).
    pub(in super::super) fn remove_new(path: &Path) {
        for file in [
            sidecar(path, "-wal"),
            sidecar(path, "-shm"),
            path.to_path_buf(),
        ] {
            let _ = std::fs::remove_file(file);
        }
    }

    /// The journal, as `PRAGMA journal_mode` sets and reads it: a write-ahead log
    /// (encrypted by SQLCipher like the main file): readers never see a half-applied change
    /// set, and a commit is one append.
    pub(in super::super) const JOURNAL_MODE: (&str, &str) = ("WAL", "wal");

    /// SQLite's own: files are locked per transaction, and the write-ahead log's index is
    /// shared memory beside the database.
    pub(in super::super) const LOCKING_MODE: Option<&str> = None;

    /// Whether a look that must leave no trace may open the file `immutable`: only when it
    /// has no write-ahead log beside it (the store is closed, so the file holds everything).
    pub(in super::super) fn may_open_immutable(path: &Path) -> bool {
        !sidecar(path, "-wal").exists()
    }

    /// `path` with `suffix` appended to its file name (SQLite's `-wal`, `-shm`, `-journal`).
    fn sidecar(path: &Path, suffix: &str) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }
}

#[cfg(target_arch = "wasm32")]
mod vfs {
    use std::path::Path;

    use rusqlite::{Connection, ErrorCode, OpenFlags};

    use super::super::error::sqlite_error;
    use crate::store::StoreError;

    /// Whether the default VFS has a file of this name: SQLite opens an existing file
    /// read-only, and refuses a missing one without creating it.
    pub(in super::super) fn exists(path: &Path) -> Result<bool, StoreError> {
        match Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY) {
            Ok(_) => Ok(true),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::CannotOpen => {
                Ok(false)
            }
            Err(e) => Err(sqlite_error("looking for the database")(e)),
        }
    }

    /// [`StoreError::NotFound`] when the VFS has no such file.
    pub(in super::super) fn check_existing(path: &Path) -> Result<(), StoreError> {
        if exists(path)? {
            Ok(())
        } else {
            Err(StoreError::NotFound {
                path: path.to_path_buf(),
            })
        }
    }

    /// Creates the empty database file in the VFS (SQLite creates it when a connection
    /// opens it), refusing a name that is taken.
    pub(in super::super) fn claim_new(path: &Path) -> Result<(), StoreError> {
        if exists(path)? {
            return Err(StoreError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map(drop)
        .map_err(sqlite_error("creating the database"))
    }

    /// Nothing to remove: SQLite has no call to delete a VFS file, so an empty file stays
    /// behind a failed creation (opening it reports that it is not a store).
    pub(in super::super) fn remove_new(_path: &Path) {}

    /// A write-ahead log, as natively (encrypted by SQLCipher like the main file): a
    /// commit is one append and one flush. A rollback journal costs four file operations
    /// and two flushes per commit, which in OPFS made a commit take about 25 ms
    /// (docs/BENCHMARKS.md).
    pub(in super::super) const JOURNAL_MODE: (&str, &str) = ("WAL", "wal");

    /// The VFSes of wasm32 (memory, OPFS) have no shared memory, which a write-ahead log's
    /// index lives in unless the connection holds its file exclusively; then SQLite keeps
    /// the index in the connection's own memory. Set before the first read, as SQLite
    /// requires. A profile has one connection, and one worker at a time holds its files
    /// anyway (the VFS's pool lock, the Web Lock).
    pub(in super::super) const LOCKING_MODE: Option<&str> = Some("EXCLUSIVE");

    /// Never: the VFSes of wasm32 have no `immutable` files.
    pub(in super::super) fn may_open_immutable(_path: &Path) -> bool {
        false
    }
}
