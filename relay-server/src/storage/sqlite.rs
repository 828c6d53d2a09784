//! The default backend: one SQLite file, `relay.sqlite`, in the data directory.
//!
//! - WAL journal with `synchronous = FULL`: a commit is on disk (the WAL synced) before it
//!   returns, which is the durability contract of [`RelayStore`].
//! - `locking_mode = EXCLUSIVE`: the file is locked for as long as the store is open, so a
//!   second relay process on the same data directory is refused ([`StoreError::InUse`])
//!   instead of sharing it.
//! - Group commit: the operations of signed requests that arrive while a commit is
//!   syncing are run together in the next transaction, each in a savepoint of its own,
//!   and committed (synced) once; each is answered only after that commit.
//! - `secure_delete = ON`: acknowledged, deleted and expired messages are overwritten in
//!   the file, not merely unlinked from the b-tree.
//! - STRICT tables without rowids (see `migrations/v1.sql`); `application_id` marks the
//!   file as a Sotto relay store and `user_version` holds the schema version. [`MIGRATIONS`]
//!   lists the schema steps, oldest first; opening a store runs the missing ones, each in
//!   its own transaction that also stamps the new version.
//!
//! The built-in SQLite is SQLCipher's; no key is ever set, so the file is plain SQLite (the
//! relay stores only ciphertext and public keys).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use rand::RngCore as _;
use rusqlite::{Connection, ErrorCode, OptionalExtension as _, Transaction, TransactionBehavior};
use sotto_core::relay::api::ID_LEN;
use sotto_core::relay::auth::NONCE_LEN;
use sotto_core::relay::{QueuePublicKey, RecipientId, RelayMessageId, SenderId};

use super::{
    Day, NewQueue, NonceBucket, Policy, QueueKeys, RelayStore, RequestNonce, StoreCounts,
    StoreError, StoredMessage, SweepReport, Written,
};

/// Name of the data file inside the data directory.
pub const DATA_FILE: &str = "relay.sqlite";
/// Written into the file's header (`PRAGMA application_id`, "SOTR"), so a database of
/// another application is recognised and left alone.
pub const APPLICATION_ID: i32 = 0x534F_5452;

/// One schema step: SQL that brings the store from `version - 1` to `version`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The schema version the store has after this step.
    pub version: u32,
    /// What the step does, for errors.
    pub description: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// Every schema step, oldest first. Append only: never edit a released step.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "queues, messages, request nonces",
    sql: include_str!("migrations/v1.sql"),
}];

/// The schema version this build writes and the newest it opens.
pub const SCHEMA_VERSION: u32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Attempts at drawing a fresh random id before giving up (a collision of 16 random bytes
/// is not expected at all; the loop only keeps a freak collision from being an error).
const ID_ATTEMPTS: usize = 4;

/// The SQLite relay store. One connection, used by one call at a time; signed operations
/// that arrive while it is busy are committed together (see [`SqliteStore::signed`]).
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Signed operations waiting for the connection, oldest first.
    waiting: Mutex<Vec<SignedJob>>,
    /// Told each time the connection is let go, for the calls waiting for their group.
    released: Released,
    policy: Policy,
    path: PathBuf,
}

/// How many times the connection was let go, and the signal that it just was: a call whose
/// signed operation waits for a group commit sleeps here, not in the connection's lock, so
/// that a commit wakes all of its group at once instead of handing the lock down a line of
/// threads one after the other.
#[derive(Debug, Default)]
struct Released {
    count: Mutex<u64>,
    signal: Condvar,
}

impl Released {
    /// Sleeps until the connection was let go after `seen` releases.
    fn wait_past(&self, seen: u64) {
        let mut count = locked(&self.count);
        while *count == seen {
            count = self
                .signal
                .wait(count)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn seen(&self) -> u64 {
        *locked(&self.count)
    }
}

/// The connection while one call holds it; letting it go wakes the calls waiting for their
/// group commit.
struct Held<'a> {
    guard: Option<MutexGuard<'a, Connection>>,
    released: &'a Released,
}

impl std::ops::Deref for Held<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.guard
            .as_deref()
            .unwrap_or_else(|| unreachable!("held until dropped"))
    }
}

