"""Life cycle of connections to WebSocket backends (DESIGN.md "The path of
one connection" steps 4-6, "Operations"): backpressure bounds memory both
ways (a backend flooding a client that does not read, a client flooding a
backend that does not read: the sender is blocked far below the 200 MiB
it tries, wsgate's RSS stays small, and the stream resumes intact); a
client that leaves while wsgate waits for the backend's 101 makes wsgate
close the backend connection; a backend that never answers does not hold
up other clients, and without handshake_timeout it gets 504 after
connect_timeout; SIGTERM sends 1001 to the client and a close frame
(1001) to the backend, and wsgate exits 0."""

import os
import signal
import socket
import threading
import time

import harness as h
from harness import check, encode_frame, OP_TEXT, OP_BINARY, OP_CONT, \
    OP_CLOSE, OP_PING, OP_PONG

TARGET = 200 * h.MiB
RSS_LIMIT_KIB = 64 * 1024
BLOCK = os.urandom(65536)


def ws_gate(*servers, limits=None, **backend_opts):
    lim = {"buffer_high_watermark": "1MiB", "close_timeout": "2s"}
    lim.update(limits or {})
    return h.start_wsgate(h.config(
        [{"match": {"path": "/ws"}, "backend": "app"},
         h.ECHO_ROUTE],
        {"app": h.ws_backend(*servers, **backend_opts)}, lim))


def send_counting(sock, data, server, key):
    """Sends data completely unless stopping; adds to server.state[key]."""
    view = memoryview(data)
    off = 0
    sock.settimeout(0.5)
    while off < len(data):
        if server.stopping.is_set():
            return False
        try:
            n = sock.send(view[off:])
        except socket.timeout:
            continue
        except OSError:
            return False
        off += n
        server.state[key] = server.state.get(key, 0) + n
    return True


def flood_session(peer, server):
    frame = encode_frame(OP_BINARY, BLOCK, mask=False)
    while server.state.get("sent", 0) < TARGET:
        if not send_counting(peer.sock, frame, server, "sent"):
            return


