//! Every step lands in the store entirely or not at all: the `ChangeSet`/`apply` contract of
//! the reference `MemoryStore`, and, through `Profile`, that a refused packet or refused
//! content leaves every record exactly as it was.

mod common;

use std::collections::BTreeMap;

use common::{Party, block_on, now};
use libsignal_protocol::{
    ContentHint, PreKeyBundle, SessionRecord, UnidentifiedSenderMessageContent, message_encrypt,
    sealed_sender_encrypt_from_usmc,
};
use sotto_core::content::{Body, Content, ContentError, MAX_TEXT_BYTES};
use sotto_core::padding::{self, PACKET_PAYLOAD_SIZE};
use sotto_core::sealed::SelfCertificate;
use sotto_core::store::{
    ChangeSet, IdentityRecord, KyberBaseKeyUse, MemoryStore, SignalStore, Store,
};
use sotto_core::{Error, PublicIdentity};

// --- Snapshots of everything the `Store` trait can read ---

/// Every record a store returns for the given peers and Kyber base-key uses.
#[derive(Debug, PartialEq)]
struct Snapshot {
    identity: Option<IdentityRecord>,
    sessions: BTreeMap<String, Option<Vec<u8>>>,
    remote_identities: BTreeMap<String, Option<Vec<u8>>>,
    pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    signed_pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    kyber_pre_keys: BTreeMap<u32, Option<Vec<u8>>>,
    base_keys_seen: Vec<bool>,
}

fn snapshot(store: &impl Store, peers: &[PublicIdentity], uses: &[KyberBaseKeyUse]) -> Snapshot {
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
fn differences(a: &Snapshot, b: &Snapshot) -> Vec<&'static str> {
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

fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    let changed = differences(before, after);
    assert!(changed.is_empty(), "{what} changed the store: {changed:?}");
}

// --- The ChangeSet / apply contract of MemoryStore ---

fn use_of(kyber: u32, signed: u32, base_key: &[u8]) -> KyberBaseKeyUse {
    KyberBaseKeyUse {
        kyber_pre_key_id: kyber,
        signed_pre_key_id: signed,
        base_key: base_key.to_vec(),
    }
}

fn record(name: &str) -> IdentityRecord {
    IdentityRecord {
        key_pair: name.as_bytes().to_vec(),
        registration_id: 42,
        display_name: Some(name.into()),
    }
}

/// One record of every kind, each with `tag` in its bytes.
fn one_of_each(tag: u8) -> ChangeSet {
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

#[test]
fn an_empty_store_holds_nothing() {
    let store = MemoryStore::new();
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
}

#[test]
fn apply_stores_one_record_of_every_kind() {
    let store = MemoryStore::new();
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
}

#[test]
fn a_second_apply_overwrites_records_of_the_same_name() {
    let store = MemoryStore::new();
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
}

#[test]
fn none_deletes_a_prekey_and_deleting_a_missing_one_is_harmless() {
    let store = MemoryStore::new();
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
}

#[test]
fn a_change_set_without_an_identity_keeps_the_stored_one() {
    let store = MemoryStore::new();
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
}

#[test]
fn an_empty_change_set_changes_nothing() {
    assert!(ChangeSet::default().is_empty());
    let store = MemoryStore::new();
    block_on(store.apply(one_of_each(0xA0))).unwrap();
    let uses = [use_of(9, 8, &[0xA0, 6])];
    let before = snapshot(&store, &[], &uses);
    block_on(store.apply(ChangeSet::default())).unwrap();
    assert_unchanged(
        &before,
        &snapshot(&store, &[], &uses),
        "an empty change set",
    );
}

#[test]
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
    for single in singles {
        assert!(!single.is_empty(), "{single:?}");
    }
}

#[test]
fn a_kyber_base_key_is_remembered_only_for_the_same_prekeys() {
    let store = MemoryStore::new();
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
}

#[test]
fn prekey_ids_are_listed_in_ascending_order() {
    let store = MemoryStore::new();
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
}

// --- Through a profile: a failed step writes nothing ---

/// Alice starts a session from a fresh bundle of Bob's; returns the Kyber base-key use her
/// first message will make, read from her own session record.
fn start(alice: &Party, bob: &Party) -> KyberBaseKeyUse {
    let bundle: PreKeyBundle = block_on(bob.profile.prekey_bundle(&mut rand::rng())).unwrap();
    block_on(
        alice
            .profile
            .start_session(&bundle, now(), &mut rand::rng()),
    )
    .unwrap();
    let address = bob.public().address().to_string();
    let bytes = block_on(alice.profile.store().load_session(&address))
        .unwrap()
        .expect("alice's session with bob");
    let session = SessionRecord::deserialize(&bytes).unwrap();
    KyberBaseKeyUse {
        kyber_pre_key_id: bundle.kyber_pre_key_id().unwrap().into(),
        signed_pre_key_id: bundle.signed_pre_key_id().unwrap().into(),
        base_key: session.alice_base_key().unwrap().to_vec(),
    }
}

