-- Relay store, schema version 1: queues, their messages, and request nonces.
-- Nothing else is stored: no addresses, no times finer than a day (a ten-minute bucket for
-- nonces), no counters. Tables are WITHOUT ROWID and keyed by random ids, so no column and
-- no hidden rowid records the order in which queues were created or messages arrived
-- across queues; `seq` orders messages within one queue only.

-- A mailbox queue: its two ids, its two public keys, and the day after which it expires
-- (the last day it was used plus the expiry period).
CREATE TABLE queues (
    recipient_id  BLOB    NOT NULL PRIMARY KEY CHECK (length(recipient_id) = 16),
    sender_id     BLOB    NOT NULL UNIQUE      CHECK (length(sender_id) = 16),
    recipient_key BLOB    NOT NULL             CHECK (length(recipient_key) = 33),
    sender_key    BLOB    NOT NULL             CHECK (length(sender_key) = 33),
    expires_day   INTEGER NOT NULL             CHECK (expires_day >= 0)
) STRICT, WITHOUT ROWID;

CREATE INDEX queues_by_expiry ON queues (expires_day);

-- A message in a queue: its place in that queue (1, 2, 3, ...), a random id, the opaque
-- body, and the day after which it expires (the day it was stored plus the expiry period).
CREATE TABLE messages (
    queue       BLOB    NOT NULL REFERENCES queues (recipient_id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL CHECK (seq > 0),
    message_id  BLOB    NOT NULL CHECK (length(message_id) = 16),
    body        BLOB    NOT NULL CHECK (length(body) > 0),
    expires_day INTEGER NOT NULL CHECK (expires_day >= 0),
    PRIMARY KEY (queue, seq),
    UNIQUE (queue, message_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX messages_by_expiry ON messages (expires_day);

-- Nonces of requests already served, kept until the end of a ten-minute bucket after
-- which the request would be refused as stale anyway.
CREATE TABLE nonces (
    nonce          BLOB    NOT NULL PRIMARY KEY CHECK (length(nonce) = 16),
    expires_bucket INTEGER NOT NULL CHECK (expires_bucket >= 0)
) STRICT, WITHOUT ROWID;

CREATE INDEX nonces_by_expiry ON nonces (expires_bucket);
