//! Shared inputs for the codec micro-benchmarks in `benches/benches/`.
//!
//! Every implementation (ringcast, tungstenite, fastwebsockets) is measured on
//! the bytes built here, so they do the same work on the same input. The frame
//! builder is written straight from RFC 6455 5.2 and does not use the codec
//! under test: the inputs stay valid whatever state `ringcast-protocol` is in.

use std::io::{self, Read, Write};

/// Payload sizes measured: a tiny message, the largest single-byte length
/// (and largest control payload), 1 KiB (16-bit length), 64 KiB (64-bit length).
pub const PAYLOAD_SIZES: [usize; 4] = [16, 125, 1024, 64 * 1024];

/// The masking key of every masked frame in the benchmarks.
pub const MASK_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// About how many wire bytes one decode iteration reads: small frames are
/// decoded in batches, as they arrive from a socket read (a 64 KiB frame is
/// a batch of one).
pub const BATCH_BYTES: usize = 64 * 1024;

/// Binary opcode (RFC 6455 5.2).
pub const OPCODE_BINARY: u8 = 0x2;

/// `len` deterministic pseudo-random bytes (binary payloads: no UTF-8 rules).
pub fn payload(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9 ^ len as u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// Append one final frame with `opcode` and `payload`, masked with `mask`
/// when given, using the minimal length encoding.
pub fn build_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(0x80 | opcode);
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(xor_mask(payload, key));
        }
        None => out.extend_from_slice(payload),
    }
}

/// `bytes` XORed with `key` the plain way (RFC 6455 5.3): the reference every
/// implementation's masking is checked against.
pub fn xor_mask(bytes: &[u8], key: [u8; 4]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().enumerate().map(move |(i, b)| b ^ key[i & 3])
}

/// Consecutive identical masked binary frames (client to server), as one
/// socket read would deliver them.
#[derive(Debug, Clone)]
pub struct FrameBatch {
    /// The unmasked payload every frame carries.
    pub payload: Vec<u8>,
    /// The frames back to back, on the wire.
    pub bytes: Vec<u8>,
    /// How many frames `bytes` holds.
    pub frames: usize,
}

impl FrameBatch {
    /// Frames of `payload_len` bytes masked with [`MASK_KEY`], as many as fit
    /// in [`BATCH_BYTES`] (at least one).
    pub fn masked(payload_len: usize) -> FrameBatch {
        let payload = payload(payload_len);
        let mut one = Vec::new();
        build_frame(&mut one, OPCODE_BINARY, &payload, Some(MASK_KEY));
        let frames = (BATCH_BYTES / one.len()).max(1);
        let bytes = one.repeat(frames);
        FrameBatch {
            payload,
            bytes,
            frames,
        }
    }

    /// Payload bytes in the batch: what criterion's throughput counts.
    pub fn payload_bytes(&self) -> u64 {
        (self.payload.len() * self.frames) as u64
    }
}

/// Where in its 4 KiB page every source buffer of the benches starts.
///
/// glibc's `memcpy` on this machine's CPU (AMD EPYC, `rep movsb` path) falls
/// from ~30 GB/s to ~1-2 GB/s on a 64 KiB copy when the destination sits 1 to
/// ~31 bytes past the source modulo 4096 (4K aliasing). Two equal-sized buffers
/// allocated back to back land exactly there (distance = size + malloc's 16 +
/// a frame header), so which side of a comparison hits the cliff would depend
/// on allocation order, not on its code. Sources start mid-page instead, so a
/// destination (each implementation's own buffer, wherever its allocator put
/// it) hits the cliff only if its payload starts ~2049-2079 bytes into a page:
/// a ~1% accident rather than the systematic outcome of allocation order.
/// `benches/codec.sh` flags any 64 KiB copy result that looks like the cliff.
pub const SOURCE_PAGE_OFFSET: usize = 2048;

/// Bytes placed at [`SOURCE_PAGE_OFFSET`] within a page.
#[derive(Debug, Clone)]
pub struct Placed {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl Placed {
    /// A copy of `bytes` starting at [`SOURCE_PAGE_OFFSET`] within a page.
    pub fn new(bytes: &[u8]) -> Placed {
        let mut storage = vec![0u8; bytes.len() + 2 * 4096];
        let base = storage.as_ptr() as usize;
        let start = (SOURCE_PAGE_OFFSET + 4096 - base % 4096) % 4096;
        storage[start..start + bytes.len()].copy_from_slice(bytes);
        Placed {
            storage,
            start,
            len: bytes.len(),
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }

    /// The backing vector and the range of it that holds the bytes (to build
    /// a `Bytes` that keeps the placement: `Bytes::from(vec).slice(range)`).
    pub fn into_parts(self) -> (Vec<u8>, std::ops::Range<usize>) {
        (self.storage, self.start..self.start + self.len)
    }
}

/// A frame as a plain reading of RFC 6455 5.2 sees it: the oracle the benches
/// check every implementation's output against before measuring it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// FIN and opcode bits (first byte without RSV).
    pub first_byte: u8,
    /// The masking key, if the frame was masked.
    pub mask: Option<[u8; 4]>,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
    /// Bytes the frame took on the wire.
    pub wire_len: usize,
}

/// Read the whole frame at the start of `wire`; `None` when it is cut short.
pub fn read_frame(wire: &[u8]) -> Option<WireFrame> {
    let (&b0, rest) = wire.split_first()?;
    let (&b1, mut rest) = rest.split_first()?;
    let len = match b1 & 0x7f {
        126 => {
            let (len, tail) = rest.split_first_chunk::<2>()?;
            rest = tail;
            u16::from_be_bytes(*len) as usize
        }
        127 => {
            let (len, tail) = rest.split_first_chunk::<8>()?;
            rest = tail;
            usize::try_from(u64::from_be_bytes(*len)).ok()?
        }
        len => len as usize,
    };
    let mask = if b1 & 0x80 != 0 {
        let (key, tail) = rest.split_first_chunk::<4>()?;
        rest = tail;
        Some(*key)
    } else {
        None
    };
    let body = rest.get(..len)?;
    let payload = match mask {
        Some(key) => xor_mask(body, key).collect(),
        None => body.to_vec(),
    };
    Some(WireFrame {
        first_byte: b0,
        mask,
        payload,
        wire_len: wire.len() - rest.len() + len,
    })
}

/// An in-memory socket for the peers that only read through a stream: reads
/// return the batch over and over (always whole frames, never end of file),
/// writes are discarded. Each read copies at most up to the end of the batch,
/// as one `recv` from a socket would.
#[derive(Debug, Clone)]
pub struct LoopStream {
    data: Placed,
    pos: usize,
}

impl LoopStream {
    /// A stream replaying `data` forever.
    pub fn new(data: &[u8]) -> LoopStream {
        assert!(!data.is_empty(), "a LoopStream needs bytes to replay");
        LoopStream {
            data: Placed::new(data),
            pos: 0,
        }
    }

