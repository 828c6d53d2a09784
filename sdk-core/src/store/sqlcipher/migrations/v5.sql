-- Schema version 5: messages the user deleted on this device, and the cover loop queue.

-- A deleted message stays as a tombstone (its frame emptied once it left the outbox), so a
-- re-sent copy is recognised as a duplicate and a late receipt does not bring it back.
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0
    CHECK (deleted IN (0, 1));

-- The queue the cover traffic's loop packets come back to, kept across runs (at most one).
ALTER TABLE receive_queues ADD COLUMN cover_loop INTEGER NOT NULL DEFAULT 0
    CHECK (cover_loop IN (0, 1));

-- The outbox's next retry time, read at every turn of a messenger's loop.
CREATE INDEX outbox_by_next_attempt ON outbox (next_attempt_ms);
