//! Message assembly (RFC 6455 5.4-5.6): reassembles fragmented data
//! messages, lets control frames interleave, enforces continuation rules,
//! message size and fragment count limits, and validates text as UTF-8.
//!
//! A single-frame message is returned borrowed from the frame payload (no
//! copy); only a fragmented message is accumulated, and only while partial.

use bytes::BytesMut;

use crate::close::{parse_close_payload, CloseCode};
use crate::error::Error;
use crate::frame::{FrameHeader, OpCode};
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
/// message is in progress, and for the completed one until the next
/// [`push`](Self::push) or [`release`](Self::release) (the returned message
/// borrows it).
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

impl Partial {
    fn append(&mut self, fin: bool, payload: &[u8], limits: &MessageLimits) -> Result<(), Error> {
        self.fragments += 1;
        if self.fragments > limits.max_fragments {
            return Err(Error::TooManyFragments);
        }
        if payload.len() > limits.max_message_size - self.buffer.len() {
            return Err(Error::MessageTooLarge);
        }
        if self.is_text {
            self.utf8.feed(payload).map_err(|_| Error::InvalidUtf8)?;
            if fin {
                self.utf8.finish().map_err(|_| Error::InvalidUtf8)?;
            }
        }
        self.buffer.extend_from_slice(payload);
        self.complete = fin;
        Ok(())
    }
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
        self.partial.as_ref().is_some_and(|p| !p.complete)
    }

    /// The limits this assembler enforces.
    pub fn limits(&self) -> MessageLimits {
        self.limits
    }

    /// Drop the buffer of a completed fragmented message. `push` does this
    /// itself on the next frame; call it when the connection goes idle so an
    /// idle connection holds no message memory. A message still in progress
    /// is kept.
    pub fn release(&mut self) {
        if self.partial.as_ref().is_some_and(|p| p.complete) {
            self.partial = None;
        }
    }

    /// Feed one decoded frame. Returns a message when the frame completes one
    /// (or is a control frame), `None` when it was a non-final fragment.
    ///
    /// The frame must come from [`FrameDecoder`](crate::FrameDecoder), which
    /// already enforced the per-frame rules (control frames short and final,
    /// masking, RSV bits).
    pub fn push<'a>(
        &'a mut self,
        header: &FrameHeader,
        payload: &'a [u8],
    ) -> Result<Option<Message<'a>>, Error> {
        self.release();
        match header.opcode {
            OpCode::Ping => Ok(Some(Message::Ping(payload))),
            OpCode::Pong => Ok(Some(Message::Pong(payload))),
            OpCode::Close => Ok(Some(Message::Close(parse_close_payload(payload)?))),
            OpCode::Text | OpCode::Binary if self.partial.is_some() => {
                Err(Error::ExpectedContinuation)
            }
            OpCode::Text | OpCode::Binary if header.fin => {
                self.single(header.opcode, payload).map(Some)
            }
            OpCode::Text | OpCode::Binary => self.start(header.opcode, payload).map(|()| None),
            OpCode::Continuation => self.continuation(header.fin, payload),
        }
    }

    /// An unfragmented message: validated and returned without a copy.
    fn single<'a>(&self, opcode: OpCode, payload: &'a [u8]) -> Result<Message<'a>, Error> {
        if payload.len() > self.limits.max_message_size {
            return Err(Error::MessageTooLarge);
        }
        if opcode == OpCode::Text {
            let text = std::str::from_utf8(payload).map_err(|_| Error::InvalidUtf8)?;
            Ok(Message::Text(text))
        } else {
            Ok(Message::Binary(payload))
        }
    }

    fn start(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        if payload.len() > self.limits.max_message_size {
            return Err(Error::MessageTooLarge);
        }
        if self.limits.max_fragments < 2 {
            // The final fragment is still to come, so this message will
            // certainly exceed a limit of one.
            return Err(Error::TooManyFragments);
        }
        let is_text = opcode == OpCode::Text;
        let mut utf8 = Utf8Validator::new();
        if is_text {
            utf8.feed(payload).map_err(|_| Error::InvalidUtf8)?;
        }
        self.partial = Some(Partial {
            is_text,
            buffer: BytesMut::from(payload),
            fragments: 1,
            utf8,
            complete: false,
        });
        Ok(())
    }

    fn continuation<'a>(
        &'a mut self,
        fin: bool,
        payload: &[u8],
    ) -> Result<Option<Message<'a>>, Error> {
        let limits = self.limits;
        let Some(partial) = self.partial.as_mut() else {
            return Err(Error::UnexpectedContinuation);
        };
        // Any error below ends the connection; drop the buffer right away so a
        // caller that keeps the assembler around does not keep the memory.
        let result = partial.append(fin, payload, &limits);
        if result.is_err() {
            self.partial = None;
        }
        result?;
        if !fin {
            return Ok(None);
        }
        let Some(partial) = self.partial.as_ref() else {
            return Ok(None);
        };
        if partial.is_text {
            // Validated incrementally already; this second pass only converts
            // the type, which safe code cannot do without checking.
            let text = std::str::from_utf8(&partial.buffer).map_err(|_| Error::InvalidUtf8)?;
            Ok(Some(Message::Text(text)))
        } else {
            Ok(Some(Message::Binary(&partial.buffer)))
        }
    }
}
