#!/usr/bin/env bash
# Tests for tuning/: check, apply, the systemd units and the nginx config.
#
# Self-contained: installs nginx (and systemd-analyze) when missing, without
# letting a system nginx start. Touches no system file except to read it:
# apply runs as --dry-run, as nobody (refused), or on a scratch root; nginx
# runs from a temp prefix on ports the OS hands out, in front of two tiny
# python3 backends, and is stopped at the end (trap). Ends with
# "tuning: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export DEBIAN_FRONTEND=noninteractive

WORK=$(mktemp -d /tmp/ringcast-tuning.XXXXXX)
chmod 755 "$WORK" # nobody (non-root test) and nginx workers read from here
BG_PIDS=()
# ok, bad, expect, section, summary, apt_install, ensure_nginx, free_ports, make_cert
# shellcheck source=tests/lib/harness.sh
. tests/lib/harness.sh

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    harness_cleanup
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# json FILE PYTHON-EXPRESSION: evaluate over the parsed file as `d`.
json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
contains() { grep -qF -- "$2" "$1"; }

# ---------------------------------------------------------------------------
section "help"
for script in tuning/check tuning/apply tuning/nginx/render; do
    expect "$script --help" eval "$script --help >/dev/null"
done

# ---------------------------------------------------------------------------
section "tuning/check"
HARD=$(ulimit -Hn)
tuning/check >"$WORK/check.txt"
RC=$?
tuning/check --json >"$WORK/check.json"
JRC=$?
sed -n '/^NOT fit\|^Fit:/,$p' "$WORK/check.txt"
expect "--json is valid JSON" python3 -m json.tool "$WORK/check.json" "$WORK/check.pretty.json"
expect "table and --json exit alike ($RC)" test "$RC" = "$JRC"
expect "exit status matches the JSON verdict" \
    test "$(json "$WORK/check.json" "'0' if d['fit'] else '1'")" = "$RC"
expect "every JSON row is in the table with the same verdict" python3 - "$WORK/check.json" "$WORK/check.txt" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["settings"]
table = open(sys.argv[2]).read().splitlines()
for r in rows:
    line = next((l for l in table if l.startswith(r["setting"] + " ")), None)
    if line is None or (" %s " % r["verdict"]) not in line:
        sys.exit("row %s: %r" % (r["key"], line))
EOF
if [ "$HARD" != unlimited ] && [ "$HARD" -lt 500100 ]; then
    # This machine: a 20000 hard limit that cannot be raised, so 500000 cannot fit.
    expect "500000 connections do not fit (exit 1)" test "$RC" = 1
    expect "binding limit is the open-files hard limit" \
        test "$(json "$WORK/check.json" "d['binding']['key']")" = nofile_hard
    expect "it allows ulimit -Hn minus 100 = $((HARD - 100))" \
        test "$(json "$WORK/check.json" "d['allows']")" = "$((HARD - 100))"
    expect "the table names it" contains "$WORK/check.txt" \
        "binding limit is open files, hard (ulimit -Hn) = $HARD."
else
    echo "note: hard open-files limit $HARD fits 500000 here; binding-limit checks not applicable"
fi
expect "the table ends with the memory estimate" contains "$WORK/check.txt" \
    "Memory for 500000 connections: 500000 x (4096 B kernel + 512 B ringcast)"
if [ "$HARD" = unlimited ] || [ "$HARD" -ge 1100 ]; then
    tuning/check --connections 1000 --json >"$WORK/check1000.json"
    expect "1000 connections fit (exit 0)" test $? = 0
    expect "... and the JSON says fit" test "$(json "$WORK/check1000.json" "d['fit']")" = True
fi
if [ ! -d /run/systemd/system ]; then
    expect "without systemd as PID 1, DefaultLimitNOFILE is 'unknown'" test \
        "$(json "$WORK/check.json" "[r['verdict'] for r in d['settings'] if r['key'] == 'systemd_default_nofile'][0]")" = unknown
fi
expect "docs/operations.md's table matches check for 500000" python3 - "$WORK/check.json" docs/operations.md <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["settings"]
table = [l for l in open(sys.argv[2]) if l.startswith("| `")]
names = {"nofile_hard": "nofile", "memlock": "memlock"}
for r in rows:
    name = r["sysctl"] or names.get(r["key"])
    if not name or r["key"] == "tcp_mem":  # tcp_mem depends on RAM; the table says so
        continue
    line = next((l for l in table if l.startswith("| `%s`" % name)), None)
    want = r["recommended"]
    want = " ".join(map(str, want)) if isinstance(want, list) else str(want)
    if line is None or line.split("|")[3].strip() != want:
        sys.exit("%s: docs say %r, check says %r" % (name, line and line.split("|")[3], want))
