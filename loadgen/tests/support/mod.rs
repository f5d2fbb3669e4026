//! Test support: the reference servers and a bounded runner for the binary.

#![allow(dead_code)] // each test binary uses its own subset

mod server;

use std::process::{Command, Stdio};
use std::time::Duration;

pub use server::{Fault, Server};

/// What a run of the binary produced.
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// stdout parsed as JSON (`Null` when it was not JSON).
    pub json: serde_json::Value,
    /// stdout as text.
    pub stdout: String,
    /// stderr as text.
    pub stderr: String,
}

impl Run {
    /// A counter from the report.
    pub fn counter(&self, name: &str) -> u64 {
        self.json["counters"][name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name} in {}", self.stdout))
    }

    /// A connection-failure count by kind (0 when absent).
    pub fn failures(&self, kind: &str) -> u64 {
        self.json["counters"]["conn_failures"][kind]
            .as_u64()
            .unwrap_or(0)
    }
}

/// Run `ringcast-load` with `args`, killing it if it outlives `limit`.
pub fn run_load(args: &[&str], limit: Duration) -> Run {
    let child = Command::new(env!("CARGO_BIN_EXE_ringcast-load"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ringcast-load");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for ringcast-load"),
        Err(_) => {
            // SAFETY: kill(2) on the pid of the child we started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("ringcast-load {args:?} did not finish within {limit:?}");
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        stdout,
        stderr,
    }
}
