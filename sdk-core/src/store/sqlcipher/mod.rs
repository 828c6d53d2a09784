//! The SQLCipher [`Store`]: one encrypted SQLite file per profile.
//!
//! - The whole file (pages, write-ahead log) is encrypted and authenticated by SQLCipher
//!   with the profile's raw 256-bit [`DatabaseKey`]; temporary data stays in memory. See
//!   `docs/PROTOCOL.md` ("Local store") for the file layout and settings.
//! - [`Store::apply`] is one `BEGIN IMMEDIATE` … `COMMIT` transaction with
//!   `synchronous = FULL`: a change set is on disk, entirely, when `apply` returns `Ok`.
//! - The schema is versioned (`PRAGMA user_version`) and migrated on open; see `schema.rs`.

#[cfg(target_arch = "wasm32")]
mod browser;
mod connection;
mod conversation;
mod error;
mod files;
#[cfg(target_arch = "wasm32")]
mod profiles;
mod queues;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use self::connection::{Access, configure, open_keyed};
use self::error::sqlite_error;
use self::files::absolute;
#[cfg(target_arch = "wasm32")]
pub use self::profiles::{MAX_PROFILE_NAME_LEN, VfsProfiles};
use self::schema::{MIGRATIONS, SCHEMA_VERSION, check_header, migrate, read_header};
use super::{
    AttachmentRecord, ChangeSet, ContactRecord, ConversationPlace, DatabaseKey, IdentityRecord,
    KyberBaseKeyUse, MessageDirection, MessageRecord, MessageStatus, OutboxRecord,
    ReceiveQueueRecord, SendQueueRecord, Store, StoreError, Towards,
};

/// A profile's store in one SQLCipher database file.
///
/// Every method runs synchronously on one connection guarded by a [`Mutex`]: a SQLite
/// connection must not be used by two threads at once, and one connection means a read
/// always sees the last applied change set. The lock is taken and released inside each
/// call and never held across an `.await`, so the store can be shared between threads
/// (`Arc<SqlCipherStore>`) and used from any executor.
///
/// The file is closed when the store is dropped. Opened through a
/// [`ProfileDirectory`](crate::store::ProfileDirectory), the store holds the directory's
/// lock, so no other messenger opens the profile meanwhile ([`StoreError::InUse`]); a
/// store opened by path may share its file with other connections (SQLite locks the file
/// while writing; see [`StoreError::Busy`]).
pub struct SqlCipherStore {
    connection: Mutex<Connection>,
    path: PathBuf,
    /// The profile directory's lock, held while the store is open (natively, for a store
    /// opened through a [`ProfileDirectory`](crate::store::ProfileDirectory)).
    _lock: Option<std::fs::File>,
}

impl std::fmt::Debug for SqlCipherStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlCipherStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqlCipherStore {
    /// The schema version this build writes and the newest it can open. A store of a
    /// newer version is refused with [`StoreError::NewerSchema`].
    pub const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    /// Creates a new, empty store at `path`, encrypted with `key`, at the newest schema
    /// version. Refuses ([`StoreError::AlreadyExists`]) when a file is already there, or a
    /// leftover `-wal`/`-journal` beside it; never overwrites anything. On failure the new
    /// file is removed again.
    pub fn create(path: impl AsRef<Path>, key: &DatabaseKey) -> Result<Self, StoreError> {
        let path = absolute(path.as_ref())?;
        files::claim_new(&path)?;
        let created = Self::open_read_write(&path, key);
        if created.is_err() {
            files::remove_new(&path);
        }
        created
    }

    /// Opens the existing store at `path` with `key` and migrates it to the newest schema
    /// version. Never creates a file ([`StoreError::NotFound`]).
    ///
    /// Before anything is written the key is verified on a read-only connection and the
    /// schema version checked: a wrong key ([`StoreError::WrongKey`]), a store of a newer
    /// version ([`StoreError::NewerSchema`]) or a file that is not a Sotto store
    /// ([`StoreError::NotAStore`]) leave every byte of the file as it was.
    pub fn open(path: impl AsRef<Path>, key: &DatabaseKey) -> Result<Self, StoreError> {
        let path = absolute(path.as_ref())?;
        files::check_existing(&path)?;
        {
            let probe = open_keyed(&path, key, Access::Probe)?;
            check_header(read_header(&probe)?, SCHEMA_VERSION)?;
        }
        Self::open_read_write(&path, key)
    }

