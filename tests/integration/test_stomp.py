"""STOMP end to end through wsgate with Debian's RabbitMQ.

One private RabbitMQ node (rabbitmq.py: its own directories, node name,
epmd and loopback ports) serves the whole file.  wsgate runs the
README's example configuration: /web-stomp, a `websocket` route to the
rabbitmq_web_stomp plugin (its offers filtered, the broker chooses), and
/stomp, a `tcp` route to the rabbitmq_stomp plugin's plain port (wsgate
chooses, websockify style).  The client is python3-websockets speaking
real STOMP frames (stomp.js style: every frame is a text message; what
comes back is parsed as a byte stream, since a tcp route cuts the
broker's bytes anywhere).
"""

import os
import random
import re
import time

import websockets

import harness
from harness import check, within
import rabbitmq

SUBPROTOCOLS = ["v12.stomp", "v11.stomp", "v10.stomp"]

# The README's example ("Routing to a TCP service: VNC, STOMP, MQTT"),
# run here with the private node's ports in place of the default ones;
# test_readme_example checks that the README still shows exactly this.
README_EXAMPLE = """\
backends:
  stomp:                   # rabbitmq_stomp: STOMP on a TCP port
    type: tcp
    servers: ["127.0.0.1:61613"]
  web-stomp:               # rabbitmq_web_stomp: STOMP over WebSocket
    type: websocket
    servers: ["127.0.0.1:15674"]
    path: /ws
routes:
  - match: { path_exact: /stomp }        # wsgate selects the version
    backend: stomp
    subprotocols: [v12.stomp, v11.stomp, v10.stomp]
    frames: text
  - match: { path_exact: /web-stomp }    # /ws on the broker, which selects
    backend: web-stomp
    strip_prefix: true
    subprotocols: [v12.stomp, v11.stomp, v10.stomp]
"""

# ---------------------------------------------------------------------------
# The broker, once per file
# ---------------------------------------------------------------------------

_broker = None
_broker_error = None


def broker():
    """The file's RabbitMQ node, started by the first test that needs it
    (a failed start fails every test at once, without a second try)."""
    global _broker, _broker_error
    if _broker_error is not None:
        raise harness.TestFailure("RabbitMQ did not start: " + _broker_error)
    if _broker is None:
        check(rabbitmq.available(), "rabbitmq-server is not installed "
              "(scripts/install-deps.sh test)")
        try:
            _broker = rabbitmq.RabbitMQ()
        except Exception:
            _broker_error = "see the first test's failure"
            raise
        print("RabbitMQ %s started in %.1fs (STOMP %d, Web-STOMP %d)"
              % (_broker.node, _broker.startup_seconds, _broker.stomp_port,
                 _broker.web_stomp_port), flush=True)
    return _broker


def start_gateway():
    """wsgate on the README example, pointed at the private node."""
    b = broker()
    text = (README_EXAMPLE.replace("127.0.0.1:61613",
                                   "127.0.0.1:%d" % b.stomp_port)
            .replace("127.0.0.1:15674", "127.0.0.1:%d" % b.web_stomp_port))
    return harness.start_wsgate("listen:\n  - address: \"127.0.0.1:0\"\n"
                                "log: { level: debug }\n" + text)


# ---------------------------------------------------------------------------
# A STOMP client over WebSocket
# ---------------------------------------------------------------------------

class Frame:
    def __init__(self, command, headers, body):
        self.command = command
        self.headers = headers      # dict; the first of repeated headers
        self.body = body            # bytes
        self.pieces = 0             # WebSocket messages it came in

    def __getitem__(self, name):
        check(name in self.headers, "%s frame without a %r header: %r"
              % (self.command, name, self))
        return self.headers[name]

    def __repr__(self):
        body = self.body if len(self.body) <= 200 else \
            self.body[:200] + b"...(%d bytes)" % len(self.body)
        return "<%s %r %r>" % (self.command, self.headers, body)


