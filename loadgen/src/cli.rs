//! Command line: the scenario, every flag, and the parsers for the flags'
//! small languages (durations, address ranges, CPU lists).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Open `--conns` connections at `--ramp`, hold them, count survivors and
    /// (with `--server-pid`) the server's resident bytes per connection.
    Idle,
    /// `--conns` connections, `--window` messages in flight each, at a total
    /// `--rate` (0 = as fast as replies come back).
    Echo,
    /// `--rooms` rooms of `--subs` members, `--pubs` publishers per room at a
    /// total `--rate`; every delivery is checked.
    Fanout,
    /// `--conns` concurrent connectors opening and closing for `--duration`.
    Connect,
    /// `--conns` clients connected; after `--warmup` all drop at once and
    /// reconnect; `--duration` bounds how long they may take.
    Storm,
}

impl Scenario {
    /// Lower-case name, as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Idle => "idle",
            Scenario::Echo => "echo",
            Scenario::Fanout => "fanout",
            Scenario::Connect => "connect",
            Scenario::Storm => "storm",
        }
    }
}

/// `ringcast-load <scenario> --url ws://host:port/path [flags]`
#[derive(Debug, Clone, Parser)]
#[command(
    name = "ringcast-load",
    version,
    about = "WebSocket load generator: idle, echo, fanout, connect, storm."
)]
pub struct Args {
    /// Scenario to run.
    #[arg(value_enum)]
    pub scenario: Scenario,

    /// Target, `ws://host:port/path?query`. `{room}` is replaced by the room
    /// number (0..rooms) of each connection.
    #[arg(long, env = "RINGCAST_LOAD_URL")]
    pub url: String,

    /// Connections (idle, echo, storm) or concurrent connectors (connect).
    /// Fanout uses rooms x subs instead.
    #[arg(long, default_value_t = 100)]
    pub conns: u64,

    /// Rooms (fanout; other scenarios spread connections over `{room}`).
    #[arg(long, default_value_t = 10)]
    pub rooms: u64,

    /// Members per room, publishers included (fanout).
    #[arg(long, default_value_t = 10)]
    pub subs: u64,

    /// Publishers per room, the first members of it (fanout).
    #[arg(long, default_value_t = 1)]
    pub pubs: u64,

    /// Total messages per second over all publishers (fanout) or connections
    /// (echo), on a fixed schedule; 0 = unlimited (echo: closed loop).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,

    /// Message payload bytes (at least 40: the checked header).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(40..=16_777_216))]
    pub payload: u32,

    /// Messages in flight per connection (echo).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub window: u32,

    /// Length of the measured window (idle: hold time; storm: the time the
    /// clients have to come back). `10`, `10s`, `500ms`, `2m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Traffic before the measured window, not counted in rates or
    /// latencies (storm: quiet time before the drop).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,

    /// How long in-flight messages may take to arrive after sending stops.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub grace: Duration,

    /// TCP connect + upgrade deadline per connection.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// New connections per second while connecting (0 = as fast as
    /// `--connect-concurrency` allows).
    #[arg(long, default_value_t = 0.0)]
    pub ramp: f64,

    /// Handshakes in progress at once per thread while connecting.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub connect_concurrency: u32,

    /// Generator threads per process, each with its own runtime.
    #[arg(long, default_value_t = default_threads(), value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: u32,

    /// Worker processes (each below the per-process open-file limit).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub procs: u32,

    /// Local source addresses, `127.0.0.1-127.0.0.8` or a comma list;
    /// connections are spread over them so ephemeral ports are not the limit.
    #[arg(long, value_parser = parse_ip_list)]
    pub source_ips: Option<IpList>,

    /// Pin generator threads to these CPUs, `0-3` or `0,2`.
    #[arg(long, value_parser = parse_cpu_list)]
    pub cpu: Option<CpuList>,

    /// Server process to watch: CPU seconds and resident memory.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Print the result as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Print a per-second timeline after the summary.
    #[arg(long)]
    pub timeline: bool,

    /// Internal: run as worker `i/K` of a `--procs K` run.
    #[arg(long, hide = true, value_parser = parse_worker)]
    pub worker: Option<Share>,
}

fn default_threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

impl Args {
    /// Connections this scenario opens in total (all processes).
    pub fn total_conns(&self) -> u64 {
        match self.scenario {
            Scenario::Fanout => self.rooms * self.subs,
            _ => self.conns,
        }
    }

    /// Check combinations clap cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.scenario == Scenario::Fanout {
            if self.rooms == 0 || self.subs == 0 {
                return Err("--rooms and --subs must be at least 1".into());
            }
            if self.pubs == 0 || self.pubs > self.subs {
                return Err("--pubs must be between 1 and --subs".into());
            }
            if self.rate <= 0.0 {
                return Err("fanout needs a fixed --rate > 0".into());
            }
        } else if self.conns == 0 {
            return Err("--conns must be at least 1".into());
        }
        let ok = |v: f64| v >= 0.0 && v.is_finite();
        if !ok(self.rate) || !ok(self.ramp) {
            return Err("--rate and --ramp must be finite and >= 0".into());
        }
        if self.duration.is_zero() {
            return Err("--duration must be > 0".into());
        }
        Target::parse(&self.url).map(|_| ())
    }
}

