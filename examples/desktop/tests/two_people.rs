//! Two desktop apps, each on its own profile directory, driven headless through AccessKit
//! (egui_kittest) as a person would use them, talk through three real relay processes:
//! they meet by a QR code saved as an image (also read by Debian's `zbarimg`), exchange
//! text, a picture, a file and a voice clip (recorded from speech made by `espeak-ng`, the
//! clip accepted by `opusinfo`), see delivered and read statuses, compare safety numbers
//! by QR image and by typing and mark each other verified (a file dropped on a window is sent
//! too), change a passphrase, and find
//! everything again after a restart (the old passphrase refused first); when a contact's
//! identity key changes, the app shows the banner until the new key is accepted.
//!
//! Needs the relay binary built next to this test (`cargo build -p sotto-relay`), and
//! `zbarimg`, `espeak-ng`, `sox` and `opusinfo` (scripts/setup installs them).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use sotto_core::Profile;
use sotto_core::contacts::{ContactId, Event as ContactEvent};
use sotto_core::content::Body;
use sotto_core::store::{Argon2Params, MemoryStore, ProfileDirectory};
use sotto_desktop::audio::RecordingOutput;
use sotto_desktop::platform::{RecordingNotifier, ScriptedFilePicker, WavVoiceInput};
use sotto_desktop::session::Dialog;
use sotto_desktop::{Options, SottoApp};

/// A file dropped on the window, as the windowing system hands it over.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// A relay process on loopback, killed on drop.
struct Relay {
    child: Child,
    address: String,
}

