//! The versioned schema of the SQLCipher store and the code that migrates old files.
//!
//! The schema version is SQLite's `PRAGMA user_version`. [`MIGRATIONS`] is an ordered list:
//! step `n` brings a store from version `n - 1` to version `n`. Opening a store runs the
//! missing steps in order, each in its own `BEGIN IMMEDIATE` transaction that also stamps
//! the new `user_version` (and Sotto's `application_id`), so a crash or an error leaves the
//! store at the last completed version and the next open resumes from there.
//!
//! To change the schema, append a step (`migrations/v5.sql`, ...) and never edit a
//! released one: old files on users' devices were written by it. Every schema version has
//! a fixture database in `tests/fixtures/` that the tests open and migrate.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::error::sqlite_error;
use crate::store::StoreError;

/// Written into every Sotto store's header (`PRAGMA application_id`, "SOTT"), so a
/// database of another application is recognised and left alone.
pub(super) const APPLICATION_ID: i32 = 0x534F_5454;

/// One schema change: what brings a store from `version - 1` to `version`.
#[derive(Clone, Copy)]
pub(super) struct Migration {
    /// The schema version the store has after this step.
    pub version: u32,
    /// What the step does, for errors and logs.
    pub description: &'static str,
    /// The change itself.
    pub step: Step,
}

/// How a migration changes the store. Both kinds run inside the step's transaction.
#[derive(Clone, Copy)]
#[allow(dead_code)] // `Code` is for future steps that transform data.
pub(super) enum Step {
    /// A batch of SQL statements.
    Sql(&'static str),
    /// Rust code, for changes SQL cannot express (re-encoding records, ...).
    Code(fn(&Transaction<'_>) -> rusqlite::Result<()>),
}

/// Every schema step, oldest first. Append only.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "identity, remote identities, sessions, prekeys, Kyber base-key uses",
        step: Step::Sql(include_str!("migrations/v1.sql")),
    },
    Migration {
        version: 2,
        description: "contacts, messages, outbox, attachment metadata",
        step: Step::Sql(include_str!("migrations/v2.sql")),
    },
    Migration {
        version: 3,
        description: "messages clustered by conversation and time",
        step: Step::Sql(include_str!("migrations/v3.sql")),
    },
    Migration {
        version: 4,
        description: "relay queues: receive queues and contacts' send queues",
        step: Step::Sql(include_str!("migrations/v4.sql")),
    },
    Migration {
        version: 5,
        description: "messages deleted on this device (tombstones); the cover loop queue; the outbox by next attempt",
        step: Step::Sql(include_str!("migrations/v5.sql")),
    },
    Migration {
        version: 6,
        description: "settings kept with the profile (network settings, the app's own)",
        step: Step::Sql(include_str!("migrations/v6.sql")),
    },
];

/// The schema version this build writes and the newest it can open.
pub(super) const SCHEMA_VERSION: u32 = latest(MIGRATIONS);

const fn latest(migrations: &[Migration]) -> u32 {
    match migrations.last() {
        Some(last) => last.version,
        None => 0,
    }
}

/// The facts about a keyed database that decide whether it may be opened and migrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    /// `PRAGMA user_version`.
    pub version: u32,
    /// `PRAGMA application_id`.
    pub application_id: i32,
    /// Entries in `sqlite_master` (0 for a database nothing was ever written to).
    pub schema_objects: i64,
}

/// Reads the header facts. The connection must be keyed and its key verified.
pub(super) fn read_header(conn: &Connection) -> Result<Header, StoreError> {
    let version = user_version(conn)?;
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(sqlite_error("reading the application id"))?;
    let schema_objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
        .map_err(sqlite_error("reading the schema"))?;
    Ok(Header {
        version,
        application_id,
        schema_objects,
    })
}

/// Refuses, without writing anything, a database this build must not migrate: one of a
/// newer schema, or one that belongs to another application.
pub(super) fn check_header(header: Header, supported: u32) -> Result<(), StoreError> {
    if header.version > supported {
        return Err(StoreError::NewerSchema {
            found: header.version,
            supported,
        });
    }
    let fresh = header.version == 0 && header.application_id == 0 && header.schema_objects == 0;
    if header.application_id != APPLICATION_ID && !fresh {
        return Err(StoreError::NotAStore(format!(
            "a database of another application (application_id {:#010x}, user_version {})",
            header.application_id, header.version
        )));
    }
    Ok(())
}

/// Brings the store to the newest version in `migrations`, one transaction per step.
/// Returns the version the store is at afterwards. Writes nothing when the store is
/// already current.
pub(super) fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<u32, StoreError> {
    let supported = latest(migrations);
    let current = user_version(conn)?;
    if current > supported {
        return Err(StoreError::NewerSchema {
            found: current,
            supported,
        });
    }
    for migration in migrations.iter().filter(|m| m.version > current) {
        run_step(conn, migration, supported)?;
    }
    user_version(conn)
}

