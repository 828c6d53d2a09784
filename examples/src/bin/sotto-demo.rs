//! The core demo: Alice and Bob meet, exchange text, an image, a file and a voice clip, and
//! compare safety numbers — all through `sotto-core`, in one process, with no network yet
//! (the relay issue puts relays between them).
//!
//! Run it with `scripts/demo`.

use std::io::Cursor;
use std::process::ExitCode;
use std::time::SystemTime;

use futures_executor::block_on;
use sotto_core::attachment::{self, AttachmentPointer, CHUNK_SIZE, ChunkSize, Progress};
use sotto_core::contacts::{ContactId, Event};
use sotto_core::content::{Body, Content, File, Image, Receipt, ReceiptKind, VoiceClip};
use sotto_core::padding::PACKET_PAYLOAD_SIZE;
use sotto_core::safety::Comparison;
use sotto_core::store::{MemoryStore, Store};
use sotto_core::{Error, Profile, PublicIdentity};

/// One side of the conversation.
struct Person {
    name: &'static str,
    profile: Profile<MemoryStore>,
    /// The other person, as a contact of this profile.
    peer: Option<ContactId>,
}

fn now() -> SystemTime {
    SystemTime::now()
}

impl Person {
    fn create(name: &'static str) -> Result<Self, Error> {
        let profile = block_on(Profile::create(
            MemoryStore::new(),
            Some(name.into()),
            now(),
            &mut rand::rng(),
        ))?;
        Ok(Self {
            name,
            profile,
            peer: None,
        })
    }

    fn public(&self) -> PublicIdentity {
        self.profile.identity().public()
    }

    fn peer(&self) -> Result<&ContactId, Error> {
        self.peer
            .as_ref()
            .ok_or_else(|| Error::UnknownContact("(not met yet)".into()))
    }

    /// Sends `body` to the peer; returns the packet that would go on the wire.
    fn send(&mut self, body: Body) -> Result<Vec<u8>, Error> {
        let peer = self.peer()?.clone();
        let out = block_on(self.profile.send(&peer, body, now(), &mut rand::rng()))?;
        out.packet
            .ok_or_else(|| Error::IdentityKeyPending(peer.to_string()))
    }

    /// Receives a packet from the peer.
    fn receive(&mut self, packet: &[u8]) -> Result<Vec<Event>, Error> {
        let peer = self.peer()?.clone();
        block_on(self.profile.receive(&peer, packet, now(), &mut rand::rng()))
    }
}

/// Encrypts an attachment in memory and reports progress in 10% steps.
fn encrypt_attachment(label: &str, data: &[u8]) -> Result<(AttachmentPointer, Vec<u8>), Error> {
    let mut ciphertext = Vec::new();
    let mut last_decile = None;
    let total = data.len() as u64;
    let pointer = attachment::encrypt(
        Cursor::new(data),
        &mut ciphertext,
        ChunkSize::new(CHUNK_SIZE)?,
        &mut |p: Progress| report(label, "encrypt", p.done, total, &mut last_decile),
    )?;
    Ok((pointer, ciphertext))
}

fn decrypt_attachment(
    label: &str,
    pointer: &AttachmentPointer,
    ciphertext: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut plaintext = Vec::new();
    let mut last_decile = None;
    let total = pointer.plaintext_size();
    attachment::decrypt(
        Cursor::new(ciphertext),
        &mut plaintext,
        pointer,
        &mut |p: Progress| report(label, "decrypt", p.done, total, &mut last_decile),
    )?;
    Ok(plaintext)
}

