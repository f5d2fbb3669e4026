//! A shard: one thread, one monoio runtime, one listener, and the
//! connections it accepted. Nothing here is shared with other shards except
//! the metrics it writes, the room registry on first join / last leave, and
//! the inboxes it sends broadcasts to.

mod accept;
mod conn;
pub mod io;
mod outbound;
mod slab;
mod sweep;
mod write;

use std::cell::{Cell, RefCell};
use std::net::TcpListener as StdListener;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ringcast_protocol::handshake::server::RequestLimits;
use ringcast_protocol::{FrameDecoder, MessageLimits, Role};

pub use slab::ConnId;

use crate::bus::{self, BusMessage, InboxReceiver};
use crate::metrics::ShardMetrics;
use crate::room::LocalRooms;
use crate::server::Shared;
use conn::Conn;
use io::{Driver, Listener};
use slab::Slab;

/// Size of the per-shard receive buffer every connection reads into.
pub const SCRATCH_BYTES: usize = 64 * 1024;

/// Most cross-shard messages handled before flushing writes.
const INBOX_BATCH: usize = 512;

/// One shard's state, owned by its thread and shared by its tasks through
/// an `Rc`. Cells are never borrowed across an await.
pub struct Shard {
    /// Shard number (its bit in room interest maps).
    pub index: usize,
    /// What all shards share.
    pub shared: Arc<Shared>,
    conns: RefCell<Slab<Conn>>,
    rooms: RefCell<LocalRooms>,
    scratch: RefCell<Box<[u8]>>,
    dirty: RefCell<Vec<ConnId>>,
    /// The connection whose reader task is running right now, if any: it
    /// can end its own connection without a shutdown and an EOF round.
    reading: Cell<Option<ConnId>>,
    started: Instant,
    /// Coarse clock in milliseconds since `started`, advanced by the sweep.
    clock: Cell<u32>,
    /// Reader and writer tasks still running (shutdown waits for zero).
    live_tasks: Cell<usize>,
    draining: Cell<bool>,
    stopping: Cell<bool>,
    listener: RefCell<Option<Rc<Listener>>>,
    decoder: FrameDecoder,
    message_limits: MessageLimits,
    request_limits: RequestLimits,
}

impl Shard {
    fn new(index: usize, shared: Arc<Shared>) -> Shard {
        let config = &shared.config;
        Shard {
            index,
            decoder: FrameDecoder::new(Role::Server, config.effective_max_frame_size() as u64),
            message_limits: MessageLimits {
                max_message_size: config.max_message_size,
                max_fragments: config.max_fragments,
            },
            request_limits: RequestLimits {
                max_header_bytes: config.max_header_bytes,
                max_headers: config.max_headers,
            },
            shared,
            conns: RefCell::default(),
            rooms: RefCell::default(),
            scratch: RefCell::new(vec![0; SCRATCH_BYTES].into_boxed_slice()),
            dirty: RefCell::default(),
            reading: Cell::new(None),
            started: Instant::now(),
            clock: Cell::new(0),
            live_tasks: Cell::new(0),
            draining: Cell::new(false),
            stopping: Cell::new(false),
            listener: RefCell::new(None),
        }
    }

    /// This shard's counters.
    pub fn metrics(&self) -> &ShardMetrics {
        &self.shared.metrics[self.index]
    }

    fn now(&self) -> u32 {
        self.clock.get()
    }

    fn tick_clock(&self) {
        self.clock
            .set(self.started.elapsed().as_millis().min(u32::MAX as u128) as u32);
    }

    fn task_started(&self) {
        self.live_tasks.set(self.live_tasks.get() + 1);
    }

    fn task_finished(&self) {
        self.live_tasks.set(self.live_tasks.get() - 1);
    }
}

/// Run shard `index` on the current thread until it has drained.
/// `started` is told once the runtime and listener are up.
pub fn run(
    index: usize,
    shared: Arc<Shared>,
    listener: StdListener,
    inbox: InboxReceiver,
    started: std::sync::mpsc::Sender<std::io::Result<Driver>>,
) -> std::io::Result<()> {
    let choice = shared.config.driver;
    let report_failure = started.clone();
    let outcome = io::run_shard(choice, |driver| async move {
        let shard = Rc::new(Shard::new(index, shared));
        let listener = match Listener::new(listener) {
            Ok(listener) => Rc::new(listener),
            Err(error) => {
                let _ = started.send(Err(error));
                return;
            }
        };
        *shard.listener.borrow_mut() = Some(listener.clone());
        shard.tick_clock();
        let _ = started.send(Ok(driver));
        monoio::spawn(accept::accept_loop(shard.clone(), listener));
        monoio::spawn(sweep::sweep_loop(shard.clone()));
        serve_inbox(&shard, &inbox).await;
        drain(&shard, &inbox).await;
    });
    if let Err(error) = &outcome {
        let _ = report_failure.send(Err(std::io::Error::new(error.kind(), error.to_string())));
    }
    outcome
}

/// Deliver cross-shard messages until a drain is requested.
async fn serve_inbox(shard: &Rc<Shard>, inbox: &InboxReceiver) {
    let sender = &shard.shared.inboxes[shard.index];
    let mut batch = Vec::with_capacity(INBOX_BATCH);
    loop {
        bus::ready(sender, inbox).await;
        inbox.drain_into(&mut batch, INBOX_BATCH);
        shard
            .metrics()
            .add(crate::metrics::Counter::InboxMessages, batch.len() as u64);
        let mut drain_requested = false;
        for message in batch.drain(..) {
            match message {
                BusMessage::Broadcast { room, frame } => shard.deliver_local(room, &frame, None),
                BusMessage::Drain => drain_requested = true,
            }
        }
        shard.flush_dirty();
        if drain_requested {
            return;
        }
    }
}

/// Graceful shutdown: stop accepting, send every connection close 1001,
/// give them `--drain-timeout` to finish, then cut the rest and wait until
/// every connection task has ended (so no socket outlives the runtime).
async fn drain(shard: &Rc<Shard>, inbox: &InboxReceiver) {
    shard.draining.set(true);
    if let Some(listener) = shard.listener.borrow_mut().take() {
        listener.shut_down();
    }
    shard.close_all_going_away();
    shard.flush_dirty();

    let tick = shard.shared.config.tick.min(Duration::from_millis(50));
    let deadline = Instant::now() + shard.shared.config.drain_timeout;
    let mut discarded = Vec::new();
    while shard.live_tasks.get() > 0 && Instant::now() < deadline {
        monoio::time::sleep(tick).await;
        // Broadcasts still arriving are for connections that are closing.
        inbox.drain_into(&mut discarded, usize::MAX);
        discarded.clear();
    }
    if shard.live_tasks.get() > 0 {
        crate::log!(
            Warn,
            "shard {}: {} tasks still open after the drain timeout; cutting them",
            shard.index,
            shard.live_tasks.get()
        );
        shard.cut_all();
        while shard.live_tasks.get() > 0 {
            monoio::time::sleep(tick).await;
        }
    }
    shard.stopping.set(true);
}
