"""What tuning/check and tuning/apply share: reading the box, the formulas
that turn a connection target N into recommended values, and the verdicts.

One source of truth: a formula changed here changes check, apply, their
tests and (by hand) the table in docs/operations.md together.

Standard library only; works on python3 >= 3.7 so that it runs on the
distributions operators actually have.
"""

import ctypes
import math
import os
import platform
import resource
import signal
import subprocess
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

# ---------------------------------------------------------------------------
# Constants. Each is documented in docs/operations.md ("Tune the kernel").

DEFAULT_CONNECTIONS = 500_000

# File descriptors the engine holds besides client sockets: listeners (one
# per shard), io_uring/epoll instances, eventfds for cross-shard wake-ups,
# stdio, the log. 100 covers 24 shards with room to spare.
FD_RESERVE = 100

# Memory per connection. Kernel: struct tcp_sock, file, dentry, inode and the
# poll entry come to roughly 2-3 KiB of slab; with the 4 KiB minimums of
# tcp_rmem/tcp_wmem that a socket keeps under pressure, ~4 KiB is what an idle
# socket costs (DESIGN.md measured ~4 KB). ringcast: per-connection state of
# an idle connection (DESIGN.md budget: 330-430 B measured, 512 B allowed).
# Both can be overridden with flags on tuning/check.
KERNEL_BYTES_PER_CONN = 4096
ENGINE_BYTES_PER_CONN = 512
# Share of MemAvailable we are willing to plan for; the rest is for bursts
# (queued frames, TLS in nginx), page cache and everything else on the box.
MEM_FRACTION = 0.8

# The deployment this is tuned for: nginx on the same host in front of the
# engine. Each client then costs 3 open files system-wide (nginx: client and
# upstream socket; engine: its socket) and 2 conntrack entries (client ->
# nginx, nginx -> engine on loopback). `--direct` means clients connect
# straight to ringcast: 1 and 1.
PROXY_FILES_PER_CONN = 3
PROXY_CONNTRACK_PER_CONN = 2
# Everything else on a box dedicated to ringcast (ssh, DNS, monitoring) needs
# little; small VPSs start with nf_conntrack_max 65536 or less.
SYSTEM_FD_HEADROOM = 8192  # open files for everything else on the box
CONNTRACK_HEADROOM = 8192  # conntrack entries for everything else

# Listen/SYN backlogs: enough to absorb a reconnect storm's burst.
BACKLOG_MIN, BACKLOG_MAX = 4096, 65_535
NETDEV_BACKLOG_MIN, NETDEV_BACKLOG_MAX = 1000, 16_384

# Ephemeral ports (client side: nginx -> engine, ringcast-load -> server).
# Start above the engine's ports (8080...) so that no outgoing connection
# can take a port an engine is about to bind.
PORT_RANGE = (10_240, 65_535)
ENGINE_PORTS = (8080, 8081)  # the upstreams in tuning/nginx/ringcast.conf

# TCP buffer memory (tcp_mem, in pages): room for one 4 KiB buffer per
# connection in flight before pressure mode, two before the hard limit;
# capped at 3/8 and 1/2 of RAM so that a big N never asks for more than the
# box has (the memory row then says so).
TCP_MEM_BYTES_PRESSURE = 4096
TCP_MEM_BYTES_MAX = 8192
SOCKET_BUF_MIN = 4096  # tcp_rmem/tcp_wmem minimum we consider lean
WMEM_MAX = 4 * 1024 * 1024  # kernel default; more lets a slow client park more

# io_uring rings were charged to RLIMIT_MEMLOCK before Linux 5.12 (since then
# to the memory cgroup). 64 MiB covers the rings of 64 shards many times over.
MEMLOCK_KIB = 65_536
MEMLOCK_KERNEL = (5, 12)

# nginx's proxy_read_timeout must outlive the engine's --ping-interval.
ENGINE_PING_INTERVAL_S = 30
PROXY_READ_TIMEOUT_S = 75

