//! The work the Chromium-against-native benchmarks time (`wasm/bench/kernels.bench.mjs`),
//! the same code on both sides: built with the `bench` feature into a WebAssembly module of
//! its own (never into the npm package) and into the native `sotto-kernels` program. Each
//! kernel prepares outside the timed part and does only the measured work in `run`.
//!
//! - [`SendPath`]: the send path, `Profile::seal` then `Profile::open`, alternating sender
//!   (the ratchet turns on every message), as `sdk-core/benches/send_path.rs` measures it.
//! - [`attachment_round_trip`]: an attachment encrypted and decrypted in memory.
//! - [`StorePath`]: received messages stored through `Store::apply`, one change set each
//!   (a session, the message, the contact), in SQLCipher: a file natively, OPFS in Chromium.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sotto_core::attachment::{ChunkSize, decrypt, encrypt};
use sotto_core::content::Content;
use sotto_core::store::{
    ChangeSet, ContactRecord, DatabaseKey, MemoryStore, MessageDirection, MessageRecord,
    MessageStatus, SqlCipherStore, Store,
};
use sotto_core::{Profile, PublicIdentity};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

fn fail(what: &str, error: impl std::fmt::Display) -> String {
    format!("{what}: {error}")
}

/// Two in-memory profiles with a session, exchanging texts.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
pub struct SendPath {
    alice: Profile<MemoryStore>,
    bob: Profile<MemoryStore>,
    alice_id: PublicIdentity,
    bob_id: PublicIdentity,
    sequence: u64,
}

impl SendPath {
    /// Two profiles, Alice with a session to Bob (PQXDH from his prekey bundle).
    pub async fn prepare() -> Result<SendPath, String> {
        let mut rng = rand::rng();
        let alice = Profile::create(MemoryStore::new(), None, now(), &mut rng)
            .await
            .map_err(|e| fail("profile", e))?;
        let bob = Profile::create(MemoryStore::new(), None, now(), &mut rng)
            .await
            .map_err(|e| fail("profile", e))?;
        let bundle = bob
            .prekey_bundle(&mut rng)
            .await
            .map_err(|e| fail("bundle", e))?;
        let bob_id = alice
            .start_session(&bundle, now(), &mut rng)
            .await
            .map_err(|e| fail("session", e))?;
        Ok(SendPath {
            alice_id: alice.identity().public(),
            alice,
            bob,
            bob_id,
            sequence: 0,
        })
    }

    /// Seals and opens `messages` texts, the sender alternating.
    pub async fn exchange(&mut self, messages: u32) -> Result<(), String> {
        let mut rng = rand::rng();
        for i in 0..messages {
            self.sequence += 1;
            let text = format!("message number {i}: the quick brown fox jumps over the lazy dog");
            let content = Content::text(self.sequence, 1_790_000_000_000, text.as_str());
            // Alice holds the session, so she writes first.
            let (from, to, to_id, from_id) = if self.sequence % 2 == 1 {
                (&mut self.alice, &self.bob, &self.bob_id, &self.alice_id)
            } else {
                (&mut self.bob, &self.alice, &self.alice_id, &self.bob_id)
            };
            let packet = from
                .seal(to_id, &content, now(), &mut rng)
                .await
                .map_err(|e| fail("seal", e))?;
            let opened = to
                .open(from_id, &packet, now(), &mut rng)
                .await
                .map_err(|e| fail("open", e))?;
            if opened.id != content.id {
                return Err("a message opened as another".into());
            }
        }
        Ok(())
    }
}

/// Encrypts `size` bytes as an attachment and decrypts them again, in memory; checks the
/// round trip.
pub fn attachment_round_trip(plaintext: &[u8]) -> Result<(), String> {
    let mut ciphertext = Vec::with_capacity(plaintext.len() + plaintext.len() / 4096 + 4096);
    let pointer = encrypt(plaintext, &mut ciphertext, ChunkSize::STANDARD, &mut |_| {})
        .map_err(|e| fail("encrypt", e))?;
    let mut opened = Vec::with_capacity(plaintext.len());
    decrypt(&ciphertext[..], &mut opened, &pointer, &mut |_| {}).map_err(|e| fail("decrypt", e))?;
    if opened != plaintext {
        return Err("the attachment came back different".into());
    }
    Ok(())
}

/// Contacts of the store kernel's profile.
const CONTACTS: usize = 20;

