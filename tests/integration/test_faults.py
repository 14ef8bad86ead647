"""Fault injection with real sockets against the real daemon (issue 7):
a peer that resets (SO_LINGER 0, then close: an RST) or half-closes in
the middle of what it is saying, a websocket backend that never answers
or answers garbage, and a backend name that stops resolving.  Each test
ends with the status or close code DESIGN.md documents ("Handshake
responses", "Frame rules": backend failure after the upgrade is 1011, a
tcp backend that closes cleanly 1000; unreachable or bad 101 is 502, a
timeout 504), finds the daemon's log line giving the reason and the
session's access line, and checks that no file descriptor leaked: the
entries of /proc/<pid>/fd are counted on an idle daemon before the
fault and must come back to that count once everything is closed."""

import os
import re
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time

import harness as h
from harness import check, OP_TEXT, OP_BINARY, OP_CONT, OP_CLOSE

# Short timeouts: the whole file stays well under a minute.
LIMITS = {"close_timeout": "1s", "handshake_timeout": "5s"}


def gate(backends, routes, **limits):
    lim = dict(LIMITS)
    lim.update(limits)
    return h.start_wsgate(h.config(routes, backends, lim))


def ws_gate(srv_port, **backend_opts):
    """One websocket backend "app" behind /ws."""
    opts = {"connect_timeout": "1s", "handshake_timeout": "1s"}
    opts.update(backend_opts)
    return gate({"app": h.ws_backend(srv_port, **opts)},
                [{"match": {"path": "/ws"}, "backend": "app"}])


def tcp_gate(srv_port):
    return gate({"svc": h.tcp_backend(srv_port, connect_timeout="1s")},
                [{"match": {"path": "/tcp"}, "backend": "svc"}])


def fd_count(gw):
    return len(os.listdir("/proc/%d/fd" % gw.pid))


def fd_baseline(gw):
    """The fd count of the idle daemon, once it has held still for a
    moment (workers and the control thread open theirs at start)."""
    last = [None, 0]

    def stable():
        n = fd_count(gw)
        if n == last[0]:
            last[1] += 1
        else:
            last[0], last[1] = n, 0
        return last[1] >= 4
    h.wait_until(stable, 10 * h.SLOW, interval=0.05,
                 what="a stable fd count")
    return last[0]


def fds_back(gw, base, label):
    """Waits (bounded) for the fd count to return to base; prints the
    test's figure."""
    try:
        h.wait_until(lambda: fd_count(gw) == base, 10 * h.SLOW,
                     what="fd count back to %d" % base)
    finally:
        after = fd_count(gw)
        print("note: faults: %s: fd baseline %d, after %d" % (label, base, after))
    check(after == base, "fd leak: %d before the fault, %d after"
          % (base, after))


