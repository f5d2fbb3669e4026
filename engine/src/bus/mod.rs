//! Cross-shard channels: one inbox per shard (crossbeam, lock-free) and a
//! waker that is woken only when the inbox goes from empty to non-empty, so
//! a burst of N messages costs one cross-thread wake, not N.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender, TryRecvError};

/// What shards send each other.
pub enum BusMessage {
    /// Deliver `frame` to every local member of room `room`.
    Broadcast {
        /// Room id from the registry.
        room: u64,
        /// The encoded frame, shared by every recipient.
        frame: Bytes,
    },
    /// Start the graceful shutdown.
    Drain,
}

/// The sending half of a shard's inbox plus the shard's parked waker.
pub struct Inbox {
    sender: Sender<BusMessage>,
    parked: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// The receiving half, owned by the shard.
pub struct InboxReceiver {
    receiver: Receiver<BusMessage>,
}

/// A new inbox (unbounded: back-pressure is applied per connection, where
/// the frames land, not between shards).
pub fn inbox() -> (Inbox, InboxReceiver) {
    let (sender, receiver) = crossbeam_channel::unbounded();
    (
        Inbox {
            sender,
            parked: AtomicBool::new(false),
            waker: Mutex::new(None),
        },
        InboxReceiver { receiver },
    )
}

impl Inbox {
    /// Send a message; wake the shard only if it parked on an empty inbox.
    pub fn send(&self, message: BusMessage) {
        if self.sender.send(message).is_err() {
            return; // the shard is gone (shutdown): nothing to deliver to
        }
        if self.parked.swap(false, Ordering::AcqRel) {
            let waker = self.waker.lock().ok().and_then(|mut slot| slot.take());
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Messages waiting (for the inbox-depth metric).
    pub fn depth(&self) -> usize {
        self.sender.len()
    }

    /// Wait until the inbox may be non-empty. Registers the waker, marks
    /// the shard parked, then checks again so a send racing with parking is
    /// never lost.
    pub fn poll_ready(&self, receiver: &InboxReceiver, cx: &mut Context<'_>) -> Poll<()> {
        if !receiver.receiver.is_empty() {
            return Poll::Ready(());
        }
        if let Ok(mut slot) = self.waker.lock() {
            match slot.as_ref() {
                Some(existing) if existing.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        self.parked.store(true, Ordering::Release);
        if !receiver.receiver.is_empty() {
            self.parked.store(false, Ordering::Release);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl InboxReceiver {
    /// Take up to `max` waiting messages without blocking.
    pub fn drain_into(&self, batch: &mut Vec<BusMessage>, max: usize) {
        while batch.len() < max {
            match self.receiver.try_recv() {
                Ok(message) => batch.push(message),
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
            }
        }
    }
}

/// Future that resolves when the inbox may hold messages.
pub async fn ready(inbox: &Inbox, receiver: &InboxReceiver) {
    std::future::poll_fn(|cx| inbox.poll_ready(receiver, cx)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(std::sync::atomic::AtomicUsize);
    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_burst_to_a_parked_shard_wakes_it_once() {
        let (inbox, receiver) = inbox();
        let counter = Arc::new(CountingWaker(Default::default()));
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(inbox.poll_ready(&receiver, &mut cx).is_pending());
        for room in 0..100 {
            inbox.send(BusMessage::Broadcast {
                room,
                frame: Bytes::new(),
            });
        }
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        let mut batch = Vec::new();
        receiver.drain_into(&mut batch, 1000);
        assert_eq!(batch.len(), 100);
    }

    #[test]
    fn sends_while_not_parked_do_not_wake() {
        let (inbox, receiver) = inbox();
        let counter = Arc::new(CountingWaker(Default::default()));
        inbox.send(BusMessage::Drain);
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(inbox.poll_ready(&receiver, &mut cx).is_ready());
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
    }
}
