"""Opening handshake (RFC 6455 §4, DESIGN.md "Handshake responses"): a
valid Upgrade gets 101 with the right Sec-WebSocket-Accept, a selected
subprotocol only when one matches, never an extension; every malformed or
disallowed request gets the documented error status (400, 403, 404, 405,
426, 431) as a well-formed text/plain response with Connection: close,
after which the server closes; routes match on host (case-insensitive,
port ignored) and path; a stalled head is closed after
handshake_timeout; frames sent right behind the request are served."""

import base64
import socket
import time

import harness as h
from harness import check, OP_TEXT, OP_BINARY


def gate(**limits):
    """wsgate with an echo route, an Origin-restricted host route and a
    TCP echo route offering subprotocols."""
    srv = h.tcp_echo_server()
    lim = {"handshake_timeout": "2s", "max_request_head": "8KiB",
           "close_timeout": "1s"}
    lim.update(limits)
    routes = [
        {"match": {"host": "chat.example", "path_exact": "/x"},
         "origins": ["https://chat.example"], "backend": "echo"},
        {"match": {"path": "/echo"}, "backend": "echo"},
        {"match": {"path": "/tcp"}, "backend": "tcpecho",
         "subprotocols": ["binary", "base64"]},
    ]
    return h.start_wsgate(h.config(routes, {"tcpecho": h.tcp_backend(
        srv.port)}, lim))


def req(gw, **kw):
    return h.http_request(gw.port, h.ws_request(**kw))


def expect_status(gw, code, **kw):
    """Sends a request built by ws_request(**kw), expects error code."""
    return h.expect_error(req(gw, **kw), code)


def echo_works(ws, text="hello"):
    ws.send_frame(OP_TEXT, text)
    op, data = ws.read_message()
    check((op, data) == (OP_TEXT, text.encode()),
          "echo after handshake: got %r %r" % (op, data))


