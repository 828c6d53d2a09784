//! Attachments, through the public API only: round trips at every size boundary, the
//! fixed-size chunk layout, progress, streaming with awkward readers and writers, and
//! detection of every kind of tampering with the ciphertext or the pointer.

use std::io::{self, Read, Write};

#[path = "common/stream.rs"]
mod stream;
use stream::{Expect, Generator};

use prost::Message;
use sotto_core::attachment::{
    AttachmentError, AttachmentPointer, CHUNK_OVERHEAD, CHUNK_SIZE, ChunkSize, MAX_LOCATION_LEN,
    MAX_PLAINTEXT_SIZE, PointerError, Progress, StreamDecryptor, StreamEncryptor, decrypt, encrypt,
};
use sotto_core::{Error, ErrorCode};

// ---------------------------------------------------------------------------------------
// Helpers

/// The wire form of a pointer, written here from `proto/content.proto` so that malformed
/// pointers can be built field by field (and so that the field numbers are pinned).
#[derive(Clone, PartialEq, prost::Message)]
struct WirePointer {
    #[prost(uint32, tag = "1")]
    version: u32,
    #[prost(bytes = "vec", tag = "2")]
    key: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    digest: Vec<u8>,
    #[prost(uint64, tag = "4")]
    plaintext_size: u64,
    #[prost(uint32, tag = "5")]
    chunk_size: u32,
    #[prost(uint32, tag = "6")]
    chunk_count: u32,
    #[prost(string, tag = "7")]
    location: String,
}

fn wire(pointer: &AttachmentPointer) -> WirePointer {
    WirePointer::decode(pointer.encode().as_slice()).unwrap()
}

fn rewire(pointer: &AttachmentPointer, edit: impl FnOnce(&mut WirePointer)) -> Vec<u8> {
    let mut message = wire(pointer);
    edit(&mut message);
    message.encode_to_vec()
}

fn small() -> ChunkSize {
    ChunkSize::new(64).unwrap()
}

/// Deterministic bytes with no zero byte (so padding is never mistaken for data).
fn sample(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
        .collect()
}

fn seal(plaintext: &[u8], chunk_size: ChunkSize) -> (AttachmentPointer, Vec<u8>) {
    let mut ciphertext = Vec::new();
    let pointer = encrypt(plaintext, &mut ciphertext, chunk_size, &mut |_| {}).unwrap();
    (pointer, ciphertext)
}

fn open(ciphertext: &[u8], pointer: &AttachmentPointer) -> Result<Vec<u8>, AttachmentError> {
    let mut plaintext = Vec::new();
    let written = decrypt(ciphertext, &mut plaintext, pointer, &mut |_| {})?;
    assert_eq!(written, plaintext.len() as u64);
    Ok(plaintext)
}

/// Three full 64-byte chunks of plaintext but the last (150 bytes), 80 bytes per chunk.
fn three_chunks(seed: u8) -> (Vec<u8>, AttachmentPointer, Vec<u8>) {
    let plaintext = sample(150, seed);
    let (pointer, ciphertext) = seal(&plaintext, small());
    assert_eq!(pointer.chunk_count(), 3);
    assert_eq!(ciphertext.len(), 3 * SEALED);
    (plaintext, pointer, ciphertext)
}

const SEALED: usize = 64 + CHUNK_OVERHEAD;

fn sealed_chunk(ciphertext: &[u8], index: usize) -> &[u8] {
    &ciphertext[index * SEALED..(index + 1) * SEALED]
}

macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match $result {
            Err(e) => assert!(
                matches!(e, $pattern $(if $guard)?),
                "unexpected error: {e:?} ({e})"
            ),
            Ok(_) => panic!("expected an error matching {}", stringify!($pattern)),
        }
    };
}

// ---------------------------------------------------------------------------------------
// Round trips and layout

