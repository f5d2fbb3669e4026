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

/// A [`Message`] that owns its payload, for keeping it past the next
/// [`MessageAssembler::push`]. Costs one allocation per message; the
/// borrowed form costs none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedMessage {
    /// A text message, validated as UTF-8.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A validated close frame: `None` when it carried no code.
    Close(Option<(CloseCode, String)>),
}

impl From<Message<'_>> for OwnedMessage {
    fn from(m: Message<'_>) -> OwnedMessage {
        match m {
            Message::Text(t) => OwnedMessage::Text(t.into()),
            Message::Binary(b) => OwnedMessage::Binary(b.into()),
            Message::Ping(p) => OwnedMessage::Ping(p.into()),
            Message::Pong(p) => OwnedMessage::Pong(p.into()),
            Message::Close(c) => OwnedMessage::Close(c.map(|(code, r)| (code, r.into()))),
        }
    }
}

/// Reassembles messages from frames. Holds a buffer only while a fragmented
/// message is in progress, and for the completed one until the next
/// [`push`](Self::push) or [`release`](Self::release) (the returned message
/// borrows it).
#[derive(Debug)]
pub struct MessageAssembler {
    limits: MessageLimits,
    // Boxed so an idle connection pays one pointer for it, not 48 bytes.
    partial: Option<Box<Partial>>,
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
        data_message(opcode == OpCode::Text, payload)
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
        self.partial = Some(Box::new(Partial {
            is_text,
            buffer: BytesMut::from(payload),
            fragments: 1,
            utf8,
            complete: false,
        }));
        Ok(())
    }

    fn continuation<'a>(
        &'a mut self,
        fin: bool,
        payload: &[u8],
    ) -> Result<Option<Message<'a>>, Error> {
        let limits = self.limits;
        let appended = match self.partial.as_deref_mut() {
            Some(partial) => partial.append(fin, payload, &limits),
            None => return Err(Error::UnexpectedContinuation),
        };
        if let Err(error) = appended {
            // The error ends the connection; drop the buffer now so a caller
            // that keeps the assembler around does not keep the memory.
            self.partial = None;
            return Err(error);
        }
        match self.partial.as_deref() {
            // Text was validated incrementally already; this second pass
            // only converts the type, which safe code cannot do unchecked.
            Some(partial) if fin => data_message(partial.is_text, &partial.buffer).map(Some),
            _ => Ok(None),
        }
    }
}

