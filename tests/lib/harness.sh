# shellcheck shell=bash
# What the tests/run-*.sh scripts share: pass/fail counting, quiet apt
# installs, nginx installed without a system service, free loopback ports and
# a throwaway certificate.
#
# Source it from the repo root after setting WORK (the script's temp dir), and
# call harness_cleanup from the script's EXIT trap.

PASS=0
FAIL=0
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0

ok() {
    PASS=$((PASS + 1))
    printf 'ok   %s\n' "$1"
}
bad() { # bad DESCRIPTION [DETAIL]
    FAIL=$((FAIL + 1))
    printf 'FAIL %s\n' "$1"
    if [ -n "${2:-}" ]; then printf '%s\n' "$2" | sed 's/^/     | /'; fi
}
# expect DESCRIPTION COMMAND...: ok when the command succeeds.
expect() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else bad "$desc"; fi
}
section() { printf '\n== %s\n' "$*"; }
# summary NAME: the closing line; the status says whether everything passed.
summary() {
    printf '\n%s: %d passed, %d failed\n' "$1" "$PASS" "$FAIL"
    [ "$FAIL" = 0 ]
}

apt_install() { # apt_install PACKAGE...: quietly, non-interactive; the log on failure
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >"$WORK/apt.log" 2>&1; then
        tail -20 "$WORK/apt.log"
        return 1
    fi
}

# ensure_nginx: install nginx when missing, with a policy-rc.d that keeps the
# package from starting a system nginx (which would sit on port 80); counts
# as two checks when it installs, none otherwise.
ensure_nginx() {
    command -v nginx >/dev/null && return 0
    echo "installing nginx (no service started: policy-rc.d)"
    if [ ! -e "$POLICY_RC" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC"
        chmod +x "$POLICY_RC"
        POLICY_RC_OURS=1
    fi
    expect "nginx installed" apt_install nginx
    harness_cleanup
    expect "... and no system nginx was started" test -z "$(pgrep -x nginx)"
}

harness_cleanup() {
    if [ "$POLICY_RC_OURS" = 1 ]; then
        rm -f "$POLICY_RC"
        POLICY_RC_OURS=0
    fi
}

# free_ports N: N distinct loopback ports the OS hands out, on one line. They
# are free when printed; bind them soon.
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
}

# make_cert DIR: a self-signed certificate for localhost and 127.0.0.1, valid
# one day, as DIR/cert.pem and DIR/key.pem (openssl installed when missing).
make_cert() {
    if ! command -v openssl >/dev/null; then
        expect "openssl installed" apt_install openssl
    fi
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
}

# wait_port PORT [TENTHS]: until something accepts on 127.0.0.1:PORT (5 s by default).
wait_port() {
    local _
    for _ in $(seq "${2:-50}"); do
        python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
            "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# stop_pid PID [TENTHS]: SIGTERM, wait up to TENTHS/10 s (3 s by default),
# then SIGKILL. Returns the process's exit status (137 when it had to be
# killed). Only for children of this shell.
stop_pid() {
    local pid=$1 _
    if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq "${2:-30}"); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
}