impl std::ops::DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.guard
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("held until dropped"))
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        *locked(&self.released.count) += 1;
        self.released.signal.notify_all();
    }
}

/// A signed operation waiting for the next group commit. It runs inside the group's
/// transaction (or is told why there is none) and returns how to deliver its answer once
/// the commit's outcome is known.
type SignedJob = Box<dyn FnOnce(Result<&Connection, &str>) -> Delivery + Send>;
/// Delivers a signed operation's answer: given `None` once the group committed, or why
/// the commit failed.
type Delivery = Box<dyn FnOnce(Option<&str>) + Send>;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `relay.sqlite` in `data_dir`, which must exist, and
    /// brings its schema up to date.
    pub fn open(data_dir: &Path, policy: Policy) -> Result<Self, StoreError> {
        Self::open_file(&data_dir.join(DATA_FILE), policy)
    }

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    pub fn open_file(path: &Path, policy: Policy) -> Result<Self, StoreError> {
        create_private_file(path)?;
        let mut conn = Connection::open(path).map_err(backend("opening the data file"))?;
        // This process is the file's only user (see `configure`): a lock held elsewhere
        // means another relay, and waiting for it would only delay the refusal.
        // Every statement of the hot paths is kept parsed (`cached_exec`, `cached_row`).
        conn.set_prepared_statement_cache_capacity(64);
        conn.busy_timeout(std::time::Duration::ZERO)
            .map_err(backend("setting the busy timeout"))?;
        configure(&conn)?;
        check_header(&conn)?;
        migrate(&mut conn, MIGRATIONS)?;
        keep_totals(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            waiting: Mutex::new(Vec::new()),
            released: Released::default(),
            policy,
            path: path.to_owned(),
        })
    }

    /// The path of the data file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The rules this store applies.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Closes the store: checkpoints the WAL into the data file and releases the lock.
    pub fn close(self) -> Result<(), StoreError> {
        let conn = self
            .conn
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        conn.close()
            .map_err(|(_, e)| backend("closing the data file")(e))
    }

    fn lock(&self) -> Held<'_> {
        // A panic while the lock was held rolled its transaction back when the
        // `Transaction` was dropped; the connection itself is still sound.
        let guard = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Held {
            guard: Some(guard),
            released: &self.released,
        }
    }

    /// The connection if no call holds it now.
    fn try_lock(&self) -> Option<Held<'_>> {
        let guard = match self.conn.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(Held {
            guard: Some(guard),
            released: &self.released,
        })
    }

    /// The day a queue used on `today` expires after.
    fn expiry(&self, today: Day) -> i64 {
        int(today.plus(self.policy.expiry_days).0)
    }
}

/// Creates the data file readable by its owner only (SQLite gives the WAL file the same
/// mode), unless it exists.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
        .open(path)
        .map(drop)
        .map_err(|e| StoreError::Backend(format!("creating the data file: {e}")))
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    // Exclusive locking before WAL: the WAL index lives in this process's memory (no -shm
    // file) and the lock taken below is held until the store is closed.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(backend("setting the locking mode"))?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(open_error("switching to WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "switching to WAL: the journal mode stayed {mode}"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(backend("setting synchronous = FULL"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(backend("enabling foreign keys"))?;
    conn.pragma_update(None, "secure_delete", "ON")
        .map_err(backend("enabling secure delete"))?;
    // Take the write lock now (and keep it): another process fails here, not later.
    conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
        .map_err(open_error("locking the data file"))
}