fn run_step(
    conn: &mut Connection,
    migration: &Migration,
    supported: u32,
) -> Result<(), StoreError> {
    let context = |what: &str| format!("migration to schema v{}: {what}", migration.version);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error(&context("begin")))?;
    // Read again under the write lock: another process may have migrated meanwhile.
    let found = user_version(&tx)?;
    if found >= migration.version {
        if found > supported {
            return Err(StoreError::NewerSchema { found, supported });
        }
        return Ok(()); // Dropping `tx` rolls back the empty transaction.
    }
    if found != migration.version - 1 {
        return Err(StoreError::Corrupt(context(&format!(
            "the store is at version {found}, expected {}",
            migration.version - 1
        ))));
    }
    match migration.step {
        Step::Sql(sql) => tx.execute_batch(sql),
        Step::Code(code) => code(&tx),
    }
    .map_err(sqlite_error(&context(migration.description)))?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(sqlite_error(&context("stamping the application id")))?;
    tx.pragma_update(None, "user_version", migration.version)
        .map_err(sqlite_error(&context("stamping the version")))?;
    tx.commit().map_err(sqlite_error(&context("commit")))
}

/// `PRAGMA user_version`, which SQLite stores as a signed 32-bit number.
pub(super) fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    let raw: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite_error("reading the schema version"))?;
    u32::try_from(raw)
        .map_err(|_| StoreError::Corrupt(format!("negative schema version {raw} in the store")))
}

#[cfg(test)]
mod tests {
    //! The migration runner on plain in-memory SQLite (no key: the runner does not care).

    use super::*;

    fn memory() -> Connection {
        Connection::open_in_memory().expect("in-memory database")
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    const TWO_STEPS: &[Migration] = &[
        Migration {
            version: 1,
            description: "table a",
            step: Step::Sql("CREATE TABLE a (x INTEGER) STRICT;"),
        },
        Migration {
            version: 2,
            description: "table b",
            step: Step::Code(|tx| tx.execute_batch("CREATE TABLE b (y INTEGER) STRICT;")),
        },
    ];

    #[test]
    fn the_released_steps_are_numbered_one_by_one_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                migration.version as usize,
                index + 1,
                "{}",
                migration.description
            );
        }
        assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
    }

    #[test]
    fn a_fresh_database_gets_every_step_and_the_application_id() {
        let mut conn = memory();
        assert_eq!(migrate(&mut conn, MIGRATIONS).unwrap(), SCHEMA_VERSION);
        let header = read_header(&conn).unwrap();
        assert_eq!(header.application_id, APPLICATION_ID);
        assert_eq!(header.version, SCHEMA_VERSION);
        assert_eq!(
            tables(&conn),
            [
                "attachments",
                "contacts",
                "identity",
                "kyber_base_key_uses",
                "kyber_pre_keys",
                "messages",
                "outbox",
                "pre_keys",
                "receive_queues",
                "remote_identities",
                "send_queues",
                "sessions",
                "settings",
                "signed_pre_keys"
            ]
        );
    }

    #[test]
    fn migrating_a_current_database_again_changes_nothing() {
        let mut conn = memory();
        migrate(&mut conn, TWO_STEPS).unwrap();
        let changes_before = conn.total_changes();
        assert_eq!(migrate(&mut conn, TWO_STEPS).unwrap(), 2);
        assert_eq!(conn.total_changes(), changes_before);
    }

    #[test]
    fn an_old_database_resumes_from_its_own_version() {
        let mut conn = memory();
        assert_eq!(migrate(&mut conn, &TWO_STEPS[..1]).unwrap(), 1);
        assert_eq!(tables(&conn), ["a"]);
        assert_eq!(migrate(&mut conn, TWO_STEPS).unwrap(), 2);
        assert_eq!(tables(&conn), ["a", "b"]);
    }

    #[test]
    fn a_failing_step_rolls_back_and_keeps_the_previous_version() {
        let broken: &[Migration] = &[
            TWO_STEPS[0],
            Migration {
                version: 2,
                description: "half a step",
                step: Step::Sql("CREATE TABLE b (y INTEGER); CREATE TABLE a (x INTEGER);"),
            },
        ];
        let mut conn = memory();
        let error = migrate(&mut conn, broken).unwrap_err();
        assert!(
            matches!(&error, StoreError::Backend(m) if m.contains("schema v2")),
            "{error:?}"
        );
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert_eq!(tables(&conn), ["a"], "table b was rolled back");
    }

    #[test]
    fn a_newer_database_is_refused_without_a_write() {
        let mut conn = memory();
        migrate(&mut conn, TWO_STEPS).unwrap();
        let changes_before = conn.total_changes();
        let error = migrate(&mut conn, &TWO_STEPS[..1]).unwrap_err();
        assert_eq!(
            error,
            StoreError::NewerSchema {
                found: 2,
                supported: 1
            }
        );
        assert_eq!(
            check_header(read_header(&conn).unwrap(), 1),
            Err(StoreError::NewerSchema {
                found: 2,
                supported: 1
            })
        );
        assert_eq!(conn.total_changes(), changes_before);
    }

    #[test]
    fn a_database_of_another_application_is_refused() {
        let conn = memory();
        conn.execute_batch("CREATE TABLE theirs (x); PRAGMA user_version = 7;")
            .unwrap();
        let refused = check_header(read_header(&conn).unwrap(), 9).unwrap_err();
        assert!(matches!(refused, StoreError::NotAStore(_)), "{refused:?}");
        // An untouched database is fresh, not foreign.
        assert_eq!(check_header(read_header(&memory()).unwrap(), 1), Ok(()));
    }
}
