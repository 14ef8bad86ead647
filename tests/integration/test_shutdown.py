"""Shutdown (DESIGN.md "Operations" and "Frame rules"): on SIGTERM wsgate
stops accepting, sends close 1001 to every connected client, a close
frame to a websocket backend and a FIN to a tcp backend, and exits 0
once the close handshakes are done; with no clients it simply exits 0;
a client that never answers holds it up to shutdown_timeout only."""

import signal
import time

import harness as h
from harness import check, OP_TEXT, OP_CLOSE, close_payload


def gate():
    return h.start_wsgate(h.config([h.ECHO_ROUTE],
                                   limits={"close_timeout": "2s"}))


def test_sigterm_without_clients_exits_0():
    gw = gate()
    gw.signal(signal.SIGTERM)
    rc = gw.wait_exit(10)
    check(rc == 0, "exit status %r after SIGTERM" % rc)


def test_sigterm_sends_1001_to_clients():
    gw = gate()
    clients = [h.ws_connect_raw(gw.port) for _ in range(3)]
    for i, ws in enumerate(clients):
        ws.send_frame(OP_TEXT, "hi %d" % i)
        check(ws.read_message() == (OP_TEXT, b"hi %d" % i), "echo")
    gw.signal(signal.SIGTERM)
    for ws in clients:
        ws.expect_close(1001, timeout=10, skip_data=False)
        ws.send_frame(OP_CLOSE, close_payload(1001))
        ws.expect_eof(timeout=10)
    rc = gw.wait_exit(10)
    check(rc == 0, "exit status %r after SIGTERM" % rc)


def test_backends_hear_of_the_shutdown():
    tcp_seen = []

    def tcp_handler(c, server):
        c.settimeout(10)
        try:
            while c.recv(4096):
                pass
            tcp_seen.append("eof")      # wsgate's FIN
        except OSError as e:
            tcp_seen.append(repr(e))

    tcp = h.TcpServer(tcp_handler)
    ws_srv = h.raw_ws_backend()
    gw = h.start_wsgate(h.config(
        [{"match": {"path": "/tcp"}, "backend": "svc"},
         {"match": {"path": "/ws"}, "backend": "app"}],
        {"svc": h.tcp_backend(tcp.port), "app": h.ws_backend(ws_srv.port)},
        limits={"close_timeout": "2s"}))
    a = h.ws_connect_raw(gw.port, path="/tcp")
    b = h.ws_connect_raw(gw.port, path="/ws")
    b.send_frame(OP_TEXT, "before")
    check(b.read_message() == (OP_TEXT, b"before"), "ws echo")
    gw.signal(signal.SIGTERM)
    for ws in (a, b):
        ws.expect_close(1001, timeout=10, skip_data=False)
        ws.send_frame(OP_CLOSE, close_payload(1001))
    check(gw.wait_exit(15) == 0, "exit status")
    h.wait_until(lambda: tcp_seen, 10, what="the tcp backend's EOF")
    check(tcp_seen == ["eof"], "tcp backend saw %r" % tcp_seen)
    h.wait_until(lambda: close_codes(ws_srv), 10,
                 what="a close frame at the websocket backend")
    check(close_codes(ws_srv) == [1001], "websocket backend got closes %r"
          % close_codes(ws_srv))


def close_codes(srv):
    """Close codes in the masked frames wsgate sent a raw backend (the
    101's request head comes first and is skipped)."""
    codes = []
    for data in srv.state.get("bytes", []):
        buf = bytes(data)
        buf = buf[buf.find(b"\r\n\r\n") + 4:] if b"\r\n\r\n" in buf else b""
        while len(buf) >= 6:
            op, n = buf[0] & 0x0F, buf[1] & 0x7F
            off = 2
            if n == 126:
                n, off = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                n, off = int.from_bytes(buf[2:10], "big"), 10
            key, payload = buf[off:off + 4], buf[off + 4:off + 4 + n]
            if len(payload) < n:
                break
            payload = h.xor_mask(payload, key)
            if op == 0x8 and len(payload) >= 2:
                codes.append(int.from_bytes(payload[:2], "big"))
            buf = buf[off + 4 + n:]
    return codes


def test_shutdown_timeout_bounds_a_silent_client():
    gw = h.start_wsgate(h.config([h.ECHO_ROUTE],
                                 limits={"close_timeout": "30s",
                                         "shutdown_timeout": "1s"}))
    ws = h.ws_connect_raw(gw.port)      # will never answer the close
    t0 = time.monotonic()
    gw.signal(signal.SIGTERM)
    ws.expect_close(1001, timeout=10, skip_data=False)
    rc = gw.wait_exit(20)
    check(rc == 0, "exit status %r" % rc)
    gw.wait_log(r"shutdown: 1 sessions still open, exiting", 5)
    print("    exited %.1fs after SIGTERM (shutdown_timeout 1s, "
          "close_timeout 30s)" % (time.monotonic() - t0))


if __name__ == "__main__":
    h.main(globals())
