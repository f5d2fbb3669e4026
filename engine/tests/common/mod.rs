//! Shared pieces of the engine's integration tests: an in-process server on
//! port 0 (driver from `RINGCAST_TEST_DRIVER`), the `ringcast` binary as a
//! child process, metrics scraping, bounded waits, and three kinds of
//! client: tungstenite (independent), a raw client built on our protocol
//! crate's client role (for bad input), and plain HTTP.
//!
//! Every blocking read has a timeout, every wait is bounded, and every
//! server or child process is stopped when its guard drops.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ringcast::config::DriverChoice;
use ringcast::{Config, Server};
use ringcast_protocol::frame::{self, Decoded, FrameDecoder, OpCode, Role};
use ringcast_protocol::handshake::client::{self, ParsedResponse};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// Longest any single blocking read or write may wait.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a test waits for something the server is expected to do.
pub const WAIT: Duration = Duration::from_secs(10);

/// The mask key of every frame the raw client sends.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

// ---------------------------------------------------------------- driver --

/// The driver under test: `RINGCAST_TEST_DRIVER` = auto (default), epoll or
/// io_uring.
pub fn driver() -> DriverChoice {
    match std::env::var("RINGCAST_TEST_DRIVER").as_deref() {
        Err(_) | Ok("") | Ok("auto") => DriverChoice::Auto,
        Ok("epoll") => DriverChoice::Epoll,
        Ok("io_uring") | Ok("io-uring") | Ok("iouring") => DriverChoice::IoUring,
        Ok(other) => panic!("RINGCAST_TEST_DRIVER={other:?}: expected auto, epoll or io_uring"),
    }
}

/// The same driver as a `--driver` value for the binary.
pub fn driver_flag() -> &'static str {
    match driver() {
        DriverChoice::Auto => "auto",
        DriverChoice::Epoll => "epoll",
        DriverChoice::IoUring => "io-uring",
    }
}

/// `Config::for_tests()` (port 0, two shards) on the driver under test.
pub fn config() -> Config {
    let mut config = Config::for_tests();
    config.driver = driver();
    config
}

// ------------------------------------------------------------ bounded waits --

/// Poll `probe` until it returns `Some`, failing the test if it never does
/// within `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ------------------------------------------------------------------ metrics --

/// The value of the sample `key` (name plus labels, exactly as rendered) in
/// a Prometheus text page.
pub fn metric(page: &str, key: &str) -> u64 {
    page.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {key} in /metrics:\n{page}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("sample {key} is not an integer"))
}

/// `ringcast_protocol_errors_total{code="..."}`.
pub fn protocol_errors(code: u16) -> String {
    format!("ringcast_protocol_errors_total{{code=\"{code}\"}}")
}

/// `ringcast_handshake_failures_total{reason="..."}`.
pub fn handshake_failures(reason: &str) -> String {
    format!("ringcast_handshake_failures_total{{reason=\"{reason}\"}}")
}

/// `ringcast_connections{shard="..."}`.
pub fn connections_on_shard(shard: usize) -> String {
    format!("ringcast_connections{{shard=\"{shard}\"}}")
}

// ------------------------------------------------------- in-process server --

/// A server started in this process; drained and joined when dropped.
pub struct TestServer {
    server: Option<Server>,
    addr: SocketAddr,
}

impl TestServer {
    /// Start with the test defaults.
    pub fn start() -> TestServer {
        TestServer::with(|_| {})
    }

    /// Start with the test defaults as changed by `adjust`.
    pub fn with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = config();
        adjust(&mut config);
        let server = Server::start(config).expect("server starts");
        let addr = server.local_addr();
        let started = TestServer {
            server: Some(server),
            addr,
        };
        if driver() == DriverChoice::Epoll {
            assert_eq!(
                started.metric("ringcast_driver{driver=\"epoll\"}"),
                1,
                "epoll was asked for"
            );
        }
        started
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("server not joined yet")
    }

    /// The `/metrics` page, rendered in process.
    pub fn metrics(&self) -> String {
        self.server().shared().render_metrics()
    }

    /// One sample of the `/metrics` page.
    pub fn metric(&self, key: &str) -> u64 {
        metric(&self.metrics(), key)
    }

    /// Wait until sample `key` satisfies `ok`; returns its value.
    pub fn wait_metric(&self, key: &str, ok: impl Fn(u64) -> bool) -> u64 {
        wait_until(&format!("{key} to reach the expected value"), WAIT, || {
            Some(self.metric(key)).filter(|&value| ok(value))
        })
    }

    /// Connections open on each of the two shards, once `total` are open.
    pub fn connections_per_shard(&self, total: u64) -> [u64; 2] {
        wait_until(&format!("{total} open connections"), WAIT, || {
            let page = self.metrics();
            let per_shard = [0, 1].map(|shard| metric(&page, &connections_on_shard(shard)));
            (per_shard.iter().sum::<u64>() == total).then_some(per_shard)
        })
    }

    /// Start the graceful shutdown.
    pub fn drain(&self) {
        self.server().drain();
    }

    /// Wait for every shard to finish (bounded).
    pub fn join(mut self) -> io::Result<()> {
        join_within(self.server.take().expect("joined once"), WAIT + WAIT)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.drain();
            let outcome = join_within(server, Duration::from_secs(60));
            if !std::thread::panicking() {
                outcome.expect("server shuts down cleanly");
            }
        }
    }
}

