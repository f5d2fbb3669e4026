//! Per-stream bookkeeping on the receiving side: which sequence numbers of
//! one sender arrived, to count duplicates and reordering as they happen and
//! losses at the end (sent minus received).

/// Sequence numbers remembered below the highest one seen. A late message
/// further back than this is counted as reordered (it cannot be told from a
/// duplicate, and either way the run is not clean).
const WINDOW: u64 = 256;

/// What one receiver saw of one sender.
#[derive(Debug, Clone, Default)]
pub struct SeqTracker {
    /// One past the highest sequence number received.
    next: u64,
    /// Bit i set: `next - 1 - i` was received.
    seen: [u64; (WINDOW / 64) as usize],
    /// Distinct sequence numbers received.
    pub unique: u64,
    /// Arrivals of a number already received.
    pub duplicated: u64,
    /// Arrivals below the highest number already received.
    pub reordered: u64,
}

/// How one arrival was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// First arrival of this number (in order or after a gap).
    New,
    /// First arrival, but after a higher number.
    Late,
    /// Seen before.
    Duplicate,
}

impl SeqTracker {
    /// Record the arrival of `seq`.
    pub fn arrive(&mut self, seq: u64) -> Arrival {
        if seq >= self.next {
            self.shift(seq + 1 - self.next);
            self.next = seq + 1;
            self.set(0);
            self.unique += 1;
            return Arrival::New;
        }
        let back = self.next - 1 - seq;
        if back < WINDOW && self.get(back) {
            self.duplicated += 1;
            return Arrival::Duplicate;
        }
        if back < WINDOW {
            self.set(back);
        }
        self.unique += 1;
        self.reordered += 1;
        Arrival::Late
    }

    /// Deliveries of `sent` messages that never arrived.
    pub fn lost(&self, sent: u64) -> u64 {
        sent.saturating_sub(self.unique)
    }

    fn shift(&mut self, by: u64) {
        if by >= WINDOW {
            self.seen = Default::default();
            return;
        }
        // Shift the whole bitmap (word 0 holds the most recent numbers) up by `by`.
        let (words, bits) = ((by / 64) as usize, (by % 64) as u32);
        let n = self.seen.len();
        for i in (0..n).rev() {
            let src = i.checked_sub(words);
            let hi = src.map_or(0, |s| self.seen[s] << bits);
            let lo = match (src.and_then(|s| s.checked_sub(1)), bits) {
                (Some(s), b) if b > 0 => self.seen[s] >> (64 - b),
                _ => 0,
            };
            self.seen[i] = hi | lo;
        }
    }

    fn get(&self, i: u64) -> bool {
        self.seen[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: u64) {
        self.seen[(i / 64) as usize] |= 1 << (i % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_is_clean() {
        let mut t = SeqTracker::default();
        for s in 0..1000 {
            assert_eq!(t.arrive(s), Arrival::New);
        }
        assert_eq!(
            (t.unique, t.duplicated, t.reordered, t.lost(1000)),
            (1000, 0, 0, 0)
        );
    }

    #[test]
    fn gaps_duplicates_and_late_arrivals() {
        let mut t = SeqTracker::default();
        for s in [0, 1, 3, 4] {
            t.arrive(s);
        }
        assert_eq!(t.arrive(4), Arrival::Duplicate);
        assert_eq!(t.arrive(0), Arrival::Duplicate);
        assert_eq!(t.arrive(2), Arrival::Late);
        assert_eq!(t.arrive(2), Arrival::Duplicate);
        assert_eq!(t.lost(6), 1);
        // Far jumps clear the window; numbers within it are still known.
        t.arrive(200);
        assert_eq!(t.arrive(4), Arrival::Duplicate);
        t.arrive(1000);
        assert_eq!(t.arrive(900), Arrival::Late);
        assert_eq!(t.arrive(900), Arrival::Duplicate);
        assert_eq!(t.arrive(999), Arrival::Late);
        assert_eq!((t.duplicated, t.reordered), (5, 3));
    }
}
