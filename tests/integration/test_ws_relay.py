"""Relaying frames between a client and a WebSocket backend (DESIGN.md
"The path of one connection" steps 4-6, "Frame rules"): text, binary,
fragmented messages with interleaved pings and UTF-8 split across
fragments; 16 MiB messages both ways (SHA-256 checked); payload forwarded
as it arrives in both directions (a first fragment crosses before the
message ends); client bytes sent before the backend's 101 are held and
delivered after it; client frames are re-masked with fresh keys; close
codes and reasons cross both ways (4000 "bye", 4001 "later", 1001) and
both close handshakes complete; client pings reach the backend and its
pongs come back, backend pings reach the client; wsgate's own keepalive
pongs never reach the backend; a backend killed mid-stream (or closing
without a close frame, or resetting) gives the client 1011 within 3 s;
a backend breaking the frame rules (masking, RSV, unknown opcode, bad
control frames, invalid UTF-8, oversized message, bad close code) gets
1002/1007/1009 and the client 1011; a client breaking them gets 1002 and
the backend's connection is closed too; 40 concurrent clients."""

import asyncio
import hashlib
import os
import socket
import struct
import time

import websockets

import harness as h
from harness import (check, within, ws_client, encode_frame, close_payload,
                     OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG)


def ws_gate(*servers, limits=None, **backend_opts):
    lim = {"close_timeout": "2s"}
    lim.update(limits or {})
    return h.start_wsgate(h.config(
        [{"match": {"path": "/ws"}, "backend": "app"}],
        {"app": h.ws_backend(*servers, **backend_opts)}, lim))


def peer_of(srv, n=1, timeout=10):
    """The n-th BackendWS of a raw backend, once it exists."""
    h.wait_until(lambda: len(srv.state.get("peers", [])) >= n, timeout,
                 what="the backend connection")
    return srv.state["peers"][n - 1]


def frames_of(peer, opcode):
    return [f for f in list(peer.frames) if f.opcode == opcode]


# --- data ---------------------------------------------------------------------

def test_fragments_with_interleaved_ping_and_split_utf8():
    srv = h.start_ws_server()
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    text = "Hello wörld € 😀".encode("utf-8")
    i = text.index("ö".encode()) + 1        # inside the 2-byte ö
    j = text.index("😀".encode()) + 2       # inside the 4-byte emoji
    ws.send(encode_frame(OP_TEXT, text[:i], fin=False)
            + encode_frame(OP_PING, b"p1")
            + encode_frame(OP_CONT, text[i:j], fin=False)
            + encode_frame(OP_PING, b"p2")
            + encode_frame(OP_CONT, text[j:]))
    pongs, parts, op = [], [], None
    deadline = time.monotonic() + 10
    while True:
        f = ws.read_frame(max(0.01, deadline - time.monotonic()))
        if f.opcode == OP_PONG:
            pongs.append(f.payload)
        elif f.opcode == OP_PING:
            ws.send_frame(OP_PONG, f.payload)
        else:
            check(f.opcode in (OP_TEXT, OP_CONT), "frame %r" % f)
            op = op or f.opcode
            parts.append(f.payload)
            if f.fin:
                break
    check(op == OP_TEXT and b"".join(parts) == text,
          "echoed message %r" % b"".join(parts))
    while len(pongs) < 2:
        f = ws.read_frame(10)
        if f.opcode == OP_PONG:
            pongs.append(f.payload)
    check(pongs == [b"p1", b"p2"], "pongs %r" % pongs)
    ws.send_frame(OP_BINARY, b"\x00\x01\x02", fin=False)
    ws.send_frame(OP_CONT, b"\x03")
    check(ws.read_message(10) == (OP_BINARY, b"\x00\x01\x02\x03"),
          "fragmented binary echo")


