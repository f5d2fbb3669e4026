//! Frame codec (RFC 6455 section 5): header parsing for every length
//! encoding, role-dependent masking rules, limits, and an encoder that writes
//! a frame once into a `Bytes` shared by many connections.

use bytes::{Bytes, BytesMut};

use crate::close::CloseCode;
use crate::error::Error;
use crate::mask::apply_mask;

/// Which end of the connection we are. Servers require masked frames from
/// clients and never mask their own; clients do the opposite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We accept connections: incoming frames must be masked.
    Server,
    /// We open connections: incoming frames must not be masked.
    Client,
}

/// Frame opcode (RFC 6455 5.2). Reserved opcodes are rejected when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continuation of a fragmented message.
    Continuation,
    /// 0x1: text (UTF-8) data.
    Text,
    /// 0x2: binary data.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Parse a 4-bit wire value; reserved values are an error.
    pub fn from_u8(value: u8) -> Result<OpCode, Error> {
        Ok(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(Error::ReservedOpcode(other)),
        })
    }

    /// Close, Ping and Pong are control frames.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of a message.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

/// Longest possible header: 2 + 8 (64-bit length) + 4 (mask key).
pub const MAX_HEADER_LEN: usize = 14;

/// Size of the block [`FrameHeader::to_block`] builds a header in.
pub const HEADER_BLOCK: usize = 16;

/// Largest payload of a control frame (RFC 6455 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

const FIN_BIT: u8 = 0x80;
const MASK_BIT: u8 = 0x80;
const LEN_16: u8 = 126;
const LEN_64: u8 = 127;

impl FrameHeader {
    /// The header of a frame without extension bits (what we send).
    pub fn unextended(
        opcode: OpCode,
        fin: bool,
        payload_len: usize,
        mask: Option<[u8; 4]>,
    ) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len: payload_len as u64,
        }
    }

    /// Number of bytes this header takes on the wire (2 to 14).
    pub fn encoded_len(&self) -> usize {
        let length_bytes = match self.payload_len {
            0..=125 => 0,
            126..=0xFFFF => 2,
            _ => 8,
        };
        let mask_bytes = if self.mask.is_some() { 4 } else { 0 };
        2 + length_bytes + mask_bytes
    }

    /// Write the header into `out` (at least `encoded_len()` bytes long) and
    /// return the number of bytes written. Uses the minimal length encoding.
    ///
    /// # Panics
    /// When `out` is shorter than `encoded_len()` (a caller bug, never input).
    pub fn write(&self, out: &mut [u8]) -> usize {
        let (block, len) = self.to_block();
        out[..len].copy_from_slice(&block[..len]);
        len
    }

    /// The header in the first `len` bytes of a 16-byte block, returned with
    /// `len`. Built in one 128-bit register and stored at once: writing it
    /// byte by byte and then loading it wide for the copy stalls on store
    /// forwarding, which showed in the small-frame encode benchmark.
    pub fn to_block(&self) -> ([u8; HEADER_BLOCK], usize) {
        let fin = if self.fin { FIN_BIT } else { 0 };
        let first = fin | ((self.rsv & 0b111) << 4) | self.opcode.as_u8();
        let mask = if self.mask.is_some() { MASK_BIT } else { 0 };
        // Little-endian layout: bit 8*i of `block` is the first bit of byte i.
        let (second, extended, at) = match self.payload_len {
            len @ 0..=125 => (mask | len as u8, 0u128, 2),
            len @ 126..=0xFFFF => (
                mask | LEN_16,
                u128::from((len as u16).swap_bytes()) << 16,
                4,
            ),
            len => (mask | LEN_64, u128::from(len.swap_bytes()) << 16, 10),
        };
        let mut block = u128::from(first) | u128::from(second) << 8 | extended;
        let mut len = at;
        if let Some(key) = self.mask {
            block |= u128::from(u32::from_le_bytes(key)) << (8 * at);
            len += 4;
        }
        (block.to_le_bytes(), len)
    }
}

