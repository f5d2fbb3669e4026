//! Sans-I/O RFC 6455.
//!
//! Everything here is a pure function of its inputs: no sockets, no runtime,
//! no clock, no randomness. Mask keys and handshake keys are passed in by the
//! caller, so every rule is testable byte for byte and the same code serves
//! the server (engine) and the client (load generator, tests).
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
pub use message::{Message, MessageAssembler, MessageLimits};
pub use receiver::{Received, Receiver};
