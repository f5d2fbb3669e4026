#!/usr/bin/env python3
"""Helpers for benches/e2e/engine.sh and benches/e2e/compare.sh (stdlib only).

  e2e.py run --out F.json --server-pid PID [--label L] -- CMD...
      Runs one ringcast-load command (which prints --json on stdout) and
      stores its report together with what the machine did meanwhile: the
      server's and the generator's CPU, and the CPU that *other* processes
      used (this box is shared: foreign load skews every figure).
  e2e.py meta --out META.json key=value...
      Machine, toolchain and version facts for the results page.
  e2e.py engine-report --raw DIR --meta META.json --md OUT.md
  e2e.py compare-report --raw DIR --meta META.json --md OUT.md --svg OUT.svg
"""

import glob
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- sampling

def machine_busy_s():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    return (sum(vals[:8]) - idle) / HZ


def proc_cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
        fields = data[data.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / HZ
    except (OSError, ValueError):
        return None


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cmd_run(argv):
    out, pid, label = None, None, ""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            cmd = argv[i + 1:]
            break
        if a == "--out":
            out = argv[i + 1]
        elif a == "--server-pid":
            pid = int(argv[i + 1])
        elif a == "--label":
            label = argv[i + 1]
        i += 2
    else:
        sys.exit("e2e.py run: missing -- CMD")
    la0, busy0, srv0, gen0, t0 = loadavg(), machine_busy_s(), proc_cpu_s(pid), children_cpu_s(), time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t1, busy1, srv1, gen1, la1 = time.monotonic(), machine_busy_s(), proc_cpu_s(pid), children_cpu_s(), loadavg()
    try:
        report = json.loads(p.stdout)
    except ValueError:
        report = None
    elapsed = t1 - t0
    srv = (srv1 - srv0) if srv0 is not None and srv1 is not None else 0.0
    gen = gen1 - gen0
    busy = busy1 - busy0
    foreign = max(0.0, busy - srv - gen)
    rec = {
        "label": label,
        "cmd": cmd,
        "rc": p.returncode,
        "elapsed_s": round(elapsed, 2),
        "report": report,
        "stderr_tail": p.stderr[-2000:],
        "stdout_if_not_json": None if report is not None else p.stdout[-2000:],
        "machine": {
            "cores": os.cpu_count(),
            "busy_core_s": round(busy, 2),
            "server_cpu_s": round(srv, 2),
            "generator_cpu_s": round(gen, 2),
            "foreign_core_s": round(foreign, 2),
            # share of the whole machine (all cores) used by other processes
            "foreign_pct": round(100 * foreign / (elapsed * os.cpu_count()), 1) if elapsed > 0 else 0,
            "loadavg_before": la0,
            "loadavg_after": la1,
        },
    }
    with open(out, "w") as f:
        json.dump(rec, f, indent=1)
    r = report or {}
    srv_r = r.get("server") or {}
    print(
        f"  {label}: rc={p.returncode} clean={r.get('clean')} "
        f"rate={fmt((r.get('rates') or {}).get('received_per_s'))}/s "
        f"cpu/unit={fmt(srv_r.get('cpu_us_per_unit'), 2)}µs "
        f"rss/conn={fmt(srv_r.get('rss_per_conn'))} "
        f"p99(send)={fmt((r.get('service_us') or {}).get('p99'))}µs "
        f"foreign={rec['machine']['foreign_pct']}%",
        flush=True,
    )
    return 0


def cmd_quiet(argv):
    """Wait until other processes leave the machine mostly idle (busy share of
    all cores under --threshold % over one second), at most --max-wait s."""
    thr = float(argv[argv.index("--threshold") + 1]) if "--threshold" in argv else 25.0
    max_wait = float(argv[argv.index("--max-wait") + 1]) if "--max-wait" in argv else 60.0
    t0 = time.monotonic()
    while True:
        b0 = machine_busy_s()
        time.sleep(1.0)
        busy = 100 * (machine_busy_s() - b0) / os.cpu_count()
        waited = time.monotonic() - t0
        if busy < thr:
            return 0
        if waited >= max_wait:
            print(f"  (machine still {busy:.0f} % busy with other work after {waited:.0f} s; running anyway)",
                  flush=True)
            return 0


# ---------------------------------------------------------------- meta

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    except OSError:
        return ""


def cmd_meta(argv):
    out = argv[argv.index("--out") + 1]
    kv = {}
    for a in argv:
        if "=" in a and not a.startswith("--"):
            k, v = a.split("=", 1)
            kv[k] = v
    model = sh("lscpu | sed -n 's/^Model name: *//p'")
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": model,
        "cores": os.cpu_count(),
        "hypervisor": sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'"),
        "kernel": platform.release(),
        "memory": sh("free -g | awk '/^Mem:/{print $2\" GiB\"}'"),
        "rustc": sh("rustc --version"),
        "nofile": sh("ulimit -Hn"),
        **kv,
    }
    with open(out, "w") as f:
        json.dump(meta, f, indent=1)
    return 0


