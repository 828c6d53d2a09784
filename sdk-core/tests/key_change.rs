//! Changing how a profile's database key is protected (`ProfileDirectory::change_protection`):
//! a new passphrase, or a move from the real keyutils keychain to a passphrase and back. The
//! identity, contacts and history stay; afterwards only the new way in opens the profile and
//! the old keychain entry is gone. A process changing the protection over and over is killed
//! with SIGKILL at random moments: each time the profile opens with the last protection it
//! reported or the one it was making, never with another, and holds everything.

#![cfg(all(feature = "sqlcipher", feature = "keychain", target_os = "linux"))]

mod common;

use std::io::Write;

use common::{block_on, killed_writer, now};
use sotto_core::contacts::ContactId;
use sotto_core::content::Body;
use sotto_core::store::{
    Argon2Params, ChangeSet, KeyError, KeyMode, Keychain, KeychainStore, MemoryStore,
    MessageDirection, MessageRecord, MessageStatus, ProfileDirectory, Protection, SqlCipherStore,
    Store,
};
use sotto_core::{Error, Profile, PublicIdentity};

const WRITER_ENV: &str = "SOTTO_KEY_CHANGE_WRITER";
/// Changes one writer run would make if nobody stopped it.
const CHANGES_PER_RUN: u32 = 10_000;
const RUNS: usize = 6;
/// About how long one change takes in a debug build (Argon2 with the cheap parameters,
/// the re-encryption of the bulk, the renames): the kill lands anywhere inside it.
const CHANGE_TIME: std::time::Duration = std::time::Duration::from_millis(180);

/// Cheap Argon2 parameters, so the tests spend their time on what they test.
fn fast() -> Argon2Params {
    Argon2Params::new(8 * 1024, 1, 1).unwrap()
}

fn keyutils() -> Keychain {
    Keychain::open(KeychainStore::Keyutils).expect("the kernel keyutils keychain")
}

/// The protection of step `n` of the crash test: every third step moves the key into the
/// keychain, the others choose a new passphrase.
fn credential(n: u32) -> Option<String> {
    (!n.is_multiple_of(3)).then(|| format!("passphrase number {n}"))
}

fn protect<T>(
    keychain: &Keychain,
    passphrase: Option<&str>,
    f: impl FnOnce(Protection<'_>) -> T,
) -> T {
    match passphrase {
        None => f(Protection::Keychain(keychain)),
        Some(passphrase) => f(Protection::Passphrase {
            passphrase,
            params: fast(),
        }),
    }
}

/// A profile on disk that Bob (in memory) wrote to: its identity, Bob as a contact, and
/// five texts from him.
struct Alice {
    directory: ProfileDirectory,
    identity: PublicIdentity,
    bob: ContactId,
    _temp: tempfile::TempDir,
}

impl Drop for Alice {
    fn drop(&mut self) {
        let _ = self.directory.delete();
    }
}

fn texts() -> Vec<String> {
    (0..5).map(|i| format!("note {i} from bob")).collect()
}

fn alice_with_history(protection: Protection<'_>) -> Alice {
    let temp = tempfile::Builder::new()
        .prefix("sotto-key-change-")
        .tempdir()
        .unwrap();
    let directory = ProfileDirectory::new(temp.path().join("alice"));
    let mut rng = rand::rng();
    let store = directory.create(protection).unwrap();
    let alice = block_on(Profile::create(
        store,
        Some("Alice".into()),
        now(),
        &mut rng,
    ))
    .unwrap();
    let mut bob = block_on(Profile::create(MemoryStore::new(), None, now(), &mut rng)).unwrap();
    let bundle = block_on(alice.prekey_bundle(&mut rng)).unwrap();
    block_on(bob.start_session(&bundle, now(), &mut rng)).unwrap();
    let alice_at_bob = block_on(bob.add_contact(&alice.identity().public(), None)).unwrap();
    let bob_at_alice = block_on(alice.add_contact(&bob.identity().public(), None)).unwrap();
    for text in texts() {
        let out = block_on(bob.send(&alice_at_bob, Body::Text(text), now(), &mut rng)).unwrap();
        block_on(alice.receive(&bob_at_alice, &out.packet.unwrap(), now(), &mut rng)).unwrap();
    }
    // Bulk (a conversation with nobody, 4 MiB), so that re-encrypting takes a while and the
    // kills below land inside it too.
    let mut bulk = ChangeSet::default();
    for n in 0..4096u32 {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&n.to_be_bytes());
        bulk.put_message(MessageRecord {
            contact: "bulk".into(),
            direction: MessageDirection::Incoming,
            id,
            sequence: u64::from(n),
            at_ms: u64::from(n),
            frame: vec![0x5a; 1024],
            status: MessageStatus::Shown,
            deleted: false,
        });
    }
    block_on(alice.store().apply(bulk)).unwrap();
    Alice {
        directory,
        identity: alice.identity().public(),
        bob: bob_at_alice,
        _temp: temp,
    }
}

/// Opens Alice's profile and checks that everything is in it.
fn assert_whole(alice: &Alice, passphrase: Option<&str>) {
    let store = alice.directory.open(passphrase).expect("open");
    store.integrity_check().expect("integrity");
    let profile = block_on(Profile::load(store)).expect("load");
    assert_eq!(profile.identity().public(), alice.identity);
    let mut shown: Vec<String> = block_on(profile.history(&alice.bob, 100))
        .unwrap()
        .into_iter()
        .filter_map(|(_, _, content)| match content.body {
            Body::Text(text) => Some(text),
            _ => None,
        })
        .collect();
    shown.reverse();
    assert_eq!(shown, texts());
}

fn change(alice: &Alice, opened_with: Option<&str>, protection: Protection<'_>) {
    let store = alice.directory.open(opened_with).expect("open");
    alice
        .directory
        .change_protection(&store, protection)
        .expect("change the protection");
}