/// A store with twenty contacts and their sessions, receiving messages.
#[cfg_attr(target_arch = "wasm32", wasm_bindgen)]
pub struct StorePath {
    store: SqlCipherStore,
    contacts: Vec<(String, String)>,
    received: u64,
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn contact_record(id: &str, shown_through: u64) -> ContactRecord {
    ContactRecord {
        id: id.to_owned(),
        identity_key: pseudo_random(33, 7),
        display_name: None,
        verified: false,
        pending_identity_key: None,
        last_sent_sequence: 0,
        shown_through,
        awaiting_reply: false,
    }
}

impl StorePath {
    /// A new store at `path` (which must not exist) with the contacts and a session each.
    pub async fn prepare(path: &str) -> Result<StorePath, String> {
        let key = DatabaseKey::from_bytes([7; 32]);
        let store = SqlCipherStore::create(path, &key).map_err(|e| fail("create", e))?;
        let contacts: Vec<(String, String)> = (0..CONTACTS)
            .map(|i| (format!("{i:032x}"), format!("{i:066x}.1")))
            .collect();
        let mut changes = ChangeSet::default();
        for (id, address) in &contacts {
            changes.contacts.insert(id.clone(), contact_record(id, 0));
            changes
                .sessions
                .insert(address.clone(), pseudo_random(2560, 1));
        }
        store.apply(changes).await.map_err(|e| fail("seed", e))?;
        Ok(StorePath {
            store,
            contacts,
            received: 0,
        })
    }

    /// Stores `messages` received messages, each with its session and contact update.
    pub async fn receive(&mut self, messages: u32) -> Result<(), String> {
        for _ in 0..messages {
            self.received += 1;
            let n = self.received;
            let (id, address) = &self.contacts[(n as usize) % CONTACTS];
            let sequence = n / CONTACTS as u64 + 1;
            let mut message_id = [0u8; 16];
            message_id[..8].copy_from_slice(&n.to_be_bytes());
            let mut changes = ChangeSet::default();
            changes
                .sessions
                .insert(address.clone(), pseudo_random(2560, n));
            changes.put_message(MessageRecord {
                contact: id.clone(),
                direction: MessageDirection::Incoming,
                id: message_id,
                sequence,
                at_ms: 1_790_000_000_000 + n,
                frame: pseudo_random(200, n),
                status: MessageStatus::Shown,
                deleted: false,
            });
            changes
                .contacts
                .insert(id.clone(), contact_record(id, sequence));
            self.store
                .apply(changes)
                .await
                .map_err(|e| fail("apply", e))?;
        }
        Ok(())
    }
}

/// The kernels as JavaScript calls them (the bench's worker).
#[cfg(target_arch = "wasm32")]
mod exports {
    use wasm_bindgen::prelude::*;

    use super::{SendPath, StorePath};

    fn js(error: String) -> JsValue {
        js_sys::Error::new(&error).into()
    }

    #[wasm_bindgen]
    impl SendPath {
        /// Two profiles with a session.
        #[wasm_bindgen(js_name = prepare)]
        pub async fn prepare_js() -> Result<SendPath, JsValue> {
            SendPath::prepare().await.map_err(js)
        }

        /// Seals and opens `messages` texts.
        #[wasm_bindgen(js_name = exchange)]
        pub async fn exchange_js(&mut self, messages: u32) -> Result<(), JsValue> {
            self.exchange(messages).await.map_err(js)
        }
    }

    #[wasm_bindgen]
    impl StorePath {
        /// A store in OPFS (folder `sotto-bench`) at `path`.
        #[wasm_bindgen(js_name = prepare)]
        pub async fn prepare_js(path: String) -> Result<StorePath, JsValue> {
            sotto_core::store::SqlCipherStore::use_origin_private_file_system("sotto-bench", 8)
                .await
                .map_err(|e| js(e.to_string()))?;
            StorePath::prepare(&path).await.map_err(js)
        }

        /// Stores `messages` received messages.
        #[wasm_bindgen(js_name = receive)]
        pub async fn receive_js(&mut self, messages: u32) -> Result<(), JsValue> {
            self.receive(messages).await.map_err(js)
        }
    }

    /// Encrypts and decrypts `plaintext` as an attachment.
    #[wasm_bindgen(js_name = attachmentRoundTrip)]
    pub fn attachment_round_trip(plaintext: &[u8]) -> Result<(), JsValue> {
        super::attachment_round_trip(plaintext).map_err(js)
    }
}