#[test]
fn attachments_of_every_boundary_size_round_trip() {
    for chunk_size in [ChunkSize::STANDARD, small()] {
        let c = chunk_size.bytes();
        for len in [0, 1, c - 1, c, c + 1, 2 * c, 3 * c - 1] {
            let plaintext = sample(len, 7);
            let (pointer, ciphertext) = seal(&plaintext, chunk_size);
            let chunks = len.div_ceil(c).max(1);
            assert_eq!(pointer.chunk_count() as usize, chunks, "{len} bytes");
            assert_eq!(pointer.plaintext_size(), len as u64);
            assert_eq!(pointer.chunk_size(), chunk_size);
            assert_eq!(ciphertext.len(), chunks * (c + CHUNK_OVERHEAD));
            assert_eq!(pointer.ciphertext_size(), ciphertext.len() as u64);
            assert_eq!(pointer.digest(), blake3::hash(&ciphertext).as_bytes());
            assert_eq!(
                open(&ciphertext, &pointer).unwrap(),
                plaintext,
                "{len} bytes"
            );
        }
    }
}

#[test]
fn standard_chunk_size_is_64_kib() {
    assert_eq!(CHUNK_SIZE, 64 * 1024);
    assert_eq!(ChunkSize::STANDARD.bytes(), CHUNK_SIZE);
    assert_eq!(ChunkSize::default(), ChunkSize::STANDARD);
    assert_eq!(CHUNK_OVERHEAD, 16);
}

#[test]
fn ciphertext_length_reveals_only_the_chunk_count() {
    // Every plaintext length from 1 to one chunk gives the same ciphertext length, and so
    // does the empty attachment.
    let lengths: Vec<usize> = (0..=64)
        .map(|len| seal(&sample(len, 1), small()).1.len())
        .collect();
    assert!(lengths.iter().all(|&l| l == SEALED), "{lengths:?}");
    // Each chunk is written as a whole, at the same size.
    struct Chunks(Vec<usize>);
    impl Write for Chunks {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut writes = Chunks(Vec::new());
    encrypt(&sample(1000, 3)[..], &mut writes, small(), &mut |_| {}).unwrap();
    assert_eq!(writes.0, vec![SEALED; 16]);
}

#[test]
fn each_attachment_gets_a_fresh_key() {
    let plaintext = sample(100, 9);
    let (a, ca) = seal(&plaintext, small());
    let (b, cb) = seal(&plaintext, small());
    assert_ne!(wire(&a).key, wire(&b).key);
    assert_ne!(ca, cb);
    assert_ne!(a.digest(), b.digest());
}

#[test]
fn chunk_sizes_are_powers_of_two_within_bounds() {
    for ok in [64, 128, 4096, CHUNK_SIZE, 1 << 20, 4 << 20] {
        assert_eq!(ChunkSize::new(ok).unwrap().bytes(), ok);
    }
    for bad in [
        0,
        1,
        32,
        63,
        65,
        96,
        100_000,
        (4 << 20) + 1,
        8 << 20,
        usize::MAX,
    ] {
        assert_err!(
            ChunkSize::new(bad),
            AttachmentError::InvalidChunkSize { size } if size == bad
        );
    }
    assert_eq!(ChunkSize::MIN.bytes(), 64);
    assert_eq!(ChunkSize::MAX.bytes(), 4 << 20);
}

// ---------------------------------------------------------------------------------------
// Progress

#[test]
fn encryption_progress_ends_with_the_total() {
    let mut reports = Vec::new();
    encrypt(
        &sample(200, 2)[..],
        io::sink(),
        small(),
        &mut |p: Progress| reports.push(p),
    )
    .unwrap();
    assert_eq!(
        reports,
        vec![
            Progress {
                done: 64,
                total: None
            },
            Progress {
                done: 128,
                total: None
            },
            Progress {
                done: 192,
                total: None
            },
            Progress {
                done: 200,
                total: Some(200)
            },
        ]
    );
}

#[test]
fn decryption_progress_knows_the_total_and_reaches_it() {
    let (_, pointer, ciphertext) = three_chunks(4);
    let mut reports = Vec::new();
    decrypt(&ciphertext[..], io::sink(), &pointer, &mut |p| {
        reports.push(p)
    })
    .unwrap();
    let done: Vec<u64> = reports.iter().map(|p| p.done).collect();
    assert_eq!(done, vec![64, 128, 150]);
    assert!(reports.iter().all(|p| p.total == Some(150)));
}

#[test]
fn empty_attachment_reports_progress_once() {
    let mut reports = Vec::new();
    let mut ciphertext = Vec::new();
    let pointer = encrypt(&[][..], &mut ciphertext, small(), &mut |p| reports.push(p)).unwrap();
    assert_eq!(
        reports,
        vec![Progress {
            done: 0,
            total: Some(0)
        }]
    );
    reports.clear();
    decrypt(&ciphertext[..], io::sink(), &pointer, &mut |p| {
        reports.push(p)
    })
    .unwrap();
    assert_eq!(
        reports,
        vec![Progress {
            done: 0,
            total: Some(0)
        }]
    );
}

// ---------------------------------------------------------------------------------------
// Streaming

/// A reader that hands out a few bytes at a time and is interrupted now and then, like a
/// network socket.
struct Trickle<R> {
    inner: R,
    calls: usize,
}

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(5) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.calls % 7 + 1);
        self.inner.read(&mut buf[..n])
    }
}

