//! What every scenario shares: the run plan, the per-thread context, and the
//! steps they all take (open a connection, ramp up, wait for the start, end
//! cleanly). Each scenario file holds only its own traffic and checks.

pub mod connect;
pub mod echo;
pub mod fanout;
pub mod idle;
pub mod storm;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::ops::Range;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use monoio::task::JoinHandle;
use ringcast_protocol::CloseCode;

use crate::cli::{Args, Scenario, Share, Target};
use crate::client::conn::{self, Conn, Dial, End};
use crate::client::payload::{self, Stamp};
use crate::client::registry::Registry;
use crate::client::signal::Signal;
use crate::client::tracker::SeqTracker;
use crate::live::Live;
use crate::stats::{Counters, Histos};

/// How long the server gets to answer our close frame at the end.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest unsent backlog per connection before a sender waits for the
/// socket (keeps a stalled server from growing our memory without bound).
pub const MAX_BACKLOG: usize = 4 << 20;

/// Everything the threads of one process share, read-only except the
/// start barrier.
pub struct Plan {
    /// The command line.
    pub args: Args,
    /// The parsed `--url`.
    pub target: Target,
    /// This process's part of the run.
    pub proc_share: Share,
    /// Clock base: payload timestamps are nanoseconds since this instant.
    pub base: Instant,
    /// Threads that finished connecting.
    pub ready: AtomicU32,
    /// When traffic starts, ns since `base` (0 = not yet).
    pub go_ns: AtomicU64,
}

impl Plan {
    /// Nanoseconds since the clock base.
    pub fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.base).as_nanos() as u64
    }

    /// The instant `ns` nanoseconds after the clock base.
    pub fn at(&self, ns: u64) -> Instant {
        self.base + Duration::from_nanos(ns)
    }
}

/// The phases of a run, fixed when traffic starts.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    /// Traffic starts (warm-up begins).
    pub go: Instant,
    /// The measured window starts.
    pub start: Instant,
    /// The measured window ends; senders stop.
    pub end: Instant,
}

impl Times {
    /// Whether `t` falls inside the measured window.
    #[inline]
    pub fn in_window(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }
}

/// One runtime thread's state: its share of the work, its sockets, its
/// counters. Single-threaded, so plain `Cell`/`RefCell`; borrows never cross
/// an `.await`.
pub struct ThreadCtx {
    /// The shared plan.
    pub plan: Arc<Plan>,
    /// This thread's part of the process's work.
    pub share: Share,
    /// Live figures for the sampler.
    pub live: Arc<Live>,
    /// This thread's sockets.
    pub reg: Rc<Registry>,
    /// Counters, summed over threads at the end.
    pub counters: RefCell<Counters>,
    /// Histograms, merged at the end.
    pub histos: RefCell<Histos>,
    times: Cell<Option<Times>>,
    rng: Cell<u64>,
    dialing: Cell<u32>,
    dialed: Cell<u64>,
    open: Cell<u64>,
    progress: Signal,
}

impl ThreadCtx {
    /// Context for thread `share` of the process.
    pub fn new(plan: Arc<Plan>, share: Share, live: Arc<Live>) -> ThreadCtx {
        let seed = plan.base.elapsed().as_nanos() as u64
            ^ (u64::from(share.i) << 32)
            ^ u64::from(plan.proc_share.i) << 48;
        ThreadCtx {
            plan,
            share,
            live,
            reg: Rc::new(Registry::default()),
            counters: RefCell::default(),
            histos: RefCell::default(),
            times: Cell::new(None),
            rng: Cell::new(seed | 1),
            dialing: Cell::new(0),
            dialed: Cell::new(0),
            open: Cell::new(0),
            progress: Signal::default(),
        }
    }

    /// The command line.
    pub fn args(&self) -> &Args {
        &self.plan.args
    }

