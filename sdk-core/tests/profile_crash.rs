//! Crash safety through the API an application uses: a process sending thousands of
//! messages from a profile on disk (keychain mode, the real keyutils keychain) is killed
//! with SIGKILL, twice; after each kill the profile opens, SQLite's integrity check passes,
//! and every message `Profile::send` reported as stored is there with its outbox entry,
//! numbered without gaps. Finally the outbox re-seals everything from the recovered
//! ratchet state, and the recipient opens and shows every message once, in order.

#![cfg(all(feature = "sqlcipher", feature = "keychain", target_os = "linux"))]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use common::{block_on, killed_writer, now};
use sotto_core::Profile;
use sotto_core::contacts::{ContactId, Event};
use sotto_core::content::{Body, MessageId};
use sotto_core::store::{
    Argon2Params, Keychain, KeychainStore, MessageDirection, MessageStatus, ProfileDirectory,
    Protection, SqlCipherStore, Store,
};

const WRITER_ENV: &str = "SOTTO_PROFILE_CRASH_WRITER";
/// Messages one writer run would send if nobody stopped it.
const MESSAGES_PER_RUN: u64 = 100_000;
/// Acknowledgements to wait for before the kill (plus a random extra).
const ACKS_BEFORE_KILL: usize = 1_000;
const RUNS: usize = 2;

fn text(n: u64) -> String {
    format!("message {n} of a stream that is cut off by SIGKILL")
}

/// The writer's side: opens the profile directory, sends numbered texts to the contact and
/// prints `ack <n> <message id>` after each `send` returned `Ok`. Does nothing unless the
/// parent test started this process.
#[test]
fn profile_crash_writer() {
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let mut parts = spec.split('|');
    let (Some(dir), Some(contact), Some(first)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("spec is dir|contact|first");
    };
    let first: u64 = first.parse().expect("first message number");
    let contact = ContactId::new(contact);
    let store = ProfileDirectory::new(dir)
        .open(None)
        .expect("the writer opens the profile");
    let mut profile = block_on(Profile::load(store)).expect("load");
    let mut rng = rand::rng();
    let mut out = std::io::stdout().lock();
    // Ends libtest's "test profile_crash_writer ... " line, so every ack starts a line.
    writeln!(out).expect("stdout");
    for n in first..first + MESSAGES_PER_RUN {
        let sent =
            block_on(profile.send(&contact, Body::Text(text(n)), now(), &mut rng)).expect("send");
        writeln!(out, "ack {n} {}", sent.id).expect("stdout");
        out.flush().expect("stdout");
    }
}

/// A message id from its 32 hex digits.
fn message_id(hex: &str) -> MessageId {
    assert_eq!(hex.len(), 32, "message id {hex:?}");
    let bytes: [u8; 16] = std::array::from_fn(|i| {
        u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex message id")
    });
    MessageId::from(bytes)
}

/// Bob, who receives at the end (his profile stays in this process).
fn bob() -> Profile<SqlCipherStore> {
    let dir = tempfile::tempdir().unwrap().keep();
    let store = ProfileDirectory::new(dir.join("bob"))
        .create(Protection::Passphrase {
            passphrase: "bob",
            params: Argon2Params::new(8 * 1024, 1, 1).unwrap(),
        })
        .unwrap();
    block_on(Profile::create(store, None, now(), &mut rand::rng())).unwrap()
}

