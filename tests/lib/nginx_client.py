"""Real clients for tests/run-nginx.sh: WebSockets (the `websockets` package,
asyncio API behind a blocking face) and plain HTTP through nginx to a ringcast engine.

  nginx_client.py echo URL [--cafile CERT] [--source ADDR]
  nginx_client.py room URL [--cafile CERT]          (URL of /room/<name>)
  nginx_client.py idle URL --hold S                 (survives S idle seconds)
  nginx_client.py idle URL --cut-within S [--not-before S0]
                                                    (is cut within S seconds)
  nginx_client.py whoami URL --expect ADDR [--source ADDR] [--xff VALUE]
  nginx_client.py metric URL NAME                   (sum of a metric's samples)

Each check prints one line on success and exits 0; on failure it says what
it saw and exits 1. Every wait is bounded.
"""

import argparse
import http.client
import ssl
import sys
import time
import urllib.parse
import urllib.request

import asyncio
import concurrent.futures
import threading

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, WebSocketException

TIMEOUT = 5.0


class Client:
    """A blocking face over websockets' asyncio client, run on its own event
    loop thread. Not the library's sync client: that one reads on a thread of
    its own while the caller writes, i.e. two threads inside one OpenSSL
    connection at once, which OpenSSL does not allow; under load a wss://
    send of 256 KiB hung there forever (seen twice in CI). Here every TLS
    read and write happens on the loop thread, and the loop keeps answering
    the engine's pings while the caller sleeps."""

    def __init__(self, url, **kwargs):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        async def opened():
            return await connect(url, **kwargs)

        self.ws = self._run(opened(), TIMEOUT * 2)
        self.response = self.ws.response
        self.protocol = self.ws.protocol

    def _run(self, coroutine, timeout):
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError("no answer within %.1f s" % timeout)

    def send(self, message):
        self._run(self.ws.send(message), TIMEOUT * 2)

    def recv(self, timeout=TIMEOUT):
        return self._run(asyncio.wait_for(self.ws.recv(), timeout), timeout + TIMEOUT)

    def close(self):
        self._run(self.ws.close(), TIMEOUT * 2)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        try:
            self._run(self.ws.close(), TIMEOUT * 2)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)


class Failed(Exception):
    pass


def tls_context(cafile):
    """Trust exactly the test certificate (its SAN names 127.0.0.1)."""
    ctx = ssl.create_default_context(cafile=cafile)
    # Python 3.13 turns on strict X.509 checks that a bare self-signed
    # certificate fails; the chain and the name are still verified.
    ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    return ctx


def open_ws(args, url=None):
    url = url or args.url
    kwargs = {}
    if url.startswith("wss://"):
        kwargs["ssl"] = tls_context(args.cafile)
    if args.source:
        kwargs["local_addr"] = (args.source, 0)  # passed to loop.create_connection
    # ping_interval=None: the client never pings, so only the engine's pings
    # keep an idle connection alive. proxy=None: never an HTTP(S)_PROXY.
    # compression stays offered, as browsers offer it: the engine must decline.
    return Client(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, ping_interval=None,
                  proxy=None, max_size=4 << 20, **kwargs)


def expect_equal(what, got, want):
    if got != want:
        show = (lambda v: repr(v) if len(repr(v)) < 120 else "%s of %d" % (type(v).__name__, len(v)))
        raise Failed("%s: got %s, want %s" % (what, show(got), show(want)))


def echo_round(ws, message, what):
    ws.send(message)
    expect_equal(what, ws.recv(timeout=TIMEOUT), message)


def close_cleanly(ws):
    ws.close()
    received = ws.protocol.close_rcvd  # the sans-I/O state under the sync API
    code = received.code if received else None
    expect_equal("close code from the engine", code, 1000)


def check_echo(args):
    with open_ws(args) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
        expect_equal("negotiated extensions (permessage-deflate offered)", extensions, None)
        echo_round(ws, "héllo through nginx ✓", "text echo")
        echo_round(ws, bytes(range(256)) * 4, "binary echo")
        echo_round(ws, bytes(i * 7 % 251 for i in range(256 << 10)), "256 KiB binary echo")
        close_cleanly(ws)
    return "text, binary and 256 KiB echoed; close 1000"


