//! The store conformance suite, written once: every `Store` backend must behave exactly
//! like the others. A backend's test file invokes
//! `store_conformance!(name, expression that makes an empty store);`, which expands to a
//! module of tests for that backend. The expression may also make a `(store, guard)` pair
//! whose guard keeps what the store needs alive (a temporary directory) for one test.

// Every test binary compiles `common`; only some use the suite.
#![allow(dead_code, unused_macros, unused_imports)]

use std::collections::BTreeMap;

use sotto_core::PublicIdentity;
use sotto_core::store::{
    ChangeSet, ContactRecord, IdentityRecord, KyberBaseKeyUse, MessageDirection, MessageRecord,
    MessageStatus, ReceiveQueueRecord, SendQueueRecord, Store,
};

use super::block_on;

/// Every record a store returns for the given peers and Kyber base-key uses.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub identity: Option<IdentityRecord>,
    pub sessions: BTreeMap<String, Option<Vec<u8>>>,
    pub remote_identities: BTreeMap<String, Option<Vec<u8>>>,
    pub pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    pub signed_pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    pub kyber_pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    pub base_keys_seen: Vec<bool>,
}

pub fn snapshot(
    store: &impl Store,
    peers: &[PublicIdentity],
    uses: &[KyberBaseKeyUse],
) -> Snapshot {
    block_on(async {
        let mut s = Snapshot {
            identity: store.load_identity().await.unwrap(),
            sessions: BTreeMap::new(),
            remote_identities: BTreeMap::new(),
            pre_keys: BTreeMap::new(),
            signed_pre_keys: BTreeMap::new(),
            kyber_pre_keys: BTreeMap::new(),
            base_keys_seen: Vec::new(),
        };
        for peer in peers {
            let address = peer.address().to_string();
            let session = store.load_session(&address).await.unwrap();
            let remote = store.load_remote_identity(&address).await.unwrap();
            s.sessions.insert(address.clone(), session);
            s.remote_identities.insert(address, remote);
        }
        for id in store.pre_key_ids().await.unwrap() {
            s.pre_keys.insert(id, store.load_pre_key(id).await.unwrap());
        }
        for id in store.signed_pre_key_ids().await.unwrap() {
            let record = store.load_signed_pre_key(id).await.unwrap();
            s.signed_pre_keys.insert(id, record);
        }
        for id in store.kyber_pre_key_ids().await.unwrap() {
            let record = store.load_kyber_pre_key(id).await.unwrap();
            s.kyber_pre_keys.insert(id, record);
        }
        for used in uses {
            s.base_keys_seen
                .push(store.kyber_base_key_seen(used).await.unwrap());
        }
        s
    })
}

/// Names of the parts of two snapshots that differ (for readable failures).
pub fn differences(a: &Snapshot, b: &Snapshot) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.identity != b.identity {
        out.push("identity");
    }
    if a.sessions != b.sessions {
        out.push("sessions");
    }
    if a.remote_identities != b.remote_identities {
        out.push("remote identities");
    }
    if a.pre_keys != b.pre_keys {
        out.push("one-time prekeys");
    }
    if a.signed_pre_keys != b.signed_pre_keys {
        out.push("signed prekeys");
    }
    if a.kyber_pre_keys != b.kyber_pre_keys {
        out.push("Kyber prekeys");
    }
    if a.base_keys_seen != b.base_keys_seen {
        out.push("Kyber base keys");
    }
    out
}

pub fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    let changed = differences(before, after);
    assert!(changed.is_empty(), "{what} changed the store: {changed:?}");
}

pub fn use_of(kyber: u32, signed: u32, base_key: &[u8]) -> KyberBaseKeyUse {
    KyberBaseKeyUse {
        kyber_pre_key_id: kyber,
        signed_pre_key_id: signed,
        base_key: base_key.to_vec(),
    }
}

pub fn record(name: &str) -> IdentityRecord {
    IdentityRecord {
        key_pair: name.as_bytes().to_vec(),
        registration_id: 42,
        display_name: Some(name.into()),
    }
}

/// One record of every kind, each with `tag` in its bytes.
pub fn one_of_each(tag: u8) -> ChangeSet {
    let mut changes = ChangeSet {
        identity: Some(record("first")),
        ..ChangeSet::default()
    };
    changes.sessions.insert("peer.1".into(), vec![tag, 1]);
    changes
        .remote_identities
        .insert("peer.1".into(), vec![tag, 2]);
    changes.pre_keys.insert(7, Some(vec![tag, 3]));
    changes.signed_pre_keys.insert(8, Some(vec![tag, 4]));
    changes.kyber_pre_keys.insert(9, Some(vec![tag, 5]));
    changes.kyber_base_keys.push(use_of(9, 8, &[tag, 6]));
    changes
}

/// What a backend's `$make` expression returns: a store alone, or a store with a guard.
pub trait Fixture {
    type Store: Store;
    type Guard;
    /// The guard first: bindings drop in reverse order, so the store closes before its
    /// guard (say, a temporary directory) goes away.
    fn split(self) -> (Self::Guard, Self::Store);
}

