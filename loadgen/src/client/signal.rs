//! A single-thread wake-up: one task waits, any task on the same thread
//! notifies. A notification sent while nobody waits is remembered once.

use std::cell::Cell;
use std::future::poll_fn;
use std::task::{Poll, Waker};

/// Notify / wait pair for tasks of one runtime thread.
#[derive(Default)]
pub struct Signal {
    set: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Signal {
    /// Wake the waiter, or let its next `wait` return at once.
    pub fn notify(&self) {
        self.set.set(true);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }

    /// Wait for a notification (one waiter at a time).
    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.set.replace(false) {
                Poll::Ready(())
            } else {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }
}
