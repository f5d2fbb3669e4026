//! Graceful shutdown: a drain (or SIGTERM for the binary) closes every
//! connection with 1001 "going away", stops accepting, and the server
//! finishes cleanly once the clients have answered.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{
    assert_echoes, binary_command, try_http_get, ws_connect, ws_read_close, RawClient, Spawned,
    TestServer, Ws, WAIT,
};
use ringcast_protocol::frame::OpCode;

/// `pairs` clients on /echo and as many in a room.
fn echo_and_room_clients(addr: SocketAddr, pairs: usize) -> Vec<Ws> {
    (0..pairs)
        .flat_map(|_| [ws_connect(addr, "/echo"), ws_connect(addr, "/room/lobby")])
        .collect()
}

#[test]
fn drain_closes_every_client_with_1001_going_away_and_join_returns() {
    let server = TestServer::start();
    let mut clients = echo_and_room_clients(server.addr(), 3);
    assert_echoes(&mut clients[0], "before the drain");
    server.connections_per_shard(clients.len() as u64);

    server.drain();
    for client in &mut clients {
        assert_eq!(ws_read_close(client), (1001, "going away".to_owned()));
    }
    server.join().expect("every shard finishes cleanly");
}

#[test]
fn draining_server_reports_draining_and_is_not_healthy() {
    let server = TestServer::with(|config| {
        config.drain_timeout = Duration::from_secs(60);
        config.close_timeout = Duration::from_secs(60);
    });
    // Clients that will not answer the close at first, on both shards so
    // both have begun draining once every one has its close frame.
    let mut clients = Vec::new();
    while !server
        .connections_per_shard(clients.len() as u64)
        .iter()
        .all(|&open| open > 0)
    {
        assert!(
            clients.len() < 64,
            "the kernel never spread connections over both shards"
        );
        clients.push(RawClient::connect(server.addr(), "/echo"));
    }

    server.drain();
    for client in &mut clients {
        assert_eq!(client.read_close(), (1001, "going away".to_owned()));
    }
    assert_eq!(server.metric("ringcast_draining"), 1);
    // New connections are no longer accepted; one that still got through
    // would be told 503.
    match try_http_get(server.addr(), "/healthz", &[]) {
        Ok(response) => assert_eq!(response.status, 503, "healthy while draining: {response:?}"),
        Err(error) => eprintln!("/healthz while draining: {error} (not accepting)"),
    }

    // Now the clients finish the close handshake and the server its drain.
    for client in &mut clients {
        client.send_frame(OpCode::Close, true, &1001u16.to_be_bytes());
        client.expect_end();
    }
    server.join().expect("every shard finishes cleanly");
}

#[test]
fn sigterm_drains_the_binary_with_1001_and_it_exits_0() {
    let mut ringcast = Spawned::start(binary_command(&["--drain-timeout", "5s"]));
    let mut clients = echo_and_room_clients(ringcast.addr, 2);
    assert_echoes(&mut clients[0], "before SIGTERM");

    ringcast.terminate();
    for client in &mut clients {
        assert_eq!(ws_read_close(client), (1001, "going away".to_owned()));
    }
    let status = ringcast.wait_exit(WAIT);
    assert!(status.success(), "ringcast exited with {status}");
}
