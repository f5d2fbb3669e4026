//! fastwebsockets peer: `/echo` and `/room/<name>` (sender included), one
//! thread (tokio current_thread runtime). The upgrade goes through hyper 1
//! (fastwebsockets' `upgrade` feature, its documented server path); frames
//! keep their opcode and payload.
//!
//! Echo: one task per connection, `read_frame` then `write_frame` (which
//! writes at once: fastwebsockets has no write buffering to coalesce into).
//! Messages are single frames here (what the load generator sends); neither
//! path reassembles fragmented messages.
//! Rooms: the stream is split (`unstable-split`); a writer task per member
//! drains an unbounded queue of shared payloads.

#[path = "../common.rs"]
mod common;

use std::rc::Rc;

use bytes::Bytes;
use common::{route, Route, SharedRooms};
use fastwebsockets::{upgrade, Frame, OpCode, Payload, WebSocketError};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

/// What a room queues per member: the opcode and the payload, shared.
#[derive(Clone)]
enum Out {
    Data(OpCode, Bytes),
    /// An obligated reply from the read half (pong, close echo).
    Control(OpCode, Bytes),
}

fn main() {
    common::serve_forever(
        "peer-fastwebsockets",
        |stream, rooms: SharedRooms<Out>| async move {
            let service = service_fn(move |req| handle(req, rooms.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        },
    );
}

async fn handle(
    mut req: Request<Incoming>,
    rooms: SharedRooms<Out>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let Some(route) = route(req.uri().path()) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    if !upgrade::is_upgrade_request(&req) {
        return Ok(status(StatusCode::UPGRADE_REQUIRED));
    }
    let (response, fut) = upgrade::upgrade(&mut req)?;
    tokio::task::spawn_local(async move {
        let Ok(mut ws) = fut.await else { return };
        ws.set_max_message_size(1 << 20);
        match route {
            Route::Echo => {
                let _ = echo(ws).await;
            }
            Route::Room(name) => room(ws, name, rooms).await,
        }
    });
    Ok(response)
}

fn status(code: StatusCode) -> Response<Empty<Bytes>> {
    let mut r = Response::new(Empty::new());
    *r.status_mut() = code;
    r
}

type Ws = fastwebsockets::WebSocket<TokioIo<hyper::upgrade::Upgraded>>;

async fn echo(mut ws: Ws) -> Result<(), WebSocketError> {
    // auto_pong and auto_close (the defaults) answer pings and close frames.
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            // A new frame: the one read still carries the client's mask flag
            // and written back as is it would go out masked.
            OpCode::Binary | OpCode::Text => {
                ws.write_frame(Frame::new(true, frame.opcode, None, frame.payload))
                    .await?
            }
            OpCode::Close => return Ok(()),
            _ => {}
        }
    }
}

async fn room(ws: Ws, name: String, rooms: SharedRooms<Out>) {
    let (mut rx, mut tx) = ws.split(tokio::io::split);
    let (queue, mut queued) = mpsc::unbounded_channel::<Out>();
    let id = rooms.borrow_mut().join(&name, queue.clone());
    let writer = tokio::task::spawn_local(async move {
        while let Some(out) = queued.recv().await {
            let (op, payload) = match &out {
                Out::Data(op, p) | Out::Control(op, p) => (*op, p),
            };
            let frame = Frame::new(true, op, None, Payload::Borrowed(payload));
            if tx.write_frame(frame).await.is_err() {
                return;
            }
            if op == OpCode::Close {
                return;
            }
        }
    });
    let control = Rc::new(queue);
    let mut obligated = {
        let control = control.clone();
        move |frame: Frame<'_>| {
            let out = Out::Control(frame.opcode, Bytes::copy_from_slice(&frame.payload));
            let sent = control
                .send(out)
                .map_err(|_| WebSocketError::ConnectionClosed);
            async move { sent }
        }
    };
    loop {
        let frame = match rx.read_frame(&mut obligated).await {
            Ok(frame) => frame,
            Err(_) => break,
        };
        match frame.opcode {
            OpCode::Binary | OpCode::Text => {
                let payload = match frame.payload {
                    Payload::Bytes(b) => b.freeze(),
                    other => Bytes::copy_from_slice(&other),
                };
                rooms
                    .borrow()
                    .publish(&name, &Out::Data(frame.opcode, payload));
            }
            OpCode::Close => break,
            _ => {}
        }
    }
    rooms.borrow_mut().leave(&name, id);
    drop(obligated);
    drop(control);
    let _ = writer.await;
}
