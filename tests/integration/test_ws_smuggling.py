"""WebSocket smuggling (DESIGN.md "The path of one connection" step 4):
a backend's refusal of the upgrade never turns the connection into a
tunnel.  A client pipelines a second HTTP request ("GET /secret") and/or a
WebSocket frame right behind its upgrade request, or sends them after the
refusal arrived; the client sees the backend's 403 and its body and then
the connection closes; a raw backend that records every byte it receives
gets exactly one request head: "/secret" never appears and no frame
follows.  The same holds when the backend answers 200 instead of 101 and
when its 101 is invalid (wrong accept: 502).  Requests that wsgate itself
rejects never open a backend connection, and a request body announced by
Content-Length or Transfer-Encoding on the upgrade request never reaches
the backend (nor do those headers)."""

import time

import harness as h
from harness import check, encode_frame, OP_TEXT, OP_BINARY, OP_CONT

SECRET = (b"GET /secret HTTP/1.1\r\nHost: app.example\r\n"
          b"Authorization: Bearer stolen\r\n\r\n")
BODY = b"denied by backend\n"


def forbid(req):
    return (b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n" % len(BODY)) + BODY


def ws_gate(srv, route=None):
    r = {"match": {"path": "/ws"}, "backend": "app"}
    r.update(route or {})
    return h.start_wsgate(h.config(
        [r], {"app": h.ws_backend(srv.port, fail_threshold=0)},
        {"close_timeout": "2s"}))


def received(srv, n=1, timeout=10):
    """Every byte the backend received on each of its connections, once
    wsgate has closed them (n connections expected)."""
    h.wait_until(lambda: srv.eofs >= n, timeout,
                 what="wsgate to close its %d backend connection(s)" % n)
    with srv.lock:
        return [bytes(b) for b in srv.state.get("bytes", [])]


def check_one_head(data):
    """data is one request head and nothing else, without /secret."""
    check(b"/secret" not in data and b"stolen" not in data,
          "the smuggled request reached the backend: %r" % data)
    i = data.find(b"\r\n\r\n")
    check(i >= 0, "no complete head at the backend: %r" % data)
    check(data[i + 4:] == b"", "backend received %d bytes after the "
          "request head: %r" % (len(data) - i - 4, data[i + 4:i + 80]))
    check(data.count(b"HTTP/1.1\r\n") == 1, "more than one request line: %r"
          % data)


def expect_refusal(sock, status=403, body=BODY, timeout=10):
    r = h.read_response(sock, timeout)
    check(r.status == status, "client got %r, expected %d"
          % (r.status_line, status))
    rest = h.read_to_eof(sock, timeout, r.rest)
    check(rest == body, "after the %d head the client got %r, expected "
          "exactly the backend's body %r (nothing for the pipelined request)"
          % (status, rest[:200], body))
    return r


def test_pipelined_request_after_refused_upgrade():
    srv = h.raw_ws_backend(respond=forbid)
    gw = ws_gate(srv)
    s = h.connect(gw.port, 10)
    s.sendall(h.ws_request(path="/ws", host="app.example") + SECRET)
    expect_refusal(s)
    data = received(srv)
    check(len(data) == 1, "backend connections: %d" % len(data))
    check_one_head(data[0])
    check(data[0].startswith(b"GET /ws HTTP/1.1\r\n"), "request line %r"
          % data[0][:40])


def test_frames_and_request_after_refused_upgrade():
    srv = h.raw_ws_backend(respond=forbid)
    gw = ws_gate(srv)
    s = h.connect(gw.port, 10)
    s.sendall(h.ws_request(path="/ws", host="app.example")
              + encode_frame(OP_TEXT, b"smuggled frame", mask=False)
              + encode_frame(OP_BINARY, b"masked frame")
              + SECRET)
    expect_refusal(s)
    data = received(srv)
    check(len(data) == 1, "backend connections: %d" % len(data))
    check_one_head(data[0])


def test_request_sent_after_the_refusal_arrived():
    srv = h.raw_ws_backend(respond=forbid)
    gw = ws_gate(srv)
    s = h.connect(gw.port, 10)
    s.sendall(h.ws_request(path="/ws", host="app.example"))
    r = h.read_response(s, 10)
    check(r.status == 403, "status %r" % r.status_line)
    try:
        s.sendall(encode_frame(OP_TEXT, b"late frame") + SECRET)
    except OSError:
        pass        # already closed by wsgate: fine
    rest = h.read_to_eof(s, 10, r.rest)
    check(rest == BODY, "client got %r after the head" % rest[:200])
    data = received(srv)
    check_one_head(data[0])


def test_backend_200_is_not_a_tunnel():
    # Not a 101: either passed to the client as it is (like any refusal)
    # or turned into 502; never a tunnel either way.
    def ok200(req):
        return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 3\r\n\r\nok\n")
    srv = h.raw_ws_backend(respond=ok200)
    gw = ws_gate(srv)
    s = h.connect(gw.port, 10)
    s.sendall(h.ws_request(path="/ws", host="app.example")
              + encode_frame(OP_TEXT, b"frame") + SECRET)
    r = h.read_response(s, 10)
    check(r.status in (200, 502), "client got %r for a backend 200"
          % r.status_line)
    print("    backend 200 -> client %s" % r.status_line)
    rest = h.read_to_eof(s, 10, r.rest)
    if r.status == 200:
        check(rest == b"ok\n", "body %r" % rest)
    check(b"HTTP/1.1" not in rest, "a second response reached the client: "
          "%r" % rest)
    data = received(srv)
    check_one_head(data[0])


def record_until_eof(peer, server):
    """After a 101: keep every byte (raw_ws_backend records them), read
    until wsgate closes."""
    while True:
        r = h.recv_some(peer.sock, server)
        if not r:
            if r == b"":
                server.saw_eof()
            return
        peer._record.extend(r)


def test_invalid_101_is_not_a_tunnel():
    def wrong_accept(req):
        return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + h.accept_key(h.new_key()).encode() + b"\r\n\r\n")
    srv = h.raw_ws_backend(session=record_until_eof, respond=wrong_accept)
    gw = ws_gate(srv)
    s = h.connect(gw.port, 10)
    s.sendall(h.ws_request(path="/ws", host="app.example")
              + encode_frame(OP_TEXT, b"frame") + SECRET)
    r = h.read_response(s, 10)
    h.expect_error(r, 502, timeout=10)
    data = received(srv)
    check_one_head(data[0])


