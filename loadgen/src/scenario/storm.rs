//! `storm`: connect everyone, wait out the warm-up, then drop every
//! connection at once (the sockets are shut down, no closing handshake, as a
//! network blip or a client-side restart would) and reconnect them all
//! immediately. The window is the time they have to come back; the
//! reconnect histogram's max is the time until all were back.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{sleep_until, ThreadCtx};
use crate::client::conn::Conn;

/// Pause after a failed reconnect, so a refusing server is not spun against.
const BACKOFF: Duration = Duration::from_millis(50);

/// Run this thread's part.
pub async fn run(ctx: Rc<ThreadCtx>) {
    let args = ctx.args();
    let rooms = args.rooms.max(1);
    let ids = ctx.my_range(args.conns);
    let dropped_at: Rc<Cell<Option<Instant>>> = Rc::default();
    let body = {
        let dropped_at = dropped_at.clone();
        move |ctx: Rc<ThreadCtx>, gid: u64, conn: Conn| {
            let dropped_at = dropped_at.clone();
            async move {
                let mut conn = conn;
                loop {
                    let end = conn.read(|_, _| {}).await;
                    // Ours: cut by the storm, not by a close or the server.
                    let ours = dropped_at.get().is_some()
                        && conn.slot().expired()
                        && !conn.writer.closing();
                    ctx.ended(conn, end, ours).await;
                    let Some(t0) = dropped_at.get().filter(|_| ours) else {
                        return;
                    };
                    conn = match reconnect(&ctx, gid, gid % rooms, t0).await {
                        Some(c) => c,
                        None => return,
                    };
                }
            }
        }
    };
    let tasks = ctx.ramp(ids, |gid| gid % rooms, body).await;
    let times = ctx.wait_go().await;
    sleep_until(times.start).await;
    dropped_at.set(Some(Instant::now()));
    ctx.reg.shutdown_all();
    sleep_until(times.end).await;
    ctx.counters.borrow_mut().stayed_up = ctx.open_now();
    ctx.close_all(tasks).await;
}

/// Dial again until it works or the window ends; records the time since the
/// drop.
async fn reconnect(ctx: &ThreadCtx, gid: u64, room: u64, dropped_at: Instant) -> Option<Conn> {
    let end = ctx.times().end;
    loop {
        if Instant::now() >= end {
            ctx.counters.borrow_mut().not_back += 1;
            return None;
        }
        if let Some(c) = ctx.dial(gid, room).await {
            ctx.counters.borrow_mut().reconnected += 1;
            ctx.histos
                .borrow_mut()
                .reconnect
                .record(dropped_at.elapsed());
            return Some(c);
        }
        monoio::time::sleep(BACKOFF).await;
    }
}