    /// This thread's part of `0..total` (items numbered over all processes).
    pub fn my_range(&self, total: u64) -> Range<u64> {
        let p = self.plan.proc_share.range(total);
        let t = self.share.range(p.end - p.start);
        p.start + t.start..p.start + t.end
    }

    /// The phase times (after [`ThreadCtx::wait_go`]).
    pub fn times(&self) -> Times {
        self.times.get().expect("phase times are set at go")
    }

    /// The phase times, if traffic has started.
    pub fn started(&self) -> Option<Times> {
        self.times.get()
    }

    /// Connections of this thread open now.
    pub fn open_now(&self) -> u64 {
        self.open.get()
    }

    /// A pseudo-random u64 (xorshift; keys and masks need no more).
    pub fn rand(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }

    /// Tell the coordinator this thread is connected, then wait until
    /// traffic starts, and fix the phase times.
    pub async fn wait_go(&self) -> Times {
        self.plan.ready.fetch_add(1, Ordering::AcqRel);
        let go_ns = loop {
            let ns = self.plan.go_ns.load(Ordering::Acquire);
            if ns != 0 {
                break ns;
            }
            monoio::time::sleep(Duration::from_millis(1)).await;
        };
        let args = self.args();
        let go = self.plan.at(go_ns);
        let times = Times {
            go,
            start: go + args.warmup,
            end: go + args.warmup + args.duration,
        };
        self.times.set(Some(times));
        times
    }