    /// The bytes the next read returns: at most `max`, up to the end of the
    /// batch. They count as read.
    pub fn next_chunk(&mut self, max: usize) -> &[u8] {
        let data = self.data.as_slice();
        let start = self.pos;
        let n = max.min(data.len() - start);
        self.pos = (start + n) % data.len();
        &data[start..start + n]
    }
}

impl Read for LoopStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = self.next_chunk(buf.len());
        buf[..chunk.len()].copy_from_slice(chunk);
        Ok(chunk.len())
    }
}

impl Write for LoopStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A browser's upgrade request, as Chrome sends it (508 bytes, 12 headers,
/// with a permessage-deflate offer).
pub const BROWSER_UPGRADE_REQUEST: &[u8] = b"GET /room/lobby?token=abc123 HTTP/1.1\r\n\
Host: ws.example.com\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
\r\n";

/// The `Sec-WebSocket-Accept` every implementation must answer
/// [`BROWSER_UPGRADE_REQUEST`] with (the RFC 6455 1.3 example key).
pub const BROWSER_UPGRADE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths_use_each_encoding() {
        let mut out = Vec::new();
        for (len, header) in [(16, 6), (125, 6), (1024, 8), (65536, 14)] {
            out.clear();
            build_frame(&mut out, OPCODE_BINARY, &payload(len), Some(MASK_KEY));
            assert_eq!(out.len(), header + len, "payload {len}");
        }
        out.clear();
        build_frame(&mut out, OPCODE_BINARY, &payload(200), None);
        assert_eq!(&out[..4], &[0x82, 126, 0, 200]);
    }

    #[test]
    fn masked_frames_unmask_to_the_payload() {
        let batch = FrameBatch::masked(125);
        assert_eq!(batch.frames, BATCH_BYTES / 131);
        let body = &batch.bytes[6..6 + 125];
        let unmasked: Vec<u8> = xor_mask(body, MASK_KEY).collect();
        assert_eq!(unmasked, batch.payload);
        assert_eq!(FrameBatch::masked(65536).frames, 1);
    }

    #[test]
    fn read_frame_inverts_build_frame() {
        for len in PAYLOAD_SIZES {
            for mask in [None, Some(MASK_KEY)] {
                let mut wire = Vec::new();
                build_frame(&mut wire, OPCODE_BINARY, &payload(len), mask);
                let frame = read_frame(&wire).unwrap();
                assert_eq!(frame.first_byte, 0x82);
                assert_eq!(frame.mask, mask);
                assert_eq!(frame.payload, payload(len));
                assert_eq!(frame.wire_len, wire.len());
                assert_eq!(read_frame(&wire[..wire.len() - 1]), None);
            }
        }
    }

    #[test]
    fn loop_stream_replays_whole_batches() {
        let mut stream = LoopStream::new(b"abcde");
        let mut buf = [0u8; 3];
        let mut seen = Vec::new();
        for _ in 0..5 {
            let n = stream.read(&mut buf).unwrap();
            seen.extend_from_slice(&buf[..n]);
        }
        // Reads stop at the end of the batch: 3, 2, 3, 2, 3 bytes.
        assert_eq!(seen, b"abcdeabcdeabc");
        assert_eq!(stream.write(b"xyz").unwrap(), 3);
    }

    #[test]
    fn placed_bytes_start_mid_page() {
        let mut placed = Placed::new(&payload(5000));
        assert_eq!(placed.as_slice(), &payload(5000)[..]);
        assert_eq!(
            placed.as_mut_slice().as_ptr() as usize % 4096,
            SOURCE_PAGE_OFFSET
        );
        let (storage, range) = placed.into_parts();
        assert_eq!(&storage[range], &payload(5000)[..]);
    }

    #[test]
    fn request_is_well_formed() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let status = req.parse(BROWSER_UPGRADE_REQUEST).unwrap();
        assert_eq!(
            status,
            httparse::Status::Complete(BROWSER_UPGRADE_REQUEST.len())
        );
        assert_eq!(req.headers.len(), 12);
    }
}