/// A writer that accepts a few bytes per call and is interrupted now and then.
struct Dribble {
    inner: Vec<u8>,
    calls: usize,
}

impl Write for Dribble {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(4) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(self.calls % 5 + 1);
        self.inner.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn short_reads_and_short_writes_are_handled() {
    for len in [0, 1, 63, 64, 65, 500] {
        let plaintext = sample(len, 5);
        let mut ciphertext = Dribble {
            inner: Vec::new(),
            calls: 0,
        };
        let reader = Trickle {
            inner: &plaintext[..],
            calls: 0,
        };
        let pointer = encrypt(reader, &mut ciphertext, small(), &mut |_| {}).unwrap();
        let mut out = Dribble {
            inner: Vec::new(),
            calls: 0,
        };
        let reader = Trickle {
            inner: &ciphertext.inner[..],
            calls: 0,
        };
        decrypt(reader, &mut out, &pointer, &mut |_| {}).unwrap();
        assert_eq!(out.inner, plaintext, "{len} bytes");
    }
}

struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("disk on fire"))
    }
}

impl Write for Failing {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk on fire"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_failures_are_reported_as_io_errors() {
    assert_err!(
        encrypt(Failing, io::sink(), small(), &mut |_| {}),
        AttachmentError::Io(_)
    );
    assert_err!(
        encrypt(&b"data"[..], Failing, small(), &mut |_| {}),
        AttachmentError::Io(_)
    );
    let (_, pointer, ciphertext) = three_chunks(6);
    assert_err!(
        decrypt(Failing, io::sink(), &pointer, &mut |_| {}),
        AttachmentError::Io(_)
    );
    assert_err!(
        decrypt(&ciphertext[..], Failing, &pointer, &mut |_| {}),
        AttachmentError::Io(_)
    );
}

