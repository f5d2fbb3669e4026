#!/usr/bin/env bash
# End to end through a real nginx: the ringcast binary (dev build) behind the
# config that tuning/nginx/render --standalone writes, reached by a real
# WebSocket client (Python `websockets`) over ws:// and wss://.
#
# What it shows: echo (text, binary, 256 KiB) and a two-member room through
# the proxy on both schemes; an idle connection outlives nginx's 2 s
# proxy_read_timeout thanks to the engine's 1 s pings, and without them
# (--ping-interval 60s) nginx cuts it at about 2 s; the engine believes
# X-Forwarded-For only from --trusted-proxies, and then only the hop nginx
# appended, never one the client sent.
#
# Self-contained: builds the engine, installs nginx (without a system
# service), openssl and websockets when missing. Loopback only, on ports the
# OS hands out; every process is stopped by a trap; every wait is bounded.
# Ends with "nginx-e2e: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export CARGO_TERM_COLOR=never

WORK=$(mktemp -d /tmp/ringcast-nginx.XXXXXX)
chmod 755 "$WORK" # nginx workers (nobody) read from here
BG_PIDS=()
# shellcheck source=tests/lib/harness.sh
. tests/lib/harness.sh

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do stop_pid "$pid"; done
    harness_cleanup
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

READ_TIMEOUT=2s # nginx proxy_read_timeout: short, so idle cuts show quickly
HOLD=5          # seconds an idle connection must survive with pings
CUT_WITHIN=8    # ... and by when it must be cut without them
CLIENT=(timeout 30 python3 tests/lib/nginx_client.py)

# ---------------------------------------------------------------------------
section "build and tools"
if cargo build -p ringcast >"$WORK/build.log" 2>&1; then
    ok "cargo build -p ringcast"
else
    bad "cargo build -p ringcast" "$(tail -30 "$WORK/build.log")"
    summary nginx-e2e
    exit 1
fi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET_DIR/debug/ringcast"
expect "engine binary at $BIN" test -x "$BIN"

ensure_nginx
has_websockets() { python3 -c 'import websockets.sync.client' 2>/dev/null; }
if ! has_websockets; then
    echo "installing websockets for $(command -v python3) (PyPI)"
    pip_install() { python3 -m pip install -q --disable-pip-version-check "$@" 'websockets>=12'; }
    if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
    # A Debian python3 refuses plain pip installs (PEP 668): then say we mean it.
    { pip_install || pip_install --break-system-packages; } >"$WORK/pip.log" 2>&1
    if has_websockets; then ok "websockets installed"; else bad "websockets installed" "$(tail -5 "$WORK/pip.log")"; fi
fi
NG="$WORK/nginx"
mkdir -p "$NG"
chmod 755 "$NG"
make_cert "$NG"
expect "self-signed certificate for 127.0.0.1 made" test -s "$NG/cert.pem"
if [ "$FAIL" -gt 0 ] || [ ! -x "$BIN" ]; then
    summary nginx-e2e
    exit 1
fi