/// Result of one decode step.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// The buffer does not yet hold a whole frame; at least this many more
    /// bytes are needed (a hint: reading more is always fine).
    NeedMore(usize),
    /// A whole frame: its header, its payload (already unmasked in place), and
    /// how many bytes of the buffer it took (header + payload).
    Frame {
        /// The header as received (mask key included).
        header: FrameHeader,
        /// The unmasked payload, borrowed from the caller's buffer.
        payload: &'a [u8],
        /// Bytes consumed from the start of the buffer.
        consumed: usize,
    },
}

/// Decodes frames from a caller-owned buffer. Holds only configuration: the
/// partial-input state is the caller's buffer itself, so an idle connection
/// owns no decoder memory beyond this struct.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    /// Our role: decides whether incoming frames must or must not be masked.
    pub role: Role,
    /// Largest accepted payload of a single frame; over it: 1009.
    pub max_frame_size: u64,
    /// RSV bits a negotiated extension allows (0 without extensions).
    pub allowed_rsv: u8,
}

impl FrameDecoder {
    /// A decoder for `role` with the given maximum frame payload size.
    pub fn new(role: Role, max_frame_size: u64) -> FrameDecoder {
        FrameDecoder {
            role,
            max_frame_size,
            allowed_rsv: 0,
        }
    }

    /// Parse and validate the header at the start of `buf` without touching
    /// the payload. Returns the header and its length, or `None` when more
    /// bytes are needed. Errors are detected as soon as the offending header
    /// bytes are present (before the payload arrives).
    ///
    /// Non-minimal length encodings (e.g. a 5-byte payload announced with the
    /// 16-bit form) are accepted: RFC 6455 5.2 says the minimal form "must" be
    /// used but names no reaction, they cost nothing to accept, and rejecting
    /// them only breaks odd but harmless peers.
    pub fn parse_header(&self, buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, Error> {
        self.parse_header_or_need(buf).map(|parsed| parsed.ok())
    }

    /// Like [`parse_header`](Self::parse_header), but on short input says
    /// how long the header will be (a lower bound while byte 1 is missing).
    fn parse_header_or_need(
        &self,
        buf: &[u8],
    ) -> Result<Result<(FrameHeader, usize), usize>, Error> {
        let Some(&b0) = buf.first() else {
            return Ok(Err(2));
        };
        let fin = b0 & FIN_BIT != 0;
        let rsv = (b0 >> 4) & 0b111;
        if rsv & !self.allowed_rsv != 0 {
            return Err(Error::ReservedBitsSet);
        }
        let opcode = OpCode::from_u8(b0 & 0x0F)?;
        if opcode.is_control() && !fin {
            return Err(Error::FragmentedControlFrame);
        }
        let Some(&b1) = buf.get(1) else {
            return Ok(Err(2));
        };
        let masked = b1 & MASK_BIT != 0;
        match (self.role, masked) {
            (Role::Server, false) => return Err(Error::UnmaskedFrame),
            (Role::Client, true) => return Err(Error::MaskedFrame),
            _ => {}
        }
        let len7 = b1 & 0x7F;
        if opcode.is_control() && usize::from(len7) > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlFrameTooLong);
        }
        let length_bytes = match len7 {
            LEN_16 => 2,
            LEN_64 => 8,
            _ => 0,
        };
        let header_len = 2 + length_bytes + if masked { 4 } else { 0 };
        let payload_len = match len7 {
            LEN_16 => match buf.get(2..4) {
                Some(&[a, b]) => u64::from(u16::from_be_bytes([a, b])),
                _ => return Ok(Err(header_len)),
            },
            LEN_64 => {
                // Checked on the first length byte, before the other seven.
                if buf.get(2).is_some_and(|&high| high & 0x80 != 0) {
                    return Err(Error::LengthTopBitSet);
                }
                match buf.get(2..10) {
                    Some(&[a, b, c, d, e, f, g, h]) => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
                    _ => return Ok(Err(header_len)),
                }
            }
            short => u64::from(short),
        };
        if payload_len > self.max_frame_size {
            return Err(Error::FrameTooLarge);
        }
        let mask = match buf.get(2 + length_bytes..header_len) {
            _ if !masked => None,
            Some(&[a, b, c, d]) => Some([a, b, c, d]),
            _ => return Ok(Err(header_len)),
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len,
        };
        Ok(Ok((header, header_len)))
    }

    /// Decode the frame at the start of `buf`, unmasking its payload in place.
    pub fn decode<'a>(&self, buf: &'a mut [u8]) -> Result<Decoded<'a>, Error> {
        let (header, header_len) = match self.parse_header_or_need(buf)? {
            Ok(parsed) => parsed,
            Err(header_len) => return Ok(Decoded::NeedMore(header_len - buf.len())),
        };
        // Only fails where usize is narrower than the configured limit.
        let payload_len = usize::try_from(header.payload_len).map_err(|_| Error::FrameTooLarge)?;
        let Some(consumed) = header_len.checked_add(payload_len) else {
            return Err(Error::FrameTooLarge);
        };
        if buf.len() < consumed {
            return Ok(Decoded::NeedMore(consumed - buf.len()));
        }
        let payload = &mut buf[header_len..consumed];
        if let Some(key) = header.mask {
            apply_mask(payload, key, 0);
        }
        Ok(Decoded::Frame {
            header,
            payload,
            consumed,
        })
    }
}

