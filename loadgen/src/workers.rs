//! `--procs K`: one process holds at most its open-file limit of sockets,
//! so larger runs re-execute this binary as K workers (`--worker i/K`, same
//! flags otherwise). Each worker takes its share of connections or rooms,
//! prints `ready` when connected, starts on `go` (stdin), and prints
//! `result <json>` at the end. The parent starts them together, samples the
//! server over the window, and merges their results (histograms exactly,
//! through their serialized form).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cli::Args;
use crate::run::Hooks;
use crate::stats::ProcessResult;

/// A line a worker printed, or `None` when its stdout closed.
type Line = (usize, Option<String>);

/// Run `args.procs` workers and merge their results.
pub fn run_workers(
    args: &Args,
    hooks: &mut dyn Hooks,
    show_progress: bool,
) -> Result<ProcessResult, String> {
    let k = args.procs as usize;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let (tx, rx) = mpsc::channel::<Line>();
    let mut children: Vec<Child> = Vec::with_capacity(k);
    for i in 0..k {
        let spawned = Command::new(&exe)
            .args(std::env::args_os().skip(1))
            .arg("--worker")
            .arg(format!("{i}/{k}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                kill_all(&mut children);
                return Err(format!("cannot start worker {i}: {e}"));
            }
        };
        let stdout = child.stdout.take().expect("piped stdout");
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        let _ = tx.send((i, Some(l)));
                    }
                    Err(_) => break,
                }
            }
            let _ = tx.send((i, None));
        });
        children.push(child);
    }
    drop(tx);

    let mut results: Vec<Option<ProcessResult>> = vec![None; k];
    let mut ready = 0;
    while ready < k {
        match rx.recv() {
            Ok((_, Some(l))) if l == "ready" => ready += 1,
            Ok((i, Some(l))) => {
                if let Err(e) = take_result(&mut results, i, &l) {
                    kill_all(&mut children);
                    return Err(e);
                }
            }
            Ok((i, None)) => {
                kill_all(&mut children);
                return Err(format!("worker {i} exited before it was ready"));
            }
            Err(_) => {
                kill_all(&mut children);
                return Err("the workers exited before they were ready".into());
            }
        }
    }
    hooks.ready()?;
    for c in &mut children {
        if let Some(stdin) = c.stdin.as_mut() {
            let _ = writeln!(stdin, "go").and_then(|_| stdin.flush());
        }
    }
    let go = Instant::now();
    hooks.at_go();

    let start = go + args.warmup;
    let end = start + args.duration;
    let (mut started, mut ended) = (false, false);
    let mut open_workers = k;
    while open_workers > 0 || !ended {
        let now = Instant::now();
        if !started && now >= start {
            started = true;
            hooks.window_start();
        }
        if !ended && now >= end {
            ended = true;
            hooks.window_end();
        }
        if show_progress {
            let done = results.iter().filter(|r| r.is_some()).count();
            eprint!(
                "\r\x1b[2K[{}] {:5.1}s  workers {k}  finished {done}",
                args.scenario.name(),
                (now - go).as_secs_f64()
            );
        }
        let mut wait = Duration::from_millis(200);
        for t in [start, end] {
            if t > now {
                wait = wait.min(t - now);
            }
        }
        match rx.recv_timeout(wait) {
            Ok((i, Some(l))) => take_result(&mut results, i, &l)?,
            Ok((_, None)) => open_workers -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open_workers = 0,
        }
    }
    if show_progress {
        eprint!("\r\x1b[2K");
    }
    let mut merged = ProcessResult::default();
    for (i, (child, result)) in children.iter_mut().zip(results).enumerate() {
        let status = child.wait().map_err(|e| format!("worker {i}: {e}"))?;
        let result = result.ok_or_else(|| format!("worker {i} gave no result ({status})"))?;
        merged.merge(&result);
    }
    Ok(merged)
}

/// Store worker `i`'s `result <json>` line; other lines are an error.
fn take_result(results: &mut [Option<ProcessResult>], i: usize, line: &str) -> Result<(), String> {
    let json = line
        .strip_prefix("result ")
        .ok_or_else(|| format!("worker {i} printed {line:?}"))?;
    let r = serde_json::from_str(json).map_err(|e| format!("worker {i}: bad result: {e}"))?;
    results[i] = Some(r);
    Ok(())
}

fn kill_all(children: &mut [Child]) {
    for c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The worker's side of the start line: say `ready`, wait for `go`.
pub struct WorkerHooks;

impl Hooks for WorkerHooks {
    fn ready(&mut self) -> Result<(), String> {
        println!("ready");
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.trim() == "go" {
            Ok(())
        } else {
            Err("the parent process went away before the start".into())
        }
    }
}

/// Print a worker's result for the parent.
pub fn print_result(result: &ProcessResult) -> Result<(), String> {
    let json = serde_json::to_string(result).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "result {json}")
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())
}
