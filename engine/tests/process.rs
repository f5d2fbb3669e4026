//! The process and its environment: running out of file descriptors,
//! a port another process already serves, and which client address is
//! believed behind a proxy.

mod common;

use std::io::{ErrorKind, Write};
use std::net::{IpAddr, SocketAddr};

use common::{
    assert_echoes, binary_command_with_open_files, config, http_get, metric, read_until_closed,
    tcp_connect, test_key, upgrade_request, ws_connect, Spawned, TestServer,
};
use ringcast::Server;

#[test]
fn accept_survives_emfile_counts_it_and_serves_again() {
    // 64 descriptors: the listeners, the rings and stdio leave room for a
    // few dozen connections; 100 more than fill the table.
    let mut ringcast = Spawned::start(binary_command_with_open_files(
        64,
        &["--log-level", "debug"],
    ));
    let flood: Vec<_> = (0..100).map(|_| tcp_connect(ringcast.addr)).collect();
    ringcast.wait_for_log("Too many open files");

    drop(flood);
    let page = ringcast.metrics();
    assert!(
        metric(&page, "ringcast_accept_errors_total{errno=\"EMFILE\"}") > 0,
        "EMFILE was counted"
    );
    let mut ws = ws_connect(ringcast.addr, "/echo");
    assert_echoes(&mut ws, "serving again after EMFILE");
}

#[test]
fn start_refuses_a_port_already_served_by_another_listener() {
    use socket2::{Domain, Protocol, Socket, Type};
    // Someone else's listener, with SO_REUSEPORT: a plain SO_REUSEPORT bind
    // of ours would silently share the port with it.
    let other = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    other.set_reuse_address(true).unwrap();
    other.set_reuse_port(true).unwrap();
    other
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    other.listen(16).unwrap();
    let taken = other.local_addr().unwrap().as_socket().unwrap();

    let mut config = config();
    config.listen = taken;
    match Server::start(config) {
        Ok(server) => {
            server.drain();
            let _ = server.join();
            panic!("started on {taken}, which another listener serves");
        }
        Err(error) => assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}"),
    }
}

fn whoami(server: &TestServer, forwarded_for: Option<&str>) -> IpAddr {
    let headers: Vec<_> = forwarded_for
        .map(|value| ("X-Forwarded-For", value))
        .into_iter()
        .collect();
    let response = http_get(server.addr(), "/whoami", &headers);
    assert_eq!(response.status, 200, "{response:?}");
    response
        .body
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an address: {response:?}"))
}

#[test]
fn whoami_believes_x_forwarded_for_only_from_a_trusted_proxy() {
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let forwarded: IpAddr = "203.0.113.9".parse().unwrap();
    let chain = "198.51.100.7, 203.0.113.9";

    let untrusting = TestServer::start();
    assert_eq!(whoami(&untrusting, None), loopback);
    assert_eq!(
        whoami(&untrusting, Some(chain)),
        loopback,
        "X-Forwarded-For from an untrusted peer"
    );

    let trusting = TestServer::with(|config| config.trusted_proxies = vec![loopback]);
    assert_eq!(whoami(&trusting, None), loopback);
    assert_eq!(
        whoami(&trusting, Some(chain)),
        forwarded,
        "the last hop, added by the trusted proxy"
    );
}

#[test]
fn connections_over_max_connections_are_closed_counted_and_the_slot_comes_back() {
    let server = TestServer::with(|config| config.max_connections = 2);
    let mut first = ws_connect(server.addr(), "/echo");
    let second = ws_connect(server.addr(), "/echo");

    let mut third = tcp_connect(server.addr());
    let _ = third.write_all(&upgrade_request("x", "/echo", &test_key())); // may be closed already
    assert!(
        read_until_closed(&mut third).is_empty(),
        "no answer over capacity"
    );
    server.wait_metric("ringcast_rejected_over_capacity_total", |count| count == 1);
    assert_echoes(&mut first, "the admitted ones are unaffected");

    drop(second);
    server.connections_per_shard(1);
    let mut again = ws_connect(server.addr(), "/echo");
    assert_echoes(&mut again, "a freed slot is reused");
}
