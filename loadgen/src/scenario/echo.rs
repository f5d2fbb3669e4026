//! `echo`: every connection keeps up to `--window` checked messages in
//! flight. With `--rate` > 0 the thread's messages follow a fixed schedule
//! (message j of the thread is due at go + j / rate and goes to connection
//! j mod C) and latency is measured from that due time, so a slow server
//! cannot hide its stalls by slowing the sender (no coordinated omission).
//! With `--rate 0` each reply releases the next message (closed loop).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringcast_protocol::OpCode;

use super::{pace, sleep_until, Schedule, ThreadCtx, Times};
use crate::client::conn::Writer;
use crate::client::payload::{Stamp, Template};
use crate::client::tracker::{Arrival, SeqTracker};

/// One echo connection's sending and receiving state.
struct EchoConn {
    stream: u32,
    writer: Rc<Writer>,
    template: RefCell<Template>,
    /// Messages sent (the next sequence number).
    sent: Cell<u64>,
    /// Messages the schedule has made due (rate mode).
    due: Cell<u64>,
    in_flight: Cell<u32>,
    tracker: RefCell<SeqTracker>,
}

/// The thread's schedule and the number of connections it is dealt over:
/// message j goes to connection j mod C as that connection's message j / C.
type Sched = (Schedule, u64);

/// Run this thread's part.
pub async fn run(ctx: Rc<ThreadCtx>) {
    let args = ctx.args();
    let rooms = args.rooms.max(1);
    let ids = ctx.my_range(args.conns);
    let conns: Rc<RefCell<Vec<Rc<EchoConn>>>> = Rc::default();
    let sched: Rc<Cell<Option<Sched>>> = Rc::default();
    let payload_len = args.payload as usize;
    let body = {
        let conns = conns.clone();
        let sched = sched.clone();
        move |ctx: Rc<ThreadCtx>, gid: u64, mut conn: crate::client::conn::Conn| {
            let conns = conns.clone();
            let sched = sched.clone();
            async move {
                let ec = Rc::new(EchoConn {
                    stream: gid as u32,
                    writer: conn.writer.clone(),
                    template: RefCell::new(Template::new(gid as u32, payload_len)),
                    sent: Cell::new(0),
                    due: Cell::new(0),
                    in_flight: Cell::new(0),
                    tracker: RefCell::default(),
                });
                let slot = {
                    let mut all = conns.borrow_mut();
                    all.push(ec.clone());
                    all.len() as u64 - 1
                };
                let end = conn
                    .read(|p, now| on_reply(&ctx, &ec, slot, sched.get(), p, now))
                    .await;
                ctx.ended(conn, end, false).await;
            }
        }
    };
    let tasks = ctx.ramp(ids.clone(), |gid| gid % rooms, body).await;
    let times = ctx.wait_go().await;
    let open = conns.borrow().clone();
    if !open.is_empty() {
        if args.rate > 0.0 {
            // This thread's share of the total rate, spread over the
            // connections that did open.
            let rate = args.rate * (ids.end - ids.start) as f64 / args.conns as f64;
            let s = (Schedule { go: times.go, rate }, open.len() as u64);
            sched.set(Some(s));
            // A connection whose window is full owes the message; its next
            // reply sends it, still stamped with its due time.
            pace(&ctx, s.0, times, |j, _, now| {
                let slot = j % s.1;
                let ec = &open[slot as usize];
                ec.due.set(j / s.1 + 1);
                while ec.sent.get() < ec.due.get() && ec.in_flight.get() < args.window {
                    if !send(&ctx, ec, slot, Some(s), now, times) {
                        break;
                    }
                }
                true
            })
            .await;
        } else {
            for (slot, ec) in open.iter().enumerate() {
                for _ in 0..args.window {
                    send(&ctx, ec, slot as u64, None, Instant::now(), times);
                }
            }
            sleep_until(times.end).await;
        }
    }
    // Let replies in flight arrive, then account for what never came back.
    let grace_end = times.end + args.grace;
    while Instant::now() < grace_end
        && open
            .iter()
            .any(|ec| ec.in_flight.get() > 0 && !ec.writer.done())
    {
        monoio::time::sleep(Duration::from_millis(5)).await;
    }
    // Whatever the server sends before answering our close still counts
    // as delivered (late, and its latency says so); what never came is lost.
    ctx.close_all(tasks).await;
    for ec in &open {
        ctx.settle(&ec.tracker.borrow(), ec.sent.get());
    }
    ctx.settle_done();
}

/// Send connection `ec`'s next message. Its intended time is its due time on
/// the schedule, or `now` in closed-loop mode.
fn send(
    ctx: &ThreadCtx,
    ec: &EchoConn,
    slot: u64,
    sched: Option<Sched>,
    now: Instant,
    times: Times,
) -> bool {
    if now >= times.end || ec.writer.backlog() > super::MAX_BACKLOG {
        return false;
    }
    let seq = ec.sent.get();
    let intended = match sched {
        Some((s, of)) => s.due(seq * of + slot),
        None => now,
    };
    let stamp = Stamp {
        stream: ec.stream,
        seq,
        intended_ns: ctx.plan.ns(intended),
        sent_ns: ctx.plan.ns(now),
    };
    if !ec
        .writer
        .send(OpCode::Binary, ec.template.borrow_mut().stamp(stamp))
    {
        return false;
    }
    ec.sent.set(seq + 1);
    ec.in_flight.set(ec.in_flight.get() + 1);
    ctx.record_sent(now, sched.map(|_| intended), times);
    true
}

/// A reply arrived: check it, measure it, and release the next message.
fn on_reply(
    ctx: &ThreadCtx,
    ec: &EchoConn,
    slot: u64,
    sched: Option<Sched>,
    p: &[u8],
    now: Instant,
) {
    let Some(times) = ctx.started() else {
        return ctx.error("unsolicited_message");
    };
    let Some(stamp) = ctx.check(p) else { return };
    if stamp.stream != ec.stream {
        return ctx.misrouted();
    }
    // Duplicates and reordering are totalled from the tracker at the end.
    let arrival = ec.tracker.borrow_mut().arrive(stamp.seq);
    if arrival != Arrival::New {
        ctx.anomaly();
    }
    if arrival == Arrival::Duplicate {
        return;
    }
    ec.in_flight.set(ec.in_flight.get().saturating_sub(1));
    ctx.record_delivery(stamp, now, times);
    match sched {
        Some(s) => {
            if ec.sent.get() < ec.due.get() {
                send(ctx, ec, slot, Some(s), now, times);
            }
        }
        None => {
            send(ctx, ec, slot, None, now, times);
        }
    }
}
