//! The default chunk store: each chunk one file, indexed in its own SQLite file.
//!
//! In the chunk directory (`<data dir>/chunks`, owner-only):
//!
//! - `index.sqlite`: one row per chunk (id, delete hash, size, expiry hour); WAL with
//!   `synchronous = FULL` and an exclusive lock, like the queue store. A file of its own,
//!   so the chunk index and the queue store change independently.
//! - `parts/<id in base64url>`: the chunk's bytes.
//! - `tmp/`: uploads in progress, under random names.
//!
//! An upload is written to `tmp/`, synced, then, inside the index transaction that records
//! it, renamed into `parts/` and the directory synced; only then is the transaction
//! committed. A deletion commits the index first and removes the file afterwards. A crash
//! can therefore leave only files no row names (removed when the store is next opened) or
//! uploads in `tmp/` (removed then too), never a row without its file.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};
use sotto_core::relay::ChunkId;

use super::StoreError;
use super::chunks::{ChunkCounts, ChunkPolicy, ChunkReader, ChunkStore, ChunkUpload, Hour};

/// Name of the chunk index inside the chunk directory.
pub const INDEX_FILE: &str = "index.sqlite";
/// Folder of stored chunks inside the chunk directory.
pub const PARTS_DIR: &str = "parts";
/// Folder of uploads in progress inside the chunk directory.
pub const TMP_DIR: &str = "tmp";
/// `PRAGMA application_id` of a chunk index ("SOTC").
pub const CHUNK_APPLICATION_ID: i32 = 0x534F_5443;
/// The chunk index's schema version.
pub const CHUNK_SCHEMA_VERSION: u32 = 1;

const SCHEMA: &str = "
CREATE TABLE chunks (
    id           BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 32),
    delete_hash  BLOB    NOT NULL CHECK (length(delete_hash) = 32),
    size         INTEGER NOT NULL CHECK (size >= 0),
    expires_hour INTEGER NOT NULL CHECK (expires_hour >= 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX chunks_by_expiry ON chunks (expires_hour);
";

/// Files plus a SQLite index (see the module documentation).
pub struct FileChunkStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    policy: ChunkPolicy,
    parts: PathBuf,
    tmp: PathBuf,
}

impl std::fmt::Debug for FileChunkStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileChunkStore")
            .field("parts", &self.inner.parts)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

