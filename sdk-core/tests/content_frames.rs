//! Content frames: every body kind survives the wire, every broken rule is refused with the
//! error that names it, and no input makes the decoder panic.

use rand::{Rng, SeedableRng, rngs::StdRng};
use sotto_core::attachment::AttachmentPointer;
use sotto_core::content::{
    Body, BodyKind, ContactAccept, Content, ContentError, File, Image, MAX_FRAME_BYTES,
    MAX_MIME_BYTES, MAX_NAME_BYTES, MAX_RECEIPT_IDS, MAX_TEXT_BYTES, MAX_THUMBNAIL_BYTES,
    MAX_WAVEFORM_SAMPLES, MessageId, Receipt, ReceiptKind, VoiceClip,
};
use sotto_core::{Error, ErrorCode};

/// The generated wire types, used here to build frames field by field (including broken
/// ones the public API cannot express).
#[allow(dead_code, clippy::all)]
mod wire {
    include!(concat!(env!("OUT_DIR"), "/sotto.content.rs"));
}

use prost::Message as _;
use wire::frame::Body as WireBody;

// ---------------------------------------------------------------------------------------
// Helpers

/// A well-formed attachment pointer as the attachment module writes it.
fn wire_pointer() -> wire::AttachmentPointer {
    wire::AttachmentPointer {
        version: 1,
        key: vec![0x11; 32],
        digest: vec![0x22; 32],
        plaintext_size: 100_000,
        chunk_size: 65_536,
        chunk_count: 2,
        location: String::new(),
    }
}

/// A frame with a valid header around `body`.
fn frame(body: Option<WireBody>) -> wire::Frame {
    wire::Frame {
        version: 1,
        message_id: vec![0x5a; 16],
        sequence: 7,
        timestamp_ms: 1_700_000_000_456,
        body,
    }
}

fn wire_image() -> wire::Image {
    wire::Image {
        mime: "image/jpeg".into(),
        width: 640,
        height: 480,
        thumbnail: vec![0xd8; 100],
        attachment: Some(wire_pointer()),
    }
}

fn wire_file() -> wire::File {
    wire::File {
        name: "notes.txt".into(),
        mime: "text/plain".into(),
        size: 100_000,
        attachment: Some(wire_pointer()),
    }
}

fn wire_voice_clip() -> wire::VoiceClip {
    wire::VoiceClip {
        duration_ms: 3_200,
        codec: "opus".into(),
        waveform: (0..=255).collect(),
        attachment: Some(wire_pointer()),
    }
}

fn wire_receipt(ids: usize) -> wire::Receipt {
    wire::Receipt {
        kind: wire::receipt::Kind::Read as i32,
        message_ids: (0..ids).map(|i| vec![i as u8; 16]).collect(),
    }
}

fn decode_wire(frame: &wire::Frame) -> Result<Content, ContentError> {
    Content::decode(&frame.encode_to_vec())
}

fn decode_body(body: WireBody) -> Result<Content, ContentError> {
    decode_wire(&frame(Some(body)))
}

/// The error `decode` gives; fails the test if it accepts.
fn refused(result: Result<Content, ContentError>) -> ContentError {
    match result {
        Ok(content) => panic!("accepted a broken frame: {content:?}"),
        Err(error) => error,
    }
}

/// An [`AttachmentPointer`] obtained the way a recipient gets one: from a decoded frame.
fn pointer() -> AttachmentPointer {
    match decode_body(WireBody::File(wire_file())).map(|content| content.body) {
        Ok(Body::File(file)) => file.attachment,
        other => panic!("a valid file frame did not decode: {other:?}"),
    }
}

fn id(byte: u8) -> MessageId {
    MessageId::from_bytes([byte; 16])
}

fn content(body: Body) -> Content {
    Content {
        id: id(0x42),
        sequence: 3,
        timestamp_ms: 1_700_000_000_000,
        body,
    }
}

/// Encodes, decodes and checks that nothing changed, and that re-encoding gives the same
/// bytes.
fn round_trip(original: Content) {
    original.validate().expect("test content is valid");
    let bytes = original.encode();
    let decoded = Content::decode(&bytes).expect("a valid frame decodes");
    assert_eq!(decoded, original);
    assert_eq!(decoded.encode(), bytes);
}

/// Every strict prefix of `bytes` is refused, without panicking.
fn every_truncation_refused(bytes: &[u8]) {
    for len in 0..bytes.len() {
        let result = Content::decode(&bytes[..len]);
        assert!(result.is_err(), "prefix of {len} bytes was accepted");
    }
}

