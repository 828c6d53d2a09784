-- Schema version 4: the relay queues of the networked client.

-- A contact made from an invitation waits for the inviter's reply queue before anything is
-- sent to it (messages meanwhile are held).
ALTER TABLE contacts ADD COLUMN awaiting_reply INTEGER NOT NULL DEFAULT 0
    CHECK (awaiting_reply IN (0, 1));

-- Queues this profile reads (its mailboxes), each serving one contact or one pending
-- invitation. Keys are the 32 private bytes of Curve25519 key pairs.
CREATE TABLE receive_queues (
    recipient_id       BLOB    NOT NULL PRIMARY KEY CHECK (length(recipient_id) = 16),
    relay              TEXT    NOT NULL,
    recipient_key      BLOB    NOT NULL CHECK (length(recipient_key) = 32),
    sender_id          BLOB    NOT NULL CHECK (length(sender_id) = 16),
    sender_key         BLOB    NOT NULL CHECK (length(sender_key) = 32),
    contact            TEXT,
    invitation_pre_key INTEGER CHECK (invitation_pre_key BETWEEN 0 AND 4294967295),
    invitation_used    INTEGER NOT NULL CHECK (invitation_used IN (0, 1))
) STRICT, WITHOUT ROWID;

-- Contacts' queues this profile writes to, one per contact.
CREATE TABLE send_queues (
    contact    TEXT NOT NULL PRIMARY KEY,
    relay      TEXT NOT NULL,
    sender_id  BLOB NOT NULL CHECK (length(sender_id) = 16),
    sender_key BLOB NOT NULL CHECK (length(sender_key) = 32)
) STRICT, WITHOUT ROWID;