    /// The read-write connection: keyed and verified, configured, migrated.
    fn open_read_write(path: &Path, key: &DatabaseKey) -> Result<Self, StoreError> {
        let mut conn = open_keyed(path, key, Access::ReadWrite)?;
        // Checked again: the file may have changed since the read-only look.
        check_header(read_header(&conn)?, SCHEMA_VERSION)?;
        configure(&conn)?;
        migrate(&mut conn, MIGRATIONS)?;
        // Room for every statement of the `Store` methods (rusqlite's default is 16).
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self {
            connection: Mutex::new(conn),
            path: path.to_path_buf(),
            _lock: None,
        })
    }

    /// This store, keeping its profile directory's lock until it is dropped.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn holding(mut self, lock: Option<std::fs::File>) -> Self {
        self._lock = lock;
        self
    }

    /// Whether `key` opens the store at `path`, found out by reading only (what
    /// [`SqlCipherStore::open`] checks before it writes anything): `Ok(false)` for a key
    /// the database refuses.
    pub fn key_opens(path: impl AsRef<Path>, key: &DatabaseKey) -> Result<bool, StoreError> {
        let path = absolute(path.as_ref())?;
        match open_keyed(&path, key, Access::Probe) {
            Ok(_) => Ok(true),
            Err(StoreError::WrongKey) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Re-encrypts the whole database under `key` (SQLCipher's `PRAGMA rekey`, one
    /// transaction: afterwards the file opens with `key` only; on an error, still with the
    /// old one). Then, as far as it goes, the write-ahead log is moved into the file and
    /// emptied, so that the pages encrypted with the old key are overwritten at once.
    pub fn rekey(&self, key: &DatabaseKey) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute_batch(&connection::rekey_pragma(key))
                .map_err(sqlite_error("re-encrypting the database under a new key"))?;
            // Best effort: the new key is in force either way, and the next checkpoint
            // overwrites the old pages.
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            Ok(())
        })
    }

    /// The database file (absolute). Its write-ahead log is this path with `-wal`
    /// appended, the shared-memory index with `-shm`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's schema version (after opening, always [`Self::SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.with(|conn| schema::user_version(conn))
    }

    /// Reads every page (authenticating each with SQLCipher's HMAC) and checks SQLite's
    /// structures. Slow on a large store: for diagnostics and tests, not every open.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let problems: Vec<String> = self.with(|conn| {
            let mut stmt = conn
                .prepare("PRAGMA integrity_check")
                .map_err(sqlite_error("integrity check"))?;
            let rows = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(sqlite_error("integrity check"))?;
            rows.collect::<Result<_, _>>()
                .map_err(sqlite_error("integrity check"))
        })?;
        if problems == ["ok"] {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!(
                "integrity check: {}",
                problems.join("; ")
            )))
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.connection
            .lock()
            .map_err(|_| StoreError::Backend("SQLCipher store lock poisoned".into()))
    }

    /// Runs `f` on the connection under the lock (released before returning).
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.lock()?;
        f(&mut connection)
    }

    fn load_blob(
        &self,
        what: &str,
        sql: &str,
        key: impl rusqlite::Params,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(sql)
                .and_then(|mut stmt| stmt.query_row(key, |row| row.get(0)).optional())
                .map_err(sqlite_error(what))
        })
    }

    fn ids(&self, table: &PreKeyTable) -> Result<Vec<u32>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached(table.ids)
                .map_err(sqlite_error(table.what))?;
            let ids = stmt
                .query_map([], |row| row.get(0))
                .map_err(sqlite_error(table.what))?;
            ids.collect::<Result<_, _>>()
                .map_err(sqlite_error(table.what))
        })
    }
}

/// The statements of one of the three prekey tables (same shape, different records).
struct PreKeyTable {
    what: &'static str,
    load: &'static str,
    ids: &'static str,
    put: &'static str,
    delete: &'static str,
}

macro_rules! pre_key_table {
    ($table:literal, $what:literal) => {
        PreKeyTable {
            what: $what,
            load: concat!("SELECT record FROM ", $table, " WHERE id = ?1"),
            ids: concat!("SELECT id FROM ", $table, " ORDER BY id"),
            put: concat!(
                "INSERT INTO ",
                $table,
                " (id, record) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET record = excluded.record"
            ),
            delete: concat!("DELETE FROM ", $table, " WHERE id = ?1"),
        }
    };
}

const PRE_KEYS: PreKeyTable = pre_key_table!("pre_keys", "one-time prekeys");
const SIGNED_PRE_KEYS: PreKeyTable = pre_key_table!("signed_pre_keys", "signed prekeys");
const KYBER_PRE_KEYS: PreKeyTable = pre_key_table!("kyber_pre_keys", "Kyber prekeys");

