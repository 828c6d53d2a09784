//! The main job: five relays on loopback, two identities that meet by invitation and
//! exchange text, an image, a file and a voice clip through them, then compare safety
//! numbers and print the transcript. Everything goes through `sotto_core::Messenger`, the
//! handle apps use: its background work reads every queue with a waiting read and pushes
//! events as messages land (no polling loop here). Real
//! relay processes (`sotto-relay`, TLS pinned to the key in each relay address), real
//! SQLCipher profile directories, end-to-end receipts. Every message packet travels as a
//! Sphinx packet over a 3-hop onion path chosen at random per packet, the last hop being
//! the recipient's mailbox relay; queues are read, and attachment chunks moved, through
//! a proxy relay (an HTTP CONNECT tunnel with TLS end to end to the relay holding them).
//!
//! Run it with `scripts/demo`. It looks for the `sotto-relay` binary next to its own
//! executable (both are built by `scripts/demo`), or where `SOTTO_RELAY_BIN` says.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use std::time::{Duration, Instant};

use sotto_core::client::{AttachmentKind, HistoryFrom, SendRoute, TransferDirection};
use sotto_core::contacts::ContactId;
use sotto_core::content::{Body, Content, MessageId};
use sotto_core::invitation::Invitation;
use sotto_core::messenger::{DeliveryStatus, Event, OwnedProtection, Subscription};
use sotto_core::padding::PACKET_PAYLOAD_SIZE;
use sotto_core::relay::RelayAddress;
use sotto_core::safety::Comparison;
use sotto_core::store::{Argon2Params, MessageDirection, ProfileDirectory, SqlCipherStore};
use sotto_core::{ClientSettings, Error, Messenger};

type Failure = Box<dyn std::error::Error>;

/// How long a person waits for an event before the demo gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// A relay process, stopped when dropped.
struct Relay {
    child: Child,
    address: RelayAddress,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay_binary() -> Result<PathBuf, Failure> {
    if let Some(path) = std::env::var_os("SOTTO_RELAY_BIN") {
        return Ok(PathBuf::from(path));
    }
    let beside = std::env::current_exe()?
        .with_file_name(format!("sotto-relay{}", std::env::consts::EXE_SUFFIX));
    if beside.is_file() {
        Ok(beside)
    } else {
        Err(format!(
            "no sotto-relay at {}; build it (scripts/demo does) or set SOTTO_RELAY_BIN",
            beside.display()
        )
        .into())
    }
}

/// Starts a relay on an ephemeral loopback port and reads the address it prints.
fn start_relay(binary: &Path, data_dir: &Path) -> Result<Relay, Failure> {
    let mut child = Command::new(binary)
        .arg("--data-dir")
        .arg(data_dir)
        // A test network on one machine: hops on loopback are allowed.
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
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("relay stdout")?;
    BufReader::new(stdout).read_line(&mut line)?;
    let address = line
        .split_whitespace()
        .find_map(|word| RelayAddress::parse(word).ok())
        .ok_or_else(|| format!("the relay printed no address: {line:?}"))?;
    Ok(Relay { child, address })
}

/// One side of the conversation: a `Messenger` with its background work on, and the
/// events it pushes.
struct Person {
    name: &'static str,
    messenger: Messenger<SqlCipherStore>,
    events: Subscription,
    /// The other person, as a contact of this profile.
    peer: Option<ContactId>,
    /// The last progress step printed (in quarters), per transfer.
    progress: Option<(MessageId, u64)>,
}

impl Person {
    async fn create(name: &'static str, root: &Path, relays: &[Relay]) -> Result<Self, Error> {
        let directory = ProfileDirectory::new(root.join(name));
        // Passphrase mode, so the demo runs on machines without a keychain too. (Light
        // Argon2id cost for a demo; apps keep the default.)
        let protection = OwnedProtection::Passphrase {
            passphrase: name.to_owned().into(),
            params: Argon2Params::new(16 * 1024, 2, 1)?,
        };
        // 3-hop onion paths (the default) without mixing delays, so the demo runs fast.
        let addresses = relays.iter().map(|relay| relay.address.clone()).collect();
        let settings =
            ClientSettings::new(addresses, capitalized(name)).with_route(SendRoute::Onion {
                hops: 3,
                mean_delay: Duration::ZERO,
            });
        let messenger = Messenger::create(directory, protection, settings).await?;
        let events = messenger.subscribe();
        // Waiting reads through proxy relays, outbox retries, prekey rotation: from now on
        // messages arrive by themselves and are pushed as events.
        messenger.start().await?;
        Ok(Self {
            name,
            messenger,
            events,
            peer: None,
            progress: None,
        })
    }