def rst(sock):
    """Closes with an RST: SO_LINGER on, timeout 0."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


def access_line(gw, client_sock, start=0, timeout=10):
    """The access line of the session whose client used client_sock."""
    port = client_sock.getsockname()[1]
    m = gw.wait_log(re.compile(r"access: 127\.0\.0\.1:%d \"[^\"]*\"[^\n]*"
                               % port), timeout * h.SLOW, start)
    return m.group(0)


def check_access(line, status, close, by, reason):
    want = "status=%d close=%d by=%s reason=\"%s\"" % (status, close, by,
                                                       reason)
    check(want in line, "access line %r lacks %r" % (line, want))


def warm_up_ws(gw):
    """One clean session through /ws, so that the baseline is taken
    after anything opened lazily on a first session, and once that
    session is freed (its access line)."""
    start = len(gw.log())
    ws = h.ws_connect_raw(gw.port, path="/ws")
    ws.send_frame(OP_CLOSE, h.close_payload(1000))
    ws.expect_close(1000)
    ws.expect_eof()
    access_line(gw, ws.sock, start)
    ws.close()


def held_backend(plan):
    """A raw websocket backend whose session runs plan(peer, server)
    after a correct 101; plan gets the BackendWS."""
    def session(peer, server):
        with server.lock:
            server.state["peer"] = peer
        plan(peer, server)
    return h.raw_ws_backend(session=session)


# 1. resets in the middle of a message -------------------------------------

def test_ws_backend_reset_mid_message_is_1011():
    """The backend sends one fragment of a text message and half of the
    next frame, then resets: the client has the fragment and the half
    (relayed as a frame of its own), then close 1011."""
    go = threading.Event()
    phase = {"n": 0}

    def plan(peer, server):
        with server.lock:
            phase["n"] += 1
            first = phase["n"] == 1
        if first:           # the warm-up session: a clean echo
            h.raw_echo_session(peer, server)
            return
        peer.send_frame(OP_TEXT, b"first fragment ", fin=False)
        head = encode_header(OP_CONT, 1000)
        peer.send(head + b"x" * 300)
        go.wait(10)
        rst(peer.sock)
    srv = held_backend(plan)
    gw = ws_gate(srv.port)
    warm_up_ws(gw)
    base = fd_baseline(gw)
    start = len(gw.log())
    ws = h.ws_connect_raw(gw.port, path="/ws")
    f = ws.read_frame(timeout=10)
    check(f.opcode == OP_TEXT and not f.fin and
          f.payload == b"first fragment ", "first fragment: %r" % f)
    got = b""
    while len(got) < 300:
        f = ws.read_frame(timeout=10)
        check(f.opcode == OP_CONT and not f.fin,
              "part of the second frame should come as a non-final "
              "continuation, got %r" % f)
        got += f.payload
    check(got == b"x" * 300, "partial payload %r" % got[:40])
    go.set()
    c = ws.expect_close(1011, skip_data=False)
    ws.send_frame(OP_CLOSE, h.close_payload(1011))
    ws.expect_eof()
    line = access_line(gw, ws.sock, start)
    ws.close()
    gw.wait_log(r"session \d+: backend (failed|closed) without a close "
                r"frame", 10 * h.SLOW, start)
    check_access(line, 101, 1011, "backend", "backend went away")
    fds_back(gw, base, "ws backend RST mid-message -> %d %r"
             % (c.close_code, c.payload[2:].decode()))


def encode_header(opcode, length, fin=False):
    """A server frame header (unmasked) announcing length bytes."""
    b0 = (0x80 if fin else 0) | opcode
    if length <= 125:
        return struct.pack("!BB", b0, length)
    if length <= 0xFFFF:
        return struct.pack("!BBH", b0, 126, length)
    return struct.pack("!BBQ", b0, 127, length)


def test_tcp_backend_reset_mid_stream_is_1011():
    """A tcp service streams data and resets while still sending: the
    client gets what was relayed, then close 1011."""
    go = threading.Event()

    def handler(c, server):
        chunk = os.urandom(4096)
        while not go.is_set() and not server.stopping.is_set():
            if h.send_all(c, server, chunk) < len(chunk):
                return
            time.sleep(0.002)
        rst(c)
    srv = h.TcpServer(handler)
    gw = tcp_gate(srv.port)
    base = fd_baseline(gw)
    start = len(gw.log())
    ws = h.ws_connect_raw(gw.port, path="/tcp")
    got = 0
    while got < 64 * 1024:
        op, data = ws.read_message(timeout=10)
        check(op == OP_BINARY, "opcode %#x from a tcp backend" % op)
        got += len(data)
    go.set()
    c = ws.expect_close(1011, timeout=10, skip_data=True)
    ws.send_frame(OP_CLOSE, h.close_payload(1011))
    ws.expect_eof()
    line = access_line(gw, ws.sock, start)
    ws.close()
    gw.wait_log(r"session \d+: backend failed without a close frame",
                10 * h.SLOW, start)
    check_access(line, 101, 1011, "backend", "backend went away")
    fds_back(gw, base, "tcp backend RST after %d KiB -> %d"
             % (got // 1024, c.close_code))


# 2. half-closes -----------------------------------------------------------

def test_tcp_backend_half_close_is_1000():
    """DESIGN.md: a tcp backend that closes cleanly gives 1000.  It
    shuts down its sending side after a last line and keeps reading:
    the client gets the line, then close 1000, and the service gets
    wsgate's FIN (nothing is left half open)."""
    def handler(c, server):
        h.send_all(c, server, b"last line\n")
        c.shutdown(socket.SHUT_WR)
        while True:
            r = h.recv_some(c, server)
            if not r:
                if r == b"":
                    server.saw_eof()
                return
    srv = h.TcpServer(handler)
    gw = tcp_gate(srv.port)
    base = fd_baseline(gw)
    start = len(gw.log())
    ws = h.ws_connect_raw(gw.port, path="/tcp")
    op, data = ws.read_message(timeout=10)
    check((op, data) == (OP_BINARY, b"last line\n"), "got %r" % data)
    c = ws.expect_close(1000, skip_data=False)
    ws.send_frame(OP_CLOSE, h.close_payload(1000))
    ws.expect_eof()
    line = access_line(gw, ws.sock, start)
    ws.close()
    h.wait_until(lambda: srv.eofs >= 1, 10 * h.SLOW,
                 what="the service to get wsgate's FIN")
    check_access(line, 101, 1000, "backend", "backend closed")
    fds_back(gw, base, "tcp backend SHUT_WR -> %d, service got FIN"
             % c.close_code)


