"""WebSocket backends (type: websocket, nginx style), the opening
handshake (DESIGN.md "The path of one connection" step 4, "Headers
towards WebSocket backends"): wsgate sends its own GET with a fresh
Sec-WebSocket-Key and version 13, the client's path and query (rewritten
by strip_prefix and the backend's path), Host (or the backend's host),
end-to-end headers; it drops hop-by-hop headers, the headers named by
Connection and Sec-WebSocket-Extensions, and replaces the client's
X-Forwarded-* / Forwarded with its own.  Subprotocol offers are forwarded
(filtered by the route) and the backend's choice reaches the client, as
do other end-to-end headers of the backend's 101 (Set-Cookie).  A STOMP
style python backend checks what it receives.  A backend's refusal (401,
403, 404, 426, a 60 KiB body) is passed to the client and both
connections close; a malformed 101 (wrong accept, missing headers,
unoffered subprotocol, an extension, garbage, no answer) is 502; a backend
that never answers is 504 after handshake_timeout; a refused connect is
502; unix socket servers work; the Origin policy `same` is applied before
any backend connect."""

import base64
import os
import re
import tempfile
import time

import websockets

import harness as h
from harness import check, within, ws_client, OP_TEXT


def gate(backends, routes, **limits):
    lim = {"close_timeout": "2s"}
    lim.update(limits)
    return h.start_wsgate(h.config(routes, backends, lim))


def ws_gate(*servers, route=None, limits=None, **backend_opts):
    """One websocket backend "app" behind the prefix route /ws."""
    r = {"match": {"path": "/ws"}, "backend": "app"}
    r.update(route or {})
    return gate({"app": h.ws_backend(*servers, **backend_opts)}, [r],
                **(limits or {}))


def echo_raw(gw, path="/ws", msg="hello", **kw):
    """Raw upgrade through wsgate, one text echo, clean close; returns the
    client's 101 response."""
    ws = h.ws_connect_raw(gw.port, path=path, **kw)
    ws.send_frame(OP_TEXT, msg)
    got = ws.read_message(timeout=10)
    check(got == (OP_TEXT, msg.encode()), "echo through the websocket "
          "backend: %r" % (got,))
    ws.send_frame(h.OP_CLOSE, h.close_payload(1000))
    ws.expect_close(1000)
    ws.close()
    return ws.response


def only_request(srv, n=1):
    reqs = h.backend_requests(srv)
    check(len(reqs) == n, "backend received %d handshake requests, "
          "expected %d: %r" % (len(reqs), n, reqs))
    return reqs[-1]


def parse_forwarded(value):
    """RFC 7239 Forwarded: list of dicts (lower-case keys, unquoted)."""
    out = []
    for elem in value.split(","):
        d = {}
        for pair in elem.split(";"):
            pair = pair.strip()
            if not pair:
                continue
            check("=" in pair, "bad Forwarded pair %r in %r" % (pair, value))
            k, v = pair.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                v = v[1:-1].replace('\\"', '"')
            d[k.strip().lower()] = v
        out.append(d)
    return out


# --- the upstream request -------------------------------------------------

def test_echo_and_own_key_per_connection():
    srv = h.start_ws_server()
    gw = ws_gate(srv.port)
    key = h.new_key()
    for i in range(2):      # the same client key twice
        r = echo_raw(gw, msg="echo %d" % i, key=key)
        check(r.header("Sec-WebSocket-Protocol") is None,
              "client 101 names a subprotocol nobody chose: %r" % r.headers)
        check(r.header("Sec-WebSocket-Extensions") is None,
              "client 101 names an extension: %r" % r.headers)
    reqs = h.backend_requests(srv)
    check(len(reqs) == 2, "backend got %d handshakes" % len(reqs))
    keys = []
    for req in reqs:
        check(req.method == "GET", "method %r" % req.method)
        k = req.header("Sec-WebSocket-Key")
        check(k is not None and k != key,
              "backend got the client's Sec-WebSocket-Key %r" % k)
        try:
            raw = base64.b64decode(k, validate=True)
        except Exception:
            raw = b""
        check(len(raw) == 16, "backend key %r is not base64 of 16 bytes" % k)
        keys.append(k)
        check(req.header("Sec-WebSocket-Version") == "13",
              "Sec-WebSocket-Version %r" % req.header("Sec-WebSocket-Version"))
        check("websocket" in req.tokens("Upgrade"),
              "Upgrade %r" % req.header_all("Upgrade"))
        check("upgrade" in req.tokens("Connection"),
              "Connection %r" % req.header_all("Connection"))
    check(keys[0] != keys[1], "the same Sec-WebSocket-Key %r for two "
          "connections: not fresh" % keys[0])
    h.check_backend_ok(srv)