/// Writes one change set inside the caller's transaction.
fn write_changes(tx: &Transaction<'_>, changes: &ChangeSet) -> rusqlite::Result<()> {
    if let Some(identity) = &changes.identity {
        tx.prepare_cached(
            "INSERT INTO identity (id, key_pair, registration_id, display_name) \
             VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET \
             key_pair = excluded.key_pair, registration_id = excluded.registration_id, \
             display_name = excluded.display_name",
        )?
        .execute(params![
            identity.key_pair,
            identity.registration_id,
            identity.display_name
        ])?;
    }
    if !changes.remote_identities.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO remote_identities (address, identity_key) VALUES (?1, ?2) \
             ON CONFLICT (address) DO UPDATE SET identity_key = excluded.identity_key",
        )?;
        for (address, key) in &changes.remote_identities {
            stmt.execute(params![address, key])?;
        }
    }
    if !changes.sessions.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO sessions (address, record) VALUES (?1, ?2) \
             ON CONFLICT (address) DO UPDATE SET record = excluded.record",
        )?;
        for (address, record) in &changes.sessions {
            stmt.execute(params![address, record])?;
        }
    }
    for (table, records) in [
        (&PRE_KEYS, &changes.pre_keys),
        (&SIGNED_PRE_KEYS, &changes.signed_pre_keys),
        (&KYBER_PRE_KEYS, &changes.kyber_pre_keys),
    ] {
        for (id, record) in records {
            match record {
                Some(bytes) => tx.prepare_cached(table.put)?.execute(params![id, bytes])?,
                None => tx.prepare_cached(table.delete)?.execute(params![id])?,
            };
        }
    }
    if !changes.kyber_base_keys.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO kyber_base_key_uses (kyber_pre_key_id, signed_pre_key_id, base_key) \
             VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?;
        for used in &changes.kyber_base_keys {
            stmt.execute(params![
                used.kyber_pre_key_id,
                used.signed_pre_key_id,
                used.base_key
            ])?;
        }
    }
    conversation::write(tx, changes)?;
    queues::write(tx, changes)?;
    for (name, value) in &changes.settings {
        match value {
            Some(value) => tx
                .prepare_cached(
                    "INSERT INTO settings (name, value) VALUES (?1, ?2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![name, value])?,
            None => tx
                .prepare_cached("DELETE FROM settings WHERE name = ?1")?
                .execute([name])?,
        };
    }
    conversation::forget_contacts(tx, changes)
}

#[async_trait(?Send)]
impl Store for SqlCipherStore {
    async fn load_identity(&self) -> Result<Option<IdentityRecord>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(
                "SELECT key_pair, registration_id, display_name FROM identity WHERE id = 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([], |row| {
                    Ok(IdentityRecord {
                        key_pair: row.get(0)?,
                        registration_id: row.get(1)?,
                        display_name: row.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(sqlite_error("loading the identity"))
        })
    }

    async fn load_remote_identity(&self, address: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.load_blob(
            "loading a remote identity",
            "SELECT identity_key FROM remote_identities WHERE address = ?1",
            [address],
        )
    }

    async fn load_session(&self, address: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.load_blob(
            "loading a session",
            "SELECT record FROM sessions WHERE address = ?1",
            [address],
        )
    }

