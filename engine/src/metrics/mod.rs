//! Metrics: per-shard counters written only by their shard (plain relaxed
//! load+store, no lock-prefixed instructions on the hot path), summed when
//! `/metrics` is rendered in Prometheus text format.

mod render;

use std::sync::atomic::{AtomicU64, Ordering};

pub use render::{render, resident_bytes, Snapshot};

/// One counter or gauge slot. The name, type, labels and help text of each
/// live in [`Counter::describe`], so adding one is a one-line change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Counter {
    /// Open WebSocket connections (gauge).
    Connections,
    /// Connections in the upgrade handshake (gauge).
    Handshaking,
    /// TCP connections accepted.
    Accepted,
    /// Accepted connections closed at once because --max-connections was reached.
    RejectedOverCapacity,
    /// accept() failed with EMFILE (process open-files limit).
    AcceptEmfile,
    /// accept() failed with ENFILE (system open-files limit).
    AcceptEnfile,
    /// accept() failed with ENOBUFS/ENOMEM.
    AcceptNoMemory,
    /// accept() failed otherwise.
    AcceptOther,
    /// Plain HTTP requests answered (healthz, metrics, 404, 426).
    HttpRequests,
    /// Handshake failure: malformed request (400).
    HsMalformed,
    /// Handshake failure: head too large or too many headers (431).
    HsTooLarge,
    /// Handshake failure: method not GET (405).
    HsMethod,
    /// Handshake failure: HTTP/1.0 or missing Host (400).
    HsBadRequest,
    /// Handshake failure: plain request on a WebSocket path (426).
    HsNotUpgrade,
    /// Handshake failure: Sec-WebSocket-Version not 13 (426).
    HsVersion,
    /// Handshake failure: bad Sec-WebSocket-Key (400).
    HsKey,
    /// Handshake failure: unknown path (404).
    HsNotFound,
    /// Handshake failure: not finished within --handshake-timeout.
    HsTimeout,
    /// Data messages received.
    MessagesIn,
    /// Payload bytes of data messages received.
    BytesIn,
    /// Frames queued for sending (data and control).
    FramesOut,
    /// Bytes written to sockets.
    BytesOut,
    /// Room deliveries: one per member a room message was queued for.
    BroadcastDeliveries,
    /// Frames dropped by the drop-oldest slow-consumer policy.
    DroppedFrames,
    /// Connections closed with 1008 by the disconnect slow-consumer policy.
    SlowConsumerDisconnects,
    /// Connections closed for not answering a ping within --pong-timeout.
    HeartbeatTimeouts,
    /// Pings sent by the heartbeat sweep.
    PingsSent,
    /// Protocol errors answered with close 1002.
    Close1002,
    /// Protocol errors answered with close 1007.
    Close1007,
    /// Protocol errors answered with close 1009.
    Close1009,
    /// Close handshakes the peer never finished within --close-timeout.
    CloseTimeouts,
    /// Cross-shard broadcast batches received on this shard's inbox.
    InboxMessages,
}

/// Number of [`Counter`] slots.
pub const COUNTERS: usize = Counter::InboxMessages as usize + 1;

/// How a counter is exported.
pub struct Description {
    /// Metric family name.
    pub name: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    /// Label pair rendered inside `{}`, if any.
    pub label: Option<&'static str>,
    /// Help line.
    pub help: &'static str,
}

impl Counter {
    /// Every counter, in slot order.
    pub const ALL: [Counter; COUNTERS] = {
        use Counter::*;
        [
            Connections,
            Handshaking,
            Accepted,
            RejectedOverCapacity,
            AcceptEmfile,
            AcceptEnfile,
            AcceptNoMemory,
            AcceptOther,
            HttpRequests,
            HsMalformed,
            HsTooLarge,
            HsMethod,
            HsBadRequest,
            HsNotUpgrade,
            HsVersion,
            HsKey,
            HsNotFound,
            HsTimeout,
            MessagesIn,
            BytesIn,
            FramesOut,
            BytesOut,
            BroadcastDeliveries,
            DroppedFrames,
            SlowConsumerDisconnects,
            HeartbeatTimeouts,
            PingsSent,
            Close1002,
            Close1007,
            Close1009,
            CloseTimeouts,
            InboxMessages,
        ]
    };

