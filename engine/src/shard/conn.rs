//! A connection's life on its shard: the read loop (readiness, then a
//! non-blocking read into the shard's scratch buffer), the upgrade
//! handshake, frame and message handling, the close handshake, and
//! teardown. Input left over from a read (a partial frame, a partial
//! request) is the only per-connection buffer, and only while partial.

use std::net::IpAddr;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use ringcast_protocol::frame::{self, Decoded, OpCode};
use ringcast_protocol::handshake::server::{self, ParsedRequest, Request};
use ringcast_protocol::{CloseCode, Error, Message, MessageAssembler};

use super::io::{self, Stream};
use super::outbound::Outbound;
use super::{ConnId, Shard};
use crate::http::{self, Endpoint, Route};
use crate::metrics::Counter;
use crate::room::Membership;

/// Reads per readiness wake-up before yielding to other connections.
const READS_PER_WAKE: usize = 4;

/// Smallest read into a connection's own buffer (when a frame is partial).
const MIN_CARRY_READ: usize = 16 * 1024;

/// Largest single read into a connection's own buffer.
const MAX_CARRY_READ: usize = 4 * 1024 * 1024;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Reading the HTTP request.
    Handshaking,
    /// A WebSocket carrying data.
    Open,
    /// We sent a close frame and wait for the peer's.
    CloseSent,
    /// Nothing more to say: flush, shut our side down, wait for EOF.
    Finishing,
}

/// What the connection is for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// Not upgraded (yet): the peer's TCP address.
    Pending(IpAddr),
    /// `/echo`.
    Echo,
    /// `/room/<name>`.
    Room {
        /// Where it sits in the room.
        membership: Membership,
        /// Whether it receives its own messages.
        echo_self: bool,
    },
}

/// Input kept between reads: bytes of an incomplete request or frame, and
/// a fragmented message in progress.
#[derive(Default)]
pub(super) struct RxState {
    carry: Vec<u8>,
    /// Bytes the decoder said it still needs (a read-size hint).
    need: usize,
    assembler: Option<MessageAssembler>,
}

/// One connection's state in the shard's table.
pub(super) struct Conn {
    pub stream: Rc<Stream>,
    pub phase: Phase,
    /// When the phase started (Handshaking, CloseSent, Finishing) or when the
    /// outstanding ping was sent (Open), in shard-clock milliseconds.
    pub since: u32,
    /// Last time anything was read from the peer.
    pub last_heard: u32,
    pub kind: Kind,
    pub out: Outbound,
    pub rx: Option<Box<RxState>>,
    pub ping_outstanding: bool,
    pub dirty: bool,
    pub writer_active: bool,
    pub write_shut: bool,
    /// The peer's close frame arrived: once ours is flushed the close
    /// handshake is complete and the TCP connection ends.
    pub peer_closed: bool,
    pub cut: bool,
}

impl Conn {
    pub(super) fn new(stream: Rc<Stream>, peer: IpAddr, now: u32) -> Conn {
        Conn {
            stream,
            phase: Phase::Handshaking,
            since: now,
            last_heard: now,
            kind: Kind::Pending(peer),
            out: Outbound::default(),
            rx: None,
            ping_outstanding: false,
            dirty: false,
            writer_active: false,
            write_shut: false,
            peer_closed: false,
            cut: false,
        }
    }

    /// Shut the socket down both ways: the reader sees EOF and tears down;
    /// a writer waiting for space wakes up.
    pub(super) fn cut(&mut self) {
        self.cut = true;
        io::shutdown(self.stream.fd(), libc::SHUT_RDWR);
    }
}

enum ReadOutcome {
    /// Data was read and handled.
    Data,
    /// Nothing to read: the task's waker is parked on the socket.
    Pending,
    /// End of stream or a socket error.
    Closed,
}

/// The task of one connection: read until the peer or the shard ends it,
/// then remove it from the table. Its whole state is this closure's three
/// captures; the first poll reads at once, since a new connection's request
/// is usually already there.
pub(super) async fn run_connection(shard: Rc<Shard>, id: ConnId, stream: Rc<Stream>) {
    std::future::poll_fn(|cx| shard.poll_readable(id, &stream, cx)).await;
    shard.remove(id);
    shard.task_finished();
}

