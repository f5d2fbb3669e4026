//! Our own process: open-file limit, CPU use, thread pinning, terminal check.

use std::io::IsTerminal;

/// Raise the soft open-file limit to the hard one; returns the new soft limit.
/// Each connection is one descriptor, and the soft default (often 1024) would
/// otherwise cap a run long before the hard limit does.
pub fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid rlimit the kernel writes into.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: raised is a valid rlimit read by the kernel.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    lim.rlim_cur
}

/// User + system CPU seconds this process has used so far (all threads).
pub fn own_cpu_seconds() -> f64 {
    // SAFETY: an all-zero rusage is a valid value for the kernel to fill in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is valid for writes.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0.0;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Pin the calling thread to `cpu`. Failure (CPU absent, not permitted) is
/// reported and otherwise ignored: pinning is an optimisation.
pub fn pin_current_thread(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; CPU_SET stays within it for cpu < 1024
    // (checked by the CLI parser), and sched_setaffinity only reads it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        eprintln!(
            "ringcast-load: cannot pin a thread to cpu {cpu}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Number of CPUs online on this machine.
pub fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Whether stderr is a terminal (the live progress line goes there only then).
pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}