fn join_within(server: Server, timeout: Duration) -> io::Result<()> {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(server.join());
    });
    finished
        .recv_timeout(timeout)
        .unwrap_or_else(|_| panic!("server did not finish within {timeout:?} of the drain"))
}

// ------------------------------------------------------- the binary, spawned --

/// The `ringcast` binary built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_ringcast");

/// `ringcast --listen 127.0.0.1:0 --shards 2 --driver <under test>` plus `args`.
pub fn binary_command(args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command.args(binary_args(args));
    command
}

/// The same, started through `sh` with `ulimit -n <open_files>` first.
pub fn binary_command_with_open_files(open_files: u32, args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {open_files} && exec \"$0\" \"$@\""))
        .arg(BINARY)
        .args(binary_args(args));
    command
}

fn binary_args(args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = [
        "--listen",
        "127.0.0.1:0",
        "--shards",
        "2",
        "--driver",
        driver_flag(),
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    all.extend(args.iter().map(|arg| arg.to_string()));
    all
}

/// A running `ringcast` process: killed (and reaped) when dropped.
pub struct Spawned {
    child: Child,
    /// The address it logged ("listening on ADDR").
    pub addr: SocketAddr,
    log: mpsc::Receiver<String>,
}

impl Spawned {
    /// Spawn `command` (stderr is captured) and wait for its
    /// "listening on ADDR" line.
    pub fn start(mut command: Command) -> Spawned {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ringcast");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (lines, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut spawned = Spawned {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        let line = spawned.wait_for_log("listening on ");
        let addr = line
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        if driver() == DriverChoice::Epoll {
            assert!(line.ends_with("on epoll"), "epoll was asked for: {line:?}");
        }
        spawned.addr = addr;
        spawned
    }

    /// The next stderr line containing `needle` (bounded wait).
    pub fn wait_for_log(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "ringcast never logged {needle:?} (exit status: {:?})",
                    self.child.try_wait()
                ),
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Send SIGTERM.
    pub fn terminate(&self) {
        // SAFETY: kill takes no pointers; the child is ours and not yet reaped.
        let result = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(result, 0, "kill(SIGTERM): {}", io::Error::last_os_error());
    }

    /// Wait for the process to exit (bounded by `timeout`).
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        wait_until("ringcast to exit", timeout, || {
            self.child.try_wait().expect("try_wait")
        })
    }

    /// `/metrics` over HTTP, retried until the server answers.
    pub fn metrics(&self) -> String {
        wait_until("ringcast to answer /metrics", WAIT, || {
            try_http_get(self.addr, "/metrics", &[])
                .ok()
                .filter(|r| r.status == 200)
        })
        .body
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------- TCP --

/// A blocking loopback connection with read and write timeouts.
pub fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    set_timeouts(&stream);
    stream
}

/// The same, with the client's receive buffer set to `rcvbuf` bytes before
/// connecting (small: the server soon sees a closed window; large: room
/// for bursts).
pub fn tcp_connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket.set_recv_buffer_size(rcvbuf).expect("SO_RCVBUF");
    socket
        .connect_timeout(&addr.into(), IO_TIMEOUT)
        .expect("connect");
    let stream: TcpStream = socket.into();
    set_timeouts(&stream);
    stream
}

fn set_timeouts(stream: &TcpStream) {
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    stream.set_nodelay(true).expect("nodelay");
}

/// Whether a read error means the peer is gone (as opposed to a timeout).
fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

