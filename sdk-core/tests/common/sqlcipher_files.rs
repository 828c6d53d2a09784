//! Real SQLCipher store files in temporary directories, and the means to prove that a file
//! did not change (SHA-256 of the database and its write-ahead log).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sotto_core::store::{DatabaseKey, SqlCipherStore};
use tempfile::TempDir;

/// A private temporary directory, removed on drop.
pub fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("sotto-store-")
        .tempdir()
        .expect("temporary directory")
}

/// A deterministic key: every byte `seed`.
pub fn key(seed: u8) -> DatabaseKey {
    DatabaseKey::from_bytes([seed; 32])
}

/// Where tests put the profile's database in a directory.
pub fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("profile.sqlite")
}

/// A new, empty store in its own temporary directory (the directory outlives the store
/// as long as the pair is kept together; see `store_contract::Fixture`).
pub fn new_store() -> (SqlCipherStore, TempDir) {
    let dir = temp_dir();
    let store = SqlCipherStore::create(db_path(&dir), &key(7)).expect("create store");
    (store, dir)
}

/// `path` with `suffix` appended to its file name (`-wal`, `-shm`, `-journal`).
pub fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// SHA-256 of a file's bytes, or `None` when it does not exist.
pub fn sha256(path: &Path) -> Option<[u8; 32]> {
    match std::fs::read(path) {
        Ok(bytes) => Some(Sha256::digest(&bytes).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("reading {}: {e}", path.display()),
    }
}

/// The state of a database file and its write-ahead log (the -shm index is a cache that
/// SQLite may rebuild at any time, so it is not part of the file's content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub main: Option<[u8; 32]>,
    pub wal: Option<[u8; 32]>,
}

pub fn file_state(path: &Path) -> FileState {
    FileState {
        main: sha256(path),
        wal: sha256(&sidecar(path, "-wal")),
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
