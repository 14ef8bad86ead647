"""MQTT over WebSocket through a `type: tcp` route to Debian's mosquitto
(a private broker per test, on its own loopback port), with a small
MQTT 3.1.1 client written here that parses the WebSocket messages as one
byte stream (MQTT over WebSocket, MQTT 3.1.1 section 6: packets may span
messages, and a message may hold several packets).  It proves that
wsgate selects the "mqtt" subprotocol among the client's offers (and
answers 101 without one when "mqtt" is not offered, as wsgate.yaml(5)
says); that a retained message published through wsgate reaches a later
subscriber through wsgate with the retain flag and the exact payload;
that messages cross between a WebSocket client and Debian's
mosquitto_sub/mosquitto_pub on the broker's plain TCP port both ways at
QoS 1, the client's PUBACK reaching the broker (no redelivery after a
reconnect, while an unacknowledged message is redelivered with DUP); that
a 256 KiB PUBLISH sent in irregular pieces arrives reassembled from
several binary messages of at most 64 KiB; and that PINGREQ/PINGRESP keep
a session alive while the broker's keepalive closes a silent one, which
wsgate relays as close 1000."""

import asyncio
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import websockets

import harness as h
from harness import check, within, ws_client, KiB

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_SUB = "/usr/bin/mosquitto_sub"
MOSQUITTO_PUB = "/usr/bin/mosquitto_pub"

# MQTT 3.1.1 control packet types (section 2.2.1), high nibble of byte 1.
CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14


# ---------------------------------------------------------------------------
# The broker
# ---------------------------------------------------------------------------

class Mosquitto:
    """A private mosquitto in the foreground: its own config in a temp
    dir, a loopback listener on a free port (not 1883, so a system broker
    may run too), no persistence, log on stderr (kept in .output()), no
    pid file.  Stopped by PID after the test, pass or fail.

    Run as root (CI), mosquitto 2 drops to the user "mosquitto" once its
    listener is bound; the config says no "user root" on purpose: after
    the drop the broker needs no file (no persistence, no log file, the
    config already read), so the unprivileged user is enough."""

    def __init__(self, startup_timeout=10.0):
        self.dir = tempfile.mkdtemp(prefix="wsgate-it-mqtt-")
        h.on_cleanup(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self.proc = None
        # free_port() closes its socket before mosquitto binds: another
        # process may take the port in between, so try again then.
        for _ in range(3):
            if self._start(h.free_port(), startup_timeout):
                return
        raise h.TestFailure("mosquitto could not bind a port:\n"
                            + self.output())

    def _start(self, port, timeout):
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\n"
                    "allow_anonymous true\n"
                    "persistence false\n"
                    "log_dest stderr\n"
                    "log_type all\n"
                    "connection_messages true\n" % port)
        self.port = port
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.dir,
            preexec_fn=h._die_with_parent)
        self.pid = self.proc.pid
        h.on_cleanup(self.stop)
        self._out = h.ProcessOutput(self.proc)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self._out.join(5)
                if "Address already in use" in self.output():
                    return False
                raise h.TestFailure("mosquitto exited with status %r:\n%s"
                                    % (self.proc.returncode, self.output()))
            if re.search(r"mosquitto version \S+ running", self.output()):
                try:
                    socket.create_connection((h.HOST, port), 1).close()
                    return True
                except OSError:
                    pass
            if time.monotonic() >= deadline:
                raise h.TestFailure("mosquitto did not listen on port %d "
                                    "within %.0fs:\n%s"
                                    % (port, timeout, self.output()))
            time.sleep(0.02)

    def output(self):
        return self._out.text() if self.proc else ""

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s; by PID only."""
        h.terminate(self.proc)
        self._out.join(5)


def mqtt_route(path="/mqtt"):
    """The route of README.md's MQTT example."""
    return {"match": {"path": path}, "backend": "mqtt",
            "subprotocols": ["mqtt"], "frames": "binary"}


