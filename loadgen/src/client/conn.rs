//! One client WebSocket over a monoio `TcpStream`: connect (optionally from a
//! chosen source address), the upgrade, a read loop that decodes frames in
//! place in one reused buffer, and a writer task with its own loop for short
//! writes (never monoio's `BufWriter` or `write_vectored_all`, see DESIGN.md).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::time::Instant;

use bytes::BytesMut;
use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, OwnedReadHalf, OwnedWriteHalf, Splitable};
use monoio::net::TcpStream;
use ringcast_protocol::frame::{encode_into, Decoded, FrameDecoder, OpCode, Role};
use ringcast_protocol::handshake::client::{
    key_from_bytes, parse_response, write_request, ParsedResponse,
};
use ringcast_protocol::{CloseCode, Error as WsError, Message, MessageAssembler, MessageLimits};

use super::registry::{Registered, Registry};
use super::signal::Signal;

/// Why a connection could not be opened: a short stable name, the key of the
/// `conn_failures` map (`refused`, `handshake_timeout`, `http_503`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fail(pub Cow<'static, str>);

/// Largest message accepted from the server. Generous: the generator must
/// not reject what a peer server legitimately sends (welcome messages etc.).
const MAX_MESSAGE: usize = 64 << 20;
/// Read buffer to start with; it grows only when a frame needs more.
const INITIAL_READ_BUF: usize = 4096;

/// Where and how to open a connection.
pub struct Dial<'a> {
    /// Server address.
    pub addr: SocketAddr,
    /// `Host` header.
    pub host: &'a str,
    /// Request path and query.
    pub path: &'a str,
    /// Local address to bind before connecting, if any.
    pub source: Option<IpAddr>,
    /// Connect + upgrade must finish by then.
    pub deadline: Instant,
    /// 16 random bytes for `Sec-WebSocket-Key`.
    pub key: [u8; 16],
}

/// An upgraded connection, before its writer task is started.
pub struct Ws {
    stream: TcpStream,
    /// Bytes received after the 101 response (frames the server sent early).
    buf: Vec<u8>,
    slot: Registered,
}