/// A valid reply queue for contact-accept frames.
fn reply_queue() -> sotto_core::relay::SendCapability {
    sotto_core::relay::SendCapability {
        relay: sotto_core::relay::RelayAddress::parse(
            "sotto://AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8@relay.example.org:7443",
        )
        .unwrap(),
        sender_id: sotto_core::relay::SenderId::from_bytes([9; 16]),
        sender_key: sotto_core::relay::QueueKeyPair::from_private_bytes(&[0x41; 32]).unwrap(),
    }
}

/// The wire form of a valid contact accept, to change one field of.
fn wire_accept_base() -> wire::ContactAccept {
    let queue = reply_queue();
    wire::ContactAccept {
        display_name: String::new(),
        reply_relay: queue.relay.to_string(),
        reply_sender_id: queue.sender_id.as_bytes().to_vec(),
        reply_sender_key: queue.sender_key.private_bytes().to_vec(),
    }
}

fn image() -> Image {
    Image {
        mime: "image/png".into(),
        width: 1920,
        height: 1080,
        thumbnail: vec![0x89; 512],
        attachment: pointer(),
    }
}

fn file() -> File {
    File {
        name: "Quarterly report (final).pdf".into(),
        mime: "application/pdf".into(),
        size: 2_345_678,
        attachment: pointer(),
    }
}

fn voice_clip() -> VoiceClip {
    VoiceClip {
        duration_ms: 12_345,
        codec: "opus".into(),
        waveform: vec![7; 64],
        attachment: pointer(),
    }
}

// ---------------------------------------------------------------------------------------
// Pinned wire format

/// A text frame, written field by field in docs/PROTOCOL.md.
const TEXT_VECTOR: &str = "08011210000102030405060708090a0b0c0d0e0f18012080d095ffbc3152040a026869";

/// A read receipt for two messages.
const RECEIPT_VECTOR: &str = "08011210a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5182a20fbd095ffbc3172260801\
                              1210aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1210bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A file frame with its attachment pointer.
const FILE_VECTOR: &str = "080112105a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a180720c8d395ffbc31626d0a09\
                           6e6f7465732e747874120a746578742f706c61696e18a08d06225008011220111111\
                           11111111111111111111111111111111111111111111111111111111111a20222222\
                           222222222222222222222222222222222222222222222222222222222220a08d0628\
                           8080043002";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("valid hex"))
        .collect()
}

#[test]
fn a_text_frame_encodes_to_the_pinned_bytes() {
    let hi = Content {
        id: MessageId::from_bytes(core::array::from_fn(|i| i as u8)),
        sequence: 1,
        timestamp_ms: 1_700_000_000_000,
        body: Body::Text("hi".into()),
    };
    assert_eq!(hex(&hi.encode()), TEXT_VECTOR);
    assert_eq!(Content::decode(&unhex(TEXT_VECTOR)).unwrap(), hi);
}

#[test]
fn a_receipt_frame_encodes_to_the_pinned_bytes() {
    let receipt = Content {
        id: id(0xa5),
        sequence: 42,
        timestamp_ms: 1_700_000_000_123,
        body: Body::Receipt(Receipt {
            kind: ReceiptKind::Read,
            message_ids: vec![id(0xaa), id(0xbb)],
        }),
    };
    assert_eq!(hex(&receipt.encode()), RECEIPT_VECTOR);
    assert_eq!(Content::decode(&unhex(RECEIPT_VECTOR)).unwrap(), receipt);
}

#[test]
fn a_file_frame_with_its_pointer_reencodes_to_the_pinned_bytes() {
    let bytes = unhex(FILE_VECTOR);
    let decoded = Content::decode(&bytes).unwrap();
    assert_eq!(decoded.id, id(0x5a));
    assert_eq!(decoded.sequence, 7);
    assert_eq!(decoded.timestamp_ms, 1_700_000_000_456);
    match &decoded.body {
        Body::File(file) => {
            assert_eq!(file.name, "notes.txt");
            assert_eq!(file.mime, "text/plain");
            assert_eq!(file.size, 100_000);
        }
        other => panic!("expected a file, got {other:?}"),
    }
    assert_eq!(hex(&decoded.encode()), FILE_VECTOR);
    // The vector is also what the generated types write for the same fields.
    assert_eq!(
        hex(&frame(Some(WireBody::File(wire_file()))).encode_to_vec()),
        FILE_VECTOR
    );
}

// ---------------------------------------------------------------------------------------
// Round trips