def broker_and_gate(routes=(), **limits):
    """A private broker and a wsgate with routes, then the MQTT route, to
    it."""
    broker = Mosquitto()
    lim = {"close_timeout": "2s"}
    lim.update(limits)
    gw = h.start_wsgate(h.config(
        list(routes) + [mqtt_route()], {"mqtt": h.tcp_backend(broker.port)},
        lim))
    return broker, gw


def client_process(argv):
    """A mosquitto_sub/mosquitto_pub child, stopped by PID after the test;
    returns (proc, ProcessOutput of stdout and stderr)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         preexec_fn=h._die_with_parent)

    def stop():
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(10)
    h.on_cleanup(stop)
    return p, h.ProcessOutput(p)


async def wait_process(p, out, timeout, what):
    """Waits (without blocking the event loop) for p to exit 0."""
    deadline = time.monotonic() + timeout
    while p.poll() is None:
        check(time.monotonic() < deadline, "%s still running after %.0fs:"
              "\n%s" % (what, timeout, out.text()))
        await asyncio.sleep(0.02)
    out.join(5)
    check(p.returncode == 0, "%s exited with %d:\n%s"
          % (what, p.returncode, out.text()))


# ---------------------------------------------------------------------------
# A minimal MQTT 3.1.1 client over WebSocket
# ---------------------------------------------------------------------------

def mqtt_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def varint(n):
    """Remaining Length (MQTT 3.1.1 section 2.2.3)."""
    out = bytearray()
    while True:
        n, d = n >> 7, n & 0x7F
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(ptype, flags, body=b""):
    return bytes([ptype << 4 | flags]) + varint(len(body)) + body


def connect_packet(client_id, keepalive=30, clean=True):
    var = mqtt_str("MQTT") + bytes([4, 0x02 if clean else 0]) \
        + struct.pack("!H", keepalive)
    return packet(CONNECT, 0, var + mqtt_str(client_id))


def publish_packet(topic, payload, qos=0, retain=False, pid=None, dup=False):
    flags = (dup << 3) | (qos << 1) | int(retain)
    body = mqtt_str(topic) + (struct.pack("!H", pid) if qos else b"")
    return packet(PUBLISH, flags, body + payload)


def subscribe_packet(pid, topic, qos):
    return packet(SUBSCRIBE, 0x2,
                  struct.pack("!H", pid) + mqtt_str(topic) + bytes([qos]))


def puback_packet(pid):
    return packet(PUBACK, 0, struct.pack("!H", pid))


PINGREQ_PACKET = packet(PINGREQ, 0)
DISCONNECT_PACKET = packet(DISCONNECT, 0)


class Publish:
    def __init__(self, flags, body):
        self.dup = bool(flags & 0x8)
        self.qos = (flags >> 1) & 3
        self.retain = bool(flags & 1)
        n = struct.unpack("!H", body[:2])[0]
        self.topic = body[2:2 + n].decode("utf-8")
        rest = body[2 + n:]
        self.pid = None
        if self.qos:
            self.pid = struct.unpack("!H", rest[:2])[0]
            rest = rest[2:]
        self.payload = bytes(rest)

    def __repr__(self):
        return "<PUBLISH %s qos=%d retain=%d dup=%d pid=%r %d bytes>" % (
            self.topic, self.qos, self.retain, self.dup, self.pid,
            len(self.payload))


class MqttWs:
    """An MQTT session over one WebSocket connection: every message must
    be binary; their bytes are one stream, cut into packets here."""

    def __init__(self, ws):
        self.ws = ws
        self.buf = bytearray()
        self.msg_sizes = []     # of every WebSocket message received

    async def send(self, data, pieces=None):
        """data as one binary message, or cut at the offsets in pieces."""
        if not pieces:
            await self.ws.send(data)
            return
        cuts = [0] + list(pieces) + [len(data)]
        for a, b in zip(cuts, cuts[1:]):
            await self.ws.send(data[a:b])

    def _parse(self):
        """(type, flags, body) of the first whole packet in buf, or None."""
        if len(self.buf) < 2:
            return None
        n, mult, i = 0, 1, 1
        while True:
            if i >= len(self.buf):
                return None
            check(i <= 4, "Remaining Length longer than 4 bytes: %r"
                  % bytes(self.buf[:8]))
            d = self.buf[i]
            n += (d & 0x7F) * mult
            mult <<= 7
            i += 1
            if not d & 0x80:
                break
        if len(self.buf) < i + n:
            return None
        first = self.buf[0]
        body = bytes(self.buf[i:i + n])
        del self.buf[:i + n]
        return first >> 4, first & 0xF, body

    async def read(self, timeout=5.0):
        """The next packet: (type, flags, body)."""
        async def loop():
            while True:
                p = self._parse()
                if p:
                    return p
                try:
                    m = await self.ws.recv()
                except websockets.ConnectionClosed as e:
                    raise h.TestFailure("connection closed (%s) while "
                                        "waiting for an MQTT packet" % e)
                check(isinstance(m, bytes), "broker bytes arrived in a %s "
                      "message" % type(m).__name__)
                self.msg_sizes.append(len(m))
                self.buf.extend(m)
        return await within(loop(), timeout, "reading an MQTT packet")

    async def expect(self, ptype, timeout=5.0):
        t, flags, body = await self.read(timeout)
        check(t == ptype, "expected packet type %d, got %d (flags %x, "
              "body %r)" % (ptype, t, flags, body[:40]))
        return flags, body

    async def connack(self):
        flags, body = await self.expect(CONNACK)
        check(len(body) == 2 and body[1] == 0,
              "CONNACK refused: %r" % body)
        return bool(body[0] & 1)        # session present

    async def suback(self, pid, qos):
        flags, body = await self.expect(SUBACK)
        check(body == struct.pack("!HB", pid, qos),
              "SUBACK %r, expected pid %d granted QoS %d" % (body, pid, qos))

    async def subscribe(self, pid, topic, qos):
        await self.send(subscribe_packet(pid, topic, qos))
        await self.suback(pid, qos)

    async def publish(self, topic, payload, qos=0, retain=False, pid=1,
                      pieces=None):
        """QoS 1 waits for the broker's PUBACK."""
        await self.send(publish_packet(topic, payload, qos, retain,
                                       pid if qos else None), pieces)
        if qos == 1:
            flags, body = await self.expect(PUBACK)
            check(body == struct.pack("!H", pid),
                  "PUBACK %r for pid %d" % (body, pid))

    async def receive(self, timeout=5.0):
        flags, body = await self.expect(PUBLISH, timeout)
        return Publish(flags, body)

    async def ping(self):
        await self.send(PINGREQ_PACKET)
        flags, body = await self.expect(PINGRESP)
        check(flags == 0 and body == b"", "bad PINGRESP")

    async def disconnect(self):
        """DISCONNECT: the broker closes its TCP connection and wsgate
        relays that as close 1000 (a tcp backend closed cleanly)."""
        await self.send(DISCONNECT_PACKET)
        await within(self.ws.wait_closed(), 5, "close after DISCONNECT")
        check(self.ws.close_code == 1000, "close code %r after DISCONNECT, "
              "expected 1000" % self.ws.close_code)


