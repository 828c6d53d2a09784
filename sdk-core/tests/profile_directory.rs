//! A profile on disk (`ProfileDirectory`): created in keychain mode (the real Linux kernel
//! keyutils keychain) or passphrase mode, written through the conversation layer with real
//! messages, reopened; and every way opening can fail — a removed keychain entry, a missing
//! or wrong passphrase, a directory without a profile — is a typed error after which every
//! file in the directory is byte for byte what it was. Finally the whole directory (database,
//! write-ahead log, header, while open and after closing) is scanned for the texts, names
//! and keys the profiles hold: none appears.

#![cfg(all(feature = "sqlcipher", feature = "keychain", target_os = "linux"))]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::block_on;
use common::sqlcipher_files::{contains, sha256};
use sotto_core::contacts::{ContactId, Event};
use sotto_core::content::Body;
use sotto_core::store::{
    Argon2Params, KeyError, KeyMode, Keychain, KeychainStore, ProfileDirectory, Protection,
    SqlCipherStore, StoreError, unseal_with_passphrase,
};
use sotto_core::{Error, Profile};
use tempfile::TempDir;

fn now() -> SystemTime {
    common::now()
}

/// Cheap Argon2 parameters, so the tests spend their time on what they test.
fn fast() -> Argon2Params {
    Argon2Params::new(8 * 1024, 1, 1).unwrap()
}

fn keyutils() -> Keychain {
    Keychain::open(KeychainStore::Keyutils).expect("the kernel keyutils keychain")
}

fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("sotto-profile-")
        .tempdir()
        .expect("temporary directory")
}

/// Every file and folder under `root`, by relative path, with the SHA-256 of each file
/// (`None` for a folder). SQLite's `-shm` index is a cache it may rebuild at any time, so
/// like the file tests elsewhere it is left out.
fn directory_state(root: &Path) -> BTreeMap<PathBuf, Option<[u8; 32]>> {
    fn walk(root: &Path, dir: &Path, state: &mut BTreeMap<PathBuf, Option<[u8; 32]>>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                state.insert(relative, None);
                walk(root, &path, state);
            } else if !path.to_string_lossy().ends_with("-shm") {
                state.insert(relative, sha256(&path));
            }
        }
    }
    let mut state = BTreeMap::new();
    walk(root, root, &mut state);
    state
}

/// Every byte of every file under `root`, by path.
fn all_files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                files.push((path, bytes));
            }
        }
    }
    files
}

/// A person whose profile lives in a directory, and who deletes it (and its keychain entry)
/// when the test ends, passing or failing.
struct Person {
    directory: ProfileDirectory,
    profile: Option<Profile<SqlCipherStore>>,
    _dir: TempDir,
}

impl Person {
    fn create(protection: Protection<'_>, name: &str) -> Self {
        let dir = temp_dir();
        let directory = ProfileDirectory::new(dir.path().join("profile"));
        let store = directory
            .create(protection)
            .expect("create the profile directory");
        let profile = block_on(Profile::create(
            store,
            Some(name.to_owned()),
            now(),
            &mut rand::rng(),
        ))
        .expect("create the profile");
        Self {
            directory,
            profile: Some(profile),
            _dir: dir,
        }
    }

    fn profile(&mut self) -> &mut Profile<SqlCipherStore> {
        self.profile.as_mut().expect("the profile is open")
    }

    fn close(&mut self) {
        self.profile = None;
    }

    fn reopen(&mut self, passphrase: Option<&str>) {
        let store = self.directory.open(passphrase).expect("reopen");
        self.profile = Some(block_on(Profile::load(store)).expect("load the profile"));
    }
}

impl Drop for Person {
    fn drop(&mut self) {
        self.profile = None;
        let _ = self.directory.delete();
    }
}

