#!/usr/bin/env bash
# Peer comparison (issue 4): the same ringcast-load scenarios against ringcast
# and against small servers on uWebSockets (uWebSockets.js), Node ws,
# tokio-tungstenite, fastwebsockets and Go gorilla/websocket, each with
# /echo and /room/<name> (sender included). One core for the server
# (taskset -c 0, single-threaded), one for the generator (taskset -c 1).
#
#   benches/e2e/compare.sh            # REPS=3, ~20 minutes
#   benches/e2e/compare.sh --quick    # 1 repetition, short runs (smoke check)
#   benches/e2e/compare.sh --write-doc  # ... and splice results/compare.md into docs/benchmarks.md
#
# Writes benches/e2e/results/compare.md, compare.svg and the raw reports in
# results/raw/compare/. Installs what is missing (apt: golang-go,
# golang-github-gorilla-websocket-dev, nodejs/npm; npm ci; cargo build).
# Env: REPS, SERVERS (comma list, default all), PORT (9101), SKIP_BUILD=1,
#      CARGO_TARGET_DIR, FANOUT_RATE (msg/s into the 1000-member room, 20),
#      MAX_RATE (the overload run's msg/s, 600), QUIET_WAIT / QUIET_PCT /
#      QUIET_BUDGET (waiting for other processes to calm down: lib.sh).
set -euo pipefail
# shellcheck source=benches/e2e/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

REPS=${REPS:-$([ -n "$QUICK" ] && echo 1 || echo 3)}
PORT=${PORT:-9101}
SERVERS=${SERVERS:-ringcast,uws,ws,tungstenite,fastwebsockets,gorilla}
FANOUT_RATE=${FANOUT_RATE:-20}
MAX_RATE=${MAX_RATE:-600}
IDLE_CONNS=${IDLE_CONNS:-10000}
if [ -n "$QUICK" ]; then DUR=3s; WARM=1s; else DUR=6s; WARM=2s; fi
OUT=${OUT:-$E2E/results}
RAW=$OUT/raw/compare
PEERS=$ROOT/benches/peers
PEERS_TARGET=$CARGO_TARGET_DIR/peers
check_cpus

# ------------------------------------------------------------ install / build
need_apt=()
command -v go >/dev/null || need_apt+=(golang-go)
[ -d /usr/share/gocode/src/github.com/gorilla/websocket ] || need_apt+=(golang-github-gorilla-websocket-dev)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
    log "apt-get install ${need_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
if [ ! -d "$PEERS/node/node_modules/ws" ] || [ ! -d "$PEERS/node/node_modules/@trufflesuite/uws-js-unofficial" ]; then
    log "npm ci (benches/peers/node)"
    (cd "$PEERS/node" && npm ci --no-audit --no-fund)
fi
build_ringcast
if [ -z "${SKIP_BUILD:-}" ] || [ ! -x "$PEERS_TARGET/release/peer-fastwebsockets" ]; then
    log "cargo build --release (benches/peers/rust, target $PEERS_TARGET)"
    CARGO_TARGET_DIR=$PEERS_TARGET cargo build --release --manifest-path "$PEERS/rust/Cargo.toml"
fi
mkdir -p "$PEERS_TARGET"
log "go build (benches/peers/go, GOPATH mode)"
(cd "$PEERS/go" && GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$PEERS_TARGET/peer-gorilla" main.go)

UWS_ADDON="uws_$(node -p 'process.platform + "_" + process.arch + "_" + process.versions.modules').node"
[ -f "$PEERS/node/node_modules/@trufflesuite/uws-js-unofficial/binaries/$UWS_ADDON" ] \
    || { log "uWebSockets.js has no native addon $UWS_ADDON for this node; refusing to fall back"; exit 1; }

server_cmd() { # name -> the command (without taskset)
    case $1 in
        ringcast) echo "$BIN/ringcast --shards 1 --listen 127.0.0.1:$PORT --log-level warn" ;;
        uws) echo "node $PEERS/node/uws-server.js --port $PORT" ;;
        ws) echo "node $PEERS/node/ws-server.js --port $PORT" ;;
        tungstenite) echo "$PEERS_TARGET/release/peer-tungstenite --port $PORT" ;;
        fastwebsockets) echo "$PEERS_TARGET/release/peer-fastwebsockets --port $PORT" ;;
        gorilla) echo "env GOMAXPROCS=1 $PEERS_TARGET/peer-gorilla --port $PORT" ;;
        *) log "unknown server $1"; exit 2 ;;
    esac
}

rm -rf "$RAW"; mkdir -p "$RAW"
URL="ws://127.0.0.1:$PORT"
IFS=, read -r -a SERVER_LIST <<<"$SERVERS"

