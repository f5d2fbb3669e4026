//! Masking (RFC 6455 5.3): XOR of the payload with a repeating 4-byte key.
//!
//! `apply_mask` is the fast path (word-wide, written so the compiler
//! vectorises it, still safe code); `apply_mask_bytewise` is the obvious
//! reference it is tested against.

/// XOR `buf` with `key`, as if `buf` started at payload offset `offset`
/// (so a payload may be unmasked in several pieces).
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    unimplemented!("{buf:?}{key:?}{offset}")
}

/// Byte-at-a-time reference implementation of [`apply_mask`].
pub fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) & 3];
    }
}
