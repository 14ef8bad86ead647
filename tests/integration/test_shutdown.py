"""Shutdown (DESIGN.md "Operations" and "Frame rules"): on SIGTERM wsgate
stops accepting, sends close 1001 to every connected client, and exits 0
once the close handshakes are done; with no clients it simply exits 0."""

import signal

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


if __name__ == "__main__":
    h.main(globals())
