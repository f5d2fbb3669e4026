//! The thin layer over the OS and monoio. Everything runtime- or
//! syscall-specific lives here so the rest of the engine reads as plain
//! logic and a runtime change touches one file.
//!
//! Reads and writes are plain non-blocking syscalls issued after monoio
//! reports readiness: an idle connection then pins no read buffer (a pending
//! io_uring read would pin one per connection), and every shard reads into
//! one shared scratch buffer.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use monoio::io::poll_io::{AsyncRead, AsyncWrite, ReadBuf};
use monoio::net::unix::stream_poll::UnixStreamPoll;
use monoio::{IoUringDriver, LegacyDriver, RuntimeBuilder};
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::DriverChoice;

/// The driver a shard actually runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// io_uring (PollAdd for readiness).
    IoUring,
    /// epoll (monoio's legacy driver).
    Epoll,
}

impl Driver {
    /// Name used in logs and the `ringcast_driver` metric.
    pub fn name(self) -> &'static str {
        match self {
            Driver::IoUring => "io_uring",
            Driver::Epoll => "epoll",
        }
    }
}

/// Submission queue size per shard. Pending readiness polls do not occupy
/// it; it only bounds how many operations one loop iteration submits.
const RING_ENTRIES: u32 = 4096;

/// Build a runtime for `choice` on the current thread and run `main` on it.
/// `Auto` tries io_uring first and falls back to epoll when the kernel (or a
/// seccomp profile) refuses it.
pub fn run_shard<F, Fut>(choice: DriverChoice, main: F) -> io::Result<Fut::Output>
where
    F: FnOnce(Driver) -> Fut,
    Fut: Future,
{
    if choice != DriverChoice::Epoll {
        match RuntimeBuilder::<IoUringDriver>::new()
            .with_entries(RING_ENTRIES)
            .enable_timer()
            .build()
        {
            Ok(mut runtime) => return Ok(runtime.block_on(main(Driver::IoUring))),
            Err(error) if choice == DriverChoice::IoUring => {
                return Err(io::Error::new(
                    error.kind(),
                    format!("io_uring unavailable: {error}"),
                ))
            }
            Err(error) => crate::log!(
                Warn,
                "io_uring unavailable ({error}); falling back to epoll"
            ),
        }
    }
    let mut runtime = RuntimeBuilder::<LegacyDriver>::new()
        .enable_timer()
        .build()?;
    Ok(runtime.block_on(main(Driver::Epoll)))
}

/// Whether `addr` is already served by another socket. Binding a probe
/// socket without SO_REUSEPORT fails when anyone listens there, including a
/// process that set SO_REUSEPORT and would otherwise silently share our
/// port. SO_REUSEADDR keeps TIME_WAIT leftovers from counting as "in use".
pub fn port_in_use(addr: SocketAddr) -> bool {
    let Ok(probe) = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
    else {
        return false;
    };
    let _ = probe.set_reuse_address(true);
    probe.bind(&addr.into()).is_err()
}

/// Bind `count` listeners on `addr`, all with SO_REUSEPORT so the kernel
/// spreads connections across shards. When `addr` has port 0, the first
/// listener picks the port and the others reuse it.
pub fn bind_listeners(
    addr: SocketAddr,
    count: usize,
    backlog: i32,
) -> io::Result<Vec<StdListener>> {
    let mut listeners = Vec::with_capacity(count);
    let mut addr = addr;
    for _ in 0..count {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
        socket.set_cloexec(true)?;
        socket.bind(&addr.into())?;
        socket.listen(backlog)?;
        let listener: StdListener = socket.into();
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// A listener registered with the shard's runtime.
pub struct Listener {
    inner: monoio::net::TcpListener,
}

/// What one accept attempt gave.
pub enum Accepted {
    /// A new connection (non-blocking, close-on-exec, TCP_NODELAY set).
    Connection(StdStream, SocketAddr),
    /// Nothing pending right now.
    WouldBlock,
    /// The listener was shut down: stop accepting.
    Closed,
    /// accept failed; the errno decides the backoff and the metric.
    Failed(io::Error),
}

impl Listener {
    /// Register a bound std listener with the current shard's runtime.
    pub fn new(listener: StdListener) -> io::Result<Listener> {
        Ok(Listener {
            inner: monoio::net::TcpListener::from_std(listener)?,
        })
    }

    /// Wait until a connection may be pending (or the listener shut down).
    pub async fn readable(&self) -> io::Result<()> {
        self.inner.readable(false).await
    }

    /// One non-blocking accept4.
    pub fn accept(&self) -> Accepted {
        let mut storage: libc::sockaddr_storage = unsafe_zeroed_storage();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `storage` and `len` are valid for writes and `len` holds
        // the size of `storage`; the listener fd is open for our lifetime.
        let fd = unsafe {
            libc::accept4(
                self.inner.as_raw_fd(),
                (&mut storage as *mut libc::sockaddr_storage).cast(),
                &mut len,
                libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            let error = io::Error::last_os_error();
            return match error.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EINTR) | Some(libc::ECONNABORTED) => {
                    Accepted::WouldBlock
                }
                Some(libc::EINVAL) => Accepted::Closed,
                _ => Accepted::Failed(error),
            };
        }
        // SAFETY: accept4 returned a fresh descriptor that nothing else owns.
        let stream = unsafe { StdStream::from_raw_fd(fd) };
        let _ = stream.set_nodelay(true);
        // SAFETY: accept4 filled `storage` with an address of `len` bytes.
        let peer = unsafe { socket2::SockAddr::new(storage, len) }
            .as_socket()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        Accepted::Connection(stream, peer)
    }

    /// Stop accepting: a pending readiness wait wakes and accept4 then
    /// fails with EINVAL, which ends the accept loop.
    pub fn shut_down(&self) {
        shutdown(self.inner.as_raw_fd(), libc::SHUT_RD);
    }
}

fn unsafe_zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data; all-zero bytes is a valid value.
    unsafe { std::mem::zeroed() }
}