EOF
tuning/check --kernel-bytes 8192 --engine-bytes 1024 --json >"$WORK/check-bytes.json"
expect "--kernel-bytes/--engine-bytes feed the estimate" test \
    "$(json "$WORK/check-bytes.json" "d['memory']['needed_bytes']")" = $((500000 * (8192 + 1024)))
tuning/check --connections 0 >/dev/null 2>&1
expect "--connections 0 is a usage error (exit 2)" test $? = 2

# ---------------------------------------------------------------------------
section "tuning/apply leaves the system alone"
mapfile -t SYSCTLS < <(json "$WORK/check.json" \
    "'\n'.join(r['sysctl'] for r in d['settings'] if r['sysctl'])")
snapshot() {
    local dir key
    for dir in /etc/sysctl.d /etc/security/limits.d; do
        ls -la --time-style=full-iso "$dir" 2>&1
        find "$dir" -type f -exec sha256sum {} + 2>/dev/null | sort
    done
    for key in "${SYSCTLS[@]}"; do
        printf '%s = %s\n' "$key" "$(cat "/proc/sys/${key//.//}" 2>&1)"
    done
}
snapshot >"$WORK/before"
expect "snapshot covers the managed sysctls (${#SYSCTLS[@]})" test "${#SYSCTLS[@]}" -ge 7
tuning/apply --dry-run --connections 500000 >"$WORK/dry.txt" 2>&1
expect "apply --dry-run exits 0" test $? = 0
cat "$WORK/dry.txt"
expect "apply --dry-run says it is a dry run" contains "$WORK/dry.txt" "(dry run)"
snapshot >"$WORK/after"
expect "apply --dry-run changed nothing (files, mtimes, /proc/sys)" \
    cmp -s "$WORK/before" "$WORK/after"

# The scripts as nobody can read them, wherever the repo lives.
cp -r tuning "$WORK/pub-tuning"
chmod -R a+rX "$WORK/pub-tuning"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH=/usr/bin:/bin HOME=/ "$@"; }
as_nobody "$WORK/pub-tuning/apply" --connections 1000 >"$WORK/nobody.txt" 2>&1
RC=$?
expect "apply refuses without root (exit 2)" test "$RC" = 2
expect "... and says why" contains "$WORK/nobody.txt" "needs root"
as_nobody "$WORK/pub-tuning/apply" --dry-run --connections 1000 >/dev/null 2>&1
expect "apply --dry-run works without root" test $? = 0
snapshot >"$WORK/after"
expect "still nothing changed" cmp -s "$WORK/before" "$WORK/after"