SERVICE_USER = "ringcast"
SYSCTL_FILE = "etc/sysctl.d/60-ringcast.conf"
LIMITS_FILE = "etc/security/limits.d/60-ringcast.conf"
HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED_UNIT = os.path.join(HERE, "..", "systemd", "ringcast.service")

# Verdicts.
OK = "ok"
LOW = "low"          # blocking: this box cannot hold N connections
ADVISE = "advise"    # not blocking: bursts, throughput or client side suffer
UNKNOWN = "unknown"
NA = "n/a"

INFINITY = float("inf")


def quiet_pipe() -> None:
    """Die quietly when the reader goes away (`tuning/check | head`)."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


# ---------------------------------------------------------------------------
# Formulas (N = target connections).

def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def next_pow2(value: int) -> int:
    return 1 if value <= 1 else 1 << (int(value) - 1).bit_length()


def nofile_need(n: int) -> int:
    """Open files for one engine process holding n connections."""
    return round_up(n + FD_RESERVE, 1024)


def backlog_need(n: int) -> int:
    """somaxconn and tcp_max_syn_backlog: an eighth of N, as a power of two."""
    return max(BACKLOG_MIN, min(BACKLOG_MAX, next_pow2(n // 8)))


def netdev_backlog_need(n: int) -> int:
    return max(NETDEV_BACKLOG_MIN, min(NETDEV_BACKLOG_MAX, next_pow2(n // 32)))


def file_max_need(n: int, files_per_conn: int) -> int:
    return round_up(files_per_conn * n + SYSTEM_FD_HEADROOM, 65_536)


def conntrack_need(n: int, entries_per_conn: int) -> int:
    return round_up(entries_per_conn * n + CONNTRACK_HEADROOM, 65_536)


def ports_need(n: int) -> int:
    """Ephemeral ports per destination worth having: N, up to the range we set."""
    return min(n, PORT_RANGE[1] - PORT_RANGE[0] + 1)


def tcp_mem_need(n: int, current: Tuple[int, ...], page: int, total_pages: int) -> Tuple[int, int, int]:
    pressure = min(n * TCP_MEM_BYTES_PRESSURE // page, total_pages * 3 // 8)
    hard = min(n * TCP_MEM_BYTES_MAX // page, total_pages // 2)
    return (current[0], max(current[1], pressure), max(current[2], hard))


def memory_need(n: int, kernel_bytes: int, engine_bytes: int) -> int:
    return n * (kernel_bytes + engine_bytes)


# ---------------------------------------------------------------------------
# Reading the box.

class Box:
    """The machine as it is. `root` redirects /proc and /etc (tests, images);
    rlimits, the kernel version and the io_uring probe are always this process's."""

    def __init__(self, root: str = "/"):
        self.root = root

    def path(self, relative: str) -> str:
        return os.path.join(self.root, relative.lstrip("/"))

    def sysctl_path(self, key: str) -> str:
        return self.path("proc/sys/" + key.replace(".", "/"))

    def sysctl(self, key: str) -> Optional[Tuple[int, ...]]:
        """A sysctl as a tuple of ints, None when absent or unreadable."""
        try:
            with open(self.sysctl_path(key)) as f:
                return tuple(int(x) for x in f.read().split())
        except (OSError, ValueError):
            return None

    def meminfo(self) -> dict:
        info = {}
        try:
            with open(self.path("proc/meminfo")) as f:
                for line in f:
                    name, _, rest = line.partition(":")
                    parts = rest.split()
                    if parts:
                        info[name] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
        except OSError:
            pass
        return info

    @staticmethod
    def rlimit(which: int) -> Tuple[float, float]:
        soft, hard = resource.getrlimit(which)
        return tuple(INFINITY if v == resource.RLIM_INFINITY else v for v in (soft, hard))

    @staticmethod
    def kernel() -> Tuple[int, int]:
        try:
            major, minor = os.uname().release.split(".")[:2]
            return int(major), int("".join(c for c in minor if c.isdigit()) or 0)
        except ValueError:
            return (0, 0)

    @staticmethod
    def page_size() -> int:
        return os.sysconf("SC_PAGE_SIZE")

    def systemd_running(self) -> bool:
        return self.root == "/" and os.path.isdir("/run/systemd/system")

    def systemctl_show(self, prop: str, unit: Optional[str] = None) -> Optional[str]:
        """A property from `systemctl show`, None without a running systemd."""
        if not self.systemd_running():
            return None
        cmd = ["systemctl", "show", "--value", "--property=" + prop] + ([unit] if unit else [])
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None

    @staticmethod
    def probe_io_uring() -> str:
        """Try io_uring_setup(1, ...) and report what the kernel says."""
        if platform.machine() not in ("x86_64", "aarch64", "armv7l", "riscv64", "i686"):
            return "unknown"
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            params = ctypes.create_string_buffer(120)  # struct io_uring_params
            fd = libc.syscall(ctypes.c_long(425), ctypes.c_uint(1), params)  # io_uring_setup
        except (OSError, AttributeError):
            return "unknown"
        if fd >= 0:
            os.close(fd)
            return "available"
        return os.strerror(ctypes.get_errno()) or "error"


