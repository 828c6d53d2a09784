//! Moving a whole attachment's ciphertext to and from a relay's chunk store
//! (`docs/PROTOCOL.md` §17): cut into parts of [`PART_BYTES`], each stored under the
//! capabilities its [`ChunkSeed`] derives.
//!
//! Memory stays at most one part (4 MiB) whatever the attachment's size: an upload reads
//! one part from the caller's reader at a time, a download writes each part to the caller's
//! writer as it arrives. A part interrupted by a network failure is retried (an upload)
//! or resumed from the byte it stopped at (a download, with a `Range` request), up to
//! [`ATTEMPTS`] times.

use std::io::{Read, Write};

use super::TransportError;
use super::client::{RelayClient, is_transient};
use crate::relay::chunks::{part_count, part_len};
use crate::relay::{AttachmentLocation, ChunkSeed, ErrorKind, PART_BYTES};

/// How many times one part's transfer is tried before a transient failure is returned.
pub const ATTEMPTS: u32 = 3;

/// Uploads `ciphertext` (exactly `ciphertext_size` bytes, as made by
/// [`crate::attachment::encrypt`]) to `client`'s relay as the parts of `seed`, reporting
/// `progress(done, total)` in bytes after each part. Afterwards
/// `AttachmentLocation { relay: client.address().clone(), seed }` finds it.
///
/// A reader ending early or holding more than `ciphertext_size` bytes is
/// [`TransportError::Io`] (a longer one is noticed before its last part is sent). A relay
/// refusal (a full store, a part too large for it) is [`TransportError::Relay`]; parts
/// stored before it stay until they expire or [`delete_attachment`] removes them.
pub async fn upload_attachment<R: Read>(
    client: &RelayClient,
    seed: &ChunkSeed,
    mut ciphertext: R,
    ciphertext_size: u64,
    mut progress: impl FnMut(u64, u64),
) -> Result<(), TransportError> {
    let parts = part_count(ciphertext_size);
    let mut done = 0u64;
    for index in 0..parts {
        let len = part_len(ciphertext_size, index).unwrap_or(0);
        let mut part = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        (&mut ciphertext)
            .take(len)
            .read_to_end(&mut part)
            .map_err(|e| TransportError::Io(e.to_string()))?;
        if part.len() as u64 != len {
            return Err(TransportError::Io(
                "the ciphertext ended before its declared size".into(),
            ));
        }
        if index + 1 == parts && !at_end(&mut ciphertext)? {
            return Err(TransportError::Io(
                "the ciphertext is longer than its declared size".into(),
            ));
        }
        upload_part(client, seed, index, bytes::Bytes::from(part)).await?;
        done += len;
        progress(done, ciphertext_size);
    }
    Ok(())
}