# ---------------------------------------------------------------------------
section "engines and nginx"
# start_engine NAME FLAGS...: the engine on a port the OS hands out; sets
# NAME_ADDR (host:port, from its "listening on" line) and NAME_PID.
start_engine() {
    local name=$1 log="$WORK/engine-$1.log" addr="" pid _
    shift
    "$BIN" --listen 127.0.0.1:0 --drain-timeout 1s "$@" </dev/null >"$log" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    for _ in $(seq 100); do
        addr=$(sed -n 's/.*listening on \([0-9.]*:[0-9]*\) .*/\1/p' "$log")
        [ -n "$addr" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    printf -v "${name}_ADDR" %s "$addr"
    printf -v "${name}_PID" %s "$pid"
    if [ -n "$addr" ]; then
        ok "engine $name listening on $addr ($*)"
    else
        bad "engine $name did not start ($*)" "$(tail -10 "$log")"
        return 1
    fi
}
# start_nginx NAME UPSTREAM: render --standalone for two free ports (plain
# ws:// proxied too, TLS with the test certificate) and run nginx in the
# foreground; sets NAME_HTTP, NAME_TLS (ports) and NAME_NGINX_PID.
start_nginx() {
    local name=$1 dir="$NG/$1" http tls pid out
    mkdir -p "$dir"
    chmod 755 "$dir"
    read -r http tls < <(free_ports 2)
    tuning/nginx/render --standalone --workers 1 --worker-connections 1024 \
        --http "127.0.0.1:$http" --tls "127.0.0.1:$tls" --plain proxy \
        --read-timeout "$READ_TIMEOUT" --upstream "$2" \
        --cert "$NG/cert.pem" --key "$NG/key.pem" -o "$dir/nginx.conf" 2>"$dir/render.err"
    expect "nginx $name: rendered with proxy_read_timeout $READ_TIMEOUT" \
        grep -q "proxy_read_timeout $READ_TIMEOUT;" "$dir/nginx.conf"
    if ! out=$(nginx -t -c "$dir/nginx.conf" -p "$dir/" -e "$dir/error.log" 2>&1); then
        bad "nginx $name: nginx -t" "$out"
        return 1
    fi
    # A second error log at info level: nginx logs idle cuts ("upstream timed
    # out") at info, below the rendering's notice.
    nginx -c "$dir/nginx.conf" -p "$dir/" -e "$dir/error.log" \
        -g "daemon off; error_log $dir/info.log info;" \
        </dev/null >"$dir/nginx.out" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    printf -v "${name}_HTTP" %s "$http"
    printf -v "${name}_TLS" %s "$tls"
    printf -v "${name}_NGINX_PID" %s "$pid"
    if wait_port "$http" && wait_port "$tls"; then
        ok "nginx $name on :$http (ws://) and :$tls (wss://) in front of $2"
    else
        bad "nginx $name did not start" "$(tail -10 "$dir/error.log" "$dir/nginx.out")"
        return 1
    fi
}

# A: what production runs, with fast heartbeats: ping after 1 s of silence,
# nginx trusted. B: pings too rare for nginx's timeout, nobody trusted.
start_engine A --ping-interval 1s --pong-timeout 2s --tick 100ms --trusted-proxies 127.0.0.1
start_engine B --ping-interval 60s --tick 100ms
if [ -n "$A_ADDR" ] && [ -n "$B_ADDR" ]; then
    start_nginx A "$A_ADDR"
    start_nginx B "$B_ADDR"
fi
expect "render warns that $READ_TIMEOUT is under the engine's default ping interval" \
    grep -q "idle clients will be cut" "$NG/A/render.err"
if [ "$FAIL" -gt 0 ]; then
    summary nginx-e2e
    exit 1
fi
WS="ws://127.0.0.1:$A_HTTP"
WSS="wss://127.0.0.1:$A_TLS"

# client DESCRIPTION ARGS...: one nginx_client.py check, ok with what it said.
client() {
    local desc=$1 out
    shift
    local status=0
    out=$("${CLIENT[@]}" "$@" --cafile "$NG/cert.pem" 2>&1) || status=$?
    if [ "$status" -eq 0 ]; then
        ok "$desc: $out"
    elif [ "$status" -eq 124 ]; then
        bad "$desc" "${out:-no output}: the client was still running after 30 s and was killed"
    else
        bad "$desc" "${out:-no output} (exit $status)"
    fi
}
metric() { "${CLIENT[@]}" metric "http://$1/metrics" "$2"; }

# ---------------------------------------------------------------------------
section "echo and rooms through nginx"
for url in "$WS" "$WSS"; do
    scheme=${url%%:*}
    client "$scheme:// /echo" echo "$url/echo"
    client "$scheme:// /room, two members" room "$url/room/e2e-$scheme?echo=false"
    client "$scheme:// upgrade from 127.0.0.5" echo "$url/echo" --source 127.0.0.5
done

# ---------------------------------------------------------------------------
section "idle connections and nginx's proxy_read_timeout ($READ_TIMEOUT)"
PINGS_BEFORE=$(metric "$A_ADDR" ringcast_pings_sent_total)
# All four at once: two that must survive (engine A pings), two that must be
# cut (engine B stays silent). Each is bounded by the client's own timeout.
IDLE=(
    "survive-ws|idle $WS/echo --hold $HOLD"
    "survive-wss|idle $WSS/echo --hold $HOLD"
    "cut-ws|idle ws://127.0.0.1:$B_HTTP/echo --cut-within $CUT_WITHIN --not-before 1.5"
    "cut-wss|idle wss://127.0.0.1:$B_TLS/echo --cut-within $CUT_WITHIN --not-before 1.5"
)
IDLE_PIDS=()
for job in "${IDLE[@]}"; do
    # shellcheck disable=SC2086 # the arguments are split on purpose
    "${CLIENT[@]}" ${job#*|} --cafile "$NG/cert.pem" >"$WORK/${job%%|*}.out" 2>&1 &
    IDLE_PIDS+=($!)
    BG_PIDS+=($!)
done
# held_open ADDR: until the engine counts the two idle connections (5 s at most).
held_open() {
    local n="" _
    for _ in $(seq 50); do
        n=$(metric "$1" ringcast_connections)
        [ "$n" = 2 ] && return 0
        sleep 0.1
    done
    echo "ringcast_connections: $n" >&2
    return 1
}
expect "engine A holds both idle connections" held_open "$A_ADDR"
# B's two are cut after 2 s, and a loaded machine may look later than that:
# ask a counter that cannot go down (each client echoes once first).
both_echoed() {
    local n="" _
    for _ in $(seq 50); do
        n=$(metric "$1" ringcast_messages_in_total)
        [ "${n%.*}" -ge 2 ] 2>/dev/null && return 0
        sleep 0.1
    done
    echo "ringcast_messages_in_total: $n" >&2
    return 1
}
expect "engine B served both idle connections (each echoed once before going idle)" both_echoed "$B_ADDR"
for i in "${!IDLE[@]}"; do
    name=${IDLE[$i]%%|*}
    case $name in
    survive-*) desc="${name#*-}:// idle ${HOLD} s behind a $READ_TIMEOUT proxy_read_timeout, engine pings every 1 s: survives" ;;
    cut-*) desc="${name#*-}:// idle, engine pings every 60 s: nginx cuts it within $CUT_WITHIN s" ;;
    esac
    if wait "${IDLE_PIDS[$i]}"; then
        ok "$desc: $(cat "$WORK/$name.out")"
    else
        bad "$desc" "$(cat "$WORK/$name.out")"
    fi
