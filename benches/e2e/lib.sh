# shellcheck shell=bash
# Shared by engine.sh and compare.sh (sourced, not run).
#
# Server on core 0, generator on core 1 (SERVER_CPU / GEN_CPU to change),
# every server this script starts is stopped on exit (trap).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E=$ROOT/benches/e2e
PY=${PYTHON:-python3}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$CARGO_TARGET_DIR/release
SERVER_PID=""

# The scripts' flags: --quick (one short repetition) and --write-doc
# (splice the results into docs/benchmarks.md afterwards).
QUICK=""
WRITE_DOC=""
# shellcheck disable=SC2034 # QUICK and WRITE_DOC are read by the sourcing script
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        --write-doc) WRITE_DOC=1 ;;
        *) echo "usage: $0 [--quick] [--write-doc]" >&2; exit 2 ;;
    esac
done
# Real-time round-robin priority for the server and the generator (root
# only; PRIO= to run them as ordinary processes). This box is shared: under
# the default scheduler a busy neighbour delays every wake-up of the pinned
# server and generator by up to a tick, and a closed-loop echo measured
# ~130 000 round trips/s with both at 30 % CPU; under SCHED_RR the same run
# reached ~380 000 (generator-bound). The kernel's RT throttling
# (sched_rt_runtime_us, 95 %) still leaves the rest of the machine 5 %.
if [ -z "${PRIO+set}" ]; then
    if [ "$(id -u)" = 0 ] && chrt -r 20 true 2>/dev/null; then PRIO="chrt -r 20"; else PRIO=""; fi
fi

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 150); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap 'stop_server' EXIT
trap 'exit 130' INT TERM

wait_port() { # port: until it accepts, 15 s at most
    local port=$1
    for _ in $(seq 1 150); do
        if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { log "server died"; return 1; }
        sleep 0.1
    done
    log "port $port never opened"; return 1
}

# start_server PORT LOGFILE CMD...: CMD pinned to SERVER_CPU, pid in SERVER_PID.
start_server() {
    local port=$1 logf=$2; shift 2
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
        log "port $port is already served by another process; pick another with PORT=..."; exit 1
    fi
    # shellcheck disable=SC2086
    $PRIO taskset -c "$SERVER_CPU" "$@" >"$logf" 2>&1 &
    SERVER_PID=$!
    wait_port "$port"
    sleep 0.5 # let it settle before the generator samples its baseline RSS
}

# load OUT LABEL SCENARIO FLAGS...: ringcast-load pinned to GEN_CPU, JSON kept.
load() {
    local out=$1 label=$2; shift 2
    # shellcheck disable=SC2086
    "$PY" "$E2E/e2e.py" run --out "$out" --server-pid "$SERVER_PID" --label "$label" -- \
        $PRIO taskset -c "$GEN_CPU" "$BIN/ringcast-load" "$@" --threads 1 --server-pid "$SERVER_PID" --json
}

build_ringcast() {
    if [ -n "${SKIP_BUILD:-}" ] && [ -x "$BIN/ringcast" ] && [ -x "$BIN/ringcast-load" ]; then return; fi
    log "cargo build --release -p ringcast -p ringcast-load (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$ROOT" && cargo build --release -p ringcast -p ringcast-load)
}

check_cpus() {
    local n; n=$(nproc --all)
    if [ "$n" -lt 2 ]; then log "needs 2 CPUs (server on one, generator on the other)"; exit 1; fi
}

# Before each measured run: wait (QUIET_WAIT s at most, default 10) for other
# processes on this shared machine to leave it under QUIET_PCT % busy (25);
# QUIET_BUDGET (default 120 s) bounds the waiting over the whole script.
QUIET_SPENT=0
wait_quiet() {
    local budget=${QUIET_BUDGET:-120} max=${QUIET_WAIT:-10} t0
    [ "$max" = 0 ] && return 0
    [ "$QUIET_SPENT" -ge "$budget" ] && return 0
    [ $((budget - QUIET_SPENT)) -lt "$max" ] && max=$((budget - QUIET_SPENT))
    t0=$(date +%s)
    "$PY" "$E2E/e2e.py" quiet --threshold "${QUIET_PCT:-25}" --max-wait "$max"
    QUIET_SPENT=$((QUIET_SPENT + $(date +%s) - t0))
}