    /// Name, type, label and help of this slot.
    pub fn describe(self) -> Description {
        use Counter::*;
        let d = |name, kind, label, help| Description {
            name,
            kind,
            label,
            help,
        };
        const HS: &str = "ringcast_handshake_failures_total";
        const HS_HELP: &str = "Upgrade handshakes refused, by reason.";
        const ACC: &str = "ringcast_accept_errors_total";
        const ACC_HELP: &str = "accept() failures, by errno; the accept loop backs off.";
        const PE: &str = "ringcast_protocol_errors_total";
        const PE_HELP: &str = "Connections failed for a protocol violation, by close code.";
        match self {
            Connections => d(
                "ringcast_connections",
                "gauge",
                None,
                "Open WebSocket connections.",
            ),
            Handshaking => d(
                "ringcast_handshaking",
                "gauge",
                None,
                "Connections in the upgrade handshake.",
            ),
            Accepted => d(
                "ringcast_accepted_total",
                "counter",
                None,
                "TCP connections accepted.",
            ),
            RejectedOverCapacity => d(
                "ringcast_rejected_over_capacity_total",
                "counter",
                None,
                "Connections refused because --max-connections was reached.",
            ),
            AcceptEmfile => d(ACC, "counter", Some("errno=\"EMFILE\""), ACC_HELP),
            AcceptEnfile => d(ACC, "counter", Some("errno=\"ENFILE\""), ACC_HELP),
            AcceptNoMemory => d(ACC, "counter", Some("errno=\"ENOBUFS\""), ACC_HELP),
            AcceptOther => d(ACC, "counter", Some("errno=\"other\""), ACC_HELP),
            HttpRequests => d(
                "ringcast_http_requests_total",
                "counter",
                None,
                "Plain HTTP requests answered.",
            ),
            HsMalformed => d(HS, "counter", Some("reason=\"malformed\""), HS_HELP),
            HsTooLarge => d(HS, "counter", Some("reason=\"headers_too_large\""), HS_HELP),
            HsMethod => d(HS, "counter", Some("reason=\"method_not_get\""), HS_HELP),
            HsBadRequest => d(HS, "counter", Some("reason=\"bad_request\""), HS_HELP),
            HsNotUpgrade => d(HS, "counter", Some("reason=\"not_an_upgrade\""), HS_HELP),
            HsVersion => d(
                HS,
                "counter",
                Some("reason=\"unsupported_version\""),
                HS_HELP,
            ),
            HsKey => d(HS, "counter", Some("reason=\"invalid_key\""), HS_HELP),
            HsNotFound => d(HS, "counter", Some("reason=\"not_found\""), HS_HELP),
            HsTimeout => d(HS, "counter", Some("reason=\"timeout\""), HS_HELP),
            MessagesIn => d(
                "ringcast_messages_in_total",
                "counter",
                None,
                "Data messages received.",
            ),
            BytesIn => d(
                "ringcast_bytes_in_total",
                "counter",
                None,
                "Payload bytes of data messages received.",
            ),
            FramesOut => d(
                "ringcast_frames_out_total",
                "counter",
                None,
                "Frames queued for sending.",
            ),
            BytesOut => d(
                "ringcast_bytes_out_total",
                "counter",
                None,
                "Bytes written to sockets.",
            ),
            BroadcastDeliveries => d(
                "ringcast_broadcast_deliveries_total",
                "counter",
                None,
                "Room messages queued to members (one per member).",
            ),
            DroppedFrames => d(
                "ringcast_dropped_frames_total",
                "counter",
                None,
                "Frames dropped by the drop-oldest slow-consumer policy.",
            ),
            SlowConsumerDisconnects => d(
                "ringcast_slow_consumer_disconnects_total",
                "counter",
                None,
                "Connections closed with 1008 for exceeding --outbound-limit.",
            ),
            HeartbeatTimeouts => d(
                "ringcast_heartbeat_timeouts_total",
                "counter",
                None,
                "Connections closed for staying silent past --pong-timeout after a ping.",
            ),
            PingsSent => d(
                "ringcast_pings_sent_total",
                "counter",
                None,
                "Heartbeat pings sent.",
            ),
            Close1002 => d(PE, "counter", Some("code=\"1002\""), PE_HELP),
            Close1007 => d(PE, "counter", Some("code=\"1007\""), PE_HELP),
            Close1009 => d(PE, "counter", Some("code=\"1009\""), PE_HELP),
            CloseTimeouts => d(
                "ringcast_close_timeouts_total",
                "counter",
                None,
                "Close handshakes the peer did not finish within --close-timeout.",
            ),
            InboxMessages => d(
                "ringcast_inbox_messages_total",
                "counter",
                None,
                "Cross-shard messages received on shard inboxes.",
            ),
        }
    }
}

/// The counters of one shard, padded to their own cache lines so shards
/// never share one.
#[repr(align(128))]
pub struct ShardMetrics {
    slots: [AtomicU64; COUNTERS],
}

impl Default for ShardMetrics {
    fn default() -> Self {
        ShardMetrics {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl ShardMetrics {
    /// Add `n`. Only the owning shard writes, so a relaxed load and store
    /// is exact and avoids an atomic read-modify-write.
    #[inline]
    pub fn add(&self, counter: Counter, n: u64) {
        let slot = &self.slots[counter as usize];
        slot.store(
            slot.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// Add one.
    #[inline]
    pub fn inc(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Subtract one (gauges).
    #[inline]
    pub fn dec(&self, counter: Counter) {
        self.add(counter, u64::MAX);
    }

    /// Current value.
    pub fn get(&self, counter: Counter) -> u64 {
        self.slots[counter as usize].load(Ordering::Relaxed)
    }
}