fn check_header(conn: &Connection) -> Result<(), StoreError> {
    let version = user_version(conn)?;
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(backend("reading the application id"))?;
    let objects: i64 = cached_row(conn, "SELECT count(*) FROM sqlite_master", [], |row| {
        row.get(0)
    })
    .map_err(backend("reading the schema"))?;
    let fresh = version == 0 && application_id == 0 && objects == 0;
    if application_id != APPLICATION_ID && !fresh {
        return Err(StoreError::Incompatible(format!(
            "a database of another application (application_id {application_id:#010x})"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::Incompatible(format!(
            "schema version {version} is newer than this relay's {SCHEMA_VERSION}"
        )));
    }
    Ok(())
}

/// Runs the steps of `migrations` the store lacks, one transaction each; returns the
/// version the store is at afterwards.
pub fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<u32, StoreError> {
    let current = user_version(conn)?;
    for step in migrations.iter().filter(|m| m.version > current) {
        let context = |what: &str| format!("migrating to schema v{}: {what}", step.version);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::Backend(format!("{}: {e}", context("begin"))))?;
        let found = user_version(&tx)?;
        if found + 1 != step.version {
            return Err(StoreError::Incompatible(context(&format!(
                "the store is at version {found}"
            ))));
        }
        tx.execute_batch(step.sql)
            .and_then(|()| tx.pragma_update(None, "application_id", APPLICATION_ID))
            .and_then(|()| tx.pragma_update(None, "user_version", step.version))
            .and_then(|()| tx.commit())
            .map_err(|e| StoreError::Backend(format!("{}: {e}", context(step.description))))?;
    }
    user_version(conn)
}

/// `PRAGMA user_version`.
pub fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    let raw: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(backend("reading the schema version"))?;
    u32::try_from(raw)
        .map_err(|_| StoreError::Incompatible(format!("negative schema version {raw}")))
}

/// Maps a SQLite error to [`StoreError::Backend`] with what was being done. SQLite's
/// messages name tables and columns, never the values bound to a statement.
fn backend(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| StoreError::Backend(format!("{what}: {e}"))
}

/// Like [`backend`], but a locked file means another relay holds it.
fn open_error(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::InUse,
        _ => StoreError::Backend(format!("{what}: {e}")),
    }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

/// SQLite integers are signed 64-bit; days and buckets never come near the limit.
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn random_id() -> [u8; ID_LEN] {
    let mut id = [0u8; ID_LEN];
    rand::rng().fill_bytes(&mut id);
    id
}

fn read_key(bytes: Vec<u8>) -> Result<QueuePublicKey, StoreError> {
    QueuePublicKey::from_bytes(&bytes)
        .map_err(|_| StoreError::Backend("reading a queue key: the stored key is invalid".into()))
}

fn read_id(bytes: Vec<u8>) -> Result<[u8; ID_LEN], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Backend("reading an id: the stored id is not 16 bytes".into()))
}

fn begin(conn: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend("beginning a transaction"))
}

/// Moves a live queue's expiry to `expires` (never backwards). Returns whether the queue
/// exists and has not expired by `today`.
fn touch_queue(
    tx: &Connection,
    recipient: &[u8; ID_LEN],
    today: Day,
    expires: i64,
) -> Result<bool, StoreError> {
    let alive: Option<i64> = cached_row(
        tx,
        "SELECT expires_day FROM queues WHERE recipient_id = ?1 AND expires_day >= ?2",
        (&recipient[..], int(today.0)),
        |row| row.get(0),
    )
    .optional()
    .map_err(backend("looking up a queue"))?;
    match alive {
        None => Ok(false),
        Some(current) if current >= expires => Ok(true),
        Some(_) => cached_exec(
            tx,
            "UPDATE queues SET expires_day = ?2 WHERE recipient_id = ?1",
            (&recipient[..], expires),
        )
        .map(|_| true)
        .map_err(backend("marking a queue used")),
    }
}

/// Records `nonce` unless it is already recorded; returns whether it was new.
fn insert_nonce(conn: &Connection, nonce: &RequestNonce) -> Result<bool, StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO nonces (nonce, expires_bucket) VALUES (?1, ?2)
             ON CONFLICT (nonce) DO NOTHING",
        )
        .and_then(|mut insert| insert.execute((&nonce.nonce[..], int(nonce.expires.0))))
        .map_err(backend("recording a request nonce"))?;
    Ok(inserted == 1)
}

