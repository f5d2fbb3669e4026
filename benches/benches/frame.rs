//! Frame codec: decode + unmask, encode (server unmasked, client masked) and
//! plain unmasking, ringcast against tungstenite and fastwebsockets on the
//! same bytes (see `docs/benchmarks.md` for what each side does).
//!
//! Every side is checked against the reference reader in `ringcast_benches`
//! once before it is measured, so a benchmark cannot be fast by being wrong.

use std::future::Future;
use std::hint::black_box;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringcast_benches::{
    read_frame, xor_mask, FrameBatch, LoopStream, Placed, MASK_KEY, PAYLOAD_SIZES,
};
use ringcast_protocol::frame::{self, Decoded, FrameDecoder, OpCode, Role};
use ringcast_protocol::mask::apply_mask;

/// Frame size limit for every decoder: the peers' message defaults (64 MiB).
const MAX_FRAME: usize = 64 << 20;

// ---------------------------------------------------------------- decode ---

/// What the measured loops do with each decoded payload.
fn consume(payload: &[u8]) {
    black_box(payload);
}

/// ringcast: decode every frame of `buf` in place (header checks, unmask).
fn ringcast_decode(decoder: &FrameDecoder, mut buf: &mut [u8], mut on_payload: impl FnMut(&[u8])) {
    while !buf.is_empty() {
        let consumed = match decoder.decode(buf) {
            Ok(Decoded::Frame {
                header,
                payload,
                consumed,
            }) => {
                debug_assert_eq!(header.opcode, OpCode::Binary);
                on_payload(payload);
                consumed
            }
            other => panic!("ringcast decode: {other:?}"),
        };
        buf = &mut buf[consumed..];
    }
}

/// tungstenite: `WebSocket::read` (server role) of `frames` messages.
fn tungstenite_decode(
    ws: &mut tungstenite::WebSocket<LoopStream>,
    frames: usize,
    mut on_payload: impl FnMut(&[u8]),
) {
    for _ in 0..frames {
        match ws.read() {
            Ok(tungstenite::Message::Binary(payload)) => on_payload(&payload),
            other => panic!("tungstenite read: {other:?}"),
        }
    }
}

/// fastwebsockets: `WebSocket::read_frame` (server role) of `frames` frames.
fn fastwebsockets_decode(
    ws: &mut fastwebsockets::WebSocket<AsyncLoop>,
    frames: usize,
    mut on_payload: impl FnMut(&[u8]),
) {
    for _ in 0..frames {
        match ready(ws.read_frame()) {
            Ok(frame) if frame.opcode == fastwebsockets::OpCode::Binary => {
                on_payload(&frame.payload)
            }
            Ok(frame) => panic!("fastwebsockets read: opcode {:?}", frame.opcode),
            Err(e) => panic!("fastwebsockets read: {e}"),
        }
    }
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for size in PAYLOAD_SIZES {
        let batch = FrameBatch::masked(size);
        let frames = batch.frames;
        let expect = |p: &[u8]| assert_eq!(p, &batch.payload[..]);
        group.throughput(Throughput::Bytes(batch.payload_bytes()));

        // Same work as the peers: the batch is first copied into the
        // decoder's buffer (the peers copy it from their stream into theirs:
        // the socket read), then every frame is decoded and unmasked.
        let decoder = FrameDecoder::new(Role::Server, MAX_FRAME as u64);
        let source = Placed::new(&batch.bytes);
        let mut buf = batch.bytes.clone();
        ringcast_decode(&decoder, &mut buf, expect);
        group.bench_function(BenchmarkId::new("ringcast", size), |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(source.as_slice());
                ringcast_decode(&decoder, &mut buf, consume);
            })
        });

        // For reference, not compared: decode only, on bytes already in the
        // buffer (unmasking twice restores them, so the input stays valid).
        group.bench_function(BenchmarkId::new("ringcast-in-place", size), |b| {
            b.iter(|| ringcast_decode(&decoder, &mut buf, consume))
        });

        let config =
            tungstenite::protocol::WebSocketConfig::default().max_frame_size(Some(MAX_FRAME));
        let stream = LoopStream::new(&batch.bytes);
        let mut ws = tungstenite::WebSocket::from_raw_socket(
            stream,
            tungstenite::protocol::Role::Server,
            Some(config),
        );
        tungstenite_decode(&mut ws, frames, expect);
        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            b.iter(|| tungstenite_decode(&mut ws, frames, consume))
        });

        let stream = AsyncLoop(LoopStream::new(&batch.bytes));
        let mut ws =
            fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
        ws.set_max_message_size(MAX_FRAME);
        fastwebsockets_decode(&mut ws, frames, expect);
        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            b.iter(|| fastwebsockets_decode(&mut ws, frames, consume))
        });
    }
    group.finish();
}

