//! The checked message payload. Every message starts with a 40-byte header:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `rcL1` |
//! | 4..8 | stream id (publisher, or echo connection), u32 LE |
//! | 8..16 | sequence number within the stream, u64 LE |
//! | 16..24 | intended send time, ns since the process's clock base, u64 LE |
//! | 24..32 | actual send time, same clock, u64 LE |
//! | 32..40 | checksum of bytes 0..32 and 40.., u64 LE |
//!
//! followed by filler bytes derived from the stream id. Any single changed
//! byte changes the checksum (each hashing step is a bijection of its input
//! word), so the receiver tells corruption apart from loss, duplication and
//! reordering, which it reads from the intact sequence numbers.

/// Bytes taken by the header; the smallest allowed payload.
pub const HEADER_LEN: usize = 40;
const MAGIC: [u8; 4] = *b"rcL1";

/// The fields a receiver needs from an intact payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Publisher (fanout) or connection (echo) that sent it.
    pub stream: u32,
    /// Position in that stream, from 0.
    pub seq: u64,
    /// When the schedule wanted it sent, ns since the clock base.
    pub intended_ns: u64,
    /// When it was actually queued for sending, same clock.
    pub sent_ns: u64,
}

/// A reusable payload for one stream: the filler and its hash are computed
/// once, so stamping a message costs a header write and a 32-byte hash.
#[derive(Debug, Clone)]
pub struct Template {
    buf: Vec<u8>,
    filler_hash: u64,
}

impl Template {
    /// A payload of `len` bytes (at least [`HEADER_LEN`]) for `stream`.
    pub fn new(stream: u32, len: usize) -> Template {
        let len = len.max(HEADER_LEN);
        let mut buf = vec![0u8; len];
        let mut x = u64::from(stream).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for b in &mut buf[HEADER_LEN..] {
            // xorshift: cheap, deterministic, not all-zero (a zeroed region
            // in the server would otherwise pass unnoticed).
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        let filler_hash = hash(&buf[HEADER_LEN..]);
        Template { buf, filler_hash }
    }

    /// Write the header for `stamp` and return the whole payload.
    pub fn stamp(&mut self, stamp: Stamp) -> &[u8] {
        let h = &mut self.buf[..HEADER_LEN];
        h[0..4].copy_from_slice(&MAGIC);
        h[4..8].copy_from_slice(&stamp.stream.to_le_bytes());
        h[8..16].copy_from_slice(&stamp.seq.to_le_bytes());
        h[16..24].copy_from_slice(&stamp.intended_ns.to_le_bytes());
        h[24..32].copy_from_slice(&stamp.sent_ns.to_le_bytes());
        let sum = combine(hash(&h[0..32]), self.filler_hash);
        h[32..40].copy_from_slice(&sum.to_le_bytes());
        &self.buf
    }
}

/// Check a received payload: its stamp when intact, `None` when corrupted
/// (wrong length for a header, wrong magic, or checksum mismatch).
pub fn check(payload: &[u8]) -> Option<Stamp> {
    if payload.len() < HEADER_LEN || payload[0..4] != MAGIC {
        return None;
    }
    let word =
        |r: std::ops::Range<usize>| u64::from_le_bytes(payload[r].try_into().expect("8 bytes"));
    let sum = combine(hash(&payload[0..32]), hash(&payload[HEADER_LEN..]));
    if sum != word(32..40) {
        return None;
    }
    Some(Stamp {
        stream: u32::from_le_bytes(payload[4..8].try_into().expect("4 bytes")),
        seq: word(8..16),
        intended_ns: word(16..24),
        sent_ns: word(24..32),
    })
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Word-at-a-time hash. Each step `h = (rotl(h) ^ w) * K` is a bijection of
/// `w` for a fixed `h` and of `h` for a fixed `w` (K is odd), so changing any
/// one word always changes the result. The length is mixed in so truncation
/// is caught too.
fn hash(bytes: &[u8]) -> u64 {
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(23) ^ u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

fn combine(head: u64, filler: u64) -> u64 {
    (head.rotate_left(17) ^ filler).wrapping_mul(K)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_byte_change_is_caught() {
        for len in [40usize, 41, 64, 100] {
            let mut t = Template::new(7, len);
            let stamp = Stamp {
                stream: 7,
                seq: 42,
                intended_ns: 123_456,
                sent_ns: 124_000,
            };
            let good = t.stamp(stamp).to_vec();
            assert_eq!(check(&good), Some(stamp));
            for i in 0..len {
                for flip in [1u8, 0x80, 0xFF] {
                    let mut bad = good.clone();
                    bad[i] ^= flip;
                    assert_eq!(check(&bad), None, "len {len} byte {i} flip {flip:#x}");
                }
            }
            assert_eq!(check(&good[..len - 1]), None);
        }
    }

    #[test]
    fn streams_differ_in_filler() {
        let a = Template::new(1, 64)
            .stamp(Stamp {
                stream: 1,
                seq: 0,
                intended_ns: 0,
                sent_ns: 0,
            })
            .to_vec();
        let b = Template::new(2, 64)
            .stamp(Stamp {
                stream: 2,
                seq: 0,
                intended_ns: 0,
                sent_ns: 0,
            })
            .to_vec();
        assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..]);
    }
}
