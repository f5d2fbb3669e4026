//! The per-thread table of open sockets. Deadlines (handshake, close) and the
//! end of a run are enforced by shutting sockets down from here, which makes
//! the connection's own pending read return: on monoio, dropping an in-flight
//! read is not a reliable cancel, so a read is never raced against a timer.

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::time::Instant;

use ringcast_protocol::CloseCode;

use super::conn::Writer;

struct Slot {
    fd: RawFd,
    deadline: Option<Instant>,
    expired: bool,
    /// Set once the connection is upgraded, so the end of a run can start
    /// every closing handshake from here.
    writer: Option<Rc<Writer>>,
}

/// Sockets of one thread, each with an optional deadline.
#[derive(Default)]
pub struct Registry {
    slots: RefCell<Vec<Option<Slot>>>,
    free: RefCell<Vec<usize>>,
}

/// A socket's place in the registry; dropping it unregisters the socket.
/// It must be dropped before the socket is closed (fd numbers are reused),
/// which holding it next to the socket halves and dropping it first ensures.
pub struct Registered {
    reg: Rc<Registry>,
    idx: usize,
}

impl Registry {
    /// Register `fd`.
    pub fn add(self: &Rc<Self>, fd: RawFd, deadline: Option<Instant>) -> Registered {
        let slot = Slot {
            fd,
            deadline,
            expired: false,
            writer: None,
        };
        let mut slots = self.slots.borrow_mut();
        let idx = match self.free.borrow_mut().pop() {
            Some(i) => {
                slots[i] = Some(slot);
                i
            }
            None => {
                slots.push(Some(slot));
                slots.len() - 1
            }
        };
        Registered {
            reg: self.clone(),
            idx,
        }
    }

    /// Shut down every socket whose deadline has passed.
    pub fn sweep(&self, now: Instant) {
        for s in self.slots.borrow_mut().iter_mut().flatten() {
            if !s.expired && s.deadline.is_some_and(|d| d <= now) {
                s.expired = true;
                shutdown(s.fd);
            }
        }
    }

    /// Shut down every registered socket (end of run, storm).
    pub fn shutdown_all(&self) {
        for s in self.slots.borrow_mut().iter_mut().flatten() {
            s.expired = true;
            shutdown(s.fd);
        }
    }

    /// Start the closing handshake on every upgraded connection, giving
    /// each until `deadline` to finish it.
    pub fn close_all(&self, code: CloseCode, deadline: Instant) {
        for s in self.slots.borrow_mut().iter_mut().flatten() {
            match &s.writer {
                Some(w) => {
                    w.close(code);
                    s.deadline = Some(deadline);
                }
                None => s.deadline = Some(s.deadline.map_or(deadline, |d| d.min(deadline))),
            }
        }
    }

    /// Registered sockets.
    pub fn len(&self) -> usize {
        self.slots.borrow().len() - self.free.borrow().len()
    }

    /// Whether no socket is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Registered {
    /// Replace the deadline (`None`: no deadline).
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        if let Some(s) = self.reg.slots.borrow_mut()[self.idx].as_mut() {
            s.deadline = deadline;
        }
    }

    /// Remember the connection's writer (see [`Registry::close_all`]).
    pub fn set_writer(&self, writer: Rc<Writer>) {
        if let Some(s) = self.reg.slots.borrow_mut()[self.idx].as_mut() {
            s.writer = Some(writer);
        }
    }

    /// Whether the socket was shut down by a deadline or `shutdown_all`.
    pub fn expired(&self) -> bool {
        self.reg.slots.borrow()[self.idx]
            .as_ref()
            .is_some_and(|s| s.expired)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.reg.slots.borrow_mut()[self.idx] = None;
        self.reg.free.borrow_mut().push(self.idx);
    }
}

fn shutdown(fd: RawFd) {
    // SAFETY: fd is registered, so it is still open and owned by a live
    // connection of this thread; shutdown does not close or free it.
    unsafe {
        libc::shutdown(fd, libc::SHUT_RDWR);
    }
}