// ---------------------------------------------------------------- encode ---

/// Check that `wire` is exactly one final binary frame carrying `payload`,
/// masked or not as `masked` says.
fn check_encoded(who: &str, wire: &[u8], payload: &[u8], masked: bool) {
    let frame = read_frame(wire).unwrap_or_else(|| panic!("{who}: truncated frame"));
    assert_eq!(frame.first_byte, 0x82, "{who}: FIN + binary");
    assert_eq!(frame.mask.is_some(), masked, "{who}: mask bit");
    assert_eq!(frame.payload, payload, "{who}: payload");
    assert_eq!(
        frame.wire_len,
        wire.len(),
        "{who}: one frame, minimal header"
    );
}

/// Encode one final binary frame per iteration into a reused output buffer,
/// server role (unmasked) or client role (masked with `MASK_KEY`).
fn encode(c: &mut Criterion, masked: bool) {
    let mut group = c.benchmark_group(if masked {
        "encode-client"
    } else {
        "encode-server"
    });
    let mask = masked.then_some(MASK_KEY);
    for size in PAYLOAD_SIZES {
        let placed = Placed::new(&ringcast_benches::payload(size));
        let payload = placed.as_slice();
        group.throughput(Throughput::Bytes(size as u64));

        // ringcast: `encode_into` a reused BytesMut (the compared figure).
        let mut out = BytesMut::with_capacity(size + 14);
        frame::encode_into(&mut out, OpCode::Binary, true, payload, mask);
        check_encoded("ringcast", &out, payload, masked);
        group.bench_function(BenchmarkId::new("ringcast", size), |b| {
            b.iter(|| {
                out.clear();
                frame::encode_into(&mut out, OpCode::Binary, true, black_box(payload), mask);
                black_box(&out);
            })
        });

        // For reference, not compared: `encode` into a fresh Bytes per frame
        // (the broadcast path: allocated per frame, then shared by every queue).
        check_encoded(
            "ringcast encode",
            &frame::encode(OpCode::Binary, true, payload, mask),
            payload,
            masked,
        );
        group.bench_function(BenchmarkId::new("ringcast-bytes", size), |b| {
            b.iter(|| {
                black_box(frame::encode(
                    OpCode::Binary,
                    true,
                    black_box(payload),
                    mask,
                ))
            })
        });

        // tungstenite: `WebSocketContext::write(Message::Binary)`, which formats
        // the frame into its reused out buffer (masking there, with a fresh
        // random key per frame, in the client role) and hands the buffer to
        // the stream past 128 KiB; the stream discards it.
        let role = if masked {
            tungstenite::protocol::Role::Client
        } else {
            tungstenite::protocol::Role::Server
        };
        let (storage, range) = placed.clone().into_parts();
        let data = Bytes::from(storage).slice(range);
        let mut capture = io::Cursor::new(Vec::new());
        let mut ctx = tungstenite::protocol::WebSocketContext::new(role, None);
        ctx.write(&mut capture, tungstenite::Message::Binary(data.clone()))
            .unwrap();
        ctx.flush(&mut capture).unwrap();
        check_encoded("tungstenite", capture.get_ref(), payload, masked);
        let mut sink = LoopStream::new(&[0]);
        let mut ctx = tungstenite::protocol::WebSocketContext::new(role, None);
        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            b.iter(|| {
                ctx.write(
                    &mut sink,
                    tungstenite::Message::Binary(black_box(&data).clone()),
                )
                .unwrap()
            })
        });

        // fastwebsockets: `Frame::write` into a reused Vec (what `write_frame`
        // does up to 1 KiB; above that it sends header and payload as two
        // iovecs without copying). Client role: `Frame::mask` first, in place
        // on a scratch copy of the payload (its cheapest masked path: no
        // allocation; masking twice restores the scratch, the work is the same).
        let mut out = Vec::new();
        let mut scratch = placed.clone();
        let wire = fastwebsockets_encode(&mut out, scratch.as_mut_slice(), mask);
        check_encoded("fastwebsockets", wire, payload, masked);
        scratch.as_mut_slice().copy_from_slice(payload);
        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            b.iter(|| {
                black_box(
                    fastwebsockets_encode(&mut out, black_box(scratch.as_mut_slice()), mask).len(),
                )
            })
        });
    }
    group.finish();
}

