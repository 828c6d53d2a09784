//! Pins the chunk format documented in `docs/PROTOCOL.md`: each chunk is checked with the
//! raw ChaCha20-Poly1305 AEAD and the nonce written out by hand, independently of the
//! STREAM helper the module uses, and one fixed vector guards against silent changes.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use zeroize::Zeroizing;

use super::encrypt::encrypt_with_key;
use super::{AttachmentPointer, CHUNK_OVERHEAD, ChunkSize, decrypt};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vector_key() -> Zeroizing<[u8; 32]> {
    Zeroizing::new(core::array::from_fn(|i| i as u8))
}

fn encrypt_vector(plaintext: &[u8], chunk_size: usize) -> (AttachmentPointer, Vec<u8>) {
    let mut ciphertext = Vec::new();
    let pointer = encrypt_with_key(
        vector_key(),
        &mut &plaintext[..],
        &mut ciphertext,
        ChunkSize::new(chunk_size).unwrap(),
        &mut |_| {},
    )
    .unwrap();
    (pointer, ciphertext)
}

#[test]
fn each_chunk_opens_with_the_documented_nonce() {
    let plaintext: Vec<u8> = (0..150u8).collect();
    let (pointer, ciphertext) = encrypt_vector(&plaintext, 64);
    assert_eq!(pointer.chunk_count(), 3);
    assert_eq!(ciphertext.len(), 3 * (64 + CHUNK_OVERHEAD));
    assert_eq!(pointer.digest(), blake3::hash(&ciphertext).as_bytes());

    let aead = ChaCha20Poly1305::new(Key::from_slice(&*vector_key()));
    let mut recovered = Vec::new();
    for (index, sealed) in ciphertext.chunks(64 + CHUNK_OVERHEAD).enumerate() {
        let mut nonce = [0u8; 12];
        nonce[7..11].copy_from_slice(&(index as u32).to_be_bytes());
        nonce[11] = u8::from(index == 2);
        let mut chunk = sealed.to_vec();
        let associated_data = if index == 2 {
            150u64.to_be_bytes().to_vec()
        } else {
            vec![]
        };
        aead.decrypt_in_place(Nonce::from_slice(&nonce), &associated_data, &mut chunk)
            .unwrap();
        assert_eq!(chunk.len(), 64);
        recovered.extend_from_slice(&chunk);
    }
    assert!(recovered[150..].iter().all(|&b| b == 0), "zero padding");
    recovered.truncate(150);
    assert_eq!(recovered, plaintext);
}

/// Key `00 01 .. 1f`, plaintext `"sotto"`, 64-byte chunks: one chunk, nonce
/// `00*11 || 01`, associated data `00*7 || 05`. The ciphertext was also produced by OpenSSL's
/// ChaCha20-Poly1305 (Python `cryptography`) and the digest by the reference BLAKE3 (Python
/// `blake3`), outside this code base.
#[test]
fn fixed_vector() {
    let (pointer, ciphertext) = encrypt_vector(b"sotto", 64);
    assert_eq!(
        hex(&ciphertext),
        "1a3308ad5e0ab87a2d717e2fb314171210f13f40ceb1fc75453ab52829ee9f0ad32dec0ab3fbae832148eb24a6e3aacec5fe4573896b5435643b104e6f172f79f527111bac4e02e0af83e0e6326bfcf5",
    );
    assert_eq!(
        hex(pointer.digest()),
        "93b5466bdc71c145ad98dc66acaa52b8516be55824f92dc8903f7940b39f0947"
    );
    assert_eq!(
        hex(&pointer.encode()),
        "08011220000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f1a2093b5466bdc71c145ad98dc66acaa52b8516be55824f92dc8903f7940b39f0947200528403001"
    );
    let mut plaintext = Vec::new();
    decrypt(&ciphertext[..], &mut plaintext, &pointer, &mut |_| {}).unwrap();
    assert_eq!(plaintext, b"sotto");
}
