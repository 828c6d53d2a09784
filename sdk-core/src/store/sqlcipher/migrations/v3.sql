-- Schema version 3: messages stored in conversation order. Version 2 kept messages in a
-- rowid table in arrival order, so the newest messages of one conversation were spread over
-- as many pages as there were messages, and SQLCipher decrypts and authenticates every page
-- it reads (docs/BENCHMARKS.md, "Opening a large profile"). Clustered by (contact, at_ms,
-- direction, sequence), a conversation's newest messages share a few pages. Frames are
-- small (a text frame is a few hundred bytes; larger ones spill to overflow pages).

CREATE TABLE messages_v3 (
    contact   TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL CHECK (at_ms >= 0),
    direction INTEGER NOT NULL CHECK (direction IN (0, 1)), -- 0 incoming, 1 outgoing
    sequence  INTEGER NOT NULL CHECK (sequence >= 0),
    id        BLOB    NOT NULL CHECK (length(id) = 16),
    frame     BLOB    NOT NULL,
    status    INTEGER NOT NULL CHECK (status BETWEEN 0 AND 6),
    PRIMARY KEY (contact, at_ms, direction, sequence, id),
    UNIQUE (contact, direction, id)
) STRICT, WITHOUT ROWID;

INSERT INTO messages_v3 (contact, at_ms, direction, sequence, id, frame, status)
    SELECT contact, at_ms, direction, sequence, id, frame, status FROM messages;

-- Also drops messages_by_time, which the primary key replaces.
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;

-- An incoming message by sequence number.
CREATE INDEX messages_by_sequence ON messages (contact, direction, sequence);