/// Read until the server closes the connection; panics if it does not
/// within `IO_TIMEOUT` of the last byte. Returns what was read.
pub fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return received,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(error) if is_disconnect(&error) => return received,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => panic!("the server did not close the connection: {error}"),
        }
    }
}

// ------------------------------------------------------------------ HTTP --

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header lines, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (the server closes after it).
    pub body: String,
}

impl HttpResponse {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Send `request` as is and read the whole response (the server closes
/// the connection after a plain answer or a refusal).
pub fn http_exchange(addr: SocketAddr, request: &[u8]) -> HttpResponse {
    let mut stream = tcp_connect(addr);
    stream.write_all(request).expect("send request");
    parse_http_response(&read_until_closed(&mut stream))
}

/// `GET path` with extra headers; errors instead of panicking when the
/// server cannot be reached or closes without an answer.
pub fn try_http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    set_timeouts(&stream);
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut received = Vec::new();
    stream.read_to_end(&mut received)?;
    if received.is_empty() {
        return Err(io::Error::new(
            ErrorKind::UnexpectedEof,
            "closed without an answer",
        ));
    }
    Ok(parse_http_response(&received))
}

/// `GET path`, which must be answered.
pub fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    try_http_get(addr, path, headers).unwrap_or_else(|error| panic!("GET {path}: {error}"))
}

fn parse_http_response(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A valid upgrade request for `path` (our protocol crate's client role).
pub fn upgrade_request(host: &str, path: &str, key: &str) -> Vec<u8> {
    let mut request = Vec::new();
    client::write_request(&mut request, host, path, key, &[], None, &[]);
    request
}

/// A fixed, valid `Sec-WebSocket-Key`.
pub fn test_key() -> String {
    client::key_from_bytes(*b"ringcast-test-k!")
}

// ------------------------------------------------------- tungstenite client --

/// The independent client.
pub type Ws = WebSocket<TcpStream>;

/// Open a WebSocket on `path` with tungstenite's default limits.
pub fn ws_connect(addr: SocketAddr, path: &str) -> Ws {
    ws_connect_with(addr, path, None)
}

/// Open a WebSocket on `path` with a tungstenite configuration.
pub fn ws_connect_with(addr: SocketAddr, path: &str, config: Option<WebSocketConfig>) -> Ws {
    ws_upgrade(tcp_connect(addr), path, config)
}

/// Upgrade an open connection to a WebSocket on `path` with tungstenite.
pub fn ws_upgrade(stream: TcpStream, path: &str, config: Option<WebSocketConfig>) -> Ws {
    let addr = stream.peer_addr().expect("peer");
    let (ws, response) =
        tungstenite::client::client_with_config(format!("ws://{addr}{path}"), stream, config)
            .unwrap_or_else(|error| panic!("upgrade on {path} failed: {error}"));
    assert_eq!(response.status(), 101);
    ws
}

/// The next data message (pings and pongs are skipped; tungstenite answers
/// pings itself). Panics on a close, an error or a timeout.
pub fn ws_read_data(ws: &mut Ws) -> Message {
    loop {
        match ws.read() {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => return message,
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
            Ok(Message::Close(close)) => panic!("closed while data was expected: {close:?}"),
            Err(error) => panic!("no data message: {error}"),
        }
    }
}

/// The next data message, which must be text.
pub fn ws_read_text(ws: &mut Ws) -> String {
    match ws_read_data(ws) {
        Message::Text(text) => text.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Send `text` and expect it back (an `/echo` connection still works).
pub fn assert_echoes(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).expect("send");
    assert_eq!(ws_read_text(ws), text);
}

/// Read until the server's close frame; returns its code and reason. Data
/// still queued before it is skipped. tungstenite answers the close, and
/// this then reads on until the server ends the TCP connection.
pub fn ws_read_close(ws: &mut Ws) -> (u16, String) {
    let close = loop {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => {
                break (u16::from(frame.code), frame.reason.as_str().to_owned())
            }
            Ok(Message::Close(None)) => panic!("close frame without a code"),
            Ok(_) => {}
            Err(error) => panic!("connection ended without a close frame: {error}"),
        }
    };
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
            Err(tungstenite::Error::Io(error)) if is_disconnect(&error) => break,
            Err(error) => panic!("after the close handshake: {error}"),
        }
    }
    close
}

// -------------------------------------------------------------- raw client --

/// One frame as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its opcode.
    pub opcode: OpCode,
    /// FIN bit.
    pub fin: bool,
    /// The payload.
    pub payload: Vec<u8>,
}