def check_room(args):
    with open_ws(args) as a, open_ws(args) as b:
        # Both upgrades are answered, so both have joined the room.
        a.send("from a")
        expect_equal("b receives a's message", b.recv(timeout=TIMEOUT), "from a")
        b.send(b"from b")
        expect_equal("a receives b's message", a.recv(timeout=TIMEOUT), b"from b")
        for ws, who in ((a, "a"), (b, "b")):
            try:
                extra = ws.recv(timeout=0.3)
            except TimeoutError:
                continue
            raise Failed("%s got %r too (its own message despite echo=false?)" % (who, extra))
        close_cleanly(a)
        close_cleanly(b)
    return "each member received the other's message, and only that"


def check_idle(args):
    with open_ws(args) as ws:
        echo_round(ws, "before", "echo before the idle time")
        start = time.monotonic()
        if args.hold is not None:
            # Not reading: the client library answers the engine's pings by itself.
            time.sleep(args.hold)
            try:
                echo_round(ws, "after", "echo after %.1f s idle" % args.hold)
            except ConnectionClosed as e:
                raise Failed("closed after %.1f s: %s" % (time.monotonic() - start, e))
            close_cleanly(ws)
            return "idle %.1f s, then echo still works" % args.hold
        try:
            got = ws.recv(timeout=args.cut_within)
        except TimeoutError:
            raise Failed("still open after %.1f s idle" % args.cut_within)
        except ConnectionClosed as e:
            waited = time.monotonic() - start
            if waited < args.not_before:
                raise Failed("cut after %.2f s, before %.1f s: not the idle timeout (%s)"
                             % (waited, args.not_before, e))
            return "cut after %.2f s idle (%s)" % (waited, e)
        raise Failed("received %r while idle" % got)


def check_whoami(args):
    url = urllib.parse.urlsplit(args.url)
    secure = url.scheme == "https"
    cls = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    kwargs = {"context": tls_context(args.cafile)} if secure else {}
    conn = cls(url.hostname, url.port, timeout=TIMEOUT,
               source_address=(args.source, 0) if args.source else None, **kwargs)
    conn.request("GET", url.path, headers={"X-Forwarded-For": args.xff} if args.xff else {})
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace").strip()
    expect_equal("status", resp.status, 200)
    expect_equal("/whoami", body, args.expect)
    return "/whoami says %s" % body


def metric(args):
    with urllib.request.urlopen(args.url, timeout=TIMEOUT) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name == args.name:
            total += float(line.rsplit(" ", 1)[1])
    print(int(total) if total.is_integer() else total)
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("check", choices=("echo", "room", "idle", "whoami", "metric"))
    p.add_argument("url")
    p.add_argument("name", nargs="?", help="metric: its name")
    p.add_argument("--cafile", help="the certificate to trust for wss:// and https://")
    p.add_argument("--source", help="connect from this local address (e.g. 127.0.0.5)")
    p.add_argument("--hold", type=float, help="idle: seconds to stay silent, then echo")
    p.add_argument("--cut-within", type=float, help="idle: seconds within which the proxy must cut")
    p.add_argument("--not-before", type=float, default=0.0,
                   help="idle: a cut sooner than this many seconds fails")
    p.add_argument("--xff", help="whoami: an X-Forwarded-For header to send")
    p.add_argument("--expect", help="whoami: the address the engine must answer")
    args = p.parse_args()
    check = {"echo": check_echo, "room": check_room, "idle": check_idle,
             "whoami": check_whoami, "metric": metric}[args.check]
    try:
        said = check(args)
    except (Failed, OSError, WebSocketException, TimeoutError) as e:
        print("%s: %s" % (type(e).__name__, e))
        return 1
    if said:
        print(said)
    return 0


if __name__ == "__main__":
    sys.exit(main())