async def test_python_client_text_and_binary():
    srv = h.start_ws_server()
    gw = ws_gate(srv.port)
    async with ws_client(gw, "/ws") as ws:
        for msg in ["plain", "héllo wörld € 😀", "", b"\x00\xff\x80",
                    os.urandom(70000), "x" * 200000]:
            await within(ws.send(msg), 10, "send")
            got = await within(ws.recv(), 10, "recv")
            check(type(got) is type(msg) and got == msg,
                  "echo of a %d-byte %s message differs"
                  % (len(msg), type(msg).__name__))
    check(srv.connections == 1, "backend connections: %d" % srv.connections)


def test_path_query_strip_prefix_and_backend_path():
    srv = h.start_ws_server()
    backends = {"plain": h.ws_backend(srv.port),
                "prefixed": h.ws_backend(srv.port, path="/app")}
    routes = [
        {"match": {"path": "/stomp"}, "backend": "plain",
         "strip_prefix": True},
        {"match": {"path": "/pfx"}, "backend": "prefixed",
         "strip_prefix": True},
        {"match": {"path": "/full"}, "backend": "prefixed"},
        {"match": {"path": "/keep"}, "backend": "plain"},
    ]
    gw = gate(backends, routes)
    cases = [
        ("/keep/a/b?x=1&y=%20z", "/keep/a/b?x=1&y=%20z"),
        ("/stomp/x?y=1", "/x?y=1"),
        ("/pfx/x?y=1", "/app/x?y=1"),
        ("/full/z?q=2", "/app/full/z?q=2"),
    ]
    bad = []
    for sent, want in cases:
        before = len(srv.paths())
        echo_raw(gw, path=sent)
        got = srv.paths()[before:]
        if got != [want]:
            bad.append("%s -> %r, expected %r" % (sent, got, want))
    check(not bad, "request targets at the backend:\n  " + "\n  ".join(bad))


def test_host_preserved_or_backend_host():
    srv = h.start_ws_server()
    backends = {"a": h.ws_backend(srv.port),
                "b": h.ws_backend(srv.port, host="backend.internal")}
    routes = [{"match": {"path": "/a"}, "backend": "a"},
              {"match": {"path": "/b"}, "backend": "b"}]
    gw = gate(backends, routes)
    echo_raw(gw, path="/a", host="chat.example.com:8080")
    req = only_request(srv, 1)
    check(req.header_all("Host") == ["chat.example.com:8080"],
          "without backend host: Host %r" % req.header_all("Host"))
    echo_raw(gw, path="/b", host="chat.example.com:8080")
    req = only_request(srv, 2)
    check(req.header_all("Host") == ["backend.internal"],
          "with host: backend.internal: Host %r" % req.header_all("Host"))
    check(req.header_all("X-Forwarded-Host") == ["chat.example.com:8080"],
          "X-Forwarded-Host should stay the client's Host: %r"
          % req.header_all("X-Forwarded-Host"))


def test_end_to_end_headers_forwarded():
    srv = h.start_ws_server()
    gw = ws_gate(srv.port)
    sent = [("Origin", "https://chat.example.com"),
            ("Cookie", "sid=abc123; theme=dark"),
            ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"),
            ("User-Agent", "it-client/1.0 (wsgate tests)"),
            ("X-Request-Id", "req-42"),
            ("X-Custom-Thing", "a, b; c=d")]
    echo_raw(gw, path="/ws/room?id=7", host="chat.example.com", extra=sent)
    req = only_request(srv)
    bad = []
    for n, v in sent:
        if req.header_all(n) != [v]:
            bad.append("%s: sent %r, backend got %r" % (n, v,
                                                         req.header_all(n)))
    check(not bad, "end-to-end headers:\n  " + "\n  ".join(bad))


