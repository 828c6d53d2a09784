//! Passphrase-protected profiles where there is no file system of the operating system
//! (wasm32): [`VfsProfiles`], the counterpart of the native `ProfileDirectory`.
//!
//! Each profile's SQLCipher database is `/<name>.sqlite` in SQLite's default VFS (the
//! origin private file system in a browser's worker after
//! [`SqlCipherStore::use_origin_private_file_system`], memory otherwise). Its key header
//! (the [`KeyInfo`]: Argon2id's salt and parameters, nothing secret, the same bytes as the
//! native `key.header` file) is a row of `/profiles.sqlite`, a plain SQLite file beside the
//! databases. A browser has no OS keychain: the key is derived from the user's passphrase
//! each time the profile opens.

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use std::path::Path;

use super::error::sqlite_error;
use super::{SqlCipherStore, files};
use crate::error::{Error, Result};
use crate::store::{Argon2Params, KeyInfo, StoreError, create_with_passphrase};

/// The plain SQLite file holding the key headers.
const HEADERS_FILE: &str = "/profiles.sqlite";
/// Longest profile name, in bytes.
pub const MAX_PROFILE_NAME_LEN: usize = 64;

/// The profiles of one VFS, by name.
#[derive(Debug, Clone, Copy, Default)]
pub struct VfsProfiles;

impl VfsProfiles {
    /// Creates a new, empty profile store `name` protected by `passphrase` (Argon2id with
    /// `params`). Refuses a name that is taken ([`StoreError::AlreadyExists`]), a name that
    /// is not 1 to 64 of `A-Z a-z 0-9 - _` ([`StoreError::Io`]) and an empty passphrase.
    ///
    /// The store holds no identity yet: pass it to [`Profile::create`](crate::Profile::create).
    pub fn create(name: &str, passphrase: &str, params: Argon2Params) -> Result<SqlCipherStore> {
        let database = database_name(name)?;
        let headers = headers()?;
        // A database is never replaced (nor given a header that is not its own); a header
        // without its database is what a failed creation left, and is replaced.
        if files::exists(Path::new(&database))? {
            return Err(StoreError::AlreadyExists {
                path: database.into(),
            }
            .into());
        }
        let (key, info) = create_with_passphrase(passphrase, params)?;
        // The header first: a store without its header could never be opened again.
        write_header(&headers, name, &info)?;
        SqlCipherStore::create(&database, &key).map_err(Error::Store)
    }

    /// Opens profile `name` with `passphrase`: [`StoreError::NotFound`] when there is no such
    /// profile, [`KeyError::WrongPassphrase`] when the database refuses the derived key (and
    /// nothing was written).
    pub fn open(name: &str, passphrase: &str) -> Result<SqlCipherStore> {
        let database = database_name(name)?;
        let header = read_header(&headers()?, name)?.ok_or_else(|| StoreError::NotFound {
            path: database.clone().into(),
        })?;
        let info = KeyInfo::decode(&header)?;
        let key = info.unseal(Some(passphrase))?;
        SqlCipherStore::open(&database, &key).map_err(|e| info.refused(e))
    }

    /// Makes the origin private file system the home of profile `name` (a browser's
    /// dedicated worker): a folder of its own, `sotto-<name>`, since one worker at a time
    /// holds a folder, with room for the profile's database and the key headers.
    ///
    /// # Errors
    /// As [`SqlCipherStore::use_origin_private_file_system`]; a bad name as in `create`.
    pub async fn use_origin_private_file_system(name: &str) -> Result<()> {
        database_name(name)?;
        SqlCipherStore::use_origin_private_file_system(&format!("sotto-{name}"), 2).await?;
        Ok(())
    }

    /// Whether a profile of this name exists (its header and its database).
    pub fn exists(name: &str) -> Result<bool> {
        let database = database_name(name)?;
        Ok(read_header(&headers()?, name)?.is_some() && files::exists(Path::new(&database))?)
    }
}

fn database_name(name: &str) -> Result<String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_PROFILE_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(format!("/{name}.sqlite"))
    } else {
        Err(StoreError::Io(format!(
            "a profile name is 1 to {MAX_PROFILE_NAME_LEN} of A-Z a-z 0-9 - _, not {name:?}"
        ))
        .into())
    }
}

/// The headers file, created with its table the first time.
fn headers() -> Result<Connection> {
    let conn = Connection::open_with_flags(
        HEADERS_FILE,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )
    .map_err(sqlite_error("opening the profiles' key headers"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS key_headers (
             profile TEXT PRIMARY KEY NOT NULL,
             header BLOB NOT NULL
         );",
    )
    .map_err(sqlite_error("preparing the profiles' key headers"))?;
    Ok(conn)
}

fn read_header(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT header FROM key_headers WHERE profile = ?1",
            params![name],
            |row| row.get(0),
        )
        .optional()
        .map_err(sqlite_error("reading a key header"))?)
}

fn write_header(conn: &Connection, name: &str, info: &KeyInfo) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO key_headers (profile, header) VALUES (?1, ?2)",
        params![name, info.encode()],
    )
    .map_err(sqlite_error("writing a key header"))?;
    Ok(())
}
