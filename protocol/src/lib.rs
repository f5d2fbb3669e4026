//! Sans-I/O RFC 6455.
//!
//! Everything here is a pure function of its inputs: no sockets, no runtime,
//! no clock, no randomness. Mask keys and handshake keys are passed in by the
//! caller, so every rule is testable byte for byte and the same code serves
//! the server (engine) and the client (load generator, tests).
//!
//! A server connection, start to finish:
//!
//! ```
//! use ringcast_protocol::frame::{encode, encode_close, OpCode};
//! use ringcast_protocol::handshake::server::{parse_request, write_accept, write_reject, ParsedRequest, RequestLimits};
//! use ringcast_protocol::{CloseCode, Message, MessageLimits, Received, Receiver, Role};
//!
//! // Bytes read so far: the upgrade request and, pipelined, a masked "Hello".
//! let mut buf = b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
//! buf.extend_from_slice(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//!
//! let mut out = Vec::new();
//! let ParsedRequest::Complete(request, head_len) = parse_request(&buf, &RequestLimits::default())? else {
//!     unreachable!("read more and try again");
//! };
//! match request.validate_upgrade() {
//!     Ok(upgrade) => write_accept(&mut out, &upgrade.key, None, None),
//!     Err(e) => { write_reject(&mut out, &e); return Ok(()); } // then close the socket
//! }
//! buf.drain(..head_len); // what is left is WebSocket frames
//!
//! let limits = MessageLimits { max_message_size: 1 << 20, max_fragments: 1024 };
//! let mut rx = Receiver::new(Role::Server, limits);
//! let mut start = 0;
//! loop {
//!     match rx.receive(&mut buf[start..]) {
//!         Ok(Received::NeedMore(_)) => break, // keep buf[start..], read more
//!         Ok(Received::Frame { message, consumed }) => {
//!             start += consumed;
//!             if let Some(Message::Text(text)) = message {
//!                 assert_eq!(text, "Hello");
//!                 let frame = encode(OpCode::Text, true, text.as_bytes(), None); // shareable Bytes
//!                 out.extend_from_slice(&frame);
//!             }
//!         }
//!         Err(e) => {
//!             // Fatal: send the matching close code, then close.
//!             let code = e.close_code().unwrap_or(CloseCode::PROTOCOL_ERROR);
//!             out.extend_from_slice(&encode_close(code, &e.to_string(), None));
//!             break;
//!         }
//!     }
//! }
//! rx.release(); // going idle: hold no message memory
//! # Ok::<(), ringcast_protocol::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod close;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod message;
pub mod receiver;
pub mod utf8;

pub use close::{CloseCode, CloseState};
pub use error::Error;
pub use frame::{Decoded, FrameDecoder, FrameHeader, OpCode, Role};
pub use message::{Message, MessageAssembler, MessageLimits, OwnedMessage};
pub use receiver::{Received, Receiver};