def test_hop_by_hop_and_connection_named_headers_removed():
    srv = h.start_ws_server()
    gw = ws_gate(srv.port)
    extra = [("Connection", "Upgrade, X-Secret, X-Other"),
             ("Keep-Alive", "timeout=5"),
             ("TE", "trailers"),
             ("Trailer", "X-Checksum"),
             ("Proxy-Authorization", "Basic cHJveHk6czNjcmV0"),
             ("Proxy-Connection", "keep-alive"),
             ("X-Secret", "s3cret-value"),
             ("X-Other", "other-value"),
             ("X-Kept", "kept-value")]
    echo_raw(gw, omit=("connection",), extra=extra)
    req = only_request(srv)
    names = req.names()
    leaked = [n for n in ("keep-alive", "te", "trailer",
                          "proxy-authorization", "proxy-connection",
                          "x-secret", "x-other") if n in names]
    check(not leaked, "removed headers reached the backend: %s (%r)"
          % (leaked, req.headers))
    check(req.header_all("X-Kept") == ["kept-value"],
          "X-Kept (not named by Connection) %r" % req.header_all("X-Kept"))
    values = " ".join(v for _, v in req.headers)
    check("s3cret" not in values and "cHJveHk6" not in values,
          "a removed value shows up in another header: %r" % req.headers)
    check("x-secret" not in req.tokens("Connection"),
          "backend's Connection names the client's headers: %r"
          % req.header_all("Connection"))


def test_forwarding_headers_replaced_not_trusted():
    srv = h.start_ws_server()
    gw = ws_gate(srv.port)
    extra = [("X-Forwarded-For", "6.6.6.6"),
             ("X-Forwarded-Proto", "https"),
             ("X-Forwarded-Host", "evil.example"),
             ("Forwarded", "for=6.6.6.6;host=evil.example;proto=https")]
    echo_raw(gw, host="chat.example.com", extra=extra, source="127.0.0.2")
    req = only_request(srv)
    check(req.header_all("X-Forwarded-For") == ["127.0.0.2"],
          "X-Forwarded-For %r, expected ['127.0.0.2']"
          % req.header_all("X-Forwarded-For"))
    check(req.header_all("X-Forwarded-Proto") == ["http"],
          "X-Forwarded-Proto %r" % req.header_all("X-Forwarded-Proto"))
    check(req.header_all("X-Forwarded-Host") == ["chat.example.com"],
          "X-Forwarded-Host %r" % req.header_all("X-Forwarded-Host"))
    fwd = req.header_all("Forwarded")
    check(len(fwd) == 1, "Forwarded headers: %r" % fwd)
    elems = parse_forwarded(fwd[0])
    check(elems == [{"for": "127.0.0.2", "host": "chat.example.com",
                     "proto": "http"}],
          "Forwarded %r parses as %r" % (fwd[0], elems))
    values = " ".join(v for _, v in req.headers)
    check("6.6.6.6" not in values and "evil.example" not in values,
          "client-supplied forwarding values reached the backend: %r"
          % req.headers)


async def test_extensions_never_forwarded():
    srv = h.start_ws_server(compression="deflate")
    gw = ws_gate(srv.port)
    r = echo_raw(gw, extra=[("Sec-WebSocket-Extensions",
                             "permessage-deflate; client_max_window_bits")])
    check(r.header("Sec-WebSocket-Extensions") is None,
          "client 101 has an extension: %r" % r.headers)
    req = only_request(srv)
    check(req.header_all("Sec-WebSocket-Extensions") == [],
          "backend was offered extensions: %r"
          % req.header_all("Sec-WebSocket-Extensions"))
    # A client that offers compression still talks to the backend.
    async with ws_client(gw, "/ws", compression="deflate") as ws:
        check(not ws.extensions, "client negotiated %r" % ws.extensions)
        text = "compressible " * 1000
        await within(ws.send(text), 10, "send")
        check(await within(ws.recv(), 10, "recv") == text, "echo differs")
    check(h.backend_requests(srv)[-1].header_all(
        "Sec-WebSocket-Extensions") == [], "extensions forwarded")


# --- subprotocols -----------------------------------------------------------

def prefer_server_order(offers, available):
    for p in available:
        if p in offers:
            return p
    return None


