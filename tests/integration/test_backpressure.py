"""Backpressure and bounded memory (DESIGN.md "Relay"): with
buffer_high_watermark 1MiB, a TCP backend sending as fast as it can to a
client that stops reading gets blocked (it manages far less than the
200 MiB it tries to send) while wsgate's RSS stays small; when the client
reads again the data flows, intact and in order.  The same holds the other
way round (a client flooding a backend that does not read) and on the echo
route (a client that writes but never reads)."""

import os
import socket
import threading
import time

import harness as h
from harness import check, encode_frame, OP_BINARY

TARGET = 200 * h.MiB
RSS_LIMIT_KIB = 64 * 1024
BLOCK = os.urandom(65536)


def gate(backends=None, routes=None):
    return h.start_wsgate(h.config(
        routes or [h.ECHO_ROUTE], backends,
        {"buffer_high_watermark": "1MiB", "max_message": "16MiB",
         "close_timeout": "1s"}))


def flood_handler(c, server):
    """Sends BLOCK repeatedly, up to TARGET bytes, counting what went out."""
    server.state["sent"] = 0
    c.settimeout(0.5)
    while server.state["sent"] < TARGET and not server.stopping.is_set():
        try:
            n = c.send(BLOCK)
        except socket.timeout:
            continue
        except OSError:
            return
        server.state["sent"] += n
        if n < len(BLOCK):
            # Keep the stream a clean repetition of BLOCK.
            rest = BLOCK[n:]
            server.state["sent"] += h.send_all(c, server, rest)


def check_pattern(data, offset=0):
    """data is the stream BLOCK*inf starting at offset."""
    i = 0
    while i < len(data):
        pos = (offset + i) % len(BLOCK)
        n = min(len(BLOCK) - pos, len(data) - i)
        if data[i:i + n] != BLOCK[pos:pos + n]:
            raise h.TestFailure("stream corrupted near byte %d" % (offset + i))
        i += n


def test_backend_blocked_when_client_stops_reading():
    srv = h.TcpServer(flood_handler)
    gw = gate({"flood": h.tcp_backend(srv.port)},
              [{"match": {"path": "/tcp"}, "backend": "flood"}])
    ws = h.ws_connect_raw(gw.port, path="/tcp")
    # The client now reads nothing at all.
    h.wait_until(lambda: srv.state.get("sent", 0) > 0, 10,
                 what="the backend to start sending")
    time.sleep(3.0)
    rss = gw.rss_kib()
    sent = srv.state["sent"]
    print("    client not reading: wsgate VmRSS %d KiB, backend sent "
          "%.1f MiB of %d MiB" % (rss, sent / h.MiB, TARGET // h.MiB))
    check(rss < RSS_LIMIT_KIB, "wsgate RSS %d KiB >= %d KiB"
          % (rss, RSS_LIMIT_KIB))
    check(sent < TARGET // 2, "backend sent %.1f MiB to a client that reads "
          "nothing: no backpressure" % (sent / h.MiB))
    # Now the client reads again: data flows, intact and in order.
    got = bytearray()
    deadline = time.monotonic() + 30
    while len(got) < 16 * h.MiB:
        check(time.monotonic() < deadline, "only %d bytes read after "
              "resuming" % len(got))
        f = ws.read_frame(timeout=10)
        if f.opcode in (h.OP_PING, h.OP_PONG):
            continue
        check(f.opcode in (OP_BINARY, h.OP_CONT), "frame %r" % f)
        got.extend(f.payload)
    check_pattern(bytes(got))
    h.wait_until(lambda: srv.state["sent"] > sent + 4 * h.MiB, 10,
                 what="the backend to be unblocked")
    print("    after resuming: read %.1f MiB, RSS %d KiB"
          % (len(got) / h.MiB, gw.rss_kib()))


def test_client_blocked_when_backend_stops_reading():
    release = threading.Event()
    received = {"n": 0}

    def lazy_handler(c, server):
        while not release.is_set() and not server.stopping.is_set():
            time.sleep(0.05)
        while True:
            d = h.recv_some(c, server)
            if not d:
                return
            received["n"] += len(d)

    srv = h.TcpServer(lazy_handler)
    gw = gate({"lazy": h.tcp_backend(srv.port)},
              [{"match": {"path": "/tcp"}, "backend": "lazy"}])
    ws = h.ws_connect_raw(gw.port, path="/tcp")
    frame = encode_frame(OP_BINARY, BLOCK)
    sent = {"n": 0}
    stop = threading.Event()

    def flood():
        ws.sock.settimeout(0.5)
        while sent["n"] < TARGET and not stop.is_set():
            try:
                ws.sock.sendall(frame)
            except socket.timeout:
                # sendall may have sent part of the frame: give up on
                # framing, the test only counts what could be pushed.
                return
            except OSError:
                return
            sent["n"] += len(BLOCK)

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    h.on_cleanup(lambda: (stop.set(), t.join(5)))
    time.sleep(3.0)
    rss = gw.rss_kib()
    n = sent["n"]
    print("    backend not reading: wsgate VmRSS %d KiB, client pushed "
          "%.1f MiB" % (rss, n / h.MiB))
    check(rss < RSS_LIMIT_KIB, "wsgate RSS %d KiB >= %d KiB"
          % (rss, RSS_LIMIT_KIB))
    check(n < TARGET // 2, "client pushed %.1f MiB to a backend that reads "
          "nothing: no backpressure" % (n / h.MiB))
    release.set()
    h.wait_until(lambda: received["n"] >= min(n, 4 * h.MiB), 15,
                 what="the backend to receive data after it starts reading")


def test_echo_client_that_never_reads():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    frame = encode_frame(OP_BINARY, BLOCK)
    sent = {"n": 0, "blocked": False}
    stop = threading.Event()

    def flood():
        ws.sock.settimeout(0.5)
        while sent["n"] < TARGET and not stop.is_set():
            try:
                ws.sock.sendall(frame)
            except socket.timeout:
                sent["blocked"] = True
                return
            except OSError:
                return
            sent["n"] += len(BLOCK)

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    h.on_cleanup(lambda: (stop.set(), t.join(5)))
    time.sleep(3.0)
    rss = gw.rss_kib()
    print("    echo, client not reading: wsgate VmRSS %d KiB, client pushed "
          "%.1f MiB" % (rss, sent["n"] / h.MiB))
    check(rss < RSS_LIMIT_KIB, "wsgate RSS %d KiB >= %d KiB"
          % (rss, RSS_LIMIT_KIB))
    check(sent["n"] < TARGET // 2, "client pushed %.1f MiB without reading "
          "any echo: no backpressure" % (sent["n"] / h.MiB))
    check(gw.alive(), "wsgate died")


if __name__ == "__main__":
    h.main(globals())
