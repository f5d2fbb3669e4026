//! The write path: queueing frames under the outbound limit and its
//! slow-consumer policy, and flushing queues with gathered non-blocking
//! writes. A connection whose socket is full gets a writer task that waits
//! for space; no other connection ever has one.

use std::io::{ErrorKind, IoSlice};
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use ringcast_protocol::frame;
use ringcast_protocol::CloseCode;

use super::conn::{Conn, Phase};
use super::io::{self, Stream, MAX_IOVECS};
use super::{ConnId, Shard};
use crate::config::SlowConsumerPolicy;
use crate::metrics::Counter;

enum WriteOutcome {
    /// Queue empty.
    Flushed,
    /// The socket is full; wait for space.
    Blocked,
    /// The socket failed (peer gone).
    Broken,
}

impl Shard {
    /// Queue a data frame for an open connection, applying the outbound
    /// limit. A frame into an empty queue is always accepted, so a message
    /// larger than the limit still goes through: a connection holds at most
    /// the limit plus one frame.
    pub(super) fn enqueue(&self, id: ConnId, conn: &mut Conn, frame: Bytes) {
        if conn.phase != Phase::Open {
            return;
        }
        let limit = self.shared.config.outbound_limit;
        let over =
            |conn: &Conn| !conn.out.is_empty() && conn.out.queued_bytes() + frame.len() > limit;
        if over(conn) && !conn.writer_active {
            // Frames pile up between flush points (a burst from one read, an
            // inbox batch) while the socket may have room: the limit is for
            // what the socket would not take, so write before judging. The
            // connection stays marked dirty; the next flush settles it.
            self.write_and_settle(id, conn, None);
        }
        if over(conn) {
            match self.shared.config.slow_consumer {
                SlowConsumerPolicy::Disconnect => {
                    self.metrics().inc(Counter::SlowConsumerDisconnects);
                    conn.out.discard_unsent();
                    conn.phase = Phase::Finishing;
                    conn.since = self.now();
                    let close =
                        frame::encode_close(CloseCode::POLICY_VIOLATION, "slow consumer", None);
                    self.push_control(id, conn, close);
                    return;
                }
                SlowConsumerPolicy::DropOldest => {
                    let dropped = conn.out.drop_oldest_to_fit(frame.len(), limit);
                    self.metrics().add(Counter::DroppedFrames, dropped as u64);
                }
            }
        }
        self.push_control(id, conn, frame);
    }

    /// Queue a frame regardless of limits and phase (handshake responses,
    /// control frames, close frames).
    pub(super) fn push_control(&self, id: ConnId, conn: &mut Conn, frame: Bytes) {
        conn.out.push(frame);
        self.metrics().inc(Counter::FramesOut);
        self.mark_dirty(id, conn);
    }

    /// Remember to flush this connection at the next flush point.
    pub(super) fn mark_dirty(&self, id: ConnId, conn: &mut Conn) {
        if !conn.dirty && !conn.writer_active {
            conn.dirty = true;
            self.dirty.borrow_mut().push(id);
        }
    }

    /// Write out every connection queued since the last flush point: one
    /// gathered write per connection, however many frames it got.
    pub(super) fn flush_dirty(self: &Rc<Self>) {
        loop {
            let Some(id) = self.dirty.borrow_mut().pop() else {
                break;
            };
            let mut conns = self.conns.borrow_mut();
            let Some(conn) = conns.get_mut(id) else {
                continue;
            };
            conn.dirty = false;
            if conn.writer_active {
                continue;
            }
            if self.write_and_settle(id, conn, None) {
                conn.writer_active = true;
                self.task_started();
                monoio::spawn(write_when_ready(self.clone(), id, conn.stream.clone()));
            }
        }
    }

    /// Write what the socket takes; after a full flush of a finishing
    /// connection, shut our side down (both sides once the close handshake
    /// is complete). Returns true when still blocked. With a task context
    /// (the writer task), blocked means its waker is parked on the socket.
    pub(super) fn write_and_settle(
        &self,
        id: ConnId,
        conn: &mut Conn,
        cx: Option<&mut Context<'_>>,
    ) -> bool {
        match self.write_out(conn, cx) {
            WriteOutcome::Flushed => {
                if conn.phase == Phase::Finishing && !conn.write_shut {
                    conn.write_shut = true;
                    if conn.peer_closed && self.reading.get() == Some(id) {
                        // Close handshake complete, inside this connection's
                        // own reader: it ends the connection when this flush
                        // returns, and closing the socket sends the FIN. No
                        // shutdown, and no wake-up to read the EOF it causes.
                        return false;
                    }
                    // Both close frames exchanged: the server closes the TCP
                    // connection (RFC 6455 5.5.1, 7.1.1) instead of waiting
                    // --close-timeout for the peer's FIN. Otherwise linger
                    // for the peer's close or EOF.
                    let how = if conn.peer_closed {
                        libc::SHUT_RDWR
                    } else {
                        libc::SHUT_WR
                    };
                    io::shutdown(conn.stream.fd(), how);
                }
                false
            }
            WriteOutcome::Blocked => true,
            WriteOutcome::Broken => {
                conn.out = Default::default();
                conn.cut();
                false
            }
        }
    }

    /// Gathered writes until the queue is empty or the socket is full.
    /// Without a context (flush points) a short write counts as full, which
    /// saves the syscall that would only say so; with one (the writer task)
    /// it writes until the socket itself says it would block, because only
    /// that parks the waker.
    fn write_out(&self, conn: &mut Conn, mut cx: Option<&mut Context<'_>>) -> WriteOutcome {
        loop {
            if conn.out.is_empty() {
                return WriteOutcome::Flushed;
            }
            let (offered, result) = {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let count = conn.out.fill_slices(&mut slices);
                let slices = &slices[..count];
                let offered: usize = slices.iter().map(|slice| slice.len()).sum();
                let result = match cx.as_deref_mut() {
                    Some(cx) => match conn.stream.poll_send_vectored(cx, slices) {
                        Poll::Ready(result) => result,
                        Poll::Pending => return WriteOutcome::Blocked,
                    },
                    None => conn.stream.send_vectored(slices),
                };
                (offered, result)
            };
            match result {
                Ok(written) => {
                    self.metrics().add(Counter::BytesOut, written as u64);
                    conn.out.advance(written);
                    if written < offered && cx.is_none() {
                        return WriteOutcome::Blocked;
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock && cx.is_none() => {
                    return WriteOutcome::Blocked
                }
                Err(_) => return WriteOutcome::Broken,
            }
        }
    }
}

/// Wait for socket space and write until the queue is empty (or the
/// connection is gone). Holds an `Rc` of the socket so it stays open while
/// this task waits, even if the reader has already torn the connection down.
async fn write_when_ready(shard: Rc<Shard>, id: ConnId, stream: Rc<Stream>) {
    std::future::poll_fn(|cx| {
        let mut conns = shard.conns.borrow_mut();
        let Some(conn) = conns.get_mut(id) else {
            return Poll::Ready(());
        };
        if shard.write_and_settle(id, conn, Some(cx)) {
            return Poll::Pending;
        }
        conn.writer_active = false;
        Poll::Ready(())
    })
    .await;
    drop(stream);
    shard.task_finished();
}
