//! The integration tests' reference server, standalone, for trying the
//! generator by hand: `cargo run -p ringcast-load --example ref_server
//! [fault]` prints its URL; paths `/echo` echo, any other path is a room.
//! Faults: `none` (default), `drop`, `corrupt`, `masked`, `noupgrade`,
//! `die=SECONDS`.
//! Runs until killed or until stdin closes.

#[path = "../tests/support/server.rs"]
mod support;

use std::time::Duration;

fn main() {
    let fault = match std::env::args().nth(1).as_deref() {
        None | Some("none") => support::Fault::None,
        Some("drop") => support::Fault::DropTenth,
        Some("corrupt") => support::Fault::CorruptByte,
        Some("noupgrade") => support::Fault::NoUpgrade,
        Some("masked") => support::Fault::MaskedFrames,
        Some(s) if s.starts_with("die=") => support::Fault::DieAfter(Duration::from_secs_f64(
            s[4..].parse().expect("die=SECONDS"),
        )),
        Some(other) => panic!("unknown fault {other:?}"),
    };
    let server = support::Server::start(fault);
    println!("{} pid {}", server.base, std::process::id());
    // Stay up until stdin closes (Ctrl-D, or the parent going away).
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
    drop(server);
}