/// Passes bytes on while counting them.
struct Tap<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Tap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A scratch file removed on drop. The ciphertext must be stored between encryption and
/// decryption (the pointer, with its digest, exists only once encryption ends); a file
/// keeps the test's memory constant.
struct ScratchFile(std::path::PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn fifty_mebibytes_stream_through_in_constant_memory() {
    const LEN: u64 = 50 << 20;
    let scratch = ScratchFile(
        std::env::temp_dir().join(format!("sotto-attachment-test-{}.bin", std::process::id())),
    );
    let source = Generator::new(LEN);
    let expected = Expect(source.replay());

    let file = io::BufWriter::new(std::fs::File::create(&scratch.0).unwrap());
    let mut tap = Tap {
        inner: file,
        bytes: 0,
    };
    let mut last = None;
    let pointer = encrypt(source, &mut tap, ChunkSize::STANDARD, &mut |p| {
        last = Some(p)
    })
    .unwrap();
    tap.flush().unwrap();
    assert_eq!(
        last,
        Some(Progress {
            done: LEN,
            total: Some(LEN)
        })
    );
    assert_eq!(pointer.plaintext_size(), LEN);
    assert_eq!(pointer.chunk_count(), 800);
    assert_eq!(tap.bytes, 800 * (CHUNK_SIZE + CHUNK_OVERHEAD) as u64);
    drop(tap);

    let file = io::BufReader::new(std::fs::File::open(&scratch.0).unwrap());
    let mut last = None;
    let written = decrypt(file, expected, &pointer, &mut |p| last = Some(p)).unwrap();
    assert_eq!(written, LEN);
    assert_eq!(
        last,
        Some(Progress {
            done: LEN,
            total: Some(LEN)
        })
    );
}

// ---------------------------------------------------------------------------------------
// Tampering with the ciphertext

#[test]
fn flipping_any_bit_of_the_ciphertext_is_detected() {
    let (_, pointer, ciphertext) = three_chunks(8);
    let mut tampered = ciphertext.clone();
    for byte in 0..tampered.len() {
        for bit in 0..8 {
            tampered[byte] ^= 1 << bit;
            let index = (byte / SEALED) as u32;
            assert_err!(
                open(&tampered, &pointer),
                AttachmentError::ChunkAuthentication { index: i } if i == index
            );
            tampered[byte] ^= 1 << bit;
        }
    }
    assert_eq!(tampered, ciphertext);
}

#[test]
fn dropping_a_chunk_is_detected() {
    let (_, pointer, ciphertext) = three_chunks(10);
    for (dropped, failing) in [(0, 0), (1, 1)] {
        let mut cut = ciphertext.clone();
        cut.drain(dropped * SEALED..(dropped + 1) * SEALED);
        assert_err!(
            open(&cut, &pointer),
            AttachmentError::ChunkAuthentication { index } if index == failing
        );
    }
    // Without its last chunk the stream simply ends too early.
    assert_err!(
        open(&ciphertext[..2 * SEALED], &pointer),
        AttachmentError::Truncated {
            expected: 240,
            received: 160
        }
    );
}

#[test]
fn reordering_or_duplicating_chunks_is_detected() {
    let (_, pointer, ciphertext) = three_chunks(11);
    let chunk = |i| sealed_chunk(&ciphertext, i);
    for (order, failing) in [
        ([1, 0, 2], 0),
        ([0, 2, 1], 1),
        ([2, 1, 0], 0),
        ([0, 1, 1], 2),
        ([0, 0, 2], 1),
    ] {
        let shuffled = order
            .iter()
            .flat_map(|&i| chunk(i).to_vec())
            .collect::<Vec<u8>>();
        assert_err!(
            open(&shuffled, &pointer),
            AttachmentError::ChunkAuthentication { index } if index == failing
        );
    }
}

#[test]
fn a_chunk_from_another_attachment_is_detected() {
    let (plaintext, pointer, ciphertext) = three_chunks(12);
    // Same plaintext, same sizes, other key.
    let (other_pointer, other) = seal(&plaintext, small());
    for index in 0..3 {
        let mut mixed = ciphertext.clone();
        mixed[index * SEALED..(index + 1) * SEALED].copy_from_slice(sealed_chunk(&other, index));
        assert_err!(
            open(&mixed, &pointer),
            AttachmentError::ChunkAuthentication { index: i } if i as usize == index
        );
    }
    // The other attachment's whole ciphertext fails at its first chunk.
    assert_err!(
        open(&other, &pointer),
        AttachmentError::ChunkAuthentication { index: 0 }
    );
    assert_eq!(open(&other, &other_pointer).unwrap(), plaintext);
}

#[test]
fn truncation_anywhere_is_detected() {
    let (_, pointer, ciphertext) = three_chunks(13);
    for len in [0, 1, 79, 80, 81, 150, 160, 200, 239] {
        assert_err!(
            open(&ciphertext[..len], &pointer),
            AttachmentError::Truncated { expected: 240, received } if received == len as u64
        );
    }
}

#[test]
fn bytes_after_the_last_chunk_are_detected() {
    let (_, pointer, ciphertext) = three_chunks(14);
    for extra in [&[0u8][..], &[0xff], &[0; 80], sealed_chunk(&ciphertext, 2)] {
        let mut longer = ciphertext.clone();
        longer.extend_from_slice(extra);
        assert_err!(open(&longer, &pointer), AttachmentError::TrailingData);
    }
}

#[test]
fn arbitrary_ciphertext_is_an_error_not_a_panic() {
    let (_, pointer, _) = three_chunks(15);
    let mut state = 1u32;
    for len in 0..400 {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (state >> 16) as u8
            })
            .collect();
        assert!(open(&junk, &pointer).is_err(), "{len} junk bytes accepted");
    }
}

// ---------------------------------------------------------------------------------------
// The pointer