async def mqtt_open(gw, client_id, keepalive=30, clean=True,
                    subprotocols=("mqtt",)):
    """Connects through wsgate and completes CONNECT/CONNACK; returns
    (MqttWs, session present)."""
    ws = await ws_client(gw, "/mqtt", subprotocols=list(subprotocols))
    c = MqttWs(ws)
    await c.send(connect_packet(client_id, keepalive, clean))
    present = await c.connack()
    return c, present


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

async def test_subprotocol_negotiation():
    # README.md: "subprotocol: mqtt" in match refuses clients that do
    # not offer it (no route matches: 404).
    strict = {"match": {"path": "/strict/mqtt", "subprotocol": "mqtt"},
              "backend": "mqtt", "subprotocols": ["mqtt"]}
    broker, gw = broker_and_gate([strict])
    seen = []
    for offer, want in ((["mqtt"], "mqtt"), (["mqttv3.1", "mqtt"], "mqtt"),
                        (["mqtt", "mqttv3.1"], "mqtt")):
        c, _ = await mqtt_open(gw, "neg-%d" % len(seen), subprotocols=offer)
        check(c.ws.subprotocol == want, "offered %r, got %r"
              % (offer, c.ws.subprotocol))
        await c.ping()
        await c.disconnect()
        seen.append("%s -> %s" % (",".join(offer), c.ws.subprotocol))
    # wsgate.yaml(5): when the client offers none of the route's
    # subprotocols, or none at all, the 101 comes without a
    # Sec-WebSocket-Protocol (RFC 6455 section 4.2.2); names compare
    # case-sensitively.  The tunnel to the broker works all the same.
    for offer in ([], ["mqttv3.1"], ["MQTT"]):
        extra = [("Sec-WebSocket-Protocol", ", ".join(offer))] if offer \
            else []
        resp = h.http_request(gw.port, h.ws_request("/mqtt", extra=extra))
        check(resp.status == 101, "offered %r: %r" % (offer,
                                                      resp.status_line))
        check(resp.header("Sec-WebSocket-Protocol") is None,
              "offered %r, selected %r" % (
                  offer, resp.header("Sec-WebSocket-Protocol")))
        c, _ = await mqtt_open(gw, "none-%d" % len(seen), subprotocols=offer)
        check(c.ws.subprotocol is None, "offered %r, got %r"
              % (offer, c.ws.subprotocol))
        await c.ping()
        await c.disconnect()
        seen.append("%s -> none" % (",".join(offer) or "(no offer)"))
        resp = h.http_request(gw.port, h.ws_request("/strict/mqtt",
                                                    extra=extra))
        h.expect_error(resp, 404)
    resp = h.http_request(gw.port, h.ws_request(
        "/strict/mqtt", extra=[("Sec-WebSocket-Protocol", "mqttv3.1, mqtt")]))
    check(resp.status == 101
          and resp.header("Sec-WebSocket-Protocol") == "mqtt",
          "strict route offered mqtt: %r %r" % (resp.status_line,
                                                 resp.headers))
    seen.append("match subprotocol: 404 without mqtt, 101 with it")
    print("note: mqtt: subprotocols: " + "; ".join(seen), flush=True)


