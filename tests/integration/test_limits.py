"""Connection and session limits (README "Limits"): max_connections (503,
then accepting pauses and resumes), max_connections_per_ip (429 while
another address is served), the handshake token bucket per address (429
with Retry-After), max_headers (431), message_rate (1008), max_lifetime
(1001), a route's own limits, and descriptor exhaustion (a low
RLIMIT_NOFILE) that wsgate survives and recovers from.  Several 127.0.0.x
source addresses stand for several clients."""

import os
import resource
import time

import harness as h
from harness import check, encode_frame, OP_TEXT, OP_PING


def echo_round_trip(port, source=None, payload=b"still served"):
    ws = h.ws_connect_raw(port, source=source)
    ws.send_frame(OP_TEXT, payload)
    f = ws.read_frame()
    check(f.payload == payload, "echo returned %r" % f.payload)
    return ws


def request(port, source=None, timeout=5.0, **kw):
    s = h.connect(port, timeout, source)
    s.sendall(h.ws_request(**kw))
    return s


def test_max_connections_503_then_pause():
    gw = h.start_wsgate(h.config([h.ECHO_ROUTE], limits={
        "max_connections": 20, "max_connections_per_ip": 0,
        "close_timeout": "1s"}))
    held = [echo_round_trip(gw.port) for _ in range(20)]
    # 40 more at once: 503 each (the first ones at once, the rest once
    # the listener, paused past 20 + 18 refusals, accepts again).
    extra = [request(gw.port, timeout=10) for _ in range(40)]
    t0 = time.monotonic()
    statuses = {}
    for s in extra:
        resp = h.read_response(s, timeout=10)
        h.expect_error(resp, 503)
        check(b"max_connections" in resp.body, "body %r" % resp.body)
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
        s.close()
    refused_in = time.monotonic() - t0
    gw.wait_log(r"accept on 127\.0\.0\.1:\d+ paused: max_connections", 5)
    gw.wait_log(r"accept on 127\.0\.0\.1:\d+ resumed", 5)
    # The held sessions were never disturbed.
    for ws in held:
        ws.send_frame(OP_TEXT, b"x")
        check(ws.read_frame().payload == b"x", "held session broken")
    for ws in held:
        ws.close()
    # Served again once the held sessions are gone.
    h.wait_until(lambda: try_upgrade(gw.port, "127.0.0.1"), 5 * h.SLOW,
                 interval=0.1, what="a session after the held ones closed")
    print("note: flood: 20 sessions held, 40 more answered %r in %.2fs, "
          "accept paused and resumed" % (statuses, refused_in))


def test_per_ip_429_other_address_served():
    gw = h.start_wsgate(h.config([h.ECHO_ROUTE], limits={
        "max_connections_per_ip": 5}))
    held = [echo_round_trip(gw.port, source="127.0.0.2") for _ in range(5)]
    refused = 0
    for _ in range(10):
        resp = h.read_response(request(gw.port, source="127.0.0.2"))
        h.expect_error(resp, 429)
        check(b"max_connections_per_ip" in resp.body, "body %r" % resp.body)
        refused += 1
    # Other addresses (other clients) are still served meanwhile.
    for src in ("127.0.0.3", "127.0.0.4"):
        echo_round_trip(gw.port, source=src).close()
    gw.wait_log(r"127\.0\.0\.2:\d+ -: 429 max_connections_per_ip reached")
    # One of the five leaves: the address gets its slot back.
    held.pop().close()
    h.wait_until(lambda: try_upgrade(gw.port, "127.0.0.2"), 5,
                 what="a slot for 127.0.0.2 after one session closed")
    print("note: per ip: 5 held from 127.0.0.2, %d more refused with 429, "
          "127.0.0.3 and 127.0.0.4 served" % refused)


def try_upgrade(port, source):
    resp = h.read_response(request(port, source=source))
    resp.sock.close()
    return resp.status == 101


def test_handshake_rate_429_retry_after():
    gw = h.start_wsgate(h.config([h.ECHO_ROUTE], limits={
        "handshake_rate": 2, "handshake_burst": 3}))
    for _ in range(3):
        echo_round_trip(gw.port, source="127.0.0.5").close()
    t0 = time.monotonic()
    resp = h.read_response(request(gw.port, source="127.0.0.5"))
    h.expect_error(resp, 429)
    check(resp.header("Retry-After") == "1",
          "Retry-After %r" % resp.header("Retry-After"))
    check(b"handshake_rate" in resp.body, "body %r" % resp.body)
    # Another client has its own bucket.
    echo_round_trip(gw.port, source="127.0.0.6").close()
    # Two a second: a token is back within half a second.
    h.wait_until(lambda: try_upgrade(gw.port, "127.0.0.5"), 3,
                 interval=0.1, what="a token for 127.0.0.5")
    print("note: handshake rate: burst of 3 served, 4th 429 Retry-After: 1, "
          "served again after %.2fs" % (time.monotonic() - t0))