# ---------------------------------------------------------------------------
section "tuning/apply on a scratch root"
ROOT="$WORK/root"
for key in "${SYSCTLS[@]}"; do
    mkdir -p "$(dirname "$ROOT/proc/sys/${key//.//}")"
    cat "/proc/sys/${key//.//}" >"$ROOT/proc/sys/${key//.//}"
done
cp /proc/meminfo "$ROOT/proc/meminfo"
cp -r "$ROOT/proc" "$WORK/proc.orig"
tuning/apply --root "$ROOT" --connections 500000 >"$WORK/apply1.txt" 2>&1
expect "apply exits 0" test $? = 0
cat "$WORK/apply1.txt"
expect "apply wrote the sysctl file" test -f "$ROOT/etc/sysctl.d/60-ringcast.conf"
expect "apply wrote the limits file" contains "$ROOT/etc/security/limits.d/60-ringcast.conf" \
    "ringcast  hard  nofile"
expect "apply printed old -> new" grep -q -- ' -> ' "$WORK/apply1.txt"
tuning/check --root "$ROOT" --json >"$WORK/check-root.json"
expect "check agrees afterwards: every managed sysctl is ok" test \
    "$(json "$WORK/check-root.json" "[r['key'] for r in d['settings'] if r['sysctl'] and r['verdict'] != 'ok']")" = "[]"
tuning/apply --root "$ROOT" --connections 500000 >"$WORK/apply2.txt" 2>&1
expect "a second run has nothing to change" contains "$WORK/apply2.txt" "nothing to change"
tuning/apply --root "$ROOT" --connections 1000 >"$WORK/apply3.txt" 2>&1
expect "a smaller N lowers nothing" contains "$WORK/apply3.txt" "nothing to change"
tuning/apply --root "$ROOT" --revert >"$WORK/revert.txt" 2>&1
expect "--revert exits 0" test $? = 0
expect "--revert removed both files" test ! -e "$ROOT/etc/sysctl.d/60-ringcast.conf" \
    -a ! -e "$ROOT/etc/security/limits.d/60-ringcast.conf"
expect "--revert restored every value" diff -rb "$WORK/proc.orig" "$ROOT/proc"

# ---------------------------------------------------------------------------
section "systemd units"
if ! command -v systemd-analyze >/dev/null; then
    echo "installing systemd (for systemd-analyze)"
    expect "systemd installed (for systemd-analyze)" apt_install systemd
fi
# verify insists that ExecStart's binary exists; /usr/local/bin/ringcast need
# not on a build machine. Point it at the engine when it is built, else at a
# stand-in, and verify everything else as shipped.
BIN=""
for candidate in target/release/ringcast target/debug/ringcast; do
    if [ -x "$candidate" ]; then BIN="$PWD/$candidate" && break; fi
done
if [ -z "$BIN" ]; then
    BIN="$WORK/ringcast-stand-in"
    printf '#!/bin/sh\nexit 0\n' >"$BIN"
    chmod +x "$BIN"
fi
echo "ExecStart binary for verify: $BIN"
mkdir -p "$WORK/units"
sed "s#/usr/local/bin/ringcast#$BIN#" tuning/systemd/ringcast.service >"$WORK/units/ringcast.service"
sed "s#/usr/local/bin/ringcast#$BIN#" 'tuning/systemd/ringcast@.service' >"$WORK/units/ringcast@8081.service"
for unit in ringcast.service ringcast@8081.service; do
    if out=$(systemd-analyze verify "$WORK/units/$unit" 2>&1) && [ -z "$out" ]; then
        ok "systemd-analyze verify $unit: clean"
    else
        bad "systemd-analyze verify $unit" "$out"
    fi
done
settings() { grep -v '^#' "$1" | grep -v '^$' | grep -v '^Description='; }
expect "ringcast@.service has the settings of ringcast.service" diff \
    <(settings tuning/systemd/ringcast.service | sed 's/127\.0\.0\.1:8080/127.0.0.1:%i/') \
    <(settings 'tuning/systemd/ringcast@.service')
expect "LimitNOFILE holds check's 500000 target" test \
    "$(json "$WORK/check.json" "[r['verdict'] for r in d['settings'] if r['key'] == 'unit_nofile'][0]")" = ok
memlock=$(sed -n 's/^LimitMEMLOCK=\([0-9]*\)M$/\1/p' tuning/systemd/ringcast.service)
expect "LimitMEMLOCK (${memlock}M) covers check's memlock" test \
    "$((memlock * 1024))" -ge "$(json "$WORK/check.json" "[r['recommended'] for r in d['settings'] if r['key'] == 'memlock'][0]")"
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' tuning/systemd/ringcast.service)
expect "TimeoutStopSec (${stop}s) outlasts the 10 s drain" test "${stop:-0}" -gt 10
expect "no SystemCallFilter (it could block io_uring)" \
    eval "! grep -q '^SystemCallFilter' tuning/systemd/*.service"

# ---------------------------------------------------------------------------
section "nginx"
FAIL_BEFORE_NGINX=$FAIL
expect "shipped ringcast.conf is the default rendering" \
    eval 'tuning/nginx/render | diff - tuning/nginx/ringcast.conf'
ensure_nginx
NG="$WORK/nginx"
mkdir -p "$NG"
make_cert "$NG"
expect "self-signed certificate made" test -s "$NG/cert.pem"

# Two backends standing in for engines: plain requests get their name and the
# headers nginx sent as JSON; an Upgrade gets 101 and then an echo.
cat >"$WORK/backend.py" <<'EOF'
import json, socket, socketserver, sys

class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in
                   (l.split(":", 1) for l in lines[1:] if ":" in l)}
        if "upgrade" in headers.get("connection", "").lower():
            self.request.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                                 b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            while True:
                data = self.request.recv(4096)
                if not data:
                    return
                self.request.sendall(data)
        body = json.dumps({"backend": sys.argv[1], "request": lines[0],
                           "headers": headers}).encode()
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)

socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
EOF
start_backend() { # start_backend NAME: prints the port it listens on
    python3 "$WORK/backend.py" "$1" >"$WORK/backend-$1.port" &
    BG_PIDS+=($!)
    for _ in $(seq 50); do
        [ -s "$WORK/backend-$1.port" ] && break
        sleep 0.1
    done
}
start_backend a
start_backend b
B1=$(cat "$WORK/backend-a.port")
B2=$(cat "$WORK/backend-b.port")
read -r HTTP_PORT TLS_PORT < <(free_ports 2)
echo "backends on $B1 and $B2; nginx on $HTTP_PORT (http) and $TLS_PORT (tls)"

tuning/nginx/render --standalone --workers 1 --worker-connections 1024 \
    --http "127.0.0.1:$HTTP_PORT" --tls "127.0.0.1:$TLS_PORT" \
    --upstream "127.0.0.1:$B1" --upstream "127.0.0.1:$B2" \
    --cert "$NG/cert.pem" --key "$NG/key.pem" -o "$NG/nginx.conf"