async def test_16mib_messages_both_ways():
    script = r'''
import hashlib, os
async def handler(ws, path):
    async for msg in ws:
        if isinstance(msg, str) and msg.startswith("send "):
            data = os.urandom(int(msg[5:]))
            await ws.send("sha:" + hashlib.sha256(data).hexdigest())
            await ws.send(data)
            continue
        raw = msg if isinstance(msg, bytes) else msg.encode("utf-8")
        await ws.send("sha:%d:%s" % (len(raw), hashlib.sha256(raw).hexdigest()))
        await ws.send(msg)
'''
    srv = h.start_ws_server(script)
    gw = ws_gate(srv.port)
    size = 16 * h.MiB
    async with ws_client(gw, "/ws") as ws:
        data = os.urandom(size)
        t0 = time.monotonic()
        await within(ws.send(data), 60, "sending 16 MiB")
        digest = hashlib.sha256(data).hexdigest()
        got = await within(ws.recv(), 60, "backend's digest")
        check(got == "sha:%d:%s" % (size, digest),
              "backend received a different 16 MiB message: %r" % got)
        back = await within(ws.recv(), 60, "16 MiB echo")
        check(isinstance(back, bytes) and len(back) == size
              and hashlib.sha256(back).hexdigest() == digest,
              "echoed 16 MiB message differs (%d bytes)" % len(back))
        await within(ws.send("send %d" % size), 10, "request")
        want = await within(ws.recv(), 60, "digest")
        got = await within(ws.recv(), 60, "16 MiB from the backend")
        check(isinstance(got, bytes) and len(got) == size
              and "sha:" + hashlib.sha256(got).hexdigest() == want,
              "16 MiB from the backend arrived differently (%d bytes)"
              % len(got))
        unit = "é€😀a"
        text = unit * (size // len(unit.encode("utf-8")))
        raw = text.encode("utf-8")
        await within(ws.send(text), 60, "sending a 16 MiB text")
        got = await within(ws.recv(), 60, "digest")
        check(got == "sha:%d:%s" % (len(raw), hashlib.sha256(raw).hexdigest()),
              "backend received a different text message: %r" % got)
        back = await within(ws.recv(), 60, "text echo")
        check(back == text, "echoed text differs")
        print("    3 x 16 MiB through the websocket backend in %.1fs"
              % (time.monotonic() - t0))


def test_client_fragment_reaches_backend_before_message_ends():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    first = os.urandom(1000)
    ws.send_frame(OP_BINARY, first, fin=False)
    peer = peer_of(srv)

    def arrived():
        return sum(len(f.payload) for f in list(peer.frames)
                   if f.opcode in (OP_BINARY, OP_CONT)) >= len(first)
    h.wait_until(arrived, 10, what="the first fragment at the backend "
                 "before the message is complete")
    ws.send_frame(OP_CONT, b"end")
    check(ws.read_message(10) == (OP_BINARY, first + b"end"),
          "echo of the whole message")


def test_backend_fragment_reaches_client_before_message_ends():
    first = os.urandom(1000)

    def session(peer, server):
        peer.send_frame(OP_BINARY, first, fin=False)
        while not server.stopping.is_set():
            try:
                f = peer.read_frame(0.5)
            except h.FrameTimeout:
                continue
            if f.opcode == OP_TEXT and f.payload == b"more":
                peer.send_frame(OP_CONT, b"rest")
            if f.opcode == OP_CLOSE:
                peer.send_frame(OP_CLOSE, f.payload[:2])
                return
    srv = h.raw_ws_backend(session)
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    got = b""
    while len(got) < len(first):
        f = ws.read_frame(10)
        check(f.opcode in (OP_BINARY, OP_CONT), "frame %r" % f)
        check(not f.fin, "message ended before the backend finished it")
        got += f.payload
    check(got == first, "first fragment differs")
    ws.send_frame(OP_TEXT, b"more")
    rest = b""
    while True:
        f = ws.read_frame(10)
        if f.opcode in (OP_PING, OP_PONG):
            continue
        rest += f.payload
        if f.fin:
            break
    check(rest == b"rest", "end of the message %r" % rest)


def test_client_bytes_before_101_are_held():
    def slow_101(req):
        time.sleep(0.5)     # the client's frame is already at wsgate
        return h.ws_accept_response(req)
    srv = h.raw_ws_backend(respond=slow_101)
    gw = ws_gate(srv.port)
    key = h.new_key()
    s = h.connect(gw.port, 10)
    s.sendall(h.ws_request(path="/ws", key=key)
              + encode_frame(OP_TEXT, b"early bird"))
    r = h.read_response(s, 10)
    check(r.status == 101, "status %r" % r.status_line)
    ws = h.RawWS(s, r.rest)
    check(ws.read_message(10) == (OP_TEXT, b"early bird"),
          "the frame sent before the 101 was not relayed")
    peer = peer_of(srv)
    check([f.payload for f in frames_of(peer, OP_TEXT)] == [b"early bird"],
          "backend frames %r" % peer.frames)


def test_client_frames_are_remasked():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    key = b"\x11\x22\x33\x44"
    for i in range(8):
        ws.send_frame(OP_TEXT, b"message %d" % i, mask_key=key)
        check(ws.read_message(10) == (OP_TEXT, b"message %d" % i),
              "echo %d" % i)
    peer = peer_of(srv)
    keys = peer.mask_keys
    check(len(keys) >= 8, "backend read %d masked frames" % len(keys))
    check(key not in keys, "wsgate reused the client's mask key %r" % key)
    check(len(set(keys)) == len(keys), "mask keys towards the backend "
          "repeat: %r" % keys)
    h.check_backend_ok(srv)


async def test_concurrent_clients():
    srv = h.start_ws_server()
    gw = ws_gate(srv.port)

    async def client(n):
        data = os.urandom(50000 + n)
        async with ws_client(gw, "/ws") as ws:
            for i in range(5):
                await ws.send(data[i::5])
                check(await ws.recv() == data[i::5], "client %d: echo" % n)
    await within(asyncio.gather(*(client(n) for n in range(40))), 60,
                 "40 concurrent clients")
    check(srv.connections == 40, "backend saw %d connections"
          % srv.connections)


def test_101_and_first_frame_in_one_write():
    def respond(req):
        return h.ws_accept_response(req) + encode_frame(
            OP_TEXT, b"welcome", mask=False)
    srv = h.raw_ws_backend(respond=respond)
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    check(ws.read_message(10) == (OP_TEXT, b"welcome"),
          "the frame that followed the backend's 101 was lost")
    ws.send_frame(OP_TEXT, b"then echo")
    check(ws.read_message(10) == (OP_TEXT, b"then echo"), "echo")


def test_101_arriving_byte_by_byte():
    def respond(req):
        raw = h.ws_accept_response(req, extra=[("X-Slow", "yes")])
        return [raw[i:i + 1] for i in range(len(raw))]
    srv = h.raw_ws_backend(respond=respond)
    gw = ws_gate(srv.port, handshake_timeout="10s")
    ws = h.ws_connect_raw(gw.port, path="/ws", timeout=15)
    check(ws.response.header("X-Slow") == "yes", "X-Slow %r"
          % ws.response.header("X-Slow"))
    ws.send_frame(OP_BINARY, b"\x01\x02")
    check(ws.read_message(10) == (OP_BINARY, b"\x01\x02"), "echo")


# --- close ------------------------------------------------------------------

def recording_handler(on_msg=None):
    """A python backend handler that echoes (or runs on_msg) and records
    how the connection closed in server.state["closes"]."""
    async def handler(ws, server):
        try:
            async for msg in ws:
                if on_msg is not None:
                    await on_msg(ws, msg)
                else:
                    await ws.send(msg)
        finally:
            await ws.wait_closed()
            server.state.setdefault("closes", []).append({
                "rcvd": (ws.close_rcvd.code, ws.close_rcvd.reason)
                if ws.close_rcvd else None,
                "sent": (ws.close_sent.code, ws.close_sent.reason)
                if ws.close_sent else None,
                "rcvd_then_sent": ws.close_rcvd_then_sent})
    return handler


async def wait_state(srv, key, timeout=10):
    deadline = time.monotonic() + timeout
    while not srv.state.get(key):
        if time.monotonic() > deadline:
            raise h.TestFailure("backend recorded no %r within %ds"
                                % (key, timeout))
        await asyncio.sleep(0.05)
    return srv.state[key]


async def test_client_close_code_and_reason_reach_backend():
    srv = h.start_ws_server(recording_handler())
    gw = ws_gate(srv.port)
    ws = await within(ws_client(gw, "/ws"), 10, "connect")
    await ws.send("hi")
    check(await within(ws.recv(), 10, "echo") == "hi", "echo")
    await within(ws.close(4000, "bye"), 10, "close handshake")
    check(ws.close_rcvd is not None, "client got no close frame back")
    check((ws.close_code, ws.close_reason) == (4000, "bye"),
          "client's close answered with %r %r" % (ws.close_code,
                                                   ws.close_reason))
    closes = await wait_state(srv, "closes")
    check(closes[0]["rcvd"] == (4000, "bye"),
          "backend received close %r, expected (4000, 'bye')"
          % (closes[0]["rcvd"],))
    check(closes[0]["sent"] is not None and closes[0]["rcvd_then_sent"],
          "backend's close handshake incomplete: %r" % closes[0])


async def backend_closes(code, reason):
    async def on_msg(ws, msg):
        if msg == "close please":
            await ws.close(code, reason)
        else:
            await ws.send(msg)
    srv = h.start_ws_server(recording_handler(on_msg))
    gw = ws_gate(srv.port)
    ws = await within(ws_client(gw, "/ws"), 10, "connect")
    await ws.send("close please")
    try:
        m = await within(ws.recv(), 10, "close from the backend")
        raise h.TestFailure("expected a close, got message %r" % m)
    except websockets.exceptions.ConnectionClosed:
        pass
    await within(ws.wait_closed(), 10, "client connection closed")
    check((ws.close_code, ws.close_reason) == (code, reason),
          "client saw close %r %r, backend sent %r %r"
          % (ws.close_code, ws.close_reason, code, reason))
    check(ws.close_sent is not None, "client did not answer the close")
    closes = await wait_state(srv, "closes")
    check(closes[0]["sent"] == (code, reason), "backend sent %r"
          % (closes[0]["sent"],))
    check(closes[0]["rcvd"] is not None
          and closes[0]["rcvd"][0] == code,
          "backend's close was answered with %r, expected code %d"
          % (closes[0]["rcvd"], code))


async def test_backend_close_code_and_reason_reach_client():
    await backend_closes(4001, "later")


async def test_backend_going_away_1001_reaches_client():
    await backend_closes(1001, "going away")


def close_delay(ws, t0):
    f = ws.expect_close(None, timeout=10)
    dt = time.monotonic() - t0
    check(f.close_code == 1011, "client got close %r (%r), expected 1011"
          % (f.close_code, f.payload))
    check(dt < 3.0, "close 1011 took %.2fs (limit 3s)" % dt)
    ws.send_frame(OP_CLOSE, close_payload(1011))
    ws.expect_eof()
    return dt


def test_backend_killed_mid_stream_is_1011():
    srv = h.start_ws_server("async def handler(ws, path):\n"
                            "    async for m in ws:\n"
                            "        await ws.send(m)\n")
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    ws.send_frame(OP_BINARY, b"x" * 5000)
    check(ws.read_message(10) == (OP_BINARY, b"x" * 5000), "echo")
    t0 = time.monotonic()
    srv.kill()
    dt = close_delay(ws, t0)
    print("    backend SIGKILLed: close 1011 after %.3fs" % dt)


def test_backend_closing_without_close_frame_is_1011():
    for how in ("fin", "rst"):
        def session(peer, server, how=how):
            peer.read_frame(10)
            if how == "rst":
                peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
            else:
                peer.sock.shutdown(socket.SHUT_RDWR)
            peer.sock.close()
            server.state["closed_at"] = time.monotonic()
        srv = h.raw_ws_backend(session)
        gw = ws_gate(srv.port)
        ws = h.ws_connect_raw(gw.port, path="/ws")
        ws.send_frame(OP_TEXT, b"now")
        h.wait_until(lambda: "closed_at" in srv.state, 10,
                     what="backend to close")
        dt = close_delay(ws, srv.state["closed_at"])
        print("    backend %s without a close frame: 1011 after %.3fs"
              % (how.upper(), dt))


def test_backend_close_then_eof_keeps_its_code():
    # The backend sends its close frame and drops the TCP connection at
    # once, without waiting for the reply: the client still gets the
    # backend's code and reason, not 1011.
    def session(peer, server):
        peer.read_frame(10)
        peer.send(encode_frame(OP_TEXT, b"last words", mask=False)
                  + encode_frame(OP_CLOSE, close_payload(4002, "bye now"),
                                 mask=False))
        peer.sock.shutdown(socket.SHUT_RDWR)
    srv = h.raw_ws_backend(session)
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    ws.send_frame(OP_TEXT, b"go")
    check(ws.read_message(10) == (OP_TEXT, b"last words"),
          "data sent right before the close")
    f = ws.expect_close(None, skip_data=False)
    check(f.payload == close_payload(4002, "bye now"),
          "client got close %r, backend sent 4002 'bye now'" % f.payload)


def test_client_close_then_eof_reaches_backend():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    ws.send_frame(OP_TEXT, b"hi")
    check(ws.read_message(10) == (OP_TEXT, b"hi"), "echo")
    ws.send(encode_frame(OP_TEXT, b"last") + encode_frame(
        OP_CLOSE, close_payload(4000, "bye")))
    ws.sock.shutdown(socket.SHUT_WR)
    peer = peer_of(srv)
    h.wait_until(lambda: frames_of(peer, OP_CLOSE), 10,
                 what="the client's close at the backend")
    check(frames_of(peer, OP_CLOSE)[0].payload == close_payload(4000, "bye"),
          "backend got close %r" % frames_of(peer, OP_CLOSE)[0].payload)
    check([f.payload for f in frames_of(peer, OP_TEXT)] == [b"hi", b"last"],
          "backend got data %r" % frames_of(peer, OP_TEXT))


# --- pings --------------------------------------------------------------------

async def test_client_ping_reaches_backend_and_pong_returns():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv.port)
    async with ws_client(gw, "/ws") as ws:
        waiter = await ws.ping(b"client-ping")
        await within(waiter, 10, "pong for the client's ping")
        peer = peer_of(srv)
        pings = [f.payload for f in frames_of(peer, OP_PING)]
        check(pings == [b"client-ping"], "backend received pings %r" % pings)