def test_ws_backend_half_close_without_close_frame_is_1011():
    """A websocket backend that sends a message, then its FIN without
    a close frame (RFC 6455 §7.1.5: 1006, which must not be sent on the
    wire): the client gets the message, then close 1011 (DESIGN.md:
    backend failure after the upgrade), and the backend's connection
    is closed."""
    phase = {"n": 0}

    def plan(peer, server):
        with server.lock:
            phase["n"] += 1
            first = phase["n"] == 1
        if first:
            h.raw_echo_session(peer, server)
            return
        peer.send_frame(OP_TEXT, b"last words")
        peer.sock.shutdown(socket.SHUT_WR)
        h.wait_peer_eof(peer, server)
    srv = held_backend(plan)
    gw = ws_gate(srv.port)
    warm_up_ws(gw)
    base = fd_baseline(gw)
    start = len(gw.log())
    eofs = srv.eofs
    ws = h.ws_connect_raw(gw.port, path="/ws")
    check(ws.read_message(timeout=10) == (OP_TEXT, b"last words"),
          "message before the FIN")
    c = ws.expect_close(1011, skip_data=False)
    ws.send_frame(OP_CLOSE, h.close_payload(1011))
    ws.expect_eof()
    line = access_line(gw, ws.sock, start)
    ws.close()
    gw.wait_log(r"session \d+: backend closed without a close frame",
                10 * h.SLOW, start)
    h.wait_until(lambda: srv.eofs > eofs, 10 * h.SLOW,
                 what="wsgate to close the backend's connection")
    check_access(line, 101, 1011, "backend", "backend went away")
    fds_back(gw, base, "ws backend SHUT_WR, no close frame -> %d"
             % c.close_code)


# 3. the client resets mid-frame -------------------------------------------

def test_client_reset_mid_frame_frees_session():
    """The client sends a frame header and half its payload, then
    resets: the backend gets the half (relayed as it came) and close
    1001, its connection is closed, the session is freed with an access
    line (1006: no close frame from the client)."""
    phase = {"n": 0}

    def plan(peer, server):
        with server.lock:
            phase["n"] += 1
        h.raw_echo_session(peer, server)
    srv = held_backend(plan)
    gw = ws_gate(srv.port)
    warm_up_ws(gw)
    base = fd_baseline(gw)
    start = len(gw.log())
    eofs = srv.eofs
    ws = h.ws_connect_raw(gw.port, path="/ws")
    key = os.urandom(4)
    payload = os.urandom(1000)
    frame = h.encode_frame(OP_BINARY, payload, mask_key=key)
    ws.send(frame[:8 + 500])        # 2 + 2 (length) + 4 (key) + 500
    h.wait_until(lambda: srv.state.get("peer") is not None and
                 phase["n"] == 2, 10 * h.SLOW, what="the backend session")

    def backend_has_half():
        peer = srv.state["peer"]
        return sum(len(f.payload) for f in peer.frames
                   if f.opcode in (OP_BINARY, OP_CONT)) >= 500 or \
            len(srv.state["bytes"][-1]) > 500
    h.wait_until(backend_has_half, 10 * h.SLOW,
                 what="half the payload at the backend")
    port = ws.sock.getsockname()[1]
    rst(ws.sock)
    h.wait_until(lambda: srv.eofs > eofs, 10 * h.SLOW,
                 what="the backend's connection to be closed")
    peer = srv.state["peer"]
    data = b"".join(f.payload for f in peer.frames
                    if f.opcode in (OP_BINARY, OP_CONT))
    closes = [f for f in peer.frames if f.opcode == OP_CLOSE]
    check(data == payload[:500], "backend got %d bytes of the half frame"
          % len(data))
    check(closes and closes[0].close_code == 1001,
          "backend should get close 1001, got %r" % closes)
    m = gw.wait_log(re.compile(r"access: 127\.0\.0\.1:%d \"[^\"]*\"[^\n]*"
                               % port), 10 * h.SLOW, start)
    gw.wait_log(r"session \d+: client failed without a close frame",
                10 * h.SLOW, start)
    check_access(m.group(0), 101, 1006, "client", "client went away")
    fds_back(gw, base, "client RST mid-frame -> backend close %d"
             % closes[0].close_code)