done
PINGS=$(($(metric "$A_ADDR" ringcast_pings_sent_total) - PINGS_BEFORE))
expect "engine A sent pings during the idle time ($PINGS, want >= 4 for 2 connections)" \
    test "$PINGS" -ge 4
expect "engine A: no heartbeat timeouts (the client answered every ping through nginx)" \
    test "$(metric "$A_ADDR" ringcast_heartbeat_timeouts_total)" = 0
expect "nginx A logged no upstream timeout" \
    eval "! grep -q 'upstream timed out' '$NG/A/info.log'"
expect "nginx B logged the cuts as 'upstream timed out'" \
    grep -q 'upstream timed out.*while proxying upgraded connection' "$NG/B/info.log"
open_b=""
for _ in $(seq 30); do
    open_b=$(metric "$B_ADDR" ringcast_connections)
    [ "$open_b" = 0 ] && break
    sleep 0.1
done
expect "engine B saw nginx close the upstream side: 0 connections open (was $open_b)" \
    test "$open_b" = 0
expect "engine B: no heartbeat timeouts (nginx cut first, as configured)" \
    test "$(metric "$B_ADDR" ringcast_heartbeat_timeouts_total)" = 0

# ---------------------------------------------------------------------------
section "client address: X-Forwarded-For only from --trusted-proxies"
SPOOF=203.0.113.9
client "trusted nginx, client sends X-Forwarded-For: $SPOOF: the engine answers the hop nginx appended" \
    whoami "https://127.0.0.1:$A_TLS/whoami" --xff "$SPOOF" --expect 127.0.0.1
client "trusted nginx, client on 127.0.0.5: the engine answers the client (from X-Forwarded-For)" \
    whoami "http://127.0.0.1:$A_HTTP/whoami" --source 127.0.0.5 --expect 127.0.0.5
client "... the same over https, with a spoofed header too" \
    whoami "https://127.0.0.1:$A_TLS/whoami" --source 127.0.0.5 --xff "$SPOOF" --expect 127.0.0.5
client "untrusted nginx, client on 127.0.0.5: the engine answers nginx's address" \
    whoami "http://127.0.0.1:$B_HTTP/whoami" --source 127.0.0.5 --xff "$SPOOF" --expect 127.0.0.1
client "straight to engine A from untrusted 127.0.0.5: the header is ignored" \
    whoami "http://$A_ADDR/whoami" --source 127.0.0.5 --xff "$SPOOF" --expect 127.0.0.5
client "straight to engine A from trusted 127.0.0.1: the header is believed (only nginx may use that address)" \
    whoami "http://$A_ADDR/whoami" --xff "$SPOOF" --expect "$SPOOF"

# ---------------------------------------------------------------------------
section "shutdown"
for name in A B; do
    pid_var="${name}_NGINX_PID"
    stop_pid "${!pid_var}"
    expect "nginx $name stops on SIGTERM" test $? = 0
    pid_var="${name}_PID"
    stop_pid "${!pid_var}"
    rc=$?
    expect "engine $name drains and exits 0 on SIGTERM (exit $rc)" test "$rc" = 0
done
expect "no process of this test left" test -z "$(pgrep -f "$WORK/" || true)"
for name in A B; do
    if [ "$FAIL" -gt 0 ]; then
        echo "engine $name log:"
        tail -15 "$WORK/engine-$name.log"
        echo "nginx $name error.log:"
        tail -15 "$NG/$name/error.log"
    fi
done

# ---------------------------------------------------------------------------
section "lint"
if command -v shellcheck >/dev/null; then
    expect "shellcheck tests/run-nginx.sh tests/lib/harness.sh" \
        shellcheck -x tests/run-nginx.sh tests/lib/harness.sh
else
    echo "note: shellcheck not installed; skipped (apt-get install shellcheck)"
fi

summary nginx-e2e