/// Append one frame (header + payload, masked with `mask` when given) to `dst`.
/// Reserves room for a whole 16-byte header block besides the payload.
pub fn encode_into(
    dst: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let (block, head_len) = FrameHeader::unextended(opcode, fin, payload.len(), mask).to_block();
    dst.reserve(HEADER_BLOCK + payload.len());
    let start = dst.len();
    // A fixed-size copy compiles to two stores; a copy of `head_len` bytes
    // would be a `memcpy` call. The block's unused tail is cut off again.
    dst.extend_from_slice(&block);
    dst.truncate(start + head_len);
    append_payload(dst, payload, mask);
}

/// Encode one whole frame into a fresh `Bytes`, ready to be shared by every
/// connection it is sent to (cloning a `Bytes` is a reference-count bump).
pub fn encode(opcode: OpCode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Bytes {
    let (block, head_len) = FrameHeader::unextended(opcode, fin, payload.len(), mask).to_block();
    // Exactly the frame's size: when length equals capacity, `freeze` keeps
    // the one allocation instead of boxing a second header for the `Bytes`.
    let mut dst = BytesMut::with_capacity(head_len + payload.len());
    dst.extend_from_slice(&block[..head_len]);
    append_payload(&mut dst, payload, mask);
    dst.freeze()
}

fn append_payload(dst: &mut BytesMut, payload: &[u8], mask: Option<[u8; 4]>) {
    let start = dst.len();
    dst.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut dst[start..], key, 0);
    }
}

