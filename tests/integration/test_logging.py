"""Logging (DESIGN.md "Operations"): every connection ends with an access
log line naming the client address, the path, the status and the close
code; rejected handshakes are logged with their status; query strings
(where tokens live) are redacted by default and never reach the log."""

import re

import harness as h
from harness import check, OP_CLOSE, OP_TEXT, close_payload


def gate():
    return h.start_wsgate(h.config([h.ECHO_ROUTE],
                                   limits={"close_timeout": "1s"}))


def client_line(gw, sock, timeout=10):
    """The first log line naming this client's address:port after it
    finished (access line)."""
    cport = sock.getsockname()[1]
    rx = re.compile(r"^.*\b127\.0\.0\.1:%d\b.*$" % cport, re.M)
    return rx, cport


def test_access_line_per_connection():
    gw = gate()
    ws = h.ws_connect_raw(gw.port, path="/echo")
    rx, cport = client_line(gw, ws.sock)
    ws.send_frame(OP_TEXT, "logged")
    ws.read_message()
    ws.send_frame(OP_CLOSE, close_payload(1000))
    ws.expect_close(1000, skip_data=False)
    ws.expect_eof()
    want = re.compile(r"^.*\b127\.0\.0\.1:%d\b(?=.*/echo)(?=.*\b101\b)"
                      r"(?=.*\b1000\b).*$" % cport, re.M)
    try:
        gw.wait_log(want, timeout=10)
    except h.TestFailure:
        raise h.TestFailure("no log line with client 127.0.0.1:%d, path "
                            "/echo, status 101 and close code 1000; lines "
                            "naming the client: %r"
                            % (cport, rx.findall(gw.log())))


def test_rejected_handshake_is_logged():
    gw = gate()
    r = h.http_request(gw.port, h.ws_request(path="/nowhere"))
    cport = r.sock.getsockname()[1]
    h.expect_error(r, 404)
    want = re.compile(r"^.*\b127\.0\.0\.1:%d\b(?=.*\b404\b).*$" % cport,
                      re.M)
    gw.wait_log(want, timeout=10)


def test_query_string_is_redacted():
    gw = gate()
    secret = "s3cr3t-t0ken-value"
    ws = h.ws_connect_raw(gw.port, path="/echo?token=" + secret)
    rx, cport = client_line(gw, ws.sock)
    ws.send_frame(OP_CLOSE, close_payload(1000))
    ws.expect_close(1000, skip_data=False)
    ws.expect_eof()
    r = h.http_request(gw.port, h.ws_request(path="/nowhere?key=" + secret))
    h.expect_error(r, 404)
    # Wait for the access line of the upgraded connection, then look.
    gw.wait_log(re.compile(r"^.*\b127\.0\.0\.1:%d\b(?=.*\b1000\b).*$"
                           % cport, re.M), timeout=10)
    check(secret not in gw.log(), "query string value logged: %r"
          % [l for l in gw.log().splitlines() if secret in l])


if __name__ == "__main__":
    h.main(globals())
