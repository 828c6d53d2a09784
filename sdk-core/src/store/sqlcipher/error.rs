//! rusqlite errors mapped once to typed [`StoreError`]s, with what the store was doing.

use rusqlite::ErrorCode;

use crate::store::StoreError;

/// Maps an error of an open store. `SQLITE_NOTADB` here means a page failed SQLCipher's
/// authentication after the key was verified: the file was damaged or tampered with.
/// (While opening, the same code means a wrong key: see [`key_error`].)
pub(super) fn sqlite_error(context: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |error| map(context, error)
}

/// Maps an error of the key check: `SQLITE_NOTADB` is a wrong key (or not a database).
pub(super) fn key_error(context: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |error| match error.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::WrongKey,
        _ => map(context, error),
    }
}

fn map(context: &str, error: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    match &error {
        E::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::NotADatabase => StoreError::Corrupt(format!(
                "{context}: a page failed authentication (the file is damaged or was \
                 tampered with): {error}"
            )),
            ErrorCode::DatabaseCorrupt => StoreError::Corrupt(format!("{context}: {error}")),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::Busy(format!("{context}: {error}"))
            }
            ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::NoLargeFileSupport
            | ErrorCode::FileLockingProtocolFailed => StoreError::Io(format!("{context}: {error}")),
            _ => StoreError::Backend(format!("{context}: {error}")),
        },
        // A stored value has the wrong type or range: the file was not written by this
        // schema's code.
        E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::InvalidColumnType(..)
        | E::Utf8Error(..) => StoreError::Corrupt(format!("{context}: {error}")),
        _ => StoreError::Backend(format!("{context}: {error}")),
    }
}

/// Maps a file-system error around the database file (metadata, creating the file).
pub(super) fn io_error(context: &str, error: &std::io::Error) -> StoreError {
    StoreError::Io(format!("{context}: {error}"))
}