/// Alice and Bob with a session both ways (Bob answered once).
fn pair() -> (Party, Party) {
    let mut alice = Party::new("alice");
    let mut bob = Party::new("bob");
    alice.meet(&bob);
    let hello = alice.text("hello bob");
    let packet = alice.seal(&bob.public(), &hello);
    bob.deliver(&alice.public(), &packet).unwrap();
    let reply = bob.text("hello alice");
    let packet = bob.seal(&alice.public(), &reply);
    alice.deliver(&bob.public(), &packet).unwrap();
    (alice, bob)
}

fn bobs_view(bob: &Party, peers: &[&Party], uses: &[KyberBaseKeyUse]) -> Snapshot {
    let peers: Vec<PublicIdentity> = peers.iter().map(|p| p.public()).collect();
    snapshot(bob.profile.store(), &peers, uses)
}

#[test]
fn a_tampered_first_message_leaves_bobs_store_unchanged() {
    let mut alice = Party::new("alice");
    let bob = Party::new("bob");
    let used = start(&alice, &bob);
    let content = alice.text("first words");
    let packet = alice.seal(&bob.public(), &content);
    let before = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    assert_eq!(before.sessions.values().next(), Some(&None));

    let sealed_len = padding::unpad(&packet).unwrap().len();
    let positions = (0..4 + sealed_len)
        .step_by(11)
        .chain([4 + sealed_len - 1, PACKET_PAYLOAD_SIZE - 1]);
    for pos in positions {
        let mut bad = packet.clone();
        bad[pos] ^= 0x40;
        bob.open(&alice.public(), &bad)
            .expect_err("tampering detected");
        let after = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
        assert_unchanged(&before, &after, &format!("a packet tampered at byte {pos}"));
    }

    // The genuine packet then opens, and that is a change of every kind a first message
    // makes: a session, the sender's identity, the one-time prekey gone, the base key used.
    assert_eq!(bob.open(&alice.public(), &packet).unwrap(), content);
    let after = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    assert_eq!(
        differences(&before, &after),
        [
            "sessions",
            "remote identities",
            "one-time prekeys",
            "Kyber base keys"
        ]
    );
    assert_eq!(after.base_keys_seen, [true]);
    let address = alice.public().address().to_string();
    assert_eq!(
        after.remote_identities[&address].as_deref(),
        Some(&alice.public().to_bytes()[..])
    );
    assert!(after.pre_keys.len() < before.pre_keys.len());
}

/// Alice encrypts `plaintext` with her real session and certificate, bypassing the frame
/// checks of `Profile::seal`: a packet that decrypts fine but holds no valid frame.
fn seal_raw(alice: &Party, bob: &Party, plaintext: &[u8]) -> Vec<u8> {
    let mut rng = rand::rng();
    let identity = alice.profile.identity();
    let view = SignalStore::new(
        alice.profile.store(),
        *identity.key_pair(),
        identity.registration_id(),
    );
    let address = bob.public().address();
    let ciphertext = block_on(message_encrypt(
        plaintext,
        &address,
        &mut view.clone(),
        &mut view.clone(),
        now(),
        &mut rng,
    ))
    .unwrap();
    let certificate = SelfCertificate::issue(identity, now(), &mut rng).unwrap();
    let usmc = UnidentifiedSenderMessageContent::new(
        ciphertext.message_type(),
        certificate.certificate().clone(),
        ciphertext.serialize().to_vec(),
        ContentHint::Default,
        None,
    )
    .unwrap();
    let sealed = block_on(sealed_sender_encrypt_from_usmc(
        &address, &usmc, &view, &mut rng,
    ))
    .unwrap();
    block_on(alice.profile.store().apply(view.take_changes())).unwrap();
    padding::pad(&sealed).unwrap()
}

#[test]
fn a_first_message_that_decrypts_to_a_bad_frame_leaves_bobs_store_unchanged() {
    let mut alice = Party::new("alice");
    let mut bob = Party::new("bob");
    let used = start(&alice, &bob);
    // Decryption succeeds and stages a session; the frame check fails afterwards.
    let zero_sequence = Content::text(0, 1_790_000_000_000, "sequence zero").encode();
    let packet = seal_raw(&alice, &bob, &zero_sequence);
    let before = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    for attempt in 0..2 {
        let err = bob.open(&alice.public(), &packet).expect_err("bad frame");
        assert!(
            matches!(err, Error::Content(ContentError::ZeroSequence)),
            "attempt {attempt}: {err:?}"
        );
        let after = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
        assert_unchanged(&before, &after, "a first message with a bad frame");
    }
    // Nothing was consumed: Alice's next message, still a first message, opens.
    let content = alice.text("a proper hello");
    let packet = alice.seal(&bob.public(), &content);
    bob.deliver(&alice.public(), &packet).unwrap();
    assert_eq!(bob.shown, [content]);
}