/// A complete data message over `bytes`; text must be UTF-8.
fn data_message(is_text: bool, bytes: &[u8]) -> Result<Message<'_>, Error> {
    if is_text {
        std::str::from_utf8(bytes)
            .map(Message::Text)
            .map_err(|_| Error::InvalidUtf8)
    } else {
        Ok(Message::Binary(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: MessageLimits = MessageLimits {
        max_message_size: 1000,
        max_fragments: 10,
    };

    fn header(opcode: OpCode, fin: bool, len: usize) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask: None,
            payload_len: len as u64,
        }
    }

    /// Push one frame and return the message it completed, owned.
    fn push(
        a: &mut MessageAssembler,
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
    ) -> Result<Option<OwnedMessage>, Error> {
        a.push(&header(opcode, fin, payload.len()), payload)
            .map(|m| m.map(OwnedMessage::from))
    }

    #[test]
    fn single_frame_text_is_borrowed_from_the_payload() {
        let mut a = MessageAssembler::new(LIMITS);
        let payload = b"hello".to_vec();
        let message = a.push(&header(OpCode::Text, true, 5), &payload).unwrap();
        let Some(Message::Text(text)) = message else {
            panic!("{message:?}")
        };
        assert_eq!(text.as_ptr(), payload.as_ptr(), "zero copy");
        assert!(!a.is_partial());
    }

    #[test]
    fn fragmented_binary_is_reassembled() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(push(&mut a, OpCode::Binary, false, &[1, 2]), Ok(None));
        assert!(a.is_partial());
        assert_eq!(push(&mut a, OpCode::Continuation, false, &[]), Ok(None));
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, &[3]),
            Ok(Some(OwnedMessage::Binary(vec![1, 2, 3])))
        );
        assert!(!a.is_partial());
    }

    #[test]
    fn control_frame_interleaved_in_fragmented_message() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(push(&mut a, OpCode::Text, false, b"Hel"), Ok(None));
        assert_eq!(
            push(&mut a, OpCode::Ping, true, b"p"),
            Ok(Some(OwnedMessage::Ping(b"p".to_vec())))
        );
        assert_eq!(
            push(&mut a, OpCode::Pong, true, b""),
            Ok(Some(OwnedMessage::Pong(vec![])))
        );
        assert!(a.is_partial());
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, b"lo"),
            Ok(Some(OwnedMessage::Text("Hello".into())))
        );
    }

    #[test]
    fn close_interleaved_in_fragmented_message_is_returned() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Text, false, b"x").unwrap();
        assert_eq!(
            push(&mut a, OpCode::Close, true, &[0x03, 0xe8]),
            Ok(Some(OwnedMessage::Close(Some((
                CloseCode::NORMAL,
                String::new()
            )))))
        );
    }

    #[test]
    fn continuation_without_start_is_protocol_error() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, b"x"),
            Err(Error::UnexpectedContinuation)
        );
        assert_eq!(
            push(&mut a, OpCode::Continuation, false, b"x"),
            Err(Error::UnexpectedContinuation)
        );
    }

    #[test]
    fn continuation_after_completed_message_is_protocol_error() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Binary, false, b"a").unwrap();
        push(&mut a, OpCode::Continuation, true, b"b").unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, b"c"),
            Err(Error::UnexpectedContinuation)
        );
    }

    #[test]
    fn new_data_frame_mid_message_is_protocol_error() {
        for opcode in [OpCode::Text, OpCode::Binary] {
            for fin in [false, true] {
                let mut a = MessageAssembler::new(LIMITS);
                push(&mut a, OpCode::Binary, false, b"a").unwrap();
                assert_eq!(
                    push(&mut a, opcode, fin, b"b"),
                    Err(Error::ExpectedContinuation)
                );
            }
        }
    }

    #[test]
    fn completed_fragmented_message_leaves_no_stale_data() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Text, false, b"first ").unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, b"message"),
            Ok(Some(OwnedMessage::Text("first message".into())))
        );
        push(&mut a, OpCode::Text, false, b"sec").unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, b"ond"),
            Ok(Some(OwnedMessage::Text("second".into())))
        );
    }

    #[test]
    fn completed_message_buffer_is_released_by_next_push_or_release() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Binary, false, b"a").unwrap();
        push(&mut a, OpCode::Continuation, true, b"b").unwrap();
        assert!(
            a.partial.is_some(),
            "kept while the returned message may be borrowed"
        );
        a.release();
        assert!(a.partial.is_none());
        push(&mut a, OpCode::Binary, false, b"a").unwrap();
        push(&mut a, OpCode::Continuation, true, b"b").unwrap();
        push(&mut a, OpCode::Ping, true, b"").unwrap();
        assert!(a.partial.is_none(), "any next push releases it");
    }

    #[test]
    fn release_keeps_a_message_in_progress() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Binary, false, b"a").unwrap();
        a.release();
        assert!(a.is_partial());
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, b"b"),
            Ok(Some(OwnedMessage::Binary(b"ab".to_vec())))
        );
    }

    // ---- UTF-8 (8.1) ----

    #[test]
    fn single_frame_invalid_utf8_is_1007() {
        let mut a = MessageAssembler::new(LIMITS);
        let err = push(&mut a, OpCode::Text, true, &[0xce, 0xba, 0xff]).unwrap_err();
        assert_eq!(err, Error::InvalidUtf8);
        assert_eq!(err.close_code(), Some(CloseCode::INVALID_PAYLOAD));
    }

    #[test]
    fn text_invalid_utf8_fails_on_first_fragment_before_message_end() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(
            push(&mut a, OpCode::Text, false, &[b'o', b'k', 0xff]),
            Err(Error::InvalidUtf8)
        );
    }

    #[test]
    fn text_invalid_utf8_fails_on_middle_fragment_before_message_end() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Text, false, b"ok").unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, false, &[0xc0]),
            Err(Error::InvalidUtf8)
        );
        assert!(!a.is_partial(), "the buffer is dropped on error");
    }

    #[test]
    fn code_point_split_across_fragments_is_valid() {
        let euro = "€".as_bytes();
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Text, false, &euro[..1]).unwrap();
        push(&mut a, OpCode::Continuation, false, &euro[1..2]).unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, &euro[2..]),
            Ok(Some(OwnedMessage::Text("€".into())))
        );
    }

    #[test]
    fn invalid_continuation_byte_across_fragment_boundary_fails_in_that_fragment() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Text, false, &[0xe2, 0x82]).unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, false, b"x"),
            Err(Error::InvalidUtf8)
        );
    }

    #[test]
    fn text_ending_mid_code_point_is_invalid() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Text, false, b"a").unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, &[0xe2, 0x82]),
            Err(Error::InvalidUtf8)
        );
    }

    #[test]
    fn binary_is_not_utf8_checked() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(
            push(&mut a, OpCode::Binary, true, &[0xff]),
            Ok(Some(OwnedMessage::Binary(vec![0xff])))
        );
    }

    // ---- limits ----

    #[test]
    fn single_frame_over_max_message_size_is_1009() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(
            push(&mut a, OpCode::Binary, true, &[0; 1000]).map(|m| m.is_some()),
            Ok(true)
        );
        let err = push(&mut a, OpCode::Binary, true, &[0; 1001]).unwrap_err();
        assert_eq!(err, Error::MessageTooLarge);
        assert_eq!(err.close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
    }

    #[test]
    fn fragmented_message_over_max_size_fails_on_the_fragment_that_crosses_it() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Binary, false, &[0; 600]).unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, false, &[0; 401]),
            Err(Error::MessageTooLarge)
        );
    }

    #[test]
    fn fragmented_message_exactly_at_max_size_is_accepted() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Binary, false, &[0; 600]).unwrap();
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, &[0; 400])
                .unwrap()
                .map(|_| ()),
            Some(())
        );
    }

    #[test]
    fn too_many_fragments_is_1009() {
        let mut a = MessageAssembler::new(LIMITS);
        push(&mut a, OpCode::Binary, false, b"0").unwrap();
        for _ in 1..9 {
            push(&mut a, OpCode::Continuation, false, b"x").unwrap();
        }
        // The tenth fragment is allowed and must be final; an eleventh is not.
        assert_eq!(push(&mut a, OpCode::Continuation, false, b"x"), Ok(None));
        let err = push(&mut a, OpCode::Continuation, true, b"x").unwrap_err();
        assert_eq!(err, Error::TooManyFragments);
        assert_eq!(err.close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
    }

    #[test]
    fn max_fragments_of_one_forbids_fragmentation() {
        let mut a = MessageAssembler::new(MessageLimits {
            max_fragments: 1,
            ..LIMITS
        });
        assert!(push(&mut a, OpCode::Text, true, b"ok").unwrap().is_some());
        assert_eq!(
            push(&mut a, OpCode::Text, false, b"no"),
            Err(Error::TooManyFragments)
        );
    }

    #[test]
    fn control_frames_do_not_count_towards_the_message() {
        let mut a = MessageAssembler::new(MessageLimits {
            max_message_size: 4,
            max_fragments: 2,
        });
        push(&mut a, OpCode::Binary, false, b"ab").unwrap();
        for _ in 0..5 {
            push(&mut a, OpCode::Ping, true, b"12345").unwrap();
        }
        assert_eq!(
            push(&mut a, OpCode::Continuation, true, b"cd"),
            Ok(Some(OwnedMessage::Binary(b"abcd".to_vec())))
        );
    }

    // ---- close frames (5.5.1) ----

    #[test]
    fn close_frame_with_one_byte_payload_is_protocol_error() {
        let mut a = MessageAssembler::new(LIMITS);
        let err = push(&mut a, OpCode::Close, true, &[0x03]).unwrap_err();
        assert_eq!(err, Error::CloseFrameLengthOne);
        assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));
    }

    #[test]
    fn empty_close_frame_has_no_code() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(
            push(&mut a, OpCode::Close, true, &[]),
            Ok(Some(OwnedMessage::Close(None)))
        );
    }

    #[test]
    fn close_frame_with_invalid_utf8_reason_is_1007() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(
            push(&mut a, OpCode::Close, true, &[0x03, 0xe8, 0xff]),
            Err(Error::InvalidUtf8)
        );
    }

    #[test]
    fn close_frame_with_reserved_code_is_protocol_error() {
        let mut a = MessageAssembler::new(LIMITS);
        assert_eq!(
            push(&mut a, OpCode::Close, true, &1005u16.to_be_bytes()),
            Err(Error::InvalidCloseCode(1005))
        );
    }
}