#[test]
fn text_round_trips() {
    round_trip(content(Body::Text("hello, bob".into())));
    round_trip(content(Body::Text(String::new())));
    round_trip(content(Body::Text("🔐 ünïcödé\nsecond line\ttab".into())));
    round_trip(content(Body::Text("x".repeat(MAX_TEXT_BYTES))));
}

#[test]
fn image_round_trips() {
    round_trip(content(Body::Image(image())));
    round_trip(content(Body::Image(Image {
        thumbnail: Vec::new(),
        ..image()
    })));
    round_trip(content(Body::Image(Image {
        mime: "IMAGE/svg+xml".into(),
        width: u32::MAX,
        height: 1,
        thumbnail: vec![0xff; MAX_THUMBNAIL_BYTES],
        ..image()
    })));
}

#[test]
fn file_round_trips() {
    round_trip(content(Body::File(file())));
    round_trip(content(Body::File(File {
        name: "é".repeat(MAX_NAME_BYTES / 2) + "x",
        mime: format!("application/{}", "a".repeat(127)),
        size: 0,
        ..file()
    })));
    round_trip(content(Body::File(File {
        name: ".hidden".into(),
        mime: "application/vnd.ms-excel.sheet.macroEnabled.12".into(),
        size: u64::MAX,
        ..file()
    })));
}

#[test]
fn voice_clip_round_trips() {
    round_trip(content(Body::VoiceClip(voice_clip())));
    round_trip(content(Body::VoiceClip(VoiceClip {
        duration_ms: u32::MAX,
        codec: "c".repeat(MAX_NAME_BYTES),
        waveform: vec![0xff; MAX_WAVEFORM_SAMPLES],
        ..voice_clip()
    })));
    round_trip(content(Body::VoiceClip(VoiceClip {
        waveform: Vec::new(),
        ..voice_clip()
    })));
}

#[test]
fn receipt_round_trips() {
    for kind in [ReceiptKind::Delivered, ReceiptKind::Read] {
        round_trip(content(Body::Receipt(Receipt {
            kind,
            message_ids: vec![id(1)],
        })));
        round_trip(content(Body::Receipt(Receipt {
            kind,
            message_ids: (0..MAX_RECEIPT_IDS).map(|i| id(i as u8)).collect(),
        })));
    }
}

#[test]
fn contact_accept_round_trips() {
    round_trip(content(Body::ContactAccept(ContactAccept {
        display_name: "Alice 🌷".into(),
        reply_queue: reply_queue(),
    })));
    round_trip(content(Body::ContactAccept(ContactAccept {
        display_name: String::new(),
        reply_queue: reply_queue(),
    })));
    round_trip(content(Body::ContactAccept(ContactAccept {
        display_name: "n".repeat(MAX_NAME_BYTES),
        reply_queue: reply_queue(),
    })));
}

#[test]
fn header_extremes_round_trip() {
    round_trip(Content {
        id: id(0xff),
        sequence: u64::MAX,
        timestamp_ms: u64::MAX,
        body: Body::Text("late".into()),
    });
    round_trip(Content {
        id: id(0),
        sequence: 1,
        timestamp_ms: 0,
        body: Body::Text("early".into()),
    });
}

#[test]
fn constructors_make_valid_content_with_fresh_ids() {
    let text = Content::text(1, 1_700_000_000_000, "hi");
    assert_eq!(text.body, Body::Text("hi".into()));
    assert_eq!((text.sequence, text.timestamp_ms), (1, 1_700_000_000_000));
    round_trip(text.clone());

    let again = Content::text(1, 1_700_000_000_000, "hi");
    assert_ne!(text.id, again.id, "every message gets its own random id");

    let receipt = Content::receipt(2, 5, ReceiptKind::Delivered, vec![text.id, again.id]);
    assert_eq!(receipt.body.kind(), BodyKind::Receipt);
    round_trip(receipt);

    let accept = Content::contact_accept(1, 5, "Bob", reply_queue());
    assert_eq!(accept.body.kind(), BodyKind::ContactAccept);
    round_trip(accept);

    let image = Content::new(4, 5, image());
    assert_eq!(image.body.kind(), BodyKind::Image);
    round_trip(image);
}

