//! Server configuration: every option is a flag with a `RINGCAST_*`
//! environment twin, a default that works on a fresh machine, and a note on
//! what it costs.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Which io driver each shard's runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriverChoice {
    /// io_uring when the kernel allows it, epoll otherwise.
    Auto,
    /// io_uring only: refuse to start without it.
    IoUring,
    /// epoll only (what containers with the default seccomp profile allow).
    Epoll,
}

/// What happens when a connection's queued outbound bytes pass
/// `--outbound-limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SlowConsumerPolicy {
    /// Close the connection with 1008 "slow consumer".
    Disconnect,
    /// Drop the oldest queued frames (never a partly written one) and count them.
    DropOldest,
}

/// ringcast: an io_uring WebSocket engine for high fan-out.
#[derive(Debug, Clone, Parser)]
#[command(name = "ringcast", version, about)]
pub struct Config {
    /// Address to listen on (one SO_REUSEPORT listener per shard).
    #[arg(long, env = "RINGCAST_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Number of shards (reactor threads). 0 means one per CPU the process
    /// may use. Each shard costs one thread, one io_uring instance and a
    /// 64 KiB receive buffer.
    #[arg(long, env = "RINGCAST_SHARDS", default_value_t = 0)]
    pub shards: usize,

    /// Pin shard k to the k-th CPU the process may use.
    #[arg(long, env = "RINGCAST_PIN_CORES", default_value_t = false)]
    pub pin_cores: bool,

    /// I/O driver: auto falls back to epoll when io_uring is unavailable.
    #[arg(long, env = "RINGCAST_DRIVER", value_enum, default_value_t = DriverChoice::Auto)]
    pub driver: DriverChoice,

    /// Most simultaneous connections (all shards); further accepts are
    /// closed at once and counted. Costs nothing until used.
    #[arg(long, env = "RINGCAST_MAX_CONNECTIONS", default_value_t = 1_000_000)]
    pub max_connections: usize,

    /// Largest message (after reassembly); over it: close 1009. A connection
    /// holds up to this much only while a fragmented message is in flight.
    #[arg(long, env = "RINGCAST_MAX_MESSAGE_SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub max_message_size: usize,

    /// Largest single frame; over it: close 1009. A connection holds up to
    /// this much only while a frame is partly received. 0 means the same as
    /// --max-message-size.
    #[arg(long, env = "RINGCAST_MAX_FRAME_SIZE", default_value = "0", value_parser = parse_size)]
    pub max_frame_size: usize,

    /// Most fragments one message may be split into; over it: close 1009.
    #[arg(long, env = "RINGCAST_MAX_FRAGMENTS", default_value_t = 1024)]
    pub max_fragments: usize,

    /// Most bytes queued for one connection before --slow-consumer applies.
    /// This is the worst-case outbound memory per connection.
    #[arg(long, env = "RINGCAST_OUTBOUND_LIMIT", default_value = "1MiB", value_parser = parse_size)]
    pub outbound_limit: usize,

    /// What to do with a connection over --outbound-limit.
    #[arg(long, env = "RINGCAST_SLOW_CONSUMER", value_enum, default_value_t = SlowConsumerPolicy::Disconnect)]
    pub slow_consumer: SlowConsumerPolicy,

    /// Send a ping after this much silence from a client. Costs one small
    /// frame per idle connection per interval.
    #[arg(long, env = "RINGCAST_PING_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// Close a connection still silent this long after its ping.
    #[arg(long, env = "RINGCAST_PONG_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub pong_timeout: Duration,

    /// Close connections that have not finished the upgrade in this time
    /// (slowloris). A handshaking connection holds up to 8 KiB.
    #[arg(long, env = "RINGCAST_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,

    /// After we send a close frame, wait this long for the peer's before
    /// dropping the TCP connection.
    #[arg(long, env = "RINGCAST_CLOSE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub close_timeout: Duration,

    /// On SIGTERM/SIGINT: how long connections get to finish the close
    /// handshake and flush before they are cut.
    #[arg(long, env = "RINGCAST_DRAIN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub drain_timeout: Duration,

    /// Granularity of heartbeats and deadlines: each shard sweeps its
    /// connection table once per tick.
    #[arg(long, env = "RINGCAST_TICK", default_value = "250ms", value_parser = parse_duration)]
    pub tick: Duration,

    /// Largest request head (request line and headers); over it: 431.
    #[arg(long, env = "RINGCAST_MAX_HEADER_BYTES", default_value = "8KiB", value_parser = parse_size)]
    pub max_header_bytes: usize,

    /// Most request headers; over it: 431.
    #[arg(long, env = "RINGCAST_MAX_HEADERS", default_value_t = 64)]
    pub max_headers: usize,

    /// Proxies whose X-Forwarded-For is believed (comma-separated IPs).
    /// Connections from other addresses are accounted under their own IP.
    #[arg(long, env = "RINGCAST_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,

    /// Log level: error, warn, info, debug.
    #[arg(long, env = "RINGCAST_LOG_LEVEL", default_value = "info")]
    pub log_level: crate::log::Level,
}

impl Config {
    /// Defaults for embedding and tests: port 0 on loopback, two shards.
    pub fn for_tests() -> Config {
        let mut config = Config::parse_from(["ringcast"]);
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        config.shards = 2;
        config.log_level = crate::log::Level::Warn;
        config
    }

    /// The frame size limit in force (`--max-frame-size`, or the message
    /// limit when unset).
    pub fn effective_max_frame_size(&self) -> usize {
        if self.max_frame_size == 0 {
            self.max_message_size
        } else {
            self.max_frame_size
        }
    }
}

/// Parse a byte size such as `65536`, `64KiB`, `1MiB`, `2GiB` (also `K`,
/// `KB`, `M`, `MB`, `G`, `GB`, all binary multiples).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number =
        usize::from_str(number).map_err(|_| format!("not a size: {text:?} (try 64KiB or 1MiB)"))?;
    let multiple: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} in {text:?}")),
    };
    number
        .checked_mul(multiple)
        .ok_or_else(|| format!("size too large: {text:?}"))
}

/// Parse a duration such as `250ms`, `30s`, `5m`, `1h` (a bare number is
/// seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number = u64::from_str(number)
        .map_err(|_| format!("not a duration: {text:?} (try 250ms or 30s)"))?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        other => Err(format!("unknown duration unit {other:?} in {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_units() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("1XB").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn durations_accept_ms_s_m_h() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn defaults_parse_without_arguments() {
        let config = Config::parse_from(["ringcast"]);
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(config.max_message_size, 1 << 20);
        assert_eq!(config.effective_max_frame_size(), 1 << 20);
    }
}