def test_backend_ping_reaches_client_and_pong_returns():
    def session(peer, server):
        peer.send_frame(OP_PING, b"backend-ping")
        h.raw_echo_session(peer, server)
    srv = h.raw_ws_backend(session)
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    f = ws.read_frame(10)
    check(f.opcode == OP_PING and f.payload == b"backend-ping",
          "client got %r, expected the backend's ping" % f)
    ws.send_frame(OP_PONG, f.payload)
    peer = peer_of(srv)
    h.wait_until(lambda: frames_of(peer, OP_PONG), 10,
                 what="the client's pong at the backend")
    check([x.payload for x in frames_of(peer, OP_PONG)] == [b"backend-ping"],
          "backend pongs %r" % frames_of(peer, OP_PONG))


def test_keepalive_pongs_do_not_reach_backend():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv.port, limits={"ping_interval": "1s",
                                   "pong_timeout": "5s"})
    ws = h.ws_connect_raw(gw.port, path="/ws")
    pings = 0
    deadline = time.monotonic() + 15
    while pings < 2:
        left = deadline - time.monotonic()
        check(left > 0, "wsgate sent %d keepalive pings in 15s" % pings)
        try:
            f = ws.read_frame(left)
        except h.FrameTimeout:
            continue
        check(f.opcode == OP_PING, "unexpected frame %r" % f)
        pings += 1
        ws.send_frame(OP_PONG, f.payload)
    ws.send_frame(OP_TEXT, b"after pings")
    check(ws.read_message(10) == (OP_TEXT, b"after pings"), "echo")
    peer = peer_of(srv)
    check(not frames_of(peer, OP_PONG), "the client's keepalive pongs "
          "reached the backend: %r" % frames_of(peer, OP_PONG))
    check(frames_of(peer, OP_TEXT), "backend got no data")


