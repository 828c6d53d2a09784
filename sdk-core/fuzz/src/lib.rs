//! The decoder call behind each fuzz target: arbitrary bytes in, a `Result` out, and never a
//! panic.
//!
//! This one file is used twice: by the cargo-fuzz targets in `fuzz_targets/` (nightly) and,
//! through `#[path]`, by `sdk-core/tests/fuzz_corpus.rs`, which replays every corpus and
//! regression file on the stable toolchain. So the test suite runs exactly what the fuzzers
//! run. One function per target, named like the target.

use sotto_core::{
    attachment::AttachmentPointer, content::Content, identity::PublicIdentity, padding, sealed,
    store::KeyInfo,
};

/// A content frame (protobuf) as it comes out of a decrypted session message.
pub fn content_frame(data: &[u8]) {
    let _ = Content::decode(data);
}

/// A fixed-size packet payload from the network: length, sealed message, zero fill.
pub fn unpad(data: &[u8]) {
    let _ = padding::unpad(data);
}

/// An attachment pointer, as carried inside image, file and voice-clip frames.
pub fn attachment_pointer(data: &[u8]) {
    let _ = AttachmentPointer::decode(data);
}

/// A contact's public identity, pasted or scanned as text, or received as bytes.
pub fn identity_import(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PublicIdentity::from_text(text);
    }
    let _ = PublicIdentity::from_bytes(data);
}

/// A sealed-sender packet from the network, opened for a fixed recipient.
pub fn sealed_open(data: &[u8]) {
    let _ = sealed::fuzz_open(data);
}

/// A profile's key header file, as read from a folder other programs can write; whatever
/// it accepts must encode and decode back to itself.
pub fn key_info(data: &[u8]) {
    if let Ok(info) = KeyInfo::decode(data) {
        assert_eq!(KeyInfo::decode(&info.encode()), Ok(info));
    }
}
