//! The conversation records (schema versions 2, 3 and 5): contacts, messages, the outbox and
//! attachment metadata (reads, and the writes of a change set).

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::error::sqlite_error;
use crate::store::{
    AttachmentRecord, ChangeSet, ContactRecord, ConversationPlace, MessageDirection, MessageRecord,
    MessageStatus, OutboxRecord, StoreError, Towards,
};

fn direction_code(direction: MessageDirection) -> i64 {
    match direction {
        MessageDirection::Incoming => 0,
        MessageDirection::Outgoing => 1,
    }
}

fn direction_from(code: i64) -> rusqlite::Result<MessageDirection> {
    match code {
        0 => Ok(MessageDirection::Incoming),
        1 => Ok(MessageDirection::Outgoing),
        other => Err(rusqlite::Error::IntegralValueOutOfRange(1, other)),
    }
}

fn status_code(status: MessageStatus) -> i64 {
    match status {
        MessageStatus::Queued => 0,
        MessageStatus::Held => 1,
        MessageStatus::Delivered => 2,
        MessageStatus::Read => 3,
        MessageStatus::Early => 4,
        MessageStatus::Shown => 5,
        MessageStatus::Sent => 6,
    }
}

fn status_from(code: i64) -> rusqlite::Result<MessageStatus> {
    Ok(match code {
        0 => MessageStatus::Queued,
        1 => MessageStatus::Held,
        2 => MessageStatus::Delivered,
        3 => MessageStatus::Read,
        4 => MessageStatus::Early,
        5 => MessageStatus::Shown,
        6 => MessageStatus::Sent,
        other => return Err(rusqlite::Error::IntegralValueOutOfRange(6, other)),
    })
}

/// Unsigned API values are stored as SQLite's signed 64-bit INTEGER; values above
/// `i64::MAX` are refused, never wrapped.
fn to_sql_u64(value: u64) -> rusqlite::Result<i64> {
    i64::try_from(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn get_u64(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(index)?;
    u64::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(index, value))
}

fn id16(row: &Row<'_>, index: usize) -> rusqlite::Result<[u8; 16]> {
    let bytes: Vec<u8> = row.get(index)?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Blob,
            format!("message id of {} bytes", b.len()).into(),
        )
    })
}

const CONTACT_COLUMNS: &str = "id, identity_key, display_name, verified, pending_identity_key, \
                               last_sent_sequence, shown_through, awaiting_reply";

fn contact_row(row: &Row<'_>) -> rusqlite::Result<ContactRecord> {
    Ok(ContactRecord {
        id: row.get(0)?,
        identity_key: row.get(1)?,
        display_name: row.get(2)?,
        verified: row.get(3)?,
        pending_identity_key: row.get(4)?,
        last_sent_sequence: get_u64(row, 5)?,
        shown_through: get_u64(row, 6)?,
        awaiting_reply: row.get(7)?,
    })
}

const MESSAGE_COLUMNS: &str = "contact, direction, id, sequence, at_ms, frame, status, deleted";

fn message_row(row: &Row<'_>) -> rusqlite::Result<MessageRecord> {
    Ok(MessageRecord {
        contact: row.get(0)?,
        direction: direction_from(row.get(1)?)?,
        id: id16(row, 2)?,
        sequence: get_u64(row, 3)?,
        at_ms: get_u64(row, 4)?,
        frame: row.get(5)?,
        status: status_from(row.get(6)?)?,
        deleted: row.get(7)?,
    })
}

pub(super) fn load_contact(
    conn: &Connection,
    id: &str,
) -> Result<Option<ContactRecord>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row([id], contact_row).optional())
    .map_err(sqlite_error("loading a contact"))
}

pub(super) fn contacts(conn: &Connection) -> Result<Vec<ContactRecord>, StoreError> {
    let run = || -> rusqlite::Result<Vec<ContactRecord>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts ORDER BY id"
        ))?;
        let rows = stmt.query_map([], contact_row)?;
        rows.collect()
    };
    run().map_err(sqlite_error("listing contacts"))
}