# --- frame rules on both sides --------------------------------------------------

BACKEND_VIOLATIONS = {
    # path: (what the backend sends, close code it must get)
    "masked": (encode_frame(OP_TEXT, b"masked!", mask=True), 1002),
    "rsv1": (encode_frame(OP_TEXT, b"rsv", rsv=4, mask=False), 1002),
    "opcode3": (encode_frame(0x3, b"?", mask=False), 1002),
    "fragmented-ping": (encode_frame(OP_PING, b"p", fin=False, mask=False),
                        1002),
    "long-ping": (encode_frame(OP_PING, b"p" * 126, mask=False), 1002),
    "lone-continuation": (encode_frame(OP_CONT, b"c", mask=False), 1002),
    "bad-close-code": (encode_frame(OP_CLOSE, close_payload(1005),
                                    mask=False), 1002),
    "invalid-utf8": (encode_frame(OP_TEXT, b"ok \xff\xfe bad", mask=False),
                     1007),
    "oversized": (encode_frame(OP_BINARY, b"z" * 2048, mask=False), 1009),
    "one-byte-close": (encode_frame(OP_CLOSE, b"\x03", mask=False), 1002),
    "bad-close-reason": (encode_frame(OP_CLOSE, close_payload(1000, b"\xff"),
                                      mask=False), 1007),
}


