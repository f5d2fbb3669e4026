//! Incremental UTF-8 validation for text messages split across fragments
//! (RFC 6455 8.1): fails on the first invalid byte, even mid-message, and
//! carries an incomplete code point across fragment boundaries.

/// Validator state: at most 3 bytes of an incomplete code point.
#[derive(Debug, Clone, Copy, Default)]
pub struct Utf8Validator {
    carry: [u8; 4],
    carry_len: u8,
}

/// The text is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Utf8Validator {
        Utf8Validator::default()
    }

    /// Feed the next piece. Errors as soon as a byte makes the text invalid,
    /// including a byte that cannot continue the carried incomplete prefix.
    pub fn feed(&mut self, piece: &[u8]) -> Result<(), InvalidUtf8> {
        unimplemented!("{piece:?}{:?}{}", self.carry, self.carry_len)
    }

    /// The message ended: an incomplete code point left over is an error.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        unimplemented!()
    }
}
