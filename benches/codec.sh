#!/usr/bin/env bash
# Codec micro-benchmarks: ringcast against tungstenite and fastwebsockets, in
# one run on the same inputs. Runs the criterion benches with a bounded time,
# reads every median from criterion's output and prints a markdown section:
# throughput per implementation and the ratio ringcast / peer (above 1: we are
# faster). The machine is shared, so absolute numbers drift between runs; the
# ratios, measured in the same run, are what to compare.
#
#   benches/codec.sh                     run everything, print the section
#   benches/codec.sh --write-doc         ... and replace it in docs/benchmarks.md
#   benches/codec.sh --report-only       reprint from the last run's results
#   MEASURE=3 WARMUP=1 benches/codec.sh  seconds per benchmark (the defaults)
#   ROUNDS=3 benches/codec.sh            run everything 3 times; report, per
#                                        benchmark, the median of the rounds'
#                                        medians, and per ratio the median of
#                                        the rounds' ratios (robust to a noisy
#                                        neighbour during one round)
#   FILTER=decode benches/codec.sh       only benchmarks matching a regex
#
# One round takes about 5 minutes with the defaults (~60 benchmarks x 4 s).
set -euo pipefail
cd "$(dirname "$0")/.."

write_doc=0
run=1
for arg in "$@"; do
    case "$arg" in
        --write-doc) write_doc=1 ;;
        --report-only) run=0 ;;
        *) echo "usage: $0 [--write-doc] [--report-only]" >&2; exit 2 ;;
    esac
done

MEASURE=${MEASURE:-3}
ROUNDS=${ROUNDS:-1}
WARMUP=${WARMUP:-1}
FILTER=${FILTER:-}
target=${CARGO_TARGET_DIR:-$PWD/target}
args=(--bench --measurement-time "$MEASURE" --warm-up-time "$WARMUP" --noplot)
[ -n "$FILTER" ] && args+=("$FILTER")

machine() {
    printf -- '- CPU: %s, %s cores (`lscpu`)\n' \
        "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" "$(nproc)"
    printf -- '- kernel %s, %s\n' "$(uname -r)" "$(rustc --version)"
    printf -- '- started %s: `MEASURE=%s WARMUP=%s ROUNDS=%s benches/codec.sh`\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$MEASURE" "$WARMUP" "$ROUNDS"
    printf -- '- commit %s%s\n' "$(git rev-parse --short HEAD)" \
        "$(git diff --quiet HEAD -- protocol benches/Cargo.toml benches/src benches/benches ||
           echo ' (protocol/ or the codec benches modified)')"
}