async def test_subprotocol_offers_and_choice():
    srv = h.start_ws_server(subprotocols=["beta", "alpha"],
                            select_subprotocol=prefer_server_order)
    gw = ws_gate(srv.port)
    r = echo_raw(gw, extra=[("Sec-WebSocket-Protocol", "alpha, beta")])
    req = only_request(srv, 1)
    check(req.tokens("Sec-WebSocket-Protocol") == ["alpha", "beta"],
          "backend saw offers %r" % req.header_all("Sec-WebSocket-Protocol"))
    check(r.header("Sec-WebSocket-Protocol") == "beta",
          "client 101 Sec-WebSocket-Protocol %r, backend chose beta"
          % r.header("Sec-WebSocket-Protocol"))
    # No offer: none forwarded, none chosen.
    r = echo_raw(gw)
    req = only_request(srv, 2)
    check(req.header_all("Sec-WebSocket-Protocol") == [],
          "backend saw offers %r" % req.header_all("Sec-WebSocket-Protocol"))
    check(r.header("Sec-WebSocket-Protocol") is None,
          "client 101 names %r" % r.header("Sec-WebSocket-Protocol"))
    # Offered, but the backend chooses none: none for the client.
    r = echo_raw(gw, extra=[("Sec-WebSocket-Protocol", "gamma")])
    check(r.header("Sec-WebSocket-Protocol") is None,
          "client 101 names %r though the backend chose none"
          % r.header("Sec-WebSocket-Protocol"))
    async with ws_client(gw, "/ws", subprotocols=["alpha", "beta"]) as ws:
        check(ws.subprotocol == "beta", "python client got subprotocol %r"
              % ws.subprotocol)


def test_route_subprotocols_filter_offers():
    srv = h.start_ws_server(subprotocols=["v11.stomp", "v10.stomp", "chat"],
                            select_subprotocol=prefer_server_order)
    gw = ws_gate(srv.port, route={
        "subprotocols": ["v12.stomp", "v11.stomp", "v10.stomp"]})
    r = echo_raw(gw, extra=[("Sec-WebSocket-Protocol",
                             "chat, v10.stomp, mqtt, v11.stomp")])
    req = only_request(srv)
    got = req.tokens("Sec-WebSocket-Protocol")
    check(sorted(got) == ["v10.stomp", "v11.stomp"],
          "backend saw offers %r; the route allows only v1x.stomp" % got)
    check(r.header("Sec-WebSocket-Protocol") == "v11.stomp",
          "client 101 Sec-WebSocket-Protocol %r (backend chose v11.stomp)"
          % r.header("Sec-WebSocket-Protocol"))


STOMP_OFFERS = ["v12.stomp", "v11.stomp", "v10.stomp"]


def stomp_server(gw_port_box, origin, cookie, refusals):
    """A STOMP-flavoured backend: refuses (400, reason in the body and in
    refusals) a handshake whose forwarded headers are wrong, picks
    v12.stomp first among the offers, answers CONNECT with CONNECTED and
    echoes the rest."""
    def check_request(path, headers):
        problems = []

        def want(name, value):
            got = headers.get_all(name)
            if got != [value]:
                problems.append("%s %r != %r" % (name, got, value))
        host = "127.0.0.1:%d" % gw_port_box[0]
        want("Host", host)
        want("Origin", origin)
        want("Cookie", cookie)
        want("X-Forwarded-For", "127.0.0.1")
        want("X-Forwarded-Proto", "http")
        want("X-Forwarded-Host", host)
        for gone in ("Keep-Alive", "Proxy-Authorization",
                     "Sec-WebSocket-Extensions"):
            if headers.get_all(gone):
                problems.append("%s present: %r" % (gone,
                                                    headers.get_all(gone)))
        offers = [p.strip() for v in headers.get_all(
            "Sec-WebSocket-Protocol") for p in v.split(",")]
        if not offers or any(p not in STOMP_OFFERS for p in offers):
            problems.append("offers %r" % offers)
        if not path.startswith("/?client="):  # strip_prefix: /ws dropped
            problems.append("path %r" % path)
        if problems:
            refusals.append("; ".join(problems))
            return (400, [("Content-Type", "text/plain")],
                    ("; ".join(problems) + "\n").encode())
        return None

    async def handler(ws, server):
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("CONNECT\n"):
                ver = {"v12.stomp": "1.2", "v11.stomp": "1.1",
                       "v10.stomp": "1.0"}[ws.subprotocol]
                await ws.send("CONNECTED\nversion:%s\n\n\x00" % ver)
            else:
                await ws.send(msg)

    return h.start_ws_server(handler, process_request=check_request,
                             subprotocols=STOMP_OFFERS,
                             select_subprotocol=prefer_server_order)