def test_accept_key_rfc_example():
    check(h.accept_key("dGhlIHNhbXBsZSBub25jZQ==")
          == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "harness accept_key is wrong")
    gw = gate()
    ws = h.ws_connect_raw(gw.port, key="dGhlIHNhbXBsZSBub25jZQ==")
    check(ws.response.header("Sec-WebSocket-Accept")
          == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455 example key")


def test_success_response_headers():
    gw = gate()
    ws = h.ws_connect_raw(gw.port)
    r = ws.response
    check(r.status == 101, r.status_line)
    check(r.tokens("Upgrade") == ["websocket"],
          "Upgrade header: %r" % r.header_all("Upgrade"))
    check("upgrade" in r.tokens("Connection"),
          "Connection header: %r" % r.header_all("Connection"))
    check(r.header_all("Sec-WebSocket-Protocol") == [],
          "Sec-WebSocket-Protocol sent although none was offered")
    check(r.header_all("Sec-WebSocket-Extensions") == [],
          "Sec-WebSocket-Extensions sent although none was offered")
    check(r.rest == b"", "bytes after the 101 head: %r" % r.rest)
    echo_works(ws)


def test_extensions_are_declined():
    gw = gate()
    ws = h.ws_connect_raw(gw.port, extra=[
        ("Sec-WebSocket-Extensions",
         "permessage-deflate; client_max_window_bits"),
        ("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")])
    check(ws.response.header_all("Sec-WebSocket-Extensions") == [],
          "extension accepted: %r"
          % ws.response.header_all("Sec-WebSocket-Extensions"))
    echo_works(ws)


def subprotocol_of(gw, path, offers):
    extra = [("Sec-WebSocket-Protocol", o) for o in offers]
    ws = h.ws_connect_raw(gw.port, path=path, extra=extra)
    vals = ws.response.header_all("Sec-WebSocket-Protocol")
    check(len(vals) <= 1, "several Sec-WebSocket-Protocol headers: %r"
          % vals)
    ws.close()
    return vals[0] if vals else None


def test_subprotocol_selection():
    gw = gate()
    cases = [
        ("/tcp", ["base64, binary"], "base64"),
        ("/tcp", ["binary, base64"], "binary"),
        ("/tcp", ["chat, binary"], "binary"),
        ("/tcp", ["chat"], None),
        ("/tcp", [], None),
        ("/echo", ["binary"], None),
    ]
    bad = []
    for path, offers, want in cases:
        got = subprotocol_of(gw, path, offers)
        if got != want:
            bad.append("%s offering %r: selected %r, expected %r"
                       % (path, offers, got, want))
    check(not bad, "; ".join(bad))


def test_subprotocol_offer_in_repeated_headers():
    # RFC 7230 §3.2.2: repeated list headers are one comma-separated list.
    gw = gate()
    got = subprotocol_of(gw, "/tcp", ["chat", "base64"])
    check(got == "base64", "offer split over two headers: selected %r" % got)


def test_token_lists_are_case_insensitive():
    gw = gate()
    variants = [
        [("Upgrade", "WebSocket"), ("Connection", "keep-alive, Upgrade")],
        [("Upgrade", "websocket"), ("Connection", "UPGRADE")],
        [("Upgrade", "websocket"), ("Connection", "Upgrade,keep-alive")],
    ]
    for hdrs in variants:
        key = h.new_key()
        base = [("Host", "127.0.0.1"), ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", "13")]
        r = h.http_request(gw.port, h.ws_request(headers=base + hdrs))
        check(r.status == 101, "%r: got %r" % (hdrs, r.status_line))
        check(r.header("Sec-WebSocket-Accept") == h.accept_key(key),
              "%r: bad accept" % hdrs)


def test_header_names_are_case_insensitive():
    gw = gate()
    key = h.new_key()
    hdrs = [("host", "127.0.0.1"), ("UPGRADE", "websocket"),
            ("connection", "upgrade"), ("sec-websocket-key", key),
            ("SEC-WEBSOCKET-VERSION", "13")]
    r = h.http_request(gw.port, h.ws_request(headers=hdrs))
    check(r.status == 101, "lower/upper-case header names: %r"
          % r.status_line)
    check(r.header("Sec-WebSocket-Accept") == h.accept_key(key), "accept")


def test_method_not_get_is_405():
    gw = gate()
    for method in ("POST", "PUT", "DELETE"):
        r = expect_status(gw, 405, method=method,
                          extra=[("Content-Length", "0")])
        allow = r.header("Allow")
        check(allow is not None and allow.replace(" ", "").upper() == "GET",
              "%s: Allow header %r" % (method, allow))


def test_no_route_is_404():
    gw = gate()
    expect_status(gw, 404, path="/nothing")
    expect_status(gw, 404, path="/")


def test_plain_get_is_426():
    gw = gate()
    r = expect_status(gw, 426, headers=[("Host", "127.0.0.1")])
    check(r.tokens("Upgrade") == ["websocket"],
          "426 without 'Upgrade: websocket': %r" % r.headers)


def test_upgrade_to_other_protocol_is_400():
    gw = gate()
    expect_status(gw, 400, headers=[
        ("Host", "127.0.0.1"), ("Connection", "Upgrade, HTTP2-Settings"),
        ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")])
    expect_status(gw, 400, omit=("upgrade",), extra=[("Upgrade", "h2c")])


def test_connection_without_upgrade_token_is_400():
    gw = gate()
    expect_status(gw, 400, omit=("connection",),
                  extra=[("Connection", "keep-alive")])
    expect_status(gw, 400, omit=("connection",))
    expect_status(gw, 400, omit=("connection",),
                  extra=[("Connection", "upgraded")])


def test_bad_version_is_426():
    gw = gate()
    for extra in ([], [("Sec-WebSocket-Version", "8")],
                  [("Sec-WebSocket-Version", "14")]):
        r = expect_status(gw, 426, omit=("sec-websocket-version",),
                          extra=extra)
        check(r.header("Sec-WebSocket-Version") == "13",
              "version %r: 426 lacks 'Sec-WebSocket-Version: 13': %r"
              % (extra, r.headers))


def test_bad_key_is_400():
    gw = gate()
    keys = [None, "", "not base64 at all!",
            base64.b64encode(b"x" * 15).decode(),
            base64.b64encode(b"x" * 17).decode(),
            "dGhlIHNhbXBsZSBub25jZQ=",       # truncated padding
            "dGhlIHNhbXBsZSBub25jZQ==dGhl"]  # trailing garbage
    for k in keys:
        extra = [] if k is None else [("Sec-WebSocket-Key", k)]
        try:
            expect_status(gw, 400, omit=("sec-websocket-key",), extra=extra)
        except h.TestFailure as e:
            raise h.TestFailure("key %r: %s" % (k, e))


def test_duplicate_critical_headers_are_400():
    gw = gate()
    expect_status(gw, 400, extra=[("Host", "127.0.0.1")])
    expect_status(gw, 400, extra=[("Host", "other.example")])
    expect_status(gw, 400, extra=[("Sec-WebSocket-Key", h.new_key())])
    expect_status(gw, 400, extra=[("Sec-WebSocket-Version", "13")])


def test_http_1_0_is_400():
    gw = gate()
    expect_status(gw, 400, version="HTTP/1.0")


def test_missing_host_is_400():
    gw = gate()
    expect_status(gw, 400, omit=("host",))


def test_head_over_limit_is_431():
    gw = gate()
    # One long header: the head is about 9000 bytes, the limit 8 KiB.
    expect_status(gw, 431, extra=[("X-Big", "a" * 9000)])
    # Many small headers adding up.
    expect_status(gw, 431, extra=[("X-H%03d" % i, "b" * 40)
                                  for i in range(200)])
    # Just under the limit is fine.
    ws = h.ws_connect_raw(gw.port, extra=[("X-Big", "c" * 7000)])
    echo_works(ws)


def test_bare_lf_is_400():
    gw = gate()
    expect_status(gw, 400, eol="\n")
    # One header line ending in a bare LF among CRLF lines.
    data = h.ws_request().replace(b"\r\nUpgrade:", b"\nUpgrade:")
    h.expect_error(h.http_request(gw.port, data), 400)


def test_obs_fold_is_400():
    gw = gate()
    data = h.ws_request(extra=[("X-Folded", "first")]).replace(
        b"X-Folded: first\r\n", b"X-Folded: first\r\n second\r\n")
    h.expect_error(h.http_request(gw.port, data), 400)
    data = h.ws_request().replace(b"Connection: Upgrade\r\n",
                                  b"Connection:\r\n\tUpgrade\r\n")
    h.expect_error(h.http_request(gw.port, data), 400)


def test_malformed_request_is_400():
    gw = gate()
    good = h.ws_request().decode("latin-1")
    first, rest = good.split("\r\n", 1)
    cases = [
        ("request line without version", "GET /echo\r\n" + rest),
        ("request line with extra field",
         "GET /echo HTTP/1.1 extra\r\n" + rest),
        ("header line without colon",
         first + "\r\nX-No-Colon\r\n" + rest),
        ("space before the colon",
         first + "\r\nX-Space : v\r\n" + rest),
        ("empty header name", first + "\r\n: v\r\n" + rest),
        ("control character in a header value",
         first + "\r\nX-Ctl: a\x00b\r\n" + rest),
    ]
    bad = []
    for what, text in cases:
        try:
            h.expect_error(h.http_request(gw.port, text.encode("latin-1")),
                           400)
        except h.TestFailure as e:
            bad.append("%s: %s" % (what, e))
    check(not bad, "\n  ".join(bad))


def test_origin_policy():
    gw = gate()
    ws = h.ws_connect_raw(gw.port, path="/x", host="chat.example",
                          extra=[("Origin", "https://chat.example")])
    echo_works(ws)
    expect_status(gw, 403, path="/x", host="chat.example",
                  extra=[("Origin", "https://evil.example")])
    expect_status(gw, 403, path="/x", host="chat.example")
    # Routes without an origins list accept any Origin.
    ws = h.ws_connect_raw(gw.port, extra=[("Origin", "https://any.example")])
    echo_works(ws)


def test_host_route_matching():
    gw = gate()
    origin = [("Origin", "https://chat.example")]
    ws = h.ws_connect_raw(gw.port, path="/x", host="CHAT.Example:8080",
                          extra=origin)
    echo_works(ws)
    expect_status(gw, 404, path="/x", host="other.example", extra=origin)
    expect_status(gw, 404, path="/x/y", host="chat.example", extra=origin)


def test_first_matching_route_wins():
    dead = h.free_port()
    routes = [
        {"match": {"path": "/first"}, "backend": "echo"},
        {"match": {"path": "/first"}, "backend": "dead"},
        {"match": {"path": "/second"}, "backend": "dead"},
        {"match": {"path": "/"}, "backend": "echo"},
    ]
    gw = h.start_wsgate(h.config(routes, {"dead": h.tcp_backend(dead)},
                                 {"close_timeout": "1s"}))
    echo_works(h.ws_connect_raw(gw.port, path="/first"))
    echo_works(h.ws_connect_raw(gw.port, path="/first/room/1"))
    h.expect_error(h.http_request(gw.port, h.ws_request(path="/second")), 502)
    echo_works(h.ws_connect_raw(gw.port, path="/third"))


def test_path_match_ignores_query():
    gw = gate()
    ws = h.ws_connect_raw(gw.port, path="/echo?token=secret")
    echo_works(ws)
    ws = h.ws_connect_raw(gw.port, path="/x?room=1", host="chat.example",
                          extra=[("Origin", "https://chat.example")])
    echo_works(ws)


def test_stalled_head_is_closed_after_handshake_timeout():
    gw = gate(handshake_timeout="1s")
    half = h.connect(gw.port, timeout=15)
    half.sendall(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr")
    silent = h.connect(gw.port, timeout=15)
    for name, s in (("half head", half), ("nothing sent", silent)):
        got = h.read_to_eof(s, timeout=15)
        check(got == b"" or got.startswith(b"HTTP/1.1 408 "),
              "%s: expected close or 408, got %r" % (name, got[:200]))


def test_trickled_head_is_closed_after_handshake_timeout():
    # The timeout bounds the whole head, not the gap between reads.
    gw = gate(handshake_timeout="1s")
    s = h.connect(gw.port, timeout=15)
    data = h.ws_request(extra=[("X-Slow", "s" * 200)])
    deadline = time.monotonic() + 15
    closed = False
    got = b""
    for i in range(len(data) - 2):
        if time.monotonic() > deadline:
            break
        try:
            s.sendall(data[i:i + 1])
        except OSError:
            closed = True
            break
        s.settimeout(0.2)
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        got += chunk
        if b"\r\n\r\n" in got:
            got = h.read_to_eof(s, 10, got)
            closed = True
            break
    check(closed, "connection still open after trickling the head for 15s")
    check(got == b"" or got.startswith(b"HTTP/1.1 408 "),
          "expected close or 408, got %r" % got[:200])


def test_frame_right_behind_request():
    # DESIGN.md: client bytes that arrive before the 101 are held and parsed
    # as frames once the upgrade is done.
    gw = gate()
    key = h.new_key()
    s = h.connect(gw.port)
    s.sendall(h.ws_request(key=key)
              + h.encode_frame(OP_BINARY, b"\x00early\xff"))
    r = h.read_response(s)
    check(r.status == 101, r.status_line)
    ws = h.RawWS(s, r.rest)
    op, data = ws.read_message()
    check((op, data) == (OP_BINARY, b"\x00early\xff"),
          "pipelined frame: got %r %r" % (op, data))


if __name__ == "__main__":
    h.main(globals())