_UNESCAPE = {"\\n": "\n", "\\r": "\r", "\\c": ":", "\\\\": "\\"}


def _unescape(s):
    return re.sub(r"\\[nrc\\]", lambda m: _UNESCAPE[m.group(0)], s)


class Stomp:
    """One STOMP session over a websockets client connection."""

    def __init__(self, ws, name):
        self.ws = ws
        self.name = name
        self.buf = bytearray()
        self.version = None
        self.sent = self.received = 0       # frames
        self.bytes_out = self.bytes_in = 0  # STOMP bytes
        self.messages_in = 0                # WebSocket messages
        self._pieces = 0    # messages that brought the frame being read

    async def send(self, command, headers=(), body=b""):
        head = [command] + ["%s:%s" % hv for hv in headers]
        if body:
            head.append("content-length:%d" % len(body))
        data = ("\n".join(head) + "\n\n").encode("utf-8") + body + b"\0"
        await self.ws.send(data.decode("utf-8"))    # a text message
        self.sent += 1
        self.bytes_out += len(data)

    def _parse(self):
        """A whole frame off the front of buf, or None."""
        while self.buf[:1] in (b"\n", b"\r"):   # heart-beats, EOLs
            del self.buf[:1]
        end = self.buf.find(b"\n\n")
        if end < 0:
            return None
        lines = self.buf[:end].decode("utf-8").replace("\r\n", "\n") \
            .split("\n")
        command, headers = lines[0], {}
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            check(sep, "bad STOMP header line %r" % line)
            if self.version in ("1.1", "1.2") and command != "CONNECTED":
                k, v = _unescape(k), _unescape(v)
            headers.setdefault(k, v)
        start = end + 2
        if "content-length" in headers:
            stop = start + int(headers["content-length"])
            if len(self.buf) <= stop:
                return None
            check(self.buf[stop] == 0, "no NUL after content-length bytes")
        else:
            stop = self.buf.find(b"\0", start)
            if stop < 0:
                return None
        body = bytes(self.buf[start:stop])
        self.bytes_in += stop + 1
        del self.buf[:stop + 1]
        return Frame(command, headers, body)

    async def frame(self, timeout=10):
        """The next frame from the broker."""
        while True:
            f = self._parse()
            if f is not None:
                self.received += 1
                f.pieces = max(self._pieces, 1)
                self._pieces = 1 if self.buf.strip(b"\r\n") else 0
                return f
            msg = await within(self.ws.recv(), timeout,
                               "%s: next STOMP frame" % self.name)
            check(isinstance(msg, str), "%s: the broker's STOMP came in a "
                  "binary message: %r" % (self.name, msg[:100]))
            self.messages_in += 1
            self._pieces += 1
            self.buf += msg.encode("utf-8")

    async def expect(self, command, timeout=10):
        f = await self.frame(timeout)
        check(f.command == command, "%s: expected %s, got %r"
              % (self.name, command, f))
        return f

    async def connect(self, accept_version):
        await self.send("CONNECT", [("accept-version", accept_version),
                                    ("host", "/"), ("login", "guest"),
                                    ("passcode", "guest"),
                                    ("heart-beat", "0,0")])
        f = await self.expect("CONNECTED")
        self.version = f.headers.get("version", "1.0")
        check(f.headers.get("server", "").startswith("RabbitMQ/"),
              "%s: CONNECTED is not RabbitMQ's: %r" % (self.name, f))
        return f

    async def subscribe(self, sub_id, destination, ack="auto"):
        """SUBSCRIBE, waiting for its RECEIPT (so that a topic
        subscription exists before anything is sent to it)."""
        await self.send("SUBSCRIBE", [("id", sub_id),
                                      ("destination", destination),
                                      ("ack", ack),
                                      ("receipt", "sub-" + sub_id)])
        f = await self.expect("RECEIPT")
        check(f["receipt-id"] == "sub-" + sub_id, "%s: receipt %r for "
              "SUBSCRIBE %s" % (self.name, f, sub_id))

    async def ack(self, msg):
        if self.version == "1.2":
            await self.send("ACK", [("id", msg["ack"])])
        elif self.version == "1.1":
            await self.send("ACK", [("message-id", msg["message-id"]),
                                    ("subscription", msg["subscription"])])
        else:
            await self.send("ACK", [("message-id", msg["message-id"])])

    async def unsubscribe(self, sub_id):
        """UNSUBSCRIBE, waiting for its RECEIPT: every earlier frame, ACKs
        included, was accepted (an ERROR would have come first)."""
        await self.send("UNSUBSCRIBE", [("id", sub_id),
                                        ("receipt", "unsub-" + sub_id)])
        f = await self.frame()
        check(f.command == "RECEIPT" and f["receipt-id"] == "unsub-"
              + sub_id, "%s: expected RECEIPT unsub-%s, got %r"
              % (self.name, sub_id, f))

    async def disconnect(self):
        """DISCONNECT with a receipt, then the broker closes.  Returns
        (RECEIPT seen, close code, close reason).  RabbitMQ 3.10's
        Web-STOMP closes (1000 "STOMP died") without sending the RECEIPT,
        also when reached directly; its plain STOMP port sends it."""
        await self.send("DISCONNECT", [("receipt", "bye")])
        receipt = False
        while True:
            try:
                f = await self.frame()
            except websockets.exceptions.ConnectionClosed:
                break
            check(f.command == "RECEIPT" and f["receipt-id"] == "bye",
                  "%s: expected RECEIPT bye, got %r" % (self.name, f))
            receipt = True
        await within(self.ws.wait_closed(), 10,
                     "%s: close after DISCONNECT" % self.name)
        return receipt, self.ws.close_code, self.ws.close_reason


