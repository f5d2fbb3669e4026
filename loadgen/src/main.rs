//! `ringcast-load`: the bundled WebSocket load generator. See
//! docs/loadgen.md for every scenario and flag.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod client;
mod live;
mod procstat;
mod report;
mod run;
mod scenario;
mod stats;
mod sys;
mod workers;

use clap::Parser;

/// Exit status of a run that was not clean (loss, corruption, failures...).
const EXIT_NOT_CLEAN: i32 = 1;
/// Exit status for bad flags (clap uses the same).
const EXIT_USAGE: i32 = 2;
/// Exit status when the run could not be carried out at all.
const EXIT_FAILED: i32 = 3;

fn main() {
    let args = cli::Args::parse();
    if let Err(e) = args.validate() {
        eprintln!("ringcast-load: {e}");
        std::process::exit(EXIT_USAGE);
    }
    sys::raise_nofile();
    let code = match args.worker {
        Some(share) => worker(&args, share),
        None => coordinator(&args),
    };
    std::process::exit(code);
}

/// `--worker i/K`: run a share, print the raw result for the parent.
fn worker(args: &cli::Args, share: cli::Share) -> i32 {
    let result = run::run_process(args, share, &mut workers::WorkerHooks, false)
        .and_then(|r| workers::print_result(&r));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ringcast-load worker {}/{}: {e}", share.i, share.k);
            EXIT_FAILED
        }
    }
}

/// Run everything (in-process or through workers), judge, print.
fn coordinator(args: &cli::Args) -> i32 {
    let mut watch = procstat::ServerWatch::new(args.server_pid);
    if args.server_pid.is_some() && watch.before.is_none() {
        eprintln!(
            "ringcast-load: cannot read /proc/{} (no such process?)",
            args.server_pid.unwrap_or(0)
        );
        return EXIT_USAGE;
    }
    let progress = sys::stderr_is_tty();
    let result = if args.procs > 1 {
        workers::run_workers(args, &mut watch, progress)
    } else {
        run::run_process(args, cli::Share::WHOLE, &mut watch, progress)
    };
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ringcast-load: {e}");
            return EXIT_FAILED;
        }
    };
    let rep = report::build(args, &result, &watch);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rep).expect("report serializes")
        );
    } else {
        print!("{}", report::table(&rep, args.timeline));
    }
    if rep.clean {
        0
    } else {
        EXIT_NOT_CLEAN
    }
}