/// One part of a split: index `i` of `k` (a worker process or a thread).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// This part, 0-based.
    pub i: u32,
    /// Number of parts.
    pub k: u32,
}

impl Share {
    /// The whole: one part of one.
    pub const WHOLE: Share = Share { i: 0, k: 1 };

    /// The half-open range of `0..total` this part owns; parts differ in size
    /// by at most one.
    pub fn range(self, total: u64) -> std::ops::Range<u64> {
        let (i, k) = (self.i as u64, self.k as u64);
        let base = total / k;
        let extra = total % k;
        let start = i * base + i.min(extra);
        let len = base + u64::from(i < extra);
        start..start + len
    }
}

fn parse_worker(s: &str) -> Result<Share, String> {
    let (i, k) = s.split_once('/').ok_or("expected i/K")?;
    let i: u32 = i.parse().map_err(|_| "bad worker index")?;
    let k: u32 = k.parse().map_err(|_| "bad worker count")?;
    if k == 0 || i >= k {
        return Err("worker index out of range".into());
    }
    Ok(Share { i, k })
}

/// Parse `250ms`, `10s`, `2m`, or a bare number of seconds (`1.5`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("bad duration {s:?}"))?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(format!("bad duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}

/// Source addresses to spread connections over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpList(pub Vec<IpAddr>);

/// Parse `127.0.0.1-127.0.0.8` (IPv4 range), or a comma list of addresses
/// and ranges.
pub fn parse_ip_list(s: &str) -> Result<IpList, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once('-') {
            let a: Ipv4Addr = a.trim().parse().map_err(|_| format!("bad address {a:?}"))?;
            let b: Ipv4Addr = b.trim().parse().map_err(|_| format!("bad address {b:?}"))?;
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a || b - a >= 65_536 {
                return Err(format!("bad range {part:?}"));
            }
            out.extend((a..=b).map(|v| IpAddr::V4(Ipv4Addr::from(v))));
        } else {
            out.push(part.parse().map_err(|_| format!("bad address {part:?}"))?);
        }
    }
    if out.is_empty() {
        return Err("empty address list".into());
    }
    Ok(IpList(out))
}

/// CPUs to pin threads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

/// Parse `0-3`, `0,2,5` or a mix.
pub fn parse_cpu_list(s: &str) -> Result<CpuList, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("bad cpu list {s:?}");
        if let Some((a, b)) = part.split_once('-') {
            let a: usize = a.parse().map_err(|_| bad())?;
            let b: usize = b.parse().map_err(|_| bad())?;
            if b < a || b >= 1024 {
                return Err(bad());
            }
            out.extend(a..=b);
        } else {
            out.push(part.parse().map_err(|_| bad())?);
        }
    }
    if out.is_empty() || out.iter().any(|&c| c >= 1024) {
        return Err(format!("bad cpu list {s:?}"));
    }
    Ok(CpuList(out))
}

/// The parsed `--url`: where to connect and what to ask for.
#[derive(Debug, Clone)]
pub struct Target {
    /// Resolved server address.
    pub addr: SocketAddr,
    /// `Host` header value (host, plus port when given).
    pub host: String,
    /// Path and query, possibly containing `{room}`.
    pub path: String,
}

impl Target {
    /// Parse and resolve a `ws://` URL (IPv4 preferred, resolved once).
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url.strip_prefix("ws://").ok_or_else(|| {
            format!("--url must start with ws:// (wss is not supported): {url:?}")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("--url has no host: {url:?}"));
        }
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addrs: Vec<SocketAddr> = with_port
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {authority:?}: {e}"))?
            .collect();
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| format!("{authority:?} resolves to nothing"))?;
        Ok(Target {
            addr,
            host: authority.to_string(),
            path: path.to_string(),
        })
    }

    /// The request path for connection in room `room`.
    pub fn path_for(&self, room: u64) -> String {
        if self.path.contains("{room}") {
            self.path.replace("{room}", &room.to_string())
        } else {
            self.path.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_everything_once() {
        for total in [0u64, 1, 7, 100, 101] {
            for k in 1..6u32 {
                let mut next = 0;
                for i in 0..k {
                    let r = Share { i, k }.range(total);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
    }

    #[test]
    fn parses_flag_languages() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("x").is_err());
        let ips = parse_ip_list("127.0.0.1-127.0.0.3,::1").unwrap();
        assert_eq!(ips.0.len(), 4);
        assert!(parse_ip_list("127.0.0.3-127.0.0.1").is_err());
        assert_eq!(parse_cpu_list("0-2,5").unwrap().0, vec![0, 1, 2, 5]);
        assert_eq!(parse_worker("1/3").unwrap(), Share { i: 1, k: 3 });
        assert!(parse_worker("3/3").is_err());
    }

    #[test]
    fn parses_urls() {
        let t = Target::parse("ws://127.0.0.1:9001/room/{room}?x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(t.host, "127.0.0.1:9001");
        assert_eq!(t.path_for(7), "/room/7?x=1");
        assert_eq!(Target::parse("ws://127.0.0.1").unwrap().path, "/");
        assert!(Target::parse("wss://127.0.0.1/").is_err());
    }
}
