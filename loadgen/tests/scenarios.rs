//! The generator against servers that are right and servers that are wrong
//! on purpose: each fault must show up as a non-zero exit status and in the
//! specific counter of the JSON report; a correct server must give a clean
//! run and exit 0. Loopback only, port 0, a few seconds and a few dozen
//! connections each.

mod support;

use std::time::Duration;

use support::{run_load, Fault, Server};

/// No run here may take longer than this (they take 2-5 s).
const LIMIT: Duration = Duration::from_secs(60);

fn pid() -> String {
    std::process::id().to_string()
}

/// Flags every test shares: short phases, JSON, two threads unless given.
fn short<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "--json",
        "--warmup",
        "300ms",
        "--duration",
        "1500ms",
        "--grace",
        "1s",
    ];
    if !extra.contains(&"--threads") {
        v.extend(["--threads", "2"]);
    }
    v.extend_from_slice(extra);
    v
}

/// A fanout run: 4 rooms x 6 members unless `extra` says otherwise.
fn fanout(server: &Server, extra: &[&str]) -> support::Run {
    let url = format!("{}/room/{{room}}", server.base);
    let mut args = vec!["fanout", "--url", &url, "--rate", "400", "--payload", "100"];
    for (flag, default) in [("--rooms", "4"), ("--subs", "6")] {
        if !extra.contains(&flag) {
            args.extend([flag, default]);
        }
    }
    args.extend_from_slice(extra);
    run_load(&short(&args), LIMIT)
}

#[test]
fn fanout_against_a_correct_server_is_clean() {
    let server = Server::start(Fault::None);
    let pid = pid();
    let r = fanout(&server, &["--server-pid", &pid, "--pubs", "2"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["clean"], true);
    for c in [
        "lost",
        "duplicated",
        "reordered",
        "corrupted",
        "misrouted",
        "conns_dropped",
        "unclean_closes",
    ] {
        assert_eq!(r.counter(c), 0, "{c}");
    }
    assert_eq!(r.counter("conns_opened"), 24);
    let sent = r.counter("sent");
    assert!(sent > 400, "sent {sent}");
    // Every message reaches all 6 members of its room, the publisher included.
    assert_eq!(r.counter("expected"), sent * 6);
    assert_eq!(r.counter("received"), sent * 6);
    assert!(r.json["latency_us"]["count"].as_u64().unwrap() > 0);
    assert!(r.json["server"]["cpu_s"].as_f64().is_some());
    assert!(r.json["server"]["cpu_us_per_unit"].as_f64().is_some());
    assert!(!r.json["timeline"].as_array().unwrap().is_empty());
}

#[test]
fn fanout_counts_dropped_deliveries_as_lost() {
    let server = Server::start(Fault::DropTenth);
    let r = fanout(&server, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["clean"], false);
    let (lost, expected) = (r.counter("lost"), r.counter("expected"));
    // Every 10th delivery is skipped: about 10% lost.
    assert!(
        lost * 100 >= expected * 8 && lost * 100 <= expected * 12,
        "lost {lost} of {expected}"
    );
    assert_eq!(r.counter("corrupted"), 0);
    assert_eq!(r.counter("duplicated"), 0);
}

#[test]
fn fanout_counts_corrupted_deliveries() {
    let server = Server::start(Fault::CorruptByte);
    let r = fanout(&server, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let corrupted = r.counter("corrupted");
    assert!(corrupted > 0);
    // A corrupted delivery is reported as corrupted, not also as lost.
    assert_eq!(r.counter("lost"), 0);
    assert_eq!(r.counter("received") + corrupted, r.counter("expected"));
}

#[test]
fn a_server_that_breaks_the_protocol_is_reported_by_kind() {
    let server = Server::start(Fault::MaskedFrames);
    let r = fanout(&server, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.counter("conns_dropped"), 24);
    assert_eq!(r.json["counters"]["errors"]["masked_frame"], 24);
    assert_eq!(r.counter("received"), 0);
}

#[test]
fn a_server_that_never_upgrades_is_a_handshake_timeout() {
    let server = Server::start(Fault::NoUpgrade);
    let r = fanout(&server, &["--timeout", "1s", "--rooms", "2", "--subs", "3"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.failures("handshake_timeout"), 6);
    assert_eq!(r.counter("conns_opened"), 0);
}

#[test]
fn a_server_that_dies_mid_run_is_reported() {
    let server = Server::start(Fault::DieAfter(Duration::from_millis(900)));
    let r = fanout(&server, &[]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.counter("conns_dropped"), 24);
    assert!(r.counter("received") > 0);
    assert!(r.json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_str().unwrap().contains("dropped")));
}

#[test]
fn nothing_listening_is_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("ws://127.0.0.1:{port}/echo");
    let r = run_load(&short(&["echo", "--url", &url, "--conns", "5"]), LIMIT);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.failures("refused"), 5);
}