#[test]
fn pointer_survives_encoding() {
    let (_, mut pointer, ciphertext) = three_chunks(16);
    pointer
        .set_location("sotto://relay@example.org:443/chunks/abc".into())
        .unwrap();
    let decoded = AttachmentPointer::decode(&pointer.encode()).unwrap();
    assert_eq!(decoded, pointer);
    assert_eq!(
        decoded.location(),
        "sotto://relay@example.org:443/chunks/abc"
    );
    assert_eq!(open(&ciphertext, &decoded).unwrap(), sample(150, 16));
    let message = wire(&pointer);
    assert_eq!(message.version, 1);
    assert_eq!(message.key.len(), 32);
    assert_eq!(message.digest, pointer.digest());
    assert_eq!(
        (
            message.plaintext_size,
            message.chunk_size,
            message.chunk_count
        ),
        (150, 64, 3)
    );
}

#[test]
fn a_new_pointer_has_no_location_and_a_long_one_is_refused() {
    let (_, mut pointer, _) = three_chunks(17);
    assert_eq!(pointer.location(), "");
    pointer.set_location("x".repeat(MAX_LOCATION_LEN)).unwrap();
    assert_err!(
        pointer.set_location("x".repeat(MAX_LOCATION_LEN + 1)),
        AttachmentError::InvalidPointer(PointerError::LocationLength(_))
    );
    assert_eq!(pointer.location().len(), MAX_LOCATION_LEN);
}

#[test]
fn debug_output_hides_the_key_and_location() {
    let (_, mut pointer, _) = three_chunks(18);
    pointer.set_location("secret-capability".into()).unwrap();
    let key = wire(&pointer).key;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let shown = format!("{pointer:?} {pointer:#?}");
    assert!(!shown.contains(&hex));
    assert!(!shown.contains(&format!("{key:?}")));
    assert!(!shown.contains("secret-capability"));
    assert!(shown.contains("redacted"));
}

#[test]
fn every_malformed_pointer_field_is_refused() {
    let (_, pointer, _) = three_chunks(19);
    type Edit = fn(&mut WirePointer);
    type Expected = fn(&PointerError) -> bool;
    let cases: Vec<(Edit, Expected)> = vec![
        (
            |m| m.version = 0,
            |e| matches!(e, PointerError::UnsupportedVersion(0)),
        ),
        (
            |m| m.version = 2,
            |e| matches!(e, PointerError::UnsupportedVersion(2)),
        ),
        (
            |m| m.key.clear(),
            |e| matches!(e, PointerError::KeyLength(0)),
        ),
        (
            |m| m.key.truncate(31),
            |e| matches!(e, PointerError::KeyLength(31)),
        ),
        (
            |m| m.key.push(0),
            |e| matches!(e, PointerError::KeyLength(33)),
        ),
        (
            |m| m.digest.clear(),
            |e| matches!(e, PointerError::DigestLength(0)),
        ),
        (
            |m| m.digest.truncate(31),
            |e| matches!(e, PointerError::DigestLength(31)),
        ),
        (
            |m| m.digest.push(0),
            |e| matches!(e, PointerError::DigestLength(33)),
        ),
        (
            |m| m.chunk_size = 0,
            |e| matches!(e, PointerError::ChunkSize(0)),
        ),
        (
            |m| m.chunk_size = 32,
            |e| matches!(e, PointerError::ChunkSize(32)),
        ),
        (
            |m| m.chunk_size = 96,
            |e| matches!(e, PointerError::ChunkSize(96)),
        ),
        (
            |m| m.chunk_size = 8 << 20,
            |e| matches!(e, PointerError::ChunkSize(_)),
        ),
        (
            |m| m.chunk_size = u32::MAX,
            |e| matches!(e, PointerError::ChunkSize(_)),
        ),
        (
            |m| {
                m.plaintext_size = MAX_PLAINTEXT_SIZE + 1;
                m.chunk_count = u32::MAX;
            },
            |e| matches!(e, PointerError::PlaintextSize(_)),
        ),
        (
            |m| m.plaintext_size = u64::MAX,
            |e| matches!(e, PointerError::PlaintextSize(u64::MAX)),
        ),
        (
            |m| m.chunk_count = 0,
            |e| {
                matches!(
                    e,
                    PointerError::ChunkCount {
                        expected: 3,
                        found: 0
                    }
                )
            },
        ),
        (
            |m| m.chunk_count = 2,
            |e| {
                matches!(
                    e,
                    PointerError::ChunkCount {
                        expected: 3,
                        found: 2
                    }
                )
            },
        ),
        (
            |m| m.chunk_count = 4,
            |e| {
                matches!(
                    e,
                    PointerError::ChunkCount {
                        expected: 3,
                        found: 4
                    }
                )
            },
        ),
        (
            |m| m.plaintext_size = 0,
            |e| {
                matches!(
                    e,
                    PointerError::ChunkCount {
                        expected: 1,
                        found: 3
                    }
                )
            },
        ),
        (
            |m| m.location = "x".repeat(MAX_LOCATION_LEN + 1),
            |e| matches!(e, PointerError::LocationLength(_)),
        ),
    ];
    for (i, (edit, expected)) in cases.into_iter().enumerate() {
        match AttachmentPointer::decode(&rewire(&pointer, edit)) {
            Err(AttachmentError::InvalidPointer(e)) => assert!(expected(&e), "case {i}: {e:?}"),
            other => panic!("case {i}: expected an invalid pointer, got {other:?}"),
        }
    }
}