#[test]
fn a_later_message_that_decrypts_to_a_bad_frame_leaves_bobs_store_unchanged() {
    let (mut alice, mut bob) = pair();
    let packet = seal_raw(&alice, &bob, b"not a protobuf frame \xff\xff\xff");
    let before = bobs_view(&bob, &[&alice], &[]);
    let err = bob.open(&alice.public(), &packet).expect_err("bad frame");
    assert!(matches!(err, Error::Content(_)), "{err:?}");
    assert_unchanged(
        &before,
        &bobs_view(&bob, &[&alice], &[]),
        "a message with a bad frame",
    );
    let content = alice.text("after the junk");
    let packet = alice.seal(&bob.public(), &content);
    bob.deliver(&alice.public(), &packet).unwrap();
    assert_eq!(bob.shown.last(), Some(&content));
}

#[test]
fn a_packet_from_a_stranger_leaves_bobs_store_unchanged() {
    let (alice, bob) = pair();
    let mut mallory = Party::new("mallory");
    let used = start(&mallory, &bob);
    let content = mallory.text("it is me, alice");
    let packet = mallory.seal(&bob.public(), &content);
    let before = bobs_view(&bob, &[&alice, &mallory], std::slice::from_ref(&used));
    let err = bob
        .open(&alice.public(), &packet)
        .expect_err("not from alice");
    assert!(matches!(err, Error::IdentityKeyChanged { .. }), "{err:?}");
    let after = bobs_view(&bob, &[&alice, &mallory], std::slice::from_ref(&used));
    assert_unchanged(&before, &after, "a packet from a stranger");
}

#[test]
fn a_duplicate_leaves_bobs_store_unchanged() {
    let (mut alice, bob) = pair();
    let content = alice.text("once");
    let packet = alice.seal(&bob.public(), &content);
    bob.open(&alice.public(), &packet).unwrap();
    let before = bobs_view(&bob, &[&alice], &[]);
    assert!(matches!(
        bob.open(&alice.public(), &packet),
        Err(Error::Duplicate)
    ));
    assert_unchanged(&before, &bobs_view(&bob, &[&alice], &[]), "a duplicate");
}

#[test]
fn a_replayed_first_message_leaves_bobs_store_unchanged() {
    let mut alice = Party::new("alice");
    let bob = Party::new("bob");
    let used = start(&alice, &bob);
    let content = alice.text("first");
    let packet = alice.seal(&bob.public(), &content);
    bob.open(&alice.public(), &packet).unwrap();
    let before = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    assert_eq!(before.base_keys_seen, [true]);
    bob.open(&alice.public(), &packet).expect_err("replay");
    let after = bobs_view(&bob, &[&alice], std::slice::from_ref(&used));
    assert_unchanged(&before, &after, "a replayed first message");
}

#[test]
fn a_successful_open_changes_only_the_session_record() {
    let (mut alice, bob) = pair();
    let content = alice.text("ratchet forward");
    let packet = alice.seal(&bob.public(), &content);
    let before = bobs_view(&bob, &[&alice], &[]);
    assert_eq!(bob.open(&alice.public(), &packet).unwrap(), content);
    let after = bobs_view(&bob, &[&alice], &[]);
    assert_eq!(differences(&before, &after), ["sessions"]);
    let address = alice.public().address().to_string();
    assert!(after.sessions[&address].is_some());
}

#[test]
fn sealing_text_that_is_too_long_changes_nothing_and_the_next_message_opens() {
    let (mut alice, mut bob) = pair();
    let alices_view = |alice: &Party| snapshot(alice.profile.store(), &[bob.public()], &[]);
    let before = alices_view(&alice);
    let mut too_long = alice.text("");
    too_long.body = Body::Text("x".repeat(MAX_TEXT_BYTES + 1));
    let err = block_on(
        alice
            .profile
            .seal(&bob.public(), &too_long, now(), &mut rand::rng()),
    )
    .expect_err("too long");
    assert!(
        matches!(err, Error::Content(ContentError::TextTooLong { len, max })
            if len == MAX_TEXT_BYTES + 1 && max == MAX_TEXT_BYTES),
        "{err:?}"
    );
    assert_unchanged(&before, &alices_view(&alice), "a refused seal");

    // The sequence number was not used either; reuse it for the next message.
    let mut next = alice.text("short enough");
    next.sequence = too_long.sequence;
    let packet = alice.seal(&bob.public(), &next);
    bob.deliver(&alice.public(), &packet).unwrap();
    assert_eq!(bob.shown.last(), Some(&next));
}

#[test]
fn sealing_to_someone_without_a_session_changes_nothing() {
    let mut alice = Party::new("alice");
    let bob = Party::new("bob");
    let before = snapshot(alice.profile.store(), &[bob.public()], &[]);
    let content = alice.text("hello?");
    let err = block_on(
        alice
            .profile
            .seal(&bob.public(), &content, now(), &mut rand::rng()),
    )
    .expect_err("no session");
    assert!(matches!(err, Error::NoSession), "{err:?}");
    assert_unchanged(
        &before,
        &snapshot(alice.profile.store(), &[bob.public()], &[]),
        "a seal without a session",
    );
}