# ---------------------------------------------------------------- helpers

def fmt(v, nd=0):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if nd == 0:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:.{nd}f}"


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def load_runs(raw):
    runs = []
    for path in sorted(glob.glob(os.path.join(raw, "*.json"))):
        with open(path) as f:
            rec = json.load(f)
        if "label" not in rec:
            continue  # meta.json
        rec["_file"] = os.path.basename(path)
        runs.append(rec)
    return runs


def get(rec, *path):
    cur = rec.get("report")
    for p in path:
        if cur is None:
            return None
        cur = cur.get(p) if isinstance(cur, dict) else None
    return cur


def shell_join(cmd):
    import shlex
    return " ".join(shlex.quote(c) for c in cmd)


def command_block(runs, rewrite=lambda c: c):
    """A fenced sh block of the runs' distinct commands, made generic and
    then passed through `rewrite`, in run order."""
    out, seen = ["```sh"], set()
    for r in runs:
        c = rewrite(generic_cmd(r["cmd"]))
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out + ["```\n"]


def generic_cmd(cmd):
    """The command with its run-specific pid and port made generic."""
    out = []
    skip = False
    for i, c in enumerate(cmd):
        if skip:
            skip = False
            out.append("$SERVER_PID")
            continue
        if c == "--server-pid":
            skip = True
        out.append(os.path.basename(c) if c.endswith("/ringcast-load") else c)
    return shell_join(out).replace("'$SERVER_PID'", '"$SERVER_PID"')


def run_flags(rec):
    """Qualifiers of one run: generator-bound, not clean, behind schedule."""
    r = rec.get("report")
    if r is None:
        return ["failed (rc %s)" % rec.get("rc")]
    flags = []
    if not r.get("clean"):
        flags.append("NOT CLEAN: " + "; ".join(r.get("problems") or []))
    if (r.get("generator") or {}).get("bound"):
        flags.append("generator-bound")
    for n in r.get("notes") or []:
        if n.startswith("senders fell behind"):
            flags.append("senders behind schedule")
        elif n.startswith("machine saturated"):
            flags.append("machine saturated")
    return flags


def prio_note(meta):
    if not meta.get("prio"):
        return ""
    return (f"; both run under `{meta['prio']}` (real-time round robin: on this shared machine a "
            f"busy neighbour otherwise delays their wake-ups by up to a scheduler tick)")