def test_max_headers_431():
    gw = h.start_wsgate(h.config([h.ECHO_ROUTE], limits={"max_headers": 10}))
    extra = [("X-Pad-%d" % i, "v") for i in range(6)]
    resp = h.read_response(request(gw.port, extra=extra))
    h.expect_error(resp, 431)
    check(b"too many header fields" in resp.body, "body %r" % resp.body)
    # 5 + 5 = 10 fields is the limit, not over it.
    ws = h.ws_connect_raw(gw.port, extra=extra[:5])
    ws.close()


def test_message_rate_1008():
    route = dict(h.ECHO_ROUTE, limits={"message_rate": 20,
                                       "message_burst": 10})
    gw = h.start_wsgate(h.config([route]))
    ws = h.ws_connect_raw(gw.port)
    burst = b"".join(encode_frame(OP_TEXT, b"m%d" % i) for i in range(10))
    ws.send(burst + encode_frame(OP_PING, b"p") + encode_frame(OP_TEXT,
                                                               b"over"))
    echoed = 0
    while True:
        f = ws.read_frame()
        if f.opcode == h.OP_CLOSE:
            check(f.close_code == 1008, "close %r" % f.close_code)
            check(b"message_rate" in f.payload, "reason %r" % f.payload)
            break
        if f.opcode == OP_TEXT:
            echoed += 1
    check(echoed == 10, "echoed %d of the burst of 10" % echoed)
    ws.expect_eof()
    # Another session on the route keeps its own bucket, and a client
    # that keeps to the rate is never cut off.
    ws = h.ws_connect_raw(gw.port)
    for i in range(15):
        ws.send_frame(OP_TEXT, b"slow")
        check(ws.read_frame().payload == b"slow", "echo %d" % i)
        time.sleep(0.06)
    ws.close()
    print("note: message rate: burst of 10 echoed, the ping past it closed "
          "with 1008; 15 messages at ~16/s all served")


def test_max_lifetime_1001():
    routes = [dict(h.ECHO_ROUTE, limits={"max_lifetime": "1s"}),
              {"match": {"path": "/long"}, "backend": "echo"}]
    gw = h.start_wsgate(h.config(routes, limits={"ping_interval": 0}))
    t0 = time.monotonic()
    short = h.ws_connect_raw(gw.port)
    other = h.ws_connect_raw(gw.port, path="/long")
    short.expect_close(1001, timeout=5)
    lived = time.monotonic() - t0
    gw.wait_log(r"max_lifetime reached, closing")
    other.send_frame(OP_TEXT, b"alive")
    check(other.read_frame().payload == b"alive",
          "the other route's session")
    other.close()
    print("note: max_lifetime 1s: closed with 1001 after %.2fs; the route "
          "without one kept its session" % lived)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_descriptor_exhaustion_recovers():
    gw = h.start_wsgate(h.config([h.ECHO_ROUTE], limits={
        "max_connections_per_ip": 0, "handshake_timeout": "30s"}))
    # Once every worker runs (a session served), the count is stable.
    echo_round_trip(gw.port).close()
    h.wait_until(lambda: "session 1: closing -> lingering" in gw.log(), 5)
    time.sleep(0.2)
    base = fd_count(gw.pid)
    limit = base + 40
    resource.prlimit(gw.pid, resource.RLIMIT_NOFILE, (limit, limit))
    # Connections that never send a head: each costs wsgate a descriptor.
    idle = []
    for i in range(80):
        idle.append(h.connect(gw.port))
    gw.wait_log(r"accept on 127\.0\.0\.1:\d+ paused: Too many open files", 10)
    check(gw.alive(), "wsgate died at the descriptor limit")
    held = fd_count(gw.pid)
    # A legitimate client waits in the backlog meanwhile ...
    waiting = h.connect(gw.port, timeout=15)
    waiting.sendall(h.ws_request())
    time.sleep(0.3)
    # ... and is served once descriptors are free again.
    for s in idle:
        s.close()
    t0 = time.monotonic()
    resp = h.read_response(waiting, timeout=15)
    check(resp.status == 101, "after recovery: %r" % resp.status_line)
    recovered = time.monotonic() - t0
    ws = h.RawWS(waiting, resp.rest)
    ws.send_frame(OP_TEXT, b"back")
    check(ws.read_frame().payload == b"back", "echo after recovery")
    ws.close()
    try:
        h.wait_until(lambda: fd_count(gw.pid) <= base, 10,
                     what="descriptors back to the baseline")
    except h.TestFailure:
        d = "/proc/%d/fd" % gw.pid
        raise h.TestFailure("fds %d, baseline %d: %r" % (
            fd_count(gw.pid), base,
            sorted(os.readlink(os.path.join(d, f)) for f in os.listdir(d))))
    print("note: fd exhaustion: RLIMIT_NOFILE %d, %d descriptors in use at the "
          "limit, 80 idle clients; served again %.2fs after they left "
          "(fds %d -> %d)" % (limit, held, recovered, base,
                               fd_count(gw.pid)))


if __name__ == "__main__":
    h.main(globals())