    fn peer(&self) -> Result<ContactId, Error> {
        self.peer
            .clone()
            .ok_or_else(|| Error::UnknownContact("(not met yet)".into()))
    }

    /// Prints the events pushed to this person until one matches `wanted`, and returns it.
    /// Nobody polls: each event arrives when the network brings it.
    async fn until(&mut self, wanted: impl Fn(&Event) -> bool) -> Result<Event, Failure> {
        let waiting = tokio::time::timeout(PATIENCE, async {
            while let Some(event) = self.events.next().await {
                self.print(&event);
                if wanted(&event) {
                    return Some(event);
                }
            }
            None
        });
        match waiting.await {
            Ok(Some(event)) => Ok(event),
            Ok(None) => Err(format!("{}'s messenger stopped", self.name).into()),
            Err(_) => Err(format!("{} waited {PATIENCE:?} in vain", self.name).into()),
        }
    }

    /// Waits for the message `id` and returns it, with the time it took to arrive.
    async fn receive(&mut self, id: MessageId, since: Instant) -> Result<Content, Failure> {
        let event = self
            .until(|e| matches!(e, Event::MessageReceived { content, .. } if content.id == id))
            .await?;
        let Event::MessageReceived { content, .. } = event else {
            unreachable!("matched above")
        };
        println!(
            "      (pushed {} ms after it was sent)",
            since.elapsed().as_millis()
        );
        Ok(content)
    }

    fn print(&mut self, event: &Event) {
        let name = self.name;
        match event {
            Event::MessageReceived { content, .. } => {
                println!("   {name} <- {}", describe(content));
            }
            Event::StatusChanged {
                message_ids,
                status,
                ..
            } => println!("   {name}: {} message(s) {status:?}", message_ids.len()),
            Event::ContactAdded { display_name, .. } => {
                println!("   {name}: \"{display_name}\" accepted the invitation (answered)");
            }
            Event::ContactReady { .. } => {
                println!("   {name}: got the inviter's answer, the contact is complete");
            }
            Event::TransferProgress {
                message_id,
                direction,
                done,
                total,
            } => {
                let quarter = (done * 4).checked_div(*total).unwrap_or(4);
                if self.progress != Some((*message_id, quarter)) {
                    let verb = match direction {
                        TransferDirection::Upload => "uploaded",
                        TransferDirection::Download => "downloaded",
                    };
                    println!(
                        "      {name}: {verb} {:>3}% ({done}/{total} bytes)",
                        quarter * 25
                    );
                    self.progress = Some((*message_id, quarter));
                }
            }
            other => println!("   {name}: {other:?}"),
        }
    }
}

fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// A gradient picture as a real PNG; with `grain`, film grain that keeps it from
/// compressing to nothing (a photo-like size).
fn sample_png(width: u32, height: u32, grain: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for y in 0..height {
        for x in 0..width {
            // xorshift: deterministic grain, no extra dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let g = if grain { (state % 48) as u32 } else { 0 };
            pixels.extend([
                ((x * 200 / width) + g) as u8,
                ((y * 200 / height) + g) as u8,
                (160 + g) as u8,
            ]);
        }
    }
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(&pixels);
    }
    out
}

