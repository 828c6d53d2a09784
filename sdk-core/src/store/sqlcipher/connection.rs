//! Opening a SQLCipher connection: the key first, then a read that proves it, then the
//! pragmas that make the store durable and leave no plaintext behind.
//!
//! Order matters. `PRAGMA key` is the very first statement (SQLCipher reads nothing until
//! a page is needed). The key check reads only. Nothing that writes (journal mode,
//! migrations) runs before the key is verified, so a wrong key never changes a byte.

use std::path::Path;
use std::sync::OnceLock;

use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use super::error::{key_error, sqlite_error};
use super::files;
use crate::store::{DatabaseKey, StoreError};

/// How a connection may touch the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// Reading only, to verify the key and inspect the header before anything may write.
    /// Leaves no trace: when the file has no write-ahead log (the store is closed, so the
    /// file holds everything) the file is opened `immutable` (no locks, no `-wal` or
    /// `-shm` created); otherwise read-only (SQLite may refresh its `-shm` index, a cache).
    Probe,
    /// Reading and writing an existing file (never creates one).
    ReadWrite,
}

/// Runs SQLite's and SQLCipher's process-wide initialization once, on one thread, before
/// any keyed connection exists.
///
/// SQLite marks itself initialized before it runs SQLCipher's extra initialization, so a
/// second thread opening its first connection at that moment sees SQLite ready, attaches a
/// key while SQLCipher is not, and `PRAGMA key` fails ("An error occurred with PRAGMA key or
/// rekey"). An app opening two profiles at once on a fresh process would hit it. Opening a
/// throwaway in-memory connection inside a `OnceLock` finishes both steps while every
/// other opener waits.
fn initialize_sqlcipher() -> Result<(), StoreError> {
    static INITIALIZED: OnceLock<Result<(), String>> = OnceLock::new();
    INITIALIZED
        .get_or_init(|| {
            Connection::open_in_memory()
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|detail| StoreError::Backend(format!("initializing SQLCipher: {detail}")))
}

/// Opens `path` (which must exist), sets the key and the pinned cipher settings and proves
/// the key with a read. A wrong key is [`StoreError::WrongKey`]; nothing has been written.
pub(super) fn open_keyed(
    path: &Path,
    key: &DatabaseKey,
    access: Access,
) -> Result<Connection, StoreError> {
    initialize_sqlcipher()?;
    // Never SQLITE_OPEN_CREATE: a connection never creates the file (`create` makes it).
    let opened = match access {
        Access::ReadWrite => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
        Access::Probe if !files::may_open_immutable(path) => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
        Access::Probe => Connection::open_with_flags(
            immutable_uri(path)?,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
    };
    let conn = opened.map_err(sqlite_error("opening the database file"))?;
    // SQLCipher logs warnings and errors to the process's stderr by default (a wrong key
    // prints "hmac check failed"). A library must not write to its host's stderr, and every
    // failure reaches the caller as a typed error anyway. The level is process-wide.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")
        .map_err(sqlite_error("silencing SQLCipher's log"))?;
    // SQLCipher raw-key mode: the 64 hex digits are the key itself, no key derivation.
    conn.execute_batch(&key_pragma(key))
        .map_err(sqlite_error("setting the database key"))?;
    // Before the first read: how this target's files are locked (`files::LOCKING_MODE`).
    if let Some(mode) = files::LOCKING_MODE {
        conn.execute_batch(&format!("PRAGMA locking_mode = {mode};"))
            .map_err(sqlite_error("setting the locking mode"))?;
    }
    // Pin the cipher settings this store relies on, so a future SQLCipher default change
    // cannot make old files unreadable: AES-256-CBC, 4096-byte pages, HMAC-SHA512 per
    // page, PBKDF2-HMAC-SHA512 (used only to derive the HMAC key from the raw key).
    conn.execute_batch("PRAGMA cipher_compatibility = 4;")
        .map_err(sqlite_error("pinning the cipher settings"))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    })
    .map_err(key_error("verifying the database key"))?;
    Ok(conn)
}

