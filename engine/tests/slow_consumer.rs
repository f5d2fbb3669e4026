//! Slow consumers: a room member that stops reading while the room is busy
//! is handled by the `--slow-consumer` policy once more than
//! `--outbound-limit` is queued for it, and the members that keep reading
//! are not affected.
//!
//! The slow member shrinks its receive buffer so the kernel's buffers fill
//! early; the publisher sends until the policy's counter moves (bounded by
//! `MAX_BYTES`), then an end marker.

mod common;

use std::thread::JoinHandle;
use std::time::Duration;

use common::{
    tcp_connect_with_rcvbuf, ws_connect, ws_read_data, ws_upgrade, RawClient, TestServer, Ws,
};
use ringcast::config::SlowConsumerPolicy;
use ringcast_protocol::frame::OpCode;
use tungstenite::Message;

const OUTBOUND_LIMIT: usize = 64 * 1024;
const MESSAGE_BYTES: usize = 16 * 1024;
const BATCH: u32 = 16;
/// Most the publisher sends before the test gives up on the policy.
const MAX_BYTES: usize = 64 << 20;
/// Sequence number of the last message.
const END: u32 = u32::MAX;

fn message(seq: u32) -> Message {
    let mut payload = vec![0xa5; MESSAGE_BYTES];
    payload[..4].copy_from_slice(&seq.to_be_bytes());
    Message::binary(payload)
}

fn seq_of(payload: &[u8]) -> u32 {
    assert_eq!(payload.len(), MESSAGE_BYTES, "a whole message");
    u32::from_be_bytes(payload[..4].try_into().unwrap())
}

/// A room with a member that never reads, one that reads everything (on
/// its own thread) and a publisher that does not receive its own messages.
/// Fields drop in order: the clients before the server.
struct Feed {
    slow: RawClient,
    reader: Option<JoinHandle<Vec<u32>>>,
    publisher: Ws,
    server: TestServer,
}

impl Feed {
    fn start(policy: SlowConsumerPolicy) -> Feed {
        let server = TestServer::with(|config| {
            config.outbound_limit = OUTBOUND_LIMIT;
            config.slow_consumer = policy;
            // The slow member reads its close frame only after the fact.
            config.close_timeout = Duration::from_secs(60);
        });
        let slow = RawClient::upgrade(
            tcp_connect_with_rcvbuf(server.addr(), 4096),
            "/room/feed",
            &[],
        );
        // A healthy reader: a generous receive buffer absorbs scheduling hiccups.
        let mut reader_ws = ws_upgrade(
            tcp_connect_with_rcvbuf(server.addr(), 4 << 20),
            "/room/feed",
            None,
        );
        let publisher = ws_connect(server.addr(), "/room/feed?echo=false");
        let reader = std::thread::spawn(move || {
            let mut seqs = Vec::new();
            loop {
                match seq_of(&ws_read_data(&mut reader_ws).into_data()) {
                    END => return seqs,
                    seq => seqs.push(seq),
                }
            }
        });
        Feed {
            slow,
            reader: Some(reader),
            publisher,
            server,
        }
    }

    /// Publish numbered messages until the counter `key` moves, then the
    /// end marker. Returns how many numbered messages were sent.
    fn publish_until(&mut self, key: &str) -> u32 {
        let mut sent = 0;
        while self.server.metric(key) == 0 {
            assert!(
                sent as usize * MESSAGE_BYTES < MAX_BYTES,
                "{key} still 0 after {MAX_BYTES} bytes to a member that does not read"
            );
            for _ in 0..BATCH {
                self.publisher.send(message(sent)).expect("publish");
                sent += 1;
            }
        }
        self.publisher
            .send(message(END))
            .expect("publish the end marker");
        sent
    }

    /// The reader got every message, in order.
    fn assert_reader_got_all(&mut self, sent: u32) {
        let seqs = self
            .reader
            .take()
            .expect("once")
            .join()
            .expect("reader thread");
        assert_eq!(
            seqs.len(),
            sent as usize,
            "the reading member lost messages"
        );
        assert!(
            seqs.iter().copied().eq(0..sent),
            "the reading member got them out of order"
        );
    }
}

#[test]
fn member_that_never_reads_is_closed_with_1008_slow_consumer() {
    let mut feed = Feed::start(SlowConsumerPolicy::Disconnect);
    let sent = feed.publish_until("ringcast_slow_consumer_disconnects_total");

    // What the kernel already held arrives first, in order and without a
    // gap, then the close frame, then the end of the connection.
    let mut expected = 0;
    let close = loop {
        let frame = feed.slow.expect_frame();
        match frame.opcode {
            OpCode::Binary => {
                assert_eq!(
                    seq_of(&frame.payload),
                    expected,
                    "the slow member's stream has a gap"
                );
                expected += 1;
            }
            OpCode::Close => break frame.payload,
            other => panic!("unexpected {other:?} frame"),
        }
    };
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1008);
    assert_eq!(&close[2..], b"slow consumer");
    feed.slow.expect_end();
    assert!(
        expected < sent,
        "the slow member cannot have received everything"
    );

    feed.assert_reader_got_all(sent);
    assert_eq!(
        feed.server
            .metric("ringcast_slow_consumer_disconnects_total"),
        1,
        "only the slow member"
    );
}

#[test]
fn member_that_never_reads_loses_oldest_frames_but_stays_connected() {
    let mut feed = Feed::start(SlowConsumerPolicy::DropOldest);
    let sent = feed.publish_until("ringcast_dropped_frames_total");

    // What it eventually reads is a subsequence, in order, ending with the
    // newest message.
    let mut seqs = Vec::new();
    loop {
        let frame = feed.slow.expect_frame();
        assert_eq!(frame.opcode, OpCode::Binary, "only data frames");
        match seq_of(&frame.payload) {
            END => break,
            seq => seqs.push(seq),
        }
    }
    assert!(
        seqs.windows(2).all(|pair| pair[0] < pair[1]),
        "out of order: {seqs:?}"
    );
    assert!(
        seqs.len() < sent as usize,
        "frames were dropped, yet all {sent} arrived"
    );

    feed.assert_reader_got_all(sent);
    assert!(feed.server.metric("ringcast_dropped_frames_total") > 0);
    assert_eq!(
        feed.server
            .metric("ringcast_slow_consumer_disconnects_total"),
        0
    );

    // Still a member: a later message reaches it.
    feed.publisher.send(message(7)).expect("publish");
    let frame = feed.slow.expect_frame();
    assert_eq!((frame.opcode, seq_of(&frame.payload)), (OpCode::Binary, 7));
}