async def test_retained_message_reaches_later_subscriber():
    broker, gw = broker_and_gate()
    payload = bytes(range(256)) * 4 + "é\u20ac".encode("utf-8")
    early, _ = await mqtt_open(gw, "early")
    await early.subscribe(1, "wsgate/retained/#", 1)
    pub, _ = await mqtt_open(gw, "publisher")
    t0 = time.monotonic()
    await pub.publish("wsgate/retained/t", payload, qos=1, retain=True,
                      pid=7)
    await pub.disconnect()
    # A subscriber that was there gets it live: retain flag clear
    # (MQTT 3.1.1 section 3.3.1.3).
    m = await early.receive()
    check((m.topic, m.payload, m.retain, m.qos) ==
          ("wsgate/retained/t", payload, False, 1),
          "live copy: %r" % m)
    await early.send(puback_packet(m.pid))
    # A new subscriber gets the stored copy: retain flag set.
    late, _ = await mqtt_open(gw, "late")
    await late.subscribe(3, "wsgate/retained/#", 1)
    m = await late.receive()
    dt = time.monotonic() - t0
    check(m.topic == "wsgate/retained/t" and m.retain and m.qos == 1,
          "retained copy: %r" % m)
    check(m.payload == payload, "retained payload differs: %d bytes, %r"
          % (len(m.payload), m.payload[:40]))
    await late.send(puback_packet(m.pid))
    await late.ping()
    await late.disconnect()
    await early.disconnect()
    print("note: mqtt: retained: %d-byte payload published through wsgate, live copy "
          "retain=0, later subscriber got retain=1 and the same bytes in "
          "%.0f ms" % (len(payload), dt * 1000), flush=True)