/// Connection settings of a read-write store, applied after the key is verified.
pub(super) fn configure(conn: &Connection) -> Result<(), StoreError> {
    // Temporary tables and indices (sorting, ...) stay in memory, never in a clear file.
    pragma(conn, "temp_store", "MEMORY", "2")?;
    // Deleted records are overwritten with zeros inside the (encrypted) pages.
    pragma(conn, "secure_delete", "ON", "1")?;
    // Later schema versions use foreign keys; have SQLite enforce them.
    pragma(conn, "foreign_keys", "ON", "1")?;
    // The schema is ours: functions in it may not have side effects.
    pragma(conn, "trusted_schema", "OFF", "0")?;
    // The journal this target's files allow (`files::JOURNAL_MODE` says why).
    let (journal, expected) = files::JOURNAL_MODE;
    pragma(conn, "journal_mode", journal, expected)?;
    // Sync the log on every commit: a change set is durable when `apply` returns.
    pragma(conn, "synchronous", "FULL", "2")?;
    Ok(())
}

/// Sets a pragma and reads it back, so a setting SQLite silently ignored is an error.
fn pragma(conn: &Connection, name: &str, value: &str, expect: &str) -> Result<(), StoreError> {
    let context = format!("setting PRAGMA {name}");
    conn.execute_batch(&format!("PRAGMA {name} = {value};"))
        .map_err(sqlite_error(&context))?;
    let actual: String = conn
        .query_row(&format!("PRAGMA {name}"), [], |row| {
            row.get_ref(0).map(|v| match v {
                rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                _ => String::new(),
            })
        })
        .map_err(sqlite_error(&context))?;
    if actual.eq_ignore_ascii_case(expect) {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "{context}: SQLite kept {name} = {actual:?}, wanted {expect:?}"
        )))
    }
}

/// `file:///<absolute path, percent-encoded>?immutable=1`: SQLite reads the file as it is,
/// without locking it or creating its `-wal` and `-shm` files.
fn immutable_uri(path: &Path) -> Result<String, StoreError> {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| StoreError::Io(format!("{} is not valid Unicode", path.display())))?
        .replace('\\', "/")
        .into_bytes();
    let mut uri = String::from("file://");
    if bytes.first() != Some(&b'/') {
        uri.push('/'); // A Windows drive letter: file:///C:/...
    }
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || b"/-._~:".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    Ok(uri)
}

/// `PRAGMA key = "x'<64 hex>'";`, wiped from memory when dropped.
fn key_pragma(key: &DatabaseKey) -> Zeroizing<String> {
    raw_key_pragma("key", key)
}

/// `PRAGMA rekey` with a raw key: re-encrypts every page under `key`.
pub(super) fn rekey_pragma(key: &DatabaseKey) -> Zeroizing<String> {
    raw_key_pragma("rekey", key)
}

fn raw_key_pragma(pragma: &str, key: &DatabaseKey) -> Zeroizing<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Sized up front: a reallocation would leave an unwiped copy of the key behind.
    let mut statement = Zeroizing::new(String::with_capacity(96));
    statement.push_str("PRAGMA ");
    statement.push_str(pragma);
    statement.push_str(" = \"x'");
    for byte in key.as_bytes() {
        statement.push(char::from(HEX[usize::from(byte >> 4)]));
        statement.push(char::from(HEX[usize::from(byte & 0x0F)]));
    }
    statement.push_str("'\";");
    statement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn the_immutable_uri_escapes_everything_sqlite_could_misread() {
        assert_eq!(
            immutable_uri(Path::new("/home/a b/x?y#z%.sqlite")).unwrap(),
            "file:///home/a%20b/x%3Fy%23z%25.sqlite?immutable=1"
        );
    }

    #[test]
    fn the_key_pragma_is_raw_hex_of_the_whole_key() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xAB;
        bytes[31] = 0x0F;
        let statement = key_pragma(&DatabaseKey::from_bytes(bytes));
        let hex = format!("ab{}0f", "00".repeat(30));
        assert_eq!(statement.as_str(), format!("PRAGMA key = \"x'{hex}'\";"));
    }
}