impl SqliteStore {
    /// Runs `operation` for a signed request together with the record of its nonce, with
    /// the outcomes `RelayStore` documents under "Signed requests": a replay changes
    /// nothing; a refusal keeps only the nonce; a backend failure keeps nothing.
    ///
    /// Group commit: the operation is queued, and whoever holds the connection next runs
    /// every queued operation in one immediate transaction — each in a savepoint of its
    /// own, so one request's refusal or failure never touches another's — and commits
    /// once. Requests that arrive while a commit is syncing thus share the next sync,
    /// and every one is answered only after the commit that holds it is durable.
    fn signed<T: Send + 'static>(
        &self,
        nonce: &RequestNonce,
        operation: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.grouped(Some(*nonce), operation)
    }

    /// [`SqliteStore::signed`] for an operation whose request's nonce is already recorded
    /// (the read that ends a waiting read): the same group commit, no nonce.
    fn unsigned<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.grouped(None, operation)
    }

    fn grouped<T: Send + 'static>(
        &self,
        nonce: Option<RequestNonce>,
        operation: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let answer: Arc<Mutex<Option<Result<T, StoreError>>>> = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&answer);
        let job: SignedJob = Box::new(move |conn| {
            let outcome = match conn {
                Ok(conn) => run_signed(conn, nonce.as_ref(), operation),
                Err(why) => Err(StoreError::Backend(format!(
                    "beginning a transaction: {why}"
                ))),
            };
            Box::new(move |commit_failure: Option<&str>| {
                let outcome = match (commit_failure, outcome) {
                    // Nothing this request did is durable: neither its change nor its nonce.
                    (Some(why), Ok(_)) => Err(StoreError::Backend(format!("committing: {why}"))),
                    (Some(why), Err(e)) if e.is_refusal() && !matches!(e, StoreError::Replayed) => {
                        Err(StoreError::Backend(format!("committing: {why}")))
                    }
                    (_, outcome) => outcome,
                };
                *locked(&slot) = Some(outcome);
            })
        });
        locked(&self.waiting).push(job);
        // Until this operation's group has committed: commit the waiting ones when the
        // connection is free, or sleep until whoever holds it lets it go.
        loop {
            if let Some(outcome) = locked(&answer).take() {
                return outcome;
            }
            let seen = self.released.seen();
            match self.try_lock() {
                Some(conn) => {
                    let jobs = std::mem::take(&mut *locked(&self.waiting));
                    if !jobs.is_empty() {
                        commit_group(&conn, jobs);
                    }
                }
                None => self.released.wait_past(seen),
            }
        }
    }
}

/// Runs one statement from the connection's statement cache (parsed once per connection).
fn cached_exec<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// Reads one row with a statement from the connection's statement cache.
fn cached_row<T, P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, row)
}

/// Locks a mutex, recovering it if a panic poisoned it (every critical section here
/// leaves its data consistent).
fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `jobs` in one immediate transaction and commits it once, then delivers every
/// job's answer.
fn commit_group(conn: &Connection, jobs: Vec<SignedJob>) {
    // A panic inside an earlier group's operation unwound past its COMMIT: roll back
    // what it left open before starting afresh.
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    if let Err(e) = cached_exec(conn, "BEGIN IMMEDIATE", []) {
        let why = e.to_string();
        for job in jobs {
            job(Err(&why))(None);
        }
        return;
    }
    let deliveries: Vec<Delivery> = jobs.into_iter().map(|job| job(Ok(conn))).collect();
    let failure = cached_exec(conn, "COMMIT", []).err().map(|e| {
        // A failed COMMIT may leave the transaction open; it must not linger.
        let _ = conn.execute_batch("ROLLBACK");
        e.to_string()
    });
    for deliver in deliveries {
        deliver(failure.as_deref());
    }
}