#[test]
fn message_ids_convert_and_print_as_hex() {
    let bytes: [u8; 16] = core::array::from_fn(|i| (i * 17) as u8);
    let id = MessageId::from_bytes(bytes);
    assert_eq!(id.to_bytes(), bytes);
    assert_eq!(id.as_bytes(), &bytes);
    assert_eq!(<[u8; 16]>::from(id), bytes);
    assert_eq!(MessageId::from(bytes), id);
    assert_eq!(MessageId::try_from(&bytes[..]).unwrap(), id);
    assert_eq!(id.to_string(), "00112233445566778899aabbccddeeff");
    assert_eq!(
        format!("{id:?}"),
        "MessageId(00112233445566778899aabbccddeeff)"
    );

    for len in [0, 15, 17] {
        match MessageId::try_from(&vec![0u8; len][..]) {
            Err(ContentError::InvalidMessageId { len: got }) => assert_eq!(got, len),
            other => panic!("{len} bytes made {other:?}"),
        }
    }
    assert_ne!(MessageId::random(), MessageId::random());
}

// ---------------------------------------------------------------------------------------
// Malformed frames: framing

#[test]
fn empty_input_is_refused() {
    assert!(matches!(refused(Content::decode(&[])), ContentError::Empty));
}

#[test]
fn garbage_is_refused() {
    let cases: [&[u8]; 5] = [
        &[0xff; 10],
        &[0x0f],                   // field 1 with the invalid wire type 7
        &[0x12, 0x20, 0x00],       // a 32-byte field with only one byte
        &[0x80, 0x80, 0x80, 0x80], // an unterminated varint
        b"hello world, not protobuf",
    ];
    for bytes in cases {
        assert!(
            matches!(refused(Content::decode(bytes)), ContentError::Malformed(_)),
            "{bytes:02x?}"
        );
    }
}

