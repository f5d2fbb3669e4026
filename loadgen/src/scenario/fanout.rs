//! `fanout`: rooms of `--subs` members; the first `--pubs` members of each
//! room publish checked messages on a fixed schedule and every member,
//! publishers included, must receive every message of its room exactly once,
//! in order, intact. A room lives on one thread (and one process), so the
//! publishers' sent counts and the members' trackers meet without any
//! cross-thread traffic.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringcast_protocol::OpCode;

use super::{pace, sleep_until, Schedule, ThreadCtx, Times, MAX_BACKLOG};
use crate::client::conn::{Conn, Writer};
use crate::client::payload::{Stamp, Template};
use crate::client::tracker::{Arrival, SeqTracker};

struct Publisher {
    /// Stream id in payloads: room * pubs + index.
    stream: u32,
    writer: RefCell<Option<Rc<Writer>>>,
    template: RefCell<Template>,
    sent: Cell<u64>,
}

struct Room {
    id: u64,
    pubs: Vec<Publisher>,
    /// Members that got connected.
    members: Cell<u64>,
}

struct Member {
    room: Rc<Room>,
    /// One per publisher of the room.
    trackers: RefCell<Vec<SeqTracker>>,
}

/// Run this thread's part.
pub async fn run(ctx: Rc<ThreadCtx>) {
    let args = ctx.args();
    let (subs, pubs) = (args.subs, args.pubs);
    let my_rooms = ctx.my_range(args.rooms);
    let rooms: Rc<Vec<Rc<Room>>> = Rc::new(
        my_rooms
            .clone()
            .map(|id| {
                Rc::new(Room {
                    id,
                    pubs: (0..pubs)
                        .map(|p| Publisher {
                            stream: (id * pubs + p) as u32,
                            writer: RefCell::new(None),
                            template: RefCell::new(Template::new(
                                (id * pubs + p) as u32,
                                args.payload as usize,
                            )),
                            sent: Cell::new(0),
                        })
                        .collect(),
                    members: Cell::new(0),
                })
            })
            .collect(),
    );
    let members: Rc<RefCell<Vec<Rc<Member>>>> = Rc::default();
    let delivered: Rc<Cell<u64>> = Rc::default();
    let body = {
        let (rooms, members, delivered) = (rooms.clone(), members.clone(), delivered.clone());
        let first_room = my_rooms.start;
        move |ctx: Rc<ThreadCtx>, gid: u64, mut conn: Conn| {
            let room = rooms[(gid / subs - first_room) as usize].clone();
            let (members, delivered) = (members.clone(), delivered.clone());
            async move {
                let index = gid % subs;
                if index < pubs {
                    *room.pubs[index as usize].writer.borrow_mut() = Some(conn.writer.clone());
                }
                room.members.set(room.members.get() + 1);
                let member = Rc::new(Member {
                    room: room.clone(),
                    trackers: RefCell::new(vec![SeqTracker::default(); pubs as usize]),
                });
                members.borrow_mut().push(member.clone());
                let end = conn
                    .read(|p, now| {
                        delivered.set(delivered.get() + 1);
                        on_delivery(&ctx, &member, p, now);
                    })
                    .await;
                ctx.ended(conn, end, false).await;
            }
        }
    };
    let ids = my_rooms.start * subs..my_rooms.end * subs;
    let tasks = ctx.ramp(ids, |gid| gid / subs, body).await;
    let times = ctx.wait_go().await;

    publish(&ctx, &rooms, times).await;

    // Grace: until every delivery of what was sent has arrived (or every
    // member is gone, or time is up).
    let expected = || {
        rooms
            .iter()
            .map(|r| r.pubs.iter().map(|p| p.sent.get()).sum::<u64>() * r.members.get())
            .sum::<u64>()
    };
    let grace_end = times.end + args.grace;
    while Instant::now() < grace_end && delivered.get() < expected() && ctx.open_now() > 0 {
        monoio::time::sleep(Duration::from_millis(5)).await;
    }
    // Whatever the server sends before answering our close still counts
    // as delivered (late, and its latency says so); what never came is lost.
    ctx.close_all(tasks).await;
    for m in members.borrow().iter() {
        for (t, p) in m.trackers.borrow().iter().zip(&m.room.pubs) {
            ctx.settle(t, p.sent.get());
        }
    }
    ctx.settle_done();
}

/// The publishers' fixed schedule: message j of this thread is due at
/// go + j / rate and comes from publisher j mod P. A publisher whose socket
/// is backed up holds the schedule until it drains (the lateness shows in
/// send lag and latency).
async fn publish(ctx: &ThreadCtx, rooms: &[Rc<Room>], times: Times) {
    let args = ctx.args();
    let pubs: Vec<&Publisher> = rooms
        .iter()
        .flat_map(|r| r.pubs.iter())
        .filter(|p| p.writer.borrow().is_some())
        .collect();
    if pubs.is_empty() {
        return sleep_until(times.end).await;
    }
    let per_publisher = args.rate / (args.rooms * args.pubs) as f64;
    let n = pubs.len() as u64;
    let sched = Schedule {
        go: times.go,
        rate: per_publisher * n as f64,
    };
    pace(ctx, sched, times, |j, intended, now| {
        let p = pubs[(j % n) as usize];
        let writer = p.writer.borrow().clone().expect("publisher writer");
        if writer.backlog() > MAX_BACKLOG {
            return false;
        }
        let seq = j / n;
        let stamp = Stamp {
            stream: p.stream,
            seq,
            intended_ns: ctx.plan.ns(intended),
            sent_ns: ctx.plan.ns(now),
        };
        if writer.send(OpCode::Binary, p.template.borrow_mut().stamp(stamp)) {
            p.sent.set(seq + 1);
            ctx.record_sent(now, Some(intended), times);
        }
        true
    })
    .await;
}

/// One delivery to `member`: check, classify, measure.
fn on_delivery(ctx: &ThreadCtx, member: &Member, p: &[u8], now: Instant) {
    let Some(times) = ctx.started() else {
        return ctx.error("unsolicited_message");
    };
    let Some(stamp) = ctx.check(p) else { return };
    let pubs = member.room.pubs.len() as u64;
    let stream = u64::from(stamp.stream);
    if stream / pubs != member.room.id {
        return ctx.misrouted();
    }
    // Duplicates and reordering are totalled from the trackers at the end.
    let arrival = member.trackers.borrow_mut()[(stream % pubs) as usize].arrive(stamp.seq);
    if arrival != Arrival::New {
        ctx.anomaly();
    }
    if arrival != Arrival::Duplicate {
        ctx.record_delivery(stamp, now, times);
    }
}