async def test_stomp_backend_checks_forwarded_headers():
    box = [0]
    origin = "http://127.0.0.1:8080"
    cookie = "JSESSIONID=abc123"
    refusals = []
    srv = stomp_server(box, origin, cookie, refusals)
    gw = ws_gate(srv.port, route={"strip_prefix": True,
                                  "subprotocols": STOMP_OFFERS,
                                  "origins": "same"})
    box[0] = gw.port
    extra = {"Cookie": cookie, "Keep-Alive": "300",
             "Proxy-Authorization": "Basic eDp5",
             "X-Forwarded-For": "10.9.9.9"}
    for offers, want in [(["v10.stomp", "v11.stomp", "v12.stomp", "chat"],
                          "v12.stomp"),
                         (["chat", "v10.stomp"], "v10.stomp")]:
        try:
            ws = await within(ws_client(
                gw, "/ws?client=%d" % len(offers), origin=origin,
                subprotocols=offers, extra_headers=extra,
                compression="deflate"), 10, "connect")
        except websockets.exceptions.InvalidStatusCode as e:
            raise h.TestFailure("STOMP backend refused the handshake "
                                "(offers %r): %s: %s" % (offers, e,
                                                          refusals))
        try:
            check(ws.subprotocol == want, "offers %r: subprotocol %r, "
                  "expected %r" % (offers, ws.subprotocol, want))
            await ws.send("CONNECT\naccept-version:1.0,1.1,1.2\nhost:chat"
                          "\n\n\x00")
            got = await within(ws.recv(), 10, "CONNECTED")
            ver = {"v12.stomp": "1.2", "v10.stomp": "1.0"}[want]
            check(got == "CONNECTED\nversion:%s\n\n\x00" % ver,
                  "STOMP answer %r" % got)
            frame = "SEND\ndestination:/queue/a\n\nhello\x00"
            await ws.send(frame)
            check(await within(ws.recv(), 10, "echo") == frame, "echo")
        finally:
            await within(ws.close(), 10, "close")
    h.check_backend_ok(srv)


def test_origin_same_policy():
    srv = h.start_ws_server()
    gw = ws_gate(srv.port, route={"origins": "same"})
    # Ports are ignored: only the host names are compared.
    echo_raw(gw, host="chat.example.com:%d" % gw.port,
             extra=[("Origin", "https://chat.example.com:8443")])
    check(len(h.backend_requests(srv)) == 1, "allowed origin not forwarded")
    r = h.http_request(gw.port, h.ws_request(
        path="/ws", host="chat.example.com",
        extra=[("Origin", "https://evil.example.com")]))
    h.expect_error(r, 403)
    check(len(h.backend_requests(srv)) == 1,
          "a forbidden origin reached the backend (%d handshakes)"
          % len(h.backend_requests(srv)))


# --- the backend's answer ---------------------------------------------------

def test_backend_101_headers_reach_client():
    srv = h.start_ws_server(extra_headers=[
        ("Set-Cookie", "sid=42; Path=/; HttpOnly"), ("X-Backend", "b1"),
        ("Set-Cookie", "theme=dark")])
    gw = ws_gate(srv.port)
    key = h.new_key()
    r = echo_raw(gw, key=key)
    check(r.header_all("Set-Cookie") == ["sid=42; Path=/; HttpOnly",
                                         "theme=dark"],
          "client 101 Set-Cookie %r" % r.header_all("Set-Cookie"))
    check(r.header("X-Backend") == "b1", "client 101 X-Backend %r"
          % r.header_all("X-Backend"))
    check(r.header("Sec-WebSocket-Accept") == h.accept_key(key),
          "the accept key is not the one for the client's key")


BIG_BODY = (b"0123456789abcdef" * 3840)[:60 * 1024]