    /// Open connection `gid` (numbered over the whole run) into `room`,
    /// counting the attempt, its outcome and its handshake time.
    pub async fn dial(&self, gid: u64, room: u64) -> Option<Conn> {
        let args = self.args();
        let target = &self.plan.target;
        let path = target.path_for(room);
        let source = args
            .source_ips
            .as_ref()
            .map(|ips| ips.0[(gid % ips.0.len() as u64) as usize]);
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&self.rand().to_le_bytes());
        key[8..].copy_from_slice(&self.rand().to_le_bytes());
        let t0 = Instant::now();
        let dial = Dial {
            addr: target.addr,
            host: &target.host,
            path: &path,
            source,
            deadline: t0 + args.timeout,
            key,
        };
        self.counters.borrow_mut().conns_attempted += 1;
        match conn::open(&self.reg, &dial).await {
            Ok(ws) => {
                let now = Instant::now();
                let mut c = self.counters.borrow_mut();
                c.conns_opened += 1;
                c.handshakes += 1;
                if self.times.get().is_some_and(|t| t.in_window(now)) {
                    c.handshakes_in_window += 1;
                }
                self.histos.borrow_mut().handshake.record(now - t0);
                self.open.set(self.open.get() + 1);
                Live::add(&self.live.open, 1);
                Live::add(&self.live.opened, 1);
                Some(Conn::start(ws, self.rand()))
            }
            Err(fail) => {
                Counters::bump(&mut self.counters.borrow_mut().conn_failures, &fail.0);
                Live::add(&self.live.failed, 1);
                None
            }
        }
    }

    /// Account for a connection whose read side ended with `end`, and
    /// release it. `expected`: we caused the end ourselves (storm drop).
    pub async fn ended(&self, conn: Conn, end: End, expected: bool) {
        self.open.set(self.open.get() - 1);
        Live::sub(&self.live.open, 1);
        // A close we started (end of run, connect cycle) is clean only when
        // the server answers it. A close the read loop queued (server
        // closed first, protocol error) means the server ended it.
        let we_closed = conn.writer.closing()
            && !matches!(end, End::Closed { by_peer: true, .. } | End::Protocol(_));
        if we_closed {
            if !matches!(end, End::Closed { by_peer: false, .. }) {
                self.counters.borrow_mut().unclean_closes += 1;
                self.error(&format!("unclean_close_{}", end.kind()));
            }
        } else if !expected {
            self.counters.borrow_mut().conns_dropped += 1;
            self.error(&end.kind());
        }
        conn.finish().await;
    }

    /// Count one error of `kind` on an open connection.
    pub fn error(&self, kind: &str) {
        Counters::bump(&mut self.counters.borrow_mut().errors, kind);
        Live::add(&self.live.errors, 1);
    }

    /// Note a delivery anomaly (corruption, loss, duplicate, reordering)
    /// for the live error count; the counters themselves say which.
    pub fn anomaly(&self) {
        Live::add(&self.live.errors, 1);
    }

    /// Count one message written at `now`; `intended` is its due time on a
    /// fixed schedule, if there is one (send lag is measured, like latency,
    /// for messages due inside the window).
    pub fn record_sent(&self, now: Instant, intended: Option<Instant>, times: Times) {
        let mut c = self.counters.borrow_mut();
        c.sent += 1;
        if times.in_window(now) {
            c.sent_in_window += 1;
        }
        Live::add(&self.live.sent, 1);
        if let Some(i) = intended.filter(|&i| times.in_window(i)) {
            self.histos
                .borrow_mut()
                .send_lag
                .record(now.saturating_duration_since(i));
        }
    }

    /// Check a received payload's integrity: its stamp when intact, else
    /// counted as corrupted.
    pub fn check(&self, p: &[u8]) -> Option<Stamp> {
        let stamp = payload::check(p);
        if stamp.is_none() {
            self.counters.borrow_mut().corrupted += 1;
            self.anomaly();
        }
        stamp
    }

    /// Count an intact message from a sender the receiver should never hear.
    pub fn misrouted(&self) {
        self.counters.borrow_mut().misrouted += 1;
        self.anomaly();
    }

    /// Count one intact, first-time delivery received at `now`, and its
    /// latency, from the intended and from the actual send time, when the
    /// intended time falls in the window.
    pub fn record_delivery(&self, stamp: Stamp, now: Instant, times: Times) {
        let mut c = self.counters.borrow_mut();
        c.received += 1;
        if times.in_window(now) {
            c.received_in_window += 1;
        }
        Live::add(&self.live.received, 1);
        let intended = self.plan.at(stamp.intended_ns);
        if times.in_window(intended) {
            let mut h = self.histos.borrow_mut();
            h.latency.record(now.saturating_duration_since(intended));
            h.service
                .record(now.saturating_duration_since(self.plan.at(stamp.sent_ns)));
        }
    }

    /// Add one receiver's view of one sender to the totals at the end:
    /// what it should have received (`sent`) and what it lost or got twice
    /// or out of order.
    pub fn settle(&self, tracker: &SeqTracker, sent: u64) {
        let mut c = self.counters.borrow_mut();
        c.expected += sent;
        c.lost += tracker.lost(sent);
        c.duplicated += tracker.duplicated;
        c.reordered += tracker.reordered;
    }

    /// Finish the loss count: a corrupted delivery was also missing from
    /// its receiver's tracker, and is counted as corrupted, not lost.
    pub fn settle_done(&self) {
        let mut c = self.counters.borrow_mut();
        c.lost = c.lost.saturating_sub(c.corrupted);
    }

    /// Open connections for `ids` at the `--ramp` rate with at most
    /// `--connect-concurrency` handshakes in flight; `body` then runs each
    /// upgraded connection to its end on its own task. Returns once every
    /// attempt has succeeded or failed, with the tasks to join at the end.
    pub async fn ramp<F, Fut>(
        self: &Rc<Self>,
        ids: Range<u64>,
        room_of: impl Fn(u64) -> u64,
        body: F,
    ) -> Vec<JoinHandle<()>>
    where
        F: Fn(Rc<ThreadCtx>, u64, Conn) -> Fut + Clone + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let args = self.args();
        let n = ids.end - ids.start;
        // This thread's share of the ramp rate.
        let total = args.total_conns().max(1) as f64;
        let rate = args.ramp * n as f64 / total;
        let limit = args.connect_concurrency;
        let t0 = Instant::now();
        let mut tasks = Vec::with_capacity(n as usize);
        let target = self.dialed.get() + n;
        for (i, gid) in ids.enumerate() {
            if rate > 0.0 {
                let due = t0 + Duration::from_secs_f64(i as f64 / rate);
                let now = Instant::now();
                if due > now {
                    monoio::time::sleep(due - now).await;
                }
            }
            while self.dialing.get() >= limit {
                self.progress.wait().await;
            }
            self.dialing.set(self.dialing.get() + 1);
            let ctx = self.clone();
            let room = room_of(gid);
            let body = body.clone();
            tasks.push(monoio::spawn(async move {
                let conn = ctx.dial(gid, room).await;
                ctx.dialing.set(ctx.dialing.get() - 1);
                ctx.dialed.set(ctx.dialed.get() + 1);
                ctx.progress.notify();
                if let Some(conn) = conn {
                    body(ctx, gid, conn).await;
                }
            }));
        }
        while self.dialed.get() < target {
            self.progress.wait().await;
        }
        tasks
    }

    /// The end of a run: close every connection, give the server
    /// [`CLOSE_TIMEOUT`] to answer, cut off the rest, and wait for every task.
    pub async fn close_all(&self, tasks: Vec<JoinHandle<()>>) {
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        self.reg.close_all(CloseCode::NORMAL, deadline);
        while !self.reg.is_empty() && Instant::now() < deadline {
            monoio::time::sleep(Duration::from_millis(5)).await;
        }
        self.reg.shutdown_all();
        for t in tasks {
            t.await;
        }
    }
}

