-- Schema version 2: the conversation layer (contacts, messages, the outbox, attachment
-- metadata). Sequence numbers and times are unsigned in the API and stored as INTEGER
-- (SQLite's signed 64 bits): values above 2^63 - 1 are refused, never wrapped.

-- Contacts by stable local id.
CREATE TABLE contacts (
    id                   TEXT    NOT NULL PRIMARY KEY,
    identity_key         BLOB    NOT NULL,
    display_name         TEXT,
    verified             INTEGER NOT NULL CHECK (verified IN (0, 1)),
    pending_identity_key BLOB,
    last_sent_sequence   INTEGER NOT NULL CHECK (last_sent_sequence >= 0),
    shown_through        INTEGER NOT NULL CHECK (shown_through >= 0)
) STRICT, WITHOUT ROWID;

-- Messages of every conversation, as encoded content frames. A rowid table: frames are up
-- to a few KiB, too large for WITHOUT ROWID pages.
CREATE TABLE messages (
    contact   TEXT    NOT NULL,
    direction INTEGER NOT NULL CHECK (direction IN (0, 1)), -- 0 incoming, 1 outgoing
    id        BLOB    NOT NULL CHECK (length(id) = 16),
    sequence  INTEGER NOT NULL CHECK (sequence >= 0),
    at_ms     INTEGER NOT NULL CHECK (at_ms >= 0),
    frame     BLOB    NOT NULL,
    status    INTEGER NOT NULL CHECK (status BETWEEN 0 AND 6),
    UNIQUE (contact, direction, id)
) STRICT;

-- The newest messages of one conversation, and an incoming message by sequence number.
CREATE INDEX messages_by_time ON messages (contact, at_ms, direction, sequence);
CREATE INDEX messages_by_sequence ON messages (contact, direction, sequence);

-- Outgoing messages no receipt has acknowledged yet.
CREATE TABLE outbox (
    contact         TEXT    NOT NULL,
    message_id      BLOB    NOT NULL CHECK (length(message_id) = 16),
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_ms INTEGER NOT NULL CHECK (next_attempt_ms >= 0),
    PRIMARY KEY (contact, message_id)
) STRICT, WITHOUT ROWID;

-- Attachment metadata; the encrypted files live beside the database.
CREATE TABLE attachments (
    contact    TEXT NOT NULL,
    message_id BLOB NOT NULL CHECK (length(message_id) = 16),
    pointer    BLOB NOT NULL,
    local_file TEXT,
    PRIMARY KEY (contact, message_id)
) STRICT, WITHOUT ROWID;