/// Open a TCP connection and upgrade it. The socket is registered in `reg`
/// with `dial.deadline`, so a silent server is cut off by the thread's sweep.
pub async fn open(reg: &Rc<Registry>, dial: &Dial<'_>) -> Result<Ws, Fail> {
    let mut stream = connect_socket(dial.addr, dial.source).map_err(io_fail)?;
    // Declared after the stream, so on every early return it is dropped
    // (unregistered) before the socket closes.
    let slot = reg.add(stream.as_raw_fd(), Some(dial.deadline));
    let timed_out = |slot: &Registered, stage: &'static str, e: Fail| {
        if slot.expired() {
            Fail(Cow::Borrowed(stage))
        } else {
            e
        }
    };

    // A non-blocking connect completes when the socket turns writable;
    // SO_ERROR then tells success from failure.
    if let Err(e) = stream.writable(false).await {
        return Err(timed_out(&slot, "connect_timeout", io_fail(e)));
    }
    if let Some(e) = socket_error(stream.as_raw_fd()) {
        return Err(timed_out(&slot, "connect_timeout", io_fail(e)));
    }

    let key = key_from_bytes(dial.key);
    let mut request = Vec::with_capacity(256);
    write_request(&mut request, dial.host, dial.path, &key, &[], None, &[]);
    let (res, _) = write_all(&mut stream, request).await;
    if let Err(e) = res {
        return Err(timed_out(&slot, "handshake_timeout", io_fail(e)));
    }

    let mut buf = Vec::with_capacity(INITIAL_READ_BUF);
    loop {
        let (res, b) = read_more(&mut stream, buf, 1024).await;
        buf = b;
        match res {
            Ok(0) => {
                return Err(timed_out(
                    &slot,
                    "handshake_timeout",
                    Fail(Cow::Borrowed("closed_during_handshake")),
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(timed_out(&slot, "handshake_timeout", io_fail(e))),
        }
        match parse_response(&buf, &key, &[], &[]) {
            Ok(ParsedResponse::NeedMore) if buf.len() > 64 * 1024 => {
                return Err(Fail(Cow::Borrowed("response_too_large")));
            }
            Ok(ParsedResponse::NeedMore) => {}
            Ok(ParsedResponse::Complete(_, used)) => {
                buf.drain(..used);
                slot.set_deadline(None);
                return Ok(Ws { stream, buf, slot });
            }
            Err(WsError::UnexpectedStatus(code)) => {
                return Err(Fail(Cow::Owned(format!("http_{code}"))))
            }
            Err(e) => return Err(Fail(Cow::Borrowed(e.kind()))),
        }
    }
}

/// A socket connecting (non-blocking) to `addr`, bound to `source` first if
/// given. Binding with `IP_BIND_ADDRESS_NO_PORT` defers the port choice to
/// `connect`, so each source address offers its whole ephemeral range per
/// destination instead of one shared range.
fn connect_socket(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.set_nodelay(true)?;
    if let Some(ip) = source {
        if ip.is_ipv4() {
            let one: libc::c_int = 1;
            // SAFETY: valid fd, option value points to a c_int of the stated size.
            unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_BIND_ADDRESS_NO_PORT,
                    (&one as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
        socket.bind(&SockAddr::from(SocketAddr::new(ip, 0)))?;
    }
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    TcpStream::from_std(socket.into())
}

fn socket_error(fd: RawFd) -> Option<io::Error> {
    let mut err: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid fd; err and len are valid for writes of their sizes.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut err as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        Some(io::Error::last_os_error())
    } else if err != 0 {
        Some(io::Error::from_raw_os_error(err))
    } else {
        None
    }
}

/// Short name of an I/O error, for the failure and error maps.
pub fn io_kind(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "refused",
        Some(libc::ECONNRESET) | Some(libc::EPIPE) | Some(libc::ECONNABORTED) => "reset",
        Some(libc::EADDRNOTAVAIL) | Some(libc::EADDRINUSE) => "no_source_port",
        Some(libc::EMFILE) | Some(libc::ENFILE) => "too_many_files",
        Some(libc::ETIMEDOUT) => "timeout",
        Some(libc::ENETUNREACH) | Some(libc::EHOSTUNREACH) => "unreachable",
        Some(libc::ENOBUFS) | Some(libc::ENOMEM) => "no_memory",
        _ => "io",
    }
}

fn io_fail(e: io::Error) -> Fail {
    Fail(Cow::Borrowed(io_kind(&e)))
}

/// Write every byte of `buf`, however many writes it takes.
async fn write_all<W: AsyncWriteRent, B: IoBuf>(w: &mut W, buf: B) -> (io::Result<()>, B) {
    let len = buf.bytes_init();
    let mut buf = buf;
    let mut off = 0;
    while off < len {
        let (res, slice) = w.write(buf.slice(off..)).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
            Ok(n) => off += n,
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}

/// Read once, appending to `buf` after making room for at least `want` bytes.
async fn read_more<R: AsyncReadRent>(
    r: &mut R,
    mut buf: Vec<u8>,
    want: usize,
) -> (io::Result<usize>, Vec<u8>) {
    if buf.capacity() - buf.len() < want {
        buf.reserve(want);
    }
    let len = buf.len();
    let cap = buf.capacity();
    let (res, slice) = r.read(buf.slice_mut(len..cap)).await;
    (res, slice.into_inner())
}

/// How a connection's read side ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The closing handshake completed; `by_peer` when the server closed first.
    Closed {
        /// The server sent the first close frame.
        by_peer: bool,
        /// The code in the server's close frame, if any.
        code: Option<u16>,
    },
    /// The TCP stream ended without a closing handshake.
    Eof,
    /// A socket error.
    Io(&'static str),
    /// The server broke RFC 6455.
    Protocol(&'static str),
}

impl End {
    /// Short name for the error map, when this end was not expected.
    pub fn kind(self) -> Cow<'static, str> {
        match self {
            End::Closed { code: Some(c), .. } => Cow::Owned(format!("server_close_{c}")),
            End::Closed { code: None, .. } => Cow::Borrowed("server_close"),
            End::Eof => Cow::Borrowed("eof"),
            End::Io(k) => Cow::Borrowed(k),
            End::Protocol(k) => Cow::Borrowed(k),
        }
    }
}

/// A running connection: our read side plus a handle on the writer task.
pub struct Conn {
    read: OwnedReadHalf<TcpStream>,
    buf: Vec<u8>,
    /// Queue frames here; the writer task sends them.
    pub writer: Rc<Writer>,
    writer_task: monoio::task::JoinHandle<()>,
    slot: Registered,
}

impl Conn {
    /// Split the stream and start its writer task.
    pub fn start(ws: Ws, mask_seed: u64) -> Conn {
        let Ws { stream, buf, slot } = ws;
        let (read, write) = stream.into_split();
        let writer = Rc::new(Writer::new(mask_seed));
        let writer_task = monoio::spawn(run_writer(writer.clone(), write));
        slot.set_writer(writer.clone());
        Conn {
            read,
            buf,
            writer,
            writer_task,
            slot,
        }
    }

    /// The connection's registry entry (deadlines, shutdown).
    pub fn slot(&self) -> &Registered {
        &self.slot
    }

    /// Read until the connection ends, calling `on_data(payload, now)` for
    /// each data message. Frames are decoded in place in one buffer owned by
    /// the connection; nothing is allocated per message. Pings are answered
    /// and a server close is echoed.
    pub async fn read<F: FnMut(&[u8], Instant)>(&mut self, mut on_data: F) -> End {
        let decoder = FrameDecoder::new(Role::Client, MAX_MESSAGE as u64);
        let mut assembler = MessageAssembler::new(MessageLimits {
            max_message_size: MAX_MESSAGE,
            max_fragments: 1 << 20,
        });
        let mut buf = std::mem::take(&mut self.buf);
        let end = loop {
            let mut off = 0;
            let mut want = 1;
            let mut done = None;
            let now = Instant::now();
            while off < buf.len() {
                let (header, payload, consumed) = match decoder.decode(&mut buf[off..]) {
                    Ok(Decoded::Frame {
                        header,
                        payload,
                        consumed,
                    }) => (header, payload, consumed),
                    Ok(Decoded::NeedMore(n)) => {
                        want = n;
                        break;
                    }
                    Err(e) => {
                        done = Some(End::Protocol(e.kind()));
                        break;
                    }
                };
                off += consumed;
                match assembler.push(&header, payload) {
                    Ok(None) => {}
                    Ok(Some(Message::Binary(p))) => on_data(p, now),
                    Ok(Some(Message::Text(s))) => on_data(s.as_bytes(), now),
                    Ok(Some(Message::Ping(p))) => {
                        self.writer.send(OpCode::Pong, p);
                    }
                    Ok(Some(Message::Pong(_))) => {}
                    Ok(Some(Message::Close(c))) => {
                        let by_peer = !self.writer.closing();
                        if by_peer {
                            self.writer
                                .close(c.map_or(CloseCode::NORMAL, |(code, _)| code));
                        }
                        done = Some(End::Closed {
                            by_peer,
                            code: c.map(|(code, _)| code.0),
                        });
                        break;
                    }
                    Err(e) => {
                        done = Some(End::Protocol(e.kind()));
                        break;
                    }
                }
            }
            if let Some(end) = done {
                break end;
            }
            buf.drain(..off);
            let (res, b) = read_more(&mut self.read, buf, want.max(INITIAL_READ_BUF / 4)).await;
            buf = b;
            match res {
                Ok(0) => break End::Eof,
                Ok(_) => {}
                Err(e) => break End::Io(io_kind(&e)),
            }
        };
        if let End::Protocol(_) = end {
            // Tell the server why before the connection goes.
            self.writer.close(CloseCode::PROTOCOL_ERROR);
        }
        buf.clear();
        self.buf = buf;
        end
    }

    /// Release the connection: unregister the socket (before its descriptor
    /// can close), stop the writer once it has flushed, and wait for it, so
    /// no socket outlives the run.
    pub async fn finish(self) {
        let Conn {
            read,
            buf,
            writer,
            writer_task,
            slot,
        } = self;
        drop(slot);
        drop(read);
        drop(buf);
        writer.finish();
        writer_task.await;
    }
}

/// The sending side of a connection: frames are encoded into a pending
/// buffer and a writer task flushes it, coalescing everything queued
/// meanwhile into one write. Senders never wait.
pub struct Writer {
    pending: RefCell<BytesMut>,
    wake: Signal,
    closing: Cell<bool>,
    finished: Cell<bool>,
    failed: Cell<bool>,
    rng: Cell<u64>,
}

impl Writer {
    fn new(seed: u64) -> Writer {
        Writer {
            pending: RefCell::new(BytesMut::new()),
            wake: Signal::default(),
            closing: Cell::new(false),
            finished: Cell::new(false),
            failed: Cell::new(false),
            rng: Cell::new(seed | 1),
        }
    }

    /// Queue one frame (masked, as a client must). Returns false when the
    /// connection is closing or broken and the frame was not queued.
    pub fn send(&self, opcode: OpCode, payload: &[u8]) -> bool {
        if self.finished.get() || self.failed.get() || (self.closing.get() && !opcode.is_control())
        {
            return false;
        }
        encode_into(
            &mut self.pending.borrow_mut(),
            opcode,
            true,
            payload,
            Some(self.mask()),
        );
        self.wake.notify();
        true
    }

    /// Start the closing handshake with `code` (once).
    pub fn close(&self, code: CloseCode) {
        if self.closing.replace(true) || self.finished.get() {
            return;
        }
        let payload = code.0.to_be_bytes();
        encode_into(
            &mut self.pending.borrow_mut(),
            OpCode::Close,
            true,
            &payload,
            Some(self.mask()),
        );
        self.wake.notify();
    }

    /// Whether a close frame has been queued.
    pub fn closing(&self) -> bool {
        self.closing.get()
    }

    /// Bytes queued and not yet handed to the kernel.
    pub fn backlog(&self) -> usize {
        self.pending.borrow().len()
    }

    /// Whether the connection can send no more: a write failed or the
    /// connection has ended.
    pub fn done(&self) -> bool {
        self.failed.get() || self.finished.get()
    }

    fn finish(&self) {
        self.finished.set(true);
        self.wake.notify();
    }

    fn mask(&self) -> [u8; 4] {
        // xorshift64: masks need only be unpredictable to intermediaries.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        (x as u32).to_ne_bytes()
    }
}

/// Flush `w`'s pending frames until it is finished. Two buffers alternate
/// (one being written, one collecting), so steady sending allocates nothing.
async fn run_writer(w: Rc<Writer>, mut half: OwnedWriteHalf<TcpStream>) {
    let mut out = BytesMut::new();
    loop {
        if w.pending.borrow().is_empty() {
            if w.finished.get() {
                break;
            }
            w.wake.wait().await;
            continue;
        }
        std::mem::swap(&mut *w.pending.borrow_mut(), &mut out);
        let (res, buf) = write_all(&mut half, out).await;
        out = buf;
        out.clear();
        if res.is_err() {
            // The reader will see the failure too; drop what is queued and
            // refuse more, but keep the half until the connection finishes.
            w.failed.set(true);
            w.pending.borrow_mut().clear();
            while !w.finished.get() {
                w.wake.wait().await;
            }
            break;
        }
    }
    // Shut our sending side down cleanly once everything queued is out.
    let _ = half.shutdown().await;
}
