//! The end of a run: turn merged results and server readings into a verdict
//! (clean or not, and why), derived figures (rates, CPU per unit of work,
//! bytes per connection, whether the generator was the bottleneck), and
//! print them as a table or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::{Args, Scenario};
use crate::procstat::ServerWatch;
use crate::stats::{Counters, ProcessResult, Summary, Tick};
use crate::sys;

/// Generator CPU use, as a share of its threads' capacity, from which the
/// generator counts as the bottleneck.
const GENERATOR_BOUND: f64 = 0.90;
/// Machine-wide CPU use (generator + server) from which the machine counts
/// as saturated.
const MACHINE_SATURATED: f64 = 0.90;
/// Publishers count as behind schedule when their p99 send lag exceeds this.
const BEHIND_LAG_US: u64 = 5_000;

/// Everything a run reports; serialized as-is for `--json`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: Scenario,
    /// Target URL.
    pub url: String,
    /// No loss, corruption, duplicates, reordering, failures or errors.
    pub clean: bool,
    /// Why the run is not clean (empty when clean).
    pub problems: Vec<String>,
    /// Caveats that do not make the run unclean (generator-bound, behind
    /// schedule, machine saturated).
    pub notes: Vec<String>,
    /// The parameters that shape the load.
    pub config: Config,
    /// The I/O driver the generator ran on.
    pub driver: String,
    /// Length of the measured window, seconds.
    pub window_s: f64,
    /// Every counter, summed over threads and processes.
    pub counters: Counters,
    /// Rates over the window.
    pub rates: Rates,
    /// Delivery / round-trip latency from the intended send time (µs).
    pub latency_us: Summary,
    /// The same from the actual send time (µs).
    pub service_us: Summary,
    /// Lateness of sends against the schedule (µs).
    pub send_lag_us: Summary,
    /// TCP connect + upgrade time, every upgrade of the run (µs).
    pub handshake_us: Summary,
    /// Storm: time from the drop to being upgraded again (µs).
    pub reconnect_us: Summary,
    /// Storm: seconds until every client was back (`None` if some never were).
    pub storm_all_back_s: Option<f64>,
    /// The server, with `--server-pid`.
    pub server: Option<ServerReport>,
    /// The generator's own CPU use.
    pub generator: GeneratorReport,
    /// Per-second timeline from the start of traffic.
    pub timeline: Vec<Tick>,
}

/// The load parameters.
#[derive(Debug, Serialize)]
pub struct Config {
    /// `--conns` (idle, echo, connect, storm).
    pub conns: u64,
    /// `--rooms`.
    pub rooms: u64,
    /// `--subs`.
    pub subs: u64,
    /// `--pubs`.
    pub pubs: u64,
    /// `--rate` (0 = unlimited).
    pub rate: f64,
    /// `--payload` bytes.
    pub payload: u32,
    /// `--window`.
    pub window: u32,
    /// `--warmup` seconds.
    pub warmup_s: f64,
    /// `--threads` per process.
    pub threads: u32,
    /// `--procs`.
    pub procs: u32,
    /// Number of `--source-ips`.
    pub source_ips: usize,
}

/// Rates over the measured window.
#[derive(Debug, Serialize)]
pub struct Rates {
    /// Messages sent per second.
    pub sent_per_s: f64,
    /// Deliveries (fanout) or round trips (echo) per second.
    pub received_per_s: f64,
    /// Upgrades per second.
    pub handshakes_per_s: f64,
}

/// The watched server.
#[derive(Debug, Serialize)]
pub struct ServerReport {
    /// Its pid.
    pub pid: u32,
    /// Whether it was still there at the end of the window.
    pub alive: bool,
    /// CPU seconds used in the window.
    pub cpu_s: f64,
    /// The same as a percentage of one core.
    pub cpu_pct: f64,
    /// CPU microseconds per unit of work (delivery, round trip, handshake).
    pub cpu_us_per_unit: Option<f64>,
    /// What the unit is.
    pub unit: &'static str,
    /// Resident bytes before the first connection.
    pub rss_before: u64,
    /// Resident bytes when traffic started.
    pub rss_at_go: u64,
    /// Resident bytes at the end of the window.
    pub rss_end: u64,
    /// (end - before) / connections up at the end (idle, storm).
    pub rss_per_conn: Option<f64>,
    /// The same from proportional set size (`smaps_rollup` Pss).
    pub pss_per_conn: Option<f64>,
    /// All readings.
    pub samples: ServerWatch,
}