impl Relay {
    fn start(dir: &Path) -> Self {
        let binary = std::env::current_exe()
            .expect("the test's path")
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .join("sotto-relay");
        assert!(
            binary.exists(),
            "{} is missing: cargo build -p sotto-relay",
            binary.display()
        );
        std::fs::create_dir_all(dir).unwrap();
        let mut child = Command::new(binary)
            .arg("--data-dir")
            .arg(dir)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--operator-listen",
                "127.0.0.1:0",
                "--log-level",
                "warn",
                "--allow-private-hops",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the relay starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .split_whitespace()
            .find(|w| w.starts_with("sotto://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Self { child, address }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One person: an app in a headless harness, with the files they pick.
struct Person {
    harness: Harness<'static, SottoApp>,
    files: ScriptedFilePicker,
    notes: RecordingNotifier,
    speakers: RecordingOutput,
}

fn app(profile: &Path, voice: &Path) -> Person {
    let files = ScriptedFilePicker::default();
    let notes = RecordingNotifier::default();
    let speakers = RecordingOutput::default();
    let options = Options {
        profile: ProfileDirectory::new(profile),
        default_relays: Vec::new(),
        files: Box::new(files.clone()),
        voice: Box::new(WavVoiceInput::new(voice)),
        speakers: Box::new(speakers.clone()),
        notifier: Box::new(notes.clone()),
        argon2: Argon2Params::new(8 * 1024, 1, 1).unwrap(),
        keychain: None,
    };
    let harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 700.0))
        .build_eframe(move |creation| SottoApp::new(&creation.egui_ctx, options));
    Person {
        harness,
        files,
        notes,
        speakers,
    }
}

impl Person {
    /// Steps the app until `done` holds (the network works in the background).
    fn wait_for(&mut self, what: &str, done: impl Fn(&Harness<'static, SottoApp>) -> bool) {
        let start = Instant::now();
        while !done(&self.harness) {
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "waited 90 s for {what}; notices: {:?}; buttons: {:?}",
                self.notices(),
                self.harness
                    .query_all_by_role(Role::Button)
                    .map(|n| n.accesskit_node().label())
                    .collect::<Vec<_>>()
            );
            self.harness.step();
            std::thread::sleep(Duration::from_millis(30));
        }
        self.harness.step();
    }

    fn wait_for_label(&mut self, label: &str) {
        self.wait_for(label, |h| {
            h.query_all_by_label_contains(label).next().is_some()
        });
    }

    /// Waits for a message's bubble (its text exactly; the contacts list shows it too, in
    /// a longer label). Until it is in the conversation the app has not seen it, nor sent
    /// its read receipt.
    fn wait_for_message(&mut self, text: &str) {
        self.wait_for(text, |h| h.query_all_by_label(text).next().is_some());
    }

    fn notices(&self) -> Vec<String> {
        self.harness
            .state()
            .session()
            .map(|s| s.notices.iter().map(|n| n.text.clone()).collect())
            .unwrap_or_default()
    }

    /// Clicks the button named `label` once it is shown (dialogs take a frame to appear),
    /// through AccessKit (as assistive technology does: wherever the button moved to).
    fn click(&mut self, label: &str) {
        self.wait_for(&format!("button {label}"), |h| {
            h.query_by_role_and_label(Role::Button, label).is_some()
        });
        self.harness
            .get_by_role_and_label(Role::Button, label)
            .click_accesskit();
        self.harness.step();
        self.harness.step();
    }

    /// Types into the text field named `label` (its label's text).
    fn type_into(&mut self, label: &str, text: &str) {
        let field = self
            .harness
            .query_all_by_label(label)
            .find(|n| {
                matches!(
                    n.accesskit_node().role(),
                    Role::TextInput | Role::MultilineTextInput | Role::PasswordInput
                )
            })
            .unwrap_or_else(|| panic!("no text field named {label:?}"));
        field.focus();
        self.harness.step();
        self.harness
            .query_all_by_label(label)
            .find(|n| n.is_focused())
            .unwrap_or_else(|| panic!("{label:?} takes focus"))
            .type_text(text);
        self.harness.step();
    }

    /// Writes and sends a message with the Enter key.
    fn write(&mut self, text: &str) {
        self.wait_for("the composer", |h| {
            h.query_by_role(Role::MultilineTextInput).is_some()
        });
        let composer = self.harness.get_by_role(Role::MultilineTextInput);
        composer.focus();
        self.harness.step();
        self.harness
            .get_by_role(Role::MultilineTextInput)
            .type_text(text);
        self.harness.step();
        self.harness.key_press(egui::Key::Enter);
        self.harness.step();
        self.harness.step();
    }

    fn open_contact(&mut self, name: &str) {
        let is_row = |n: &egui_kittest::Node<'_>| {
            n.accesskit_node()
                .label()
                .is_some_and(|l| l.starts_with(name) && l.contains('\n'))
        };
        self.wait_for(&format!("contact {name}"), |h| {
            h.query_all_by_role(Role::Button).any(|n| is_row(&n))
        });
        self.harness
            .query_all_by_role(Role::Button)
            .find(|n| is_row(n))
            .unwrap()
            .click_accesskit();
        self.harness.step();
    }

    fn shut_down(mut self) {
        self.harness.state_mut().shut_down();
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/setup installs it)"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The first-run form as a person fills it.
fn make_profile(person: &mut Person, name: &str, relays: &[String], passphrase: &str) {
    person.wait_for_label("Welcome to Sotto");
    person.type_into("Your name (contacts see it when you meet)", name);
    person.type_into("Relays (one sotto:// address per line)", &relays.join("\n"));
    person.type_into("Passphrase", passphrase);
    person.type_into("Passphrase again", passphrase);
    // The test turns cover traffic off to keep its messages fast (a payload slot every
    // 5 s on average otherwise); it is on by default, as the form shows.
    person
        .harness
        .get_by_label_contains("Cover traffic")
        .click_accesskit();
    person.harness.step();
    person.click("Create profile");
    person.wait_for_label("Invite someone to start talking");
}

#[test]
fn two_people_meet_and_talk_through_real_relays() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    let relays: Vec<Relay> = (0..3)
        .map(|n| Relay::start(&root.join(format!("relay-{n}"))))
        .collect();
    let addresses: Vec<String> = relays.iter().map(|r| r.address.clone()).collect();

    // Speech as a microphone would give it: 16 kHz mono.
    let speech = root.join("speech.wav");
    let raw = root.join("speech-raw.wav");
    run(
        "espeak-ng",
        &[
            "-w",
            raw.to_str().unwrap(),
            "Hello Bob, this is a voice clip from Alice.",
        ],
    );
    run(
        "sox",
        &[
            raw.to_str().unwrap(),
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            speech.to_str().unwrap(),
        ],
    );

    let mut alice = app(&root.join("alice"), &speech);
    let mut bob = app(&root.join("bob"), &speech);
    make_profile(&mut alice, "Alice", &addresses, "alice passphrase");
    make_profile(&mut bob, "Bob", &addresses, "bob passphrase");

    // Alice shows her invitation and saves its QR code as a picture.
    alice.click("Invite");
    alice.wait_for_label("Copy link");
    let link = match alice
        .harness
        .state()
        .session()
        .and_then(|s| s.dialog.as_ref())
    {
        Some(Dialog::Invite { link: Some(link) }) => link.clone(),
        _ => panic!("the invite dialog shows a link"),
    };
    assert!(link.len() <= 200, "a short link: {link}");
    let qr = root.join("invitation.png");
    alice.files.will_choose(&qr);
    alice.click("Save QR image…");
    let scanned = run("zbarimg", &["--quiet", "--raw", qr.to_str().unwrap()]);
    assert_eq!(
        scanned.trim_end(),
        link,
        "an independent reader sees the same link"
    );
    alice.click("Close");

    // Bob accepts it from the picture.
    bob.click("Accept invitation");
    bob.wait_for_label("Their name");
    bob.type_into(
        "Their name (invitations carry none; only you see it)",
        "Alice",
    );
    bob.files.will_choose(&qr);
    bob.click("Open QR image…");
    bob.wait_for_label("Invitation accepted");
    alice.wait_for_label("Bob accepted your invitation");

    // Text both ways, with statuses.
    alice.open_contact("Bob");
    alice.write("Hello Bob!");
    bob.open_contact("Alice");
    bob.wait_for_message("Hello Bob!");
    alice.wait_for_label("· Read");
    bob.write("Hi Alice, got it.");
    alice.wait_for_message("Hi Alice, got it.");
    bob.wait_for_label("· Read");

    // A picture, a file and a voice clip from Alice.
    let picture = root.join("picture.png");
    image::RgbImage::from_fn(320, 200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    })
    .save(&picture)
    .unwrap();
    alice.files.will_choose(&picture);
    alice.click("🖼 Picture");
    let notes = root.join("notes.txt");
    std::fs::write(&notes, "the file's contents\n".repeat(5000)).unwrap();
    alice.files.will_choose(&notes);
    alice.click("📎 File");
    alice.click("🎤 Voice");
    alice.click("⏹ Stop and send");