def misbehaving_session(peer, server):
    bad, _ = BACKEND_VIOLATIONS[peer.request.path.rsplit("/", 1)[-1]]
    peer.send(bad)
    got = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not server.stopping.is_set():
        try:
            f = peer.read_frame(0.5)
        except h.FrameTimeout:
            continue
        except h.ConnectionClosed:
            got = got or "EOF without a close frame"
            break
        if f.opcode == OP_CLOSE:
            got = f.close_code
            break
    with server.lock:
        server.state.setdefault("got", {})[peer.request.path] = got


def test_backend_frame_violations():
    srv = h.raw_ws_backend(misbehaving_session)
    gw = ws_gate(srv.port, limits={"max_message": "1KiB"})
    bad = []
    for case, (_, want) in BACKEND_VIOLATIONS.items():
        path = "/ws/" + case
        try:
            ws = h.ws_connect_raw(gw.port, path=path)
            ws.expect_close(1011)
            ws.send_frame(OP_CLOSE, close_payload(1011))
            ws.expect_eof()
        except h.TestFailure as e:
            bad.append("%s: client: %s" % (case, e))
        try:
            h.wait_until(lambda: path in srv.state.get("got", {}), 10,
                         what="the backend's verdict")
            got = srv.state["got"][path]
            check(got == want, "backend got close %r, expected %r"
                  % (got, want))
        except h.TestFailure as e:
            bad.append("%s: backend: %s" % (case, e))
    check(not bad, "%d problems:\n  %s" % (len(bad), "\n  ".join(bad)))