#[test]
fn a_sender_killed_mid_stream_loses_no_message_it_reported_stored() {
    let keychain = Keychain::open(KeychainStore::Keyutils).expect("keyutils");
    let temp = tempfile::Builder::new()
        .prefix("sotto-crash-")
        .tempdir()
        .unwrap();
    let alice_dir = ProfileDirectory::new(temp.path().join("alice"));
    let mut rng = rand::rng();

    let bob = bob();
    let (bob_at_alice, alice_at_bob) = {
        let store = alice_dir.create(Protection::Keychain(&keychain)).unwrap();
        let alice = block_on(Profile::create(store, None, now(), &mut rng)).unwrap();
        let bundle = block_on(bob.prekey_bundle(&mut rng)).unwrap();
        block_on(alice.start_session(&bundle, now(), &mut rng)).unwrap();
        let bob_at_alice = block_on(alice.add_contact(&bob.identity().public(), None)).unwrap();
        let alice_at_bob = block_on(bob.add_contact(&alice.identity().public(), None)).unwrap();
        (bob_at_alice, alice_at_bob)
    };
    struct DeleteOnDrop(ProfileDirectory);
    impl Drop for DeleteOnDrop {
        fn drop(&mut self) {
            let _ = self.0.delete();
        }
    }
    let _cleanup = DeleteOnDrop(alice_dir.clone());

    // Every acknowledged message: number → id.
    let mut acked: BTreeMap<u64, MessageId> = BTreeMap::new();
    let mut next = 1;
    for run in 0..RUNS {
        let kill_after = ACKS_BEFORE_KILL + (rand::random::<u32>() % 500) as usize;
        let log = temp.path().join(format!("writer-{run}.log"));
        let spec = format!("{}|{}|{next}", alice_dir.root().display(), bob_at_alice);
        let lines = killed_writer::run_and_kill(
            "profile_crash_writer",
            WRITER_ENV,
            &spec,
            kill_after,
            &log,
        );
        assert!(lines.len() >= kill_after);
        for line in &lines {
            let (n, id) = line.split_once(' ').expect("ack n id");
            let id = message_id(id);
            assert!(acked.insert(n.parse().expect("n"), id).is_none());
        }

        let store = alice_dir.open(None).expect("reopen after the kill");
        store.integrity_check().expect("integrity after the kill");
        let stored = block_on(store.recent_messages(bob_at_alice.as_str(), usize::MAX)).unwrap();
        let outbox = block_on(store.outbox()).unwrap();
        let contact = block_on(store.load_contact(bob_at_alice.as_str()))
            .unwrap()
            .unwrap();
        for (n, id) in &acked {
            let message = block_on(store.load_message(
                bob_at_alice.as_str(),
                MessageDirection::Outgoing,
                &id.to_bytes(),
            ))
            .unwrap()
            .unwrap_or_else(|| panic!("run {run}: acknowledged message {n} was lost"));
            assert_eq!(message.sequence, *n, "message {n} keeps its number");
            assert_eq!(message.status, MessageStatus::Queued);
            assert!(
                outbox.iter().any(|e| e.message_id == id.to_bytes()),
                "message {n} lost its outbox entry"
            );
        }
        // Whole sends only: stored messages are numbered 1..=last without a gap, the
        // contact's counter is the last number, and each has its outbox entry. At most the
        // send in flight at the kill is stored without its acknowledgement.
        let mut sequences: Vec<u64> = stored.iter().map(|m| m.sequence).collect();
        sequences.sort_unstable();
        assert_eq!(sequences, (1..=sequences.len() as u64).collect::<Vec<_>>());
        assert_eq!(contact.last_sent_sequence, sequences.len() as u64);
        assert_eq!(outbox.len(), stored.len());
        let unacked = stored.len() - acked.len();
        assert!(unacked <= 1, "run {run}: {unacked} unacknowledged messages");
        println!(
            "run {run}: killed after {} acks; {} messages stored, {unacked} of them \
             unacknowledged",
            lines.len(),
            stored.len()
        );
        next = stored.len() as u64 + 1;
    }

    // The recovered ratchet state still works: the outbox re-seals every queued message
    // and Bob shows each once, in order.
    let store = alice_dir.open(None).unwrap();
    let mut alice = block_on(Profile::load(store)).unwrap();
    let later = now() + Duration::from_secs(24 * 3600);
    let due = block_on(alice.due_packets(later, &mut rng)).unwrap();
    assert_eq!(due.len(), next as usize - 1);
    let mut shown = Vec::new();
    for packet in due {
        for event in block_on(bob.receive(&alice_at_bob, &packet.packet, later, &mut rng)).unwrap()
        {
            match event {
                Event::Message(content) => {
                    if let Body::Text(t) = content.body {
                        shown.push(t);
                    }
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    let expected: Vec<String> = (1..next).map(text).collect();
    assert_eq!(shown.len(), expected.len());
    assert_eq!(shown, expected, "every message once, in order");
}
