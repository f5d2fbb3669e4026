//! The `ringcast` binary: parse flags, start the shards, drain on
//! SIGTERM/SIGINT, exit 0 once every connection is closed.

use clap::Parser;
use ringcast::{signals, Config, Server};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let config = Config::parse();
    if let Err(error) = signals::block_shutdown_signals() {
        eprintln!("ringcast: cannot block shutdown signals: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let server = match Server::start(config) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("ringcast: cannot start: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match signals::wait_for_shutdown_signal() {
        Ok(signal) => ringcast::log!(Info, "{signal} received"),
        Err(error) => ringcast::log!(Error, "waiting for signals failed: {error}"),
    }
    server.drain();
    match server.join() {
        Ok(()) => {
            ringcast::log!(Info, "drained; bye");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("ringcast: shard failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
