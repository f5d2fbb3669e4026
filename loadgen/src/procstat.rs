//! Readers for another process's figures in /proc: CPU time (utime + stime
//! from `/proc/<pid>/stat`) and resident memory (`VmRSS` from
//! `/proc/<pid>/status`, `Pss` from `/proc/<pid>/smaps_rollup`).

use std::fs;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProcSample {
    /// User + system CPU seconds since the process started.
    pub cpu_s: f64,
    /// Resident set size in bytes (`VmRSS`).
    pub rss: u64,
    /// Proportional set size in bytes (`smaps_rollup` `Pss`), 0 when unreadable.
    pub pss: u64,
}

/// Read `pid` now; `None` when the process is gone or /proc is unreadable.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let pss = fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| kib_field(&s, "Pss:"))
        .unwrap_or(0);
    Some(ProcSample {
        cpu_s: cpu_seconds(&stat)? as f64 / clock_ticks() as f64,
        rss: kib_field(&status, "VmRSS:")?,
        pss,
    })
}

/// utime + stime in clock ticks from a `/proc/<pid>/stat` line. The command
/// name (field 2) may contain spaces and parentheses, so fields are counted
/// from the last `)`.
fn cpu_seconds(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    // After the name: state is field 3; utime is 14 and stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `Name:   123 kB` line of a /proc file, in bytes.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// The server's readings at the moments of a run that matter: before any
/// connection, when traffic starts, and at both ends of the window.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServerWatch {
    /// The watched process.
    pub pid: Option<u32>,
    /// Before the first connection.
    pub before: Option<ProcSample>,
    /// When every connection was up and traffic started.
    pub at_go: Option<ProcSample>,
    /// Start of the measured window.
    pub start: Option<ProcSample>,
    /// End of the measured window.
    pub end: Option<ProcSample>,
}

impl ServerWatch {
    /// Watch `pid` (or nothing), taking the first reading now.
    pub fn new(pid: Option<u32>) -> ServerWatch {
        ServerWatch {
            pid,
            before: pid.and_then(sample),
            ..ServerWatch::default()
        }
    }

    fn now(&self) -> Option<ProcSample> {
        self.pid.and_then(sample)
    }
}

impl crate::run::Hooks for ServerWatch {
    fn at_go(&mut self) {
        self.at_go = self.now();
    }
    fn window_start(&mut self) {
        self.start = self.now();
    }
    fn window_end(&mut self) {
        self.end = self.now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_name() {
        let line = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 1 1 1";
        assert_eq!(cpu_seconds(line), Some(300));
    }

    #[test]
    fn reads_own_process() {
        let s = sample(std::process::id()).expect("own /proc entry");
        assert!(s.rss > 0);
        assert!(s.cpu_s >= 0.0);
        assert_eq!(kib_field("VmRSS:\t  12 kB\n", "VmRSS:"), Some(12 * 1024));
    }
}