def test_requests_rejected_by_wsgate_never_reach_backend():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv, route={"origins": ["https://app.example"]})
    cases = [
        ("version 12", h.ws_request(path="/ws", omit=(
            "sec-websocket-version",), extra=[("Sec-WebSocket-Version",
                                               "12")]), 426),
        ("short key", h.ws_request(path="/ws", key="c2hvcnQ="), 400),
        ("POST", h.ws_request(path="/ws", method="POST"), 405),
        ("foreign origin", h.ws_request(path="/ws", extra=[
            ("Origin", "https://evil.example")]), 403),
        ("plain GET", h.ws_request(path="/ws", omit=("upgrade",
                                                     "connection")), 426),
    ]
    bad = []
    for what, req, status in cases:
        try:
            r = h.http_request(gw.port, req + SECRET)
            h.expect_error(r, status)
        except h.TestFailure as e:
            bad.append("%s: %s" % (what, e))
    check(not bad, "rejections:\n  " + "\n  ".join(bad))
    time.sleep(0.2)     # a connect would have been started by now
    check(srv.accepted == 0, "the backend got %d connections for requests "
          "wsgate rejected" % srv.accepted)


def test_request_body_never_reaches_backend():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv)
    chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SECRET), SECRET)
    cases = [
        ("content-length", h.ws_request(path="/ws", extra=[
            ("Content-Length", str(len(SECRET)))]) + SECRET),
        ("chunked", h.ws_request(path="/ws", extra=[
            ("Transfer-Encoding", "chunked")]) + chunk),
    ]
    for what, data in cases:
        s = h.connect(gw.port, 10)
        s.sendall(data)
        r = h.read_response(s, 10)
        print("    %s body on the upgrade request: %s" % (what,
                                                          r.status_line))
        # An upgrade request has no body: refused before any backend.
        h.expect_error(r, 400)
        h.read_to_eof(s, 10, r.rest)
        s.close()
    h.wait_until(lambda: srv.eofs >= len(srv.state.get("peers", [])), 10,
                 what="wsgate to close its upgraded backend connections")
    with srv.lock:
        reqs = list(srv.state.get("requests", []))
        peers = list(srv.state.get("peers", []))
        data = [bytes(b) for b in srv.state.get("bytes", [])]
    for req in reqs:
        names = req.names()
        check("transfer-encoding" not in names
              and "content-length" not in names,
              "the body's framing headers reached the backend: %r" % req)
    for d in data:
        check(b"/secret" not in d, "the body reached the backend: %r" % d)
    for p in peers:
        frames = [f for f in p.frames
                  if f.opcode in (OP_TEXT, OP_BINARY, OP_CONT)]
        check(not frames, "body bytes reached the backend as frames: %r"
              % frames)


if __name__ == "__main__":
    h.main(globals())
