//! Prometheus text exposition of the shard counters and process facts.

use std::fmt::Write;

use super::{Counter, ShardMetrics};

/// Process-wide facts rendered next to the counters.
pub struct Snapshot<'a> {
    /// Counters of every shard, by shard index.
    pub shards: &'a [ShardMetrics],
    /// Messages waiting in each shard's cross-shard inbox.
    pub inbox_depths: &'a [usize],
    /// The I/O driver in use: `io_uring` or `epoll`.
    pub driver: &'a str,
    /// Resident bytes now, and when the shards had started (before any
    /// connection), from /proc/self/statm.
    pub resident_bytes: Option<(u64, u64)>,
    /// Whether the server is draining (SIGTERM received).
    pub draining: bool,
}

/// Render every metric in Prometheus text format (version 0.0.4).
pub fn render(snapshot: &Snapshot<'_>) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let mut last_family = "";
    for &counter in Counter::ALL {
        let description = counter.describe();
        if description.name != last_family {
            let _ = writeln!(out, "# HELP {} {}", description.name, description.help);
            let _ = writeln!(out, "# TYPE {} {}", description.name, description.kind);
            last_family = description.name;
        }
        let per_shard = counter == Counter::Connections;
        if per_shard {
            for (shard, metrics) in snapshot.shards.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{}{{shard=\"{shard}\"}} {}",
                    description.name,
                    metrics.get(counter)
                );
            }
            continue;
        }
        let total: u64 = snapshot.shards.iter().map(|m| m.get(counter)).sum();
        match description.label {
            Some(label) => {
                let _ = writeln!(out, "{}{{{label}}} {total}", description.name);
            }
            None => {
                let _ = writeln!(out, "{} {total}", description.name);
            }
        }
    }

    let _ = writeln!(
        out,
        "# HELP ringcast_inbox_depth Cross-shard messages waiting in a shard's inbox."
    );
    let _ = writeln!(out, "# TYPE ringcast_inbox_depth gauge");
    for (shard, depth) in snapshot.inbox_depths.iter().enumerate() {
        let _ = writeln!(out, "ringcast_inbox_depth{{shard=\"{shard}\"}} {depth}");
    }
    let _ = writeln!(
        out,
        "# HELP ringcast_driver The I/O driver the shards run on."
    );
    let _ = writeln!(out, "# TYPE ringcast_driver gauge");
    let _ = writeln!(out, "ringcast_driver{{driver=\"{}\"}} 1", snapshot.driver);
    let _ = writeln!(
        out,
        "# HELP ringcast_draining 1 while shutting down (SIGTERM received)."
    );
    let _ = writeln!(out, "# TYPE ringcast_draining gauge");
    let _ = writeln!(out, "ringcast_draining {}", u8::from(snapshot.draining));

    if let Some((now, baseline)) = snapshot.resident_bytes {
        let connections: u64 = snapshot
            .shards
            .iter()
            .map(|m| m.get(Counter::Connections))
            .sum();
        let _ = writeln!(
            out,
            "# HELP ringcast_resident_bytes Resident set size of the process."
        );
        let _ = writeln!(out, "# TYPE ringcast_resident_bytes gauge");
        let _ = writeln!(out, "ringcast_resident_bytes {now}");
        let _ = writeln!(
            out,
            "# HELP ringcast_resident_bytes_per_connection (RSS now - RSS at startup) / open connections; user space only, the kernel's socket buffers are not included."
        );
        let _ = writeln!(out, "# TYPE ringcast_resident_bytes_per_connection gauge");
        let per_connection = now
            .saturating_sub(baseline)
            .checked_div(connections)
            .unwrap_or(0);
        let _ = writeln!(
            out,
            "ringcast_resident_bytes_per_connection {per_connection}"
        );
    }
    out
}

/// Resident set size of this process in bytes, from /proc/self/statm.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_declared_once_and_labels_summed_across_shards() {
        let shards = [ShardMetrics::default(), ShardMetrics::default()];
        shards[0].add(Counter::AcceptEmfile, 2);
        shards[1].add(Counter::AcceptEmfile, 3);
        shards[1].inc(Counter::Connections);
        let text = render(&Snapshot {
            shards: &shards,
            inbox_depths: &[0, 4],
            driver: "epoll",
            resident_bytes: Some((10_000, 9_000)),
            draining: false,
        });
        assert_eq!(
            text.matches("# TYPE ringcast_accept_errors_total").count(),
            1
        );
        assert!(text.contains("ringcast_accept_errors_total{errno=\"EMFILE\"} 5\n"));
        assert!(text.contains("ringcast_connections{shard=\"1\"} 1\n"));
        assert!(text.contains("ringcast_inbox_depth{shard=\"1\"} 4\n"));
        assert!(text.contains("ringcast_driver{driver=\"epoll\"} 1\n"));
        assert!(text.contains("ringcast_resident_bytes_per_connection 1000\n"));
    }
}