def refusing(path, headers):
    table = {
        "/ws/401": (401, [("WWW-Authenticate", 'Bearer realm="app"')],
                    b"login first\n"),
        "/ws/403": (403, [("X-Reason", "banned")], b"forbidden here\n"),
        "/ws/404": (404, [], b"no such room\n"),
        "/ws/426": (426, [("Sec-WebSocket-Version", "13")],
                    b"upgrade differently\n"),
        "/ws/big": (403, [("X-Reason", "big")], BIG_BODY),
    }
    return table.get(path)


def test_backend_refusal_passed_to_client():
    srv = h.start_ws_server(process_request=refusing)
    gw = ws_gate(srv.port)
    cases = [("/ws/401", 401, "WWW-Authenticate", 'Bearer realm="app"'),
             ("/ws/403", 403, "X-Reason", "banned"),
             ("/ws/404", 404, None, None),
             ("/ws/426", 426, None, None),
             ("/ws/big", 403, "X-Reason", "big")]
    bad = []
    for path, status, hname, hval in cases:
        want_body = refusing(path, None)[2]
        try:
            r = h.http_request(gw.port, h.ws_request(path=path), timeout=10)
            check(r.status == status, "status %r" % r.status_line)
            if hname:
                check(r.header(hname) == hval, "%s %r" % (hname,
                                                          r.header(hname)))
            body = h.read_to_eof(r.sock, 10, r.rest)
            check(body == want_body, "body %d bytes %r, expected %d bytes"
                  % (len(body), body[:60], len(want_body)))
        except h.TestFailure as e:
            bad.append("%s: %s" % (path, e))
    check(not bad, "refusals:\n  " + "\n  ".join(bad))
    check(srv.connections == 0, "a refused handshake became a connection")


def test_refusal_body_in_pieces_passed_whole():
    """The head and the start of the body come in one read larger than
    max_request_head (which stops reading while a head is awaited), the
    rest later: all of it reaches the client."""
    body = BIG_BODY

    def refuse(c, server):
        h.read_until(c, bytearray(), b"\r\n\r\n", 5)
        head = (b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n"
                b"Content-Type: text/plain\r\n\r\n" % len(body))
        h.send_all(c, server, head + body[:20000])
        time.sleep(0.3)
        h.send_all(c, server, body[20000:])
        h.recv_some(c, server, 5)

    srv = h.TcpServer(refuse)
    gw = ws_gate(srv.port)
    r = h.http_request(gw.port, h.ws_request(path="/ws"), timeout=10)
    check(r.status == 403, "status %r" % r.status_line)
    got = h.read_to_eof(r.sock, 10, r.rest)
    check(got == body, "body %d bytes, expected %d" % (len(got), len(body)))


