"""Keepalive and idle timeout: with ping_interval 1s / pong_timeout 1s a
client that never answers receives ping(s), then close 1011, then the
server closes TCP; a conforming client (python websockets, which answers
pings) stays connected across several intervals, has been pinged, and
still echoes; a raw client that answers pings by hand stays too; with
idle_timeout 1s a connection without data messages gets close 1001 and is
closed, while one exchanging messages more often than that stays open."""

import asyncio
import logging
import time

import harness as h
from harness import check, within, ws_client, OP_PING, OP_PONG, OP_TEXT


def keepalive_gate():
    return h.start_wsgate(h.config(
        [h.ECHO_ROUTE],
        limits={"ping_interval": "1s", "pong_timeout": "1s",
                "close_timeout": "1s"}))


def idle_gate():
    return h.start_wsgate(h.config(
        [h.ECHO_ROUTE],
        limits={"ping_interval": 0, "idle_timeout": "1s",
                "close_timeout": "1s"}))


def test_unanswered_pings_close_with_1011():
    gw = keepalive_gate()
    ws = h.ws_connect_raw(gw.port)
    pings = 0
    deadline = time.monotonic() + 15
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "no close frame within 15s (%d pings seen)" % pings)
        f = ws.read_frame(left)
        if f.opcode == OP_PING:
            pings += 1
            continue
        check(f.opcode == h.OP_CLOSE, "unexpected frame %r" % f)
        check(f.close_code == 1011, "expected close 1011, got %r"
              % f.close_code)
        break
    check(pings >= 1, "closed without ever sending a ping")
    ws.expect_eof()


class _PingCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.pings = 0

    def emit(self, record):
        if record.getMessage().startswith("< PING"):
            self.pings += 1


async def test_answering_client_stays_connected():
    gw = keepalive_gate()
    log = logging.getLogger("websockets.client")
    counter = _PingCounter()
    old = log.level
    log.setLevel(logging.DEBUG)
    log.addHandler(counter)
    try:
        async with ws_client(gw) as ws:
            for i in range(4):  # about 4 ping intervals
                await asyncio.sleep(1.0)
                await within(ws.send("still there %d" % i), 5, "send")
                got = await within(ws.recv(), 5, "recv")
                check(got == "still there %d" % i, "echo %r" % got)
            check(ws.open, "connection closed: code %r" % ws.close_code)
            await asyncio.sleep(2.0)
            await within(ws.send("end"), 5, "send")
            check(await within(ws.recv(), 5, "recv") == "end", "final echo")
    finally:
        log.removeHandler(counter)
        log.setLevel(old)
    check(counter.pings >= 2, "the client saw only %d pings from wsgate in "
          "about 6 intervals" % counter.pings)


def test_raw_client_answering_pings_stays_connected():
    gw = keepalive_gate()
    ws = h.ws_connect_raw(gw.port)
    pings = 0
    end = time.monotonic() + 4.0
    while time.monotonic() < end:
        try:
            f = ws.read_frame(max(0.05, end - time.monotonic()))
        except h.FrameTimeout:
            continue  # read timeout: nothing arrived before `end`
        check(f.opcode == OP_PING, "unexpected frame %r" % f)
        pings += 1
        ws.send_frame(OP_PONG, f.payload)
    check(pings >= 2, "only %d pings in about 4 intervals" % pings)
    ws.send_frame(OP_TEXT, "alive")
    check(ws.read_message() == (OP_TEXT, b"alive"), "echo after 4s")


def test_idle_connection_is_closed_with_1001():
    gw = idle_gate()
    ws = h.ws_connect_raw(gw.port)
    ws.expect_close(1001, timeout=15, skip_data=False)
    ws.expect_eof()


def test_active_connection_is_not_idle():
    gw = idle_gate()
    ws = h.ws_connect_raw(gw.port)
    end = time.monotonic() + 3.0
    n = 0
    while time.monotonic() < end:
        ws.send_frame(OP_TEXT, "tick %d" % n)
        check(ws.read_message() == (OP_TEXT, b"tick %d" % n),
              "echo %d while active" % n)
        n += 1
        time.sleep(0.25)
    # Then silence: the idle timeout applies.
    ws.expect_close(1001, timeout=15, skip_data=False)
    ws.expect_eof()


if __name__ == "__main__":
    h.main(globals())
