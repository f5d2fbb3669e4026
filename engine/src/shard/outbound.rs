//! A connection's outbound queue: shared frames waiting to be written, the
//! bytes they add up to, and how much of the first one the kernel already
//! took. Writers gather the queue into one `sendmsg` (many frames, one
//! syscall) and handle short writes by advancing through it.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::Bytes;

/// Frames queued for one connection.
#[derive(Default)]
pub struct Outbound {
    frames: VecDeque<Bytes>,
    /// Bytes in `frames` not yet written (the written prefix of the head excluded).
    queued: usize,
    /// Bytes of the head frame already written.
    head_written: usize,
}

/// Capacity kept after the queue drains; a burst's larger buffer is freed so
/// an idle connection does not keep it.
const RETAINED_CAPACITY: usize = 8;

impl Outbound {
    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes waiting to be written.
    pub fn queued_bytes(&self) -> usize {
        self.queued
    }

    /// Queue a frame.
    pub fn push(&mut self, frame: Bytes) {
        self.queued += frame.len();
        self.frames.push_back(frame);
    }

    /// Drop the oldest whole frames (never a partly written one: the peer
    /// would see a torn frame) until `incoming` more bytes fit in `limit`.
    /// Returns how many frames were dropped.
    pub fn drop_oldest_to_fit(&mut self, incoming: usize, limit: usize) -> usize {
        let keep_head = usize::from(self.head_written > 0);
        let mut dropped = 0;
        while self.queued + incoming > limit && self.frames.len() > keep_head {
            if let Some(frame) = self.frames.remove(keep_head) {
                self.queued -= frame.len();
                dropped += 1;
            }
        }
        dropped
    }

    /// Forget every frame not yet started, keeping a partly written head so
    /// the stream stays well-formed for a final close frame.
    pub fn discard_unsent(&mut self) {
        let keep = usize::from(self.head_written > 0);
        while self.frames.len() > keep {
            if let Some(frame) = self.frames.pop_back() {
                self.queued -= frame.len();
            }
        }
        self.shrink_if_idle();
    }

    /// Fill `slices` with the unwritten bytes, oldest first; returns how
    /// many slices were filled.
    pub fn fill_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut count = 0;
        for (i, frame) in self.frames.iter().enumerate() {
            if count == slices.len() {
                break;
            }
            let start = if i == 0 { self.head_written } else { 0 };
            slices[count] = IoSlice::new(&frame[start..]);
            count += 1;
        }
        count
    }

    /// The kernel took `written` bytes: release whole frames and remember
    /// the partial progress into the next.
    pub fn advance(&mut self, mut written: usize) {
        self.queued -= written.min(self.queued);
        while written > 0 {
            let Some(head) = self.frames.front() else { break };
            let left = head.len() - self.head_written;
            if written < left {
                self.head_written += written;
                return;
            }
            written -= left;
            self.head_written = 0;
            self.frames.pop_front();
        }
        self.shrink_if_idle();
    }

    fn shrink_if_idle(&mut self) {
        if self.frames.is_empty() && self.frames.capacity() > RETAINED_CAPACITY {
            self.frames = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize, byte: u8) -> Bytes {
        Bytes::from(vec![byte; len])
    }

    fn gathered(out: &Outbound) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = out.fill_slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn short_write_resumes_inside_the_head_frame() {
        let mut out = Outbound::default();
        out.push(frame(5, 1));
        out.push(frame(3, 2));
        out.advance(2);
        assert_eq!(out.queued_bytes(), 6);
        assert_eq!(gathered(&out), vec![1, 1, 1, 2, 2, 2]);
        out.advance(4);
        assert_eq!(gathered(&out), vec![2, 2]);
        out.advance(2);
        assert!(out.is_empty());
        assert_eq!(out.queued_bytes(), 0);
    }

    #[test]
    fn drop_oldest_never_drops_a_partly_written_frame() {
        let mut out = Outbound::default();
        out.push(frame(4, 1));
        out.push(frame(4, 2));
        out.push(frame(4, 3));
        out.advance(1);
        let dropped = out.drop_oldest_to_fit(4, 10);
        assert_eq!(dropped, 1);
        assert_eq!(gathered(&out), vec![1, 1, 1, 3, 3, 3, 3]);
    }

    #[test]
    fn discard_unsent_keeps_only_the_torn_head() {
        let mut out = Outbound::default();
        out.push(frame(4, 1));
        out.push(frame(4, 2));
        out.advance(3);
        out.discard_unsent();
        assert_eq!(gathered(&out), vec![1]);
        assert_eq!(out.queued_bytes(), 1);
    }
}