def test_refusal_closes_backend_connection():
    def respond(req):
        return (b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 7\r\nX-Why: raw\r\n\r\ndenied\n")
    srv = h.raw_ws_backend(respond=respond)
    gw = ws_gate(srv.port)
    r = h.http_request(gw.port, h.ws_request(path="/ws"), timeout=10)
    check(r.status == 403, "status %r" % r.status_line)
    check(r.header("X-Why") == "raw", "X-Why %r" % r.header("X-Why"))
    check(h.read_to_eof(r.sock, 10, r.rest) == b"denied\n",
          "body of the refusal")
    h.wait_until(lambda: srv.eofs >= 1, 10,
                 what="wsgate to close the refusing backend's connection")


def test_chunked_refusal_passed_as_framed():
    body = b"7\r\ndenied\n\r\n5\r\nagain\r\n0\r\n\r\n"

    def respond(req):
        return (b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\n"
                b"Transfer-Encoding: chunked\r\n"
                b"WWW-Authenticate: Basic realm=\"x\"\r\n\r\n" + body)
    srv = h.raw_ws_backend(respond=respond)
    gw = ws_gate(srv.port)
    r = h.http_request(gw.port, h.ws_request(path="/ws"), timeout=10)
    check(r.status == 401, "status %r" % r.status_line)
    check(r.header("WWW-Authenticate") == 'Basic realm="x"',
          "WWW-Authenticate %r" % r.header("WWW-Authenticate"))
    rest = h.read_to_eof(r.sock, 10, r.rest)
    if r.header("Transfer-Encoding") is not None:
        check(rest == body, "chunked body %r" % rest)
    else:
        check(rest == b"denied\nagain", "de-chunked body %r" % rest)


def bad_101(req):
    key = req.header("Sec-WebSocket-Key") or ""
    good = h.accept_key(key)
    case = req.path.rsplit("/", 1)[-1]
    heads = {
        "wrong-accept": ["Upgrade: websocket", "Connection: Upgrade",
                         "Sec-WebSocket-Accept: " + h.accept_key(h.new_key())],
        "no-accept": ["Upgrade: websocket", "Connection: Upgrade"],
        "no-upgrade": ["Connection: Upgrade", "Sec-WebSocket-Accept: " + good],
        "upgrade-h2c": ["Upgrade: h2c", "Connection: Upgrade",
                        "Sec-WebSocket-Accept: " + good],
        "no-connection": ["Upgrade: websocket",
                          "Sec-WebSocket-Accept: " + good],
        "unoffered-protocol": ["Upgrade: websocket", "Connection: Upgrade",
                               "Sec-WebSocket-Accept: " + good,
                               "Sec-WebSocket-Protocol: evil"],
        "extension": ["Upgrade: websocket", "Connection: Upgrade",
                      "Sec-WebSocket-Accept: " + good,
                      "Sec-WebSocket-Extensions: permessage-deflate"],
    }
    if case in heads:
        return ("\r\n".join(["HTTP/1.1 101 Switching Protocols"]
                            + heads[case]) + "\r\n\r\n").encode()
    if case == "garbage":
        return b"SSH-2.0-OpenSSH_9.2p1\r\nnot http at all\r\n\r\n"
    if case == "close":
        return b""
    raise AssertionError("unknown case %r" % case)


def test_malformed_101_is_502():
    srv = h.raw_ws_backend(respond=bad_101)
    gw = ws_gate(srv.port, handshake_timeout="5s")
    cases = ["wrong-accept", "no-accept", "no-upgrade", "upgrade-h2c",
             "no-connection", "unoffered-protocol", "extension", "garbage",
             "close"]
    bad = []
    for case in cases:
        try:
            extra = [("Sec-WebSocket-Protocol", "alpha")] \
                if case == "unoffered-protocol" else []
            r = h.http_request(gw.port, h.ws_request(path="/ws/" + case,
                                                     extra=extra), timeout=10)
            h.expect_error(r, 502, timeout=10)
        except h.TestFailure as e:
            bad.append("%s: %s" % (case, e))
    check(not bad, "%d of %d malformed answers not turned into 502:\n  %s"
          % (len(bad), len(cases), "\n  ".join(bad)))


def test_backend_never_answers_is_504():
    srv = h.raw_ws_backend(respond=lambda req: None)
    gw = ws_gate(srv.port, handshake_timeout="1s", connect_timeout="1s")
    r = h.http_request(gw.port, h.ws_request(path="/ws"), timeout=20)
    h.expect_error(r, 504, timeout=10)
    check(len(h.backend_requests(srv)) == 1,
          "the silent backend got %d requests" % len(h.backend_requests(srv)))
    h.wait_until(lambda: srv.eofs >= 1, 10,
                 what="wsgate to close the silent backend's connection")


def test_refused_backend_is_502():
    # fail_threshold 0: servers never rest, so every try is a real connect
    # (with passive health, all down gives 503: see test_ws_pools.py).
    gw = ws_gate(h.free_port(), h.free_port(), fail_threshold=0)
    for _ in range(3):
        h.expect_error(h.http_request(gw.port, h.ws_request(path="/ws")),
                       502)
    gw.wait_log(re.compile(r"(?i)refused"), timeout=5)


def test_unix_socket_server():
    d = tempfile.mkdtemp(prefix="wsgate-it-unix-")
    h.on_cleanup(lambda: os.rmdir(d) if os.path.isdir(d) else None)
    path = os.path.join(d, "app.sock")
    srv = h.start_ws_server(unix_path=path)
    gw = ws_gate("unix:" + path)
    echo_raw(gw, path="/ws/u?x=1")
    check(srv.paths() == ["/ws/u?x=1"], "unix backend saw %r" % srv.paths())


if __name__ == "__main__":
    h.main(globals())