/// fastwebsockets' encode path; returns the frame's bytes in `out`.
fn fastwebsockets_encode<'a>(
    out: &'a mut Vec<u8>,
    payload: &mut [u8],
    mask: Option<[u8; 4]>,
) -> &'a [u8] {
    use fastwebsockets::{Frame, OpCode, Payload};
    match mask {
        Some(key) => {
            let mut frame = Frame::new(
                true,
                OpCode::Binary,
                Some(key),
                Payload::BorrowedMut(payload),
            );
            frame.mask();
            frame.write(out)
        }
        None => Frame::binary(Payload::Borrowed(payload)).write(out),
    }
}

fn encode_server(c: &mut Criterion) {
    encode(c, false);
}

fn encode_client(c: &mut Criterion) {
    encode(c, true);
}

// ---------------------------------------------------------------- unmask ---

/// XOR a payload with the key in place. tungstenite's `apply_mask` is private;
/// fastwebsockets' `unmask` is a copy of it (its source says so, and the two
/// functions are identical), so the fastwebsockets figure stands for both.
fn unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("unmask");
    for size in PAYLOAD_SIZES {
        let payload = ringcast_benches::payload(size);
        let masked: Vec<u8> = xor_mask(&payload, MASK_KEY).collect();
        group.throughput(Throughput::Bytes(size as u64));

        let mut buf = masked.clone();
        apply_mask(&mut buf, MASK_KEY, 0);
        assert_eq!(buf, payload, "ringcast apply_mask");
        group.bench_function(BenchmarkId::new("ringcast", size), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), MASK_KEY, 0))
        });

        let mut buf = masked.clone();
        fastwebsockets::unmask(&mut buf, MASK_KEY);
        assert_eq!(buf, payload, "fastwebsockets unmask");
        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf), MASK_KEY))
        });
    }
    group.finish();
}

// ------------------------------------------------ async plumbing (fastws) ---

/// [`LoopStream`] behind tokio's traits: every poll is ready at once.
struct AsyncLoop(LoopStream);

impl tokio::io::AsyncRead for AsyncLoop {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // put_slice writes into the uninitialised tail without zeroing it,
        // as a socket read does.
        let chunk = self.0.next_chunk(buf.remaining());
        buf.put_slice(chunk);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for AsyncLoop {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Run a future that never waits (its stream is in memory) to completion.
fn ready<F: Future>(fut: F) -> F::Output {
    match pin!(fut).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory stream never blocks"),
    }
}

criterion_group!(benches, decode, encode_server, encode_client, unmask);
criterion_main!(benches);