/// Encode a close frame with `code` and `reason` (truncated on a char
/// boundary so the payload stays within 125 bytes).
pub fn encode_close(code: CloseCode, reason: &str, mask: Option<[u8; 4]>) -> Bytes {
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = [0u8; MAX_CONTROL_PAYLOAD];
    payload[..2].copy_from_slice(&code.0.to_be_bytes());
    payload[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
    encode(OpCode::Close, true, &payload[..2 + end], mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 1 << 20;

    fn server() -> FrameDecoder {
        FrameDecoder::new(Role::Server, MAX)
    }

    fn client() -> FrameDecoder {
        FrameDecoder::new(Role::Client, MAX)
    }

    /// Decode `bytes` whole and return (header, payload, consumed).
    fn decode_one(
        decoder: FrameDecoder,
        bytes: &[u8],
    ) -> Result<(FrameHeader, Vec<u8>, usize), Error> {
        let mut buf = bytes.to_vec();
        match decoder.decode(&mut buf)? {
            Decoded::Frame {
                header,
                payload,
                consumed,
            } => Ok((header, payload.to_vec(), consumed)),
            Decoded::NeedMore(n) => panic!("needed {n} more bytes"),
        }
    }

    fn decode_err(decoder: FrameDecoder, bytes: &[u8]) -> Error {
        let mut buf = bytes.to_vec();
        decoder.decode(&mut buf).expect_err("decoding should fail")
    }

    // ---- RFC 6455 5.7 examples ----

    #[test]
    fn rfc_5_7_unmasked_hello_decodes_on_client() {
        let (header, payload, consumed) =
            decode_one(client(), &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]).unwrap();
        assert!(header.fin);
        assert_eq!(header.opcode, OpCode::Text);
        assert_eq!(header.mask, None);
        assert_eq!(payload, b"Hello");
        assert_eq!(consumed, 7);
    }

    #[test]
    fn rfc_5_7_masked_hello_decodes_on_server() {
        let bytes = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (header, payload, consumed) = decode_one(server(), &bytes).unwrap();
        assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(payload, b"Hello");
        assert_eq!(consumed, 11);
        assert_eq!(
            &encode(OpCode::Text, true, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d]))[..],
            &bytes
        );
    }

    #[test]
    fn rfc_5_7_fragmented_hello_decodes_as_two_frames() {
        let bytes = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f];
        let (first, payload, consumed) = decode_one(client(), &bytes).unwrap();
        assert!(!first.fin);
        assert_eq!(first.opcode, OpCode::Text);
        assert_eq!(payload, b"Hel");
        let (second, payload, _) = decode_one(client(), &bytes[consumed..]).unwrap();
        assert!(second.fin);
        assert_eq!(second.opcode, OpCode::Continuation);
        assert_eq!(payload, b"lo");
    }

    #[test]
    fn rfc_5_7_ping_and_masked_pong_decode() {
        let (ping, payload, _) =
            decode_one(client(), &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]).unwrap();
        assert_eq!(ping.opcode, OpCode::Ping);
        assert_eq!(payload, b"Hello");
        let pong = [
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (header, payload, _) = decode_one(server(), &pong).unwrap();
        assert_eq!(header.opcode, OpCode::Pong);
        assert_eq!(payload, b"Hello");
    }

    #[test]
    fn rfc_5_7_256_byte_binary_uses_16_bit_length() {
        let payload = vec![0xab; 256];
        let frame = encode(OpCode::Binary, true, &payload, None);
        assert_eq!(&frame[..4], &[0x82, 0x7e, 0x01, 0x00]);
        let (_, decoded, consumed) = decode_one(client(), &frame).unwrap();
        assert_eq!(decoded, payload);
        assert_eq!(consumed, 260);
    }

    #[test]
    fn rfc_5_7_64k_binary_uses_64_bit_length() {
        let payload = vec![0xcd; 65536];
        let frame = encode(OpCode::Binary, true, &payload, None);
        assert_eq!(&frame[..10], &[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
        let (_, decoded, consumed) = decode_one(client(), &frame).unwrap();
        assert_eq!(decoded, payload);
        assert_eq!(consumed, 65546);
    }

    // ---- length encodings (5.2) ----

    #[test]
    fn length_boundaries_use_minimal_encoding() {
        for (len, header_len) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            let frame = encode(OpCode::Binary, true, &vec![0; len], None);
            assert_eq!(frame.len(), header_len + len, "len {len}");
            let masked = encode(OpCode::Binary, true, &vec![0; len], Some([1, 2, 3, 4]));
            assert_eq!(masked.len(), header_len + 4 + len, "masked len {len}");
        }
    }

    #[test]
    fn non_minimal_16_bit_length_is_accepted() {
        let (header, payload, consumed) =
            decode_one(client(), &[0x82, 0x7e, 0x00, 0x03, 1, 2, 3]).unwrap();
        assert_eq!(header.payload_len, 3);
        assert_eq!(payload, [1, 2, 3]);
        assert_eq!(consumed, 7);
    }

    #[test]
    fn non_minimal_64_bit_length_is_accepted() {
        let bytes = [0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 2, 9, 8];
        let (header, payload, _) = decode_one(client(), &bytes).unwrap();
        assert_eq!(header.payload_len, 2);
        assert_eq!(payload, [9, 8]);
    }

    #[test]
    fn sixty_four_bit_length_with_top_bit_set_is_rejected() {
        let decoder = FrameDecoder::new(Role::Client, u64::MAX);
        let bytes = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(decode_err(decoder, &bytes), Error::LengthTopBitSet);
    }

    #[test]
    fn sixty_four_bit_length_top_bit_is_rejected_from_its_first_byte() {
        let decoder = FrameDecoder::new(Role::Client, u64::MAX);
        assert_eq!(
            decode_err(decoder, &[0x82, 0x7f, 0xff]),
            Error::LengthTopBitSet
        );
    }

    // ---- partial input ----

    #[test]
    fn empty_buffer_needs_two_bytes() {
        assert_eq!(server().decode(&mut []), Ok(Decoded::NeedMore(2)));
    }

    #[test]
    fn partial_header_hint_counts_the_missing_header_bytes() {
        // Masked 16-bit length: 2 + 2 + 4 = 8 header bytes; 3 present.
        let mut buf = [0x82, 0xfe, 0x01];
        assert_eq!(server().decode(&mut buf), Ok(Decoded::NeedMore(5)));
    }

    #[test]
    fn partial_payload_hint_counts_the_missing_payload_bytes() {
        let frame = encode(OpCode::Binary, true, &[7; 300], Some([9, 9, 9, 9]));
        let mut buf = frame[..100].to_vec();
        assert_eq!(
            server().decode(&mut buf),
            Ok(Decoded::NeedMore(frame.len() - 100))
        );
    }

    #[test]
    fn every_prefix_of_a_frame_needs_more_and_the_whole_decodes() {
        let frame = encode(OpCode::Text, true, &[b'x'; 200], Some([1, 2, 3, 4]));
        for cut in 0..frame.len() {
            let mut buf = frame[..cut].to_vec();
            match server().decode(&mut buf) {
                Ok(Decoded::NeedMore(n)) => {
                    assert!(n >= 1 && cut + n <= frame.len(), "cut {cut} hint {n}")
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
        assert_eq!(decode_one(server(), &frame).unwrap().1, vec![b'x'; 200]);
    }

    #[test]
    fn bytes_after_the_frame_are_left_for_the_next_decode() {
        let mut stream = encode(OpCode::Text, true, b"one", Some([1, 1, 1, 1])).to_vec();
        stream.extend_from_slice(&encode(OpCode::Text, true, b"two", Some([2, 2, 2, 2])));
        let (_, payload, consumed) = decode_one(server(), &stream).unwrap();
        assert_eq!(payload, b"one");
        assert_eq!(decode_one(server(), &stream[consumed..]).unwrap().1, b"two");
    }

    // ---- masking rules (5.1, 5.3) ----

    #[test]
    fn server_rejects_unmasked_client_frame() {
        assert_eq!(
            decode_err(server(), &[0x81, 0x02, b'h', b'i']),
            Error::UnmaskedFrame
        );
    }

    #[test]
    fn client_rejects_masked_server_frame() {
        assert_eq!(
            decode_err(
                client(),
                &encode(OpCode::Text, true, b"hi", Some([1, 2, 3, 4]))
            ),
            Error::MaskedFrame
        );
    }

    #[test]
    fn unmasked_frame_is_rejected_before_its_payload_arrives() {
        assert_eq!(decode_err(server(), &[0x82, 0x7e]), Error::UnmaskedFrame);
    }

    #[test]
    fn all_zero_mask_key_is_still_a_masked_frame() {
        let (header, payload, _) = decode_one(server(), &[0x82, 0x82, 0, 0, 0, 0, 5, 6]).unwrap();
        assert_eq!(header.mask, Some([0; 4]));
        assert_eq!(payload, [5, 6]);
    }

    // ---- RSV bits and opcodes (5.2) ----

    #[test]
    fn rsv_bits_without_extension_are_rejected() {
        for rsv in [0x40, 0x20, 0x10] {
            assert_eq!(
                decode_err(client(), &[0x81 | rsv, 0x00]),
                Error::ReservedBitsSet,
                "{rsv:#x}"
            );
        }
    }

    #[test]
    fn rsv1_is_accepted_when_an_extension_allows_it() {
        let decoder = FrameDecoder {
            allowed_rsv: 0b100,
            ..client()
        };
        let (header, _, _) = decode_one(decoder, &[0xc1, 0x00]).unwrap();
        assert_eq!(header.rsv, 0b100);
        assert_eq!(decode_err(decoder, &[0xa1, 0x00]), Error::ReservedBitsSet);
    }

    #[test]
    fn reserved_opcodes_are_rejected() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                decode_err(client(), &[0x80 | op, 0x00]),
                Error::ReservedOpcode(op)
            );
        }
    }

    #[test]
    fn opcode_wire_values_round_trip() {
        for op in [
            OpCode::Continuation,
            OpCode::Text,
            OpCode::Binary,
            OpCode::Close,
            OpCode::Ping,
            OpCode::Pong,
        ] {
            assert_eq!(OpCode::from_u8(op.as_u8()), Ok(op));
        }
    }

    // ---- control frames (5.5) ----

    #[test]
    fn control_frame_with_125_byte_payload_is_accepted() {
        let frame = encode(OpCode::Ping, true, &[0; 125], None);
        assert_eq!(decode_one(client(), &frame).unwrap().1.len(), 125);
    }

    #[test]
    fn control_frame_with_126_byte_payload_is_rejected() {
        assert_eq!(
            decode_err(client(), &[0x89, 0x7e, 0x00, 0x7e]),
            Error::ControlFrameTooLong
        );
    }

    #[test]
    fn control_frame_too_long_is_rejected_from_the_second_byte() {
        assert_eq!(
            decode_err(client(), &[0x88, 0x7f]),
            Error::ControlFrameTooLong
        );
    }

    #[test]
    fn fragmented_control_frame_is_rejected() {
        for op in [0x8u8, 0x9, 0xa] {
            assert_eq!(
                decode_err(client(), &[op, 0x00]),
                Error::FragmentedControlFrame
            );
        }
    }

    // ---- limits ----

    #[test]
    fn frame_over_max_size_is_rejected_from_the_header_alone() {
        let decoder = FrameDecoder::new(Role::Server, 1000);
        // Header says 1001 bytes; not one payload byte present.
        let bytes = [0x82, 0xfe, 0x03, 0xe9, 1, 2, 3, 4];
        assert_eq!(decode_err(decoder, &bytes), Error::FrameTooLarge);
        let at_limit = [0x82, 0xfe, 0x03, 0xe8, 1, 2, 3, 4];
        assert_eq!(
            decoder.decode(&mut at_limit.clone()),
            Ok(Decoded::NeedMore(1000))
        );
    }

    #[test]
    fn frame_over_max_size_is_rejected_before_the_mask_key_arrives() {
        let decoder = FrameDecoder::new(Role::Server, 10);
        assert_eq!(decode_err(decoder, &[0x82, 0x8b]), Error::FrameTooLarge);
    }

    // ---- encoder ----

    #[test]
    fn header_write_and_encoded_len_agree() {
        for payload_len in [0u64, 1, 125, 126, 65535, 65536, 1 << 40] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let header = FrameHeader {
                    fin: false,
                    rsv: 0b101,
                    opcode: OpCode::Binary,
                    mask,
                    payload_len,
                };
                let mut out = [0u8; MAX_HEADER_LEN];
                let written = header.write(&mut out);
                assert_eq!(written, header.encoded_len());
                let decoder = FrameDecoder {
                    allowed_rsv: 0b111,
                    ..FrameDecoder::new(
                        if mask.is_some() {
                            Role::Server
                        } else {
                            Role::Client
                        },
                        u64::MAX,
                    )
                };
                assert_eq!(
                    decoder.parse_header(&out[..written]),
                    Ok(Some((header, written)))
                );
            }
        }
    }

    #[test]
    fn encode_into_appends_after_existing_bytes() {
        let mut dst = BytesMut::from(&b"prefix"[..]);
        encode_into(&mut dst, OpCode::Text, true, b"hi", Some([1, 2, 3, 4]));
        assert_eq!(&dst[..6], b"prefix");
        assert_eq!(decode_one(server(), &dst[6..]).unwrap().1, b"hi");
    }

    #[test]
    fn encode_close_writes_code_and_reason() {
        let frame = encode_close(CloseCode::GOING_AWAY, "bye", None);
        assert_eq!(&frame[..], &[0x88, 0x05, 0x03, 0xe9, b'b', b'y', b'e']);
    }

    #[test]
    fn encode_close_truncates_long_reason_on_a_char_boundary() {
        // 61 two-byte chars = 122 bytes fit; the 62nd would end at 124 > 123.
        let reason = "é".repeat(100);
        let frame = encode_close(CloseCode::NORMAL, &reason, None);
        let (_, payload, _) = decode_one(client(), &frame).unwrap();
        assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
        assert_eq!(payload.len(), 2 + 122);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
    }
}
