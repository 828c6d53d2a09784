//! Padding: every sealed message becomes one payload of the one packet size, and only the
//! payloads `pad` makes are accepted back.

use rand::{Rng, SeedableRng, rngs::StdRng};
use sotto_core::padding::{
    LENGTH_PREFIX_SIZE, MAX_SEALED_SIZE, PACKET_PAYLOAD_SIZE, PaddingError, pad, unpad,
};
use sotto_core::{Error, ErrorCode};

fn sealed(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 + 1).collect()
}

/// A valid payload whose prefix says `length` bytes, the rest left as `pad` leaves it.
fn packet_with_prefix(length: u32) -> Vec<u8> {
    let mut packet = pad(&[]).unwrap();
    packet[..4].copy_from_slice(&length.to_be_bytes());
    packet
}

#[test]
fn sizes_are_consistent() {
    assert_eq!(LENGTH_PREFIX_SIZE, 4);
    assert_eq!(MAX_SEALED_SIZE, PACKET_PAYLOAD_SIZE - 4);
}

#[test]
fn messages_of_0_1_and_max_bytes_round_trip() {
    for len in [
        0,
        1,
        2,
        255,
        256,
        1000,
        MAX_SEALED_SIZE - 1,
        MAX_SEALED_SIZE,
    ] {
        let message = sealed(len);
        let packet = pad(&message).unwrap();
        assert_eq!(packet.len(), PACKET_PAYLOAD_SIZE, "length {len}");
        assert_eq!(unpad(&packet).unwrap(), &message[..], "length {len}");
    }
}

#[test]
fn every_length_round_trips_to_one_packet_size() {
    for len in 0..=MAX_SEALED_SIZE {
        let message = sealed(len);
        let packet = pad(&message).unwrap();
        assert_eq!(packet.len(), PACKET_PAYLOAD_SIZE);
        assert_eq!(unpad(&packet).unwrap(), &message[..]);
    }
}

#[test]
fn the_layout_is_a_big_endian_length_the_message_and_zeros() {
    let packet = pad(b"abc").unwrap();
    assert_eq!(&packet[..7], &[0, 0, 0, 3, b'a', b'b', b'c']);
    assert!(packet[7..].iter().all(|&b| b == 0));

    let packet = pad(&sealed(0x0102)).unwrap();
    assert_eq!(&packet[..4], &[0, 0, 1, 2]);

    let packet = pad(&sealed(MAX_SEALED_SIZE)).unwrap();
    assert_eq!(&packet[..4], &(MAX_SEALED_SIZE as u32).to_be_bytes());
    assert_eq!(&packet[4..], &sealed(MAX_SEALED_SIZE)[..]);

    assert_eq!(pad(&[]).unwrap(), vec![0u8; PACKET_PAYLOAD_SIZE]);
}

#[test]
fn a_message_too_large_for_one_packet_is_refused() {
    for len in [MAX_SEALED_SIZE + 1, PACKET_PAYLOAD_SIZE, 100_000] {
        let error = pad(&sealed(len)).unwrap_err();
        assert_eq!(
            error,
            PaddingError::TooLarge {
                size: len,
                max: MAX_SEALED_SIZE
            }
        );
        let message = error.to_string();
        assert!(message.contains(&len.to_string()), "{message}");
        assert!(message.contains("attachment"), "{message}");
    }
}

#[test]
fn a_payload_of_the_wrong_size_is_refused() {
    for size in [
        0,
        1,
        LENGTH_PREFIX_SIZE,
        PACKET_PAYLOAD_SIZE - 1,
        PACKET_PAYLOAD_SIZE + 1,
        2 * PACKET_PAYLOAD_SIZE,
    ] {
        assert_eq!(
            unpad(&vec![0u8; size]),
            Err(PaddingError::WrongPacketSize {
                size,
                expected: PACKET_PAYLOAD_SIZE
            })
        );
    }
    // A valid payload with a byte cut off or added is refused too.
    let mut packet = pad(b"hello").unwrap();
    packet.pop();
    assert!(matches!(
        unpad(&packet),
        Err(PaddingError::WrongPacketSize { .. })
    ));
    packet.extend_from_slice(&[0, 0]);
    assert!(matches!(
        unpad(&packet),
        Err(PaddingError::WrongPacketSize { .. })
    ));
}

#[test]
fn a_length_beyond_the_capacity_is_refused() {
    let capacity = MAX_SEALED_SIZE as u32;
    for length in [
        capacity + 1,
        capacity + 4,
        PACKET_PAYLOAD_SIZE as u32,
        u32::MAX,
    ] {
        assert_eq!(
            unpad(&packet_with_prefix(length)),
            Err(PaddingError::LengthOutOfRange {
                length,
                max: MAX_SEALED_SIZE
            })
        );
    }
    // The largest length that fits is fine.
    assert_eq!(
        unpad(&packet_with_prefix(capacity)).unwrap().len(),
        MAX_SEALED_SIZE
    );
}

#[test]
fn a_nonzero_fill_byte_is_refused() {
    for len in [0, 1, 100, MAX_SEALED_SIZE - 1] {
        let clean = pad(&sealed(len)).unwrap();
        let first_fill = LENGTH_PREFIX_SIZE + len;
        for offset in [
            first_fill,
            (first_fill + PACKET_PAYLOAD_SIZE) / 2,
            PACKET_PAYLOAD_SIZE - 1,
        ] {
            for value in [0x01, 0x80, 0xff] {
                let mut packet = clean.clone();
                packet[offset] = value;
                assert_eq!(
                    unpad(&packet),
                    Err(PaddingError::NonZeroPadding { offset }),
                    "length {len}, offset {offset}"
                );
            }
        }
    }
}

#[test]
fn the_first_nonzero_fill_byte_is_reported() {
    let mut packet = pad(b"xyz").unwrap();
    packet[100] = 1;
    packet[50] = 1;
    assert_eq!(
        unpad(&packet),
        Err(PaddingError::NonZeroPadding { offset: 50 })
    );
}

#[test]
fn a_shortened_length_exposes_nonzero_fill() {
    // Claiming fewer bytes than were padded leaves message bytes in the fill.
    let mut packet = pad(&sealed(10)).unwrap();
    packet[..4].copy_from_slice(&9u32.to_be_bytes());
    assert_eq!(
        unpad(&packet),
        Err(PaddingError::NonZeroPadding {
            offset: LENGTH_PREFIX_SIZE + 9
        })
    );
}

#[test]
fn random_payloads_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x9add_1e55);
    for _ in 0..2_000 {
        let mut packet = vec![0u8; PACKET_PAYLOAD_SIZE];
        let len = rng.random_range(0..=MAX_SEALED_SIZE);
        rng.fill(&mut packet[..LENGTH_PREFIX_SIZE + len]);
        if rng.random_bool(0.5) {
            let length = rng.random_range(0..=(MAX_SEALED_SIZE as u32 + 10));
            packet[..4].copy_from_slice(&length.to_be_bytes());
        }
        if let Ok(message) = unpad(&packet) {
            assert_eq!(
                pad(message).unwrap(),
                packet,
                "accepted payloads are canonical"
            );
        }
    }
}

#[test]
fn padding_errors_map_to_the_padding_code() {
    let error: Error = pad(&sealed(MAX_SEALED_SIZE + 1)).unwrap_err().into();
    assert_eq!(error.code(), ErrorCode::Padding);
    assert!(
        error
            .to_string()
            .contains("send the content as an attachment")
    );
}