def check_disconnect(mode, result):
    """What DISCONNECT must end with: through the tcp route the RECEIPT,
    then close 1000 (the broker closed its TCP connection cleanly);
    through the websocket route the broker's own close, 1000, relayed by
    wsgate (with the RECEIPT if the broker sends one).  A short account
    for the figures."""
    receipt, code, reason = result
    if mode == "tcp":
        check(receipt and code == 1000, "tcp route: DISCONNECT ended with "
              "receipt=%r, close %r %r" % (receipt, code, reason))
    else:
        check(code == 1000, "websocket route: DISCONNECT ended with "
              "receipt=%r, close %r %r" % (receipt, code, reason))
    return "%s%s%s" % ("RECEIPT, " if receipt else "", code,
                        " %r" % reason if reason else "")


def ws_connect(gw, path, subprotocols):
    return harness.ws_client(gw, path, subprotocols=subprotocols)


def protocol_header(ws):
    """The Sec-WebSocket-Protocol values of the 101 the client got."""
    return ws.response_headers.get_all("Sec-WebSocket-Protocol")


def text_payload(n, seed):
    """About n bytes of NUL-free UTF-8: ASCII with 2-, 3- and 4-byte
    characters mixed in, so that a tcp route's cuts fall everywhere."""
    rnd = random.Random(seed)
    alphabet = ("abcdefghijklmnopqrstuvwxyz0123456789 \n:\\"
                "\u00e9\u00fc\u00df\u0436\u4e2d\u6587\U0001F680")
    out, size = [], 0
    while size < n:
        c = rnd.choice(alphabet)
        out.append(c)
        size += len(c.encode("utf-8"))
    return "".join(out).encode("utf-8")


def version_of(subprotocol):
    """v12.stomp -> 1.2"""
    return "%s.%s" % (subprotocol[1], subprotocol[2])


ROUTES = [("/web-stomp", "websocket"), ("/stomp", "tcp")]

# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