impl Shard {
    /// Admit an accepted socket: enforce --max-connections, register it, and
    /// start its task.
    pub(super) fn admit(self: &Rc<Self>, socket: std::net::TcpStream, peer: std::net::SocketAddr) {
        use std::sync::atomic::Ordering;
        self.metrics().inc(Counter::Accepted);
        let open = self.shared.open_sockets.fetch_add(1, Ordering::Relaxed);
        if open >= self.shared.config.max_connections {
            self.shared.open_sockets.fetch_sub(1, Ordering::Relaxed);
            self.metrics().inc(Counter::RejectedOverCapacity);
            return; // dropping the socket closes it
        }
        let stream = match Stream::new(socket) {
            Ok(stream) => Rc::new(stream),
            Err(error) => {
                self.shared.open_sockets.fetch_sub(1, Ordering::Relaxed);
                self.metrics().inc(Counter::AcceptOther);
                crate::log!(Debug, "could not register a connection: {error}");
                return;
            }
        };
        let id = self
            .conns
            .borrow_mut()
            .insert(Conn::new(stream.clone(), peer.ip(), self.now()));
        self.metrics().inc(Counter::Handshaking);
        self.task_started();
        monoio::spawn(run_connection(self.clone(), id, stream));
    }

    /// Read what the socket has, handle it, and flush what it produced.
    /// `Ready` when the connection is over. Reads go on until the socket
    /// would block (readiness is edge-triggered: the waker is only parked
    /// by a read that would block), or until a per-wake budget is spent, in
    /// which case the task yields and wakes itself to be fair to the others.
    fn poll_readable(
        self: &Rc<Self>,
        id: ConnId,
        stream: &Stream,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut outcome = ReadOutcome::Data;
        self.reading.set(Some(id));
        for _ in 0..READS_PER_WAKE {
            let Some(mut rx) = self
                .conns
                .borrow_mut()
                .get_mut(id)
                .map(|conn| conn.rx.take())
            else {
                outcome = ReadOutcome::Closed;
                break;
            };
            outcome = match rx.as_deref_mut() {
                Some(state) if !state.carry.is_empty() => {
                    self.read_into_carry(id, stream, cx, state)
                }
                _ => self.read_into_scratch(id, stream, cx, &mut rx),
            };
            let mut conns = self.conns.borrow_mut();
            let Some(conn) = conns.get_mut(id) else {
                outcome = ReadOutcome::Closed;
                break;
            };
            conn.rx = rx.filter(|state| !state.carry.is_empty() || state.assembler.is_some());
            if let ReadOutcome::Data = outcome {
                conn.last_heard = self.now();
                conn.ping_outstanding = false;
            } else {
                break;
            }
            if conn.peer_closed {
                // Nothing after the peer's close frame matters: flush the
                // echo without the read that would only say EAGAIN. If the
                // flush leaves the connection open, the `Data` outcome
                // re-polls, and that read parks the waker as usual.
                break;
            }
        }
        self.flush_dirty();
        self.reading.set(None);
        let close_handshake_done = self
            .conns
            .borrow()
            .get(id)
            .is_some_and(|conn| conn.peer_closed && conn.write_shut);
        if close_handshake_done {
            return Poll::Ready(());
        }
        match outcome {
            ReadOutcome::Closed => Poll::Ready(()),
            ReadOutcome::Pending => Poll::Pending,
            ReadOutcome::Data => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    fn read_into_scratch(
        self: &Rc<Self>,
        id: ConnId,
        stream: &Stream,
        cx: &mut Context<'_>,
        rx: &mut Option<Box<RxState>>,
    ) -> ReadOutcome {
        let mut scratch = self.scratch.borrow_mut();
        let read = match stream.poll_recv(cx, &mut scratch) {
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return ReadOutcome::Closed,
            Poll::Ready(Ok(read)) => read,
            Poll::Pending => return ReadOutcome::Pending,
        };
        let mut assembler = rx.as_mut().and_then(|state| state.assembler.take());
        let (consumed, need) = self.process(id, &mut scratch[..read], &mut assembler);
        let keep_assembler = assembler.filter(MessageAssembler::is_partial);
        if consumed < read || keep_assembler.is_some() {
            let state = rx.get_or_insert_with(Box::default);
            state.carry.extend_from_slice(&scratch[consumed..read]);
            state.need = need;
            state.assembler = keep_assembler;
        }
        ReadOutcome::Data
    }

    fn read_into_carry(
        self: &Rc<Self>,
        id: ConnId,
        stream: &Stream,
        cx: &mut Context<'_>,
        state: &mut RxState,
    ) -> ReadOutcome {
        let kept = state.carry.len();
        let chunk = state.need.clamp(MIN_CARRY_READ, MAX_CARRY_READ);
        state.carry.resize(kept + chunk, 0);
        let polled = stream.poll_recv(cx, &mut state.carry[kept..]);
        let read = match polled {
            Poll::Ready(Ok(read)) if read > 0 => read,
            Poll::Ready(_) => return ReadOutcome::Closed,
            Poll::Pending => {
                state.carry.truncate(kept);
                return ReadOutcome::Pending;
            }
        };
        state.carry.truncate(kept + read);
        let mut assembler = state.assembler.take();
        let (consumed, need) = self.process(id, &mut state.carry, &mut assembler);
        state.carry.drain(..consumed);
        state.need = need;
        state.assembler = assembler.filter(MessageAssembler::is_partial);
        if state.carry.is_empty() && state.carry.capacity() > MIN_CARRY_READ {
            state.carry = Vec::new(); // a large frame is done: give its buffer back
        }
        ReadOutcome::Data
    }

    /// Handle every complete request or frame at the start of `input`.
    /// Returns how many bytes were used and how many more the next item
    /// needs (a read-size hint).
    fn process(
        self: &Rc<Self>,
        id: ConnId,
        input: &mut [u8],
        assembler: &mut Option<MessageAssembler>,
    ) -> (usize, usize) {
        let mut offset = 0;
        loop {
            let Some(phase) = self.conns.borrow().get(id).map(|conn| conn.phase) else {
                return (input.len(), 0);
            };
            match phase {
                Phase::Handshaking => match self.handshake(id, &input[offset..]) {
                    0 => return (offset, 0),
                    used => offset += used,
                },
                Phase::Finishing => return (input.len(), 0),
                Phase::Open | Phase::CloseSent => match self.decoder.decode(&mut input[offset..]) {
                    Ok(Decoded::NeedMore(need)) => return (offset, need),
                    Ok(Decoded::Frame {
                        header,
                        payload,
                        consumed,
                    }) => {
                        offset += consumed;
                        let assembler = assembler
                            .get_or_insert_with(|| MessageAssembler::new(self.message_limits));
                        match assembler.push(&header, payload) {
                            Ok(Some(message)) => self.on_message(id, message),
                            Ok(None) => {}
                            Err(error) => self.fail(id, &error),
                        }
                    }
                    Err(error) => {
                        self.fail(id, &error);
                        return (input.len(), 0);
                    }
                },
            }
        }
    }

    /// Parse the request in `input`; answer it. Returns the bytes used, 0
    /// when the request is still incomplete.
    fn handshake(self: &Rc<Self>, id: ConnId, input: &[u8]) -> usize {
        match server::parse_request(input, &self.request_limits) {
            Ok(ParsedRequest::NeedMore) => 0,
            Ok(ParsedRequest::Complete(request, used)) => {
                self.respond(id, &request);
                used
            }
            Err(error) => {
                self.refuse(id, &error);
                input.len().max(1)
            }
        }
    }

    fn respond(self: &Rc<Self>, id: ConnId, request: &Request) {
        let draining = self.draining.get();
        match http::route(request) {
            Route::Health => match draining {
                false => self.answer(id, 200, "text/plain", b"ok\n"),
                true => self.answer(id, 503, "text/plain", b"draining\n"),
            },
            Route::Metrics => {
                let body = self.shared.render_metrics();
                self.answer(id, 200, "text/plain; version=0.0.4", body.as_bytes());
            }
            Route::WhoAmI => {
                let peer = match self.conns.borrow().get(id).map(|conn| conn.kind) {
                    Some(Kind::Pending(peer)) => peer,
                    _ => return,
                };
                let client =
                    http::client_address(peer, request, &self.shared.config.trusted_proxies);
                self.answer(id, 200, "text/plain", format!("{client}\n").as_bytes());
            }
            Route::NotFound => {
                self.metrics().inc(Counter::HsNotFound);
                self.answer(id, 404, "text/plain", b"not found\n");
            }
            Route::WebSocket(_) if draining => self.answer(id, 503, "text/plain", b"draining\n"),
            Route::WebSocket(_) if !request.wants_upgrade() => {
                self.refuse(id, &Error::NotAnUpgrade)
            }
            Route::WebSocket(endpoint) => match request.validate_upgrade() {
                Ok(upgrade) => self.accept_upgrade(id, &upgrade.key, endpoint),
                Err(error) => self.refuse(id, &error),
            },
        }
    }

    fn accept_upgrade(self: &Rc<Self>, id: ConnId, key: &str, endpoint: Endpoint) {
        let mut response = Vec::with_capacity(160);
        server::write_accept(&mut response, key, None, None);
        let kind = match endpoint {
            Endpoint::Echo => Kind::Echo,
            Endpoint::Room { name, echo_self } => Kind::Room {
                membership: self
                    .rooms
                    .borrow_mut()
                    .join(&self.shared.rooms, self.index, &name, id),
                echo_self,
            },
        };
        let mut conns = self.conns.borrow_mut();
        let Some(conn) = conns.get_mut(id) else {
            return;
        };
        conn.kind = kind;
        conn.phase = Phase::Open;
        conn.last_heard = self.now();
        self.metrics().dec(Counter::Handshaking);
        self.metrics().inc(Counter::Connections);
        self.push_control(id, conn, Bytes::from(response));
    }

    /// Answer a plain HTTP request and close.
    fn answer(&self, id: ConnId, status: u16, content_type: &str, body: &[u8]) {
        let mut response = Vec::with_capacity(128 + body.len());
        server::write_plain(&mut response, status, content_type, body);
        self.metrics().inc(Counter::HttpRequests);
        self.finish_handshake(id, response);
    }

    /// Refuse an upgrade with the status its error maps to, and close.
    fn refuse(&self, id: ConnId, error: &Error) {
        let mut response = Vec::with_capacity(192);
        server::write_reject(&mut response, error);
        self.metrics().inc(http::handshake_failure_counter(error));
        self.finish_handshake(id, response);
    }

    fn finish_handshake(&self, id: ConnId, response: Vec<u8>) {
        let mut conns = self.conns.borrow_mut();
        let Some(conn) = conns.get_mut(id) else {
            return;
        };
        conn.phase = Phase::Finishing;
        conn.since = self.now();
        self.metrics().dec(Counter::Handshaking);
        self.push_control(id, conn, Bytes::from(response));
    }

    fn on_message(self: &Rc<Self>, id: ConnId, message: Message<'_>) {
        match message {
            Message::Text(text) => self.on_data(id, OpCode::Text, text.as_bytes()),
            Message::Binary(data) => self.on_data(id, OpCode::Binary, data),
            Message::Ping(payload) => {
                let mut conns = self.conns.borrow_mut();
                if let Some(conn) = conns.get_mut(id).filter(|conn| conn.phase == Phase::Open) {
                    self.push_control(id, conn, frame::encode(OpCode::Pong, true, payload, None));
                }
            }
            Message::Pong(_) => {}
            Message::Close(close) => self.on_peer_close(id, close.map(|(code, _)| code)),
        }
    }

    fn on_data(self: &Rc<Self>, id: ConnId, opcode: OpCode, payload: &[u8]) {
        let mut conns = self.conns.borrow_mut();
        let Some(conn) = conns.get_mut(id) else {
            return;
        };
        if conn.phase != Phase::Open {
            return; // data after our close frame is ignored (RFC 6455 5.5.1)
        }
        self.metrics().inc(Counter::MessagesIn);
        self.metrics().add(Counter::BytesIn, payload.len() as u64);
        let frame = frame::encode(opcode, true, payload, None);
        match conn.kind {
            Kind::Echo => self.enqueue(id, conn, frame),
            Kind::Room {
                membership,
                echo_self,
            } => {
                drop(conns);
                self.publish(membership.room, frame, (!echo_self).then_some(id));
            }
            Kind::Pending(_) => {}
        }
    }

    /// The peer sent a close frame: echo it if it closed first, then finish.
    fn on_peer_close(&self, id: ConnId, code: Option<CloseCode>) {
        let mut conns = self.conns.borrow_mut();
        let Some(conn) = conns.get_mut(id) else {
            return;
        };
        match conn.phase {
            Phase::Open => {
                let echo = match code {
                    Some(code) => frame::encode_close(code, "", None),
                    None => frame::encode(OpCode::Close, true, &[], None),
                };
                conn.phase = Phase::Finishing;
                conn.since = self.now();
                conn.peer_closed = true;
                self.push_control(id, conn, echo);
            }
            Phase::CloseSent => {
                conn.phase = Phase::Finishing;
                conn.since = self.now();
                conn.peer_closed = true;
                self.mark_dirty(id, conn); // the flush ends the connection
            }
            Phase::Handshaking | Phase::Finishing => {}
        }
    }

    /// Fail the connection for a protocol violation: count it by close code,
    /// send the close frame it maps to, and finish.
    fn fail(&self, id: ConnId, error: &Error) {
        let code = error.close_code().unwrap_or(CloseCode::PROTOCOL_ERROR);
        match code {
            CloseCode::INVALID_PAYLOAD => self.metrics().inc(Counter::Close1007),
            CloseCode::MESSAGE_TOO_BIG => self.metrics().inc(Counter::Close1009),
            _ => self.metrics().inc(Counter::Close1002),
        }
        crate::log!(Debug, "shard {}: failing a connection: {error}", self.index);
        let mut conns = self.conns.borrow_mut();
        let Some(conn) = conns.get_mut(id) else {
            return;
        };
        if conn.phase == Phase::Open {
            let reason = error.to_string();
            self.push_control(id, conn, frame::encode_close(code, &reason, None));
        }
        conn.phase = Phase::Finishing;
        conn.since = self.now();
        self.mark_dirty(id, conn);
    }

    /// Tear a connection down after its task ends.
    fn remove(&self, id: ConnId) {
        let Some(conn) = self.conns.borrow_mut().remove(id) else {
            return;
        };
        if conn.writer_active {
            // The writer holds its own handle and waits for room that may
            // never come: shutting the socket down wakes it. Otherwise
            // dropping the last handle closes the socket; no syscall needed.
            io::shutdown(conn.stream.fd(), libc::SHUT_RDWR);
        }
        match (conn.phase, conn.kind) {
            (Phase::Handshaking, _) => self.metrics().dec(Counter::Handshaking),
            (_, Kind::Pending(_)) => {}
            _ => self.metrics().dec(Counter::Connections),
        }
        if let Kind::Room { membership, .. } = conn.kind {
            let moved = self
                .rooms
                .borrow_mut()
                .leave(&self.shared.rooms, self.index, membership);
            if let Some(moved) = moved {
                if let Some(Kind::Room {
                    membership: slot, ..
                }) = self
                    .conns
                    .borrow_mut()
                    .get_mut(moved)
                    .map(|conn| &mut conn.kind)
                {
                    slot.index = membership.index;
                }
            }
        }
        self.shared
            .open_sockets
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Send a room message: hand it to every other shard with members, then
    /// queue it for the members here.
    fn publish(&self, room: u64, frame: Bytes, exclude: Option<ConnId>) {
        let shards = match self.rooms.borrow().get(room) {
            Some(local) => local.interest.shards() & !(1u64 << self.index),
            None => return,
        };
        let mut others = shards;
        while others != 0 {
            let shard = others.trailing_zeros() as usize;
            others &= others - 1;
            self.shared.inboxes[shard].send(crate::bus::BusMessage::Broadcast {
                room,
                frame: frame.clone(),
            });
        }
        self.deliver_local(room, &frame, exclude);
    }

    /// Queue `frame` for every local member of `room` except `exclude`.
    pub(super) fn deliver_local(&self, room: u64, frame: &Bytes, exclude: Option<ConnId>) {
        let rooms = self.rooms.borrow();
        let Some(local) = rooms.get(room) else { return };
        let mut conns = self.conns.borrow_mut();
        let mut delivered = 0;
        for &member in &local.members {
            if Some(member) == exclude {
                continue;
            }
            if let Some(conn) = conns.get_mut(member) {
                self.enqueue(member, conn, frame.clone());
                delivered += 1;
            }
        }
        self.metrics().add(Counter::BroadcastDeliveries, delivered);
    }

    /// Close every connection with 1001 "going away" (drain).
    pub(super) fn close_all_going_away(&self) {
        let mut conns = self.conns.borrow_mut();
        let now = self.now();
        for (id, conn) in conns.iter_mut() {
            match conn.phase {
                Phase::Handshaking => conn.cut(),
                Phase::Open => {
                    conn.phase = Phase::CloseSent;
                    conn.since = now;
                    self.push_control(
                        id,
                        conn,
                        frame::encode_close(CloseCode::GOING_AWAY, "going away", None),
                    );
                }
                Phase::CloseSent | Phase::Finishing => {}
            }
        }
    }

    /// Cut every connection at once (drain deadline passed).
    pub(super) fn cut_all(&self) {
        for (_, conn) in self.conns.borrow_mut().iter_mut() {
            conn.cut();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every idle connection pays for this struct; keep it from growing
    /// unnoticed (uSockets' discipline: a few dozen bytes per socket).
    #[test]
    fn connection_state_stays_small() {
        assert!(
            std::mem::size_of::<Conn>() <= 112,
            "Conn is {} bytes",
            std::mem::size_of::<Conn>()
        );
    }
}
