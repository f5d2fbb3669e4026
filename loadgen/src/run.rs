//! One process's run: start the runtime threads (one monoio runtime each,
//! built explicitly with the fusion driver, io_uring or epoll), hold them at
//! the start line until all are connected, release them together, and
//! sample the live counters once a second for the timeline and progress
//! line until they finish.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use monoio::{FusionDriver, RuntimeBuilder};

use crate::cli::{Args, Share, Target};
use crate::live::{self, Live};
use crate::scenario::{self, Plan, ThreadCtx, CLOSE_TIMEOUT};
use crate::stats::{Counters, Histos, ProcessResult};
use crate::sys;

/// Moments of a run the caller wants to act on (sample the server, talk to
/// the parent process).
pub trait Hooks {
    /// Every thread has finished connecting; return when traffic may start.
    fn ready(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Traffic started (warm-up begins).
    fn at_go(&mut self) {}
    /// The measured window starts.
    fn window_start(&mut self) {}
    /// The measured window ends.
    fn window_end(&mut self) {}
}

type ThreadOutput = (Counters, Histos, &'static str);

/// Run process part `share` of the scenario with `args.threads` threads.
pub fn run_process(
    args: &Args,
    share: Share,
    hooks: &mut dyn Hooks,
    show_progress: bool,
) -> Result<ProcessResult, String> {
    let target = Target::parse(&args.url)?;
    let threads = args.threads;
    let my_conns = share.range(args.total_conns()).count() as u64;
    let nofile = sys::raise_nofile();
    if my_conns + 64 > nofile {
        eprintln!(
            "ringcast-load: {my_conns} connections in one process exceed its open-file limit ({nofile}); use --procs {}",
            (args.total_conns() + nofile - 65) / (nofile.max(128) - 64)
        );
    }
    let plan = Arc::new(Plan {
        args: args.clone(),
        target,
        proc_share: share,
        base: Instant::now(),
        ready: AtomicU32::new(0),
        go_ns: AtomicU64::new(0),
    });
    let lives: Vec<Arc<Live>> = (0..threads).map(|_| Arc::new(Live::default())).collect();
    let handles = (0..threads)
        .map(|i| {
            spawn_thread(
                plan.clone(),
                Share { i, k: threads },
                lives[i as usize].clone(),
            )
        })
        .collect::<Result<Vec<_>, String>>()?;

    let name = args.scenario.name();
    let t0 = Instant::now();
    let all_done = |h: &[JoinHandle<_>]| h.iter().all(|h| h.is_finished());
    // Connecting: until every thread reports ready (or died).
    let mut shown = t0;
    while plan.ready.load(Ordering::Acquire) < threads && !all_done(&handles) {
        std::thread::sleep(Duration::from_millis(5));
        if show_progress && shown.elapsed() >= Duration::from_millis(500) {
            shown = Instant::now();
            let s = live::snapshot(&lives);
            live::progress(
                name,
                "connect",
                t0.elapsed().as_secs_f64(),
                &s,
                &Default::default(),
            );
        }
    }
    hooks.ready()?;
    let go = Instant::now();
    plan.go_ns.store(plan.ns(go).max(1), Ordering::Release);
    hooks.at_go();

    let start = go + args.warmup;
    let end = start + args.duration;
    // Bounded by construction (deadlines, grace, close timeout); this is the
    // backstop should a bug keep a thread alive.
    let hard_deadline = end + args.grace + CLOSE_TIMEOUT + args.timeout + Duration::from_secs(10);
    let (mut started, mut ended) = (false, false);
    let mut cpu0 = 0.0;
    let mut cpu_s = 0.0;
    let mut timeline = Vec::new();
    let mut prev = live::snapshot(&lives);
    let mut next_tick = go + Duration::from_secs(1);
    while !all_done(&handles) || !ended {
        let now = Instant::now();
        if !started && now >= start {
            started = true;
            cpu0 = sys::own_cpu_seconds();
            hooks.window_start();
        }
        if !ended && now >= end {
            ended = true;
            cpu_s = sys::own_cpu_seconds() - cpu0;
            hooks.window_end();
        }
        if now >= next_tick {
            let snap = live::snapshot(&lives);
            let tick = snap.tick(&prev, timeline.len() as u32 + 1);
            timeline.push(tick);
            prev = snap;
            next_tick += Duration::from_secs(1);
            if show_progress {
                let phase = if !started {
                    "warmup"
                } else if !ended {
                    "measure"
                } else {
                    "finish"
                };
                live::progress(name, phase, (now - go).as_secs_f64(), &snap, &tick);
            }
        }
        if now > hard_deadline {
            eprintln!("\nringcast-load: run exceeded its hard deadline; aborting");
            std::process::exit(4);
        }
        let mut wake = next_tick.min(now + Duration::from_millis(50));
        for t in [start, end] {
            if t > now {
                wake = wake.min(t);
            }
        }
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
    if show_progress {
        live::clear_progress();
    }

    let mut result = ProcessResult {
        timeline,
        cpu_s,
        threads,
        ..ProcessResult::default()
    };
    for h in handles {
        let (counters, histos, driver) = h
            .join()
            .map_err(|_| "a generator thread panicked".to_string())?;
        result.merge(&ProcessResult {
            counters,
            histos,
            driver: driver.into(),
            ..ProcessResult::default()
        });
    }
    Ok(result)
}

/// Start runtime thread `share` (pinned if `--cpu` says so).
fn spawn_thread(
    plan: Arc<Plan>,
    share: Share,
    live: Arc<Live>,
) -> Result<JoinHandle<ThreadOutput>, String> {
    std::thread::Builder::new()
        .name(format!("load-{}", share.i))
        .spawn(move || {
            if let Some(cpus) = &plan.args.cpu {
                sys::pin_current_thread(cpus.0[share.i as usize % cpus.0.len()]);
            }
            let mut rt = RuntimeBuilder::<FusionDriver>::new()
                .enable_timer()
                .with_entries(4096)
                .build()
                .expect("build a monoio runtime");
            rt.block_on(async move {
                let driver = if monoio::utils::is_legacy() {
                    "epoll"
                } else {
                    "io_uring"
                };
                let ctx = std::rc::Rc::new(ThreadCtx::new(plan, share, live));
                scenario::run_thread(ctx.clone()).await;
                let counters = ctx.counters.take();
                let histos = ctx.histos.take();
                (counters, histos, driver)
            })
        })
        .map_err(|e| format!("cannot start a thread: {e}"))
}
