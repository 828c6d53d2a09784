-- Schema version 1: every record kind of the `Store` trait. Records are opaque bytes that
-- libsignal serializes itself; ids are libsignal's u32 ids. STRICT tables refuse values of
-- the wrong type instead of converting them.

-- The local identity: at most one row (id = 1).
CREATE TABLE identity (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    key_pair        BLOB    NOT NULL,
    registration_id INTEGER NOT NULL CHECK (registration_id BETWEEN 0 AND 4294967295),
    display_name    TEXT
) STRICT;

-- Trusted identity keys of remote addresses (libsignal `ProtocolAddress` strings).
CREATE TABLE remote_identities (
    address      TEXT NOT NULL PRIMARY KEY,
    identity_key BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- Serialized libsignal sessions by remote address.
CREATE TABLE sessions (
    address TEXT NOT NULL PRIMARY KEY,
    record  BLOB NOT NULL
) STRICT, WITHOUT ROWID;

-- One-time EC prekeys.
CREATE TABLE pre_keys (
    id     INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 4294967295),
    record BLOB NOT NULL
) STRICT;

-- Signed EC prekeys.
CREATE TABLE signed_pre_keys (
    id     INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 4294967295),
    record BLOB NOT NULL
) STRICT;

-- Kyber (ML-KEM 1024) prekeys.
CREATE TABLE kyber_pre_keys (
    id     INTEGER PRIMARY KEY CHECK (id BETWEEN 0 AND 4294967295),
    record BLOB NOT NULL
) STRICT;

-- Base keys already used with a Kyber/signed prekey pair (replayed first messages are
-- refused). No foreign keys: a use is remembered after its prekeys are rotated away.
CREATE TABLE kyber_base_key_uses (
    kyber_pre_key_id  INTEGER NOT NULL CHECK (kyber_pre_key_id BETWEEN 0 AND 4294967295),
    signed_pre_key_id INTEGER NOT NULL CHECK (signed_pre_key_id BETWEEN 0 AND 4294967295),
    base_key          BLOB    NOT NULL,
    PRIMARY KEY (kyber_pre_key_id, signed_pre_key_id, base_key)
) STRICT, WITHOUT ROWID;
