//! Deadlines enforced by the per-shard sweep: heartbeats (ping after
//! silence, cut after no answer) and the handshake deadline (slowloris).

mod common;

use std::io::{ErrorKind, Write};
use std::time::Duration;

use common::{
    assert_echoes, handshake_failures, read_until_closed, tcp_connect, ws_connect, RawClient,
    TestServer, IO_TIMEOUT,
};
use ringcast_protocol::frame::OpCode;
use tungstenite::Message;

/// Ping after 300 ms of silence, cut 300 ms after an unanswered ping,
/// sweeping every 50 ms.
fn heartbeat_server() -> TestServer {
    TestServer::with(|config| {
        config.ping_interval = Duration::from_millis(300);
        config.pong_timeout = Duration::from_millis(300);
        config.tick = Duration::from_millis(50);
    })
}

#[test]
fn client_that_never_answers_pings_is_cut() {
    let server = heartbeat_server();
    let mut silent = RawClient::connect(server.addr(), "/echo");
    server.wait_metric("ringcast_heartbeat_timeouts_total", |count| count >= 1);

    // Only now does it look: pings, then the end of the connection.
    let mut pings = 0;
    while let Some(frame) = silent.read_frame() {
        assert_eq!(
            frame.opcode,
            OpCode::Ping,
            "only pings are sent to an idle connection"
        );
        pings += 1;
    }
    assert!(pings >= 1, "it was pinged before being cut");
    assert_eq!(server.metric("ringcast_heartbeat_timeouts_total"), 1);
    server.connections_per_shard(0);
}

#[test]
fn client_that_answers_pings_survives_several_intervals() {
    let server = heartbeat_server();
    let mut ws = ws_connect(server.addr(), "/echo");
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    // Keep reading (tungstenite answers each ping) until the server has
    // pinged several times.
    common::wait_until("three heartbeat pings", common::WAIT, || {
        match ws.read() {
            Ok(Message::Ping(_)) | Ok(Message::Pong(_)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::Io(error))
                if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(error) => panic!("the answering client lost its connection: {error}"),
        }
        (server.metric("ringcast_pings_sent_total") >= 3).then_some(())
    });
    ws.get_ref().set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    assert_eq!(server.metric("ringcast_heartbeat_timeouts_total"), 0);
    assert_echoes(&mut ws, "still connected");
}

#[test]
fn half_sent_request_is_cut_after_the_handshake_timeout() {
    let server = TestServer::with(|config| {
        config.handshake_timeout = Duration::from_millis(300);
        config.tick = Duration::from_millis(50);
    });
    let mut bystander = ws_connect(server.addr(), "/echo");
    let mut slowloris = tcp_connect(server.addr());
    slowloris
        .write_all(b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
        .expect("send half a request");
    let answer = read_until_closed(&mut slowloris);
    assert!(
        answer.is_empty(),
        "no answer to half a request: {:?}",
        String::from_utf8_lossy(&answer)
    );
    server.wait_metric(&handshake_failures("timeout"), |count| count == 1);
    server.wait_metric("ringcast_handshaking", |handshaking| handshaking == 0);
    assert_echoes(
        &mut bystander,
        "an upgraded connection has no handshake deadline",
    );
}
