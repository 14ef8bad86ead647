"""TCP backends (type: tcp, websockify style) with a real TCP server in
this process: the payload of every client message (binary or text) is
written to the stream and the service's bytes come back as binary
messages; 10 MiB of random data each way arrive intact (SHA-256 on both
sides, messages may be re-chunked); bytes the service sends before the
client speaks arrive after the 101; a backend EOF gives close 1000 after
all its data; a client close is answered and reaches the backend as EOF;
round robin uses both servers and skips a refused one; `frames: text`
sends valid UTF-8 as text messages even when multibyte characters are
split across TCP writes, and fails with 1011 on invalid UTF-8."""

import asyncio
import hashlib
import os
import random
import socket
import struct
import time

import websockets

import harness as h
from harness import check, within, ws_client, OP_TEXT, OP_BINARY


def gate(backends, routes, **limits):
    lim = {"max_message": "16MiB", "close_timeout": "2s"}
    lim.update(limits)
    return h.start_wsgate(h.config(routes, backends, lim))


def tcp_gate(*ports, frames=None):
    route = {"match": {"path": "/tcp"}, "backend": "svc"}
    if frames:
        route["frames"] = frames
    return gate({"svc": h.tcp_backend(*ports)}, [route])


def sender_handler(data, pieces=None, delay=0.0):
    """Sends data (in the given pieces, with delay between them), then
    half-closes and waits for wsgate to close too."""
    def handler(c, server):
        for p in (pieces or [data]):
            if h.send_all(c, server, p) < len(p):
                return
            if delay:
                time.sleep(delay)
        c.shutdown(socket.SHUT_WR)
        while True:
            r = h.recv_some(c, server)
            if not r:
                if r == b"":
                    server.saw_eof()
                return
    return handler


def banner_echo_handler(c, server):
    h.send_all(c, server, b"RFB 003.008\n")
    h.echo_handler(c, server)


async def recv_bytes(ws, total, timeout, want_type=bytes):
    """Receives messages until `total` bytes; checks their type."""
    buf = bytearray()
    msgs = 0

    async def loop():
        nonlocal msgs
        while len(buf) < total:
            m = await ws.recv()
            check(type(m) is want_type, "backend data arrived as %s "
                  "message" % type(m).__name__)
            buf.extend(m if isinstance(m, bytes) else m.encode("utf-8"))
            msgs += 1
    await within(loop(), timeout, "receiving %d bytes (got %d)"
                 % (total, len(buf)))
    return bytes(buf), msgs


async def test_10mib_each_way_intact():
    srv = h.tcp_echo_server()
    gw = tcp_gate(srv.port)
    total = 10 * h.MiB + 12345
    data = os.urandom(total)
    rnd = random.Random(42)
    async with ws_client(gw, "/tcp") as ws:
        async def sender():
            off = 0
            while off < total:
                n = min(rnd.choice([1, 100, 4096, 65536, 300000]),
                        total - off)
                await ws.send(data[off:off + n])
                off += n

        got, _ = (await asyncio.gather(
            within(sender(), 60, "sending 10 MiB"),
            recv_bytes(ws, total, 60)))[1]
        check(len(got) == total, "received %d bytes, sent %d"
              % (len(got), total))
        check(hashlib.sha256(got).hexdigest()
              == hashlib.sha256(data).hexdigest(),
              "SHA-256 of the echoed stream differs")
    h.wait_until(lambda: srv.state.get("received"), 10,
                 what="backend to see EOF after the client closed")
    n, digest = srv.state["received"][0]
    check(n == total and digest == hashlib.sha256(data).hexdigest(),
          "backend received %d bytes (sent %d) or a different SHA-256"
          % (n, total))
    print("    10 MiB + 12345 bytes each way, SHA-256 %s" % digest[:16])


async def test_text_messages_are_forwarded_as_bytes():
    srv = h.tcp_echo_server()
    gw = tcp_gate(srv.port)
    async with ws_client(gw, "/tcp") as ws:
        text = "héllo wörld € 😀"
        await ws.send(text)
        got, _ = await recv_bytes(ws, len(text.encode()), 10)
        check(got == text.encode("utf-8"), "text payload: %r" % got)
        await ws.send(b"\x00\xff binary")
        got, _ = await recv_bytes(ws, 9, 10)
        check(got == b"\x00\xff binary", "binary payload: %r" % got)


async def test_backend_speaks_first():
    srv = h.TcpServer(banner_echo_handler)
    gw = tcp_gate(srv.port)
    async with ws_client(gw, "/tcp") as ws:
        got, _ = await recv_bytes(ws, 12, 10)
        check(got == b"RFB 003.008\n", "banner: %r" % got)
        await ws.send(b"client hello")
        got, _ = await recv_bytes(ws, 12, 10)
        check(got == b"client hello", "echo after banner: %r" % got)


async def test_backend_eof_gives_1000_after_all_data():
    data = os.urandom(3 * h.MiB + 7)
    srv = h.TcpServer(sender_handler(data))
    gw = tcp_gate(srv.port)
    async with ws_client(gw, "/tcp") as ws:
        buf = bytearray()

        async def drain():
            try:
                while True:
                    m = await ws.recv()
                    check(isinstance(m, bytes), "text message from tcp")
                    buf.extend(m)
            except websockets.exceptions.ConnectionClosed:
                pass
        await within(drain(), 30, "data then close")
        check(bytes(buf) == data, "received %d of %d bytes before the close"
              " (or different bytes)" % (len(buf), len(data)))
        check(ws.close_code == 1000, "close code after backend EOF: %r"
              % ws.close_code)


