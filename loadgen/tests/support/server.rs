//! Small WebSocket servers for the integration tests: plain threads and
//! std::net on 127.0.0.1 port 0, speaking through ringcast-protocol's server
//! role. `/echo...` echoes every message to its sender; any other path is a
//! room (the path is the room name) whose messages go to every member, the
//! sender included. A [`Fault`] makes the server misbehave on purpose, so
//! the tests can prove the generator notices.

#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ringcast_protocol::frame::{encode, encode_close, FrameDecoder, OpCode, Role};
use ringcast_protocol::handshake::server::{
    parse_request, write_accept, ParsedRequest, RequestLimits,
};
use ringcast_protocol::{CloseCode, Decoded, Message, MessageAssembler, MessageLimits};

/// How the server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A correct server.
    None,
    /// Every 10th delivery is silently skipped.
    DropTenth,
    /// Every 50th delivery has one payload byte flipped.
    CorruptByte,
    /// Relays frames masked, which a server must never send.
    MaskedFrames,
    /// Reads the upgrade request and never answers it.
    NoUpgrade,
    /// After this long (from the first upgrade) every socket is cut and the
    /// listener closed, as if the process had died.
    DieAfter(Duration),
}

type Peer = Arc<Mutex<TcpStream>>;

struct Shared {
    fault: Fault,
    stop: AtomicBool,
    rooms: Mutex<HashMap<String, Vec<(u64, Peer)>>>,
    /// Every open socket by connection id, to cut them all at shutdown or
    /// "death"; a connection removes its own when it ends.
    sockets: Mutex<HashMap<u64, TcpStream>>,
    deliveries: AtomicU64,
    next_id: AtomicU64,
    first_upgrade: Mutex<Option<Instant>>,
}

/// A running test server; dropping it stops it and joins its threads.
pub struct Server {
    /// `ws://127.0.0.1:<port>`, no path.
    pub base: String,
    shared: Arc<Shared>,
    port: u16,
    accept: Option<JoinHandle<()>>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Server {
    /// Start a server with `fault`.
    pub fn start(fault: Fault) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            fault,
            stop: AtomicBool::new(false),
            rooms: Mutex::default(),
            sockets: Mutex::default(),
            deliveries: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            first_upgrade: Mutex::new(None),
        });
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let (shared, conns) = (shared.clone(), conns.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::Acquire) || dead(&shared) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let Ok(copy) = stream.try_clone() else {
                        continue;
                    };
                    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                    shared.sockets.lock().unwrap().insert(id, copy);
                    let shared = shared.clone();
                    let h = std::thread::spawn(move || {
                        serve(&shared, id, stream);
                        shared.sockets.lock().unwrap().remove(&id);
                    });
                    let mut all = conns.lock().unwrap();
                    all.retain(|h| !h.is_finished());
                    all.push(h);
                }
            })
        };
        if let Fault::DieAfter(after) = fault {
            let shared = shared.clone();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_millis(10));
                if shared.stop.load(Ordering::Acquire) {
                    return;
                }
                let t0 = *shared.first_upgrade.lock().unwrap();
                if t0.is_some_and(|t| t.elapsed() >= after) {
                    cut_all(&shared);
                    // Wake the accept loop so it sees the death and closes the listener.
                    let _ = TcpStream::connect(("127.0.0.1", port));
                    return;
                }
            });
        }
        Server {
            base: format!("ws://127.0.0.1:{port}"),
            shared,
            port,
            accept: Some(accept),
            conns,
        }
    }

    /// Deliveries the server wrote.
    pub fn deliveries(&self) -> u64 {
        self.shared.deliveries.load(Ordering::Relaxed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        cut_all(&self.shared);
        for h in self.conns.lock().unwrap().drain(..) {
            let _ = h.join();
        }
    }
}

fn dead(shared: &Shared) -> bool {
    match shared.fault {
        Fault::DieAfter(after) => shared
            .first_upgrade
            .lock()
            .unwrap()
            .is_some_and(|t| t.elapsed() >= after),
        _ => false,
    }
}

fn cut_all(shared: &Shared) {
    for (_, s) in shared.sockets.lock().unwrap().drain() {
        let _ = s.shutdown(Shutdown::Both);
    }
}