#[test]
fn garbage_and_empty_pointers_are_refused() {
    let (_, pointer, _) = three_chunks(20);
    // An empty message decodes to all defaults: version 0.
    assert_err!(
        AttachmentPointer::decode(&[]),
        AttachmentError::InvalidPointer(PointerError::UnsupportedVersion(0))
    );
    let encoded = pointer.encode();
    for cut in [1, 5, 20, 40, encoded.len() - 1] {
        assert_err!(
            AttachmentPointer::decode(&encoded[..cut]),
            AttachmentError::InvalidPointer(PointerError::Malformed(_))
        );
    }
    for garbage in [
        &[0xffu8; 12][..],
        &[0x0f],
        &[0x12, 0x40, 0x01],
        b"hello, pointer",
    ] {
        assert_err!(
            AttachmentPointer::decode(garbage),
            AttachmentError::InvalidPointer(_)
        );
    }
    // Invalid UTF-8 in the location (field 7) is malformed protobuf for a string field.
    let mut bad_location = rewire(&pointer, |m| m.location.clear());
    bad_location.extend_from_slice(&[0x3a, 0x02, 0xc3, 0x28]);
    assert_err!(
        AttachmentPointer::decode(&bad_location),
        AttachmentError::InvalidPointer(PointerError::Malformed(_))
    );
    // Random bytes never panic.
    let mut state = 7u32;
    for len in 0..2000 {
        let junk: Vec<u8> = (0..len % 120)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        let _ = AttachmentPointer::decode(&junk);
    }
}

#[test]
fn a_pointer_that_does_not_match_the_ciphertext_is_detected() {
    let (_, pointer, ciphertext) = three_chunks(21);
    let check = |edit: fn(&mut WirePointer)| {
        let forged = AttachmentPointer::decode(&rewire(&pointer, edit)).unwrap();
        open(&ciphertext, &forged)
    };
    // Wrong key: the first chunk already fails.
    assert_err!(
        check(|m| m.key[0] ^= 1),
        AttachmentError::ChunkAuthentication { index: 0 }
    );
    // Wrong digest: every chunk is authentic, the whole is not what the pointer names.
    assert_err!(
        check(|m| m.digest[31] ^= 1),
        AttachmentError::DigestMismatch
    );
    // Wrong plaintext size with the same chunk count: the last chunk authenticates it.
    assert_err!(
        check(|m| m.plaintext_size = 140),
        AttachmentError::ChunkAuthentication { index: 2 }
    );
    assert_err!(
        check(|m| m.plaintext_size = 160),
        AttachmentError::ChunkAuthentication { index: 2 }
    );
    // Wrong chunk size: the chunk boundaries no longer line up.
    assert_err!(
        check(|m| {
            m.chunk_size = 128;
            m.chunk_count = 2;
        }),
        AttachmentError::ChunkAuthentication { index: 0 }
    );
    // More chunks than the ciphertext holds.
    assert_err!(
        check(|m| {
            m.plaintext_size = 200;
            m.chunk_count = 4;
        }),
        AttachmentError::ChunkAuthentication { index: 2 }
    );
}

#[test]
fn attachment_errors_map_to_the_attachment_code() {
    let (_, pointer, ciphertext) = three_chunks(22);
    let err = open(&ciphertext[..10], &pointer).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
    assert_eq!(Error::from(err).code(), ErrorCode::Attachment);
}

// ---------------------------------------------------------------------------------------
// Pushed in pieces (StreamEncryptor, StreamDecryptor)

