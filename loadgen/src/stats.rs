//! What a run counts and measures: counters, latency histograms, the
//! per-second timeline, and how results of threads and worker processes merge.
//! Histograms cross process boundaries in hdrhistogram's V2 format (base64),
//! so merged percentiles are exact, not averages of percentiles.

use std::collections::BTreeMap;

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

macro_rules! counters {
    ($($(#[$doc:meta])* $field:ident),* $(,)?) => {
        /// Every counter of a run. Threads and processes each keep their own
        /// and they are summed at the end.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct Counters {
            $($(#[$doc])* pub $field: u64,)*
            /// Connections that could not be opened, by kind of failure.
            pub conn_failures: BTreeMap<String, u64>,
            /// Errors on open connections (protocol violations, I/O), by kind.
            pub errors: BTreeMap<String, u64>,
        }

        impl Counters {
            /// Add `other` into `self`.
            pub fn merge(&mut self, other: &Counters) {
                $(self.$field += other.$field;)*
                for (k, v) in &other.conn_failures {
                    *self.conn_failures.entry(k.clone()).or_default() += v;
                }
                for (k, v) in &other.errors {
                    *self.errors.entry(k.clone()).or_default() += v;
                }
            }
        }
    };
}

counters! {
    /// Connection attempts (handshakes started).
    conns_attempted,
    /// Connections whose upgrade was accepted.
    conns_opened,
    /// Open connections that ended before we closed them.
    conns_dropped,
    /// Connections whose closing handshake was not answered in time.
    unclean_closes,
    /// Connections still open at the end of the measured window.
    stayed_up,
    /// Data messages written.
    sent,
    /// Data messages written inside the measured window.
    sent_in_window,
    /// Messages the schedule asked for up to the end of the window.
    scheduled,
    /// Deliveries (fanout) or round trips (echo) received intact, each once.
    received,
    /// Of those, received inside the measured window.
    received_in_window,
    /// Deliveries that should have arrived (sent x room members).
    expected,
    /// Expected deliveries that never arrived.
    lost,
    /// Deliveries received more than once.
    duplicated,
    /// Deliveries that arrived after a later one from the same sender.
    reordered,
    /// Deliveries whose checksum did not match.
    corrupted,
    /// Intact deliveries from a sender that is not in the receiver's room.
    misrouted,
    /// Successful upgrades (connect, storm).
    handshakes,
    /// Of those, completed inside the measured window.
    handshakes_in_window,
    /// Storm: clients back after the drop.
    reconnected,
    /// Storm: clients not back when the window ended.
    not_back,
}

impl Counters {
    /// Count one failure of kind `kind` in `map`.
    pub fn bump(map: &mut BTreeMap<String, u64>, kind: &str) {
        match map.get_mut(kind) {
            Some(v) => *v += 1,
            None => {
                map.insert(kind.to_string(), 1);
            }
        }
    }

    /// Sum of a failure map.
    pub fn total(map: &BTreeMap<String, u64>) -> u64 {
        map.values().sum()
    }
}

/// Highest recordable value in microseconds (10 minutes); larger values are
/// clamped, which only matters for runs that are broken anyway.
const MAX_US: u64 = 600_000_000;

/// A latency histogram in microseconds, 3 significant digits.
#[derive(Debug, Clone)]
pub struct Hist(pub Histogram<u64>);

impl Default for Hist {
    fn default() -> Hist {
        Hist(Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds"))
    }
}

impl Hist {
    /// Record one value in microseconds (clamped to the histogram's range).
    #[inline]
    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.clamp(1, MAX_US));
    }

    /// Record one duration.
    #[inline]
    pub fn record(&mut self, d: std::time::Duration) {
        self.record_us(d.as_micros() as u64);
    }

    /// Add every value of `other`.
    pub fn merge(&mut self, other: &Hist) {
        self.0.add(&other.0).expect("same bounds");
    }

    /// The percentiles the report prints.
    pub fn summary(&self) -> Summary {
        let h = &self.0;
        let q = |q: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(q)
            }
        };
        Summary {
            count: h.len(),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: if h.is_empty() { 0 } else { h.max() },
            mean: if h.is_empty() { 0.0 } else { h.mean() },
        }
    }
}

impl Serialize for Hist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::new();
        V2Serializer::new()
            .serialize(&self.0, &mut bytes)
            .map_err(|e| serde::ser::Error::custom(format!("histogram: {e:?}")))?;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

impl<'de> Deserialize<'de> for Hist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Hist, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| serde::de::Error::custom(format!("histogram: {e:?}")))?;
        // Re-home into our bounds so merging never fails on a range mismatch.
        let mut out = Hist::default();
        for v in h.iter_recorded() {
            out.0
                .saturating_record_n(v.value_iterated_to().clamp(1, MAX_US), v.count_at_value());
        }
        Ok(out)
    }
}

/// Percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Number of values.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

/// Every histogram of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Histos {
    /// Delivery or round-trip latency from the intended send time (the
    /// schedule): includes any delay on our side, hides no stall.
    pub latency: Hist,
    /// The same from the actual send time: the server and the network only,
    /// without the generator's timer granularity.
    pub service: Hist,
    /// How late messages left compared with the schedule.
    pub send_lag: Hist,
    /// TCP connect + upgrade time.
    pub handshake: Hist,
    /// Storm: from the drop until the client was upgraded again.
    pub reconnect: Hist,
}

impl Histos {
    /// Add every histogram of `other`.
    pub fn merge(&mut self, other: &Histos) {
        self.latency.merge(&other.latency);
        self.service.merge(&other.service);
        self.send_lag.merge(&other.send_lag);
        self.handshake.merge(&other.handshake);
        self.reconnect.merge(&other.reconnect);
    }
}

/// One second of the run (seconds counted from the start of traffic).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Tick {
    /// Seconds since traffic started (end of this second).
    pub t: u32,
    /// Connections open at the end of the second.
    pub open: u64,
    /// Messages sent during the second.
    pub sent: u64,
    /// Deliveries / round trips received during the second.
    pub received: u64,
    /// Upgrades completed during the second.
    pub handshakes: u64,
    /// Errors and connection failures during the second.
    pub errors: u64,
}

/// Sum timelines second by second (worker processes run side by side).
pub fn merge_timelines(into: &mut Vec<Tick>, other: &[Tick]) {
    if into.len() < other.len() {
        let start = into.len();
        into.extend(other[start..].iter().map(|t| Tick {
            t: t.t,
            ..Tick::default()
        }));
    }
    for (a, b) in into.iter_mut().zip(other) {
        a.open += b.open;
        a.sent += b.sent;
        a.received += b.received;
        a.handshakes += b.handshakes;
        a.errors += b.errors;
    }
}

/// What one process measured: the unit worker processes send to the parent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessResult {
    /// Counters summed over the process's threads.
    pub counters: Counters,
    /// Histograms merged over the process's threads.
    pub histos: Histos,
    /// Per-second timeline.
    pub timeline: Vec<Tick>,
    /// CPU seconds this process used inside the measured window.
    pub cpu_s: f64,
    /// Generator threads in this process.
    pub threads: u32,
    /// The I/O driver the runtimes used (`io_uring` or `epoll`).
    pub driver: String,
}

impl ProcessResult {
    /// Add another process's result into this one.
    pub fn merge(&mut self, other: &ProcessResult) {
        self.counters.merge(&other.counters);
        self.histos.merge(&other.histos);
        merge_timelines(&mut self.timeline, &other.timeline);
        self.cpu_s += other.cpu_s;
        self.threads += other.threads;
        if self.driver.is_empty() {
            self.driver = other.driver.clone();
        } else if !other.driver.is_empty() && other.driver != self.driver {
            self.driver = "mixed".into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_serialization_and_merge_exactly() {
        let mut a = Hist::default();
        let mut b = Hist::default();
        for v in 1..=1000 {
            a.record_us(v);
            b.record_us(v * 1000);
        }
        let json = serde_json::to_string(&b).unwrap();
        let b2: Hist = serde_json::from_str(&json).unwrap();
        assert_eq!(b2.summary(), b.summary());
        a.merge(&b2);
        let s = a.summary();
        assert_eq!(s.count, 2000);
        assert!(s.max >= 999_000);
        assert!((450..=550).contains(&(s.p50 / 2)) || s.p50 >= 990, "{s:?}");
    }

    #[test]
    fn counters_and_timelines_add() {
        let mut a = Counters {
            sent: 2,
            ..Counters::default()
        };
        Counters::bump(&mut a.conn_failures, "refused");
        let mut b = Counters {
            sent: 3,
            lost: 1,
            ..Counters::default()
        };
        Counters::bump(&mut b.conn_failures, "refused");
        Counters::bump(&mut b.errors, "reset");
        a.merge(&b);
        assert_eq!((a.sent, a.lost), (5, 1));
        assert_eq!(a.conn_failures["refused"], 2);
        assert_eq!(Counters::total(&a.errors), 1);

        let mut t = vec![Tick {
            t: 1,
            sent: 1,
            ..Tick::default()
        }];
        merge_timelines(
            &mut t,
            &[
                Tick {
                    t: 1,
                    sent: 2,
                    ..Tick::default()
                },
                Tick {
                    t: 2,
                    open: 4,
                    ..Tick::default()
                },
            ],
        );
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].sent, t[1].open, t[1].t), (3, 4, 2));
    }
}
