//! Streams of any length in constant memory, for attachment tests and benches: a
//! pseudo-random byte [`Generator`] and an [`Expect`] writer that checks output against one.
//! Shared with `benches/attachments.rs` through `#[path]`.

#![allow(dead_code)]

use std::io::{self, Read, Write};

/// A generator of `len` pseudo-random bytes: a 1 MiB + 7 pattern repeated (the odd period
/// puts different bytes in every 64 KiB chunk), so a stream of any length costs 1 MiB.
pub struct Generator {
    pattern: std::sync::Arc<Vec<u8>>,
    pos: u64,
    len: u64,
}

impl Generator {
    const PERIOD: usize = (1 << 20) + 7;

    pub fn new(len: u64) -> Self {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let pattern = (0..Self::PERIOD)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        Self {
            pattern: std::sync::Arc::new(pattern),
            pos: 0,
            len,
        }
    }

    /// The same stream again, sharing the pattern.
    pub fn replay(&self) -> Self {
        Self {
            pattern: self.pattern.clone(),
            pos: 0,
            len: self.len,
        }
    }

    /// The next `n` bytes of the stream, at most up to the end of the pattern.
    pub fn next_slice(&mut self, n: usize) -> &[u8] {
        let offset = (self.pos % Self::PERIOD as u64) as usize;
        let n = n
            .min(Self::PERIOD - offset)
            .min((self.len - self.pos) as usize);
        self.pos += n as u64;
        &self.pattern[offset..offset + n]
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let slice = self.next_slice(buf.len());
        let n = slice.len();
        buf[..n].copy_from_slice(slice);
        Ok(n)
    }
}

/// Checks written bytes against a generator, holding nothing.
pub struct Expect(pub Generator);

impl Write for Expect {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            let at = self.0.pos;
            let expected = self.0.next_slice(rest.len());
            if expected.is_empty() || expected != &rest[..expected.len()] {
                return Err(io::Error::other(format!("output differs near byte {at}")));
            }
            rest = &rest[expected.len()..];
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