pub(super) fn load_message(
    conn: &Connection,
    contact: &str,
    direction: MessageDirection,
    id: &[u8; 16],
) -> Result<Option<MessageRecord>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE contact = ?1 AND direction = ?2 AND id = ?3"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(
            params![contact, direction_code(direction), &id[..]],
            message_row,
        )
        .optional()
    })
    .map_err(sqlite_error("loading a message"))
}

pub(super) fn incoming_by_sequence(
    conn: &Connection,
    contact: &str,
    sequence: u64,
) -> Result<Option<MessageRecord>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE contact = ?1 AND direction = 0 AND sequence = ?2 LIMIT 1"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(params![contact, to_sql_u64(sequence)?], message_row)
            .optional()
    })
    .map_err(sqlite_error("loading a message by sequence number"))
}

pub(super) fn recent_messages(
    conn: &Connection,
    contact: &str,
    limit: usize,
) -> Result<Vec<MessageRecord>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let run = || -> rusqlite::Result<Vec<MessageRecord>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE contact = ?1 \
             ORDER BY at_ms DESC, direction DESC, sequence DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![contact, limit], message_row)?;
        rows.collect()
    };
    run().map_err(sqlite_error("loading recent messages"))
}

pub(super) fn messages_page(
    conn: &Connection,
    contact: &str,
    from: Option<ConversationPlace>,
    towards: Towards,
    limit: usize,
) -> Result<Vec<MessageRecord>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (beyond, order) = match towards {
        Towards::Older => ("<", "DESC"),
        Towards::Newer => (">", "ASC"),
    };
    let run = || -> rusqlite::Result<Vec<MessageRecord>> {
        match from {
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE contact = ?1 \
                     ORDER BY at_ms {order}, direction {order}, sequence {order} LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![contact, limit], message_row)?;
                rows.collect()
            }
            Some(from) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages WHERE contact = ?1 \
                     AND (at_ms, direction, sequence) {beyond} (?2, ?3, ?4) \
                     ORDER BY at_ms {order}, direction {order}, sequence {order} LIMIT ?5"
                ))?;
                let rows = stmt.query_map(
                    params![
                        contact,
                        to_sql_u64(from.at_ms)?,
                        direction_code(from.direction),
                        to_sql_u64(from.sequence)?,
                        limit
                    ],
                    message_row,
                )?;
                rows.collect()
            }
        }
    };
    run().map_err(sqlite_error("loading a page of messages"))
}

pub(super) fn messages_with_status(
    conn: &Connection,
    contact: &str,
    direction: MessageDirection,
    status: MessageStatus,
) -> Result<Vec<MessageRecord>, StoreError> {
    let run = || -> rusqlite::Result<Vec<MessageRecord>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages \
             WHERE contact = ?1 AND direction = ?2 AND status = ?3 \
             ORDER BY at_ms, direction, sequence"
        ))?;
        let rows = stmt.query_map(
            params![contact, direction_code(direction), status_code(status)],
            message_row,
        )?;
        rows.collect()
    };
    run().map_err(sqlite_error("loading messages by status"))
}

/// The earliest retry time in the outbox (the index `outbox_by_next_attempt` answers it).
pub(super) fn next_outbox_attempt(conn: &Connection) -> Result<Option<u64>, StoreError> {
    conn.prepare_cached("SELECT min(next_attempt_ms) FROM outbox")
        .and_then(|mut stmt| {
            stmt.query_row([], |row| {
                row.get::<_, Option<i64>>(0)?
                    .map(|ms| {
                        u64::try_from(ms)
                            .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(0, ms))
                    })
                    .transpose()
            })
        })
        .map_err(sqlite_error("finding the next outbox attempt"))
}

