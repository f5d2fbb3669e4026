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

/// Largest payload of a control frame (RFC 6455 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

const FIN_BIT: u8 = 0x80;
const MASK_BIT: u8 = 0x80;
const LEN_16: u8 = 126;
const LEN_64: u8 = 127;

impl FrameHeader {
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
        let fin = if self.fin { FIN_BIT } else { 0 };
        out[0] = fin | ((self.rsv & 0b111) << 4) | self.opcode.as_u8();
        let mask = if self.mask.is_some() { MASK_BIT } else { 0 };
        let mut at = 2;
        match self.payload_len {
            len @ 0..=125 => out[1] = mask | len as u8,
            len @ 126..=0xFFFF => {
                out[1] = mask | LEN_16;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                at = 4;
            }
            len => {
                out[1] = mask | LEN_64;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                at = 10;
            }
        }
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
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
pub fn encode_into(
    dst: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let head_len = header.write(&mut head);
    dst.reserve(head_len + payload.len());
    dst.extend_from_slice(&head[..head_len]);
    let start = dst.len();
    dst.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut dst[start..], key, 0);
    }
}

/// Encode one whole frame into a fresh `Bytes`, ready to be shared by every
/// connection it is sent to (cloning a `Bytes` is a reference-count bump).
pub fn encode(opcode: OpCode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Bytes {
    let mut dst = BytesMut::with_capacity(MAX_HEADER_LEN + payload.len());
    encode_into(&mut dst, opcode, fin, payload, mask);
    dst.freeze()
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