/// A client that speaks frames one by one through our protocol crate's
/// client role, so it can send anything (unmasked frames, bad close codes,
/// reserved opcodes) and see exactly what comes back.
pub struct RawClient {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
    decoder: FrameDecoder,
}

impl RawClient {
    /// Connect and upgrade on `path`.
    pub fn connect(addr: SocketAddr, path: &str) -> RawClient {
        RawClient::upgrade(tcp_connect(addr), path, &[])
    }

    /// Upgrade on `path` over `stream`; `pipelined` is sent in the same
    /// write as the request, before the response is seen.
    pub fn upgrade(stream: TcpStream, path: &str, pipelined: &[u8]) -> RawClient {
        RawClient::upgrade_in_pieces(stream, path, pipelined, usize::MAX)
    }

    /// Like [`RawClient::upgrade`], but the request and `pipelined` go out
    /// in writes of at most `piece` bytes each.
    pub fn upgrade_in_pieces(
        mut stream: TcpStream,
        path: &str,
        pipelined: &[u8],
        piece: usize,
    ) -> RawClient {
        let key = test_key();
        let host = stream.peer_addr().expect("peer").to_string();
        let mut request = upgrade_request(&host, path, &key);
        request.extend_from_slice(pipelined);
        for piece in request.chunks(piece) {
            stream.write_all(piece).expect("send upgrade request");
        }
        let mut client = RawClient {
            stream,
            buf: Vec::new(),
            decoder: FrameDecoder::new(Role::Client, 1 << 30),
        };
        loop {
            match client::parse_response(&client.buf, &key, &[], &[]) {
                Ok(ParsedResponse::Complete(_, used)) => {
                    client.buf.drain(..used);
                    return client;
                }
                Ok(ParsedResponse::NeedMore) => assert!(client.fill(), "closed during the upgrade"),
                Err(error) => panic!(
                    "upgrade refused: {error}: {:?}",
                    String::from_utf8_lossy(&client.buf)
                ),
            }
        }
    }

    /// Send one masked frame.
    pub fn send_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.send_raw(&frame::encode(opcode, fin, payload, Some(MASK)));
    }

    /// Send bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Read more bytes; false at end of stream (or reset).
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(error) if is_disconnect(&error) => return false,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => panic!("nothing from the server within {IO_TIMEOUT:?}: {error}"),
            }
        }
    }

    /// The next frame, or `None` once the server ended the connection.
    pub fn read_frame(&mut self) -> Option<Frame> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Decoded::Frame {
                    header,
                    payload,
                    consumed,
                }) => {
                    let frame = Frame {
                        opcode: header.opcode,
                        fin: header.fin,
                        payload: payload.to_vec(),
                    };
                    self.buf.drain(..consumed);
                    return Some(frame);
                }
                Ok(Decoded::NeedMore(_)) => {
                    if !self.fill() {
                        assert!(self.buf.is_empty(), "connection ended inside a frame");
                        return None;
                    }
                }
                Err(error) => panic!("the server sent an invalid frame: {error}"),
            }
        }
    }

    /// The next frame, which must exist.
    pub fn expect_frame(&mut self) -> Frame {
        self.read_frame()
            .expect("a frame before the end of the connection")
    }

    /// Skip frames up to the server's close frame; returns its code and
    /// reason.
    pub fn read_close(&mut self) -> (u16, String) {
        loop {
            let frame = self
                .read_frame()
                .expect("a close frame before the connection ended");
            if frame.opcode == OpCode::Close {
                assert!(frame.payload.len() >= 2, "close frame without a code");
                let code = u16::from_be_bytes([frame.payload[0], frame.payload[1]]);
                let reason = String::from_utf8(frame.payload[2..].to_vec()).expect("UTF-8 reason");
                return (code, reason);
            }
        }
    }

    /// The server ends the connection with nothing more to say.
    pub fn expect_end(&mut self) {
        if let Some(frame) = self.read_frame() {
            panic!("expected the connection to end, got {frame:?}");
        }
    }

    /// The connection must end with a FIN (read returns 0), not a reset:
    /// nothing the peer sent was left unread when the server closed.
    pub fn expect_fin(&mut self) {
        assert!(self.buf.is_empty(), "unread bytes: {:?}", self.buf);
        let mut byte = [0u8; 1];
        match self.stream.read(&mut byte) {
            Ok(0) => {}
            other => panic!("expected a FIN, got {other:?}"),
        }
    }
}
