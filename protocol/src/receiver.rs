//! The receive path in one call: [`FrameDecoder::decode`] followed by
//! [`MessageAssembler::push`], which is what the engine and the load
//! generator run on every readable buffer.

use crate::error::Error;
use crate::frame::{Decoded, FrameDecoder, Role};
use crate::message::{Message, MessageAssembler, MessageLimits};

/// Result of one [`Receiver::receive`] step.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// No whole frame at the start of the buffer; at least this many more
    /// bytes are needed. Nothing was consumed.
    NeedMore(usize),
    /// One frame was consumed from the start of the buffer. `message` is set
    /// when it completed a message or was a control frame, `None` when it was
    /// a non-final fragment.
    Frame {
        /// The message or control frame this frame completed, if any.
        message: Option<Message<'a>>,
        /// Bytes of the buffer the frame took; drop them before the next call.
        consumed: usize,
    },
}

/// A frame decoder and a message assembler for one connection.
#[derive(Debug)]
pub struct Receiver {
    /// Per-frame rules and limits.
    pub decoder: FrameDecoder,
    /// Per-message rules and limits, and the partial message if any.
    pub assembler: MessageAssembler,
}

impl Receiver {
    /// A receiver for `role`. A single frame may be as large as a whole
    /// message, so the frame limit is the message limit.
    pub fn new(role: Role, limits: MessageLimits) -> Receiver {
        Receiver {
            decoder: FrameDecoder::new(role, limits.max_message_size as u64),
            assembler: MessageAssembler::new(limits),
        }
    }

    /// Decode one frame from the start of `buf` (unmasking it in place) and
    /// feed it to the assembler. Any error is fatal for the connection:
    /// answer it with [`Error::close_code`].
    pub fn receive<'a>(&'a mut self, buf: &'a mut [u8]) -> Result<Received<'a>, Error> {
        match self.decoder.decode(buf)? {
            Decoded::NeedMore(more) => Ok(Received::NeedMore(more)),
            Decoded::Frame {
                header,
                payload,
                consumed,
            } => Ok(Received::Frame {
                message: self.assembler.push(&header, payload)?,
                consumed,
            }),
        }
    }

    /// Whether a fragmented message is in progress (memory is held).
    pub fn is_partial(&self) -> bool {
        self.assembler.is_partial()
    }

    /// Drop a completed message's buffer; see [`MessageAssembler::release`].
    pub fn release(&mut self) {
        self.assembler.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{encode, OpCode};

    const LIMITS: MessageLimits = MessageLimits {
        max_message_size: 64,
        max_fragments: 4,
    };

    #[test]
    fn fragmented_text_with_ping_between_is_received_in_order() {
        let mask = Some([1, 2, 3, 4]);
        let mut buf = Vec::new();
        buf.extend_from_slice(&encode(OpCode::Text, false, b"Hel", mask));
        buf.extend_from_slice(&encode(OpCode::Ping, true, b"?", mask));
        buf.extend_from_slice(&encode(OpCode::Continuation, true, b"lo", mask));
        let mut rx = Receiver::new(Role::Server, LIMITS);
        let mut start = 0;
        let mut seen = Vec::new();
        loop {
            match rx.receive(&mut buf[start..]).unwrap() {
                Received::NeedMore(n) => {
                    assert_eq!(n, 2);
                    break;
                }
                Received::Frame { message, consumed } => {
                    seen.push(format!("{message:?}"));
                    start += consumed;
                }
            }
        }
        assert_eq!(seen, ["None", "Some(Ping([63]))", "Some(Text(\"Hello\"))"]);
        assert_eq!(start, buf.len());
    }

    #[test]
    fn frame_over_the_message_limit_is_rejected_by_the_decoder() {
        let mut rx = Receiver::new(Role::Client, LIMITS);
        let mut frame = encode(OpCode::Binary, true, &[0; 65], None).to_vec();
        assert_eq!(rx.receive(&mut frame), Err(Error::FrameTooLarge));
    }

    #[test]
    fn idle_receiver_costs_at_most_40_bytes() {
        // Per-connection state is the product: a pointer for the partial
        // message, nothing for the decoder beyond its configuration.
        assert!(
            std::mem::size_of::<Receiver>() <= 40,
            "{}",
            std::mem::size_of::<Receiver>()
        );
    }

    #[test]
    fn masked_frame_to_a_client_receiver_is_rejected() {
        let mut rx = Receiver::new(Role::Client, LIMITS);
        let mut frame = encode(OpCode::Binary, true, b"x", Some([0; 4])).to_vec();
        assert_eq!(rx.receive(&mut frame), Err(Error::MaskedFrame));
    }
}
