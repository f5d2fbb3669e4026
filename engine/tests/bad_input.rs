//! Fail closed on bad input: every malformed handshake gets its HTTP
//! status and every protocol violation its close code, each is counted in
//! /metrics, and a connection opened before keeps echoing throughout.

mod common;

use common::{
    assert_echoes, handshake_failures, http_exchange, protocol_errors, test_key, ws_connect,
    RawClient, TestServer,
};
use ringcast::Config;
use ringcast_protocol::frame::{self, OpCode};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Send `request` raw; it must be answered with `status` (and header
/// `expect_header` if given), counted under `reason`, and leave another
/// connection working.
fn assert_handshake_refused(
    request: &str,
    status: u16,
    reason: &str,
    expect_header: Option<(&str, &str)>,
) {
    let server = TestServer::start();
    let mut bystander = ws_connect(server.addr(), "/echo");
    let response = http_exchange(server.addr(), request.as_bytes());
    assert_eq!(response.status, status, "{request:?} got {response:?}");
    if let Some((name, value)) = expect_header {
        assert_eq!(response.header(name), Some(value), "{response:?}");
    }
    server.wait_metric(&handshake_failures(reason), |count| count == 1);
    assert_echoes(&mut bystander, "still here");
}

#[test]
fn handshake_with_version_12_gets_426_naming_version_13() {
    let request = format!(
        "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 12\r\n\r\n"
    );
    assert_handshake_refused(
        &request,
        426,
        "unsupported_version",
        Some(("sec-websocket-version", "13")),
    );
}

#[test]
fn handshake_with_a_key_that_is_not_16_bytes_gets_400() {
    let request = "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_handshake_refused(request, 400, "invalid_key", None);
}

#[test]
fn handshake_with_post_gets_405() {
    let request = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
    );
    assert_handshake_refused(&request, 405, "method_not_get", Some(("allow", "GET")));
}

#[test]
fn handshake_without_host_gets_400() {
    let request = format!(
        "GET /echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    assert_handshake_refused(&request, 400, "bad_request", None);
}

#[test]
fn plain_get_on_a_websocket_path_gets_426() {
    assert_handshake_refused(
        "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n",
        426,
        "not_an_upgrade",
        Some(("upgrade", "websocket")),
    );
}

#[test]
fn handshake_with_a_9_kib_header_gets_431() {
    let request = format!(
        "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    assert_handshake_refused(&request, 431, "headers_too_large", None);
}

#[test]
fn upgrade_on_an_unknown_path_gets_404() {
    let request = String::from_utf8(common::upgrade_request("x", "/nowhere", &test_key())).unwrap();
    assert_handshake_refused(&request, 404, "not_found", None);
}

/// Upgrade on /echo, send `bytes`; the server must answer with a close
/// frame carrying `code`, end the connection, count it, and leave another
/// connection working.
fn assert_closed_with(adjust: impl FnOnce(&mut Config), bytes: &[u8], code: u16) {
    let server = TestServer::with(adjust);
    let mut bystander = ws_connect(server.addr(), "/echo");
    let mut client = RawClient::connect(server.addr(), "/echo");
    client.send_raw(bytes);
    let (received, reason) = client.read_close();
    assert_eq!(received, code, "close reason: {reason:?}");
    client.expect_end();
    server.wait_metric(&protocol_errors(code), |count| count == 1);
    assert_echoes(&mut bystander, "still here");
}

fn masked(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame::encode(opcode, fin, payload, Some([0xa1, 0xb2, 0xc3, 0xd4])).to_vec()
}

#[test]
fn unmasked_client_frame_is_closed_with_1002() {
    assert_closed_with(
        |_| {},
        &frame::encode(OpCode::Text, true, b"naked", None),
        1002,
    );
}

#[test]
fn invalid_utf8_text_is_closed_with_1007() {
    assert_closed_with(
        |_| {},
        &masked(OpCode::Text, true, &[b'o', b'k', 0xff, 0xfe]),
        1007,
    );
}

#[test]
fn invalid_utf8_split_across_fragments_is_closed_with_1007() {
    // "é" is C3 A9: the first fragment ends inside it, the second breaks it.
    let mut bytes = masked(OpCode::Text, false, &[b'a', 0xc3]);
    bytes.extend_from_slice(&masked(OpCode::Continuation, true, b"b"));
    assert_closed_with(|_| {}, &bytes, 1007);
}

#[test]
fn frame_over_max_message_size_is_closed_with_1009() {
    assert_closed_with(
        |config| config.max_message_size = 1024,
        &masked(OpCode::Binary, true, &[7; 2048]),
        1009,
    );
}

#[test]
fn fragmented_message_over_max_message_size_is_closed_with_1009() {
    let mut bytes = Vec::new();
    for i in 0..3 {
        let opcode = if i == 0 {
            OpCode::Binary
        } else {
            OpCode::Continuation
        };
        bytes.extend_from_slice(&masked(opcode, i == 2, &[i; 600]));
    }
    assert_closed_with(|config| config.max_message_size = 1024, &bytes, 1009);
}

#[test]
fn close_frame_with_code_1005_is_closed_with_1002() {
    assert_closed_with(
        |_| {},
        &masked(OpCode::Close, true, &1005u16.to_be_bytes()),
        1002,
    );
}

#[test]
fn close_frame_with_code_999_is_closed_with_1002() {
    assert_closed_with(
        |_| {},
        &masked(OpCode::Close, true, &999u16.to_be_bytes()),
        1002,
    );
}

#[test]
fn close_frame_with_a_one_byte_payload_is_closed_with_1002() {
    assert_closed_with(|_| {}, &masked(OpCode::Close, true, &[0x03]), 1002);
}

#[test]
fn reserved_opcode_is_closed_with_1002() {
    // FIN + opcode 0x3, masked, empty payload.
    assert_closed_with(|_| {}, &[0x83, 0x80, 1, 2, 3, 4], 1002);
}

#[test]
fn message_in_more_fragments_than_allowed_is_closed_with_1009() {
    let mut bytes = Vec::new();
    for i in 0..5u8 {
        let opcode = if i == 0 {
            OpCode::Binary
        } else {
            OpCode::Continuation
        };
        bytes.extend_from_slice(&masked(opcode, i == 4, &[i]));
    }
    assert_closed_with(|config| config.max_fragments = 4, &bytes, 1009);
}

#[test]
fn continuation_without_a_message_in_progress_is_closed_with_1002() {
    assert_closed_with(|_| {}, &masked(OpCode::Continuation, true, b"orphan"), 1002);
}

#[test]
fn reserved_bit_without_an_extension_is_closed_with_1002() {
    let mut bytes = masked(OpCode::Text, true, b"rsv1");
    bytes[0] |= 0x40;
    assert_closed_with(|_| {}, &bytes, 1002);
}

#[test]
fn ping_over_125_bytes_is_closed_with_1002() {
    // FIN + ping, masked (zero key), 16-bit length 126.
    let mut bytes = vec![0x89, 0x80 | 126, 0, 126, 0, 0, 0, 0];
    bytes.extend_from_slice(&[0; 126]);
    assert_closed_with(|_| {}, &bytes, 1002);
}