/// Two seconds of a 440 Hz tone as 16-bit mono PCM in a WAV container, and its waveform.
fn sample_voice_clip() -> (Vec<u8>, Vec<u8>) {
    let rate = 16_000u32;
    let samples: Vec<i16> = (0..rate * 2)
        .map(|n| {
            let t = n as f32 / rate as f32;
            let envelope = (std::f32::consts::PI * t / 2.0).sin();
            (envelope * 12_000.0 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()) as i16
        })
        .collect();
    let data_len = (samples.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend(b"RIFF");
    wav.extend((36 + data_len).to_le_bytes());
    wav.extend(b"WAVEfmt ");
    wav.extend(16u32.to_le_bytes());
    wav.extend(1u16.to_le_bytes()); // PCM
    wav.extend(1u16.to_le_bytes()); // mono
    wav.extend(rate.to_le_bytes());
    wav.extend((rate * 2).to_le_bytes());
    wav.extend(2u16.to_le_bytes());
    wav.extend(16u16.to_le_bytes());
    wav.extend(b"data");
    wav.extend(data_len.to_le_bytes());
    for s in &samples {
        wav.extend(s.to_le_bytes());
    }
    // 64 waveform bars: peak amplitude per slice, scaled to 0..=255.
    let waveform = samples
        .chunks(samples.len() / 64)
        .map(|slice| {
            let peak = slice.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            (u32::from(peak) * 255 / 12_000).min(255) as u8
        })
        .collect();
    (wav, waveform)
}

fn describe(content: &Content) -> String {
    match &content.body {
        Body::Text(text) => format!("text \"{text}\""),
        Body::Image(i) => format!(
            "image {} {}x{}, thumbnail {} B, attachment {} B in {} chunk(s)",
            i.mime,
            i.width,
            i.height,
            i.thumbnail.len(),
            i.attachment.plaintext_size(),
            i.attachment.chunk_count()
        ),
        Body::File(f) => format!(
            "file \"{}\" ({}), {} B in {} chunk(s)",
            f.name,
            f.mime,
            f.size,
            f.attachment.chunk_count()
        ),
        Body::VoiceClip(v) => format!(
            "voice clip {} ms {}, waveform of {} bars, {} B",
            v.duration_ms,
            v.codec,
            v.waveform.len(),
            v.attachment.plaintext_size()
        ),
        Body::Receipt(r) => format!(
            "receipt {:?} for {} message(s)",
            r.kind,
            r.message_ids.len()
        ),
        Body::ContactAccept(c) => format!("contact accept from \"{}\"", c.display_name),
    }
}

/// Sends an attachment from `from` to its peer; the recipient's messenger brings it, the
/// recipient downloads it and compares it with the original.
async fn exchange_attachment(
    from: &mut Person,
    to: &mut Person,
    label: &str,
    original: &[u8],
    kind: AttachmentKind,
    scratch: &Path,
) -> Result<(), Failure> {
    let source = scratch.join(format!("{label}.original"));
    std::fs::write(&source, original)?;
    let peer = from.peer()?;
    let sent_at = Instant::now();
    let id = from.messenger.send_attachment(&peer, &source, kind).await?;
    // The call returned as soon as the file was encrypted; the upload goes on meanwhile.
    while let Some(event) = from.events.try_next() {
        from.print(&event);
    }
    let content = to.receive(id, sent_at).await?;
    let target = scratch.join(format!("{label}.received"));
    let size = to
        .messenger
        .download_attachment(&to.peer()?, &content.id, &target)
        .await?;
    // The download's progress events, pushed while it ran.
    while let Some(event) = to.events.try_next() {
        to.print(&event);
    }
    let same = std::fs::read(&target)? == original;
    println!(
        "   {} opened {}'s {label}: {size} bytes, identical to the original: {same}",
        to.name, from.name
    );
    if !same {
        return Err(format!("the {label} arrived altered").into());
    }
    from.until(|e| delivered(e, id)).await?;
    Ok(())
}

fn delivered(event: &Event, id: MessageId) -> bool {
    matches!(event, Event::StatusChanged { message_ids, status: DeliveryStatus::Delivered, .. } if message_ids.contains(&id))
}

async fn run() -> Result<(), Failure> {
    println!("Sotto demo: five relays on loopback, two identities, end-to-end encrypted.\n");
    let scratch = tempfile::Builder::new().prefix("sotto-demo-").tempdir()?;
    let binary = relay_binary()?;

    println!(
        "1. Five relays start (each makes its identity key, a TLS certificate bound to it and its Sphinx keys)"
    );
    let mut relays = Vec::new();
    for n in 1..=5 {
        let relay = start_relay(&binary, &scratch.path().join(format!("relay-{n}")))?;
        println!("   relay {n}: {}", relay.address);
        relays.push(relay);
    }
    println!(
        "   every message packet goes over 3 of them, chosen at random per packet: two mixing hops, then the recipient's mailbox relay;\n   queues are read and attachments moved through a proxy relay (a CONNECT tunnel, TLS end to end)\n"
    );

    println!("2. Identities (keys made on the device, kept in SQLCipher profile directories)");
    let mut alice = Person::create("alice", scratch.path(), &relays).await?;
    let mut bob = Person::create("bob", scratch.path(), &relays).await?;
    println!("   alice: {}", alice.messenger.identity());
    println!("   bob:   {}", bob.messenger.identity());
    println!(
        "   each runs a Messenger: its own thread reads every queue with a waiting read\n   through a proxy relay, so messages are pushed as events the moment they land\n"
    );

    println!("3. Alice invites Bob (a one-time link and the same bytes as a QR code)");
    let invitation = alice.messenger.create_invitation().await?;
    let link = invitation.to_uri();
    println!(
        "   link: {}... ({} characters); QR: {} byte PNG, {} byte SVG",
        &link[..48.min(link.len())],
        link.len(),
        invitation.qr_png()?.len(),
        invitation.qr_svg()?.len()
    );
    let scanned = Invitation::from_uri(&link)?;
    bob.peer = Some(bob.messenger.accept_invitation(&scanned).await?);
    println!("   bob accepted: PQXDH session, his own queue on his relay, acceptance sent");
    let Event::ContactAdded { contact, .. } = alice
        .until(|e| matches!(e, Event::ContactAdded { .. }))
        .await?
    else {
        unreachable!("matched above")
    };
    alice.peer = Some(contact);
    bob.until(|e| matches!(e, Event::ContactReady { .. }))
        .await?;
    match bob.messenger.accept_invitation(&scanned).await {
        Err(e) => println!("   the link is used up: accepting it again is refused ({e})\n"),
        Ok(_) => return Err("a used invitation was accepted".into()),
    }

    println!("4. Text both ways (every packet is {PACKET_PAYLOAD_SIZE} bytes on the wire)");
    let sent_at = Instant::now();
    let id = alice
        .messenger
        .send_text(&alice.peer()?, "Hi Bob, it's Alice. This is Sotto.")
        .await?;
    bob.receive(id, sent_at).await?;
    alice.until(|e| delivered(e, id)).await?;
    let sent_at = Instant::now();
    let id = bob
        .messenger
        .send_text(&bob.peer()?, "Hi Alice! Got it, sealed and padded.")
        .await?;
    alice.receive(id, sent_at).await?;
    bob.until(|e| delivered(e, id)).await?;

    println!("\n5. An image (PNG; encrypted, uploaded to a relay's chunk store, pointer sent)");
    let picture = sample_png(800, 600, true);
    let thumbnail = sample_png(32, 24, false);
    exchange_attachment(
        &mut alice,
        &mut bob,
        "image",
        &picture,
        AttachmentKind::Image {
            mime: "image/png".into(),
            width: 800,
            height: 600,
            thumbnail,
        },
        scratch.path(),
    )
    .await?;

    println!("\n6. A file (6 MiB, two chunk-store parts)");
    let report_bytes: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    exchange_attachment(
        &mut bob,
        &mut alice,
        "file",
        &report_bytes,
        AttachmentKind::File {
            name: "quarterly-report.bin".into(),
            mime: "application/octet-stream".into(),
        },
        scratch.path(),
    )
    .await?;

    println!("\n7. A voice clip (2 s, 16 kHz PCM WAV)");
    let (wav, waveform) = sample_voice_clip();
    exchange_attachment(
        &mut alice,
        &mut bob,
        "voice clip",
        &wav,
        AttachmentKind::VoiceClip {
            duration_ms: 2000,
            codec: "wav/pcm_s16le".into(),
            waveform,
        },
        scratch.path(),
    )
    .await?;

    println!("\n8. Everything acknowledged end to end");
    for person in [&alice, &bob] {
        println!(
            "   {}: outbox holds {} message(s)",
            person.name,
            person.messenger.unacknowledged().await?
        );
    }

    println!("\n9. Safety numbers (compare in person, or scan the QR)");
    let alice_view = alice.messenger.safety_number(&alice.peer()?).await?;
    let bob_view = bob.messenger.safety_number(&bob.peer()?).await?;
    println!("   alice sees: {alice_view}");
    println!("   bob sees:   {bob_view}");
    let verdict = bob
        .messenger
        .compare_safety_code(&bob.peer()?, alice_view.scannable())
        .await?;
    if verdict == Comparison::Match {
        bob.messenger.mark_verified(&bob.peer()?).await?;
    }
    println!(
        "   alice's QR: {} byte PNG; bob scans it: {}",
        alice_view.qr_png()?.len(),
        match verdict {
            Comparison::Match => "MATCH (verified)".to_string(),
            Comparison::Mismatch => "MISMATCH".to_string(),
            Comparison::DifferentVersion { ours, theirs } =>
                format!("different version (ours {ours}, theirs {theirs})"),
        }
    );

    println!("\n10. Transcript (alice's history, oldest first; status from end-to-end receipts)");
    let history = alice
        .messenger
        .history(&alice.peer()?, HistoryFrom::Oldest, 100)
        .await?;
    for message in history {
        let (from, to) = match message.direction {
            MessageDirection::Outgoing => ("alice", "bob"),
            MessageDirection::Incoming => ("bob", "alice"),
        };
        println!(
            "   {from:>5} -> {to:<5} [{:?}] {}",
            message.status,
            describe(&message.content)
        );
    }

    println!("\n11. Both messengers shut down (calls finished, stores closed)");
    alice.messenger.shutdown().await?;
    bob.messenger.shutdown().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => {
            println!("\nDemo finished.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            match e.downcast_ref::<Error>() {
                Some(core) => eprintln!("demo failed ({:?}): {core}", core.code()),
                None => eprintln!("demo failed: {e}"),
            }
            ExitCode::FAILURE
        }
    }
}