expect "render --standalone wrote a config" test -s "$NG/nginx.conf"
NGINX=(nginx -c "$NG/nginx.conf" -p "$NG/" -e "$NG/error.log")
if out=$("${NGINX[@]}" -t 2>&1); then
    ok "nginx -t accepts the standalone rendering"
else
    bad "nginx -t" "$out"
fi

nginx_t_variant() { # nginx_t_variant NAME RENDER-FLAGS...: nginx -t on another rendering
    local dir="$NG/$1"
    shift
    mkdir -p "$dir"
    tuning/nginx/render --standalone --http "127.0.0.1:$HTTP_PORT" --upstream "127.0.0.1:$B1" \
        "$@" -o "$dir/nginx.conf" &&
        nginx -t -c "$dir/nginx.conf" -p "$dir/" -e "$dir/error.log" >/dev/null 2>&1
}
expect "nginx -t accepts --no-tls" nginx_t_variant no-tls --no-tls
expect "nginx -t accepts --plain proxy --balance least_conn" nginx_t_variant proxy \
    --plain proxy --balance least_conn --tls "127.0.0.1:$TLS_PORT" \
    --cert "$NG/cert.pem" --key "$NG/key.pem"

"${NGINX[@]}" -g 'daemon off;' 2>>"$NG/error.log" &
NGINX_PID=$!
BG_PIDS+=("$NGINX_PID")
for _ in $(seq 50); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
        "$TLS_PORT" 2>/dev/null && break
    sleep 0.1
done

cat >"$WORK/client.py" <<'EOF'
import http.client, json, socket, ssl, sys

check, http_port, tls_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tls = ssl.create_default_context()
tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE

def get(path, port, secure=True):
    cls = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    conn = cls("localhost", port, timeout=5, **({"context": tls} if secure else {}))
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), resp.read()

def fail(msg):
    sys.exit("%s: %s" % (check, msg))

if check == "proxied":
    status, _, body = get("/healthz", tls_port)
    seen = json.loads(body)
    h = seen["headers"]
    want = {"x-forwarded-proto": "https", "x-real-ip": "127.0.0.1",
            "x-forwarded-for": "127.0.0.1", "host": "localhost", "connection": "close"}
    wrong = {k: h.get(k) for k, v in want.items() if h.get(k) != v}
    if status != 200 or wrong or not seen["request"].endswith("HTTP/1.1"):
        fail("status %s, request %r, wrong headers %s" % (status, seen["request"], wrong))
elif check == "redirect":
    status, headers, _ = get("/room/x?a=1", http_port, secure=False)
    want = "https://localhost:%d/room/x?a=1" % tls_port
    if status != 301 or headers.get("Location") != want:
        fail("status %s, Location %r (want %r)" % (status, headers.get("Location"), want))
elif check == "upgrade":
    with tls.wrap_socket(socket.create_connection(("127.0.0.1", tls_port), 5),
                         server_hostname="localhost") as s:
        s.sendall(b"GET /room/lobby HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        if not head.startswith(b"HTTP/1.1 101"):
            fail("no 101: %r" % head[:80])
        rest = head.split(b"\r\n\r\n", 1)[1]
        s.sendall(b"ringcast through nginx")
        while len(rest) < 22:
            rest += s.recv(4096)
        if rest != b"ringcast through nginx":
            fail("echo %r" % rest)
elif check == "hash":
    def backend(path):
        return json.loads(get(path, tls_port)[2])["backend"]
    if len({backend("/room/sticky") for _ in range(5)}) != 1:
        fail("/room/sticky moved between backends")
    if len({backend("/room/r%d" % i) for i in range(24)}) != 2:
        fail("24 rooms all landed on one backend")
EOF
while IFS=: read -r check desc; do
    if out=$(python3 "$WORK/client.py" "$check" "$HTTP_PORT" "$TLS_PORT" 2>&1); then
        ok "through nginx: $desc"
    else
        bad "through nginx: $desc" "$out"
    fi
done <<'EOF2'
proxied:https GET reaches an engine over HTTP/1.1 with Host, X-Real-IP, X-Forwarded-For/-Proto
redirect:plain http answers 301 to https on the TLS port
upgrade:Upgrade/Connection pass through: 101, then bytes both ways
hash:a room stays on one engine; rooms spread over both
EOF2

kill -TERM "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID" 2>/dev/null
expect "nginx stopped, no process left" test -z "$(pgrep -f "$NG/nginx.conf")"
if [ "$FAIL" -gt "$FAIL_BEFORE_NGINX" ] && [ -s "$NG/error.log" ]; then
    echo "nginx error.log:"
    tail -20 "$NG/error.log"
fi

# ---------------------------------------------------------------------------
section "lint"
if command -v shellcheck >/dev/null; then
    expect "shellcheck tests/run-tuning.sh" shellcheck -x tests/run-tuning.sh
else
    echo "note: shellcheck not installed; skipped (apt-get install shellcheck)"
fi

summary tuning
