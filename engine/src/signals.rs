//! SIGTERM/SIGINT without async signal handlers: the signals are blocked in
//! every thread (threads inherit the mask of the thread that starts them)
//! and the main thread collects them synchronously with sigwait.

use std::io;

/// The signals that start a drain.
const SHUTDOWN_SIGNALS: [libc::c_int; 2] = [libc::SIGTERM, libc::SIGINT];

fn shutdown_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain old data; sigemptyset initialises it and
    // sigaddset only sets bits for valid signal numbers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in SHUTDOWN_SIGNALS {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

/// Block SIGTERM and SIGINT in the calling thread and every thread it
/// starts afterwards. Call before starting the server.
pub fn block_shutdown_signals() -> io::Result<()> {
    let set = shutdown_set();
    // SAFETY: `set` is initialised; a null old-set pointer is allowed.
    let result = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if result != 0 {
        return Err(io::Error::from_raw_os_error(result));
    }
    Ok(())
}

/// Wait for SIGTERM or SIGINT; returns its name.
pub fn wait_for_shutdown_signal() -> io::Result<&'static str> {
    let set = shutdown_set();
    let mut signal: libc::c_int = 0;
    // SAFETY: `set` is initialised and `signal` is valid for a write.
    let result = unsafe { libc::sigwait(&set, &mut signal) };
    if result != 0 {
        return Err(io::Error::from_raw_os_error(result));
    }
    Ok(if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    })
}
