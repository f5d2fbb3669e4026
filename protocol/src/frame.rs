//! Frame codec (RFC 6455 section 5): header parsing for every length
//! encoding, role-dependent masking rules, limits, and an encoder that writes
//! a frame once into a `Bytes` shared by many connections.

use bytes::{Bytes, BytesMut};

use crate::error::Error;

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
        unimplemented!()
    }

    /// Parse a 4-bit wire value; reserved values are an error.
    pub fn from_u8(value: u8) -> Result<OpCode, Error> {
        unimplemented!("{value}")
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

impl FrameHeader {
    /// Number of bytes this header takes on the wire (2 to 14).
    pub fn encoded_len(&self) -> usize {
        unimplemented!()
    }

    /// Write the header into `out` (at least `encoded_len()` bytes long) and
    /// return the number of bytes written. Uses the minimal length encoding.
    pub fn write(&self, out: &mut [u8]) -> usize {
        unimplemented!("{out:?}")
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
    pub fn parse_header(&self, buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, Error> {
        unimplemented!("{buf:?}")
    }

    /// Decode the frame at the start of `buf`, unmasking its payload in place.
    pub fn decode<'a>(&self, buf: &'a mut [u8]) -> Result<Decoded<'a>, Error> {
        unimplemented!("{buf:?}")
    }
}

/// Append one frame (header + payload, masked with `mask` when given) to `dst`.
pub fn encode_into(dst: &mut BytesMut, opcode: OpCode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) {
    unimplemented!("{dst:?}{opcode:?}{fin}{payload:?}{mask:?}")
}

/// Encode one whole frame into a fresh `Bytes`, ready to be shared by every
/// connection it is sent to (cloning a `Bytes` is a reference-count bump).
pub fn encode(opcode: OpCode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Bytes {
    unimplemented!("{opcode:?}{fin}{payload:?}{mask:?}")
}

/// Encode a close frame with `code` and `reason` (truncated on a char
/// boundary so the payload stays within 125 bytes).
pub fn encode_close(code: crate::close::CloseCode, reason: &str, mask: Option<[u8; 4]>) -> Bytes {
    unimplemented!("{code:?}{reason}{mask:?}")
}