/// The generator's own CPU.
#[derive(Debug, Serialize)]
pub struct GeneratorReport {
    /// CPU seconds over the window, all processes.
    pub cpu_s: f64,
    /// Its threads' capacity over the window: threads x procs x window.
    pub capacity_s: f64,
    /// cpu_s / capacity_s.
    pub load: f64,
    /// The generator, not the server, limited the run.
    pub bound: bool,
    /// Publishers / senders fell behind their fixed schedule.
    pub behind_schedule: bool,
}

/// Judge and summarise a run.
pub fn build(args: &Args, r: &ProcessResult, server: &ServerWatch) -> Report {
    let c = &r.counters;
    let window = args.duration.as_secs_f64();
    let per_s = |n: u64| n as f64 / window;
    let latency = r.histos.latency.summary();
    let send_lag = r.histos.send_lag.summary();
    let reconnect = r.histos.reconnect.summary();

    let mut problems = Vec::new();
    let fails = Counters::total(&c.conn_failures);
    if fails > 0 {
        problems.push(format!(
            "{fails} connection attempts failed ({})",
            kinds(&c.conn_failures)
        ));
    }
    if c.conns_dropped > 0 {
        problems.push(format!(
            "{} connections dropped during the run",
            c.conns_dropped
        ));
    }
    let errs = Counters::total(&c.errors);
    if errs > 0 {
        problems.push(format!("{errs} errors ({})", kinds(&c.errors)));
    }
    for (n, what) in [
        (c.lost, "lost"),
        (c.duplicated, "duplicated"),
        (c.reordered, "reordered"),
        (c.corrupted, "corrupted"),
        (c.misrouted, "misrouted"),
    ] {
        if n > 0 {
            problems.push(format!("{n} messages {what}"));
        }
    }
    match args.scenario {
        Scenario::Echo | Scenario::Fanout if c.received == 0 => {
            problems.push("no message came back".into())
        }
        Scenario::Idle if c.stayed_up < args.conns => {
            problems.push(format!(
                "{} of {} connections stayed up",
                c.stayed_up, args.conns
            ));
        }
        Scenario::Connect if c.handshakes_in_window == 0 => {
            problems.push("no handshake completed in the window".into())
        }
        Scenario::Storm if c.not_back > 0 => {
            problems.push(format!(
                "{} clients were not back when the window ended",
                c.not_back
            ));
        }
        _ => {}
    }

    let server_report = server
        .pid
        .map(|pid| server_report(pid, args, c, server, window));
    if let Some(s) = &server_report {
        if !s.alive {
            problems.push(format!(
                "server process {pid} was gone at the end of the window",
                pid = s.pid
            ));
        }
    }

    let capacity = f64::from(r.threads.max(1)) * window;
    let load = r.cpu_s / capacity;
    let behind = matches!(args.scenario, Scenario::Fanout | Scenario::Echo)
        && args.rate > 0.0
        && (send_lag.p99 > BEHIND_LAG_US || (c.sent < c.scheduled && c.conns_dropped == 0));
    let mut notes = Vec::new();
    let bound = load >= GENERATOR_BOUND;
    if bound {
        notes.push(format!(
            "generator-bound: it used {:.0}% of its {} threads; the server may have more headroom than measured",
            load * 100.0,
            r.threads
        ));
    }
    if let Some(s) = &server_report {
        let cpus = sys::online_cpus() as f64;
        let total = (s.cpu_s + r.cpu_s) / (cpus * window);
        if total >= MACHINE_SATURATED {
            notes.push(format!(
                "machine saturated: server {:.0}% + generator {:.0}% of {cpus} CPUs; {} used more",
                s.cpu_s / window * 100.0,
                r.cpu_s / window * 100.0,
                if r.cpu_s >= s.cpu_s {
                    "the generator"
                } else {
                    "the server"
                }
            ));
        }
    }
    if behind {
        notes.push(format!(
            "senders fell behind schedule: {} of {} scheduled messages sent, p99 send lag {} µs (latencies still count from the schedule)",
            c.sent, c.scheduled, send_lag.p99
        ));
    }

    Report {
        scenario: args.scenario,
        url: args.url.clone(),
        clean: problems.is_empty(),
        problems,
        notes,
        config: Config {
            conns: args.conns,
            rooms: args.rooms,
            subs: args.subs,
            pubs: args.pubs,
            rate: args.rate,
            payload: args.payload,
            window: args.window,
            warmup_s: args.warmup.as_secs_f64(),
            threads: args.threads,
            procs: args.procs,
            source_ips: args.source_ips.as_ref().map_or(0, |l| l.0.len()),
        },
        driver: r.driver.clone(),
        window_s: window,
        counters: c.clone(),
        rates: Rates {
            sent_per_s: per_s(c.sent_in_window),
            received_per_s: per_s(c.received_in_window),
            handshakes_per_s: per_s(c.handshakes_in_window),
        },
        latency_us: latency,
        service_us: r.histos.service.summary(),
        send_lag_us: send_lag,
        handshake_us: r.histos.handshake.summary(),
        reconnect_us: reconnect,
        storm_all_back_s: (args.scenario == Scenario::Storm
            && c.not_back == 0
            && reconnect.count > 0)
            .then(|| reconnect.max as f64 / 1e6),
        server: server_report,
        generator: GeneratorReport {
            cpu_s: r.cpu_s,
            capacity_s: capacity,
            load,
            bound,
            behind_schedule: behind,
        },
        timeline: r.timeline.clone(),
    }
}

