"""Backend connect failures become HTTP errors before any 101 (DESIGN.md
"The path of one connection", step 4): a refused TCP backend gives 502
(also when every server of the pool refuses), a backend that never
completes the TCP handshake gives 504 after connect_timeout, the failure
is logged with its reason, and a connection waiting for a slow backend
does not hold up other clients."""

import re
import time

import harness as h
from harness import check, OP_TEXT


def gate(servers, connect_timeout="1s"):
    routes = [
        {"match": {"path": "/tcp"}, "backend": "svc"},
        {"match": {"path": "/echo"}, "backend": "echo"},
    ]
    backends = {"svc": h.tcp_backend(*servers,
                                     connect_timeout=connect_timeout)}
    return h.start_wsgate(h.config(routes, backends,
                                   {"handshake_timeout": "10s",
                                    "close_timeout": "1s"}))


def test_refused_backend_is_502():
    gw = gate([h.free_port()])
    r = h.http_request(gw.port, h.ws_request(path="/tcp"))
    h.expect_error(r, 502)


def test_every_server_refused_is_502_then_503():
    """Every server refuses: 502.  With the default passive health
    (fail_threshold 1, fail_timeout 10s) they now rest, so the next
    clients get 503 without a connect being tried."""
    gw = gate([h.free_port(), h.free_port()])
    r = h.http_request(gw.port, h.ws_request(path="/tcp"))
    h.expect_error(r, 502)
    for _ in range(2):
        r = h.http_request(gw.port, h.ws_request(path="/tcp"))
        h.expect_error(r, 503)


def test_connect_timeout_is_504():
    port = h.blackhole_listener()
    gw = gate([port], connect_timeout="1s")
    r = h.http_request(gw.port, h.ws_request(path="/tcp"), timeout=15)
    h.expect_error(r, 504)


def test_slow_backend_does_not_block_others():
    port = h.blackhole_listener()
    gw = gate([port], connect_timeout="2s")
    slow = h.connect(gw.port, timeout=15)
    slow.sendall(h.ws_request(path="/tcp"))
    time.sleep(0.2)  # let wsgate start connecting (not a pass criterion)
    ws = h.ws_connect_raw(gw.port)
    ws.send_frame(OP_TEXT, "not blocked")
    check(ws.read_message() == (OP_TEXT, b"not blocked"),
          "echo while a backend connect is pending")
    h.expect_error(h.read_response(slow, timeout=15), 504)


def test_backend_failure_is_logged():
    dead = h.free_port()
    gw = gate([dead])
    start = len(gw.log())
    h.expect_error(h.http_request(gw.port, h.ws_request(path="/tcp")), 502)
    m = gw.wait_log(re.compile(r"(?i)refused"), timeout=5, start=start)
    check(m, "no log line giving the reason (connection refused)")
    # The access line names the server that failed.
    gw.wait_log(r'access: .* backend=svc server=127\.0\.0\.1:%d status=502'
                % dead, timeout=5, start=start)


if __name__ == "__main__":
    h.main(globals())