fn backend(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::Backend(format!("{what}: {e}"))
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> StoreError {
    move |e| StoreError::Backend(format!("{what}: {e}"))
}

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn create_private_dir(path: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(path)
        .map_err(io("creating the chunk directory"))
}

/// Syncs a directory, so a rename or creation in it survives a crash (Unix; elsewhere the
/// file system gives no handle to a directory).
fn sync_dir(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(io("syncing the chunk directory"))?;
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl FileChunkStore {
    /// Opens (creating if needed) the chunk store in `dir`, removing uploads left
    /// unfinished and files no index row names.
    pub fn open(dir: &Path, policy: ChunkPolicy) -> Result<Self, StoreError> {
        let parts = dir.join(PARTS_DIR);
        let tmp = dir.join(TMP_DIR);
        for path in [dir, &parts, &tmp] {
            create_private_dir(path)?;
        }
        let conn = open_index(&dir.join(INDEX_FILE))?;
        let store = Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                policy,
                parts,
                tmp,
            }),
        };
        store.clean_up()?;
        Ok(store)
    }

    /// The rules this store applies.
    pub fn policy(&self) -> ChunkPolicy {
        self.inner.policy
    }

    /// Where chunk `id`'s bytes are (for tests that check a deleted chunk's file is gone).
    pub fn part_path(&self, id: &ChunkId) -> PathBuf {
        self.inner.part_path(id)
    }

    /// Removes unfinished uploads, files without a row and rows without a file.
    fn clean_up(&self) -> Result<(), StoreError> {
        for entry in fs::read_dir(&self.inner.tmp).map_err(io("listing unfinished uploads"))? {
            let entry = entry.map_err(io("listing unfinished uploads"))?;
            fs::remove_file(entry.path()).map_err(io("removing an unfinished upload"))?;
        }
        let conn = self.inner.lock();
        let mut known = std::collections::HashSet::new();
        {
            let mut statement = conn
                .prepare("SELECT id FROM chunks")
                .map_err(backend("listing chunks"))?;
            let rows = statement
                .query_map([], |row| row.get::<_, Vec<u8>>(0))
                .map_err(backend("listing chunks"))?;
            for row in rows {
                known.insert(URL_SAFE_NO_PAD.encode(row.map_err(backend("listing chunks"))?));
            }
        }
        let mut present = std::collections::HashSet::new();
        for entry in fs::read_dir(&self.inner.parts).map_err(io("listing chunk files"))? {
            let entry = entry.map_err(io("listing chunk files"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if known.contains(&name) {
                present.insert(name);
            } else {
                fs::remove_file(entry.path()).map_err(io("removing an unindexed chunk file"))?;
            }
        }
        for missing in known.difference(&present) {
            if let Ok(id) = URL_SAFE_NO_PAD.decode(missing) {
                conn.execute("DELETE FROM chunks WHERE id = ?1", [id])
                    .map_err(backend("forgetting a chunk without its file"))?;
            }
        }
        Ok(())
    }
}

fn open_index(path: &Path) -> Result<Connection, StoreError> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).map_err(io("creating the chunk index"))?;
    let mut conn = Connection::open(path).map_err(backend("opening the chunk index"))?;
    conn.busy_timeout(std::time::Duration::ZERO)
        .map_err(backend("setting the busy timeout"))?;
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(backend("setting the locking mode"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::InUse
            }
            _ => StoreError::Backend(format!("setting the journal mode: {e}")),
        })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "the chunk index refused WAL mode ({mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(backend("setting synchronous mode"))?;
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(backend("reading the application id"))?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(backend("reading the schema version"))?;
    match (application_id, version) {
        (0, 0) => {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend("beginning the chunk schema"))?;
            tx.execute_batch(SCHEMA)
                .and_then(|()| tx.pragma_update(None, "application_id", CHUNK_APPLICATION_ID))
                .and_then(|()| tx.pragma_update(None, "user_version", CHUNK_SCHEMA_VERSION))
                .and_then(|()| tx.commit())
                .map_err(backend("creating the chunk schema"))?;
        }
        (CHUNK_APPLICATION_ID, 1) => {}
        (CHUNK_APPLICATION_ID, other) => {
            return Err(StoreError::Incompatible(format!(
                "chunk index schema version {other} is not {CHUNK_SCHEMA_VERSION}"
            )));
        }
        (other, _) => {
            return Err(StoreError::Incompatible(format!(
                "the chunk index is a database of another application (application_id {other:#010x})"
            )));
        }
    }
    keep_totals(&conn)?;
    Ok(conn)
}

/// Keeps the index's totals (chunks, bytes) in one row of this connection's memory,
/// counted once now and then kept by triggers in the transactions that change them, so that
/// `/metrics` reads one row instead of scanning the index. Nothing of it is written to the
/// file.
fn keep_totals(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "PRAGMA temp_store = MEMORY;
         CREATE TEMP TABLE totals (chunks INTEGER NOT NULL, bytes INTEGER NOT NULL);
         INSERT INTO temp.totals
             SELECT count(*), coalesce(sum(size), 0) FROM main.chunks;
         CREATE TEMP TRIGGER chunk_added AFTER INSERT ON main.chunks
             BEGIN UPDATE temp.totals SET chunks = chunks + 1, bytes = bytes + NEW.size; END;
         CREATE TEMP TRIGGER chunk_removed AFTER DELETE ON main.chunks
             BEGIN UPDATE temp.totals SET chunks = chunks - 1, bytes = bytes - OLD.size; END;
         CREATE TEMP TRIGGER chunk_changed AFTER UPDATE OF size ON main.chunks
             BEGIN UPDATE temp.totals SET bytes = bytes - OLD.size + NEW.size; END;",
    )
    .map_err(backend("keeping the chunk totals"))
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn part_path(&self, id: &ChunkId) -> PathBuf {
        self.parts.join(id.to_text())
    }

    /// Bytes of unexpired chunks, and whether an unexpired chunk holds `id`.
    fn measure(conn: &Connection, id: &ChunkId, now: Hour) -> Result<(u64, bool), StoreError> {
        let used: i64 = conn
            .query_row(
                "SELECT coalesce(sum(size), 0) FROM chunks WHERE expires_hour >= ?1",
                [int(now.0)],
                |row| row.get(0),
            )
            .map_err(backend("measuring the chunk store"))?;
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM chunks WHERE id = ?1 AND expires_hour >= ?2",
                (&id.as_bytes()[..], int(now.0)),
                |row| row.get(0),
            )
            .optional()
            .map_err(backend("looking up a chunk"))?;
        Ok((u64::try_from(used).unwrap_or(0), exists.is_some()))
    }

    fn check_room(&self, used: u64, len: u64) -> Result<(), StoreError> {
        if used.saturating_add(len) > self.policy.max_store_bytes {
            Err(StoreError::ChunkStoreFull)
        } else {
            Ok(())
        }
    }
}