async def test_interop_with_mosquitto_clients():
    broker, gw = broker_and_gate()
    base = ["-h", h.HOST, "-p", str(broker.port), "-V", "mqttv311"]

    # WebSocket -> mosquitto_sub on the plain TCP port.
    to_tcp = os.urandom(64) + b"\x00from-ws\xff"
    sub, sub_out = client_process(
        [MOSQUITTO_SUB] + base + ["-i", "tcp-sub", "-t", "interop/from-ws",
                                  "-q", "1", "-C", "1", "-W", "10",
                                  "-F", "MSG %t %q %r %x"])
    # Its stdout is a pipe, so block buffered: the broker's log says
    # when the subscription is in place.
    h.wait_until(lambda: "Sending SUBACK to tcp-sub" in broker.output(),
                 10, what="mosquitto_sub's SUBACK in the broker's log")
    ws_pub, _ = await mqtt_open(gw, "ws-pub")
    await ws_pub.publish("interop/from-ws", to_tcp, qos=1, pid=11)
    await wait_process(sub, sub_out, 10, "mosquitto_sub")
    m = re.search(r"^MSG (\S+) (\d) (\d) ([0-9a-f]*)$", sub_out.text(), re.M)
    check(m is not None, "no message line from mosquitto_sub:\n%s"
          % sub_out.text())
    check(m.groups() == ("interop/from-ws", "1", "0", to_tcp.hex()),
          "mosquitto_sub got %r, expected QoS 1 %s" % (m.groups(),
                                                        to_tcp.hex()))
    await ws_pub.disconnect()

    # mosquitto_pub on the plain TCP port -> WebSocket, QoS 1 both legs,
    # in a persistent session so that the broker's view of our PUBACK
    # can be checked after a reconnect.
    ws_sub, present = await mqtt_open(gw, "ws-sub", clean=False)
    check(not present, "fresh broker, yet a session was present")
    await ws_sub.subscribe(2, "interop/to-ws", 1)
    files = []
    for i in range(2):
        path = os.path.join(broker.dir, "payload%d" % i)
        data = os.urandom(100) + b"\x00from-tcp-%d" % i
        with open(path, "wb") as f:
            f.write(data)
        files.append(data)
        p, out = client_process([MOSQUITTO_PUB] + base + [
            "-i", "tcp-pub-%d" % i, "-t", "interop/to-ws", "-q", "1",
            "-f", path])
        await wait_process(p, out, 10, "mosquitto_pub")
    first = await ws_sub.receive()
    check(first.qos == 1 and not first.dup and first.payload == files[0],
          "first message from mosquitto_pub: %r %r" % (first, first.payload))
    await ws_sub.send(puback_packet(first.pid))
    second = await ws_sub.receive()
    check(second.qos == 1 and second.payload == files[1],
          "second message from mosquitto_pub: %r" % second)
    # The second is left unacknowledged on purpose.  PINGRESP comes after
    # the broker has read the PUBACK that precedes the PINGREQ.
    await ws_sub.ping()
    await ws_sub.disconnect()
    again, present = await mqtt_open(gw, "ws-sub", clean=False)
    check(present, "persistent session not present after reconnect")
    await again.send(PINGREQ_PACKET)
    redelivered = []
    while True:
        t, flags, body = await again.read()
        if t == PINGRESP:
            break
        check(t == PUBLISH, "unexpected packet type %d" % t)
        redelivered.append(Publish(flags, body))
    check(len(redelivered) == 1 and redelivered[0].dup
          and redelivered[0].payload == files[1],
          "after reconnect the broker sent %r; expected only the "
          "unacknowledged message, with DUP" % redelivered)
    await again.send(puback_packet(redelivered[0].pid))
    await again.ping()
    await again.disconnect()
    print("note: mqtt: interop: ws -> mosquitto_sub QoS 1 (%d bytes, PUBACK from "
          "broker); mosquitto_pub -> ws QoS 1 x2 (%d+%d bytes); after "
          "reconnect only the un-PUBACKed one came back, DUP set"
          % (len(to_tcp), len(files[0]), len(files[1])), flush=True)