# ---------------------------------------------------------------------------
# Assessment.

@dataclass
class Row:
    key: str                  # stable id for scripts (JSON) and tests
    label: str                # what the operator reads
    current: object           # int, tuple of ints, str or None
    recommended: object
    verdict: str
    why: str
    blocking: bool = False    # a LOW here means the box cannot hold N
    allows: Optional[float] = None  # connections this setting allows, if it caps them
    sysctl: Optional[str] = None    # managed by apply in the sysctl file
    limit: Optional[str] = None     # managed by apply in the limits file ("nofile", "memlock")
    value_to_write: object = None   # what apply writes (never lower than current)


@dataclass
class Assessment:
    connections: int
    rows: List[Row]
    kernel_bytes: int
    engine_bytes: int
    direct: bool
    mem_available: Optional[int]
    allows: float = INFINITY
    binding: Optional[Row] = None
    blockers: List[Row] = field(default_factory=list)

    @property
    def fit(self) -> bool:
        return not self.blockers

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)


def fmt(value) -> str:
    """Values as the kernel and ulimit print them."""
    if value is None:
        return "absent"
    if isinstance(value, tuple):
        return " ".join(fmt(v) for v in value)
    if value == INFINITY:
        return "unlimited"
    if isinstance(value, float):
        return str(int(value))
    return str(value)


def human_bytes(n_bytes: float) -> str:
    if n_bytes >= 2**30:
        return "%.2f GiB" % (n_bytes / 2**30)
    return "%.1f MiB" % (n_bytes / 2**20)


def advise_unless(row_ok: bool) -> str:
    return OK if row_ok else ADVISE


def at_least(box: Box, n: int, key: str, need: int, why: str, row_key: Optional[str] = None,
             allows=None) -> Optional[Row]:
    """A sysctl that should be at least `need`; apply raises it, never lowers it.
    With `allows` (value -> connections) it caps connections: blocking, and ok
    exactly when it allows n."""
    cur = box.sysctl(key)
    if not cur:
        return None
    value = cur[0]
    row = Row(row_key or key.rsplit(".", 1)[1], key, value, need, advise_unless(value >= need),
              why, sysctl=key, value_to_write=max(value, need))
    if allows is not None:
        row.blocking, row.allows = True, max(0, allows(value))
        row.verdict = OK if row.allows >= n else LOW
    return row


def unit_limit(unit_text: str, name: str) -> Optional[str]:
    for line in unit_text.splitlines():
        line = line.strip()
        if line.startswith(name + "="):
            return line.split("=", 1)[1].strip()
    return None


def parse_limit(text: Optional[str]) -> Optional[float]:
    """systemd limit values: 524288, 524288:524288, infinity, 64M."""
    if not text:
        return None
    text = text.split(":")[-1].strip()
    if text == "infinity":
        return INFINITY
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    try:
        if text[-1].upper() in units:
            return int(text[:-1]) * units[text[-1].upper()]
        return int(text)
    except (ValueError, IndexError):
        return None


