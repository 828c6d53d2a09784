//! Shared set-up for the core's integration tests: parties with in-memory profiles and a
//! fixed clock (the one mock we allow: time).

#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sotto_core::content::{Body, Content, MessageId};
use sotto_core::store::MemoryStore;
use sotto_core::{Error, Profile, PublicIdentity};

/// A fixed point in time for deterministic certificate and prekey timestamps.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// A new profile in a memory store.
pub fn memory_profile() -> Profile<MemoryStore> {
    block_on(Profile::create(
        MemoryStore::new(),
        None,
        now(),
        &mut rand::rng(),
    ))
    .expect("profile")
}

/// The texts of the messages among `events`, in order.
pub fn shown_texts(events: &[sotto_core::contacts::Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            sotto_core::contacts::Event::Message(Content {
                body: Body::Text(t),
                ..
            }) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// One person in a test of the session layer (`Profile::seal` / `open`, below the
/// conversation layer of `contacts`): a profile, the next sequence number to send and the
/// messages opened, in arrival order.
pub struct Party {
    pub name: &'static str,
    pub profile: Profile<MemoryStore>,
    pub next_sequence: u64,
    pub shown: Vec<Content>,
}

impl Party {
    pub fn new(name: &'static str) -> Self {
        let profile = block_on(Profile::create(
            MemoryStore::new(),
            Some(name.to_string()),
            now(),
            &mut rand::rng(),
        ))
        .expect("profile");
        Self {
            name,
            profile,
            next_sequence: 1,
            shown: Vec::new(),
        }
    }

    pub fn public(&self) -> PublicIdentity {
        self.profile.identity().public()
    }

    /// Starts a session with `other` from a fresh bundle of theirs.
    pub fn meet(&self, other: &Party) {
        let bundle = block_on(other.profile.prekey_bundle(&mut rand::rng())).expect("bundle");
        let peer = block_on(self.profile.start_session(&bundle, now(), &mut rand::rng()))
            .expect("session start");
        assert_eq!(peer, other.public());
    }

    pub fn text(&mut self, body: &str) -> Content {
        Content {
            id: MessageId::random(),
            sequence: self.take_sequence(),
            timestamp_ms: 1_790_000_000_000,
            body: Body::Text(body.to_string()),
        }
    }

    fn take_sequence(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence - 1
    }

    pub fn seal(&mut self, to: &PublicIdentity, content: &Content) -> Vec<u8> {
        block_on(self.profile.seal(to, content, now(), &mut rand::rng())).expect("seal")
    }

    pub fn open(&self, from: &PublicIdentity, packet: &[u8]) -> Result<Content, Error> {
        block_on(self.profile.open(from, packet, now(), &mut rand::rng()))
    }

    /// Delivers one packet: opens it and keeps it, unless the ratchet recognises a
    /// ciphertext it already decrypted.
    pub fn deliver(&mut self, from: &PublicIdentity, packet: &[u8]) -> Result<(), Error> {
        let content = match self.open(from, packet) {
            Ok(content) => content,
            // The ratchet recognises a ciphertext it already decrypted: a duplicate.
            Err(Error::Duplicate) => return Ok(()),
            Err(other) => return Err(other),
        };
        self.shown.push(content);
        Ok(())
    }
}
pub mod killed_writer;
pub mod qr_scan;
#[cfg(all(feature = "sqlcipher", not(target_arch = "wasm32")))]
pub mod sqlcipher_files;
pub mod store_contract;

/// Alice and Bob with a session both ways (Bob answered once).
pub fn pair() -> (Party, Party) {
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
