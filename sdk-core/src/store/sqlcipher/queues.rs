//! The relay queues of schema versions 4 and 5: queues the profile reads and contacts' queues it
//! writes to (reads, and the writes of a change set).

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::error::sqlite_error;
use crate::store::{ChangeSet, ReceiveQueueRecord, SendQueueRecord, StoreError};

const RECEIVE_COLUMNS: &str = "recipient_id, relay, recipient_key, sender_id, sender_key, \
     contact, invitation_pre_key, invitation_used, cover_loop";

fn id16(row: &Row<'_>, index: usize) -> rusqlite::Result<[u8; 16]> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Blob,
            "an id is not 16 bytes".into(),
        )
    })
}

fn receive_row(row: &Row<'_>) -> rusqlite::Result<ReceiveQueueRecord> {
    Ok(ReceiveQueueRecord {
        recipient_id: id16(row, 0)?,
        relay: row.get(1)?,
        recipient_key: row.get(2)?,
        sender_id: id16(row, 3)?,
        sender_key: row.get(4)?,
        contact: row.get(5)?,
        invitation_pre_key: row.get(6)?,
        invitation_used: row.get(7)?,
        cover_loop: row.get(8)?,
    })
}

pub(super) fn receive_queues(conn: &Connection) -> Result<Vec<ReceiveQueueRecord>, StoreError> {
    let run = || -> rusqlite::Result<Vec<ReceiveQueueRecord>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {RECEIVE_COLUMNS} FROM receive_queues ORDER BY recipient_id"
        ))?;
        let rows = stmt.query_map([], receive_row)?;
        rows.collect()
    };
    run().map_err(sqlite_error("loading receive queues"))
}

pub(super) fn load_receive_queue(
    conn: &Connection,
    recipient_id: &[u8; 16],
) -> Result<Option<ReceiveQueueRecord>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {RECEIVE_COLUMNS} FROM receive_queues WHERE recipient_id = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row([&recipient_id[..]], receive_row).optional())
    .map_err(sqlite_error("loading a receive queue"))
}

pub(super) fn load_send_queue(
    conn: &Connection,
    contact: &str,
) -> Result<Option<SendQueueRecord>, StoreError> {
    conn.prepare_cached(
        "SELECT contact, relay, sender_id, sender_key FROM send_queues WHERE contact = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([contact], |row| {
            Ok(SendQueueRecord {
                contact: row.get(0)?,
                relay: row.get(1)?,
                sender_id: id16(row, 2)?,
                sender_key: row.get(3)?,
            })
        })
        .optional()
    })
    .map_err(sqlite_error("loading a send queue"))
}

/// Writes the queue records of a change set inside the caller's transaction.
pub(super) fn write(tx: &Transaction<'_>, changes: &ChangeSet) -> rusqlite::Result<()> {
    for (id, queue) in &changes.receive_queues {
        match queue {
            Some(q) => tx
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO receive_queues ({RECEIVE_COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ))?
                .execute(params![
                    &q.recipient_id[..],
                    q.relay,
                    q.recipient_key,
                    &q.sender_id[..],
                    q.sender_key,
                    q.contact,
                    q.invitation_pre_key,
                    q.invitation_used,
                    q.cover_loop
                ])?,
            None => tx
                .prepare_cached("DELETE FROM receive_queues WHERE recipient_id = ?1")?
                .execute([&id[..]])?,
        };
    }
    for (contact, queue) in &changes.send_queues {
        match queue {
            Some(q) => tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO send_queues (contact, relay, sender_id, sender_key) \
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![q.contact, q.relay, &q.sender_id[..], q.sender_key])?,
            None => tx
                .prepare_cached("DELETE FROM send_queues WHERE contact = ?1")?
                .execute([contact])?,
        };
    }
    Ok(())
}