def test_client_violation_closes_backend_too():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/ws")
    ws.send_frame(OP_TEXT, b"fine")
    check(ws.read_message(10) == (OP_TEXT, b"fine"), "echo")
    ws.send_frame(OP_TEXT, b"unmasked", mask=False)
    ws.expect_close(1002)
    ws.expect_eof()
    peer = peer_of(srv)
    h.wait_until(lambda: srv.eofs >= 1 or frames_of(peer, OP_CLOSE), 10,
                 what="wsgate to close the backend connection")
    check(not [f for f in frames_of(peer, OP_TEXT)
               if f.payload == b"unmasked"],
          "the invalid frame reached the backend")


def test_close_answered_when_backend_vanishes_before_replying():
    """The client closes with 4000; the backend reads that close and drops
    TCP without replying.  wsgate answers the client's close itself with
    the same code, promptly, instead of leaving it to close_timeout."""
    def session(peer, server):
        while True:
            try:
                f = peer.read_frame(5)
            except h.FrameTimeout:
                return
            if f.opcode == OP_CLOSE:
                return      # gone without a reply
    srv = h.raw_ws_backend(session)
    gw = ws_gate(srv.port, limits={"close_timeout": "10s"})
    ws = h.ws_connect_raw(gw.port, path="/ws")
    t0 = time.monotonic()
    ws.send_frame(OP_CLOSE, struct.pack("!H", 4000) + b"bye")
    f = ws.read_frame(8)
    delay = time.monotonic() - t0
    check(f.opcode == OP_CLOSE, "expected a close frame, got %r" % f)
    code = struct.unpack("!H", f.payload[:2])[0]
    check(code == 4000, "close code %d, expected 4000" % code)
    print("    close answered after %.3fs" % delay)
    check(delay < 5, "the reply waited for close_timeout (%.1fs)" % delay)