fn server_report(
    pid: u32,
    args: &Args,
    c: &Counters,
    w: &ServerWatch,
    window: f64,
) -> ServerReport {
    let cpu_s = match (w.start, w.end) {
        (Some(a), Some(b)) => b.cpu_s - a.cpu_s,
        _ => 0.0,
    };
    let (units, unit) = match args.scenario {
        Scenario::Fanout => (c.received_in_window, "delivery"),
        Scenario::Echo => (c.received_in_window, "round trip"),
        Scenario::Connect | Scenario::Storm => (c.handshakes_in_window, "handshake"),
        Scenario::Idle => (0, "-"),
    };
    let per_conn = |f: fn(&crate::procstat::ProcSample) -> u64| match (w.before, w.end) {
        (Some(a), Some(b))
            if matches!(args.scenario, Scenario::Idle | Scenario::Storm) && c.stayed_up > 0 =>
        {
            Some((f(&b) as f64 - f(&a) as f64) / c.stayed_up as f64)
        }
        _ => None,
    };
    ServerReport {
        pid,
        alive: w.end.is_some(),
        cpu_s,
        cpu_pct: cpu_s / window * 100.0,
        cpu_us_per_unit: (units > 0).then(|| cpu_s * 1e6 / units as f64),
        unit,
        rss_before: w.before.map_or(0, |s| s.rss),
        rss_at_go: w.at_go.map_or(0, |s| s.rss),
        rss_end: w.end.map_or(0, |s| s.rss),
        rss_per_conn: per_conn(|s| s.rss),
        pss_per_conn: per_conn(|s| s.pss).filter(|_| w.end.is_some_and(|s| s.pss > 0)),
        samples: w.clone(),
    }
}