/// One signed operation inside a group's transaction: its nonce, then the operation, each
/// in a savepoint, undone as "Signed requests" in `RelayStore` says.
fn run_signed<T>(
    conn: &Connection,
    nonce: Option<&RequestNonce>,
    operation: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    // Each a cached statement, one or more in order.
    let savepoint = |sql: &str| {
        sql.split("; ")
            .try_for_each(|one| cached_exec(conn, one, []).map(drop))
            .map_err(backend("managing a request's savepoint"))
    };
    savepoint("SAVEPOINT request")?;
    match nonce.map(|nonce| insert_nonce(conn, nonce)) {
        None | Some(Ok(true)) => {}
        Some(Ok(false)) => {
            savepoint("RELEASE request")?;
            return Err(StoreError::Replayed);
        }
        Some(Err(e)) => {
            savepoint("ROLLBACK TO request; RELEASE request")?;
            return Err(e);
        }
    }
    savepoint("SAVEPOINT operation")?;
    match operation(conn) {
        Ok(value) => {
            savepoint("RELEASE operation; RELEASE request")?;
            Ok(value)
        }
        Err(refusal) if refusal.is_refusal() => {
            savepoint("ROLLBACK TO operation; RELEASE operation; RELEASE request")?;
            Err(refusal)
        }
        Err(failure) => {
            savepoint("ROLLBACK TO request; RELEASE request")?;
            Err(failure)
        }
    }
}

/// Inserts a queue with fresh random ids.
fn create_queue_in(
    conn: &Connection,
    keys: &QueueKeys,
    expires: i64,
    max_queues: u64,
) -> Result<NewQueue, StoreError> {
    // The total kept by `keep_totals`, read in the creation's own transaction.
    let queues: i64 = cached_row(conn, "SELECT queues FROM temp.totals", [], |row| row.get(0))
        .map_err(backend("counting queues"))?;
    if u64::try_from(queues).unwrap_or(0) >= max_queues {
        return Err(StoreError::TooManyQueues);
    }
    for _ in 0..ID_ATTEMPTS {
        let (recipient, sender) = (random_id(), random_id());
        if recipient == sender {
            continue;
        }
        let inserted = cached_exec(
            conn,
            "INSERT INTO queues (recipient_id, sender_id, recipient_key, sender_key, expires_day)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            (
                &recipient[..],
                &sender[..],
                keys.recipient_key.to_bytes(),
                keys.sender_key.to_bytes(),
                expires,
            ),
        );
        match inserted {
            Ok(_) => {
                return Ok(NewQueue {
                    recipient_id: RecipientId::from_bytes(recipient),
                    sender_id: SenderId::from_bytes(sender),
                });
            }
            Err(e) if is_constraint(&e) => continue,
            Err(e) => return Err(backend("creating a queue")(e)),
        }
    }
    Err(StoreError::Backend(
        "creating a queue: no fresh random id".into(),
    ))
}

