//! Metrics: per-shard counters written only by their shard (plain relaxed
//! load+store, no lock-prefixed instructions on the hot path), summed when
//! `/metrics` is rendered in Prometheus text format.

mod render;

use std::sync::atomic::{AtomicU64, Ordering};

pub use render::{render, resident_bytes, Snapshot};

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

/// Declares every counter once: its slot, its doc, and how it is exported.
macro_rules! counters {
    ($($(#[doc = $doc:literal])* $slot:ident => $name:expr, $kind:literal, $label:expr, $help:expr;)*) => {
        /// One counter or gauge slot; the table below says how each is
        /// exported, so adding one is a one-line change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Counter {
            $($(#[doc = $doc])* $slot,)*
        }

        impl Counter {
            /// Every counter, in slot order.
            pub const ALL: &'static [Counter] = &[$(Counter::$slot),*];

            /// Name, type, label and help of this slot.
            pub fn describe(self) -> Description {
                match self {
                    $(Counter::$slot => Description { name: $name, kind: $kind, label: $label, help: $help },)*
                }
            }
        }
    };
}

const HS: &str = "ringcast_handshake_failures_total";
const HS_HELP: &str = "Upgrade handshakes refused, by reason.";
const ACC: &str = "ringcast_accept_errors_total";
const ACC_HELP: &str = "accept() failures, by errno; the accept loop backs off.";
const PE: &str = "ringcast_protocol_errors_total";
const PE_HELP: &str = "Connections failed for a protocol violation, by close code.";

counters! {
    /// Open WebSocket connections (gauge, per shard).
    Connections => "ringcast_connections", "gauge", None, "Open WebSocket connections.";
    /// Connections in the upgrade handshake (gauge).
    Handshaking => "ringcast_handshaking", "gauge", None, "Connections in the upgrade handshake.";
    /// TCP connections accepted.
    Accepted => "ringcast_accepted_total", "counter", None, "TCP connections accepted.";
    /// Accepted connections closed at once because --max-connections was reached.
    RejectedOverCapacity => "ringcast_rejected_over_capacity_total", "counter", None,
        "Connections refused because --max-connections was reached.";
    /// accept() failed with EMFILE (process open-files limit).
    AcceptEmfile => ACC, "counter", Some("errno=\"EMFILE\""), ACC_HELP;
    /// accept() failed with ENFILE (system open-files limit).
    AcceptEnfile => ACC, "counter", Some("errno=\"ENFILE\""), ACC_HELP;
    /// accept() failed with ENOBUFS/ENOMEM.
    AcceptNoMemory => ACC, "counter", Some("errno=\"ENOBUFS\""), ACC_HELP;
    /// accept() failed otherwise.
    AcceptOther => ACC, "counter", Some("errno=\"other\""), ACC_HELP;
    /// Plain HTTP requests answered (healthz, metrics, 404, 426).
    HttpRequests => "ringcast_http_requests_total", "counter", None, "Plain HTTP requests answered.";
    /// Handshake failure: malformed request (400).
    HsMalformed => HS, "counter", Some("reason=\"malformed\""), HS_HELP;
    /// Handshake failure: head too large or too many headers (431).
    HsTooLarge => HS, "counter", Some("reason=\"headers_too_large\""), HS_HELP;
    /// Handshake failure: method not GET (405).
    HsMethod => HS, "counter", Some("reason=\"method_not_get\""), HS_HELP;
    /// Handshake failure: HTTP/1.0 or missing Host (400).
    HsBadRequest => HS, "counter", Some("reason=\"bad_request\""), HS_HELP;
    /// Handshake failure: plain request on a WebSocket path (426).
    HsNotUpgrade => HS, "counter", Some("reason=\"not_an_upgrade\""), HS_HELP;
    /// Handshake failure: Sec-WebSocket-Version not 13 (426).
    HsVersion => HS, "counter", Some("reason=\"unsupported_version\""), HS_HELP;
    /// Handshake failure: bad Sec-WebSocket-Key (400).
    HsKey => HS, "counter", Some("reason=\"invalid_key\""), HS_HELP;
    /// Handshake failure: unknown path (404).
    HsNotFound => HS, "counter", Some("reason=\"not_found\""), HS_HELP;
    /// Handshake failure: not finished within --handshake-timeout.
    HsTimeout => HS, "counter", Some("reason=\"timeout\""), HS_HELP;
    /// Data messages received.
    MessagesIn => "ringcast_messages_in_total", "counter", None, "Data messages received.";
    /// Payload bytes of data messages received.
    BytesIn => "ringcast_bytes_in_total", "counter", None, "Payload bytes of data messages received.";
    /// Frames queued for sending (data and control).
    FramesOut => "ringcast_frames_out_total", "counter", None, "Frames queued for sending.";
    /// Bytes written to sockets.
    BytesOut => "ringcast_bytes_out_total", "counter", None, "Bytes written to sockets.";
    /// Room deliveries: one per member a room message was queued for.
    BroadcastDeliveries => "ringcast_broadcast_deliveries_total", "counter", None,
        "Room messages queued to members (one per member).";
    /// Frames dropped by the drop-oldest slow-consumer policy.
    DroppedFrames => "ringcast_dropped_frames_total", "counter", None,
        "Frames dropped by the drop-oldest slow-consumer policy.";
    /// Connections closed with 1008 by the disconnect slow-consumer policy.
    SlowConsumerDisconnects => "ringcast_slow_consumer_disconnects_total", "counter", None,
        "Connections closed with 1008 for exceeding --outbound-limit.";
    /// Connections closed for not answering a ping within --pong-timeout.
    HeartbeatTimeouts => "ringcast_heartbeat_timeouts_total", "counter", None,
        "Connections closed for staying silent past --pong-timeout after a ping.";
    /// Pings sent by the heartbeat sweep.
    PingsSent => "ringcast_pings_sent_total", "counter", None, "Heartbeat pings sent.";
    /// Protocol errors answered with close 1002.
    Close1002 => PE, "counter", Some("code=\"1002\""), PE_HELP;
    /// Protocol errors answered with close 1007.
    Close1007 => PE, "counter", Some("code=\"1007\""), PE_HELP;
    /// Protocol errors answered with close 1009.
    Close1009 => PE, "counter", Some("code=\"1009\""), PE_HELP;
    /// Close handshakes the peer never finished within --close-timeout.
    CloseTimeouts => "ringcast_close_timeouts_total", "counter", None,
        "Close handshakes the peer did not finish within --close-timeout.";
    /// Cross-shard messages received on this shard's inbox.
    InboxMessages => "ringcast_inbox_messages_total", "counter", None,
        "Cross-shard messages received on shard inboxes.";
}

/// Number of [`Counter`] slots.
pub const COUNTERS: usize = Counter::ALL.len();

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