fn report(label: &str, what: &str, done: u64, total: u64, last: &mut Option<u64>) {
    let decile = (done * 10).checked_div(total).unwrap_or(10);
    if *last != Some(decile) && (decile == 10 || decile.is_multiple_of(5)) {
        println!(
            "      {label}: {what} {:>3}% ({done}/{total} bytes)",
            decile * 10
        );
        *last = Some(decile);
    }
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

/// What was shown, in order: (sender, recipient, content).
type Transcript = Vec<(String, String, Content)>;

/// Sends `body` from one person to the other over the (for now direct) wire, records
/// what the recipient shows, and carries the recipient's end-to-end delivery receipt back.
fn deliver(
    from: &mut Person,
    to: &mut Person,
    body: Body,
    transcript: &mut Transcript,
) -> Result<(), Error> {
    let packet = from.send(body)?;
    println!(
        "   {} -> {}: sealed packet of {} bytes (always {PACKET_PAYLOAD_SIZE})",
        from.name,
        to.name,
        packet.len()
    );
    let mut shown = Vec::new();
    for event in to.receive(&packet)? {
        if let Event::Message(content) = event {
            shown.push(content.id);
            transcript.push((from.name.to_string(), to.name.to_string(), content));
        }
    }
    let receipt = to.send(Body::Receipt(Receipt {
        kind: ReceiptKind::Delivered,
        message_ids: shown,
    }))?;
    for event in from.receive(&receipt)? {
        if let Event::Receipt { kind, message_ids } = event {
            println!(
                "   {} <- {}: end-to-end receipt ({kind:?}) for {} message(s); outbox now holds {}",
                from.name,
                to.name,
                message_ids.len(),
                block_on(from.profile.store().outbox())?.len()
            );
        }
    }
    Ok(())
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

fn run() -> Result<(), Error> {
    println!("Sotto core demo: two identities, one process, no network yet.\n");
    let mut alice = Person::create("alice")?;
    let mut bob = Person::create("bob")?;
    println!("1. Identities (keys made on the device; nothing else identifies anyone)");
    println!("   alice: {}", alice.public());
    println!("   bob:   {}\n", bob.public());

    println!("2. Bob hands Alice a prekey bundle (the invitation); Alice starts PQXDH");
    let bundle = block_on(bob.profile.prekey_bundle(&mut rand::rng()))?;
    let met = block_on(
        alice
            .profile
            .start_session(&bundle, now(), &mut rand::rng()),
    )?;
    let pq = block_on(alice.profile.is_post_quantum(&met, now()))?;
    println!("   session with bob established; post-quantum (Kyber1024 + SPQR): {pq}");
    // Each adds the other as a contact (the invitation carries the keys; relay issue).
    alice.peer = Some(block_on(
        alice.profile.add_contact(&met, Some("Bob".into())),
    )?);
    bob.peer = Some(block_on(
        bob.profile
            .add_contact(&alice.public(), Some("Alice".into())),
    )?);
    println!("   both keep the other as a contact\n");

    let mut transcript = Transcript::new();

    println!("3. Text both ways");
    deliver(
        &mut alice,
        &mut bob,
        Body::Text("Hi Bob, it's Alice. This is Sotto.".into()),
        &mut transcript,
    )?;
    deliver(
        &mut bob,
        &mut alice,
        Body::Text("Hi Alice! Got it, sealed and padded.".into()),
        &mut transcript,
    )?;

    println!("\n4. An image (PNG, encrypted as an attachment; the message carries the pointer)");
    let picture = sample_png(800, 600, true);
    let thumbnail = sample_png(32, 24, false);
    let (pointer, image_ciphertext) = encrypt_attachment("image", &picture)?;
    deliver(
        &mut alice,
        &mut bob,
        Body::Image(Image {
            mime: "image/png".into(),
            width: 800,
            height: 600,
            thumbnail,
            attachment: pointer,
        }),
        &mut transcript,
    )?;

    println!("\n5. A file (300 KiB)");
    let report_bytes: Vec<u8> = (0..300 * 1024u32).map(|i| (i % 251) as u8).collect();
    let (pointer, file_ciphertext) = encrypt_attachment("file", &report_bytes)?;
    deliver(
        &mut bob,
        &mut alice,
        Body::File(File {
            name: "quarterly-report.bin".into(),
            mime: "application/octet-stream".into(),
            size: report_bytes.len() as u64,
            attachment: pointer,
        }),
        &mut transcript,
    )?;

    println!("\n6. A voice clip (2 s, 16 kHz PCM WAV)");
    let (wav, waveform) = sample_voice_clip();
    let (pointer, voice_ciphertext) = encrypt_attachment("voice", &wav)?;
    deliver(
        &mut alice,
        &mut bob,
        Body::VoiceClip(VoiceClip {
            duration_ms: 2000,
            codec: "wav/pcm_s16le".into(),
            waveform,
            attachment: pointer,
        }),
        &mut transcript,
    )?;

    println!("\n7. Recipients open the attachments");
    for (from, to, content) in &transcript {
        let (label, pointer, ciphertext, original) = match &content.body {
            Body::Image(i) => ("image", &i.attachment, &image_ciphertext, &picture),
            Body::File(f) => ("file", &f.attachment, &file_ciphertext, &report_bytes),
            Body::VoiceClip(v) => ("voice", &v.attachment, &voice_ciphertext, &wav),
            _ => continue,
        };
        let plain = decrypt_attachment(label, pointer, ciphertext)?;
        println!(
            "   {to} opened {from}'s {label}: {} bytes, identical to the original: {}",
            plain.len(),
            &plain == original
        );
    }

    println!("\n8. Every message was acknowledged by an end-to-end receipt");
    for person in [&alice, &bob] {
        println!(
            "   {}: outbox holds {} message(s)",
            person.name,
            block_on(person.profile.store().outbox())?.len()
        );
    }

    println!("\n9. Safety numbers (compare in person, or scan the QR)");
    let alice_view = block_on(alice.profile.safety_number(alice.peer()?))?;
    let bob_view = block_on(bob.profile.safety_number(bob.peer()?))?;
    println!("   alice sees: {alice_view}");
    println!("   bob sees:   {bob_view}");
    let qr = alice_view.qr_png()?;
    let verdict = block_on(
        bob.profile
            .compare_safety_code(bob.peer()?, alice_view.scannable()),
    )?;
    if verdict == Comparison::Match {
        block_on(bob.profile.mark_verified(bob.peer()?))?;
    }
    println!(
        "   alice's QR: {} byte PNG; bob scans it: {}",
        qr.len(),
        match verdict {
            Comparison::Match => "MATCH (verified)".to_string(),
            Comparison::Mismatch => "MISMATCH".to_string(),
            Comparison::DifferentVersion { ours, theirs } =>
                format!("different version (ours {ours}, theirs {theirs})"),
        }
    );

    println!(
        "   bob's contact \"Alice\" is now verified: {}",
        block_on(bob.profile.contact(bob.peer()?))?.verified
    );

    println!("\n10. Transcript (as shown, in order, each message once)");
    for (from, to, content) in &transcript {
        println!(
            "   #{:<2} {from:>5} -> {to:<5} {}",
            content.sequence,
            describe(content)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("\nDemo finished.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo failed ({:?}): {e}", e.code());
            ExitCode::FAILURE
        }
    }
}