impl RelayStore for SqliteStore {
    fn create_queue(
        &self,
        keys: &QueueKeys,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<NewQueue, StoreError> {
        let (keys, expires, max_queues) = (*keys, self.expiry(today), self.policy.max_queues);
        self.signed(nonce, move |conn| {
            create_queue_in(conn, &keys, expires, max_queues)
        })
    }

    fn sender_key(
        &self,
        sender: &SenderId,
        today: Day,
    ) -> Result<Option<QueuePublicKey>, StoreError> {
        let key: Option<Vec<u8>> = self
            .lock()
            .query_row(
                "SELECT sender_key FROM queues WHERE sender_id = ?1 AND expires_day >= ?2",
                (&sender.as_bytes()[..], int(today.0)),
                |row| row.get(0),
            )
            .optional()
            .map_err(backend("looking up a queue by sender id"))?;
        key.map(read_key).transpose()
    }

    fn recipient_key(
        &self,
        recipient: &RecipientId,
        today: Day,
    ) -> Result<Option<QueuePublicKey>, StoreError> {
        let key: Option<Vec<u8>> = self
            .lock()
            .query_row(
                "SELECT recipient_key FROM queues WHERE recipient_id = ?1 AND expires_day >= ?2",
                (&recipient.as_bytes()[..], int(today.0)),
                |row| row.get(0),
            )
            .optional()
            .map_err(backend("looking up a queue by recipient id"))?;
        key.map(read_key).transpose()
    }

    fn write_message(
        &self,
        sender: &SenderId,
        body: &[u8],
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<Written, StoreError> {
        let (sender, body) = (*sender, body.to_vec());
        let (policy, expires) = (self.policy, self.expiry(today));
        self.signed(nonce, move |conn| {
            write_message_in(conn, &policy, &sender, &body, today, expires)
        })
    }

    fn next_message(
        &self,
        recipient: &RecipientId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let (recipient, expires) = (*recipient, self.expiry(today));
        self.signed(nonce, move |conn| {
            next_message_in(conn, &recipient, today, expires)
        })
    }

    fn ack_then_next(
        &self,
        recipient: &RecipientId,
        ack: &RelayMessageId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<(bool, Option<StoredMessage>), StoreError> {
        let (recipient, ack, expires) = (*recipient, *ack, self.expiry(today));
        self.signed(nonce, move |conn| {
            let acked = match ack_message_in(conn, &recipient, &ack, today, expires) {
                Ok(()) => true,
                Err(StoreError::UnknownMessage) => false,
                Err(e) => return Err(e),
            };
            // The acknowledgement marked the queue used already.
            Ok((acked, oldest_message(conn, &recipient, today)?))
        })
    }

    fn next_message_after_wait(
        &self,
        recipient: &RecipientId,
        today: Day,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let (recipient, expires) = (*recipient, self.expiry(today));
        self.unsigned(move |conn| next_message_in(conn, &recipient, today, expires))
    }

    fn ack_message(
        &self,
        recipient: &RecipientId,
        message: &RelayMessageId,
        today: Day,
        nonce: &RequestNonce,
    ) -> Result<(), StoreError> {
        let (recipient, message) = (*recipient, *message);
        let expires = self.expiry(today);
        self.signed(nonce, move |conn| {
            ack_message_in(conn, &recipient, &message, today, expires)
        })
    }

    fn delete_queue(
        &self,
        recipient: &RecipientId,
        nonce: &RequestNonce,
    ) -> Result<(), StoreError> {
        let recipient = *recipient;
        self.signed(nonce, move |conn| delete_queue_in(conn, &recipient))
    }

    fn remember_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        expires: NonceBucket,
    ) -> Result<bool, StoreError> {
        insert_nonce(
            &self.lock(),
            &RequestNonce {
                nonce: *nonce,
                expires,
            },
        )
    }

    fn sweep(&self, today: Day, now: NonceBucket) -> Result<SweepReport, StoreError> {
        let mut conn = self.lock();
        let tx = begin(&mut conn)?;
        let today = int(today.0);
        let expired_messages = cached_exec(
            &tx,
            "DELETE FROM messages WHERE expires_day < ?1
                    OR queue IN (SELECT recipient_id FROM queues WHERE expires_day < ?1)",
            [today],
        )
        .map_err(backend("deleting expired messages"))?;
        let expired_queues = cached_exec(&tx, "DELETE FROM queues WHERE expires_day < ?1", [today])
            .map_err(backend("deleting expired queues"))?;
        let expired_nonces = cached_exec(
            &tx,
            "DELETE FROM nonces WHERE expires_bucket < ?1",
            [int(now.0)],
        )
        .map_err(backend("deleting expired nonces"))?;
        tx.commit().map_err(backend("committing a sweep"))?;
        Ok(SweepReport {
            messages: expired_messages as u64,
            queues: expired_queues as u64,
            nonces: expired_nonces as u64,
        })
    }

    fn counts(&self) -> Result<StoreCounts, StoreError> {
        // One row kept by the triggers of `keep_totals`: no scan under the lock.
        let (queues, messages, message_bytes): (i64, i64, i64) = self
            .lock()
            .query_row(
                "SELECT queues, messages, message_bytes FROM temp.totals",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .map_err(backend("reading the totals"))?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(StoreCounts {
            queues: count(queues),
            messages: count(messages),
            message_bytes: count(message_bytes),
        })
    }
}

/// Keeps the store's totals (queues, messages, message bytes) in one row of this
/// connection's memory, and each queue's (messages, bytes, last place) in a row per queue
/// that holds messages, counted once now and then kept by triggers in the very
/// transactions that change them (a rolled-back write changes no total). Temporary: nothing
/// of it is written to the data file, which holds no counters (`migrations/v1.sql`). A
/// write checks its queue's quota by reading one row instead of counting the queue.
fn keep_totals(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "PRAGMA temp_store = MEMORY;
         CREATE TEMP TABLE totals (
             queues        INTEGER NOT NULL,
             messages      INTEGER NOT NULL,
             message_bytes INTEGER NOT NULL
         );
         INSERT INTO temp.totals
             SELECT (SELECT count(*) FROM main.queues),
                    (SELECT count(*) FROM main.messages),
                    (SELECT coalesce(sum(length(body)), 0) FROM main.messages);
         CREATE TEMP TRIGGER queue_added AFTER INSERT ON main.queues
             BEGIN UPDATE temp.totals SET queues = queues + 1; END;
         CREATE TEMP TRIGGER queue_removed AFTER DELETE ON main.queues
             BEGIN UPDATE temp.totals SET queues = queues - 1; END;
         CREATE TEMP TRIGGER message_added AFTER INSERT ON main.messages
             BEGIN UPDATE temp.totals SET messages = messages + 1,
                 message_bytes = message_bytes + length(NEW.body); END;
         CREATE TEMP TRIGGER message_removed AFTER DELETE ON main.messages
             BEGIN UPDATE temp.totals SET messages = messages - 1,
                 message_bytes = message_bytes - length(OLD.body); END;
         CREATE TEMP TRIGGER message_changed AFTER UPDATE OF body ON main.messages
             BEGIN UPDATE temp.totals
                 SET message_bytes = message_bytes - length(OLD.body) + length(NEW.body); END;
         CREATE TEMP TABLE queue_totals (
             queue    BLOB    NOT NULL PRIMARY KEY,
             messages INTEGER NOT NULL,
             bytes    INTEGER NOT NULL,
             last_seq INTEGER NOT NULL
         ) WITHOUT ROWID;
         INSERT INTO temp.queue_totals
             SELECT queue, count(*), sum(length(body)), max(seq)
             FROM main.messages GROUP BY queue;
         CREATE TEMP TRIGGER queue_message_added AFTER INSERT ON main.messages
             BEGIN INSERT INTO temp.queue_totals VALUES (NEW.queue, 1, length(NEW.body), NEW.seq)
                 ON CONFLICT (queue) DO UPDATE SET messages = messages + 1,
                     bytes = bytes + length(NEW.body), last_seq = max(last_seq, NEW.seq);
             END;
         CREATE TEMP TRIGGER queue_message_removed AFTER DELETE ON main.messages
             BEGIN UPDATE temp.queue_totals SET messages = messages - 1,
                     bytes = bytes - length(OLD.body) WHERE queue = OLD.queue;
                 DELETE FROM temp.queue_totals WHERE queue = OLD.queue AND messages <= 0;
             END;
         CREATE TEMP TRIGGER queue_message_changed AFTER UPDATE OF body ON main.messages
             BEGIN UPDATE temp.queue_totals
                 SET bytes = bytes - length(OLD.body) + length(NEW.body) WHERE queue = NEW.queue;
             END;",
    )
    .map_err(backend("keeping the totals"))
}

/// Appends a message to the queue with this sender id, within the quota.
fn write_message_in(
    tx: &Connection,
    policy: &Policy,
    sender: &SenderId,
    body: &[u8],
    today: Day,
    expires: i64,
) -> Result<Written, StoreError> {
    let queue: Option<Vec<u8>> = cached_row(
        tx,
        "SELECT recipient_id FROM queues WHERE sender_id = ?1 AND expires_day >= ?2",
        (&sender.as_bytes()[..], int(today.0)),
        |row| row.get(0),
    )
    .optional()
    .map_err(backend("looking up a queue by sender id"))?;
    let queue = read_id(queue.ok_or(StoreError::UnknownQueue)?)?;
    // The queue's totals as `keep_totals` keeps them (messages expired but not yet swept
    // still count, for at most a sweep interval).
    let (count, bytes, last_seq): (i64, i64, i64) = cached_row(
        tx,
        "SELECT messages, bytes, last_seq FROM temp.queue_totals WHERE queue = ?1",
        [&queue[..]],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
    .optional()
    .map_err(backend("measuring a queue"))?
    .unwrap_or((0, 0, 0));
    let count = u64::try_from(count).unwrap_or(0);
    let bytes = u64::try_from(bytes).unwrap_or(0);
    let body_len = u64::try_from(body.len()).unwrap_or(u64::MAX);
    if count.saturating_add(1) > policy.max_queue_messages
        || bytes.saturating_add(body_len) > policy.max_queue_bytes
    {
        return Err(StoreError::QuotaExceeded);
    }
    let mut stored = None;
    for _ in 0..ID_ATTEMPTS {
        let id = random_id();
        match cached_exec(
            tx,
            "INSERT INTO messages (queue, seq, message_id, body, expires_day)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            (&queue[..], last_seq + 1, &id[..], body, expires),
        ) {
            Ok(_) => {
                stored = Some(id);
                break;
            }
            Err(e) if is_constraint(&e) => continue,
            Err(e) => return Err(backend("storing a message")(e)),
        }
    }
    let id = stored
        .ok_or_else(|| StoreError::Backend("storing a message: no fresh random id".into()))?;
    touch_queue(tx, &queue, today, expires)?;
    Ok(Written {
        id: RelayMessageId::from_bytes(id),
        queue: RecipientId::from_bytes(queue),
    })
}

/// The oldest unexpired message of the queue; marks the queue used.
fn next_message_in(
    tx: &Connection,
    recipient: &RecipientId,
    today: Day,
    expires: i64,
) -> Result<Option<StoredMessage>, StoreError> {
    if !touch_queue(tx, recipient.as_bytes(), today, expires)? {
        return Err(StoreError::UnknownQueue);
    }
    oldest_message(tx, recipient, today)
}

/// The oldest unexpired message of the queue.
fn oldest_message(
    tx: &Connection,
    recipient: &RecipientId,
    today: Day,
) -> Result<Option<StoredMessage>, StoreError> {
    let message: Option<(Vec<u8>, Vec<u8>)> = cached_row(
        tx,
        "SELECT message_id, body FROM messages
                 WHERE queue = ?1 AND expires_day >= ?2 ORDER BY seq LIMIT 1",
        (&recipient.as_bytes()[..], int(today.0)),
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
    .map_err(backend("reading a message"))?;
    message
        .map(|(id, body)| {
            Ok(StoredMessage {
                id: RelayMessageId::from_bytes(read_id(id)?),
                body,
            })
        })
        .transpose()
}

/// Deletes one message of the queue; marks the queue used.
fn ack_message_in(
    tx: &Connection,
    recipient: &RecipientId,
    message: &RelayMessageId,
    today: Day,
    expires: i64,
) -> Result<(), StoreError> {
    if !touch_queue(tx, recipient.as_bytes(), today, expires)? {
        return Err(StoreError::UnknownQueue);
    }
    let deleted = cached_exec(
        tx,
        "DELETE FROM messages WHERE queue = ?1 AND message_id = ?2 AND expires_day >= ?3",
        (
            &recipient.as_bytes()[..],
            &message.as_bytes()[..],
            int(today.0),
        ),
    )
    .map_err(backend("deleting a message"))?;
    if deleted == 0 {
        return Err(StoreError::UnknownMessage);
    }
    Ok(())
}

/// Deletes the queue and its messages.
fn delete_queue_in(tx: &Connection, recipient: &RecipientId) -> Result<(), StoreError> {
    cached_exec(
        tx,
        "DELETE FROM messages WHERE queue = ?1",
        [&recipient.as_bytes()[..]],
    )
    .map_err(backend("deleting a queue's messages"))?;
    let deleted = cached_exec(
        tx,
        "DELETE FROM queues WHERE recipient_id = ?1",
        [&recipient.as_bytes()[..]],
    )
    .map_err(backend("deleting a queue"))?;
    if deleted == 0 {
        return Err(StoreError::UnknownQueue);
    }
    Ok(())
}