    bob.wait_for_label("Picture, 320 × 200");
    bob.click("Show picture");
    bob.wait_for("the picture shown", |h| {
        h.query_by_label("Picture, 320 × 200").is_some()
            && h.state().session().is_some_and(|s| {
                s.pictures
                    .values()
                    .any(|p| matches!(p, sotto_desktop::session::Picture::Ready(_)))
            })
    });
    bob.wait_for_label("📄 notes.txt");
    let saved = root.join("saved-notes.txt");
    bob.files.will_choose(&saved);
    bob.click("Save file…");
    bob.wait_for_label("Saved");
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        std::fs::read(&notes).unwrap()
    );
    // A file dropped on Alice's window is sent too.
    let dropped = root.join("dropped.txt");
    std::fs::write(&dropped, "dropped on the window").unwrap();
    alice
        .harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(dropped)));
    alice.harness.step();
    bob.wait_for_label("📄 dropped.txt");
    bob.wait_for_label("🎤 Voice clip 0:0");
    let clip = root.join("clip.ogg");
    bob.files.will_choose(&clip);
    bob.click("Save voice clip…");
    bob.wait_for("the clip saved", |_| clip.exists());
    let info = run("opusinfo", &[clip.to_str().unwrap()]);
    assert!(info.contains("Opus"), "opusinfo reads the clip: {info}");
    // Played: the core decodes what the sender recorded, the speech's length and sound.
    bob.click("▶ Play");
    let played = bob.speakers.played.clone();
    bob.wait_for("the clip played", |_| !played.lock().unwrap().is_empty());
    let played = played.lock().unwrap()[0].clone();
    let spoken = u64::from(hound::WavReader::open(&speech).unwrap().duration()) * 1000 / 16_000;
    assert!(
        played.duration_ms().abs_diff(spoken) <= 20,
        "played {} ms of {spoken} ms of speech",
        played.duration_ms()
    );
    assert!(
        played.samples.iter().any(|s| s.unsigned_abs() > 3000),
        "the speech is heard"
    );

    // Safety numbers: Bob scans Alice's QR image, Alice types Bob's digits.
    alice.click("Safety number");
    alice.wait_for_label("Save QR image…");
    let safety_qr = root.join("alice-safety.png");
    alice.files.will_choose(&safety_qr);
    alice.click("Save QR image…");
    let digits = match alice
        .harness
        .state()
        .session()
        .and_then(|s| s.dialog.as_ref())
    {
        Some(Dialog::Safety {
            number: Some(n), ..
        }) => n.digits().to_owned(),
        _ => panic!("the safety dialog shows the number"),
    };
    bob.click("Safety number");
    bob.wait_for_label("Save QR image…");
    bob.type_into("Their number (type it to compare)", &"12345".repeat(12));
    bob.click("Compare");
    bob.wait_for_label("The numbers do not match");
    bob.files.will_choose(&safety_qr);
    bob.click("Compare with a QR image…");
    bob.wait_for_label("The numbers match.");
    bob.click("Mark verified");
    bob.wait_for_label("✔ Verified");
    bob.click("Close");
    alice.type_into("Their number (type it to compare)", &digits);
    alice.click("Compare");
    alice.wait_for_label("The numbers match.");
    alice.click("Mark verified");
    alice.wait_for_label("✔ Verified");
    alice.click("Close");
    assert!(
        bob.notes
            .shown
            .lock()
            .unwrap()
            .iter()
            .all(|(_, body)| !body.contains("Hello Bob")),
        "notifications never carry a message's text"
    );

    // Bob's settings: the route and cover traffic as saved, and a new passphrase.
    bob.click("Settings");
    bob.wait_for_label("Save network settings");
    bob.wait_for_label("MB a day");
    bob.type_into("New passphrase", "bob's new passphrase");
    bob.type_into("New passphrase again", "bob's new passphrase");
    bob.click("Change passphrase");
    bob.wait_for_label("Passphrase changed");
    bob.click("Close");

    // Bob restarts: the old passphrase is refused, the new one finds everything.
    bob.shut_down();
    let mut bob = app(&root.join("bob"), &speech);
    bob.wait_for_label("Unlock Sotto");
    bob.type_into("Passphrase", "bob passphrase");
    bob.click("Unlock");
    bob.wait_for_label("Wrong passphrase.");
    bob.type_into("Passphrase", "bob's new passphrase");
    bob.click("Unlock");
    bob.open_contact("Alice");
    bob.wait_for_message("Hello Bob!");
    bob.wait_for_message("Hi Alice, got it.");
    bob.wait_for_label("📄 notes.txt");
    bob.wait_for_label("✔ Verified");
    let alice_at_bob = bob.harness.state().session().unwrap().contacts[0]
        .contact
        .id
        .clone();
    bob.shut_down();
    alice.shut_down();
    drop(relays);

    // Alice moves to a new computer (a new identity) and writes to Bob. Her packet reaches
    // his profile through the core's own receive, as from his queue, while his app is
    // closed; the app then shows the key-change banner, and accepting the key removes it.
    present_new_key(&root.join("bob"), "bob's new passphrase", &alice_at_bob);
    let mut bob = app(&root.join("bob"), &speech);
    bob.wait_for_label("Unlock Sotto");
    bob.type_into("Passphrase", "bob's new passphrase");
    bob.click("Unlock");
    bob.open_contact("Alice");
    bob.wait_for_label("security key changed");
    bob.click("Accept new key");
    bob.wait_for("the banner gone", |h| {
        h.query_all_by_label_contains("security key changed")
            .next()
            .is_none()
    });
    bob.shut_down();
}

/// A new identity of the contact `alice_at_bob` writes to the profile at `profile`.
fn present_new_key(profile: &Path, passphrase: &str, alice_at_bob: &ContactId) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let now = SystemTime::now();
        let store = ProfileDirectory::new(profile)
            .open(Some(passphrase))
            .unwrap();
        let bob = Profile::load(store).await.unwrap();
        let mut new_alice = Profile::create(MemoryStore::new(), None, now, &mut rand::rng())
            .await
            .unwrap();
        let bundle = bob.prekey_bundle(&mut rand::rng()).await.unwrap();
        new_alice
            .start_session(&bundle, now, &mut rand::rng())
            .await
            .unwrap();
        let bob_at_new = new_alice
            .add_contact(&bob.identity().public(), None)
            .await
            .unwrap();
        let sent = new_alice
            .send(
                &bob_at_new,
                Body::Text("New computer, same Alice".into()),
                now,
                &mut rand::rng(),
            )
            .await
            .unwrap();
        let events = bob
            .receive(alice_at_bob, &sent.packet.unwrap(), now, &mut rand::rng())
            .await
            .unwrap();
        assert!(
            matches!(events[..], [ContactEvent::IdentityKeyChanged { .. }]),
            "{events:?}"
        );
    });
}