    async fn load_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.load_blob(PRE_KEYS.what, PRE_KEYS.load, [id])
    }

    async fn load_signed_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.load_blob(SIGNED_PRE_KEYS.what, SIGNED_PRE_KEYS.load, [id])
    }

    async fn load_kyber_pre_key(&self, id: u32) -> Result<Option<Vec<u8>>, StoreError> {
        self.load_blob(KYBER_PRE_KEYS.what, KYBER_PRE_KEYS.load, [id])
    }

    async fn pre_key_ids(&self) -> Result<Vec<u32>, StoreError> {
        self.ids(&PRE_KEYS)
    }

    async fn signed_pre_key_ids(&self) -> Result<Vec<u32>, StoreError> {
        self.ids(&SIGNED_PRE_KEYS)
    }

    async fn kyber_pre_key_ids(&self) -> Result<Vec<u32>, StoreError> {
        self.ids(&KYBER_PRE_KEYS)
    }

    async fn kyber_base_key_seen(&self, used: &KyberBaseKeyUse) -> Result<bool, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM kyber_base_key_uses WHERE kyber_pre_key_id = ?1 \
                 AND signed_pre_key_id = ?2 AND base_key = ?3)",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![used.kyber_pre_key_id, used.signed_pre_key_id, used.base_key],
                    |row| row.get(0),
                )
            })
            .map_err(sqlite_error("looking up a Kyber base key"))
        })
    }

    async fn load_contact(&self, id: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.with(|conn| conversation::load_contact(conn, id))
    }

    async fn contacts(&self) -> Result<Vec<ContactRecord>, StoreError> {
        self.with(|conn| conversation::contacts(conn))
    }

    async fn load_message(
        &self,
        contact: &str,
        direction: MessageDirection,
        id: &[u8; 16],
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.with(|conn| conversation::load_message(conn, contact, direction, id))
    }

    async fn incoming_by_sequence(
        &self,
        contact: &str,
        sequence: u64,
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.with(|conn| conversation::incoming_by_sequence(conn, contact, sequence))
    }

    async fn recent_messages(
        &self,
        contact: &str,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.with(|conn| conversation::recent_messages(conn, contact, limit))
    }

    async fn messages_page(
        &self,
        contact: &str,
        from: Option<ConversationPlace>,
        towards: Towards,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.with(|conn| conversation::messages_page(conn, contact, from, towards, limit))
    }

    async fn messages_with_status(
        &self,
        contact: &str,
        direction: MessageDirection,
        status: MessageStatus,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.with(|conn| conversation::messages_with_status(conn, contact, direction, status))
    }

    async fn outbox(&self) -> Result<Vec<OutboxRecord>, StoreError> {
        self.with(|conn| conversation::outbox(conn))
    }

    async fn next_outbox_attempt(&self) -> Result<Option<u64>, StoreError> {
        self.with(|conn| conversation::next_outbox_attempt(conn))
    }

    async fn load_attachment(
        &self,
        contact: &str,
        message_id: &[u8; 16],
    ) -> Result<Option<AttachmentRecord>, StoreError> {
        self.with(|conn| conversation::load_attachment(conn, contact, message_id))
    }

    async fn receive_queues(&self) -> Result<Vec<ReceiveQueueRecord>, StoreError> {
        self.with(|conn| queues::receive_queues(conn))
    }

    async fn load_receive_queue(
        &self,
        recipient_id: &[u8; 16],
    ) -> Result<Option<ReceiveQueueRecord>, StoreError> {
        self.with(|conn| queues::load_receive_queue(conn, recipient_id))
    }

    async fn load_send_queue(&self, contact: &str) -> Result<Option<SendQueueRecord>, StoreError> {
        self.with(|conn| queues::load_send_queue(conn, contact))
    }

    async fn load_setting(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.load_blob(
            "loading a setting",
            "SELECT value FROM settings WHERE name = ?1",
            [name],
        )
    }

    async fn apply(&self, changes: ChangeSet) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.with(|conn| {
            // IMMEDIATE takes the write lock up front, so the transaction cannot fail
            // half-way for want of it. Dropping `tx` on any error rolls everything back.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error("beginning a change set"))?;
            write_changes(&tx, &changes).map_err(sqlite_error("applying a change set"))?;
            tx.commit().map_err(sqlite_error("committing a change set"))
        })
    }
}

#[cfg(test)]
mod tests {
    //! The settings a live store's connection actually runs with.

    use super::*;

    fn setting(conn: &Connection, pragma: &str) -> String {
        conn.query_row(&format!("PRAGMA {pragma}"), [], |row| {
            let value: rusqlite::types::Value = row.get(0)?;
            Ok(match value {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
        })
        .unwrap_or_else(|e| panic!("PRAGMA {pragma}: {e}"))
    }

    #[test]
    fn a_store_runs_with_the_pinned_cipher_and_durability_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqlCipherStore::create(dir.path().join("s.sqlite"), &DatabaseKey::generate()).unwrap();
        let conn = store.lock().unwrap();
        let expected = [
            ("cipher_page_size", "4096"),
            ("cipher_use_hmac", "1"),
            ("cipher_hmac_algorithm", "HMAC_SHA512"),
            ("cipher_kdf_algorithm", "PBKDF2_HMAC_SHA512"),
            ("cipher_plaintext_header_size", "0"),
            ("cipher_provider", "openssl"),
            ("journal_mode", "wal"),
            ("synchronous", "2"),
            ("secure_delete", "1"),
            ("temp_store", "2"),
            ("foreign_keys", "1"),
            ("trusted_schema", "0"),
            ("application_id", &schema::APPLICATION_ID.to_string()),
            ("user_version", &SCHEMA_VERSION.to_string()),
        ];
        for (pragma, value) in expected {
            assert_eq!(setting(&conn, pragma), value, "PRAGMA {pragma}");
        }
        // The SQLCipher that rusqlite bundles (docs/PROTOCOL.md names it).
        assert!(
            setting(&conn, "cipher_version").starts_with("4."),
            "{}",
            setting(&conn, "cipher_version")
        );
    }
}