# 4. a backend that never answers ------------------------------------------

def test_ws_backend_silent_is_504_after_handshake_timeout():
    """A websocket backend accepts and never sends its 101: 504 after
    the backend's handshake_timeout (README: "the backend's 101, then
    504"; connect_timeout covers the TCP connect only, and is longer
    here to tell them apart)."""
    srv = h.raw_ws_backend(respond=lambda req: None)
    gw = ws_gate(srv.port, connect_timeout="5s", handshake_timeout="500ms")
    base = fd_baseline(gw)
    start = len(gw.log())
    t0 = time.monotonic()
    r = h.http_request(gw.port, h.ws_request(path="/ws"), timeout=10)
    dt = time.monotonic() - t0
    h.expect_error(r, 504)
    check(0.4 <= dt < 3 * h.SLOW, "504 after %.2fs, handshake_timeout is "
          "0.5s (connect_timeout 5s)" % dt)
    gw.wait_log(r"backend app server 127\.0\.0\.1:%d: no 101 in time"
                % srv.port, 10 * h.SLOW, start)
    line = access_line(gw, r.sock, start)
    check_access(line, 504, 0, "wsgate", "backend timed out")
    h.wait_until(lambda: srv.eofs >= 1, 10 * h.SLOW,
                 what="wsgate to close the silent backend's connection")
    r.sock.close()
    fds_back(gw, base, "silent backend -> 504 after %.2fs" % dt)


# 5. garbage instead of a 101 ----------------------------------------------

def test_ws_backend_garbage_is_502():
    """Random bytes, a 101 with a wrong Sec-WebSocket-Accept, a head cut
    off by EOF: 502, and the log names the reason.  An HTTP/1.1 200 is
    a backend's answer other than 101: DESIGN.md step 4 passes those
    on and closes, so the client gets the 200 (never a tunnel)."""
    junk = b"\x00\x8f" + os.urandom(62)

    def respond(req):
        case = req.path.rsplit("/", 1)[-1]
        if case == "random":
            return junk
        if case == "ok200":
            return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: 3\r\n\r\nok\n")
        if case == "accept":        # the accept of another key
            return ("HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: %s\r\n\r\n"
                    % h.accept_key(h.new_key())).encode()
        if case == "truncated":
            return [b"HTTP/1.1 101 Switching Protocols\r\n"
                    b"Upgrade: websocket\r\n", b""]
        raise AssertionError(case)

    def handler(c, server):
        buf = bytearray()
        i = h.read_until(c, buf, b"\r\n\r\n", 10)
        req = h.HttpRequest(raw=bytes(buf[:i + 4]))
        with server.lock:
            server.state.setdefault("requests", []).append(req)
        answer = respond(req)
        if isinstance(answer, list):    # head cut off: FIN after it
            h.send_all(c, server, answer[0])
            c.shutdown(socket.SHUT_WR)
        else:
            h.send_all(c, server, answer)
        while True:
            r = h.recv_some(c, server)
            if not r:
                if r == b"":
                    server.saw_eof()
                return
    srv = h.TcpServer(handler)
    gw = ws_gate(srv.port, fail_threshold=0)
    base = fd_baseline(gw)
    reasons = {
        "random": r"malformed http version",
        "accept": r"backend sent a wrong Sec-WebSocket-Accept",
        "truncated": r"closed before its 101",
    }
    figures = []
    for case, rx in reasons.items():
        start = len(gw.log())
        r = h.http_request(gw.port, h.ws_request(path="/ws/" + case),
                           timeout=10)
        h.expect_error(r, 502)
        m = gw.wait_log(r"backend app server 127\.0\.0\.1:%d: (%s)"
                        % (srv.port, rx), 10 * h.SLOW, start)
        check_access(access_line(gw, r.sock, start), 502, 0, "wsgate",
                     "backend unreachable or invalid")
        r.sock.close()
        figures.append("%s 502 (%s)" % (case, m.group(1)))
    start = len(gw.log())
    r = h.http_request(gw.port, h.ws_request(path="/ws/ok200"), timeout=10)
    check(r.status == 200, "a backend's 200 should be passed on, got %r"
          % r.status_line)
    check("close" in r.tokens("Connection"), "no Connection: close on the "
          "passed 200: %r" % r.headers)
    body = h.read_to_eof(r.sock, 10, r.rest)
    check(body == b"ok\n", "body of the passed 200: %r" % body)
    gw.wait_log(r"backend 127\.0\.0\.1:%d answered 200" % srv.port,
                10 * h.SLOW, start)
    check_access(access_line(gw, r.sock, start), 200, 0, "backend",
                 "backend refused the upgrade")
    r.sock.close()
    figures.append("200 passed on")
    h.wait_until(lambda: srv.eofs >= 4, 10 * h.SLOW,
                 what="every backend connection closed")
    fds_back(gw, base, "; ".join(figures))