results="$target/criterion-codec"
if [ "$run" = 1 ]; then
    rm -rf "$results"   # no stale medians from an earlier run
    mkdir -p "$results"
    # Build once and run those binaries in every round: a commit landing in
    # protocol/ mid-run must not make the rounds measure different code.
    build=(cargo bench -p ringcast-benches --bench frame --bench handshake --no-run)
    echo "==> ${build[*]}" >&2
    "${build[@]}" >&2
    mapfile -t bins < <("${build[@]}" --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        print(m["executable"])')
    [ "${#bins[@]}" = 2 ] || { echo "expected 2 bench binaries, got: ${bins[*]}" >&2; exit 1; }
    machine > "$results/run-info.md"
    for round in $(seq "$ROUNDS"); do
        export CRITERION_HOME="$results/round-$round"
        for bin in "${bins[@]}"; do
            echo "==> round $round/$ROUNDS: $(basename "$bin") ${args[*]}" >&2
            "$bin" "${args[@]}" >&2
        done
    done
fi

section=$(
    [ -f "$results/run-info.md" ] || { echo "no results in $results: run without --report-only" >&2; exit 1; }
python3 - "$results" "$(cat "$results/run-info.md")" <<'PY'
import json, pathlib, statistics, sys

home, machine = pathlib.Path(sys.argv[1]), sys.argv[2]
rounds = []  # per round: (group, impl, size) -> (median ns per iteration, bytes per iteration)
for round_dir in sorted(home.glob("round-*")):
    found = {}
    for bench in round_dir.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        median = json.loads((bench.parent / "estimates.json").read_text())["median"]["point_estimate"]
        size = meta.get("value_str") or ""
        found[(meta["group_id"], meta["function_id"], size)] = (median, meta["throughput"]["Bytes"])
    rounds.append(found)
if not any(rounds):
    sys.exit(f"no criterion results under {home}")
results = {  # median over the rounds
    key: (statistics.median(r[key][0] for r in rounds if key in r), value[1])
    for found in rounds for key, value in found.items()
}

def size_label(size):
    n = int(size)
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"

def rate(group, impl, size):
    r = results.get((group, impl, size))
    return None if r is None else r[1] / r[0]  # bytes per ns = GB/s

def fmt_rate(gbps):
    if gbps is None:
        return "–"
    return f"{gbps:.2f} GB/s" if gbps >= 1 else f"{gbps * 1000:.0f} MB/s"

def fmt_ratio(group, size, peer):
    """Median over the rounds of ringcast / peer measured in the same round."""
    ratios = [r[(group, peer, size)][0] / r[(group, "ringcast", size)][0]
              for r in rounds if (group, peer, size) in r and (group, "ringcast", size) in r]
    if not ratios:
        return "–"
    ratio = statistics.median(ratios)
    cell = f"**{ratio:.2f}×**" if ratio < 1 else f"{ratio:.2f}×"
    if len(ratios) > 1:
        cell += f" ({min(ratios):.2f}–{max(ratios):.2f})"
    return cell

def table(group, peers, extra=(), per_op=False):
    """Throughput of ringcast, the peers and any reference rows, with ratios."""
    sizes = sorted({s for (g, _, s) in results if g == group}, key=lambda s: int(s or 0))
    if not sizes:
        return f"(no results for `{group}`)\n"
    cols = ["ringcast", *peers, *extra]
    head = ["payload" if sizes != [""] else "", *cols, *[f"ringcast / {p}" for p in peers]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size in sizes:
        row = [size_label(size) if size else "request"]
        for impl in cols:
            cell = fmt_rate(rate(group, impl, size))
            r = results.get((group, impl, size))
            if per_op and r is not None:
                cell += f" ({r[0]:,.0f} ns)"
            row.append(cell)
        row += [fmt_ratio(group, size, p) for p in peers]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"

peers = ["tungstenite", "fastwebsockets"]
out = []
out.append(f"Measured on:\n\n{machine}\n")
out.append("Throughput: median of criterion's samples (median over the rounds when\n"
           "there are several), counting payload bytes (request bytes for the handshake).\n"
           "Ratio: ringcast throughput / peer throughput measured in the same round, median\n"
           "over the rounds, (lowest–highest round) after it. Above 1 ringcast is faster;\n"
           "**bold** marks where it is slower.\n")
out.append("### Decode + unmask (server role, masked binary frames)\n")
out.append(table("decode", peers, extra=["ringcast-in-place"]))
out.append("### Encode, server role (unmasked)\n")
out.append(table("encode-server", peers, extra=["ringcast-bytes"]))
out.append("### Encode, client role (masked)\n")
out.append(table("encode-client", peers, extra=["ringcast-bytes"]))
out.append("### Unmask in place (tungstenite's `apply_mask` is private and identical to fastwebsockets' `unmask`)\n")
out.append(table("unmask", ["fastwebsockets"]))
out.append("### Handshake: parse the request head\n")
out.append(table("handshake-parse", ["tungstenite", "httparse"], per_op=True))
out.append("### Handshake: parse + validate + accept key + 101 response\n")
out.append(table("handshake-accept", ["tungstenite"], per_op=True))
# A 64 KiB copy under ~3 GB/s is glibc memcpy's 4K-aliasing cliff (see
# SOURCE_PAGE_OFFSET in benches/src/lib.rs), not codec work: say so.
cliff = sorted(f"`{g}/{i}/{s}`" for (g, i, s), (ns, n) in results.items()
               if g.startswith(("decode", "encode")) and s == "65536" and n / ns < 3)
if cliff:
    out.append("**Suspect:** " + ", ".join(cliff) + " ran below 3 GB/s on 64 KiB, the\n"
               "speed of glibc's memcpy when source and destination alias (4K aliasing):\n"
               "a buffer placement accident, not codec work. Rerun before reading those rows.\n")
print("\n".join(out), end="")
PY
)

printf '%s\n' "$section"

if [ "$write_doc" = 1 ]; then
    printf '%s\n' "$section" | benches/write-doc-section codec.sh -
fi