pub(super) fn outbox(conn: &Connection) -> Result<Vec<OutboxRecord>, StoreError> {
    let run = || -> rusqlite::Result<Vec<OutboxRecord>> {
        let mut stmt = conn.prepare_cached(
            "SELECT contact, message_id, attempts, next_attempt_ms FROM outbox \
             ORDER BY contact, message_id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(OutboxRecord {
                contact: row.get(0)?,
                message_id: id16(row, 1)?,
                attempts: row.get(2)?,
                next_attempt_ms: get_u64(row, 3)?,
            })
        })?;
        rows.collect()
    };
    run().map_err(sqlite_error("listing the outbox"))
}

pub(super) fn load_attachment(
    conn: &Connection,
    contact: &str,
    message_id: &[u8; 16],
) -> Result<Option<AttachmentRecord>, StoreError> {
    conn.prepare_cached(
        "SELECT contact, message_id, pointer, local_file FROM attachments \
         WHERE contact = ?1 AND message_id = ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![contact, &message_id[..]], |row| {
            Ok(AttachmentRecord {
                contact: row.get(0)?,
                message_id: id16(row, 1)?,
                pointer: row.get(2)?,
                local_file: row.get(3)?,
            })
        })
        .optional()
    })
    .map_err(sqlite_error("loading attachment metadata"))
}

/// Writes the conversation records of a change set inside the caller's transaction.
pub(super) fn write(tx: &Transaction<'_>, changes: &ChangeSet) -> rusqlite::Result<()> {
    if !changes.contacts.is_empty() {
        let mut stmt = tx.prepare_cached(&format!(
            "INSERT OR REPLACE INTO contacts ({CONTACT_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ))?;
        for c in changes.contacts.values() {
            stmt.execute(params![
                c.id,
                c.identity_key,
                c.display_name,
                c.verified,
                c.pending_identity_key,
                to_sql_u64(c.last_sent_sequence)?,
                to_sql_u64(c.shown_through)?,
                c.awaiting_reply
            ])?;
        }
    }
    if !changes.messages.is_empty() {
        let mut stmt = tx.prepare_cached(&format!(
            "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (contact, direction, id) DO UPDATE SET sequence = excluded.sequence, \
             at_ms = excluded.at_ms, frame = excluded.frame, status = excluded.status, \
             deleted = excluded.deleted"
        ))?;
        for m in changes.messages.values() {
            stmt.execute(params![
                m.contact,
                direction_code(m.direction),
                &m.id[..],
                to_sql_u64(m.sequence)?,
                to_sql_u64(m.at_ms)?,
                m.frame,
                status_code(m.status),
                m.deleted
            ])?;
        }
    }
    for ((contact, id), entry) in &changes.outbox {
        match entry {
            Some(e) => tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO outbox (contact, message_id, attempts, next_attempt_ms) \
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![e.contact, &e.message_id[..], e.attempts, to_sql_u64(e.next_attempt_ms)?])?,
            None => tx
                .prepare_cached("DELETE FROM outbox WHERE contact = ?1 AND message_id = ?2")?
                .execute(params![contact, &id[..]])?,
        };
    }
    if !changes.attachments.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO attachments (contact, message_id, pointer, local_file) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for a in changes.attachments.values() {
            stmt.execute(params![
                a.contact,
                &a.message_id[..],
                a.pointer,
                a.local_file
            ])?;
        }
    }
    Ok(())
}

/// Deletes the change set's forgotten contacts with everything stored for them, inside the
/// caller's transaction (after the set's other writes).
pub(super) fn forget_contacts(tx: &Transaction<'_>, changes: &ChangeSet) -> rusqlite::Result<()> {
    for contact in &changes.forgotten_contacts {
        for sql in [
            "DELETE FROM contacts WHERE id = ?1",
            "DELETE FROM messages WHERE contact = ?1",
            "DELETE FROM outbox WHERE contact = ?1",
            "DELETE FROM attachments WHERE contact = ?1",
            "DELETE FROM receive_queues WHERE contact = ?1",
            "DELETE FROM send_queues WHERE contact = ?1",
        ] {
            tx.prepare_cached(sql)?.execute(params![contact])?;
        }
    }
    Ok(())
}