async def test_large_payload_split_over_messages():
    broker, gw = broker_and_gate()
    payload = os.urandom(256 * KiB)
    sub_ws = await ws_client(gw, "/mqtt", subprotocols=["mqtt"])
    sub = MqttWs(sub_ws)
    # Two packets in one WebSocket message: CONNECT and SUBSCRIBE.
    await sub.send(connect_packet("big-sub") + subscribe_packet(5, "big", 1))
    await sub.connack()
    await sub.suback(5, 1)
    pub, _ = await mqtt_open(gw, "big-pub")
    data = publish_packet("big", payload, qos=1, pid=9)
    # Client side: cut inside the fixed header, inside the Remaining
    # Length, inside the topic, and at odd places in the payload; the
    # last message also carries a whole PINGREQ.
    cuts = [1, 3, 6, 10, 4099, 70000, 131073, 200001]
    before = len(sub.msg_sizes)
    t0 = time.monotonic()
    await pub.send(data + PINGREQ_PACKET, cuts)
    flags, body = await pub.expect(PUBACK)
    check(body == struct.pack("!H", 9), "PUBACK %r" % body)
    await pub.expect(PINGRESP)
    m = await sub.receive(timeout=10)
    dt = time.monotonic() - t0
    check(m.topic == "big" and m.qos == 1, "big message: %r" % m)
    check(hashlib.sha256(m.payload).digest()
          == hashlib.sha256(payload).digest(),
          "payload differs: %d bytes received" % len(m.payload))
    # Broker side: wsgate sends what each TCP read gave, at most 64 KiB.
    sizes = sub.msg_sizes[before:]
    check(max(sizes) <= 64 * KiB, "a message of %d bytes, over 64 KiB"
          % max(sizes))
    check(len(sizes) >= 5, "PUBLISH of %d bytes arrived in only %d "
          "messages" % (len(data), len(sizes)))
    await sub.send(puback_packet(m.pid))
    await sub.ping()
    await pub.disconnect()
    await sub.disconnect()
    print("note: mqtt: large: %d-byte PUBLISH sent in %d messages, received in %d "
          "(largest %d bytes), SHA-256 equal, %.0f ms"
          % (len(data), len(cuts) + 1, len(sizes), max(sizes),
             dt * 1000), flush=True)


async def test_keepalive_pings():
    broker, gw = broker_and_gate()
    # keepalive 1s: mosquitto drops a client silent for 1.5 times that
    # (MQTT 3.1.1 section 3.1.2.10).
    c, _ = await mqtt_open(gw, "pinger", keepalive=1)
    rtts = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.0:
        t = time.monotonic()
        await c.ping()
        rtts.append(time.monotonic() - t)
        await asyncio.sleep(0.4)
    kept = time.monotonic() - t0
    # Now silent: the broker closes, wsgate relays its FIN as close 1000.
    t1 = time.monotonic()
    await within(c.ws.wait_closed(), 10, "the broker's keepalive close")
    silent = time.monotonic() - t1
    check(c.ws.close_code == 1000, "close code %r after the broker's "
          "keepalive close" % c.ws.close_code)
    check(silent >= 1.0, "closed after %.2fs of silence, before the "
          "keepalive of 1s ran out" % silent)
    h.wait_until(lambda: re.search(r"Client pinger has exceeded timeout",
                                   broker.output()), 5,
                 what="mosquitto's keepalive log line")
    print("note: mqtt: keepalive 1s: %d PINGREQ/PINGRESP over %.1fs (max rtt %.1f ms) "
          "kept the session; silent, closed by the broker after %.1fs, "
          "relayed as 1000" % (len(rtts), kept, max(rtts) * 1000, silent),
          flush=True)


if __name__ == "__main__":
    h.main(globals())