impl Fixture for sotto_core::store::MemoryStore {
    type Store = Self;
    type Guard = ();
    fn split(self) -> ((), Self) {
        ((), self)
    }
}

impl<S: Store, G> Fixture for (S, G) {
    type Store = S;
    type Guard = G;
    fn split(self) -> (G, S) {
        (self.1, self.0)
    }
}

/// A fresh store for one test, with its guard.
pub fn fresh<F: Fixture>(fixture: F) -> (F::Guard, F::Store) {
    fixture.split()
}

/// Every record `one_of_each` writes, read back as one comparable text.
pub async fn read_back(store: &impl Store) -> String {
    let read = async {
        Ok::<_, sotto_core::store::StoreError>(format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            store.load_identity().await?,
            store.load_session("peer.1").await?,
            store.load_remote_identity("peer.1").await?,
            store.load_pre_key(7).await?,
            store.load_signed_pre_key(8).await?,
            store.load_kyber_pre_key(9).await?,
            store.pre_key_ids().await?,
        ))
    };
    let records = read.await.expect("read the store");
    assert!(
        records.contains("Some"),
        "the store holds records: {records}"
    );
    records
}

/// A contact record with recognisable fields.
pub fn contact(id: &str) -> ContactRecord {
    ContactRecord {
        id: id.into(),
        identity_key: vec![5; 33],
        display_name: Some(format!("name of {id}")),
        verified: false,
        pending_identity_key: None,
        last_sent_sequence: 0,
        shown_through: 0,
        awaiting_reply: false,
    }
}

/// Message number `n` of `contact` in `direction`, stored at `at_ms`.
pub fn message(contact: &str, direction: MessageDirection, n: u8, at_ms: u64) -> MessageRecord {
    MessageRecord {
        contact: contact.into(),
        direction,
        id: [n; 16],
        sequence: u64::from(n),
        at_ms,
        frame: vec![n, n, n],
        status: match direction {
            MessageDirection::Incoming => MessageStatus::Shown,
            MessageDirection::Outgoing => MessageStatus::Queued,
        },
        deleted: false,
    }
}

/// One test of the suite: a plain test (`#[test]` natively, a wasm-bindgen test on wasm32),
/// or, given a set-up to await first, an async wasm-bindgen test (a browser's OPFS opens
/// asynchronously, before any store can be made in it).
macro_rules! conformance_test {
    (; fn $name:ident() $body:block) => {
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        fn $name() $body
    };
    ($setup:expr; fn $name:ident() $body:block) => {
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() {
            $setup.await;
            $body
        }
    };
}