def assess(n: int, box: Box, kernel_bytes: int = KERNEL_BYTES_PER_CONN,
           engine_bytes: int = ENGINE_BYTES_PER_CONN, direct: bool = False) -> Assessment:
    files_per_conn = 1 if direct else PROXY_FILES_PER_CONN
    ct_per_conn = 1 if direct else PROXY_CONNTRACK_PER_CONN
    via = "clients straight to ringcast" if direct else "behind nginx on this host"
    rows: List[Optional[Row]] = []
    need_files = nofile_need(n)

    # --- open files -------------------------------------------------------
    soft, hard = Box.rlimit(resource.RLIMIT_NOFILE)
    rows.append(Row(
        "nofile_soft", "open files, soft (ulimit -Sn)", soft, need_files,
        advise_unless(soft - FD_RESERVE >= n),
        "ringcast raises its soft limit to the hard one at start; other tools "
        "(ringcast-load) may not: ulimit -n %d" % need_files))
    rows.append(Row(
        "nofile_hard", "open files, hard (ulimit -Hn)", hard, need_files,
        OK if hard - FD_RESERVE >= n else LOW,
        "one process holds at most this many sockets, less %d for listeners, "
        "rings and logs; only root can raise it (limits.d, then log in again)" % FD_RESERVE,
        blocking=True, allows=hard - FD_RESERVE, limit="nofile",
        value_to_write=max(hard, need_files)))

    default_nofile = box.systemctl_show("DefaultLimitNOFILE")
    if default_nofile is None:
        rows.append(Row(
            "systemd_default_nofile", "systemd DefaultLimitNOFILE", "unknown", "set per unit",
            UNKNOWN, "systemd is not running as PID 1 here; ringcast.service sets "
            "LimitNOFILE itself, so the default does not bind it"))
    else:
        value = parse_limit(default_nofile)
        rows.append(Row(
            "systemd_default_nofile", "systemd DefaultLimitNOFILE", default_nofile,
            "set per unit", OK if value is not None and value >= need_files else NA,
            "what services get without LimitNOFILE=; ringcast.service sets its own"))

    unit_value, unit_source = None, None
    if box.systemctl_show("LoadState", "ringcast.service") == "loaded":
        unit_value = box.systemctl_show("LimitNOFILE", "ringcast.service")
        unit_source = "installed"
    elif os.path.exists(SHIPPED_UNIT):
        with open(SHIPPED_UNIT) as f:
            unit_value = unit_limit(f.read(), "LimitNOFILE")
        unit_source = "shipped"
    if unit_value is not None:
        value = parse_limit(unit_value) or 0
        rows.append(Row(
            "unit_nofile", "ringcast.service LimitNOFILE (%s)" % unit_source, unit_value,
            need_files, advise_unless(value - FD_RESERVE >= n),
            "the service's own limit (capped by fs.nr_open); raise with "
            "systemctl edit ringcast when N grows"))

    rows.append(at_least(
        box, n, "fs.nr_open", need_files,
        "ceiling for any process's open-files limit (LimitNOFILE, ulimit -n)",
        allows=lambda v: v - FD_RESERVE))
    rows.append(at_least(
        box, n, "fs.file-max", file_max_need(n, files_per_conn),
        "open files on the whole box: %d per client %s, plus %d for the rest"
        % (files_per_conn, via, SYSTEM_FD_HEADROOM),
        row_key="file_max", allows=lambda v: (v - SYSTEM_FD_HEADROOM) // files_per_conn))

    # --- accept path ------------------------------------------------------
    for key, what in (("net.core.somaxconn", "accept queue per listener (each shard has one)"),
                      ("net.ipv4.tcp_max_syn_backlog", "half-open connections queued")):
        rows.append(at_least(
            box, n, key, backlog_need(n),
            "%s: a reconnect storm of %d clients overflows a short one and "
            "clients wait out SYN retries (1 s, 3 s, 7 s...)" % (what, n)))
    rows.append(at_least(
        box, n, "net.core.netdev_max_backlog", netdev_backlog_need(n),
        "packets queued per CPU before the stack drops them: bursts of "
        "broadcast ACKs and handshakes"))

    # --- client side ports --------------------------------------------------
    cur = box.sysctl("net.ipv4.ip_local_port_range")
    if cur and len(cur) == 2:
        lo, hi = cur
        size = hi - lo + 1
        covers_engine = any(lo <= p <= hi for p in ENGINE_PORTS)
        good = size >= ports_need(n) and not covers_engine
        why = ("client side: nginx->engine and ringcast-load get at most %d connections "
               "per destination ip:port; %d clients need %d upstream port(s) or source IP(s)"
               % (size, n, math.ceil(n / size)))
        if covers_engine:
            why = "the range covers engine ports %s: an outgoing connection can take them first; " \
                  % "/".join(map(str, ENGINE_PORTS)) + why
        rows.append(Row(
            "ip_local_port_range", "net.ipv4.ip_local_port_range (client)", cur, PORT_RANGE,
            advise_unless(good), why, sysctl="net.ipv4.ip_local_port_range",
            value_to_write=cur if good else PORT_RANGE))

    # --- socket memory ----------------------------------------------------
    rmem = box.sysctl("net.ipv4.tcp_rmem")
    if rmem and len(rmem) == 3:
        rows.append(Row(
            "tcp_rmem", "net.ipv4.tcp_rmem", rmem, "min <= %d" % SOCKET_BUF_MIN,
            advise_unless(rmem[0] <= SOCKET_BUF_MIN),
            "min is what each socket keeps under memory pressure; default/max cost "
            "nothing until data waits unread"))
    wmem = box.sysctl("net.ipv4.tcp_wmem")
    if wmem and len(wmem) == 3:
        rows.append(Row(
            "tcp_wmem", "net.ipv4.tcp_wmem", wmem,
            "min <= %d, max <= %d" % (SOCKET_BUF_MIN, WMEM_MAX),
            advise_unless(wmem[0] <= SOCKET_BUF_MIN and wmem[2] <= WMEM_MAX),
            "max is what a slow client can park in the kernel before ringcast's "
            "--outbound-limit sees backpressure"))
    tcp_mem = box.sysctl("net.ipv4.tcp_mem")
    mem = box.meminfo()
    page = Box.page_size()
    if tcp_mem and len(tcp_mem) == 3:
        need_mem = tcp_mem_need(n, tcp_mem, page, mem.get("MemTotal", 0) // page)
        rows.append(Row(
            "tcp_mem", "net.ipv4.tcp_mem (pages)", tcp_mem, need_mem,
            advise_unless(all(c >= w for c, w in zip(tcp_mem, need_mem))),
            "all TCP buffers, in %d-byte pages: above the middle value sockets shrink to "
            "their minimum, above the last sends fail; sized for %d KiB per client"
            % (page, TCP_MEM_BYTES_PRESSURE // 1024),
            sysctl="net.ipv4.tcp_mem", value_to_write=need_mem))

    cur = box.sysctl("net.ipv4.tcp_tw_reuse")
    if cur:
        good = cur[0] in (1, 2)
        rows.append(Row(
            "tcp_tw_reuse", "net.ipv4.tcp_tw_reuse", cur[0], "1 (or 2)", advise_unless(good),
            "reuse TIME-WAIT ports for outgoing connections (2 = loopback only, "
            "enough when nginx runs on this host)",
            sysctl="net.ipv4.tcp_tw_reuse", value_to_write=cur[0] if good else 1))

    conntrack = at_least(
        box, n, "net.netfilter.nf_conntrack_max", conntrack_need(n, ct_per_conn),
        "conntrack is loaded: a full table drops new connections; %d entries per "
        "client %s" % (ct_per_conn, via),
        allows=lambda v: (v - CONNTRACK_HEADROOM) // ct_per_conn)
    if conntrack:
        rows.append(conntrack)
    else:
        rows.append(Row(
            "nf_conntrack_max", "net.netfilter.nf_conntrack_max", None, "-", NA,
            "conntrack is not loaded: nothing to size (load it later and re-run)"))

    # --- io_uring -----------------------------------------------------------
    disabled = box.sysctl("kernel.io_uring_disabled")
    if disabled is None:
        rows.append(Row(
            "io_uring_disabled", "kernel.io_uring_disabled", None, 0, NA,
            "this kernel has no switch (added in 6.6)"))
    else:
        rows.append(Row(
            "io_uring_disabled", "kernel.io_uring_disabled", disabled[0], 0,
            advise_unless(disabled[0] == 0),
            {0: "io_uring allowed for every process",
             1: "io_uring only for members of kernel.io_uring_group: add the ringcast "
                "user, or ringcast falls back to epoll"}.get(
                disabled[0], "io_uring switched off: ringcast falls back to epoll "
                             "(a security choice; apply leaves it alone)")))
    probe = Box.probe_io_uring() if box.root == "/" else "not probed"
    rows.append(Row(
        "io_uring_probe", "io_uring_setup() from here", probe, "available",
        {"available": OK, "unknown": UNKNOWN, "not probed": UNKNOWN}.get(probe, ADVISE),
        "io_uring works for this process" if probe == "available" else
        "cannot tell on this architecture" if probe == "unknown" else
        "--root: this machine's kernel is not the one described" if probe == "not probed" else
        "refused (seccomp profile, io_uring_disabled or an old kernel): "
        "--driver auto falls back to epoll"))

    kernel = Box.kernel()
    memlock_soft, memlock_hard = Box.rlimit(resource.RLIMIT_MEMLOCK)
    memlock_kib = memlock_soft / 1024 if memlock_soft != INFINITY else INFINITY
    if kernel >= MEMLOCK_KERNEL:
        rows.append(Row(
            "memlock", "memlock, KiB (ulimit -l)", memlock_kib, MEMLOCK_KIB, OK,
            "kernel %d.%d charges io_uring rings to the memory cgroup, not to memlock "
            "(before 5.12 it did)" % kernel))
    else:
        rows.append(Row(
            "memlock", "memlock, KiB (ulimit -l)", memlock_kib, MEMLOCK_KIB,
            advise_unless(memlock_kib >= MEMLOCK_KIB),
            "kernel %d.%d < 5.12 charges io_uring rings to memlock: too little and "
            "ringcast falls back to epoll" % kernel,
            limit="memlock", value_to_write=max(memlock_hard / 1024, MEMLOCK_KIB)))

    # --- memory -------------------------------------------------------------
    available = mem.get("MemAvailable")
    per_conn = kernel_bytes + engine_bytes
    need_bytes = memory_need(n, kernel_bytes, engine_bytes)
    if available is None:
        rows.append(Row("memory", "memory (MemAvailable)", None, human_bytes(need_bytes), UNKNOWN,
                        "/proc/meminfo unreadable"))
    else:
        allows = int(available * MEM_FRACTION) // per_conn
        rows.append(Row(
            "memory", "memory (MemAvailable)", human_bytes(available), human_bytes(need_bytes / MEM_FRACTION),
            OK if allows >= n else LOW,
            "%d x (%d B kernel + %d B ringcast), planning on %d%% of MemAvailable"
            % (n, kernel_bytes, engine_bytes, MEM_FRACTION * 100),
            blocking=True, allows=allows))

    present = [r for r in rows if r is not None]  # settings this kernel lacks are None
    result = Assessment(n, present, kernel_bytes, engine_bytes, direct, available)
    capping = [r for r in present if r.blocking and r.allows is not None]
    if capping:
        result.binding = min(capping, key=lambda r: r.allows)
        result.allows = max(0, result.binding.allows)
    result.blockers = [r for r in present if r.blocking and r.verdict == LOW]
    return result