def test_backend_blocked_when_client_stops_reading():
    srv = h.raw_ws_backend(flood_session)
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    h.wait_until(lambda: srv.state.get("sent", 0) > 0, 10,
                 what="the backend to start sending")
    time.sleep(3.0)     # the client reads nothing meanwhile
    rss, sent = gw.rss_kib(), srv.state["sent"]
    print("    client not reading: wsgate VmRSS %d KiB, backend sent %.1f "
          "MiB of %d MiB" % (rss, sent / h.MiB, TARGET // h.MiB))
    check(rss < RSS_LIMIT_KIB, "wsgate RSS %d KiB >= %d KiB"
          % (rss, RSS_LIMIT_KIB))
    check(sent < TARGET // 2, "backend sent %.1f MiB to a client that reads "
          "nothing: no backpressure" % (sent / h.MiB))
    got = 0
    deadline = time.monotonic() + 30
    while got < 16 * h.MiB:
        f = ws.read_frame(max(0.01, deadline - time.monotonic()))
        if f.opcode in (OP_PING, OP_PONG):
            continue
        check(f.opcode in (OP_BINARY, OP_CONT), "frame %r" % f)
        pos = got % len(BLOCK)
        exp = (BLOCK[pos:] + BLOCK * (len(f.payload) // len(BLOCK) + 2))
        check(f.payload == exp[:len(f.payload)],
              "stream corrupted near byte %d" % got)
        got += len(f.payload)


def sink_session(peer, server):
    """Reads nothing until told (state["drain"]), then counts bytes."""
    while not server.state.get("drain") and not server.stopping.is_set():
        time.sleep(0.05)
    peer.sock.settimeout(0.5)
    while not server.stopping.is_set():
        try:
            r = peer.sock.recv(1 << 20)
        except socket.timeout:
            continue
        except OSError:
            return
        if not r:
            return
        server.state["drained"] = server.state.get("drained", 0) + len(r)


def test_client_blocked_when_backend_stops_reading():
    srv = h.raw_ws_backend(sink_session)
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    frame = encode_frame(OP_BINARY, BLOCK, mask_key=b"\x01\x02\x03\x04")
    state = {"sent": 0, "stop": False}

    def flood():
        s = ws.sock
        s.settimeout(0.5)
        view = memoryview(frame)
        while state["sent"] < TARGET and not state["stop"]:
            off = 0
            while off < len(frame) and not state["stop"]:
                try:
                    n = s.send(view[off:])
                except socket.timeout:
                    continue
                except OSError:
                    return
                off += n
                state["sent"] += n
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    h.on_cleanup(lambda: (state.__setitem__("stop", True), t.join(5)))
    h.wait_until(lambda: state["sent"] > 0, 10, what="the client to send")
    time.sleep(3.0)     # the backend reads nothing meanwhile
    rss, sent = gw.rss_kib(), state["sent"]
    print("    backend not reading: wsgate VmRSS %d KiB, client sent %.1f "
          "MiB of %d MiB" % (rss, sent / h.MiB, TARGET // h.MiB))
    check(rss < RSS_LIMIT_KIB, "wsgate RSS %d KiB >= %d KiB"
          % (rss, RSS_LIMIT_KIB))
    check(sent < TARGET // 2, "client sent %.1f MiB to a backend that reads "
          "nothing: no backpressure" % (sent / h.MiB))
    srv.state["drain"] = True
    h.wait_until(lambda: srv.state.get("drained", 0) > sent + 8 * h.MiB
                 or state["sent"] >= TARGET, 60,
                 what="data to flow again once the backend reads")
    state["stop"] = True
    t.join(5)


def test_client_leaving_during_backend_handshake_closes_backend():
    srv = h.raw_ws_backend(respond=lambda req: None)
    gw = ws_gate(srv.port, handshake_timeout="30s")
    s = h.connect(gw.port, 10)
    s.sendall(h.ws_request(path="/ws"))
    h.wait_until(lambda: h.backend_requests(srv), 10,
                 what="the request at the backend")
    s.close()
    h.wait_until(lambda: srv.eofs >= 1, 10, what="wsgate to close the "
                 "backend connection after the client left")


def test_silent_backend_does_not_block_others():
    srv = h.raw_ws_backend(respond=lambda req: None)
    gw = ws_gate(srv.port, handshake_timeout="3s")
    slow = h.connect(gw.port, 15)
    slow.sendall(h.ws_request(path="/ws"))
    h.wait_until(lambda: h.backend_requests(srv), 10,
                 what="the request at the backend")
    ws = h.ws_connect_raw(gw.port, path="/echo")
    ws.send_frame(OP_TEXT, "not blocked")
    check(ws.read_message(10) == (OP_TEXT, b"not blocked"),
          "echo while a backend handshake is pending")
    h.expect_error(h.read_response(slow, 15), 504)


def test_handshake_timeout_defaults_to_connect_timeout():
    srv = h.raw_ws_backend(respond=lambda req: None)
    gw = ws_gate(srv.port, connect_timeout="1s")
    t0 = time.monotonic()
    r = h.http_request(gw.port, h.ws_request(path="/ws"), timeout=20)
    h.expect_error(r, 504, timeout=10)
    print("    504 after %.1fs (connect_timeout 1s)"
          % (time.monotonic() - t0))


def test_sigterm_closes_both_sides_with_1001():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    ws.send_frame(OP_TEXT, "hi")
    check(ws.read_message(10) == (OP_TEXT, b"hi"), "echo")
    gw.signal(signal.SIGTERM)
    ws.expect_close(1001, timeout=10, skip_data=False)
    ws.send_frame(OP_CLOSE, h.close_payload(1001))
    ws.expect_eof(timeout=10)
    rc = gw.wait_exit(15)
    check(rc == 0, "exit status %r after SIGTERM" % rc)
    peer = srv.state["peers"][0]
    closes = [f for f in peer.frames if f.opcode == OP_CLOSE]
    check(closes, "the backend got no close frame (frames %r)" % peer.frames)
    check(closes[0].close_code == 1001, "backend got close %r, expected "
          "1001 (going away)" % closes[0].payload)


if __name__ == "__main__":
    h.main(globals())
