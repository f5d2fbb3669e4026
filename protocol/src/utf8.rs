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
    pub fn feed(&mut self, mut piece: &[u8]) -> Result<(), InvalidUtf8> {
        if self.carry_len > 0 {
            let have = usize::from(self.carry_len);
            // The carry is a valid prefix (std said "incomplete", not
            // "invalid"), so its lead byte gives the code point's width.
            let width = match self.carry[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = (width - have).min(piece.len());
            self.carry[have..have + take].copy_from_slice(&piece[..take]);
            match std::str::from_utf8(&self.carry[..have + take]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_some() => return Err(InvalidUtf8),
                Err(_) => {
                    // Still incomplete: the whole piece went into the carry.
                    self.carry_len = (have + take) as u8;
                    return Ok(());
                }
            }
            piece = &piece[take..];
        }
        match std::str::from_utf8(piece) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                // `error_len() == None` means the piece ends inside a code
                // point; that tail is at most 3 bytes.
                let tail = &piece[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// The message ended: an incomplete code point left over is an error.
    /// The validator is reset either way, ready for the next message.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let incomplete = self.carry_len > 0;
        *self = Utf8Validator::new();
        if incomplete {
            Err(InvalidUtf8)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for piece in pieces {
            v.feed(piece)?;
        }
        v.finish()
    }

    #[test]
    fn code_point_split_across_every_boundary_is_valid() {
        let text = "aé€😀z".as_bytes();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(
                    feed_all(&[&text[..i], &text[i..j], &text[j..]]),
                    Ok(()),
                    "{i} {j}"
                );
            }
        }
    }

    #[test]
    fn four_byte_code_point_fed_one_byte_at_a_time_is_valid() {
        let text = "😀".as_bytes();
        let pieces: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(feed_all(&pieces), Ok(()));
    }

    #[test]
    fn invalid_byte_fails_in_the_piece_that_contains_it() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"hello"), Ok(()));
        assert_eq!(v.feed(&[b'a', 0xff, b'b']), Err(InvalidUtf8));
    }

    #[test]
    fn bad_continuation_of_carried_prefix_fails_immediately() {
        let mut v = Utf8Validator::new();
        // 0xF0 0x9F starts a 4-byte code point; 'x' cannot continue it.
        assert_eq!(v.feed(&[b'a', 0xf0, 0x9f]), Ok(()));
        assert_eq!(v.feed(b"x"), Err(InvalidUtf8));
    }

    #[test]
    fn surrogate_code_point_split_is_rejected_at_second_byte() {
        // U+D800 encoded as ED A0 80 is not valid UTF-8; ED A0 is already
        // impossible, so the error comes before the third byte.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xed]), Ok(()));
        assert_eq!(v.feed(&[0xa0]), Err(InvalidUtf8));
    }

    #[test]
    fn truncated_code_point_at_message_end_fails_on_finish() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xe2, 0x82]), Ok(()));
        assert_eq!(v.finish(), Err(InvalidUtf8));
        // Reset after finish: the next message starts clean.
        assert_eq!(v.feed(b"ok"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn overlong_encoding_is_invalid() {
        assert_eq!(feed_all(&[&[0xc0], &[0x80]]), Err(InvalidUtf8));
    }
}