/// Alice and Bob with a session from Alice's side, each the other's contact under a name.
fn meet(alice: &mut Person, bob: &mut Person) -> (ContactId, ContactId) {
    let mut rng = rand::rng();
    let bundle = block_on(bob.profile().prekey_bundle(&mut rng)).unwrap();
    block_on(alice.profile().start_session(&bundle, now(), &mut rng)).unwrap();
    let bob_public = bob.profile().identity().public();
    let alice_public = alice.profile().identity().public();
    let bob_at_alice = block_on(
        alice
            .profile()
            .add_contact(&bob_public, Some("Bob Marigold-Contact".into())),
    )
    .unwrap();
    let alice_at_bob = block_on(
        bob.profile()
            .add_contact(&alice_public, Some("Alice Juniper-Contact".into())),
    )
    .unwrap();
    (bob_at_alice, alice_at_bob)
}

/// Sends `text` from `from` to `to` and delivers it; returns the texts `to` was shown.
fn exchange(
    from: &mut Person,
    to_contact: &ContactId,
    to: &mut Person,
    from_contact: &ContactId,
    text: &str,
) -> Vec<String> {
    let mut rng = rand::rng();
    let out = block_on(
        from.profile()
            .send(to_contact, Body::Text(text.into()), now(), &mut rng),
    )
    .unwrap();
    let events = block_on(to.profile().receive(
        from_contact,
        &out.packet.expect("not held"),
        now(),
        &mut rng,
    ))
    .unwrap();
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(content) => match content.body {
                Body::Text(t) => Some(t),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn history_texts(person: &mut Person, contact: &ContactId) -> Vec<String> {
    let mut texts: Vec<String> = block_on(person.profile().history(contact, 100))
        .unwrap()
        .into_iter()
        .filter_map(|(_, _, content)| match content.body {
            Body::Text(t) => Some(t),
            _ => None,
        })
        .collect();
    texts.sort();
    texts
}

#[test]
fn a_keychain_profile_keeps_identity_contacts_and_history_across_a_reopen() {
    let keychain = keyutils();
    let mut alice = Person::create(Protection::Keychain(&keychain), "Alice");
    let mut bob = Person::create(
        Protection::Passphrase {
            passphrase: "correct horse battery staple",
            params: fast(),
        },
        "Bob",
    );
    let (bob_c, alice_c) = meet(&mut alice, &mut bob);
    for i in 0..5 {
        let text = format!("note {i} from alice");
        assert_eq!(
            exchange(&mut alice, &bob_c, &mut bob, &alice_c, &text),
            [text]
        );
    }
    let alice_identity = alice.profile().identity().public();
    let bob_identity = bob.profile().identity().public();
    let before = history_texts(&mut bob, &alice_c);

    alice.close();
    bob.close();
    assert!(alice.directory.exists() && bob.directory.exists());
    assert!(!alice.directory.key_info().unwrap().needs_passphrase());
    assert!(bob.directory.key_info().unwrap().needs_passphrase());
    alice.reopen(None);
    bob.reopen(Some("correct horse battery staple"));

    assert_eq!(alice.profile().identity().public(), alice_identity);
    assert_eq!(bob.profile().identity().public(), bob_identity);
    assert_eq!(history_texts(&mut bob, &alice_c), before);
    assert_eq!(history_texts(&mut alice, &bob_c).len(), 5);
    // The sessions survived too: the conversation goes on in both directions.
    assert_eq!(
        exchange(&mut bob, &alice_c, &mut alice, &bob_c, "reply after reopen"),
        ["reply after reopen"]
    );
    assert_eq!(
        exchange(&mut alice, &bob_c, &mut bob, &alice_c, "and again"),
        ["and again"]
    );
    assert!(alice.directory.attachments_dir().is_dir());
}

#[test]
fn a_removed_keychain_entry_is_a_typed_error_and_the_directory_is_unchanged() {
    let keychain = keyutils();
    let mut alice = Person::create(Protection::Keychain(&keychain), "Alice");
    let mut bob = Person::create(Protection::Keychain(&keychain), "Bob");
    let (bob_c, alice_c) = meet(&mut alice, &mut bob);
    exchange(
        &mut alice,
        &bob_c,
        &mut bob,
        &alice_c,
        "before the entry goes",
    );
    alice.close();

    let info = alice.directory.key_info().unwrap();
    let KeyMode::Keychain(entry) = info.mode() else {
        panic!("a keychain profile has a keychain header");
    };
    let saved_key = keychain.unseal(entry).unwrap();
    keychain.delete(entry).unwrap();
    let before = directory_state(alice.directory.root());

    for _ in 0..2 {
        match alice.directory.open(None) {
            Err(Error::Key(KeyError::KeychainEntryMissing {
                store: KeychainStore::Keyutils,
                service,
                account,
            })) => {
                assert_eq!(service, entry.service());
                assert_eq!(account, entry.account());
            }
            other => panic!("expected KeychainEntryMissing, got {other:?}"),
        }
        assert_eq!(directory_state(alice.directory.root()), before);
    }

    // A different key in the entry (another program wrote it) is a wrong key, and still
    // changes nothing.
    keychain
        .create_in_service(entry.service(), entry.account())
        .expect("a new entry under the same name");
    match alice.directory.open(None) {
        Err(Error::Store(StoreError::WrongKey)) => {}
        other => panic!("expected WrongKey, got {other:?}"),
    }
    assert_eq!(directory_state(alice.directory.root()), before);

    // With the original key back, the profile opens with everything in it.
    keychain.delete(entry).unwrap();
    put_key(entry.service(), entry.account(), saved_key.as_bytes());
    alice.reopen(None);
    assert_eq!(history_texts(&mut alice, &bob_c), ["before the entry goes"]);
}

/// Writes raw key bytes into a keyutils entry (as a restore from a backup would).
fn put_key(service: &str, account: &str, key: &[u8]) {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        linux_keyutils_keyring_store::Store::new().unwrap();
    // The first entry a thread builds searches the wrong keyring (see `Keychain`).
    let _ = keyring_core::Entry::new_in_store(&store, service, account);
    let entry = keyring_core::Entry::new_in_store(&store, service, account).unwrap();
    entry.set_secret(key).unwrap();
}

#[test]
fn a_missing_or_wrong_passphrase_is_a_typed_error_and_the_directory_is_unchanged() {
    let passphrase = "a long and private passphrase";
    let mut bob = Person::create(
        Protection::Passphrase {
            passphrase,
            params: fast(),
        },
        "Bob",
    );
    let mut alice = Person::create(
        Protection::Passphrase {
            passphrase: "alice's own",
            params: fast(),
        },
        "Alice",
    );
    let (bob_c, alice_c) = meet(&mut alice, &mut bob);
    exchange(
        &mut alice,
        &bob_c,
        &mut bob,
        &alice_c,
        "kept under a passphrase",
    );
    bob.close();
    let before = directory_state(bob.directory.root());

    type Expect = fn(&Error) -> bool;
    let attempts: [(Option<&str>, Expect); 4] = [
        (None, |e| {
            matches!(e, Error::Key(KeyError::PassphraseRequired))
        }),
        (Some(""), |e| {
            matches!(e, Error::Key(KeyError::EmptyPassphrase))
        }),
        (Some("a long and private passphrasf"), |e| {
            matches!(e, Error::Key(KeyError::WrongPassphrase))
        }),
        (Some("alice's own"), |e| {
            matches!(e, Error::Key(KeyError::WrongPassphrase))
        }),
    ];
    for (given, expected) in attempts {
        match bob.directory.open(given) {
            Err(e) if expected(&e) => {}
            other => panic!("passphrase {given:?}: unexpected {other:?}"),
        }
        assert_eq!(
            directory_state(bob.directory.root()),
            before,
            "passphrase {given:?} changed the directory"
        );
    }
    bob.reopen(Some(passphrase));
    assert_eq!(
        history_texts(&mut bob, &alice_c),
        ["kept under a passphrase"]
    );
}

#[test]
fn a_tampered_key_header_opens_nothing_and_changes_nothing() {
    let passphrase = "the passphrase";
    let mut bob = Person::create(
        Protection::Passphrase {
            passphrase,
            params: fast(),
        },
        "Bob",
    );
    bob.close();
    let header = bob.directory.key_header_path();
    let original = std::fs::read(&header).unwrap();

    // Another salt: the passphrase now derives another key, which the database refuses.
    let text = String::from_utf8(original.clone()).unwrap();
    let salt_start = text.find("\"salt\"").unwrap();
    let value_start = salt_start + text[salt_start..].find(": \"").unwrap() + 3;
    let mut tampered = text.into_bytes();
    tampered[value_start] = if tampered[value_start] == b'A' {
        b'B'
    } else {
        b'A'
    };
    std::fs::write(&header, &tampered).unwrap();
    let before = directory_state(bob.directory.root());
    match bob.directory.open(Some(passphrase)) {
        Err(Error::Key(KeyError::WrongPassphrase)) => {}
        // A changed first character can also make the salt non-canonical base64.
        Err(Error::Key(KeyError::SaltNotBase64)) => {}
        other => panic!("expected a wrong passphrase, got {other:?}"),
    }
    assert_eq!(directory_state(bob.directory.root()), before);

    // Garbage instead of a header: a typed header error.
    std::fs::write(&header, b"{\"version\": 1, \"mode\": ").unwrap();
    let before = directory_state(bob.directory.root());
    match bob.directory.open(Some(passphrase)) {
        Err(Error::Key(KeyError::HeaderNotJson { .. })) => {}
        other => panic!("expected HeaderNotJson, got {other:?}"),
    }
    assert_eq!(directory_state(bob.directory.root()), before);

    std::fs::write(&header, &original).unwrap();
    bob.reopen(Some(passphrase));
}

#[test]
fn creating_never_overwrites_and_opening_never_creates() {
    let dir = temp_dir();
    let keychain = keyutils();

    // Opening: no directory, an empty directory.
    let missing = ProfileDirectory::new(dir.path().join("nothing-here"));
    assert!(matches!(
        missing.open(None),
        Err(Error::Store(StoreError::NotFound { .. }))
    ));
    assert!(!missing.root().exists(), "opening created the directory");
    let empty = ProfileDirectory::new(dir.path().join("empty"));
    std::fs::create_dir(empty.root()).unwrap();
    assert!(matches!(
        empty.open(None),
        Err(Error::Store(StoreError::NotFound { .. }))
    ));
    assert_eq!(directory_state(empty.root()), BTreeMap::new());

    // Creating: over a folder with someone else's file, over an existing profile.
    let occupied = ProfileDirectory::new(dir.path().join("occupied"));
    std::fs::create_dir(occupied.root()).unwrap();
    std::fs::write(occupied.root().join("notes.txt"), b"not ours").unwrap();
    let before = directory_state(occupied.root());
    assert!(matches!(
        occupied.create(Protection::Keychain(&keychain)),
        Err(Error::Store(StoreError::AlreadyExists { .. }))
    ));
    assert_eq!(directory_state(occupied.root()), before);

    let mut bob = Person::create(Protection::Keychain(&keychain), "Bob");
    bob.close();
    let before = directory_state(bob.directory.root());
    assert!(matches!(
        bob.directory.create(Protection::Passphrase {
            passphrase: "x",
            params: fast()
        }),
        Err(Error::Store(StoreError::AlreadyExists { .. }))
    ));
    assert_eq!(directory_state(bob.directory.root()), before);
    bob.reopen(None);

    // An empty directory is accepted; a failed creation leaves it empty.
    assert!(matches!(
        empty.create(Protection::Passphrase {
            passphrase: "",
            params: fast()
        }),
        Err(Error::Key(KeyError::EmptyPassphrase))
    ));
    assert_eq!(directory_state(empty.root()), BTreeMap::new());
    let fresh = ProfileDirectory::new(dir.path().join("fresh"));
    assert!(
        fresh
            .create(Protection::Passphrase {
                passphrase: "",
                params: fast()
            })
            .is_err()
    );
    assert!(
        !fresh.root().exists(),
        "a failed creation left its directory behind"
    );
    drop(
        empty
            .create(Protection::Passphrase {
                passphrase: "ok",
                params: fast(),
            })
            .unwrap(),
    );
    assert!(empty.exists());
    empty.delete().unwrap();
}

#[test]
fn a_profile_directory_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let keychain = keyutils();
    let bob = Person::create(Protection::Keychain(&keychain), "Bob");
    for (path, mode) in [
        (bob.directory.root().to_path_buf(), 0o700),
        (bob.directory.attachments_dir(), 0o700),
        (bob.directory.key_header_path(), 0o600),
        (bob.directory.database_path(), 0o600),
    ] {
        let actual = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(actual, mode, "{}", path.display());
    }
}

#[test]
fn an_open_profile_is_refused_to_a_second_user_until_it_is_closed() {
    let root = temp_dir();
    let directory = ProfileDirectory::new(root.path().join("profile"));
    let protection = || Protection::Passphrase {
        passphrase: "correct horse",
        params: fast(),
    };
    let store = directory.create(protection()).unwrap();
    let before = directory_state(directory.root());
    let in_use = |result: Result<SqlCipherStore, Error>| {
        matches!(result, Err(Error::Store(StoreError::InUse { ref path }))
            if path.starts_with(root.path()))
    };
    // Opening (even with the right passphrase), creating anew and deleting are all refused
    // while the store is open, and none of them touches a file.
    assert!(in_use(directory.open(Some("correct horse"))));
    assert!(in_use(directory.open(None)));
    assert!(matches!(
        directory.delete(),
        Err(Error::Store(StoreError::InUse { .. }))
    ));
    assert_eq!(directory_state(directory.root()), before);
    assert!(directory.exists());

    // Closed, the profile opens again, and the reopened store holds the lock in turn.
    drop(store);
    let reopened = directory.open(Some("correct horse")).unwrap();
    assert!(in_use(directory.open(Some("correct horse"))));
    drop(reopened);
    directory.open(Some("correct horse")).unwrap();

    // An empty directory being created into is held too.
    let fresh = ProfileDirectory::new(root.path().join("fresh"));
    let made = fresh.create(protection()).unwrap();
    assert!(in_use(fresh.open(Some("correct horse"))));
    drop(made);
}

#[test]
fn deleting_a_profile_removes_its_key_and_files_and_nothing_else() {
    let keychain = keyutils();
    let mut bob = Person::create(Protection::Keychain(&keychain), "Bob");
    bob.close();
    let KeyMode::Keychain(entry) = bob.directory.key_info().unwrap().mode().clone() else {
        panic!("keychain mode");
    };
    bob.directory.delete().unwrap();
    assert!(!bob.directory.root().exists());
    assert!(matches!(
        keychain.unseal(&entry),
        Err(KeyError::KeychainEntryMissing { .. })
    ));
    // Repeating a deletion is harmless.
    bob.directory.delete().unwrap();

    // A file the user put there survives, and so does the folder holding it.
    let mut carol = Person::create(Protection::Keychain(&keychain), "Carol");
    carol.close();
    std::fs::write(carol.directory.root().join("mine.txt"), b"keep").unwrap();
    carol.directory.delete().unwrap();
    assert_eq!(
        std::fs::read(carol.directory.root().join("mine.txt")).unwrap(),
        b"keep"
    );
    assert!(!carol.directory.exists());
}

#[test]
fn no_text_name_or_key_appears_in_any_file_of_a_profile_directory() {
    let keychain = keyutils();
    let bob_passphrase = "Bob's passphrase, never written down";
    let mut alice = Person::create(Protection::Keychain(&keychain), "AliceDisplayNameQuokka");
    let mut bob = Person::create(
        Protection::Passphrase {
            passphrase: bob_passphrase,
            params: fast(),
        },
        "BobDisplayNameAxolotl",
    );
    let (bob_c, alice_c) = meet(&mut alice, &mut bob);
    let mut texts = Vec::new();
    for i in 0..40 {
        let text = format!("secret plan number {i}: meet at the old lighthouse");
        exchange(&mut alice, &bob_c, &mut bob, &alice_c, &text);
        texts.push(text);
        let reply = format!("reply {i}: bring the blue umbrella");
        exchange(&mut bob, &alice_c, &mut alice, &bob_c, &reply);
        texts.push(reply);
    }

    let mut secrets: Vec<(String, Vec<u8>)> = Vec::new();
    for text in &texts {
        secrets.push((format!("text {text:?}"), text.as_bytes().to_vec()));
    }
    for name in [
        "AliceDisplayNameQuokka",
        "BobDisplayNameAxolotl",
        "Bob Marigold-Contact",
        "Alice Juniper-Contact",
        bob_passphrase,
    ] {
        secrets.push((format!("name {name:?}"), name.as_bytes().to_vec()));
    }
    for person in [&mut alice, &mut bob] {
        let identity = person.profile().identity();
        let key_pair = identity.key_pair();
        let public = key_pair.identity_key().serialize().to_vec();
        secrets.push(("identity key (33 bytes)".into(), public.clone()));
        secrets.push(("identity key (32 bytes)".into(), public[1..].to_vec()));
        secrets.push((
            "identity private key".into(),
            key_pair.private_key().serialize().to_vec(),
        ));
        secrets.push((
            "identity text form".into(),
            identity.public().to_string().into_bytes(),
        ));
    }
    let KeyMode::Keychain(entry) = alice.directory.key_info().unwrap().mode().clone() else {
        panic!("keychain mode");
    };
    secrets.push((
        "Alice's database key".into(),
        keychain.unseal(&entry).unwrap().as_bytes().to_vec(),
    ));
    let KeyMode::Passphrase(kdf) = bob.directory.key_info().unwrap().mode().clone() else {
        panic!("passphrase mode");
    };
    secrets.push((
        "Bob's database key".into(),
        unseal_with_passphrase(&kdf, bob_passphrase)
            .unwrap()
            .as_bytes()
            .to_vec(),
    ));

    let scan = |when: &str, people: [&Person; 2]| {
        let mut scanned = 0;
        for person in people {
            for (path, bytes) in all_files(person.directory.root()) {
                scanned += bytes.len();
                for (what, secret) in &secrets {
                    assert!(
                        !contains(&bytes, secret),
                        "{when}: {what} found in {}",
                        path.display()
                    );
                }
            }
        }
        scanned
    };
    // While open: the write-ahead log holds the recent pages.
    let wal = common::sqlcipher_files::sidecar(&alice.directory.database_path(), "-wal");
    assert!(wal.exists(), "the store runs in WAL mode");
    let open_bytes = scan("open", [&alice, &bob]);
    alice.close();
    bob.close();
    let closed_bytes = scan("closed", [&alice, &bob]);
    assert!(open_bytes > 0 && closed_bytes > 0);
}

/// The platform default (Secret Service on Linux) where one runs: `scripts/test` starts a
/// throwaway one and sets `SOTTO_EXPECT_SECRET_SERVICE`, and then this must run.
#[test]
fn a_profile_in_the_platform_keychain_reopens_where_one_is_running() {
    let expected =
        std::env::var("SOTTO_EXPECT_SECRET_SERVICE").is_ok_and(|v| !v.is_empty() && v != "0");
    let keychain = match Keychain::platform() {
        Ok(keychain) => keychain,
        Err(e) => {
            assert!(!expected, "a Secret Service should be running: {e}");
            println!("a_profile_in_the_platform_keychain_reopens: NOT RUN: {e}");
            return;
        }
    };
    assert!(keychain.survives_reboot());
    let mut alice = Person::create(Protection::Keychain(&keychain), "Alice");
    let identity = alice.profile().identity().public();
    alice.close();
    let KeyMode::Keychain(entry) = alice.directory.key_info().unwrap().mode().clone() else {
        panic!("keychain mode");
    };
    assert_eq!(entry.store(), KeychainStore::SecretService);
    alice.reopen(None);
    assert_eq!(alice.profile().identity().public(), identity);
    alice.close();
    alice.directory.delete().unwrap();
    assert!(matches!(
        keychain.unseal(&entry),
        Err(KeyError::KeychainEntryMissing { .. })
    ));
}