#[test]
fn an_oversized_input_is_refused_before_parsing() {
    let bytes = vec![0u8; sotto_core::padding::MAX_SEALED_SIZE + 1];
    match refused(Content::decode(&bytes)) {
        ContentError::FrameTooLarge { size, max } => {
            assert_eq!(
                (size, max),
                (
                    sotto_core::padding::MAX_SEALED_SIZE + 1,
                    sotto_core::padding::MAX_SEALED_SIZE
                )
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_truncation_of_every_body_kind_is_refused() {
    let frames = [
        content(Body::Text("a truncated message".into())),
        content(Body::Image(image())),
        content(Body::File(file())),
        content(Body::VoiceClip(voice_clip())),
        content(Body::Receipt(Receipt {
            kind: ReceiptKind::Read,
            message_ids: vec![id(1), id(2), id(3)],
        })),
        content(Body::ContactAccept(ContactAccept {
            display_name: "Carol".into(),
            reply_queue: reply_queue(),
        })),
    ];
    for content in frames {
        every_truncation_refused(&content.encode());
    }
    for vector in [TEXT_VECTOR, RECEIPT_VECTOR, FILE_VECTOR] {
        every_truncation_refused(&unhex(vector));
    }
}

#[test]
fn flipping_any_bit_of_a_valid_frame_never_panics() {
    for original in [
        content(Body::Image(image())),
        content(Body::VoiceClip(voice_clip())),
        content(Body::Receipt(Receipt {
            kind: ReceiptKind::Delivered,
            message_ids: vec![id(9); 3],
        })),
    ] {
        let bytes = original.encode();
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            if let Ok(decoded) = Content::decode(&flipped) {
                // Whatever is accepted satisfies every rule.
                decoded.validate().expect("decoded content is valid");
            }
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x5077_0c0f);
    let valid = content(Body::File(file())).encode();
    for _ in 0..20_000 {
        let len = rng.random_range(0..600);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if rng.random_bool(0.5) {
            // Start from a valid header so the fuzzing reaches the body rules.
            let keep = rng.random_range(0..valid.len());
            bytes.splice(0..0, valid[..keep].iter().copied());
        }
        if let Ok(decoded) = Content::decode(&bytes) {
            decoded.validate().expect("decoded content is valid");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Malformed frames: header rules

#[test]
fn a_version_other_than_1_is_refused() {
    for version in [0, 2, u32::MAX] {
        let mut bad = frame(Some(WireBody::Text(wire::Text { body: "hi".into() })));
        bad.version = version;
        match refused(decode_wire(&bad)) {
            ContentError::UnsupportedVersion(got) => assert_eq!(got, version),
            other => panic!("version {version}: {other:?}"),
        }
    }
}

#[test]
fn a_short_or_long_message_id_is_refused() {
    for len in [0, 1, 15, 17, 32] {
        let mut bad = frame(Some(WireBody::Text(wire::Text { body: "hi".into() })));
        bad.message_id = vec![7; len];
        match refused(decode_wire(&bad)) {
            ContentError::InvalidMessageId { len: got } => assert_eq!(got, len),
            other => panic!("{len}-byte id: {other:?}"),
        }
    }
}

#[test]
fn sequence_zero_is_refused() {
    let mut bad = frame(Some(WireBody::Text(wire::Text { body: "hi".into() })));
    bad.sequence = 0;
    assert!(matches!(
        refused(decode_wire(&bad)),
        ContentError::ZeroSequence
    ));

    let unsent = Content {
        sequence: 0,
        ..content(Body::Text("hi".into()))
    };
    assert!(matches!(unsent.validate(), Err(ContentError::ZeroSequence)));
}

#[test]
fn a_frame_without_a_body_is_refused() {
    assert!(matches!(
        refused(decode_wire(&frame(None))),
        ContentError::MissingBody
    ));
}

#[test]
fn a_body_of_an_unknown_kind_is_refused_as_missing() {
    // Field 16 (a body kind from some future version) is skipped by the parser.
    let mut bytes = frame(None).encode_to_vec();
    bytes.extend_from_slice(&[0x82, 0x01, 0x02, 0x08, 0x01]);
    assert!(matches!(
        refused(Content::decode(&bytes)),
        ContentError::MissingBody
    ));
}

#[test]
fn text_that_is_not_utf8_is_refused() {
    let mut bytes = frame(None).encode_to_vec();
    bytes.extend_from_slice(&[0x52, 0x04, 0x0a, 0x02, 0xc3, 0x28]);
    assert!(matches!(
        refused(Content::decode(&bytes)),
        ContentError::Malformed(_)
    ));
}

// ---------------------------------------------------------------------------------------
// Malformed frames: body rules

#[test]
fn text_over_the_limit_is_refused() {
    let body = WireBody::Text(wire::Text {
        body: "x".repeat(MAX_TEXT_BYTES + 1),
    });
    match refused(decode_body(body)) {
        ContentError::TextTooLong { len, max } => {
            assert_eq!((len, max), (MAX_TEXT_BYTES + 1, MAX_TEXT_BYTES));
        }
        other => panic!("{other:?}"),
    }
    // The limit counts bytes, not characters.
    let body = WireBody::Text(wire::Text {
        body: "é".repeat(MAX_TEXT_BYTES / 2 + 1),
    });
    assert!(matches!(
        refused(decode_body(body)),
        ContentError::TextTooLong { .. }
    ));
}

#[test]
fn a_missing_attachment_pointer_is_refused() {
    let image = wire::Image {
        attachment: None,
        ..wire_image()
    };
    let file = wire::File {
        attachment: None,
        ..wire_file()
    };
    let clip = wire::VoiceClip {
        attachment: None,
        ..wire_voice_clip()
    };
    for (body, kind) in [
        (WireBody::Image(image), BodyKind::Image),
        (WireBody::File(file), BodyKind::File),
        (WireBody::VoiceClip(clip), BodyKind::VoiceClip),
    ] {
        match refused(decode_body(body)) {
            ContentError::MissingAttachment(got) => assert_eq!(got, kind),
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[test]
fn an_invalid_attachment_pointer_is_refused() {
    let bad_pointers = [
        wire::AttachmentPointer {
            version: 2,
            ..wire_pointer()
        },
        wire::AttachmentPointer {
            key: vec![0x11; 31],
            ..wire_pointer()
        },
        wire::AttachmentPointer::default(),
    ];
    for bad in bad_pointers {
        let bodies = [
            WireBody::Image(wire::Image {
                attachment: Some(bad.clone()),
                ..wire_image()
            }),
            WireBody::File(wire::File {
                attachment: Some(bad.clone()),
                ..wire_file()
            }),
            WireBody::VoiceClip(wire::VoiceClip {
                attachment: Some(bad.clone()),
                ..wire_voice_clip()
            }),
        ];
        for body in bodies {
            let error = refused(decode_body(body));
            assert!(
                matches!(error, ContentError::InvalidAttachment(_)),
                "{error:?}"
            );
            assert!(
                std::error::Error::source(&error).is_some(),
                "wraps the cause"
            );
        }
    }
}

#[test]
fn mime_types_that_are_not_type_slash_subtype_are_refused() {
    let bad = [
        "",
        "image",
        "image/",
        "/png",
        "image/png/x",
        "image/png; charset=utf-8",
        "image/ png",
        "ímage/png",
        "image/.png",
        "image\n/png",
    ];
    for mime in bad {
        let image = WireBody::Image(wire::Image {
            mime: mime.into(),
            ..wire_image()
        });
        let file = WireBody::File(wire::File {
            mime: mime.into(),
            ..wire_file()
        });
        for body in [image, file] {
            match refused(decode_body(body)) {
                ContentError::InvalidMime(got) => assert_eq!(got, mime),
                other => panic!("{mime:?}: {other:?}"),
            }
        }
    }
    let long_subtype = format!("image/{}", "a".repeat(128));
    assert!(matches!(
        refused(decode_body(WireBody::Image(wire::Image {
            mime: long_subtype,
            ..wire_image()
        }))),
        ContentError::InvalidMime(_)
    ));
}

#[test]
fn mime_types_over_the_limit_are_refused() {
    let mime = format!("{}/{}", "a".repeat(127), "b".repeat(128));
    assert_eq!(mime.len(), MAX_MIME_BYTES + 1);
    match refused(decode_body(WireBody::File(wire::File {
        mime,
        ..wire_file()
    }))) {
        ContentError::MimeTooLong { len, max } => {
            assert_eq!((len, max), (MAX_MIME_BYTES + 1, MAX_MIME_BYTES));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_image_must_have_an_image_mime_type() {
    let body = WireBody::Image(wire::Image {
        mime: "application/x-msdownload".into(),
        ..wire_image()
    });
    match refused(decode_body(body)) {
        ContentError::NotAnImageMime(got) => assert_eq!(got, "application/x-msdownload"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_image_with_a_zero_dimension_is_refused() {
    for (width, height) in [(0, 480), (640, 0), (0, 0)] {
        let body = WireBody::Image(wire::Image {
            width,
            height,
            ..wire_image()
        });
        match refused(decode_body(body)) {
            ContentError::ZeroImageDimension {
                width: w,
                height: h,
            } => {
                assert_eq!((w, h), (width, height));
            }
            other => panic!("{width}x{height}: {other:?}"),
        }
    }
}

#[test]
fn a_thumbnail_over_the_limit_is_refused() {
    let body = WireBody::Image(wire::Image {
        thumbnail: vec![0; MAX_THUMBNAIL_BYTES + 1],
        ..wire_image()
    });
    match refused(decode_body(body)) {
        ContentError::ThumbnailTooLarge { len, max } => {
            assert_eq!((len, max), (MAX_THUMBNAIL_BYTES + 1, MAX_THUMBNAIL_BYTES));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_file_name_over_the_limit_is_refused() {
    let body = WireBody::File(wire::File {
        name: "n".repeat(MAX_NAME_BYTES + 1),
        ..wire_file()
    });
    match refused(decode_body(body)) {
        ContentError::FileNameTooLong { len, max } => {
            assert_eq!((len, max), (MAX_NAME_BYTES + 1, MAX_NAME_BYTES));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsafe_file_names_are_refused() {
    let bad = [
        "",
        ".",
        "..",
        "../etc/passwd",
        "dir/file.txt",
        "C:\\Windows\\evil.dll",
        "line\nbreak.txt",
        "nul\0.txt",
        "escape\u{1b}[31m.txt",
        "invoice\u{202E}fdp.exe",
        "isolate\u{2066}.txt",
    ];
    for name in bad {
        let body = WireBody::File(wire::File {
            name: name.into(),
            ..wire_file()
        });
        match refused(decode_body(body)) {
            ContentError::InvalidFileName(got) => assert_eq!(got, name),
            other => panic!("{name:?}: {other:?}"),
        }
    }
}

#[test]
fn a_silent_voice_clip_is_refused() {
    let body = WireBody::VoiceClip(wire::VoiceClip {
        duration_ms: 0,
        ..wire_voice_clip()
    });
    assert!(matches!(
        refused(decode_body(body)),
        ContentError::ZeroDuration
    ));
}

#[test]
fn bad_voice_codec_names_are_refused() {
    for codec in ["", "op\tus", "opus\u{200F}"] {
        let body = WireBody::VoiceClip(wire::VoiceClip {
            codec: codec.into(),
            ..wire_voice_clip()
        });
        match refused(decode_body(body)) {
            ContentError::InvalidCodec(got) => assert_eq!(got, codec),
            other => panic!("{codec:?}: {other:?}"),
        }
    }
    let body = WireBody::VoiceClip(wire::VoiceClip {
        codec: "c".repeat(MAX_NAME_BYTES + 1),
        ..wire_voice_clip()
    });
    match refused(decode_body(body)) {
        ContentError::CodecTooLong { len, max } => {
            assert_eq!((len, max), (MAX_NAME_BYTES + 1, MAX_NAME_BYTES));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_waveform_over_the_limit_is_refused() {
    let body = WireBody::VoiceClip(wire::VoiceClip {
        waveform: vec![1; MAX_WAVEFORM_SAMPLES + 1],
        ..wire_voice_clip()
    });
    match refused(decode_body(body)) {
        ContentError::WaveformTooLong { len, max } => {
            assert_eq!((len, max), (MAX_WAVEFORM_SAMPLES + 1, MAX_WAVEFORM_SAMPLES));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_empty_receipt_is_refused() {
    assert!(matches!(
        refused(decode_body(WireBody::Receipt(wire_receipt(0)))),
        ContentError::EmptyReceipt
    ));
}

#[test]
fn a_receipt_with_too_many_ids_is_refused() {
    match refused(decode_body(WireBody::Receipt(wire_receipt(
        MAX_RECEIPT_IDS + 1,
    )))) {
        ContentError::TooManyReceiptIds { count, max } => {
            assert_eq!((count, max), (MAX_RECEIPT_IDS + 1, MAX_RECEIPT_IDS));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_receipt_id_of_the_wrong_length_is_refused() {
    for len in [0, 15, 17] {
        let mut receipt = wire_receipt(3);
        receipt.message_ids[2] = vec![1; len];
        match refused(decode_body(WireBody::Receipt(receipt))) {
            ContentError::InvalidReceiptId { index, len: got } => {
                assert_eq!((index, got), (2, len));
            }
            other => panic!("{len}: {other:?}"),
        }
    }
}

#[test]
fn an_unknown_receipt_kind_is_refused() {
    for kind in [2, -1, 7] {
        let receipt = wire::Receipt {
            kind,
            ..wire_receipt(1)
        };
        match refused(decode_body(WireBody::Receipt(receipt))) {
            ContentError::UnknownReceiptKind(got) => assert_eq!(got, kind),
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[test]
fn bad_display_names_are_refused() {
    let body = WireBody::ContactAccept(wire::ContactAccept {
        display_name: "n".repeat(MAX_NAME_BYTES + 1),
        ..wire_accept_base()
    });
    match refused(decode_body(body)) {
        ContentError::DisplayNameTooLong { len, max } => {
            assert_eq!((len, max), (MAX_NAME_BYTES + 1, MAX_NAME_BYTES));
        }
        other => panic!("{other:?}"),
    }
    for name in ["Bob\nAdmin", "\u{202E}ecila", "bell\u{7}"] {
        let body = WireBody::ContactAccept(wire::ContactAccept {
            display_name: name.into(),
            ..wire_accept_base()
        });
        match refused(decode_body(body)) {
            ContentError::InvalidDisplayName(got) => assert_eq!(got, name),
            other => panic!("{name:?}: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sending side and error reporting

#[test]
fn validate_refuses_what_decode_refuses() {
    let broken = [
        content(Body::Text("x".repeat(MAX_TEXT_BYTES + 1))),
        content(Body::Image(Image {
            mime: "text/plain".into(),
            ..image()
        })),
        content(Body::File(File {
            name: "../x".into(),
            ..file()
        })),
        content(Body::VoiceClip(VoiceClip {
            duration_ms: 0,
            ..voice_clip()
        })),
        content(Body::Receipt(Receipt {
            kind: ReceiptKind::Read,
            message_ids: Vec::new(),
        })),
        content(Body::ContactAccept(ContactAccept {
            display_name: "\u{0}".into(),
            reply_queue: reply_queue(),
        })),
    ];
    for content in broken {
        let before_sending = content.validate().expect_err("validate refuses");
        let on_arrival = refused(Content::decode(&content.encode()));
        assert_eq!(before_sending.to_string(), on_arrival.to_string());
    }
}

#[test]
fn errors_say_which_rule_was_broken() {
    let error = refused(decode_body(WireBody::Text(wire::Text {
        body: "x".repeat(MAX_TEXT_BYTES + 1),
    })));
    assert_eq!(
        error.to_string(),
        "text of 1537 bytes exceeds the 1536-byte limit; send longer text as a file attachment"
    );
    let error = refused(decode_body(WireBody::Image(wire::Image {
        attachment: None,
        ..wire_image()
    })));
    assert_eq!(error.to_string(), "image body has no attachment pointer");

    let error: Error = ContentError::ZeroSequence.into();
    assert_eq!(error.code(), ErrorCode::Content);
    assert_eq!(
        error.to_string(),
        "sequence number 0 is invalid; sequence numbers start at 1 (only receipts have 0)"
    );
}

/// The limits are chosen so that the largest valid frame of every kind fits one packet,
/// even as the first (PQXDH) message: `validate` accepts them and they stay within
/// `MAX_FRAME_BYTES`.
#[test]
fn the_largest_valid_frame_of_every_kind_fits_a_packet() {
    use sotto_core::attachment::{self, ChunkSize, MAX_LOCATION_LEN};
    use sotto_core::content::{
        MAX_MIME_BYTES, MAX_NAME_BYTES, MAX_RECEIPT_IDS, MAX_TEXT_BYTES, MAX_THUMBNAIL_BYTES,
        MAX_WAVEFORM_SAMPLES, MessageId, Receipt, ReceiptKind, VoiceClip,
    };
    let mut pointer = attachment::encrypt(
        &[0u8; 1000][..],
        std::io::sink(),
        ChunkSize::STANDARD,
        &mut |_| {},
    )
    .unwrap();
    pointer.set_location("l".repeat(MAX_LOCATION_LEN)).unwrap();
    // RFC 6838 names are at most 127 characters on each side of the slash.
    let long_mime = |kind: &str| format!("{kind}/{}", "x".repeat(127));
    assert!(long_mime("application").len() <= MAX_MIME_BYTES);
    let bodies = [
        Body::Text("t".repeat(MAX_TEXT_BYTES)),
        Body::Image(Image {
            mime: long_mime("image"),
            width: u32::MAX,
            height: u32::MAX,
            thumbnail: vec![0xff; MAX_THUMBNAIL_BYTES],
            attachment: pointer.clone(),
        }),
        Body::File(File {
            name: "n".repeat(MAX_NAME_BYTES),
            mime: long_mime("application"),
            size: u64::MAX,
            attachment: pointer.clone(),
        }),
        Body::VoiceClip(VoiceClip {
            duration_ms: u32::MAX,
            codec: "c".repeat(MAX_NAME_BYTES),
            waveform: vec![0xff; MAX_WAVEFORM_SAMPLES],
            attachment: pointer.clone(),
        }),
        Body::Receipt(Receipt {
            kind: ReceiptKind::Read,
            message_ids: (0..MAX_RECEIPT_IDS).map(|_| MessageId::random()).collect(),
        }),
        Body::ContactAccept(ContactAccept {
            display_name: "d".repeat(MAX_NAME_BYTES),
            reply_queue: reply_queue(),
        }),
    ];
    for body in bodies {
        let kind = body.kind();
        let content = Content {
            id: MessageId::random(),
            sequence: u64::MAX,
            timestamp_ms: u64::MAX,
            body,
        };
        content.validate().unwrap_or_else(|e| panic!("{kind}: {e}"));
        let size = content.encode().len();
        println!("{kind}: largest frame {size} bytes");
        assert!(
            size <= MAX_FRAME_BYTES,
            "{kind}: {size} > {MAX_FRAME_BYTES}"
        );
    }
}

#[test]
fn a_contact_accept_without_a_valid_reply_queue_is_refused() {
    let cases = [
        wire::ContactAccept {
            reply_relay: "https://relay.example.org".into(),
            ..wire_accept_base()
        },
        wire::ContactAccept {
            reply_relay: String::new(),
            ..wire_accept_base()
        },
        wire::ContactAccept {
            reply_sender_id: vec![1; 15],
            ..wire_accept_base()
        },
        wire::ContactAccept {
            reply_sender_key: vec![1; 33],
            ..wire_accept_base()
        },
        wire::ContactAccept {
            reply_sender_key: Vec::new(),
            ..wire_accept_base()
        },
    ];
    for accept in cases {
        match refused(decode_body(WireBody::ContactAccept(accept.clone()))) {
            ContentError::InvalidReplyQueue(_) => {}
            other => panic!("{accept:?}: {other:?}"),
        }
    }
}

#[test]
fn a_message_id_reads_back_from_its_text_and_nothing_else_does() {
    let id = sotto_core::content::MessageId::random();
    let text = id.to_string();
    assert_eq!(sotto_core::content::MessageId::from_hex(&text), Some(id));
    assert_eq!(
        sotto_core::content::MessageId::from_hex(&text.to_uppercase()),
        Some(id)
    );
    for bad in [
        "",
        "00",
        &text[1..],
        "g".repeat(32).as_str(),
        "é".repeat(16).as_str(),
    ] {
        assert_eq!(
            sotto_core::content::MessageId::from_hex(bad),
            None,
            "{bad:?}"
        );
    }
}