async def test_client_close_reaches_backend():
    srv = h.tcp_echo_server()
    gw = tcp_gate(srv.port)
    ws = await within(ws_client(gw, "/tcp"), 10, "connect")
    await ws.send(b"ping")
    got, _ = await recv_bytes(ws, 4, 10)
    check(got == b"ping", "echo %r" % got)
    await within(ws.close(1000, "bye"), 10, "close handshake")
    check(ws.close_code == 1000, "server answered the close with %r"
          % ws.close_code)
    await within(asyncio.get_running_loop().run_in_executor(
        None, lambda: h.wait_until(lambda: srv.eofs >= 1, 5,
                                   what="backend EOF")), 10, "backend EOF")


def echo_once(gw, path="/tcp", msg=b"x"):
    ws = h.ws_connect_raw(gw.port, path=path)
    ws.send_frame(OP_BINARY, msg)
    got = b""
    while len(got) < len(msg):
        op, data = ws.read_message()
        check(op == OP_BINARY, "opcode %#x from tcp backend" % op)
        got += data
    check(got == msg, "echo through tcp: %r" % got)
    ws.close()


def test_fragments_stream_through():
    # Message payload is written to the backend as it arrives: the first
    # fragment comes back from the echo service before the message ends.
    srv = h.tcp_echo_server()
    gw = tcp_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/tcp")
    first = os.urandom(1000)
    ws.send_frame(OP_BINARY, first, fin=False)
    got = b""
    while len(got) < len(first):
        f = ws.read_frame(timeout=10)
        check(f.opcode in (OP_BINARY, h.OP_CONT), "frame %r" % f)
        got += f.payload
    check(got == first, "first fragment echoed differently")
    ws.send_frame(h.OP_CONT, b"end")
    got = b""
    while len(got) < 3:
        got += ws.read_frame(timeout=10).payload
    check(got == b"end", "last fragment echoed as %r" % got)


def test_backend_reset_gives_1011():
    # DESIGN.md: backend failure after the upgrade -> 1011 (a clean EOF
    # is 1000).
    def handler(c, server):
        if h.recv_some(c, server):
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            c.close()  # RST
    srv = h.TcpServer(handler)
    gw = tcp_gate(srv.port)
    ws = h.ws_connect_raw(gw.port, path="/tcp")
    ws.send_frame(OP_BINARY, b"go")
    ws.expect_close(1011)
    ws.expect_eof()


async def test_concurrent_tcp_clients():
    srv = h.tcp_echo_server()
    gw = tcp_gate(srv.port)

    async def client(n):
        data = os.urandom(100000 + n)
        async with ws_client(gw, "/tcp") as ws:
            async def send():
                for i in range(0, len(data), 7000):
                    await ws.send(data[i:i + 7000])
            got, _ = (await asyncio.gather(send(),
                                           recv_bytes(ws, len(data), 30)))[1]
            check(got == data, "client %d: stream differs" % n)

    await within(asyncio.gather(*(client(n) for n in range(40))), 60,
                 "40 concurrent tcp clients")
    check(srv.accepted == 40, "backend saw %d connections" % srv.accepted)


def test_round_robin_uses_both_servers():
    a, b = h.tcp_echo_server(), h.tcp_echo_server()
    gw = tcp_gate(a.port, b.port)
    for i in range(6):
        echo_once(gw, msg=b"conn %d" % i)
    print("    connections: server A %d, server B %d" % (a.accepted,
                                                         b.accepted))
    check(a.accepted >= 1 and b.accepted >= 1,
          "round robin over 6 connections: A got %d, B got %d"
          % (a.accepted, b.accepted))


def test_refused_server_is_skipped():
    dead = h.free_port()
    srv = h.tcp_echo_server()
    gw = tcp_gate(dead, srv.port)
    for i in range(4):
        echo_once(gw, msg=b"try %d" % i)
    check(srv.accepted == 4, "live server got %d of 4 connections"
          % srv.accepted)


async def test_text_frames_with_split_utf8():
    text = "ascii, é, €, 😀, 中文, ü — end"
    raw = text.encode("utf-8")
    # One byte per TCP write splits every multibyte character.
    pieces = [raw[i:i + 1] for i in range(len(raw))]
    srv = h.TcpServer(sender_handler(raw, pieces, delay=0.01))
    gw = tcp_gate(srv.port, frames="text")
    async with ws_client(gw, "/tcp") as ws:
        got, msgs = await recv_bytes(ws, len(raw), 20, want_type=str)
        check(got == raw, "text stream differs: %r" % got.decode())
        print("    %d bytes arrived in %d text messages" % (len(raw), msgs))
        try:
            extra = await within(ws.recv(), 10, "close after EOF")
            raise h.TestFailure("unexpected extra message %r" % extra)
        except websockets.exceptions.ConnectionClosed:
            pass
        check(ws.close_code == 1000, "close code %r" % ws.close_code)


def test_text_frames_with_invalid_utf8_is_1011():
    def handler(c, server):
        h.send_all(c, server, b"valid start \xff\xfe then junk")
        while h.recv_some(c, server):
            pass
        server.saw_eof()
    srv = h.TcpServer(handler)
    gw = tcp_gate(srv.port, frames="text")
    ws = h.ws_connect_raw(gw.port, path="/tcp")
    f = ws.expect_close(1011, skip_data=True)
    for fr in ws.frames[:-1]:
        check(fr.opcode in (OP_TEXT, h.OP_CONT, h.OP_PING, h.OP_PONG),
              "non-text data frame under frames: text: %r" % fr)
        if fr.opcode == OP_TEXT:
            fr.payload.decode("utf-8")  # what was sent must be valid
    check(f.close_code == 1011, "close code %r" % f.close_code)
    ws.expect_eof()
    h.wait_until(lambda: srv.eofs >= 1, 10,
                 what="backend connection closed after the 1011")


if __name__ == "__main__":
    h.main(globals())
