"""Slow and hostile clients (README "Limits and abuse resistance").

Slowloris: 2,000 connections from ten 127.0.0.x addresses trickle their
request heads a byte a second; a legitimate client meanwhile completes its
handshake and an echo round trip, and every slow connection is answered
408 by handshake_timeout and closed.

Slow consumer: 100 clients never read while their TCP backends try to push
100 MiB each; backpressure blocks the backends, wsgate's RSS stays under
max_connection_memory x 100 plus a fixed base, and idle_timeout closes
every session (no crash, descriptors back to the baseline)."""

import os
import resource
import socket
import time

import harness as h
from harness import check, OP_TEXT

SLOW_CLIENTS = 2000
SLOW_SOURCES = ["127.0.0.%d" % (10 + i) for i in range(10)]
HANDSHAKE_TIMEOUT = 5

CONSUMERS = 100
PUSH = 100 * h.MiB
BUDGET_MIB = 1
BASE_SLACK_MIB = 32


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    check(hard == resource.RLIM_INFINITY or hard >= want,
          "this test needs %d descriptors, the hard limit is %d" % (want, hard))
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def open_slow(port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5)
    s.connect((h.HOST, port))
    s.sendall(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    s.setblocking(False)
    return s


def trickle(socks, answers):
    """One byte to every slow connection still open; collects answers."""
    for s in list(socks):
        try:
            s.send(b"a")
        except BlockingIOError:
            pass
        except OSError:
            pass
        try:
            data = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        answers[s] = answers.get(s, b"") + data
        if not data:
            socks.remove(s)
            s.close()


def test_slowloris_2000():
    raise_nofile(SLOW_CLIENTS + 512)
    gw = h.start_wsgate(h.config([h.ECHO_ROUTE], level="info", limits={
        "handshake_timeout": "%ds" % HANDSHAKE_TIMEOUT,
        "close_timeout": "1s"}))
    t0 = time.monotonic()
    socks = [open_slow(gw.port, SLOW_SOURCES[i % len(SLOW_SOURCES)])
             for i in range(SLOW_CLIENTS)]
    opened = time.monotonic() - t0
    h.wait_until(lambda: fd_count(gw.pid) >= SLOW_CLIENTS, 10 * h.SLOW,
                 what="wsgate holding all %d connections" % SLOW_CLIENTS)
    peak_fds = fd_count(gw.pid)
    answers = {}
    trickle(socks, answers)
    # A legitimate client, while all 2,000 are held.
    t1 = time.monotonic()
    ws = h.ws_connect_raw(gw.port, source="127.0.0.2", timeout=10)
    ws.send_frame(OP_TEXT, b"legit")
    check(ws.read_frame(timeout=10).payload == b"legit", "legit echo")
    legit_ms = (time.monotonic() - t1) * 1000
    ws.close()
    open_now = len(socks)
    check(open_now == SLOW_CLIENTS, "slow connections closed early: %d open"
          % open_now)
    deadline = t0 + HANDSHAKE_TIMEOUT + opened + 15 * h.SLOW
    while socks and time.monotonic() < deadline:
        trickle(socks, answers)
        time.sleep(1.0)
    closed_in = time.monotonic() - t0
    check(not socks, "%d slow connections still open after %.1fs"
          % (len(socks), closed_in))
    got_408 = sum(1 for v in answers.values()
                  if v.startswith(b"HTTP/1.1 408 "))
    logged = gw.log().count(": 408 request head not received in time")
    check(got_408 == SLOW_CLIENTS,
          "%d of %d answered 408" % (got_408, SLOW_CLIENTS))
    check(logged == SLOW_CLIENTS, "408 logged %d times" % logged)
    check(gw.alive(), "wsgate died")
    print("note: slowloris: %d connections from %d addresses opened in %.1fs "
          "(%d descriptors held); a legitimate handshake + echo took "
          "%.0f ms meanwhile; all %d answered 408 and closed within %.1fs "
          "of the first" % (SLOW_CLIENTS, len(SLOW_SOURCES), opened,
                            peak_fds, legit_ms, got_408, closed_in))


def push_handler(c, server):
    """Pushes up to PUSH bytes as fast as the client side takes them."""
    block = server.state["block"]
    sent = 0
    c.settimeout(0.5)
    while sent < PUSH and not server.stopping.is_set():
        try:
            sent += c.send(block)
        except socket.timeout:
            continue
        except OSError:
            break
        with server.lock:
            server.state["sent"] += len(block)
    with server.lock:
        server.state["done"] += 1


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def test_slow_consumers_100():
    raise_nofile(4 * CONSUMERS + 256)
    server = h.TcpServer(push_handler, backlog=CONSUMERS)
    server.state.update(block=os.urandom(65536), sent=0, done=0)
    gw = h.start_wsgate(h.config(
        [{"match": {"path": "/push"}, "backend": "push"}],
        {"push": h.tcp_backend(server.port)},
        level="info",
        limits={"buffer_high_watermark": "256KiB",
                "max_connection_memory": "%dMiB" % BUDGET_MIB,
                "idle_timeout": "3s", "close_timeout": "1s",
                "ping_interval": 0, "max_connections_per_ip": 0}))
    # Every worker up and one session done: the counts are stable.
    h.ws_connect_raw(gw.port, path="/push").close()
    h.wait_until(lambda: "access:" in gw.log(), 5, what="the first session")
    time.sleep(0.3)
    base_fds = fd_count(gw.pid)
    base_rss = rss_mib(gw.pid)
    clients = []
    for i in range(CONSUMERS):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.settimeout(5)
        s.connect((h.HOST, gw.port))
        s.sendall(h.ws_request(path="/push"))
        clients.append(s)
        h.on_cleanup(s.close)
    # Never read: only the kernel's small receive buffers take data.
    peak = base_rss
    t0 = time.monotonic()
    last = -1
    stable_since = time.monotonic()
    blocked = False
    while time.monotonic() - t0 < 20 * h.SLOW:
        peak = max(peak, rss_mib(gw.pid))
        with server.lock:
            sent = server.state["sent"]
        if sent != last:
            last, stable_since = sent, time.monotonic()
        elif time.monotonic() - stable_since > 1.0:
            blocked = True
            break
        time.sleep(0.1)
    blocked_after = last / CONSUMERS / h.MiB
    check(server.accepted == CONSUMERS + 1, "backend connections: %d"
          % server.accepted)
    # Blocked: nothing more went out for a second, far short of the
    # 100 MiB each (what did is mostly in the kernel's socket buffers).
    check(blocked and last < CONSUMERS * PUSH / 2, "backends were not "
          "blocked: %d MiB went out" % (last // h.MiB))
    # idle_timeout (3s) then close_timeout (1s) end every session.
    h.wait_until(lambda: gw.log().count('reason="idle timeout"') >=
                 CONSUMERS, 20, interval=0.2,
                 what="%d sessions closed by idle_timeout" % CONSUMERS)
    for _ in range(10):
        peak = max(peak, rss_mib(gw.pid))
    closed_after = time.monotonic() - t0
    h.wait_until(lambda: fd_count(gw.pid) <= base_fds, 10,
                 what="descriptors back to the baseline %d" % base_fds)
    bound = CONSUMERS * BUDGET_MIB + base_rss + BASE_SLACK_MIB
    check(peak < bound, "RSS peak %.1f MiB over the bound %.1f MiB"
          % (peak, bound))
    check(gw.alive(), "wsgate died")
    print("note: slow consumers: %d clients never reading, backends pushing up to "
          "%d MiB each blocked after %.2f MiB on average; wsgate RSS %.1f "
          "MiB at rest, peak %.1f MiB (bound %d x %d MiB + base + %d MiB = "
          "%.0f MiB); all closed by idle_timeout %.1fs after the start, "
          "descriptors back to %d" % (CONSUMERS, PUSH // h.MiB,
                                      blocked_after, base_rss, peak,
                                      CONSUMERS, BUDGET_MIB, BASE_SLACK_MIB,
                                      bound, closed_after, base_fds))


if __name__ == "__main__":
    h.main(globals())
