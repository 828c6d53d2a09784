//! Stores written by older schema versions still open: `tests/fixtures/store-vN.sqlite` was
//! written by schema version N and must open, migrate to the current version and read back
//! the records below.
//!
//! Write a new version's fixture (only ever for a new version's file, never to "fix" an
//! old one), on the build whose schema version it is named after:
//! `cargo test -p sotto-core --test sqlcipher_fixture -- --ignored write_store_v2_fixture`

#![cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]

mod common;

use std::path::PathBuf;

use common::block_on;
use common::sqlcipher_files::{file_state, temp_dir};
use common::store_contract::use_of;
use sotto_core::store::{
    AttachmentRecord, ChangeSet, ContactRecord, DatabaseKey, IdentityRecord, MessageDirection,
    MessageRecord, MessageStatus, OutboxRecord, SqlCipherStore, Store,
};

/// The fixture's key: bytes 0x00, 0x01, …, 0x1f (hex `000102…1f`).
fn fixture_key() -> DatabaseKey {
    DatabaseKey::from_bytes(std::array::from_fn(|i| i as u8))
}

fn fixture_path(version: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/store-v{version}.sqlite"))
}

/// What schema v1 wrote into the fixture.
fn v1_records() -> ChangeSet {
    let mut changes = ChangeSet {
        identity: Some(IdentityRecord {
            key_pair: b"fixture v1 identity key pair".to_vec(),
            registration_id: 4242,
            display_name: Some("Fixture v1 \u{1F512}".into()),
        }),
        ..ChangeSet::default()
    };
    changes
        .sessions
        .insert("alice.1".into(), b"alice session".to_vec());
    changes
        .sessions
        .insert("bob.1".into(), b"bob session".to_vec());
    changes
        .remote_identities
        .insert("alice.1".into(), b"alice identity key".to_vec());
    changes
        .pre_keys
        .insert(1, Some(b"one-time prekey 1".to_vec()));
    changes
        .pre_keys
        .insert(u32::MAX, Some(b"one-time prekey max".to_vec()));
    changes
        .signed_pre_keys
        .insert(10, Some(b"signed prekey 10".to_vec()));
    changes
        .kyber_pre_keys
        .insert(20, Some(b"kyber prekey 20".to_vec()));
    changes.kyber_base_keys.push(use_of(20, 10, &[9; 33]));
    changes
}

/// A message of the v2 fixture.
fn v2_message(
    direction: MessageDirection,
    n: u8,
    at_ms: u64,
    status: MessageStatus,
) -> MessageRecord {
    MessageRecord {
        contact: "0123456789abcdef0123456789abcdef".into(),
        direction,
        id: [n; 16],
        sequence: u64::from(n),
        at_ms,
        frame: format!("fixture v2 frame {n}").into_bytes(),
        status,
        deleted: false,
    }
}

/// What schema v2 wrote into its fixture: everything v1 had, and the conversation layer.
fn v2_records() -> ChangeSet {
    let mut changes = v1_records();
    let contact = "0123456789abcdef0123456789abcdef";
    changes.contacts.insert(
        contact.into(),
        ContactRecord {
            id: contact.into(),
            identity_key: b"contact identity key".to_vec(),
            display_name: Some("Fixture contact \u{2603}".into()),
            verified: true,
            pending_identity_key: Some(b"pending key".to_vec()),
            last_sent_sequence: 2,
            shown_through: 1,
            awaiting_reply: false,
        },
    );
    use MessageDirection::{Incoming, Outgoing};
    for message in [
        v2_message(Incoming, 1, 1_000, MessageStatus::Shown),
        v2_message(Incoming, 3, 3_000, MessageStatus::Early),
        v2_message(Outgoing, 1, 1_000, MessageStatus::Delivered),
        v2_message(Outgoing, 2, 2_000, MessageStatus::Queued),
    ] {
        changes.put_message(message);
    }
    changes.outbox.insert(
        (contact.into(), [2; 16]),
        Some(OutboxRecord {
            contact: contact.into(),
            message_id: [2; 16],
            attempts: 3,
            next_attempt_ms: 99_000,
        }),
    );
    changes.attachments.insert(
        (contact.into(), [2; 16]),
        AttachmentRecord {
            contact: contact.into(),
            message_id: [2; 16],
            pointer: b"fixture pointer".to_vec(),
            local_file: Some("attachments/fixture.bin".into()),
        },
    );
    changes
}

/// Copies a fixture into a temporary directory (opening writes the log beside the file) and
/// opens it; checks it migrated to the current version and that the fixture itself was not
/// touched.
fn open_fixture(version: u32) -> (SqlCipherStore, tempfile::TempDir) {
    let fixture = fixture_path(version);
    let dir = temp_dir();
    let path = dir.path().join(format!("store-v{version}.sqlite"));
    std::fs::copy(&fixture, &path).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let pristine = file_state(&fixture);
    let store = SqlCipherStore::open(&path, &fixture_key())
        .unwrap_or_else(|e| panic!("open the v{version} fixture: {e}"));
    assert_eq!(
        store.schema_version().unwrap(),
        SqlCipherStore::SCHEMA_VERSION
    );
    store.integrity_check().unwrap();
    assert_eq!(
        file_state(&fixture),
        pristine,
        "the fixture itself is never written"
    );
    (store, dir)
}