/// Expands to the whole conformance suite for one backend: `$make` makes a fresh store
/// for one test, after `setup` (if given: an async set-up, wasm32 only) was awaited.
macro_rules! store_conformance {
    ($backend:ident, $make:expr $(, setup = $setup:expr)?) => {
        mod $backend {
            use std::collections::BTreeMap;

            use sotto_core::store::{
                AttachmentRecord, ChangeSet, MessageDirection, MessageRecord, MessageStatus,
                OutboxRecord, SendQueueRecord, Store, Towards,
            };

            use crate::common::block_on;
            use crate::common::store_contract::{
                assert_unchanged, contact, fresh, message, one_of_each, receive_queue, record,
                snapshot, use_of,
            };

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn an_empty_store_holds_nothing() {
                let (_guard, store) = fresh($make);
                block_on(async {
                    assert_eq!(store.load_identity().await.unwrap(), None);
                    assert_eq!(store.load_session("peer.1").await.unwrap(), None);
                    assert_eq!(store.load_remote_identity("peer.1").await.unwrap(), None);
                    assert_eq!(store.load_pre_key(7).await.unwrap(), None);
                    assert_eq!(store.load_signed_pre_key(8).await.unwrap(), None);
                    assert_eq!(store.load_kyber_pre_key(9).await.unwrap(), None);
                    assert!(store.pre_key_ids().await.unwrap().is_empty());
                    assert!(store.signed_pre_key_ids().await.unwrap().is_empty());
                    assert!(store.kyber_pre_key_ids().await.unwrap().is_empty());
                    assert!(
                        !store
                            .kyber_base_key_seen(&use_of(9, 8, &[1]))
                            .await
                            .unwrap()
                    );
                });
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn apply_stores_one_record_of_every_kind() {
                let (_guard, store) = fresh($make);
                block_on(store.apply(one_of_each(0xA0))).unwrap();
                block_on(async {
                    assert_eq!(store.load_identity().await.unwrap(), Some(record("first")));
                    assert_eq!(
                        store.load_session("peer.1").await.unwrap(),
                        Some(vec![0xA0, 1])
                    );
                    assert_eq!(
                        store.load_remote_identity("peer.1").await.unwrap(),
                        Some(vec![0xA0, 2])
                    );
                    assert_eq!(store.load_pre_key(7).await.unwrap(), Some(vec![0xA0, 3]));
                    assert_eq!(
                        store.load_signed_pre_key(8).await.unwrap(),
                        Some(vec![0xA0, 4])
                    );
                    assert_eq!(
                        store.load_kyber_pre_key(9).await.unwrap(),
                        Some(vec![0xA0, 5])
                    );
                    assert_eq!(store.pre_key_ids().await.unwrap(), [7]);
                    assert_eq!(store.signed_pre_key_ids().await.unwrap(), [8]);
                    assert_eq!(store.kyber_pre_key_ids().await.unwrap(), [9]);
                    assert!(
                        store
                            .kyber_base_key_seen(&use_of(9, 8, &[0xA0, 6]))
                            .await
                            .unwrap()
                    );
                    // Other addresses and ids stay empty.
                    assert_eq!(store.load_session("peer.2").await.unwrap(), None);
                    assert_eq!(store.load_pre_key(8).await.unwrap(), None);
                });
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn a_second_apply_overwrites_records_of_the_same_name() {
                let (_guard, store) = fresh($make);
                block_on(store.apply(one_of_each(0xA0))).unwrap();
                let mut second = one_of_each(0xB0);
                second.identity = Some(record("second"));
                block_on(store.apply(second)).unwrap();
                let after = snapshot(
                    &store,
                    &[],
                    &[use_of(9, 8, &[0xA0, 6]), use_of(9, 8, &[0xB0, 6])],
                );
                assert_eq!(after.identity, Some(record("second")));
                assert_eq!(after.pre_keys, BTreeMap::from([(7, Some(vec![0xB0, 3]))]));
                assert_eq!(
                    after.signed_pre_keys,
                    BTreeMap::from([(8, Some(vec![0xB0, 4]))])
                );
                assert_eq!(
                    after.kyber_pre_keys,
                    BTreeMap::from([(9, Some(vec![0xB0, 5]))])
                );
                assert_eq!(after.base_keys_seen, [true, true], "base keys accumulate");
                block_on(async {
                    assert_eq!(
                        store.load_session("peer.1").await.unwrap(),
                        Some(vec![0xB0, 1])
                    );
                    assert_eq!(
                        store.load_remote_identity("peer.1").await.unwrap(),
                        Some(vec![0xB0, 2])
                    );
                });
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn none_deletes_a_prekey_and_deleting_a_missing_one_is_harmless() {
                let (_guard, store) = fresh($make);
                let mut changes = one_of_each(0xA0);
                changes.pre_keys.insert(70, Some(vec![70]));
                block_on(store.apply(changes)).unwrap();

                let mut deletions = ChangeSet::default();
                deletions.pre_keys.insert(7, None);
                deletions.signed_pre_keys.insert(8, None);
                deletions.kyber_pre_keys.insert(9, None);
                deletions.pre_keys.insert(1234, None); // never stored
                block_on(store.apply(deletions)).unwrap();
                block_on(async {
                    assert_eq!(store.load_pre_key(7).await.unwrap(), None);
                    assert_eq!(store.load_signed_pre_key(8).await.unwrap(), None);
                    assert_eq!(store.load_kyber_pre_key(9).await.unwrap(), None);
                    assert_eq!(store.pre_key_ids().await.unwrap(), [70]);
                    assert!(store.signed_pre_key_ids().await.unwrap().is_empty());
                    assert!(store.kyber_pre_key_ids().await.unwrap().is_empty());
                    assert_eq!(store.load_pre_key(70).await.unwrap(), Some(vec![70]));
                    // Deleting prekeys touches nothing else.
                    assert_eq!(store.load_identity().await.unwrap(), Some(record("first")));
                    assert_eq!(
                        store.load_session("peer.1").await.unwrap(),
                        Some(vec![0xA0, 1])
                    );
                });
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn a_change_set_without_an_identity_keeps_the_stored_one() {
                let (_guard, store) = fresh($make);
                block_on(store.apply(one_of_each(0xA0))).unwrap();
                let mut changes = ChangeSet::default();
                changes.sessions.insert("peer.2".into(), vec![2]);
                block_on(store.apply(changes)).unwrap();
                block_on(async {
                    assert_eq!(store.load_identity().await.unwrap(), Some(record("first")));
                    assert_eq!(store.load_session("peer.2").await.unwrap(), Some(vec![2]));
                    assert_eq!(
                        store.load_session("peer.1").await.unwrap(),
                        Some(vec![0xA0, 1]),
                        "sessions with other peers are untouched"
                    );
                });
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn an_empty_change_set_changes_nothing() {
                assert!(ChangeSet::default().is_empty());
                let (_guard, store) = fresh($make);
                block_on(store.apply(one_of_each(0xA0))).unwrap();
                let uses = [use_of(9, 8, &[0xA0, 6])];
                let before = snapshot(&store, &[], &uses);
                block_on(store.apply(ChangeSet::default())).unwrap();
                assert_unchanged(
                    &before,
                    &snapshot(&store, &[], &uses),
                    "an empty change set",
                );
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn a_change_set_with_any_one_write_is_not_empty() {
                let full = one_of_each(0);
                let singles: Vec<ChangeSet> = vec![
                    ChangeSet {
                        identity: full.identity.clone(),
                        ..ChangeSet::default()
                    },
                    ChangeSet {
                        sessions: full.sessions.clone(),
                        ..ChangeSet::default()
                    },
                    ChangeSet {
                        remote_identities: full.remote_identities.clone(),
                        ..ChangeSet::default()
                    },
                    ChangeSet {
                        pre_keys: BTreeMap::from([(7, None)]), // a deletion is a write too
                        ..ChangeSet::default()
                    },
                    ChangeSet {
                        signed_pre_keys: full.signed_pre_keys.clone(),
                        ..ChangeSet::default()
                    },
                    ChangeSet {
                        kyber_pre_keys: full.kyber_pre_keys.clone(),
                        ..ChangeSet::default()
                    },
                    ChangeSet {
                        kyber_base_keys: full.kyber_base_keys.clone(),
                        ..ChangeSet::default()
                    },
                ];
                let mut singles = singles;
                let mut with_contact = ChangeSet::default();
                with_contact.contacts.insert("c".into(), contact("c"));
                let mut with_message = ChangeSet::default();
                with_message.put_message(message("c", MessageDirection::Incoming, 1, 1));
                let mut with_outbox = ChangeSet::default();
                with_outbox.outbox.insert(("c".into(), [1; 16]), None);
                let mut with_attachment = ChangeSet::default();
                with_attachment.attachments.insert(
                    ("c".into(), [1; 16]),
                    AttachmentRecord {
                        contact: "c".into(),
                        message_id: [1; 16],
                        pointer: vec![],
                        local_file: None,
                    },
                );
                let mut with_receive_queue = ChangeSet::default();
                with_receive_queue.receive_queues.insert([1; 16], None);
                let mut with_send_queue = ChangeSet::default();
                with_send_queue.send_queues.insert("c".into(), None);
                let mut with_forgotten = ChangeSet::default();
                with_forgotten.forgotten_contacts.insert("c".into());
                singles.extend([
                    with_contact,
                    with_message,
                    with_outbox,
                    with_attachment,
                    with_receive_queue,
                    with_send_queue,
                    with_forgotten,
                ]);
                for single in singles {
                    assert!(!single.is_empty(), "{single:?}");
                }
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn a_kyber_base_key_is_remembered_only_for_the_same_prekeys() {
                let (_guard, store) = fresh($make);
                let seen = use_of(9, 8, &[5; 33]);
                let mut changes = ChangeSet::default();
                changes.kyber_base_keys.push(seen.clone());
                block_on(store.apply(changes.clone())).unwrap();
                block_on(async {
                    assert!(store.kyber_base_key_seen(&seen).await.unwrap());
                    for other in [
                        use_of(10, 8, &[5; 33]), // another Kyber prekey
                        use_of(9, 7, &[5; 33]),  // another signed prekey
                        use_of(9, 8, &[6; 33]),  // another base key
                        use_of(9, 8, &[5; 32]),  // a prefix of the base key
                    ] {
                        assert!(
                            !store.kyber_base_key_seen(&other).await.unwrap(),
                            "{other:?}"
                        );
                    }
                });
                // Remembering the same use twice is harmless.
                block_on(store.apply(changes)).unwrap();
                assert!(block_on(store.kyber_base_key_seen(&seen)).unwrap());
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn prekey_ids_are_listed_in_ascending_order() {
                let (_guard, store) = fresh($make);
                let mut changes = ChangeSet::default();
                for id in [30, 2, 17, 0x00FF_FFFE, 1] {
                    changes.pre_keys.insert(id, Some(vec![1]));
                    changes.signed_pre_keys.insert(id, Some(vec![2]));
                    changes.kyber_pre_keys.insert(id, Some(vec![3]));
                }
                block_on(store.apply(changes)).unwrap();
                let ascending = [1, 2, 17, 30, 0x00FF_FFFE];
                assert_eq!(block_on(store.pre_key_ids()).unwrap(), ascending);
                assert_eq!(block_on(store.signed_pre_key_ids()).unwrap(), ascending);
                assert_eq!(block_on(store.kyber_pre_key_ids()).unwrap(), ascending);
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn contacts_are_stored_replaced_and_listed_by_id() {
                let (_guard, store) = fresh($make);
                let mut changes = ChangeSet::default();
                for id in ["c3", "c1", "c2"] {
                    changes.contacts.insert(id.into(), contact(id));
                }
                block_on(store.apply(changes)).unwrap();
                let ids: Vec<String> = block_on(store.contacts())
                    .unwrap()
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                assert_eq!(ids, ["c1", "c2", "c3"]);
                let mut changed = contact("c2");
                changed.verified = true;
                changed.pending_identity_key = Some(vec![5; 33]);
                changed.last_sent_sequence = 41;
                changed.shown_through = 7;
                changed.display_name = None;
                let mut changes = ChangeSet::default();
                changes.contacts.insert("c2".into(), changed.clone());
                block_on(store.apply(changes)).unwrap();
                assert_eq!(block_on(store.load_contact("c2")).unwrap(), Some(changed));
                assert_eq!(
                    block_on(store.load_contact("c1")).unwrap(),
                    Some(contact("c1"))
                );
                assert_eq!(block_on(store.load_contact("nobody")).unwrap(), None);
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn messages_are_keyed_by_contact_direction_and_id() {
                let (_guard, store) = fresh($make);
                let mut changes = ChangeSet::default();
                changes.put_message(message("c1", MessageDirection::Incoming, 1, 100));
                changes.put_message(message("c1", MessageDirection::Outgoing, 1, 100));
                changes.put_message(message("c2", MessageDirection::Incoming, 1, 100));
                block_on(store.apply(changes)).unwrap();
                for (c, d) in [
                    ("c1", MessageDirection::Incoming),
                    ("c1", MessageDirection::Outgoing),
                    ("c2", MessageDirection::Incoming),
                ] {
                    let found = block_on(store.load_message(c, d, &[1; 16])).unwrap();
                    assert_eq!(found, Some(message(c, d, 1, 100)));
                }
                assert_eq!(
                    block_on(store.load_message("c2", MessageDirection::Outgoing, &[1; 16]))
                        .unwrap(),
                    None
                );
                // Replacing updates the status in place (and a tombstone's flag and
                // emptied frame).
                let mut delivered = message("c1", MessageDirection::Outgoing, 1, 100);
                delivered.status = MessageStatus::Delivered;
                delivered.deleted = true;
                delivered.frame.clear();
                let mut changes = ChangeSet::default();
                changes.put_message(delivered.clone());
                block_on(store.apply(changes)).unwrap();
                assert_eq!(
                    block_on(store.load_message("c1", MessageDirection::Outgoing, &[1; 16]))
                        .unwrap(),
                    Some(delivered)
                );
                assert_eq!(block_on(store.recent_messages("c1", 10)).unwrap().len(), 2);
                let by_sequence = block_on(store.incoming_by_sequence("c1", 1)).unwrap();
                assert_eq!(
                    by_sequence,
                    Some(message("c1", MessageDirection::Incoming, 1, 100))
                );
                assert_eq!(block_on(store.incoming_by_sequence("c1", 2)).unwrap(), None);
                assert_eq!(block_on(store.incoming_by_sequence("c3", 1)).unwrap(), None);

                // A message is named by contact, direction and id: rewriting it with another
                // time and sequence number moves it, and leaves no copy behind.
                let mut moved = message("c1", MessageDirection::Incoming, 1, 100);
                moved.at_ms = 50;
                moved.sequence = 7;
                let mut changes = ChangeSet::default();
                changes.put_message(moved.clone());
                block_on(store.apply(changes)).unwrap();
                let recent = block_on(store.recent_messages("c1", 10)).unwrap();
                assert_eq!(recent.len(), 2);
                assert_eq!(recent.last(), Some(&moved), "now the oldest");
                assert_eq!(block_on(store.incoming_by_sequence("c1", 1)).unwrap(), None);
                assert_eq!(
                    block_on(store.incoming_by_sequence("c1", 7)).unwrap(),
                    Some(moved)
                );
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn recent_messages_are_the_newest_of_one_conversation_newest_first() {
                let (_guard, store) = fresh($make);
                let mut changes = ChangeSet::default();
                for n in 1..=30u8 {
                    let direction = if n % 3 == 0 {
                        MessageDirection::Outgoing
                    } else {
                        MessageDirection::Incoming
                    };
                    changes.put_message(message("c1", direction, n, 1000 + u64::from(n)));
                    changes.put_message(message("c2", direction, n, 5000 + u64::from(n)));
                }
                // Two messages stored in the same millisecond: incoming sorts before
                // outgoing, so the outgoing one is newer.
                changes.put_message(message("c1", MessageDirection::Incoming, 40, 2000));
                changes.put_message(message("c1", MessageDirection::Outgoing, 41, 2000));
                block_on(store.apply(changes)).unwrap();
                let recent = block_on(store.recent_messages("c1", 5)).unwrap();
                let ids: Vec<u8> = recent.iter().map(|m| m.id[0]).collect();
                assert_eq!(ids, [41, 40, 30, 29, 28]);
                assert!(recent.iter().all(|m| m.contact == "c1"));
                assert_eq!(
                    block_on(store.recent_messages("c1", 100)).unwrap().len(),
                    32
                );
                assert!(block_on(store.recent_messages("c3", 5)).unwrap().is_empty());
                assert!(block_on(store.recent_messages("c1", 0)).unwrap().is_empty());
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn messages_are_found_by_direction_and_status_in_conversation_order() {
                let (_guard, store) = fresh($make);
                let mut changes = ChangeSet::default();
                for n in 1..=12u8 {
                    let mut m = message("c1", MessageDirection::Incoming, n, 2000 - u64::from(n));
                    m.status = if n % 3 == 0 {
                        MessageStatus::Read
                    } else {
                        MessageStatus::Shown
                    };
                    changes.put_message(m);
                }
                changes.put_message(message("c1", MessageDirection::Outgoing, 40, 10));
                changes.put_message(message("c2", MessageDirection::Incoming, 41, 10));
                block_on(store.apply(changes)).unwrap();
                let shown = block_on(store.messages_with_status(
                    "c1",
                    MessageDirection::Incoming,
                    MessageStatus::Shown,
                ))
                .unwrap();
                let ids: Vec<u8> = shown.iter().map(|m| m.id[0]).collect();
                assert_eq!(
                    ids,
                    [11, 10, 8, 7, 5, 4, 2, 1],
                    "oldest first, read ones left out"
                );
                let read = block_on(store.messages_with_status(
                    "c1",
                    MessageDirection::Incoming,
                    MessageStatus::Read,
                ))
                .unwrap();
                assert_eq!(read.len(), 4);
                assert!(
                    block_on(store.messages_with_status(
                        "c3",
                        MessageDirection::Incoming,
                        MessageStatus::Shown,
                    ))
                    .unwrap()
                    .is_empty()
                );
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn message_pages_go_either_way_from_a_place_and_never_repeat() {
                let (_guard, store) = fresh($make);
                let mut changes = ChangeSet::default();
                for n in 1..=30u8 {
                    let direction = if n % 3 == 0 {
                        MessageDirection::Outgoing
                    } else {
                        MessageDirection::Incoming
                    };
                    changes.put_message(message("c1", direction, n, 1000 + u64::from(n) / 2));
                    changes.put_message(message("c2", direction, n, 1000 + u64::from(n)));
                }
                block_on(store.apply(changes)).unwrap();
                let ids =
                    |page: &[MessageRecord]| -> Vec<u8> { page.iter().map(|m| m.id[0]).collect() };
                // Walking back 7 at a time visits every message of c1 once, newest first.
                let mut seen = Vec::new();
                let mut from = None;
                loop {
                    let page =
                        block_on(store.messages_page("c1", from, Towards::Older, 7)).unwrap();
                    assert!(page.len() <= 7);
                    assert!(page.iter().all(|m| m.contact == "c1"));
                    let Some(last) = page.last() else { break };
                    from = Some(last.place());
                    seen.extend(ids(&page));
                }
                let mut newest_first = block_on(store.recent_messages("c1", 100)).unwrap();
                assert_eq!(seen, ids(&newest_first));
                // And forward from the oldest, oldest first.
                let mut seen = Vec::new();
                let mut from = None;
                loop {
                    let page =
                        block_on(store.messages_page("c1", from, Towards::Newer, 4)).unwrap();
                    let Some(last) = page.last() else { break };
                    from = Some(last.place());
                    seen.extend(ids(&page));
                }
                newest_first.reverse();
                assert_eq!(seen, ids(&newest_first));
                // From a place in the middle, strictly beyond it.
                let middle = newest_first[10].place();
                let older =
                    block_on(store.messages_page("c1", Some(middle), Towards::Older, 3)).unwrap();
                assert_eq!(
                    ids(&older),
                    [
                        newest_first[9].id[0],
                        newest_first[8].id[0],
                        newest_first[7].id[0]
                    ]
                );
                let newer =
                    block_on(store.messages_page("c1", Some(middle), Towards::Newer, 2)).unwrap();
                assert_eq!(
                    ids(&newer),
                    [newest_first[11].id[0], newest_first[12].id[0]]
                );
                assert!(
                    block_on(store.messages_page("c3", None, Towards::Older, 5))
                        .unwrap()
                        .is_empty()
                );
                assert!(
                    block_on(store.messages_page("c1", None, Towards::Newer, 0))
                        .unwrap()
                        .is_empty()
                );
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn outbox_entries_are_added_updated_and_removed() {
                let (_guard, store) = fresh($make);
                assert_eq!(block_on(store.next_outbox_attempt()).unwrap(), None);
                let entry = |contact: &str, id: u8, attempts: u32| OutboxRecord {
                    contact: contact.into(),
                    message_id: [id; 16],
                    attempts,
                    next_attempt_ms: 10 * u64::from(attempts),
                };
                let mut changes = ChangeSet::default();
                for (c, id) in [("c2", 1), ("c1", 2), ("c1", 1)] {
                    changes
                        .outbox
                        .insert((c.into(), [id; 16]), Some(entry(c, id, 0)));
                }
                block_on(store.apply(changes)).unwrap();
                let mut changes = ChangeSet::default();
                changes
                    .outbox
                    .insert(("c1".into(), [1; 16]), Some(entry("c1", 1, 3)));
                changes.outbox.insert(("c2".into(), [1; 16]), None);
                changes.outbox.insert(("c9".into(), [9; 16]), None); // never stored
                block_on(store.apply(changes)).unwrap();
                assert_eq!(
                    block_on(store.outbox()).unwrap(),
                    [entry("c1", 1, 3), entry("c1", 2, 0)]
                );
                assert_eq!(block_on(store.next_outbox_attempt()).unwrap(), Some(0));
                let mut changes = ChangeSet::default();
                changes.outbox.insert(("c1".into(), [2; 16]), None);
                block_on(store.apply(changes)).unwrap();
                assert_eq!(block_on(store.next_outbox_attempt()).unwrap(), Some(30));
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn attachment_metadata_is_stored_and_replaced() {
                let (_guard, store) = fresh($make);
                let mut record = AttachmentRecord {
                    contact: "c1".into(),
                    message_id: [7; 16],
                    pointer: vec![1, 2, 3],
                    local_file: None,
                };
                let mut changes = ChangeSet::default();
                changes
                    .attachments
                    .insert(("c1".into(), [7; 16]), record.clone());
                block_on(store.apply(changes)).unwrap();
                assert_eq!(
                    block_on(store.load_attachment("c1", &[7; 16])).unwrap(),
                    Some(record.clone())
                );
                record.local_file = Some("0a0b.bin".into());
                let mut changes = ChangeSet::default();
                changes
                    .attachments
                    .insert(("c1".into(), [7; 16]), record.clone());
                block_on(store.apply(changes)).unwrap();
                assert_eq!(
                    block_on(store.load_attachment("c1", &[7; 16])).unwrap(),
                    Some(record)
                );
                assert_eq!(
                    block_on(store.load_attachment("c2", &[7; 16])).unwrap(),
                    None
                );
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn receive_queues_are_stored_replaced_listed_and_forgotten() {
                let (_guard, store) = fresh($make);
                let invitation = receive_queue(2, None, Some(u32::MAX));
                let contact_queue = receive_queue(1, Some("c1"), None);
                let mut loop_queue = receive_queue(3, None, None);
                loop_queue.cover_loop = true;
                let mut changes = ChangeSet::default();
                for queue in [&invitation, &contact_queue, &loop_queue] {
                    changes
                        .receive_queues
                        .insert(queue.recipient_id, Some(queue.clone()));
                }
                block_on(store.apply(changes)).unwrap();
                assert_eq!(
                    block_on(store.receive_queues()).unwrap(),
                    [
                        contact_queue.clone(),
                        invitation.clone(),
                        loop_queue.clone()
                    ],
                    "ordered by recipient id"
                );
                let mut changes = ChangeSet::default();
                changes.receive_queues.insert(loop_queue.recipient_id, None);
                block_on(store.apply(changes)).unwrap();
                // The invitation is used and now serves a contact.
                let mut used = invitation.clone();
                used.contact = Some("c2".into());
                used.invitation_used = true;
                let mut changes = ChangeSet::default();
                changes
                    .receive_queues
                    .insert(used.recipient_id, Some(used.clone()));
                changes
                    .receive_queues
                    .insert(contact_queue.recipient_id, None);
                block_on(store.apply(changes)).unwrap();
                assert_eq!(block_on(store.receive_queues()).unwrap().len(), 1);
                assert_eq!(
                    block_on(store.load_receive_queue(&used.recipient_id)).unwrap(),
                    Some(used)
                );
                assert_eq!(
                    block_on(store.load_receive_queue(&contact_queue.recipient_id)).unwrap(),
                    None
                );
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn a_forgotten_contact_goes_with_everything_stored_for_it_and_only_that() {
                let (_guard, store) = fresh($make);
                let mut changes = ChangeSet::default();
                for c in ["c1", "c2"] {
                    changes.contacts.insert(c.into(), contact(c));
                    changes.put_message(message(c, MessageDirection::Outgoing, 1, 1));
                    changes.put_message(message(c, MessageDirection::Incoming, 2, 2));
                    changes.outbox.insert(
                        (c.into(), [1; 16]),
                        Some(OutboxRecord {
                            contact: c.into(),
                            message_id: [1; 16],
                            attempts: 1,
                            next_attempt_ms: 5,
                        }),
                    );
                    changes.attachments.insert(
                        (c.into(), [2; 16]),
                        AttachmentRecord {
                            contact: c.into(),
                            message_id: [2; 16],
                            pointer: vec![9],
                            local_file: None,
                        },
                    );
                    changes.send_queues.insert(
                        c.into(),
                        Some(SendQueueRecord {
                            contact: c.into(),
                            relay: "sotto://relay".into(),
                            sender_id: [3; 16],
                            sender_key: vec![4; 32],
                        }),
                    );
                }
                let c1_queue = receive_queue(1, Some("c1"), None);
                let c2_queue = receive_queue(2, Some("c2"), None);
                let open_invitation = receive_queue(3, None, Some(7));
                for queue in [&c1_queue, &c2_queue, &open_invitation] {
                    changes
                        .receive_queues
                        .insert(queue.recipient_id, Some(queue.clone()));
                }
                block_on(store.apply(changes)).unwrap();

                let mut forget = ChangeSet::default();
                forget.forgotten_contacts.insert("c1".into());
                forget.forgotten_contacts.insert("never-stored".into());
                block_on(store.apply(forget)).unwrap();

                assert_eq!(block_on(store.load_contact("c1")).unwrap(), None);
                assert!(
                    block_on(store.recent_messages("c1", 10))
                        .unwrap()
                        .is_empty()
                );
                assert_eq!(
                    block_on(store.load_attachment("c1", &[2; 16])).unwrap(),
                    None
                );
                assert_eq!(block_on(store.load_send_queue("c1")).unwrap(), None);
                assert_eq!(
                    block_on(store.receive_queues()).unwrap(),
                    [c2_queue, open_invitation],
                    "only c1's queue went"
                );
                let outbox = block_on(store.outbox()).unwrap();
                assert_eq!(outbox.len(), 1);
                assert_eq!(outbox[0].contact, "c2");
                assert_eq!(
                    block_on(store.load_contact("c2")).unwrap(),
                    Some(contact("c2"))
                );
                assert_eq!(block_on(store.recent_messages("c2", 10)).unwrap().len(), 2);
                assert!(
                    block_on(store.load_attachment("c2", &[2; 16]))
                        .unwrap()
                        .is_some()
                );
                assert!(block_on(store.load_send_queue("c2")).unwrap().is_some());
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn send_queues_are_stored_per_contact_replaced_and_forgotten() {
                let (_guard, store) = fresh($make);
                let mut queue = SendQueueRecord {
                    contact: "c1".into(),
                    relay: "sotto://relay-one".into(),
                    sender_id: [3; 16],
                    sender_key: vec![4; 32],
                };
                let mut changes = ChangeSet::default();
                changes.send_queues.insert("c1".into(), Some(queue.clone()));
                block_on(store.apply(changes)).unwrap();
                assert_eq!(
                    block_on(store.load_send_queue("c1")).unwrap(),
                    Some(queue.clone())
                );
                assert_eq!(block_on(store.load_send_queue("c2")).unwrap(), None);
                queue.relay = "sotto://relay-two".into();
                queue.sender_id = [5; 16];
                let mut changes = ChangeSet::default();
                changes.send_queues.insert("c1".into(), Some(queue.clone()));
                block_on(store.apply(changes)).unwrap();
                assert_eq!(block_on(store.load_send_queue("c1")).unwrap(), Some(queue));
                let mut changes = ChangeSet::default();
                changes.send_queues.insert("c1".into(), None);
                block_on(store.apply(changes)).unwrap();
                assert_eq!(block_on(store.load_send_queue("c1")).unwrap(), None);
            }}

            crate::common::store_contract::conformance_test! { $($setup)?;
            fn settings_are_stored_by_name_replaced_and_removed() {
                let (_guard, store) = fresh($make);
                assert_eq!(block_on(store.load_setting("network")).unwrap(), None);
                let mut changes = ChangeSet::default();
                changes.settings.insert("network".into(), Some(b"{\"relays\":[]}".to_vec()));
                changes.settings.insert("app/theme".into(), Some(b"dark".to_vec()));
                // An empty value is a value, not an absence.
                changes.settings.insert("app/empty".into(), Some(Vec::new()));
                block_on(store.apply(changes)).unwrap();
                assert_eq!(
                    block_on(store.load_setting("network")).unwrap().as_deref(),
                    Some(&b"{\"relays\":[]}"[..])
                );
                assert_eq!(block_on(store.load_setting("app/empty")).unwrap(), Some(Vec::new()));
                assert_eq!(block_on(store.load_setting("app/other")).unwrap(), None);
                let mut changes = ChangeSet::default();
                changes.settings.insert("app/theme".into(), Some(b"light".to_vec()));
                changes.settings.insert("network".into(), None);
                block_on(store.apply(changes)).unwrap();
                assert_eq!(
                    block_on(store.load_setting("app/theme")).unwrap().as_deref(),
                    Some(&b"light"[..])
                );
                assert_eq!(block_on(store.load_setting("network")).unwrap(), None);
            }}
        }
    };
}

/// A receive queue whose ids and keys carry `tag`.
pub fn receive_queue(
    tag: u8,
    contact: Option<&str>,
    invitation_pre_key: Option<u32>,
) -> ReceiveQueueRecord {
    ReceiveQueueRecord {
        recipient_id: [tag; 16],
        relay: format!("sotto://relay-{tag}"),
        recipient_key: vec![tag; 32],
        sender_id: [tag ^ 0xff; 16],
        sender_key: vec![tag ^ 0xff; 32],
        contact: contact.map(str::to_owned),
        invitation_pre_key,
        invitation_used: false,
        cover_loop: false,
    }
}

pub(crate) use {conformance_test, store_conformance};
