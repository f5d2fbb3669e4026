//! `/echo`: every data message comes back to its sender, whatever its
//! size, framing or timing.

mod common;

use common::{
    assert_echoes, tcp_connect, tcp_connect_with_rcvbuf, ws_connect, ws_connect_with, ws_read_data,
    RawClient, TestServer,
};
use ringcast_protocol::frame::{self, OpCode};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::Message;

#[test]
fn echo_returns_text_and_binary_messages_unchanged() {
    let server = TestServer::start();
    let mut ws = ws_connect(server.addr(), "/echo");
    assert_echoes(&mut ws, "hello, ringcast ✓");
    let binary: Vec<u8> = (0..=255).collect();
    ws.send(Message::binary(binary.clone())).expect("send");
    assert_eq!(ws_read_data(&mut ws), Message::binary(binary));
    assert_echoes(&mut ws, "");
}

#[test]
fn echo_reassembles_continuation_frames_with_a_ping_interleaved() {
    let server = TestServer::start();
    let mut client = RawClient::connect(server.addr(), "/echo");
    // Each frame in its own write, the ping between two fragments.
    client.send_frame(OpCode::Text, false, "frag".as_bytes());
    client.send_frame(OpCode::Continuation, false, "men".as_bytes());
    client.send_frame(OpCode::Ping, true, b"mid-message");
    client.send_frame(OpCode::Continuation, false, "t".as_bytes());
    client.send_frame(OpCode::Continuation, false, "ed ".as_bytes());
    client.send_frame(OpCode::Continuation, true, "✓".as_bytes());

    let pong = client.expect_frame();
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (OpCode::Pong, &b"mid-message"[..])
    );
    let echoed = client.expect_frame();
    assert_eq!(echoed.opcode, OpCode::Text);
    assert!(echoed.fin, "the echo is one whole frame");
    assert_eq!(String::from_utf8(echoed.payload).unwrap(), "fragmented ✓");

    // Fragmented binary, all fragments in one write this time.
    let mut burst = Vec::new();
    for (i, part) in [&[1u8, 2][..], &[3], &[], &[4, 5, 6]].iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Binary
        } else {
            OpCode::Continuation
        };
        burst.extend_from_slice(&frame::encode(opcode, i == 3, part, Some([9, 8, 7, 6])));
    }
    client.send_raw(&burst);
    let echoed = client.expect_frame();
    assert_eq!(
        (echoed.opcode, echoed.payload),
        (OpCode::Binary, vec![1, 2, 3, 4, 5, 6])
    );
}

#[test]
fn echo_carries_a_16_mib_message() {
    const SIZE: usize = 16 << 20;
    let server = TestServer::with(|config| config.max_message_size = 32 << 20);
    let limits = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let mut ws = ws_connect_with(server.addr(), "/echo", Some(limits));
    let payload: Vec<u8> = (0..SIZE)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect();
    ws.send(Message::binary(payload.clone()))
        .expect("send 16 MiB");
    let echoed = ws_read_data(&mut ws).into_data();
    assert_eq!(echoed.len(), SIZE);
    assert!(
        echoed == payload,
        "the 16 MiB echo differs from what was sent"
    );
    assert_echoes(&mut ws, "and small ones still work after it");
}

#[test]
fn echo_answers_a_first_frame_pipelined_with_the_upgrade_request() {
    let server = TestServer::start();
    let mut pipelined =
        frame::encode(OpCode::Text, true, b"early bird", Some([1, 2, 3, 4])).to_vec();
    pipelined.extend_from_slice(&frame::encode(
        OpCode::Binary,
        true,
        &[0xde, 0xad],
        Some([5, 6, 7, 8]),
    ));
    let mut client = RawClient::upgrade(tcp_connect(server.addr()), "/echo", &pipelined);
    let first = client.expect_frame();
    assert_eq!(
        (first.opcode, first.payload.as_slice()),
        (OpCode::Text, &b"early bird"[..])
    );
    let second = client.expect_frame();
    assert_eq!(
        (second.opcode, second.payload),
        (OpCode::Binary, vec![0xde, 0xad])
    );
}

/// The server echoed the client's close 1000 and ended the TCP connection
/// with a FIN by itself: the client still holds its socket, and the server
/// must not wait for it (RFC 6455 5.5.1: after both close frames, close the
/// TCP connection), so no close timeout fires.
fn assert_close_echoed_and_tcp_ended(server: &TestServer, client: &mut RawClient) {
    assert_eq!(client.read_close().0, 1000);
    client.expect_fin();
    server.connections_per_shard(0);
    assert_eq!(server.metric("ringcast_close_timeouts_total"), 0);
}

#[test]
fn client_initiated_close_is_echoed_and_the_server_ends_the_tcp_connection() {
    let server =
        TestServer::with(|config| config.close_timeout = std::time::Duration::from_secs(60));
    let mut client = RawClient::connect(server.addr(), "/echo");
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"bye");
    client.send_frame(OpCode::Close, true, &close);
    assert_close_echoed_and_tcp_ended(&server, &mut client);
}

#[test]
fn close_from_a_client_whose_socket_is_full_is_echoed_after_everything_queued() {
    // 16 MiB of echoes to a client that does not read (4 KiB receive
    // buffer) overflow any socket buffer, so the close echo waits behind
    // them in the queue and a writer task finishes the close handshake.
    const MESSAGES: u32 = 1024;
    const BYTES: usize = 16 * 1024;
    let server = TestServer::with(|config| {
        config.outbound_limit = 64 << 20;
        config.close_timeout = std::time::Duration::from_secs(60);
    });
    let mut client = RawClient::upgrade(tcp_connect_with_rcvbuf(server.addr(), 4096), "/echo", &[]);
    for seq in 0..MESSAGES {
        let mut payload = vec![0x5a; BYTES];
        payload[..4].copy_from_slice(&seq.to_be_bytes());
        client.send_frame(OpCode::Binary, true, &payload);
    }
    client.send_frame(OpCode::Close, true, &1000u16.to_be_bytes());
    for seq in 0..MESSAGES {
        let frame = client.expect_frame();
        assert_eq!(frame.opcode, OpCode::Binary);
        assert_eq!(frame.payload[..4], seq.to_be_bytes(), "in order, none lost");
    }
    assert_close_echoed_and_tcp_ended(&server, &mut client);
}

#[test]
fn echo_reassembles_a_request_and_frame_that_arrive_one_byte_at_a_time() {
    let server = TestServer::start();
    // A 300-byte payload takes the 16-bit length form: every header field
    // and the payload get split.
    let payload: Vec<u8> = (0..300u16).map(|i| (i % 7) as u8 + b'a').collect();
    let frame = frame::encode(OpCode::Text, true, &payload, Some([0x11, 0x22, 0x33, 0x44]));
    let mut client = RawClient::upgrade_in_pieces(tcp_connect(server.addr()), "/echo", &frame, 1);
    let echoed = client.expect_frame();
    assert_eq!((echoed.opcode, echoed.payload), (OpCode::Text, payload));
}