#[test]
fn echo_at_a_fixed_rate_is_clean() {
    let server = Server::start(Fault::None);
    let url = format!("{}/echo", server.base);
    let r = run_load(
        &short(&[
            "echo", "--url", &url, "--conns", "20", "--rate", "1000", "--window", "2",
        ]),
        LIMIT,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let sent = r.counter("sent");
    assert!(sent >= 1000, "sent {sent}");
    assert_eq!(r.counter("received"), sent);
    assert_eq!(r.counter("lost"), 0);
    assert!(r.json["send_lag_us"]["count"].as_u64().unwrap() > 0);
    assert!(r.json["rates"]["received_per_s"].as_f64().unwrap() > 500.0);
}

#[test]
fn echo_closed_loop_is_clean() {
    let server = Server::start(Fault::None);
    let url = format!("{}/echo", server.base);
    let r = run_load(
        &short(&[
            "echo", "--url", &url, "--conns", "8", "--rate", "0", "--window", "4",
        ]),
        LIMIT,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.counter("received") > 100);
    assert_eq!(r.counter("received"), r.counter("sent"));
}

#[test]
fn idle_connections_stay_up_and_are_measured() {
    let server = Server::start(Fault::None);
    let url = format!("{}/room/{{room}}", server.base);
    let pid = pid();
    let r = run_load(
        &short(&[
            "idle",
            "--url",
            &url,
            "--conns",
            "40",
            "--ramp",
            "200",
            "--server-pid",
            &pid,
        ]),
        LIMIT,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.counter("stayed_up"), 40);
    assert!(
        r.json["server"]["rss_per_conn"].as_f64().is_some(),
        "{}",
        r.stdout
    );
}

#[test]
fn connect_opens_and_closes_cleanly() {
    let server = Server::start(Fault::None);
    let url = format!("{}/room/x", server.base);
    let r = run_load(&short(&["connect", "--url", &url, "--conns", "4"]), LIMIT);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.counter("handshakes_in_window") > 10);
    assert_eq!(r.counter("unclean_closes"), 0);
    assert!(r.json["rates"]["handshakes_per_s"].as_f64().unwrap() > 5.0);
}

#[test]
fn storm_brings_everyone_back() {
    let server = Server::start(Fault::None);
    let url = format!("{}/room/{{room}}", server.base);
    let r = run_load(&short(&["storm", "--url", &url, "--conns", "40"]), LIMIT);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.counter("reconnected"), 40);
    assert_eq!(r.counter("not_back"), 0);
    assert_eq!(r.counter("stayed_up"), 40);
    assert!(r.json["storm_all_back_s"].as_f64().is_some());
}

#[test]
fn worker_processes_and_source_addresses_merge_into_one_result() {
    let server = Server::start(Fault::None);
    let r = fanout(
        &server,
        &[
            "--procs",
            "2",
            "--threads",
            "1",
            "--source-ips",
            "127.0.0.1-127.0.0.3",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.counter("conns_opened"), 24);
    let sent = r.counter("sent");
    assert_eq!(r.counter("received"), sent * 6);
    // Both workers' histograms arrive merged.
    assert!(r.json["latency_us"]["count"].as_u64().unwrap() > sent);
    assert_eq!(
        r.json["generator"]["capacity_s"].as_f64().unwrap(),
        2.0 * 1.5
    );
}