# 6. a backend name that stops resolving -----------------------------------

def namespaced(hosts_path, resolv_path):
    """unshare(1) prefix: a private mount namespace in which /etc/hosts
    and /etc/resolv.conf are the test's files (the system's are not
    touched); resolv.conf points at 127.0.0.1 so that no look-up leaves
    the machine."""
    script = ('mount --bind "$1" /etc/hosts && '
              'mount --bind "$2" /etc/resolv.conf && shift 2 && '
              'exec "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            script, "sh", hosts_path, resolv_path]


def test_backend_name_stops_resolving():
    """Names are resolved when the file is loaded, again every
    resolve_interval with evdns, and a name that does not resolve is a
    configuration error (README).  So when the name of a server stops
    resolving, a SIGHUP is refused with the name in the log and the last
    address stays in use (clients still get 101); when the name moves
    to an address where nothing listens, the reload takes it and the
    next client gets 502 with the reason logged."""
    srv = h.raw_ws_backend()
    d = tempfile.mkdtemp(prefix="wsgate-it-dns-")
    h.on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    hosts = os.path.join(d, "hosts")
    resolv = os.path.join(d, "resolv.conf")

    def write(path, text):
        with open(path, "w") as f:      # in place: the bind mount follows
            f.write(text)
    name = "wsgate-fault-backend"
    write(hosts, "127.0.0.1 localhost\n127.0.0.1 %s\n" % name)
    write(resolv, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    backends = {"app": h.ws_backend("%s:%d" % (name, srv.port),
                                    connect_timeout="1s",
                                    handshake_timeout="1s")}
    routes = [{"match": {"path": "/ws"}, "backend": "app"}]
    gw = h.start_wsgate(h.config(routes, backends, LIMITS),
                        prefix=namespaced(hosts, resolv))
    warm_up_ws(gw)
    base = fd_baseline(gw)

    # The name is gone: the reload is refused, the old address kept.
    write(hosts, "127.0.0.1 localhost\n")
    start = len(gw.log())
    gw.signal(signal.SIGHUP)
    m = gw.wait_log(r"[^\n]*%s[^\n]*" % name, 10 * h.SLOW, start)
    gw.wait_log(r"reload failed: the configuration is invalid",
                10 * h.SLOW, start)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    ws.send_frame(OP_TEXT, "still here")
    check(ws.read_message(timeout=10) == (OP_TEXT, b"still here"),
          "echo through the kept address")
    ws.send_frame(OP_CLOSE, h.close_payload(1000))
    ws.expect_close(1000)
    ws.expect_eof()
    ws.close()
    refused = m.group(0).strip()

    # The name now leads where nothing listens: 502, reason logged.
    write(hosts, "127.0.0.1 localhost\n127.0.0.2 %s\n" % name)
    start = len(gw.log())
    gw.signal(signal.SIGHUP)
    gw.wait_log(r"reloaded [^\n]*: generation \d+", 10 * h.SLOW, start)
    r = h.http_request(gw.port, h.ws_request(path="/ws"), timeout=10)
    h.expect_error(r, 502)
    gw.wait_log(r"backend app server %s:%d: Connection refused"
                % (name, srv.port), 10 * h.SLOW, start)
    check_access(access_line(gw, r.sock, start), 502, 0, "wsgate",
                 "backend unreachable or invalid")
    r.sock.close()
    print("note: faults: reload refused: %s" % refused[-120:])
    fds_back(gw, base, "name gone -> 101 on the kept address; moved to "
             "127.0.0.2 -> 502")


if __name__ == "__main__":
    h.main(globals())
