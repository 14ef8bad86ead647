"""Built-in echo backend with a real client (python3-websockets): text and
binary messages come back with the same type and payload, from empty up to
4 MiB; fragmented messages come back whole; many pipelined messages keep
their order; concurrent clients are independent; client pings are
answered; the client's close code is echoed; a client offering
permessage-deflate works uncompressed."""

import asyncio
import os
import random
import string

import harness as h
from harness import check, within, ws_client


def gate():
    return h.start_wsgate(h.config(
        [h.ECHO_ROUTE],
        limits={"max_message": "16MiB", "close_timeout": "2s"}))


async def roundtrip(ws, msg, timeout=10):
    await within(ws.send(msg), timeout, "send")
    got = await within(ws.recv(), timeout, "recv")
    check(type(got) is type(msg), "sent %s, got %s"
          % (type(msg).__name__, type(got).__name__))
    check(got == msg, "echo differs: sent %d %s, got %d"
          % (len(msg), type(msg).__name__, len(got)))


async def test_text_and_binary_roundtrip():
    gw = gate()
    async with ws_client(gw) as ws:
        for msg in ("", "hello", "ünïcødé € 😀 中文", "x" * 125, "y" * 126,
                    "z" * 65535, "w" * 65536,
                    b"", b"\x00", bytes(range(256)), os.urandom(70000)):
            await roundtrip(ws, msg)


async def test_large_messages():
    gw = gate()
    async with ws_client(gw) as ws:
        await roundtrip(ws, os.urandom(4 * h.MiB), 30)
        text = "".join(random.choice(string.ascii_letters + "äöü€")
                       for _ in range(4096)) * 1024
        await roundtrip(ws, text, 30)


async def test_fragmented_messages():
    gw = gate()
    async with ws_client(gw) as ws:
        await within(ws.send(["frag", "ment", "ed ", "ü€"]), 10, "send")
        got = await within(ws.recv(), 10, "recv")
        check(got == "fragmented ü€", "fragmented text: %r" % got)
        parts = [os.urandom(65536) for _ in range(64)]
        await within(ws.send(parts), 20, "send")
        got = await within(ws.recv(), 20, "recv")
        check(isinstance(got, bytes) and got == b"".join(parts),
              "64 x 64 KiB fragmented binary message came back different "
              "(%d bytes)" % len(got))


async def test_many_messages_keep_order():
    gw = gate()
    async with ws_client(gw) as ws:
        msgs = [("m%05d " % i) * (i % 50 + 1) for i in range(2000)]

        async def sender():
            for m in msgs:
                await ws.send(m)

        async def receiver():
            for i, m in enumerate(msgs):
                got = await ws.recv()
                check(got == m, "message %d out of order or changed" % i)

        await within(asyncio.gather(sender(), receiver()), 30,
                     "2000 pipelined messages")


async def test_concurrent_clients():
    gw = gate()

    async def client(n):
        async with ws_client(gw) as ws:
            for i in range(50):
                msg = "client %d message %d" % (n, i)
                await ws.send(msg if i % 2 else msg.encode())
                got = await ws.recv()
                check(got == (msg if i % 2 else msg.encode()),
                      "client %d got %r" % (n, got))

    await within(asyncio.gather(*(client(n) for n in range(20))), 30,
                 "20 concurrent clients")


async def test_ping_is_answered():
    gw = gate()
    async with ws_client(gw) as ws:
        for data in (b"", b"payload", "text ping"):
            waiter = await ws.ping(data)
            await within(waiter, 5, "pong for ping %r" % (data,))


async def test_close_code_is_echoed():
    gw = gate()
    for code, reason in ((1000, ""), (1001, "going"), (4001, "custom bye")):
        ws = await within(ws_client(gw), 10, "connect")
        await roundtrip(ws, "before close")
        await within(ws.close(code, reason), 10, "close handshake")
        check(ws.close_code == code, "closed with %d, server answered %r"
              % (code, ws.close_code))


async def test_compression_offer_is_declined():
    gw = gate()
    async with ws_client(gw, compression="deflate") as ws:
        check(not ws.extensions, "extensions negotiated: %r" % ws.extensions)
        await roundtrip(ws, "compressible " * 1000)
        await roundtrip(ws, b"\x00" * 100000)


if __name__ == "__main__":
    h.main(globals())
