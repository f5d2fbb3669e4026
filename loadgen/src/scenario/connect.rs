//! `connect`: concurrent connectors, each opening a connection, closing it
//! with a closing handshake, and starting over, until the window ends.
//! Handshakes per second and failures by kind come from the shared dial.

use std::rc::Rc;
use std::time::{Duration, Instant};

use ringcast_protocol::CloseCode;

use super::{ThreadCtx, CLOSE_TIMEOUT};

/// Pause after a failed attempt, so a refusing server is not spun against.
const BACKOFF: Duration = Duration::from_millis(10);

/// Run this thread's part.
pub async fn run(ctx: Rc<ThreadCtx>) {
    let args = ctx.args();
    let rooms = args.rooms.max(1);
    let ids = ctx.my_range(args.conns);
    let times = ctx.wait_go().await;
    let tasks: Vec<_> = ids
        .map(|gid| {
            let ctx = ctx.clone();
            monoio::spawn(async move {
                while Instant::now() < times.end {
                    let Some(mut conn) = ctx.dial(gid, gid % rooms).await else {
                        monoio::time::sleep(BACKOFF).await;
                        continue;
                    };
                    conn.writer.close(CloseCode::NORMAL);
                    conn.slot()
                        .set_deadline(Some(Instant::now() + CLOSE_TIMEOUT));
                    let end = conn.read(|_, _| {}).await;
                    ctx.ended(conn, end, false).await;
                }
            })
        })
        .collect();
    // Connectors stop by themselves: an attempt in progress at the end is
    // bounded by --timeout, a close by CLOSE_TIMEOUT (both swept).
    for t in tasks {
        t.await;
    }
}