run() { # server rep scenario flags...
    local srv=$1 rep=$2 scen=$3; shift 3
    # shellcheck disable=SC2046
    start_server "$PORT" "$RAW/$srv-$scen-$rep.log" $(server_cmd "$srv")
    wait_quiet
    load "$RAW/$srv-$scen-$rep.json" "$srv:$scen:$rep" "$@" || true
    stop_server
}

T0=$(date +%s)
for rep in $(seq 1 "$REPS"); do
    for srv in "${SERVER_LIST[@]}"; do
        log "rep $rep/$REPS: $srv"
        run "$srv" "$rep" idle idle --url "$URL/room/{room}" --conns "$IDLE_CONNS" \
            --source-ips 127.0.0.2-127.0.0.9 --duration "$DUR" --warmup "$WARM"
        run "$srv" "$rep" echo echo --url "$URL/echo" --conns 100 --window 8 --rate 0 \
            --payload 40 --duration "$DUR" --warmup "$WARM"
        run "$srv" "$rep" fanout fanout --url "$URL/room/{room}" --rooms 1 --subs 1000 --pubs 1 \
            --rate "$FANOUT_RATE" --payload 64 --duration "$DUR" --warmup "$WARM"
        run "$srv" "$rep" fanout-max fanout --url "$URL/room/{room}" --rooms 1 --subs 1000 --pubs 1 \
            --rate "$MAX_RATE" --payload 64 --duration "$DUR" --warmup "$WARM"
        run "$srv" "$rep" connect connect --url "$URL/echo" --conns 64 \
            --source-ips 127.0.0.2-127.0.0.9 --duration "$DUR" --warmup 1s
    done
done
log "runs took $(( $(date +%s) - T0 )) s"

# ------------------------------------------------------------ versions, report
lockver() { awk -v n="$1" '$0=="name = \""n"\"" {getline; gsub(/version = |"/,""); print; exit}' "$PEERS/rust/Cargo.lock"; }
pkgver() { node -p "require('$PEERS/node/node_modules/$1/package.json').version"; }
NODEV=$(node --version)
names='{"ringcast":"ringcast","uws":"uWebSockets.js","ws":"Node ws","tungstenite":"tokio-tungstenite","fastwebsockets":"fastwebsockets","gorilla":"Go gorilla"}'
cmds=()
for s in "${SERVER_LIST[@]}"; do cmds+=("cmd_$s=${PRIO:+$PRIO }taskset -c $SERVER_CPU $(server_cmd "$s" | sed "s|$ROOT/||; s|$CARGO_TARGET_DIR|\$CARGO_TARGET_DIR|")"); done
"$PY" "$E2E/e2e.py" meta --out "$RAW/meta.json" reps="$REPS" prio="$PRIO" servers="$SERVERS" server_names="$names" \
    commit="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet -- engine loadgen protocol || echo '+dirty')" \
    ringcast_version="$("$BIN/ringcast" --version)" \
    version_ringcast="$("$BIN/ringcast" --version), io_uring, \`--shards 1\`, mimalloc; this repo" \
    version_uws="@trufflesuite/uws-js-unofficial $(pkgver @trufflesuite/uws-js-unofficial) (uWebSockets.js v20.30.0 build), native addon \`$UWS_ADDON\` loaded directly, Node $NODEV; pub/sub with \`app.publish\` (sender included); maxPayloadLength 1 MiB, maxBackpressure 256 MiB, no compression, idleTimeout 0" \
    version_ws="ws $(pkgver ws) on Node $NODEV with bufferutil $(pkgver bufferutil) (native prebuild, hoisted from uws-js-unofficial's optional dependencies), perMessageDeflate off; rooms: a Set of members, \`send\` to each" \
    version_tungstenite="tokio-tungstenite $(lockver tokio-tungstenite) (tungstenite $(lockver tungstenite)), tokio $(lockver tokio) current_thread; rooms: unbounded channel + writer task per member, flush per batch" \
    version_fastwebsockets="fastwebsockets $(lockver fastwebsockets) (upgrade via hyper $(lockver hyper)), tokio $(lockver tokio) current_thread; rooms: split halves, unbounded channel + writer task per member" \
    version_gorilla="gorilla/websocket $(dpkg-query -W -f='${Version}' golang-github-gorilla-websocket-dev 2>/dev/null) (Debian), $(go version | awk '{print $3}'), GOMAXPROCS=1, net/http; rooms: PreparedMessage, buffered channel + writer goroutine per member" \
    "${cmds[@]}"
"$PY" "$E2E/e2e.py" compare-report --raw "$RAW" --meta "$RAW/meta.json" --md "$OUT/compare.md" --svg "$OUT/compare.svg"
if [ -n "$WRITE_DOC" ]; then
    # The chart sits beside compare.md; from docs/ it is found by this path.
    sed "s#](compare.svg)#]($(realpath --relative-to="$ROOT/docs" "$OUT")/compare.svg)#" "$OUT/compare.md" |
        "$ROOT/benches/write-doc-section" compare.sh - "$ROOT/docs/benchmarks.md"
fi
