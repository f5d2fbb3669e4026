#!/usr/bin/env bash
# Engine benchmark (issue 3): on this machine, per core,
#   (a) user-space resident bytes per idle connection at 15 000 connections,
#   (b) server CPU per delivered message in a 5 000-member room at
#       100 000 deliveries/s (20 msg/s published into it),
#   (c) p50/p99 publish-to-deliver latency of (b).
# Server: taskset -c 0 ringcast --shards 1; generator: taskset -c 1.
# Writes benches/e2e/results/engine.md (+ raw JSON in results/raw/engine/).
#
#   benches/e2e/engine.sh            # REPS=3 repetitions, medians
#   benches/e2e/engine.sh --quick    # 1 short repetition (smoke check)
#   benches/e2e/engine.sh --write-doc  # ... and splice results/engine.md into docs/benchmarks.md
# Env: REPS, PORT (9100), CONNS (15000), SKIP_BUILD=1 (reuse built binaries),
#      CARGO_TARGET_DIR (default: the repo's target/).
set -euo pipefail
# shellcheck source=benches/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

REPS=${REPS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}
PORT=${PORT:-9100}
CONNS=${CONNS:-15000}
IDLE_DUR=$([ -n "$QUICK" ] && echo 5s || echo 10s)
FAN_DUR=$([ -n "$QUICK" ] && echo 5s || echo 15s)
OUT=${OUT:-$E2E/results}
RAW=$OUT/raw/engine
check_cpus
build_ringcast
rm -rf "$RAW"; mkdir -p "$RAW"

SERVER=("$BIN/ringcast" --shards 1 --listen "127.0.0.1:$PORT" --log-level warn)
URL="ws://127.0.0.1:$PORT"

for rep in $(seq 1 "$REPS"); do
    log "rep $rep/$REPS: idle, $CONNS connections"
    start_server "$PORT" "$RAW/server-idle-$rep.log" "${SERVER[@]}"
    wait_quiet
    load "$RAW/idle-$rep.json" "idle-$rep" idle --url "$URL/room/{room}" --conns "$CONNS" \
        --procs 2 --source-ips 127.0.0.2-127.0.0.9 --duration "$IDLE_DUR" --warmup 2s || true
    stop_server

    log "rep $rep/$REPS: fanout, 1 room x 5000 members, 20 msg/s"
    start_server "$PORT" "$RAW/server-fanout-$rep.log" "${SERVER[@]}"
    wait_quiet
    load "$RAW/fanout-$rep.json" "fanout-$rep" fanout --url "$URL/room/{room}" --rooms 1 \
        --subs 5000 --pubs 1 --rate 20 --payload 64 --duration "$FAN_DUR" --warmup 3s || true
    stop_server
done

"$PY" "$E2E/e2e.py" meta --out "$RAW/meta.json" reps="$REPS" prio="$PRIO" \
    commit="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet -- engine loadgen protocol || echo '+dirty')" \
    ringcast_version="$("$BIN/ringcast" --version)" \
    server_cmd="${PRIO:+$PRIO }taskset -c $SERVER_CPU ringcast --shards 1 --listen 127.0.0.1:$PORT --log-level warn"
"$PY" "$E2E/e2e.py" engine-report --raw "$RAW" --meta "$RAW/meta.json" --md "$OUT/engine.md"
if [ -n "$WRITE_DOC" ]; then
    "$ROOT/benches/write-doc-section" engine.sh "$OUT/engine.md" "$ROOT/docs/benchmarks.md"
fi
