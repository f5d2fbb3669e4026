//! The coarse timer: once per tick each shard walks its connection table
//! and applies every deadline (handshake, ping/pong, close). One sleep per
//! shard instead of a timer per connection.

use std::rc::Rc;

use bytes::Bytes;

use super::conn::Phase;
use super::Shard;
use crate::metrics::Counter;

/// An unmasked ping with an empty payload.
const PING: Bytes = Bytes::from_static(&[0x89, 0x00]);

/// Advance the shard clock and apply deadlines every `--tick` until the
/// shard stops.
pub(super) async fn sweep_loop(shard: Rc<Shard>) {
    let tick = shard.shared.config.tick;
    while !shard.stopping.get() {
        monoio::time::sleep(tick).await;
        shard.tick_clock();
        shard.sweep();
        shard.flush_dirty();
    }
}

impl Shard {
    fn sweep(&self) {
        let config = &self.shared.config;
        let millis = |d: std::time::Duration| d.as_millis().min(u32::MAX as u128) as u32;
        let (handshake, close) = (
            millis(config.handshake_timeout),
            millis(config.close_timeout),
        );
        let (ping_interval, pong_timeout) =
            (millis(config.ping_interval), millis(config.pong_timeout));
        let now = self.now();
        let mut conns = self.conns.borrow_mut();
        for (id, conn) in conns.iter_mut() {
            if conn.cut {
                continue;
            }
            let waited = now.saturating_sub(conn.since);
            match conn.phase {
                Phase::Handshaking if waited > handshake => {
                    self.metrics().inc(Counter::HsTimeout);
                    conn.cut();
                }
                Phase::CloseSent | Phase::Finishing if waited > close => {
                    self.metrics().inc(Counter::CloseTimeouts);
                    conn.cut();
                }
                Phase::Open if conn.ping_outstanding && waited > pong_timeout => {
                    self.metrics().inc(Counter::HeartbeatTimeouts);
                    conn.cut();
                }
                Phase::Open
                    if !conn.ping_outstanding
                        && now.saturating_sub(conn.last_heard) > ping_interval =>
                {
                    conn.ping_outstanding = true;
                    conn.since = now;
                    self.metrics().inc(Counter::PingsSent);
                    self.push_control(id, conn, PING);
                }
                _ => {}
            }
        }
    }
}