def test_readme_example():
    """The README shows the configuration these tests run."""
    with open(os.path.join(harness.ROOT, "README.md")) as f:
        readme = f.read()
    check(README_EXAMPLE in readme, "README.md no longer contains the "
          "STOMP example test_stomp.py runs:\n" + README_EXAMPLE)
    status, out, err, _ = harness.run_wsgate(
        ["-t", "-c", "{config}"],
        config_text="listen:\n  - address: \"127.0.0.1:0\"\n"
        + README_EXAMPLE)
    check(status == 0, "wsgate -t on the README example: %d %s%s"
          % (status, out, err))
    print("note: stomp: README example (%d lines) found and accepted by "
          "wsgate -t" % README_EXAMPLE.count("\n"))


def test_broker():
    """The private node is up: its plain STOMP port answers a CONNECT from
    guest on loopback with RabbitMQ's CONNECTED, directly."""
    b = broker()
    s = harness.connect(b.stomp_port)
    s.sendall(b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\n"
              b"passcode:guest\n\n\0")
    buf = bytearray()
    harness.read_until(s, buf, b"\0", 10)
    check(buf.startswith(b"CONNECTED\n") and b"server:RabbitMQ/" in buf
          and b"version:1.2\n" in buf, "direct CONNECT got %r" % buf)
    print("note: stomp: RabbitMQ node %s up in %.1fs (own epmd on %d; AMQP %d, "
          "STOMP %d, Web-STOMP %d on 127.0.0.1); direct CONNECT answered"
          % (b.node, b.startup_seconds, b.epmd_port, b.amqp_port,
             b.stomp_port, b.web_stomp_port))


async def _queue_and_topic(gw, path, mode):
    """CONNECT, SUBSCRIBE to a queue (client ack) and a topic, SEND three
    bodies to each, receive each MESSAGE with its exact body, ACK,
    UNSUBSCRIBE (receipts), DISCONNECT with a receipt.  Returns the
    largest MESSAGE received."""
    tag = "%s-%d" % (mode, os.getpid())
    queue, topic = "/queue/wsgate-%s" % tag, "/topic/wsgate.%s" % tag
    bodies = [b"hello through wsgate",
              "h\u00e9llo w\u00f6rld \u2014 \u4f60\u597d, \u043c\u0438\u0440 "
              "\U0001F680".encode("utf-8"),
              text_payload(100 * harness.KiB, mode)]
    t0 = time.monotonic()
    async with ws_connect(gw, path, SUBPROTOCOLS) as ws:
        check(ws.subprotocol == "v12.stomp", "%s route: subprotocol %r"
              % (mode, ws.subprotocol))
        st = Stomp(ws, mode)
        await st.connect("1.2")
        check(st.version == "1.2", "CONNECTED version %r" % st.version)
        await st.subscribe("q", queue, ack="client-individual")
        await st.subscribe("t", topic)
        for i, body in enumerate(bodies):
            for dest in (queue, topic):
                await st.send("SEND", [("destination", dest),
                                       ("content-type",
                                        "text/plain;charset=utf-8"),
                                       ("x-seq", str(i))], body)
        got = {"q": [], "t": []}
        while len(got["q"]) + len(got["t"]) < 2 * len(bodies):
            m = await st.expect("MESSAGE")
            got[m["subscription"]].append(m)
            check(m["destination"] == (queue if m["subscription"] == "q"
                                       else topic), "MESSAGE %r" % m)
            if m["subscription"] == "q":
                await st.ack(m)
        for sub in ("q", "t"):
            check([m.body for m in got[sub]] == bodies,
                  "%s route, subscription %s: bodies differ: %r"
                  % (mode, sub, got[sub]))
            check([m["x-seq"] for m in got[sub]] == ["0", "1", "2"],
                  "custom header lost: %r" % got[sub])
        await st.unsubscribe("q")
        await st.unsubscribe("t")
        end = check_disconnect(mode, await st.disconnect())
    dt = time.monotonic() - t0
    big = max(got["q"] + got["t"], key=lambda m: len(m.body))
    print("note: stomp: %s route: %d frames out (%d B), %d in (%d B) in %d "
          "WebSocket messages, 3 bodies (up to %d B, that MESSAGE in %d "
          "messages) each via a queue and a topic, 3 ACKs, DISCONNECT: "
          "%s, %.0f ms"
          % (mode, st.sent, st.bytes_out, st.received, st.bytes_in,
             st.messages_in, len(big.body), big.pieces, end, dt * 1000))
    return big