/// An upload into `tmp/`.
struct FileUpload {
    inner: Arc<Inner>,
    id: ChunkId,
    file: Option<BufWriter<File>>,
    path: PathBuf,
    written: u64,
}

impl Drop for FileUpload {
    fn drop(&mut self) {
        // Not committed (or committed: then the file was renamed and this finds nothing).
        drop(self.file.take());
        let _ = fs::remove_file(&self.path);
    }
}

impl ChunkUpload for FileUpload {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| StoreError::Backend("writing a chunk: the upload is closed".into()))?;
        file.write_all(bytes).map_err(io("writing a chunk"))?;
        self.written = self.written.saturating_add(bytes.len() as u64);
        Ok(())
    }

    fn commit(mut self: Box<Self>, delete_hash: [u8; 32], now: Hour) -> Result<(), StoreError> {
        let file = self.file.take().ok_or_else(|| {
            StoreError::Backend("committing a chunk: the upload is closed".into())
        })?;
        let file = file
            .into_inner()
            .map_err(|e| StoreError::Backend(format!("writing a chunk: {}", e.error())))?;
        file.sync_all().map_err(io("syncing a chunk"))?;
        drop(file);
        let inner = Arc::clone(&self.inner);
        let mut conn = inner.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend("beginning a transaction"))?;
        // An expired chunk with this id is gone: its row goes, its file is replaced below.
        tx.execute(
            "DELETE FROM chunks WHERE id = ?1 AND expires_hour < ?2",
            (&self.id.as_bytes()[..], int(now.0)),
        )
        .map_err(backend("forgetting an expired chunk"))?;
        let (used, exists) = Inner::measure(&tx, &self.id, now)?;
        if exists {
            return Err(StoreError::ChunkExists);
        }
        inner.check_room(used, self.written)?;
        tx.execute(
            "INSERT INTO chunks (id, delete_hash, size, expires_hour) VALUES (?1, ?2, ?3, ?4)",
            (
                &self.id.as_bytes()[..],
                &delete_hash[..],
                int(self.written),
                int(now.plus(inner.policy.expiry_hours).0),
            ),
        )
        .map_err(backend("recording a chunk"))?;
        let target = inner.part_path(&self.id);
        fs::rename(&self.path, &target).map_err(io("moving a chunk into place"))?;
        sync_dir(&inner.parts)?;
        if let Err(e) = tx.commit() {
            // The file has no row: remove it rather than leave it for the next start.
            let _ = fs::remove_file(&target);
            return Err(backend("committing a chunk")(e));
        }
        Ok(())
    }
}

impl ChunkStore for FileChunkStore {
    fn begin_upload(
        &self,
        id: &ChunkId,
        max_len: u64,
        now: Hour,
    ) -> Result<Box<dyn ChunkUpload>, StoreError> {
        {
            let conn = self.inner.lock();
            let (used, exists) = Inner::measure(&conn, id, now)?;
            if exists {
                return Err(StoreError::ChunkExists);
            }
            self.inner.check_room(used, max_len)?;
        }
        let mut name = [0u8; 16];
        rand::rng().fill_bytes(&mut name);
        let path = self.inner.tmp.join(URL_SAFE_NO_PAD.encode(name));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(io("creating an upload"))?;
        Ok(Box::new(FileUpload {
            inner: Arc::clone(&self.inner),
            id: *id,
            file: Some(BufWriter::with_capacity(64 * 1024, file)),
            path,
            written: 0,
        }))
    }

