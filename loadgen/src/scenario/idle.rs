//! `idle`: open connections at the ramp rate, hold them through warm-up and
//! the window, count how many are still up. The server's memory per
//! connection is computed by the coordinator from its /proc samples.

use std::rc::Rc;

use super::{sleep_until, ThreadCtx};

/// Run this thread's part.
pub async fn run(ctx: Rc<ThreadCtx>) {
    let args = ctx.args();
    let rooms = args.rooms.max(1);
    let ids = ctx.my_range(args.conns);
    let tasks = ctx
        .ramp(
            ids,
            |gid| gid % rooms,
            |ctx: Rc<ThreadCtx>, _gid, mut conn| async move {
                // Whatever the server sends an idle client is read and ignored.
                let end = conn.read(|_, _| {}).await;
                ctx.ended(conn, end, false).await;
            },
        )
        .await;
    let times = ctx.wait_go().await;
    sleep_until(times.end).await;
    ctx.counters.borrow_mut().stayed_up = ctx.open_now();
    ctx.close_all(tasks).await;
}
