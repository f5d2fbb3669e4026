//! Starting and stopping the engine: bind the listeners, start one thread
//! per shard, and drain them on request.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use crate::bus::{self, BusMessage, Inbox};
use crate::config::Config;
use crate::metrics::{self, ShardMetrics};
use crate::room::{RoomRegistry, MAX_SHARDS};
use crate::shard::{self, io as os};

/// Descriptors kept back from --max-connections for listeners, the
/// runtime's own files, stdio and logs.
const RESERVED_FDS: u64 = 64;

/// State every shard shares: configuration, counters, inboxes, rooms.
pub struct Shared {
    /// The configuration the server started with.
    pub config: Config,
    /// Counters, one block per shard.
    pub metrics: Vec<ShardMetrics>,
    /// Each shard's inbox, by shard index.
    pub inboxes: Vec<Inbox>,
    /// Which shards have members of which room.
    pub rooms: RoomRegistry,
    /// Sockets accepted and not yet closed, all shards (for --max-connections).
    pub open_sockets: AtomicUsize,
    /// True once a drain started.
    pub draining: AtomicBool,
    /// The driver the shards run on.
    pub driver: OnceLock<&'static str>,
    /// Resident bytes once the shards were up, before any connection.
    pub baseline_rss: AtomicU64,
}

impl Shared {
    /// The `/metrics` page.
    pub fn render_metrics(&self) -> String {
        let depths: Vec<usize> = self.inboxes.iter().map(Inbox::depth).collect();
        let baseline = self.baseline_rss.load(Ordering::Relaxed);
        metrics::render(&metrics::Snapshot {
            shards: &self.metrics,
            inbox_depths: &depths,
            driver: self.driver.get().copied().unwrap_or("starting"),
            resident_bytes: metrics::resident_bytes().map(|now| (now, baseline)),
            draining: self.draining.load(Ordering::Relaxed),
        })
    }
}

/// A running server.
pub struct Server {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    threads: Vec<JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Bind, start every shard, and return once all of them serve.
    pub fn start(config: Config) -> io::Result<Server> {
        crate::log::set_level(config.log_level);
        let cpus = os::allowed_cpus();
        let shards = match config.shards {
            0 => cpus.len().max(1),
            n => n,
        };
        if shards > MAX_SHARDS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("--shards {shards} is over the maximum of {MAX_SHARDS}"),
            ));
        }
        check_open_files(config.max_connections);
        if config.listen.port() != 0 && os::port_in_use(config.listen) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "{} is already served by another process; refusing to share it",
                    config.listen
                ),
            ));
        }
        let listeners = os::bind_listeners(config.listen, shards, 4096)?;
        let local_addr = listeners[0].local_addr()?;

        let (inboxes, receivers): (Vec<_>, Vec<_>) = (0..shards).map(|_| bus::inbox()).unzip();
        let shared = Arc::new(Shared {
            metrics: (0..shards).map(|_| ShardMetrics::default()).collect(),
            inboxes,
            rooms: RoomRegistry::default(),
            open_sockets: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            driver: OnceLock::new(),
            baseline_rss: AtomicU64::new(0),
            config,
        });

        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let mut threads = Vec::with_capacity(shards);
        for (index, (listener, receiver)) in listeners.into_iter().zip(receivers).enumerate() {
            let shared = shared.clone();
            let started = started_tx.clone();
            let cpu = shared
                .config
                .pin_cores
                .then(|| cpus.get(index % cpus.len().max(1)).copied())
                .flatten();
            let thread = std::thread::Builder::new()
                .name(format!("ringcast-shard-{index}"))
                .spawn(move || {
                    if let Some(cpu) = cpu {
                        if let Err(error) = os::pin_current_thread(cpu) {
                            crate::log!(Warn, "shard {index}: could not pin to CPU {cpu}: {error}");
                        }
                    }
                    shard::run(index, shared, listener, receiver, started)
                })?;
            threads.push(thread);
        }
        drop(started_tx);

        let server = Server {
            shared,
            local_addr,
            threads,
        };
        for _ in 0..shards {
            match started_rx.recv() {
                Ok(Ok(driver)) => {
                    let _ = server.shared.driver.set(driver.name());
                }
                Ok(Err(error)) => {
                    server.drain();
                    let _ = server.join();
                    return Err(error);
                }
                Err(_) => {
                    server.drain();
                    let _ = server.join();
                    return Err(io::Error::other("a shard thread exited during startup"));
                }
            }
        }
        server
            .shared
            .baseline_rss
            .store(metrics::resident_bytes().unwrap_or(0), Ordering::Relaxed);
        crate::log!(
            Info,
            "listening on {} with {} shards on {}",
            server.local_addr,
            shards,
            server.shared.driver.get().copied().unwrap_or("?")
        );
        Ok(server)
    }

    /// The address the listeners are bound to (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The state shared by the shards (metrics, configuration).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Begin the graceful shutdown: stop accepting, close every connection
    /// with 1001, flush, and let the shards exit within --drain-timeout.
    pub fn drain(&self) {
        if self.shared.draining.swap(true, Ordering::AcqRel) {
            return;
        }
        crate::log!(Info, "draining: closing connections with 1001 going away");
        for inbox in &self.shared.inboxes {
            inbox.send(BusMessage::Drain);
        }
    }

    /// Wait for every shard to finish. Returns the first shard error.
    pub fn join(self) -> io::Result<()> {
        let mut result = Ok(());
        for thread in self.threads {
            let outcome = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a shard thread panicked")));
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    }
}

/// Raise the soft open-files limit to the hard one and say plainly when the
/// limits allow fewer connections than --max-connections.
fn check_open_files(max_connections: usize) {
    match os::raise_nofile_limit() {
        Ok((soft, hard)) => {
            let allowed = soft.saturating_sub(RESERVED_FDS);
            if allowed < max_connections as u64 {
                crate::log!(
                    Warn,
                    "the open-files limit ({soft} soft, {hard} hard) allows about {allowed} connections, \
                     below --max-connections {max_connections}; run tuning/check --connections {max_connections} \
                     for what to change"
                );
            }
        }
        Err(error) => crate::log!(Warn, "could not read the open-files limit: {error}"),
    }
}
