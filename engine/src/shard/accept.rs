//! The accept loop: wait for readiness, accept until the queue is empty.
//! Failures such as EMFILE leave the connection in the kernel's queue, so
//! the loop backs off (doubling, up to a second) instead of spinning, counts
//! the errno, and never dies.

use std::rc::Rc;
use std::time::Duration;

use super::io::{Accepted, Listener};
use super::Shard;
use crate::metrics::Counter;

const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Accept connections on this shard's listener until it is shut down.
pub(super) async fn accept_loop(shard: Rc<Shard>, listener: Rc<Listener>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        if listener.readable().await.is_err() || shard.draining.get() {
            return;
        }
        loop {
            match listener.accept() {
                Accepted::Connection(socket, peer) => {
                    backoff = FIRST_BACKOFF;
                    shard.admit(socket, peer);
                }
                Accepted::WouldBlock => break,
                Accepted::Closed => return,
                Accepted::Failed(error) => {
                    let counter = match error.raw_os_error() {
                        Some(libc::EMFILE) => Counter::AcceptEmfile,
                        Some(libc::ENFILE) => Counter::AcceptEnfile,
                        Some(libc::ENOBUFS) | Some(libc::ENOMEM) => Counter::AcceptNoMemory,
                        _ => Counter::AcceptOther,
                    };
                    shard.metrics().inc(counter);
                    crate::log!(
                        Debug,
                        "shard {}: accept failed ({error}); backing off {backoff:?}",
                        shard.index
                    );
                    monoio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    break;
                }
            }
        }
    }
}