/// Encrypts `plaintext` through a [`StreamEncryptor`], pushing it in pieces of `piece`.
fn seal_pushed(
    plaintext: &[u8],
    chunk_size: ChunkSize,
    piece: usize,
) -> (AttachmentPointer, Vec<u8>) {
    let mut encryptor = StreamEncryptor::new(plaintext.len() as u64, chunk_size).unwrap();
    let mut ciphertext = Vec::new();
    for part in plaintext.chunks(piece.max(1)) {
        encryptor.push(part, &mut ciphertext).unwrap();
    }
    let expected = encryptor.ciphertext_size();
    let pointer = encryptor.finish(&mut ciphertext).unwrap();
    assert_eq!(ciphertext.len() as u64, expected);
    assert_eq!(pointer.ciphertext_size(), expected);
    (pointer, ciphertext)
}

/// Decrypts through a [`StreamDecryptor`], pushing the ciphertext in pieces of `piece`.
fn open_pushed(
    ciphertext: &[u8],
    pointer: &AttachmentPointer,
    piece: usize,
) -> Result<Vec<u8>, AttachmentError> {
    let mut decryptor = StreamDecryptor::new(pointer);
    let mut plaintext = Vec::new();
    for part in ciphertext.chunks(piece.max(1)) {
        decryptor.push(part, &mut plaintext)?;
    }
    let size = decryptor.finish(&mut plaintext)?;
    assert_eq!(size, plaintext.len() as u64);
    Ok(plaintext)
}

#[test]
fn pushed_pieces_of_any_size_make_the_same_format() {
    for len in [0, 1, 63, 64, 65, 128, 150, 1000] {
        let plaintext = sample(len, 21);
        for piece in [1, 7, 64, 65, 4096] {
            let (pointer, ciphertext) = seal_pushed(&plaintext, small(), piece);
            // The reader/writer functions open what was pushed, and the other way round.
            assert_eq!(
                open(&ciphertext, &pointer).unwrap(),
                plaintext,
                "{len}/{piece}"
            );
            let (pointer, ciphertext) = seal(&plaintext, small());
            assert_eq!(
                open_pushed(&ciphertext, &pointer, piece).unwrap(),
                plaintext,
                "{len}/{piece}"
            );
        }
    }
}

#[test]
fn a_pushed_stream_must_hold_its_declared_size() {
    let mut encryptor = StreamEncryptor::new(10, small()).unwrap();
    let mut ciphertext = Vec::new();
    assert_err!(
        encryptor.push(&[1; 11], &mut ciphertext),
        AttachmentError::SizeMismatch {
            declared: 10,
            given: 11
        }
    );
    // The refused push took nothing: the declared bytes still fit.
    encryptor.push(&[1; 4], &mut ciphertext).unwrap();
    assert_eq!(encryptor.pushed(), 4);
    assert_err!(
        encryptor.finish(&mut ciphertext),
        AttachmentError::SizeMismatch {
            declared: 10,
            given: 4
        }
    );
    assert_err!(
        StreamEncryptor::new(MAX_PLAINTEXT_SIZE + 1, small()),
        AttachmentError::TooLarge
    );
}

#[test]
fn pushed_ciphertext_is_checked_like_read_ciphertext() {
    let (plaintext, pointer, ciphertext) = three_chunks(22);
    assert_eq!(open_pushed(&ciphertext, &pointer, 33).unwrap(), plaintext);
    for len in [0, 1, 80, 239] {
        assert_err!(
            open_pushed(&ciphertext[..len], &pointer, 33),
            AttachmentError::Truncated { expected: 240, received } if received == len as u64
        );
    }
    let mut longer = ciphertext.clone();
    longer.push(0);
    assert_err!(
        open_pushed(&longer, &pointer, 33),
        AttachmentError::TrailingData
    );
    for bit in [0, 80 * 8 + 3, 239 * 8 + 7] {
        let mut flipped = ciphertext.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert_err!(
            open_pushed(&flipped, &pointer, 33),
            AttachmentError::ChunkAuthentication { .. }
        );
    }
    // Nothing of the last chunk comes out before every check passed.
    let mut decryptor = StreamDecryptor::new(&pointer);
    let mut opened = Vec::new();
    decryptor.push(&ciphertext, &mut opened).unwrap();
    assert_eq!(opened, plaintext[..128]);
    assert_eq!(decryptor.received(), 240);
}