    fn open(
        &self,
        id: &ChunkId,
        offset: u64,
        now: Hour,
    ) -> Result<Option<ChunkReader>, StoreError> {
        let conn = self.inner.lock();
        let size: Option<i64> = conn
            .query_row(
                "SELECT size FROM chunks WHERE id = ?1 AND expires_hour >= ?2",
                (&id.as_bytes()[..], int(now.0)),
                |row| row.get(0),
            )
            .optional()
            .map_err(backend("looking up a chunk"))?;
        let Some(size) = size else {
            return Ok(None);
        };
        let size = u64::try_from(size).unwrap_or(0);
        // Opened under the lock: a deletion waits, and once open the file stays readable.
        let mut file = File::open(self.inner.part_path(id)).map_err(io("opening a chunk"))?;
        drop(conn);
        file.seek(SeekFrom::Start(offset.min(size)))
            .map_err(io("seeking in a chunk"))?;
        Ok(Some(ChunkReader {
            size,
            reader: Box::new(file),
        }))
    }

    fn delete(&self, id: &ChunkId, delete_hash: &[u8; 32], now: Hour) -> Result<(), StoreError> {
        let mut conn = self.inner.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend("beginning a transaction"))?;
        let stored: Option<Vec<u8>> = tx
            .query_row(
                "SELECT delete_hash FROM chunks WHERE id = ?1 AND expires_hour >= ?2",
                (&id.as_bytes()[..], int(now.0)),
                |row| row.get(0),
            )
            .optional()
            .map_err(backend("looking up a chunk"))?;
        let stored: [u8; 32] =
            stored
                .ok_or(StoreError::UnknownChunk)?
                .try_into()
                .map_err(|_| {
                    StoreError::Backend("reading a chunk: the delete hash is not 32 bytes".into())
                })?;
        // Constant-time comparison (`blake3::Hash`'s equality).
        if blake3::Hash::from(stored) != blake3::Hash::from(*delete_hash) {
            return Err(StoreError::BadCapability);
        }
        tx.execute("DELETE FROM chunks WHERE id = ?1", [&id.as_bytes()[..]])
            .map_err(backend("deleting a chunk"))?;
        tx.commit()
            .map_err(backend("committing a chunk deletion"))?;
        remove_part(&self.inner.part_path(id))
    }

    fn sweep(&self, now: Hour) -> Result<u64, StoreError> {
        let mut conn = self.inner.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend("beginning a transaction"))?;
        let expired: Vec<Vec<u8>> = {
            let mut statement = tx
                .prepare("SELECT id FROM chunks WHERE expires_hour < ?1")
                .map_err(backend("listing expired chunks"))?;
            let rows = statement
                .query_map([int(now.0)], |row| row.get(0))
                .map_err(backend("listing expired chunks"))?;
            rows.collect::<Result<_, _>>()
                .map_err(backend("listing expired chunks"))?
        };
        tx.execute("DELETE FROM chunks WHERE expires_hour < ?1", [int(now.0)])
            .map_err(backend("deleting expired chunks"))?;
        tx.commit().map_err(backend("committing a chunk sweep"))?;
        for id in &expired {
            remove_part(&self.inner.parts.join(URL_SAFE_NO_PAD.encode(id)))?;
        }
        Ok(expired.len() as u64)
    }

    fn counts(&self) -> Result<ChunkCounts, StoreError> {
        let (chunks, bytes): (i64, i64) = self
            .inner
            .lock()
            .query_row("SELECT chunks, bytes FROM temp.totals", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(backend("reading the chunk totals"))?;
        Ok(ChunkCounts {
            chunks: u64::try_from(chunks).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }
}

/// Removes a chunk's file; one already gone is fine.
fn remove_part(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("removing a chunk file")(e)),
    }
}
