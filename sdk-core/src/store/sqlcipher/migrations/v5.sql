-- Schema version 5: messages the user deleted on this device.

-- A deleted message stays as a tombstone (its frame emptied once it left the outbox), so a
-- re-sent copy is recognised as a duplicate and a late receipt does not bring it back.
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0
    CHECK (deleted IN (0, 1));