async def test_websocket_route_queue_and_topic():
    """Through the websocket route to Web-STOMP: the whole STOMP 1.2
    session."""
    gw = start_gateway()
    await _queue_and_topic(gw, "/web-stomp", "websocket")


async def test_tcp_route_queue_and_topic():
    """Through the tcp route to the plain STOMP port: the same session,
    the broker's bytes cut into text messages by wsgate (the 100 KiB
    MESSAGE spans several)."""
    gw = start_gateway()
    big = await _queue_and_topic(gw, "/stomp", "tcp")
    check(big.pieces >= 2, "a %d-byte MESSAGE came in %d message(s)"
          % (len(big.body), big.pieces))


async def _negotiate(gw, path, offer, accept_version=None):
    """Connects offering offer; CONNECTs with the version the chosen
    subprotocol names (or accept_version); returns (subprotocol, the
    101's Sec-WebSocket-Protocol values, CONNECTED's version)."""
    async with ws_connect(gw, path, offer) as ws:
        st = Stomp(ws, path)
        av = accept_version or (version_of(ws.subprotocol)
                                if ws.subprotocol else "1.0,1.1,1.2")
        f = await st.connect(av)
        check_disconnect("tcp" if path == "/stomp" else "websocket",
                         await st.disconnect())
        return ws.subprotocol, protocol_header(ws), f.headers.get("version")


async def test_subprotocol_negotiation():
    """Which STOMP version each mode selects, and that a client that
    CONNECTs with that version gets it in CONNECTED.  tcp route: wsgate
    selects the client's first offer that the route lists (client order).
    websocket route: the offers go to Web-STOMP, which selects the newest
    (its own order).  Either way the subprotocol is only a label: the
    STOMP version comes from CONNECT's accept-version (the selection is
    not passed to a tcp backend)."""
    gw = start_gateway()
    cases = [
        ("/stomp", ["v10.stomp", "v11.stomp", "v12.stomp"], "v10.stomp"),
        ("/stomp", ["v12.stomp", "v11.stomp", "v10.stomp"], "v12.stomp"),
        ("/stomp", ["v11.stomp"], "v11.stomp"),
        ("/stomp", ["mqtt", "v11.stomp"], "v11.stomp"),
        ("/web-stomp", ["v10.stomp", "v11.stomp", "v12.stomp"], "v12.stomp"),
        ("/web-stomp", ["v11.stomp", "v10.stomp"], "v11.stomp"),
        ("/web-stomp", ["v10.stomp"], "v10.stomp"),
        ("/web-stomp", ["mqtt", "v11.stomp"], "v11.stomp"),
    ]
    seen = []
    for path, offer, want in cases:
        sp, hdr, version = await _negotiate(gw, path, offer)
        check(sp == want and hdr == [want], "%s offering %r: subprotocol "
              "%r (header %r), expected %s" % (path, offer, sp, hdr, want))
        check(version == version_of(want), "%s offering %r: got %s but "
              "CONNECTED says version %r" % (path, offer, sp, version))
        seen.append("%s [%s] %s" % (path, ",".join(offer), version))
    # The label does not bind the broker: v10.stomp, then a CONNECT that
    # accepts every version, gets STOMP 1.2 in both modes.
    for path in ("/stomp", "/web-stomp"):
        sp, hdr, version = await _negotiate(gw, path, ["v10.stomp"],
                                            "1.0,1.1,1.2")
        check(sp == "v10.stomp" and version == "1.2",
              "%s: v10.stomp with accept-version 1.0,1.1,1.2: %r %r"
              % (path, sp, version))
    print("note: stomp: %d negotiations, each CONNECTED with the selected "
          "version: %s; v10.stomp with accept-version 1.0,1.1,1.2 -> 1.2 "
          "on both routes" % (len(cases), "; ".join(seen)))