/// A connection's socket registered with the shard's runtime in poll mode:
/// a read or write is attempted and, when it would block, the task's waker
/// is parked on the socket's readiness. Nothing is pending while a
/// connection is idle except that registration, so an idle connection owns
/// no buffer and its task is a small closure (monoio's `readable()` future
/// alone is 120 bytes per connection).
///
/// Registered through monoio's `UnixStream`, which is nothing but the
/// descriptor (its `TcpStream` adds ~80 bytes of cached addresses we never
/// read): readiness and the read/write syscalls do not depend on the
/// socket's family. Cloning the `Rc` around it is how the on-demand writer
/// shares it with the reader.
pub struct Stream {
    inner: RefCell<UnixStreamPoll>,
    fd: RawFd,
}

impl Stream {
    /// Register an accepted (non-blocking) socket with the current shard's runtime.
    pub fn new(stream: StdStream) -> io::Result<Stream> {
        use std::os::fd::IntoRawFd;
        let fd = stream.into_raw_fd();
        // SAFETY: `fd` is an open socket we own (just taken out of `stream`);
        // the UnixStream wrapper takes over closing it. Only readiness,
        // recv/writev and close are performed through it, which are
        // family-independent.
        let socket = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
        let registered = monoio::net::UnixStream::from_std(socket)?;
        let polled = registered.try_into_poll_io().map_err(|(error, _)| error)?;
        Ok(Stream {
            inner: RefCell::new(polled),
            fd,
        })
    }

    /// The raw descriptor (for shutdown from the sweep).
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    /// Read into `buf`. `Ready(Ok(0))` is end of stream; `Pending` means the
    /// task's waker is parked until the socket is readable.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut read = ReadBuf::new(buf);
        let mut inner = self.inner.borrow_mut();
        match Pin::new(&mut *inner).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read.filled().len())),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Gathered write; `Pending` parks the task's waker until the socket has room.
    pub fn poll_send_vectored(
        &self,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut inner = self.inner.borrow_mut();
        Pin::new(&mut *inner).poll_write_vectored(cx, &slices[..slices.len().min(MAX_IOVECS)])
    }

    /// Non-blocking gathered write of `slices` (at most [`MAX_IOVECS`] are
    /// used), for flush points outside any task: no waker is involved.
    /// Returns the bytes written, which may be fewer than offered.
    pub fn send_vectored(&self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        if let [only] = slices {
            return self.send(only);
        }
        let count = slices.len().min(MAX_IOVECS);
        // SAFETY: msghdr is plain old data; zero is valid for every field.
        let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
        // IoSlice is guaranteed ABI-compatible with iovec on Unix.
        header.msg_iov = slices.as_ptr() as *mut libc::iovec;
        header.msg_iovlen = count as _;
        let fd = self.fd();
        loop {
            // SAFETY: `header` points at `count` valid iovecs that outlive the call.
            let n = unsafe { libc::sendmsg(fd, &header, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

impl Stream {
    /// Non-blocking write of one buffer: `send` skips the iovec handling of
    /// `sendmsg`, measurable when a broadcast writes one frame to each of
    /// thousands of sockets.
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid for `buf.len()` bytes of reads.
            let n = unsafe {
                libc::send(
                    self.fd,
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

/// Most iovecs handed to one sendmsg (Linux IOV_MAX is 1024).
pub const MAX_IOVECS: usize = 64;

/// shutdown(2) on a descriptor; errors (already closed, not connected) are
/// irrelevant to every caller: they only want the peer gone.
pub fn shutdown(fd: RawFd, how: libc::c_int) {
    // SAFETY: shutdown takes no pointers; a stale fd only yields EBADF.
    unsafe {
        libc::shutdown(fd, how);
    }
}

/// Raise the soft open-files limit to the hard one. Returns (soft, hard)
/// after the change.
pub fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit to write into.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; raising soft up to hard needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// CPUs this process may run on, in order.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain old data; sched_getaffinity writes at most
    // size_of::<cpu_set_t>() bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

/// Pin the calling thread to one CPU.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    // SAFETY: cpu_set_t is plain old data; CPU_SET stays within its bounds
    // for cpu < CPU_SETSIZE, which allowed_cpus() guarantees.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