/// The records every fixture holds since v2.
fn check_v2_records(store: &SqlCipherStore) {
    let expected = v2_records();
    let contact = "0123456789abcdef0123456789abcdef";
    block_on(async {
        check_v1_records(store).await;
        assert_eq!(
            store.contacts().await.unwrap(),
            expected.contacts.values().cloned().collect::<Vec<_>>()
        );
        // Newest first, incoming before outgoing at the same time.
        let recent = store.recent_messages(contact, 10).await.unwrap();
        let order: Vec<(MessageDirection, u64)> =
            recent.iter().map(|m| (m.direction, m.sequence)).collect();
        use MessageDirection::{Incoming, Outgoing};
        assert_eq!(
            order,
            [(Incoming, 3), (Outgoing, 2), (Outgoing, 1), (Incoming, 1)]
        );
        for message in expected.messages.values() {
            assert_eq!(
                store
                    .load_message(contact, message.direction, &message.id)
                    .await
                    .unwrap()
                    .as_ref(),
                Some(message)
            );
        }
        assert_eq!(
            store
                .incoming_by_sequence(contact, 3)
                .await
                .unwrap()
                .map(|m| m.status),
            Some(MessageStatus::Early)
        );
        assert_eq!(store.incoming_by_sequence(contact, 2).await.unwrap(), None);
        assert_eq!(
            store.outbox().await.unwrap(),
            expected
                .outbox
                .values()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
        );
        assert_eq!(
            store
                .load_attachment(contact, &[2; 16])
                .await
                .unwrap()
                .as_ref(),
            expected.attachments.values().next()
        );
    });
}

/// The records every fixture holds since v1.
async fn check_v1_records(store: &SqlCipherStore) {
    let expected = v1_records();
    assert_eq!(store.load_identity().await.unwrap(), expected.identity);
    for (address, record) in &expected.sessions {
        assert_eq!(
            store.load_session(address).await.unwrap().as_ref(),
            Some(record)
        );
    }
    assert_eq!(store.load_session("carol.1").await.unwrap(), None);
    assert_eq!(
        store.load_remote_identity("alice.1").await.unwrap(),
        Some(b"alice identity key".to_vec())
    );
    assert_eq!(store.pre_key_ids().await.unwrap(), [1, u32::MAX]);
    assert_eq!(
        store.load_pre_key(u32::MAX).await.unwrap(),
        Some(b"one-time prekey max".to_vec())
    );
    assert_eq!(store.signed_pre_key_ids().await.unwrap(), [10]);
    assert_eq!(
        store.load_signed_pre_key(10).await.unwrap(),
        Some(b"signed prekey 10".to_vec())
    );
    assert_eq!(
        store.load_kyber_pre_key(20).await.unwrap(),
        Some(b"kyber prekey 20".to_vec())
    );
    assert!(
        store
            .kyber_base_key_seen(&use_of(20, 10, &[9; 33]))
            .await
            .unwrap()
    );
    assert!(
        !store
            .kyber_base_key_seen(&use_of(20, 10, &[8; 33]))
            .await
            .unwrap()
    );
}

#[test]
fn the_v2_fixture_opens_migrates_and_reads_its_records() {
    let (store, _dir) = open_fixture(2);
    check_v2_records(&store);
}

#[test]
fn the_v3_fixture_opens_migrates_and_reads_its_records() {
    let (store, _dir) = open_fixture(3);
    check_v2_records(&store);
}

#[test]
fn the_v1_fixture_opens_migrates_and_reads_its_records() {
    let (store, _dir) = open_fixture(1);
    block_on(async {
        check_v1_records(&store).await;
        // Tables added by later versions exist and start empty.
        assert!(store.contacts().await.unwrap().is_empty());
        assert!(store.outbox().await.unwrap().is_empty());
    });
}

#[test]
fn the_v1_fixture_refuses_another_key() {
    let dir = temp_dir();
    let path = dir.path().join("store-v1.sqlite");
    std::fs::copy(fixture_path(1), &path).unwrap();
    assert_eq!(
        SqlCipherStore::open(&path, &DatabaseKey::from_bytes([0; 32])).unwrap_err(),
        sotto_core::store::StoreError::WrongKey
    );
}

/// Writes `tests/fixtures/store-v{version}.sqlite` anew with `records`. Only valid on a
/// build whose schema version is `version`: a fixture must be written by the version it
/// is named after (check out that build to regenerate one).
fn write_fixture(version: u32, records: ChangeSet) {
    assert_eq!(
        SqlCipherStore::SCHEMA_VERSION,
        version,
        "store-v{version}.sqlite must be written by schema v{version}"
    );
    let path = fixture_path(version);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("{}: {e}", path.display()),
    }
    let store = SqlCipherStore::create(&path, &fixture_key()).unwrap();
    block_on(store.apply(records)).unwrap();
    drop(store); // Checkpoints the log into the file and removes it.
    assert!(path.exists());
}

#[test]
#[ignore = "writes the checked-in fixture; run by hand on a schema-v1 build"]
fn write_store_v1_fixture() {
    write_fixture(1, v1_records());
}

#[test]
#[ignore = "writes the checked-in fixture; run by hand on a schema-v2 build"]
fn write_store_v2_fixture() {
    write_fixture(2, v2_records());
}

/// The v2 records again: schema v3 only moved the messages into conversation order.
#[test]
#[ignore = "writes the checked-in fixture; run by hand on a schema-v3 build"]
fn write_store_v3_fixture() {
    write_fixture(3, v2_records());
}