/// Uploads part `index` of the attachment `seed` names (every part but the last exactly
/// [`PART_BYTES`]), retrying a transient failure up to [`ATTEMPTS`] times.
///
/// # Errors
/// As [`upload_attachment`].
pub async fn upload_part(
    client: &RelayClient,
    seed: &ChunkSeed,
    index: u64,
    part: bytes::Bytes,
) -> Result<(), TransportError> {
    let secrets = seed.part(part_index(index)?);
    let mut attempt = 1;
    loop {
        match client.put_part(&secrets, part.clone()).await {
            Ok(()) => return Ok(()),
            // Our own earlier attempt landed before its answer was lost: only holders of
            // the seed can name this part.
            Err(TransportError::Relay(e)) if attempt > 1 && e.kind == ErrorKind::ChunkExists => {
                return Ok(());
            }
            Err(e) if is_transient(&e) && attempt < ATTEMPTS => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Downloads part `index` (of `len` bytes) of the attachment `seed` names into `sink`,
/// resuming an interrupted transfer from the byte it stopped at, up to [`ATTEMPTS`] times.
/// The part is complete when this returns `Ok`.
///
/// # Errors
/// As [`download_attachment`].
pub async fn download_part<W: PartSink>(
    client: &RelayClient,
    seed: &ChunkSeed,
    index: u64,
    len: u64,
    sink: &mut W,
) -> Result<(), TransportError> {
    let secrets = seed.part(part_index(index)?);
    let mut attempt = 1;
    loop {
        match client.get_part(&secrets, sink.received(), len, sink).await {
            Ok(()) => return Ok(()),
            Err(e) if is_transient(&e) && attempt < ATTEMPTS => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Where a part's bytes go, knowing how many of them it holds already (where an
/// interrupted download resumes).
pub trait PartSink: Write {
    /// Bytes of the current part written so far.
    fn received(&self) -> u64;
}

impl PartSink for Vec<u8> {
    fn received(&self) -> u64 {
        self.len() as u64
    }
}

/// Downloads the attachment at `location` (which must name `client`'s relay) into
/// `writer`: exactly `expected_size` bytes (the pointer's
/// [`ciphertext_size`](crate::attachment::AttachmentPointer::ciphertext_size)), reporting
/// `progress(done, total)` in bytes as they arrive.
///
/// Every part must have exactly its length; a relay sending more or fewer bytes is
/// [`TransportError::InvalidAnswer`]. A part that is gone is
/// [`TransportError::Relay`] with [`ErrorKind::UnknownChunk`]. The bytes are not yet
/// checked: [`crate::attachment::decrypt`] checks them against the pointer's digest, and
/// what was written before an error must be discarded.
pub async fn download_attachment<W: Write>(
    client: &RelayClient,
    location: &AttachmentLocation,
    expected_size: u64,
    writer: W,
    mut progress: impl FnMut(u64, u64),
) -> Result<(), TransportError> {
    if &location.relay != client.address() {
        return Err(TransportError::WrongRelay);
    }
    let mut sink = Counting {
        inner: writer,
        written: 0,
        done_before: 0,
        total: expected_size,
        progress: &mut progress,
    };
    for index in 0..part_count(expected_size) {
        let len = part_len(expected_size, index).unwrap_or(0);
        sink.done_before = index * PART_BYTES;
        sink.written = 0;
        download_part(client, &location.seed, index, len, &mut sink).await?;
    }
    sink.inner
        .flush()
        .map_err(|e| TransportError::Io(e.to_string()))
}

/// Deletes the parts of the attachment at `location` (which must name `client`'s relay),
/// in order, until the first part the relay does not hold: parts are consecutive, so that
/// is past the last one. Parts already gone are no error. Parts left behind by an
/// interrupted deletion expire with the rest.
pub async fn delete_attachment(
    client: &RelayClient,
    location: &AttachmentLocation,
) -> Result<(), TransportError> {
    if &location.relay != client.address() {
        return Err(TransportError::WrongRelay);
    }
    for index in 0..=u32::MAX {
        let secrets = location.seed.part(index);
        let mut attempt = 1;
        loop {
            match client.delete_part(&secrets).await {
                Ok(()) => break,
                Err(TransportError::Relay(e)) if e.kind == ErrorKind::UnknownChunk => {
                    return Ok(());
                }
                Err(e) if is_transient(&e) && attempt < ATTEMPTS => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// A part's index as the derivation takes it. 2^32 parts of 4 MiB is far beyond any
/// attachment (at most 64 GiB of plaintext).
fn part_index(index: u64) -> Result<u32, TransportError> {
    u32::try_from(index).map_err(|_| TransportError::Io("the attachment is too large".into()))
}

/// Whether `reader` has nothing left.
fn at_end<R: Read>(reader: &mut R) -> Result<bool, TransportError> {
    let mut probe = [0u8; 1];
    loop {
        match reader.read(&mut probe) {
            Ok(n) => return Ok(n == 0),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(TransportError::Io(e.to_string())),
        }
    }
}

/// The caller's writer, counting what one part wrote (to resume from there) and reporting
/// progress.
struct Counting<'a, W, P: FnMut(u64, u64)> {
    inner: W,
    written: u64,
    done_before: u64,
    total: u64,
    progress: &'a mut P,
}

impl<W: Write, P: FnMut(u64, u64)> PartSink for Counting<'_, W, P> {
    fn received(&self) -> u64 {
        self.written
    }
}

impl<W: Write, P: FnMut(u64, u64)> Write for Counting<'_, W, P> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.written += n as u64;
        (self.progress)(self.done_before + self.written, self.total);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