def backend_close_session(close_first):
    """A raw backend that answers the client's close, then either closes
    its TCP connection first (a server, §7.1.1) after checking that
    wsgate sent no FIN before it, or waits for wsgate's FIN."""
    def session(peer, server):
        while not server.stopping.is_set():
            try:
                f = peer.read_frame(0.5)
            except h.FrameTimeout:
                continue
            if f.opcode != OP_CLOSE:
                continue
            peer.send_frame(OP_CLOSE, f.payload[:2])
            t0 = time.monotonic()
            got_fin = h.wait_peer_eof(peer, server,
                                      timeout=0.5 if close_first else 10)
            server.state["fin_after"] = (got_fin, time.monotonic() - t0)
            return
    return session


def client_closes(gw):
    ws = h.ws_connect_raw(gw.port, path="/ws")
    ws.send_frame(OP_CLOSE, close_payload(1000))
    ws.expect_close(1000, timeout=10)
    ws.expect_eof(timeout=10)


def test_websocket_backend_closes_tcp_first():
    srv = h.raw_ws_backend(backend_close_session(close_first=True))
    gw = ws_gate(srv.port)
    client_closes(gw)
    h.wait_until(lambda: "fin_after" in srv.state, 10, what="backend done")
    got_fin, _ = srv.state["fin_after"]
    check(not got_fin, "wsgate sent its FIN before the backend closed")
    gw.wait_log(r"access: .* close=1000 by=client", 10)


def test_backend_that_waits_for_our_fin_gets_it_after_close_timeout():
    srv = h.raw_ws_backend(backend_close_session(close_first=False))
    gw = ws_gate(srv.port, limits={"close_timeout": "1s"})
    client_closes(gw)
    h.wait_until(lambda: "fin_after" in srv.state, 10, what="backend done")
    got_fin, waited = srv.state["fin_after"]
    check(got_fin, "the backend never got wsgate's FIN")
    check(waited >= 0.5, "FIN after %.2fs: before close_timeout" % waited)
    gw.wait_log(r"access: .* close=1000 by=client", 10)

if __name__ == "__main__":
    h.main(globals())
