//! Message assembly (RFC 6455 5.4-5.6): reassembles fragmented data
//! messages, lets control frames interleave, enforces continuation rules,
//! message size and fragment count limits, and validates text as UTF-8.
//!
//! A single-frame message is returned borrowed from the frame payload (no
//! copy); only a fragmented message is accumulated, and only while partial.

use bytes::BytesMut;

use crate::close::CloseCode;
use crate::error::Error;
use crate::frame::FrameHeader;
use crate::utf8::Utf8Validator;

/// Limits on one message.
#[derive(Debug, Clone, Copy)]
pub struct MessageLimits {
    /// Largest total payload of a message; over it: 1009.
    pub max_message_size: usize,
    /// Most fragments one message may be split into; over it: 1009.
    pub max_fragments: usize,
}

/// A complete message or a control frame, borrowed from the frame payload or
/// from the assembler's buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message, validated as UTF-8.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// A ping; the payload must be echoed in a pong.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// A close frame, validated: `None` when it carried no code.
    Close(Option<(CloseCode, &'a str)>),
}

/// Reassembles messages from frames. Holds a buffer only while a fragmented
/// message is in progress.
#[derive(Debug)]
pub struct MessageAssembler {
    limits: MessageLimits,
    partial: Option<Partial>,
}

#[derive(Debug)]
struct Partial {
    is_text: bool,
    buffer: BytesMut,
    fragments: usize,
    utf8: Utf8Validator,
    complete: bool,
}

impl MessageAssembler {
    /// An assembler with the given limits.
    pub fn new(limits: MessageLimits) -> MessageAssembler {
        MessageAssembler {
            limits,
            partial: None,
        }
    }

    /// Whether a fragmented message is in progress (memory is held).
    pub fn is_partial(&self) -> bool {
        unimplemented!()
    }

    /// Feed one decoded frame. Returns a message when the frame completes one
    /// (or is a control frame), `None` when it was a non-final fragment.
    pub fn push<'a>(&'a mut self, header: &FrameHeader, payload: &'a [u8]) -> Result<Option<Message<'a>>, Error> {
        unimplemented!("{header:?}{payload:?}{:?}{:?}", self.limits, self.partial)
    }
}
