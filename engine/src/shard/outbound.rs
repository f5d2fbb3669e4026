//! A connection's outbound queue: shared frames waiting to be written, the
//! bytes they add up to, and how much of the first one the kernel already
//! took. Writers gather the queue into one `sendmsg` (many frames, one
//! syscall) and handle short writes by advancing through it.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::Bytes;

/// Frames queued for one connection. The oldest frame sits inline, so the
/// common case (one frame between flushes) allocates nothing, and an idle
/// connection owns no queue buffer.
#[derive(Default)]
pub struct Outbound {
    /// The oldest frame; `None` only when the queue is empty.
    head: Option<Bytes>,
    /// Frames after the head; boxed so the empty case costs 8 bytes in
    /// every connection instead of 32.
    #[allow(clippy::box_collection)]
    rest: Option<Box<VecDeque<Bytes>>>,
    /// Bytes not yet written (the written prefix of the head excluded).
    queued: usize,
    /// Bytes of the head frame already written.
    head_written: usize,
}

impl Outbound {
    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Bytes waiting to be written.
    pub fn queued_bytes(&self) -> usize {
        self.queued
    }

    /// Queue a frame.
    pub fn push(&mut self, frame: Bytes) {
        self.queued += frame.len();
        if self.head.is_none() {
            self.head = Some(frame);
        } else {
            self.rest.get_or_insert_with(Box::default).push_back(frame);
        }
    }

    /// Drop the oldest whole frames (never a partly written one: the peer
    /// would see a torn frame) until `incoming` more bytes fit in `limit`.
    /// Returns how many frames were dropped.
    pub fn drop_oldest_to_fit(&mut self, incoming: usize, limit: usize) -> usize {
        let mut dropped = 0;
        while self.queued + incoming > limit {
            if self.head_written == 0 {
                let Some(head) = self.head.take() else { break };
                self.queued -= head.len();
                self.head = self.pop_rest();
            } else {
                let Some(frame) = self.pop_rest() else { break };
                self.queued -= frame.len();
            }
            dropped += 1;
        }
        self.release_if_drained();
        dropped
    }

    /// Forget every frame not yet started, keeping a partly written head so
    /// the stream stays well-formed for a final close frame.
    pub fn discard_unsent(&mut self) {
        for frame in self
            .rest
            .take()
            .into_iter()
            .flat_map(|rest| rest.into_iter())
        {
            self.queued -= frame.len();
        }
        if self.head_written == 0 {
            self.head = None;
            self.queued = 0;
        }
        self.release_if_drained();
    }

    /// Fill `slices` with the unwritten bytes, oldest first; returns how
    /// many slices were filled.
    pub fn fill_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let Some(head) = &self.head else { return 0 };
        let rest = self.rest.iter().flat_map(|rest| rest.iter());
        let frames =
            std::iter::once(&head[self.head_written..]).chain(rest.map(|frame| &frame[..]));
        let mut count = 0;
        for (slot, frame) in slices.iter_mut().zip(frames) {
            *slot = IoSlice::new(frame);
            count += 1;
        }
        count
    }

    /// The kernel took `written` bytes: release whole frames and remember
    /// the partial progress into the next.
    pub fn advance(&mut self, mut written: usize) {
        self.queued -= written.min(self.queued);
        while written > 0 {
            let Some(head) = &self.head else { break };
            let left = head.len() - self.head_written;
            if written < left {
                self.head_written += written;
                return;
            }
            written -= left;
            self.head_written = 0;
            self.head = self.pop_rest();
        }
        self.release_if_drained();
    }

    fn pop_rest(&mut self) -> Option<Bytes> {
        self.rest.as_mut().and_then(|rest| rest.pop_front())
    }

    /// A burst's queue buffer is freed once it drains, so an idle
    /// connection keeps none.
    fn release_if_drained(&mut self) {
        if self.rest.as_ref().is_some_and(|rest| rest.is_empty()) {
            self.rest = None;
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
        let dropped = out.drop_oldest_to_fit(4, 11);
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