async def test_unknown_subprotocol():
    """A client offering only subprotocols the route does not list
    (mqtt, v13.stomp) gets a 101 without Sec-WebSocket-Protocol in both
    modes (wsgate.yaml(5), subprotocols: the tcp route selects none, the
    websocket route passes no offer on and Web-STOMP then selects none),
    and STOMP works: RabbitMQ negotiates from accept-version alone.  No
    offer at all behaves the same."""
    gw = start_gateway()
    seen = []
    for path, _ in ROUTES:
        for offer in (["mqtt"], ["v13.stomp"], None):
            sp, hdr, version = await _negotiate(gw, path, offer,
                                                "1.0,1.1,1.2")
            check(sp is None and hdr == [], "%s offering %r: subprotocol "
                  "%r (header %r), expected none" % (path, offer, sp, hdr))
            check(version == "1.2", "%s offering %r: CONNECTED version %r"
                  % (path, offer, version))
            seen.append("%s %s" % (path, offer))
    print("note: stomp: %d connections offering only unknown or no "
          "subprotocols: 101 without Sec-WebSocket-Protocol, STOMP 1.2 "
          "CONNECTED (%s)" % (len(seen), "; ".join(seen)))


async def test_cross_mode():
    """Both routes reach the same broker: a message SENT through the tcp
    route reaches a subscriber connected through the websocket route, and
    one SENT through the websocket route reaches a tcp-route subscriber."""
    gw = start_gateway()
    tag = os.getpid()
    body1 = "tcp \u2192 websocket ".encode("utf-8") + text_payload(
        20 * harness.KiB, "x1")
    body2 = "websocket \u2192 tcp ".encode("utf-8") + text_payload(
        20 * harness.KiB, "x2")
    queue = "/queue/wsgate-cross-%d" % tag
    topic = "/topic/wsgate.cross.%d" % tag
    async with ws_connect(gw, "/web-stomp", SUBPROTOCOLS) as wws, \
            ws_connect(gw, "/stomp", SUBPROTOCOLS) as tws:
        w, t = Stomp(wws, "websocket"), Stomp(tws, "tcp")
        await w.connect("1.2")
        await t.connect("1.2")
        await w.subscribe("wq", queue)
        await t.subscribe("tt", topic)
        await t.send("SEND", [("destination", queue),
                              ("x-via", "tcp-route")], body1)
        await w.send("SEND", [("destination", topic),
                              ("x-via", "websocket-route")], body2)
        m1 = await w.expect("MESSAGE")
        m2 = await t.expect("MESSAGE")
        check(m1.body == body1 and m1["x-via"] == "tcp-route"
              and m1["destination"] == queue,
              "websocket subscriber got %r" % m1)
        check(m2.body == body2 and m2["x-via"] == "websocket-route"
              and m2["destination"] == topic, "tcp subscriber got %r" % m2)
        ends = (check_disconnect("websocket", await w.disconnect()),
                check_disconnect("tcp", await t.disconnect()))
    print("note: stomp: %d B tcp route -> queue -> websocket route, %d B "
          "websocket route -> topic -> tcp route; DISCONNECT: %s / %s"
          % ((len(body1), len(body2)) + ends))


if __name__ == "__main__":
    try:
        harness.main(globals())
    finally:
        if _broker is not None:
            t0 = time.monotonic()
            _broker.stop()
            print("RabbitMQ stopped in %.1fs" % (time.monotonic() - t0),
                  flush=True)