/// One connection: upgrade, then echo or relay until it ends.
fn serve(shared: &Shared, id: u64, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    let (request, used) = loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        match parse_request(&buf, &RequestLimits::default()) {
            Ok(ParsedRequest::Complete(r, used)) => break (r, used),
            Ok(ParsedRequest::NeedMore) => {}
            Err(_) => return,
        }
    };
    buf.drain(..used);
    if shared.fault == Fault::NoUpgrade {
        // Hold the socket open and say nothing until the client gives up.
        while matches!(stream.read(&mut chunk), Ok(n) if n > 0) {}
        return;
    }
    let Ok(upgrade) = request.validate_upgrade() else {
        return;
    };
    // Join the room before answering: a client that has its 101 may publish
    // at once, and every member it has been told is up must receive that.
    let echo = request.path.starts_with("/echo");
    let Ok(peer) = stream.try_clone() else { return };
    let me: Peer = Arc::new(Mutex::new(peer));
    if !echo {
        shared
            .rooms
            .lock()
            .unwrap()
            .entry(request.path.clone())
            .or_default()
            .push((id, me.clone()));
    }
    let mut response = Vec::new();
    write_accept(&mut response, &upgrade.key, None, None);
    // The 101 goes out under the peer's lock, so no relayed frame can
    // overtake it.
    if me.lock().unwrap().write_all(&response).is_err() {
        leave(shared, &request.path, id);
        return;
    }
    shared
        .first_upgrade
        .lock()
        .unwrap()
        .get_or_insert_with(Instant::now);
    let decoder = FrameDecoder::new(Role::Server, 16 << 20);
    let mut assembler = MessageAssembler::new(MessageLimits {
        max_message_size: 16 << 20,
        max_fragments: 1024,
    });
    'conn: loop {
        let mut off = 0;
        loop {
            let (header, payload, consumed) = match decoder.decode(&mut buf[off..]) {
                Ok(Decoded::Frame {
                    header,
                    payload,
                    consumed,
                }) => (header, payload, consumed),
                Ok(Decoded::NeedMore(_)) => break,
                Err(_) => break 'conn,
            };
            off += consumed;
            match assembler.push(&header, payload) {
                Ok(None) => {}
                Ok(Some(Message::Binary(p))) => {
                    if echo {
                        send(&me, &encode(OpCode::Binary, true, p, None));
                    } else {
                        relay(shared, &request.path, p);
                    }
                }
                Ok(Some(Message::Text(t))) => {
                    if echo {
                        send(&me, &encode(OpCode::Text, true, t.as_bytes(), None));
                    } else {
                        relay(shared, &request.path, t.as_bytes());
                    }
                }
                Ok(Some(Message::Ping(p))) => send(&me, &encode(OpCode::Pong, true, p, None)),
                Ok(Some(Message::Pong(_))) => {}
                Ok(Some(Message::Close(c))) => {
                    let code = c.map_or(CloseCode::NORMAL, |(code, _)| code);
                    send(&me, &encode_close(code, "", None));
                    break 'conn;
                }
                Err(_) => break 'conn,
            }
        }
        buf.drain(..off);
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    if !echo {
        leave(shared, &request.path, id);
    }
    // The server closes the TCP connection first (RFC 6455 7.1.1).
    let _ = stream.shutdown(Shutdown::Both);
}

/// Remove connection `id` from `room` (a no-op for echo paths).
fn leave(shared: &Shared, room: &str, id: u64) {
    if let Some(members) = shared.rooms.lock().unwrap().get_mut(room) {
        members.retain(|(m, _)| *m != id);
    }
}

fn send(peer: &Peer, frame: &[u8]) {
    let _ = peer.lock().unwrap().write_all(frame);
}

/// Send `payload` to every member of `room`, applying the fault.
fn relay(shared: &Shared, room: &str, payload: &[u8]) {
    let mask = (shared.fault == Fault::MaskedFrames).then_some([1, 2, 3, 4]);
    let frame = encode(OpCode::Binary, true, payload, mask);
    let members: Vec<Peer> = shared
        .rooms
        .lock()
        .unwrap()
        .get(room)
        .map(|m| m.iter().map(|(_, p)| p.clone()).collect())
        .unwrap_or_default();
    for peer in members {
        let n = shared.deliveries.fetch_add(1, Ordering::Relaxed) + 1;
        match shared.fault {
            Fault::DropTenth if n % 10 == 0 => continue,
            Fault::CorruptByte if n % 50 == 0 => {
                let mut bad = frame.to_vec();
                let last = bad.len() - 1;
                bad[last] ^= 0x20;
                send(&peer, &bad);
            }
            _ => send(&peer, &frame),
        }
    }
}
