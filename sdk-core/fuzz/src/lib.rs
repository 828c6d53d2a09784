//! The decoder call behind each fuzz target: arbitrary bytes in, a `Result` out, and never a
//! panic.
//!
//! This one file is used twice: by the cargo-fuzz targets in `fuzz_targets/` (nightly) and,
//! through `#[path]`, by `sdk-core/tests/fuzz_corpus.rs`, which replays every corpus and
//! regression file on the stable toolchain. So the test suite runs exactly what the fuzzers
//! run. One function per target, named like the target.

use sotto_core::{
    attachment::AttachmentPointer,
    content::Content,
    identity::PublicIdentity,
    invitation::{Invitation, InvitationLink, ShortInvitation},
    onion, padding,
    relay::{
        ApiError, AttachmentLocation, AuthHeader, ChunkId, ChunkSecret, CreateQueue, Endpoint,
        QueueCreated, ReadAfterAck, RelayAddress,
    },
    sealed,
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

/// What a relay parses from a client, and a client from a relay: the first byte picks the
/// parser (address, `Sotto-Auth` header, method + path, the JSON bodies), the rest is its
/// input. Whatever parses must print back to the same value.
pub fn relay_request(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let text = std::str::from_utf8(input).ok();
    match selector % 7 {
        0 => {
            if let Some(address) = text.and_then(|t| RelayAddress::parse(t).ok()) {
                assert_eq!(RelayAddress::parse(&address.to_string()), Ok(address));
            }
        }
        1 => {
            if let Ok(header) = AuthHeader::parse(input) {
                assert_eq!(AuthHeader::parse(header.encode().as_bytes()), Ok(header));
            }
        }
        2 => {
            if let Some((method, path)) = text.and_then(|t| t.split_once(' '))
                && let Ok(endpoint) = Endpoint::parse(method, path)
            {
                assert_eq!(
                    Endpoint::parse(endpoint.method(), &endpoint.path()),
                    Ok(endpoint)
                );
            }
        }
        3 => {
            if let Ok(request) = CreateQueue::from_json(input) {
                assert_eq!(CreateQueue::from_json(&request.to_json()), Ok(request));
            }
        }
        5 => {
            if let Ok(read) = ReadAfterAck::from_json(input) {
                assert_eq!(ReadAfterAck::from_json(&read.to_json()), Ok(read));
            }
        }
        4 => {
            if let Ok(created) = QueueCreated::from_json(input) {
                assert_eq!(QueueCreated::from_json(&created.to_json()), Ok(created));
            }
        }
        _ => {
            if let Some(error) = ApiError::from_json(input) {
                assert_eq!(ApiError::from_json(&error.to_json()), Some(error));
            }
        }
    }
}

/// An invitation as scanned from a QR code or pasted as a URI; whatever verifies must
/// survive its URI form unchanged.
pub fn invitation(data: &[u8]) {
    if let Ok(invitation) = Invitation::from_scanned(data) {
        let again = Invitation::from_uri(&invitation.to_uri()).expect("own URI parses");
        assert_eq!(again.to_bytes(), invitation.to_bytes());
    }
}

/// An invitation link of either form as scanned or pasted (first byte even), or the bytes
/// a relay hands out for a short link's sealed invitation (first byte odd), opened with a
/// fixed link. A short link that parses prints back to itself; nothing panics.
pub fn invitation_link(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        if let Ok(InvitationLink::Short(short)) = InvitationLink::from_scanned(input) {
            let again = ShortInvitation::parse(&short.to_uri()).expect("own link parses");
            assert_eq!(again, short);
        }
    } else {
        let relay = RelayAddress::parse(
            "sotto://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@127.0.0.1:4433",
        )
        .expect("a fixed relay address");
        let _ = ShortInvitation::for_queue(relay, b"fuzzing").open(input);
    }
}

/// An attachment's chunk location as read from a pointer's `location` (first byte even), or
/// a chunk id and a capability header as a relay reads them (first byte odd). Whatever
/// parses must print back to the same value, and a location's text fits in a pointer.
pub fn chunk_location(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        if let Some(location) = std::str::from_utf8(input)
            .ok()
            .and_then(|text| AttachmentLocation::parse(text).ok())
        {
            let text = location.to_string();
            assert!(text.len() <= sotto_core::attachment::MAX_LOCATION_LEN);
            assert_eq!(AttachmentLocation::parse(&text), Ok(location));
        }
        return;
    }
    if let Ok(secret) = ChunkSecret::from_text(input) {
        assert_eq!(secret.to_text().as_bytes(), input);
    }
    if let Some(id) = std::str::from_utf8(input)
        .ok()
        .and_then(|text| ChunkId::from_text(text).ok())
    {
        assert_eq!(ChunkId::from_text(&id.to_text()), Ok(id));
    }
}

/// What a relay parses of an onion packet, and a client of a relay's Sphinx keys: the first
/// byte picks the parser (a last hop's delivery, a packet or batch opened with a fixed key,
/// a 32-byte hop address, a key announcement as JSON), the rest is its input. A delivery or
/// hop address that parses must encode back to the same bytes.
pub fn onion_packet(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => onion::fuzz_parse_delivery(input),
        1 => onion::fuzz_open_packet(input),
        2 => {
            if let Ok(bytes) = <[u8; onion::HOP_ADDRESS_LEN]>::try_from(input)
                && let Ok(hop) = onion::HopAddress::from_bytes(&bytes)
            {
                assert_eq!(onion::HopAddress::from_bytes(&hop.to_bytes()), Ok(hop));
            }
        }
        _ => onion::fuzz_parse_announcement(input),
    }
}

/// A voice clip's Ogg Opus container (`voice::inspect`) and its audio (`voice::decode`, as
/// a client plays a clip it received): headers, length and samples read, never a panic,
/// whatever the bytes.
#[cfg(feature = "voice")]
pub fn voice_clip(data: &[u8]) {
    let _ = sotto_core::voice::inspect(data);
    if let Ok(clip) = sotto_core::voice::decode(data) {
        assert!(clip.duration_ms() <= sotto_core::voice::MAX_DURATION_MS);
    }
}