fn kinds(map: &std::collections::BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

fn latency_row(out: &mut String, name: &str, s: &Summary) {
    if s.count > 0 {
        let _ = writeln!(
            out,
            "  {name:<14} p50 {} ms  p90 {} ms  p99 {} ms  p99.9 {} ms  max {} ms  (n={})",
            ms(s.p50),
            ms(s.p90),
            ms(s.p99),
            ms(s.p999),
            ms(s.max),
            s.count
        );
    }
}

/// The human-readable summary.
pub fn table(rep: &Report, with_timeline: bool) -> String {
    let c = &rep.counters;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "ringcast-load {} {}  ({} threads x {} procs, {}, window {:.1}s)",
        rep.scenario.name(),
        rep.url,
        rep.config.threads,
        rep.config.procs,
        rep.driver,
        rep.window_s
    );
    let _ = writeln!(o, "connections");
    let _ = writeln!(
        o,
        "  attempted {}  opened {}  failed {}  dropped {}  unclean closes {}",
        c.conns_attempted,
        c.conns_opened,
        Counters::total(&c.conn_failures),
        c.conns_dropped,
        c.unclean_closes
    );
    if !c.conn_failures.is_empty() {
        let _ = writeln!(o, "  failures: {}", kinds(&c.conn_failures));
    }
    if !c.errors.is_empty() {
        let _ = writeln!(o, "  errors:   {}", kinds(&c.errors));
    }
    match rep.scenario {
        Scenario::Idle => {
            let _ = writeln!(o, "  stayed up {} of {}", c.stayed_up, rep.config.conns);
        }
        Scenario::Storm => {
            let _ = writeln!(
                o,
                "  reconnected {}  not back {}  still up at end {}",
                c.reconnected, c.not_back, c.stayed_up
            );
            if let Some(s) = rep.storm_all_back_s {
                let _ = writeln!(o, "  all back after {s:.3} s");
            }
        }
        _ => {}
    }
    if matches!(rep.scenario, Scenario::Connect | Scenario::Storm) {
        let _ = writeln!(
            o,
            "  handshakes {} ({:.0}/s in window)",
            c.handshakes, rep.rates.handshakes_per_s
        );
    }
    latency_row(&mut o, "upgrade time", &rep.handshake_us);
    latency_row(&mut o, "reconnect", &rep.reconnect_us);
    if matches!(rep.scenario, Scenario::Echo | Scenario::Fanout) {
        let what = if rep.scenario == Scenario::Echo {
            "round trips"
        } else {
            "deliveries"
        };
        let _ = writeln!(o, "messages");
        let _ = writeln!(
            o,
            "  sent {} ({:.0}/s)  {what} {} ({:.0}/s)  expected {}",
            c.sent, rep.rates.sent_per_s, c.received, rep.rates.received_per_s, c.expected
        );
        let _ = writeln!(
            o,
            "  lost {}  duplicated {}  reordered {}  corrupted {}  misrouted {}",
            c.lost, c.duplicated, c.reordered, c.corrupted, c.misrouted
        );
        latency_row(&mut o, "latency", &rep.latency_us);
        latency_row(&mut o, "  from send", &rep.service_us);
        latency_row(&mut o, "send lag", &rep.send_lag_us);
    }
    if let Some(s) = &rep.server {
        let _ = writeln!(o, "server (pid {})", s.pid);
        let per = s
            .cpu_us_per_unit
            .map(|u| format!("  {u:.2} µs CPU per {}", s.unit))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  cpu {:.2}s ({:.0}% of a core){per}",
            s.cpu_s, s.cpu_pct
        );
        let _ = writeln!(
            o,
            "  rss before {} KiB  at start {} KiB  at end {} KiB",
            s.rss_before / 1024,
            s.rss_at_go / 1024,
            s.rss_end / 1024
        );
        if let Some(b) = s.rss_per_conn {
            let pss = s
                .pss_per_conn
                .map(|p| format!(" (pss {p:.0})"))
                .unwrap_or_default();
            let _ = writeln!(o, "  resident bytes per connection {b:.0}{pss}");
        }
    }
    let g = &rep.generator;
    let _ = writeln!(o, "generator");
    let _ = writeln!(
        o,
        "  cpu {:.2}s of {:.1}s capacity ({:.0}%)",
        g.cpu_s,
        g.capacity_s,
        g.load * 100.0
    );
    for n in &rep.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    if with_timeline {
        let _ = writeln!(o, "timeline");
        let _ = writeln!(
            o,
            "  {:>5} {:>9} {:>10} {:>10} {:>8} {:>7}",
            "s", "open", "sent/s", "recv/s", "hs/s", "errors"
        );
        for t in &rep.timeline {
            let _ = writeln!(
                o,
                "  {:>5} {:>9} {:>10} {:>10} {:>8} {:>7}",
                t.t, t.open, t.sent, t.received, t.handshakes, t.errors
            );
        }
    }
    if rep.clean {
        let _ = writeln!(o, "result: clean");
    } else {
        let _ = writeln!(o, "result: NOT CLEAN");
        for p in &rep.problems {
            let _ = writeln!(o, "  - {p}");
        }
    }
    o
}