def machine_table(meta):
    rows = [
        ("CPU", f"{meta.get('cpu')} ({meta.get('cores')} cores, {meta.get('hypervisor') or 'bare metal'} guest)"),
        ("memory", meta.get("memory")),
        ("kernel", meta.get("kernel")),
        ("rustc", meta.get("rustc")),
        ("open files (hard)", meta.get("nofile")),
        ("ringcast", f"{meta.get('ringcast_version', '')} at commit `{meta.get('commit', '')}`"),
        ("date", meta.get("date")),
    ]
    lines = ["| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def foreign_note(runs, meta=None):
    f = [r["machine"]["foreign_pct"] for r in runs if r.get("machine")]
    if not f:
        return ""
    if meta and meta.get("prio"):
        return (f"Other processes on this shared machine used {min(f):.0f}–{max(f):.0f} % of its CPU "
                f"(median {statistics.median(f):.0f} %) during these runs (`foreign`: machine busy "
                f"time minus server and generator, from `/proc/stat`). Under `{meta['prio']}` the "
                f"server and generator preempt them, so their effect is small, but not nil.")
    return (f"Other processes on this shared machine used {min(f):.0f}–{max(f):.0f} % of its CPU "
            f"(median {statistics.median(f):.0f} %) during these runs (`foreign` below: machine "
            f"busy time minus server and generator, from `/proc/stat`); their load competes "
            f"with the pinned server and generator, so rates and latencies are pessimistic and "
            f"vary between runs, and CPU per message varies less.")


# ---------------------------------------------------------------- engine report

def cmd_engine_report(argv):
    raw = argv[argv.index("--raw") + 1]
    meta = json.load(open(argv[argv.index("--meta") + 1]))
    md_out = argv[argv.index("--md") + 1]
    runs = load_runs(raw)
    idle = [r for r in runs if r["label"].startswith("idle")]
    fan = [r for r in runs if r["label"].startswith("fanout")]
    L = []
    L.append("## Engine benchmarks\n")
    L.append(f"<!-- written by benches/e2e/engine.sh on {meta.get('date')}; raw reports in "
             f"benches/e2e/results/raw/engine/ -->\n")
    L.append("Goals (issue 3), per core of this machine: user-space resident bytes per idle "
             "connection at 15 000 connections, server CPU per delivered message in a 5 000-member "
             "room at 100 000 deliveries/s, and publish-to-deliver latency. The server runs "
             "pinned to core 0 (`taskset -c 0 ringcast --shards 1`), the generator to core 1, "
             f"so CPU figures are per core{prio_note(meta)}. {meta.get('reps')} repetitions, medians; a fresh "
             "server for every run.\n")
    L.append("```sh\nbenches/e2e/engine.sh            # REPS=3 by default; --quick: 1 short repetition\n```\n")
    L.append(machine_table(meta) + "\n")

    def m(rs, *p):
        return med([get(r, *p) for r in rs])

    rss = m(idle, "server", "rss_per_conn")
    pss = m(idle, "server", "pss_per_conn")
    up = m(idle, "counters", "stayed_up")
    cpu = m(fan, "server", "cpu_us_per_unit")
    rate = m(fan, "rates", "received_per_s")
    srv_pct = m(fan, "server", "cpu_pct")
    p50s, p99s = m(fan, "service_us", "p50"), m(fan, "service_us", "p99")
    p50l, p99l = m(fan, "latency_us", "p50"), m(fan, "latency_us", "p99")
    lag99 = m(fan, "send_lag_us", "p99")
    gen = m(fan, "generator", "load")
    L.append("### Results\n")
    L.append("| measure | goal | median | runs |")
    L.append("|---|---|---|---|")
    L.append(f"| resident bytes per idle connection (VmRSS delta / connections up) | ≤ 512 B | **{fmt(rss)} B** | "
             + ", ".join(fmt(get(r, "server", "rss_per_conn")) for r in idle) + " |")
    L.append(f"| the same from PSS (`smaps_rollup`) | | {fmt(pss)} B | "
             + ", ".join(fmt(get(r, "server", "pss_per_conn")) for r in idle) + " |")
    L.append(f"| idle connections up at the end | 15 000 | {fmt(up)} | "
             + ", ".join(fmt(get(r, "counters", "stayed_up")) for r in idle) + " |")
    L.append(f"| server CPU per delivered message, 5 000-member room, 20 msg/s | | **{fmt(cpu, 2)} µs** | "
             + ", ".join(fmt(get(r, "server", "cpu_us_per_unit"), 2) for r in fan) + " |")
    L.append(f"| deliveries per second achieved | 100 000 | {fmt(rate)} | "
             + ", ".join(fmt(get(r, "rates", "received_per_s")) for r in fan) + " |")
    L.append(f"| server CPU, % of its core | | {fmt(srv_pct)} % | "
             + ", ".join(fmt(get(r, "server", "cpu_pct")) for r in fan) + " |")
    L.append(f"| publish-to-deliver latency p50 / p99, from send | | **{fmt(p50s / 1000 if p50s else None, 1)} / "
             f"{fmt(p99s / 1000 if p99s else None, 1)} ms** | "
             + ", ".join(f"{fmt(get(r, 'service_us', 'p50') / 1000, 1)}/{fmt(get(r, 'service_us', 'p99') / 1000, 1)}"
                         for r in fan if get(r, "service_us", "p50") is not None) + " |")
    L.append(f"| the same from the schedule (includes the generator's send lag) | | {fmt(p50l / 1000 if p50l else None, 1)} / "
             f"{fmt(p99l / 1000 if p99l else None, 1)} ms | "
             + ", ".join(f"{fmt(get(r, 'latency_us', 'p50') / 1000, 1)}/{fmt(get(r, 'latency_us', 'p99') / 1000, 1)}"
                         for r in fan if get(r, "latency_us", "p50") is not None) + " |")
    L.append(f"| generator send lag p99 | | {fmt(lag99 / 1000 if lag99 else None, 1)} ms | |")
    L.append(f"| generator load (share of its core) | | {fmt(100 * gen if gen is not None else None)} % | |")
    L.append("")
    if any(get(r, "generator", "bound") for r in fan):
        L.append("**The generator was at its limit in the fan-out runs** (generator-bound, see below): "
                 "`ringcast-load` keeps a room on one thread of one process, so all 100 000 deliveries/s "
                 "of the single 5 000-member room land on one generator core. The CPU per delivery is "
                 "the server's own (it was measured at the offered rate); the latencies include the "
                 "generator's delay in reading and checking them.\n")
    L.append("Per run (`foreign`: CPU other processes used, share of the whole machine):\n")
    L.append("| run | rc | clean | foreign | load avg | qualifiers |")
    L.append("|---|---|---|---|---|---|")
    for r in idle + fan:
        L.append(f"| {r['label']} | {r['rc']} | {get(r, 'clean')} | {r['machine']['foreign_pct']} % | "
                 f"{r['machine']['loadavg_before']} | {'; '.join(run_flags(r)) or '–'} |")
    L.append("")
    note = foreign_note(idle + fan, meta)
    if note:
        L.append(note + "\n")
    L.append("Commands (`$SERVER_PID` is the server's pid; the server was started as "
             f"`{meta.get('server_cmd')}`):\n")
    L += command_block(idle + fan)
    with open(md_out, "w") as f:
        f.write("\n".join(L))
    print(f"wrote {md_out}")
    return 0


# ---------------------------------------------------------------- compare report

SCEN = {
    # name: (unit of work, description)
    "echo": "round trip",
    "fanout": "delivery",
    "fanout-max": "delivery",
    "idle": None,
    "connect": "handshake",
}


def cmd_compare_report(argv):
    raw = argv[argv.index("--raw") + 1]
    meta = json.load(open(argv[argv.index("--meta") + 1]))
    md_out = argv[argv.index("--md") + 1]
    svg_out = argv[argv.index("--svg") + 1]
    runs = load_runs(raw)
    servers = meta["servers"].split(",")
    names = json.loads(meta["server_names"])
    by = {}
    for r in runs:
        srv, scen = r["label"].split(":")[0], r["label"].split(":")[1]
        by.setdefault((srv, scen), []).append(r)

    def m(srv, scen, *p, scale=1.0):
        v = med([get(r, *p) for r in by.get((srv, scen), [])])
        return None if v is None else v * scale

    def flags(srv, scen):
        fl = set()
        for r in by.get((srv, scen), []):
            for f in run_flags(r):
                fl.add(f if not f.startswith("NOT CLEAN") else "NOT CLEAN")
        return fl

    def ratio(a, b):
        if a is None or b is None or b == 0:
            return None
        return a / b

    def rfmt(x):
        return "–" if x is None else f"{x:.2f}"

    # metrics: (key, title, scenario, path, scale, better: 'low'|'high', digits)
    metrics = [
        ("echo_cpu", "echo: server CPU per round trip (µs)", "echo", ("server", "cpu_us_per_unit"), 1, "low", 2),
        ("echo_rate", "echo: round trips/s (closed loop)", "echo", ("rates", "received_per_s"), 1, "high", 0),
        ("echo_p50", "echo: round trip p50 (ms)", "echo", ("service_us", "p50"), 1e-3, "low", 2),
        ("echo_p99", "echo: round trip p99 (ms)", "echo", ("service_us", "p99"), 1e-3, "low", 2),
        ("fan_cpu", "fanout: server CPU per delivery (µs)", "fanout", ("server", "cpu_us_per_unit"), 1, "low", 2),
        ("fan_rate", "fanout: deliveries/s at the fixed rate", "fanout", ("rates", "received_per_s"), 1, "same", 0),
        ("fan_p50", "fanout: latency p50 from send (ms)", "fanout", ("service_us", "p50"), 1e-3, "low", 2),
        ("fan_p99", "fanout: latency p99 from send (ms)", "fanout", ("service_us", "p99"), 1e-3, "low", 2),
        ("max_rate", "fanout-max: deliveries/s sustained (overload run)", "fanout-max", ("rates", "received_per_s"), 1, "high", 0),
        ("max_cpu", "fanout-max: server CPU per delivery (µs)", "fanout-max", ("server", "cpu_us_per_unit"), 1, "low", 2),
        ("idle_rss", "idle: resident bytes per connection", "idle", ("server", "rss_per_conn"), 1, "low", 0),
        ("conn_rate", "connect: handshakes/s", "connect", ("rates", "handshakes_per_s"), 1, "high", 0),
        ("conn_cpu", "connect: server CPU per handshake (µs)", "connect", ("server", "cpu_us_per_unit"), 1, "low", 1),
        ("conn_p99", "connect: upgrade time p99 (ms)", "connect", ("handshake_us", "p99"), 1e-3, "low", 2),
    ]
    val = {}
    for key, _, scen, path, scale, _, _ in metrics:
        for s in servers:
            val[(key, s)] = m(s, scen, *path, scale=scale)
    # The overload run measures a limit only where the server fell short of
    # the offered rate; a server that kept up shows "≥ offered".
    capped = set()
    for s in servers:
        rs = by.get((s, "fanout-max"), [])
        offered = med([(get(r, "config", "rate") or 0) * (get(r, "config", "subs") or 0) for r in rs])
        if offered and val[("max_rate", s)] is not None and val[("max_rate", s)] >= 0.98 * offered:
            capped.add(s)

    L = []
    L.append("## Peer servers\n")
    L.append(f"<!-- written by benches/e2e/compare.sh on {meta.get('date')}; raw reports in "
             f"benches/e2e/results/raw/compare/ -->\n")
    L.append("The same load (`ringcast-load`) against ringcast and against small servers written "
             "on each peer with the same endpoints (`/echo`; `/room/<name>`: every member, the "
             "sender included, receives each message, same opcode, payload untouched). Sources: "
             "`benches/peers/`. Every server runs on one core (`taskset -c 0`, single-threaded: "
             "`ringcast --shards 1`, tokio `current_thread`, `GOMAXPROCS=1`, Node's one event-loop "
             f"thread), the generator on the other (`taskset -c 1`, `--threads 1`){prio_note(meta)}. Servers are "
             f"interleaved within each of {meta.get('reps')} repetition(s); figures are medians.\n")
    L.append("```sh\nbenches/e2e/compare.sh           # REPS=3 by default; --quick: 1 short repetition\n```\n")
    L.append(machine_table(meta) + "\n")
    L.append("| server | what it is, versions |")
    L.append("|---|---|")
    for s in servers:
        L.append(f"| {names[s]} | {meta.get('version_' + s, '')} |")
    L.append("")

    L.append("### Results\n")
    L.append("Medians. ✱ = at least one run was generator-bound (the server figure is a lower "
             "bound, not the server's limit); † = at least one run was not clean (loss, drops, "
             "errors: see the per-run table); ‡ = the senders fell behind schedule (latencies then "
             "include the generator's own delay).\n")
    head = "| metric | " + " | ".join(names[s] for s in servers) + " |"
    L.append(head)
    L.append("|---" * (len(servers) + 1) + "|")
    for key, title, scen, path, scale, better, nd in metrics:
        cells = []
        for s in servers:
            v = val[(key, s)]
            fl = flags(s, scen)
            mark = ""
            if "generator-bound" in fl:
                mark += "✱"
            if "NOT CLEAN" in fl or any(f.startswith("failed") for f in fl):
                mark += "†"
            if "senders behind schedule" in fl and key.endswith(("p50", "p99")):
                mark += "‡"
            if key == "max_rate" and s in capped:
                cells.append("≥ " + fmt(v, nd) + " (kept up)" + mark)
            else:
                cells.append(fmt(v, nd) + mark)
        L.append(f"| {title} | " + " | ".join(cells) + " |")
    L.append("")

    # ratios
    peers = [s for s in servers if s != "ringcast"]
    L.append("### ringcast ÷ peer\n")
    L.append("Each cell is ringcast's median divided by the peer's. For costs (CPU, latency, bytes) "
             "below 1 means ringcast is better; for rates (round trips/s, deliveries/s, "
             "handshakes/s) above 1 means ringcast is better. **Bold**: ringcast loses by more than 2 %. "
             "\"= offered\": every server should deliver the offered rate; not a contest.\n")
    L.append("| metric | better | " + " | ".join(names[s] for s in peers) + " |")
    L.append("|---|---" + "|---" * len(peers) + "|")
    losses = []
    for key, title, scen, path, scale, better, nd in metrics:
        cells = []
        for s in peers:
            x = ratio(val[(key, "ringcast")], val[(key, s)])
            if key == "max_rate" and "ringcast" in capped and s in capped:
                cells.append("= (both kept up)")
                continue
            if key == "max_rate" and "ringcast" in capped and x is not None:
                cells.append(f"≥ {rfmt(x)}")
                continue
            # within 2 %: a tie (run-to-run noise on this box is far larger)
            lose = x is not None and ((better == "low" and x > 1.02) or (better == "high" and x < 0.98))
            if lose:
                losses.append((title, names[s], x))
            cells.append(f"**{rfmt(x)}**" if lose else rfmt(x))
        word = {"low": "lower", "high": "higher", "same": "= offered"}[better]
        L.append(f"| {title} | {word} | " + " | ".join(cells) + " |")
    L.append("")
    if losses:
        L.append("Where ringcast loses in this run: " + "; ".join(
            f"{t} vs {p} ({rfmt(x)})" for t, p, x in losses) + ".\n")
    else:
        L.append("ringcast does not lose on any metric in this run.\n")

    L.append(f"![CPU per delivery and bytes per idle connection](compare.svg)\n")

    L.append("### Runs\n")
    L.append("| server | scenario | rep | rc | clean | foreign | qualifiers |")
    L.append("|---|---|---|---|---|---|---|")
    for r in sorted(runs, key=lambda r: r["_file"]):
        srv, scen, rep = r["label"].split(":")
        L.append(f"| {names.get(srv, srv)} | {scen} | {rep} | {r['rc']} | {get(r, 'clean')} | "
                 f"{r['machine']['foreign_pct']} % | {'; '.join(run_flags(r)) or '–'} |")
    L.append("")
    note = foreign_note(runs, meta)
    if note:
        L.append(note + "\n")
    L.append("### Commands\n")
    L.append("Servers (port 9101):\n")
    L.append("```sh")
    for s in servers:
        L.append(meta.get("cmd_" + s, ""))
    L.append("```\n")
    L.append("Load, per server (`$URL` is `ws://127.0.0.1:9101`, `$SERVER_PID` the server's pid):\n")
    L += command_block(
        [r for r in runs if r["label"].startswith("ringcast:")],
        lambda c: c.replace("'ws://127.0.0.1:9101", "\"$URL").replace(
            "{room}'", "{room}\"").replace("ws://127.0.0.1:9101", "$URL"))
    with open(md_out, "w") as f:
        f.write("\n".join(L))
    write_svg(svg_out, servers, names,
              [("Server CPU per delivery, fanout 1 room x 1000 members at a fixed rate (µs, lower is better)",
                [val[("fan_cpu", s)] for s in servers], 2, False),
               ("Resident bytes per idle connection (log scale, lower is better)",
                [val[("idle_rss", s)] for s in servers], 0, True)],
              meta)
    print(f"wrote {md_out} and {svg_out}")
    return 0


def write_svg(path, servers, names, panels, meta):
    W, bar_h, gap, left, right = 760, 22, 6, 190, 90
    panel_h = 40 + len(servers) * (bar_h + gap)
    H = 30 + panel_h * len(panels) + 20
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
         f'font-family="sans-serif" font-size="13">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="10" y="20" font-size="14" font-weight="bold">ringcast vs peers, one core each '
         f'({meta.get("cpu")}, {meta.get("date")})</text>']
    y0 = 30
    import math
    for title, vals, nd, log in panels:
        o.append(f'<text x="10" y="{y0 + 22}" font-weight="bold">{esc(title)}</text>')
        vmax = max([v for v in vals if v is not None] or [1])
        floor = 10.0 ** math.floor(math.log10(max(1.0, min([v for v in vals if v] or [1])) / 2))
        for i, (s, v) in enumerate(zip(servers, vals)):
            y = y0 + 34 + i * (bar_h + gap)
            color = "#d9480f" if s == "ringcast" else "#4c6ef5"
            o.append(f'<text x="{left - 8}" y="{y + bar_h - 6}" text-anchor="end">{esc(names[s])}</text>')
            if v is None:
                o.append(f'<text x="{left + 4}" y="{y + bar_h - 6}" fill="#888">no data</text>')
                continue
            if log:
                w = max(1, (W - left - right) * math.log10(max(v, floor) / floor)
                        / max(1e-9, math.log10(vmax / floor)))
            else:
                w = max(1, (W - left - right) * v / vmax)
            o.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"/>')
            o.append(f'<text x="{left + w + 5:.1f}" y="{y + bar_h - 6}">{fmt(v, nd)}</text>')
        y0 += panel_h
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    return {
        "run": cmd_run,
        "meta": cmd_meta,
        "quiet": cmd_quiet,
        "engine-report": cmd_engine_report,
        "compare-report": cmd_compare_report,
    }[cmd](argv)


if __name__ == "__main__":
    sys.exit(main())