/// A fixed-rate schedule: message `j` is due at `go + j / rate`, whatever
/// happens to earlier messages.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// When message 0 is due.
    pub go: Instant,
    /// Messages per second.
    pub rate: f64,
}

impl Schedule {
    /// When message `j` is due.
    pub fn due(&self, j: u64) -> Instant {
        self.go + Duration::from_secs_f64(j as f64 / self.rate)
    }
}

/// Drive `sched` until the window ends. Each wake-up calls
/// `send(j, due, now)` for every message due by now, in order; `send`
/// returns false to hold the schedule (a backed-up socket) and is asked again
/// a millisecond later. The timer's granularity (1 ms) shows up as send lag.
pub async fn pace(
    ctx: &ThreadCtx,
    sched: Schedule,
    times: Times,
    mut send: impl FnMut(u64, Instant, Instant) -> bool,
) {
    let mut j = 0u64;
    loop {
        let now = Instant::now();
        while sched.due(j) <= now && sched.due(j) < times.end {
            if !send(j, sched.due(j), now) {
                break;
            }
            j += 1;
        }
        ctx.counters.borrow_mut().scheduled = j;
        let next = sched.due(j);
        if next >= times.end {
            break;
        }
        sleep_until(next.max(now + Duration::from_millis(1))).await;
    }
    sleep_until(times.end).await;
}

/// Sleep until `t` (no-op when it has passed).
pub async fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        monoio::time::sleep(t - now).await;
    }
}

/// The per-thread sweep: enforce socket deadlines every few milliseconds
/// until `stop` is set.
pub async fn sweep(reg: Rc<Registry>, stop: Rc<Cell<bool>>) {
    while !stop.get() {
        monoio::time::sleep(Duration::from_millis(20)).await;
        reg.sweep(Instant::now());
    }
}

/// Run this thread's part of the scenario to completion.
pub async fn run_thread(ctx: Rc<ThreadCtx>) {
    let stop = Rc::new(Cell::new(false));
    let sweeper = monoio::spawn(sweep(ctx.reg.clone(), stop.clone()));
    match ctx.args().scenario {
        Scenario::Idle => idle::run(ctx.clone()).await,
        Scenario::Echo => echo::run(ctx.clone()).await,
        Scenario::Fanout => fanout::run(ctx.clone()).await,
        Scenario::Connect => connect::run(ctx.clone()).await,
        Scenario::Storm => storm::run(ctx.clone()).await,
    }
    stop.set(true);
    sweeper.await;
}