fn keychain_entry(directory: &ProfileDirectory) -> sotto_core::store::KeychainEntry {
    match directory.key_info().unwrap().mode() {
        KeyMode::Keychain(entry) => entry.clone(),
        KeyMode::Passphrase(_) => panic!("not in keychain mode"),
    }
}

#[test]
fn the_protection_changes_both_ways_and_keeps_everything() {
    let keychain = keyutils();
    let alice = alice_with_history(Protection::Keychain(&keychain));
    let first_entry = keychain_entry(&alice.directory);

    // From the keychain to a passphrase: the old entry is deleted.
    change(
        &alice,
        None,
        Protection::Passphrase {
            passphrase: "first passphrase",
            params: fast(),
        },
    );
    assert!(alice.directory.key_info().unwrap().needs_passphrase());
    assert!(matches!(
        keychain.unseal(&first_entry),
        Err(KeyError::KeychainEntryMissing { .. })
    ));
    assert!(matches!(
        alice.directory.open(None),
        Err(Error::Key(KeyError::PassphraseRequired))
    ));
    assert_whole(&alice, Some("first passphrase"));

    // A new passphrase: the old one no longer opens the profile.
    change(
        &alice,
        Some("first passphrase"),
        Protection::Passphrase {
            passphrase: "second passphrase",
            params: fast(),
        },
    );
    assert!(matches!(
        alice.directory.open(Some("first passphrase")),
        Err(Error::Key(KeyError::WrongPassphrase))
    ));
    assert_whole(&alice, Some("second passphrase"));

    // Back into the keychain, under a new entry.
    change(
        &alice,
        Some("second passphrase"),
        Protection::Keychain(&keychain),
    );
    assert!(!alice.directory.key_info().unwrap().needs_passphrase());
    assert_ne!(keychain_entry(&alice.directory), first_entry);
    assert_whole(&alice, None);
    let names: Vec<_> = std::fs::read_dir(alice.directory.root())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|name| !name.contains(".next")),
        "no pending header is left: {names:?}"
    );
}

#[test]
fn a_store_of_another_directory_is_refused_and_nothing_changes() {
    let keychain = keyutils();
    let alice = alice_with_history(Protection::Keychain(&keychain));
    let other = alice_with_history(Protection::Keychain(&keychain));
    let store = other.directory.open(None).unwrap();
    let err = alice
        .directory
        .change_protection(
            &store,
            Protection::Passphrase {
                passphrase: "never used",
                params: fast(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    drop(store);
    assert_whole(&alice, None);
    assert_whole(&other, None);
}

/// The writer's side: opens the profile with the protection of step `first - 1`, then
/// changes it to step `first`, `first + 1`, ... and prints `ack <n>` after each change
/// returned. Does nothing unless the parent test started this process.
#[test]
fn key_change_writer() {
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let (dir, first) = spec.split_once('|').expect("spec is dir|first");
    let first: u32 = first.parse().expect("first step");
    let keychain = keyutils();
    let directory = ProfileDirectory::new(dir);
    let store: SqlCipherStore = directory
        .open(credential(first - 1).as_deref())
        .expect("the writer opens the profile");
    let mut out = std::io::stdout().lock();
    // Ends libtest's "test key_change_writer ... " line, so every ack starts a line.
    writeln!(out).expect("stdout");
    for n in first..first + CHANGES_PER_RUN {
        protect(&keychain, credential(n).as_deref(), |protection| {
            directory.change_protection(&store, protection)
        })
        .expect("change the protection");
        writeln!(out, "ack {n}").expect("stdout");
        out.flush().expect("stdout");
    }
}

#[test]
fn a_process_killed_while_changing_the_key_leaves_a_profile_that_opens() {
    let keychain = keyutils();
    let alice = protect(&keychain, credential(0).as_deref(), alice_with_history);
    let mut done = 0;
    for run in 0..RUNS {
        let kill_after = 2 + (rand::random::<u32>() % 4) as usize;
        let log = alice._temp.path().join(format!("writer-{run}.log"));
        let spec = format!("{}|{}", alice.directory.root().display(), done + 1);
        let acked = killed_writer::run_and_kill_with_jitter(
            "key_change_writer",
            WRITER_ENV,
            &spec,
            kill_after,
            CHANGE_TIME,
            &log,
        );
        done = acked
            .last()
            .expect("acknowledged changes")
            .parse()
            .expect("ack n");
        // The change in flight may or may not have happened. What is in force is the step
        // whose protection opens the profile with a header of that step's kind (a
        // keychain header ignores any passphrase given; two steps in a row are never both
        // keychain steps).
        let in_force = |n: u32| {
            alice.directory.open(credential(n).as_deref()).is_ok()
                && alice.directory.key_info().unwrap().needs_passphrase() == credential(n).is_some()
        };
        let in_flight = done + 1;
        if in_force(in_flight) {
            done = in_flight;
        } else {
            assert!(
                in_force(done),
                "run {run}: neither step {done} nor {in_flight} opens"
            );
        }
        assert!(
            !alice.directory.root().join("key.json.next").exists(),
            "run {run}: opening settled the change"
        );
        if credential(done).is_some() {
            assert!(matches!(
                alice.directory.open(None),
                Err(Error::Key(KeyError::PassphraseRequired))
            ));
            for stale in (1..done).filter_map(credential) {
                assert!(
                    matches!(
                        alice.directory.open(Some(&stale)),
                        Err(Error::Key(KeyError::WrongPassphrase))
                    ),
                    "run {run}: {stale:?} of an earlier step still opens the profile"
                );
            }
        }
        assert_whole(&alice, credential(done).as_deref());
    }
}
