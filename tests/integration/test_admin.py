"""The admin listener (admin.address): after known traffic (echo sessions
with messages of known sizes, a 404, a session through a WebSocket
server, one through a TCP service), /metrics holds exactly the expected
values, in a Prometheus text exposition that parses (HELP and TYPE for
every family, escaped label values, cumulative histograms); /sessions
lists the open sessions of every worker with their route, backend,
server, state and counters, and forgets them once closed; /healthz says
ok, then 503 once a shutdown began; other paths get 404, other methods
405; the admin port serves no WebSocket and the WebSocket port no admin
page; a non-loopback admin address is warned of; -t checks admin:."""

import asyncio
import http.client
import json
import re
import signal
import socket

import harness as h
from harness import check, within, ws_client

ECHO_SIZES = (10, 100, 1000, 5)     # bytes of the messages per session


def gate(backends=None, routes=(), workers=2, limits=None):
    doc = h.config([h.ECHO_ROUTE] + list(routes), backends=backends,
                   limits=limits)
    return h.start_wsgate(doc + "admin: { address: \"127.0.0.1:0\" }\n"
                          "workers: %d\n" % workers)


def admin(gw, path, method="GET"):
    """(status, headers dict with lower-case names, body text)."""
    c = http.client.HTTPConnection(h.HOST, gw.admin_port, timeout=10)
    try:
        c.request(method, path)
        r = c.getresponse()
        body = r.read().decode("utf-8")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


# ---------------------------------------------------------------------------
# A small parser of the Prometheus text format 0.0.4
# ---------------------------------------------------------------------------

class Exposition:
    """.types {family: type}, .helps {family: text} and .samples
    {(name, frozenset of (label, value)): float}."""

    def __init__(self, text):
        self.types, self.helps, self.samples = {}, {}, {}
        check(text.endswith("\n"), "exposition does not end with a newline")
        for line in text.split("\n")[:-1]:
            if line.startswith("# "):
                self._comment(line)
            else:
                name, labels, value = parse_sample(line)
                check(self.family_of(name) in self.types,
                      "sample before its TYPE: %r" % line)
                key = (name, labels)
                check(key not in self.samples, "sample twice: %r" % line)
                self.samples[key] = value

    def _comment(self, line):
        kind, name, rest = (line[2:].split(" ", 2) + [""])[:3]
        if kind == "TYPE":
            check(rest in ("counter", "gauge", "histogram"),
                  "bad TYPE line %r" % line)
            check(name not in self.types, "TYPE twice for %s" % name)
            self.types[name] = rest
        elif kind == "HELP":
            check(rest != "", "empty HELP for %s" % name)
            self.helps[name] = rest

    def family_of(self, name):
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and self.types.get(base) == \
                    "histogram":
                return base
        return name

    def get(self, name, **labels):
        """A sample's value; 0 for a series that was never counted."""
        return self.samples.get((name, frozenset(labels.items())), 0)

    def series(self, name):
        return {dict(k[1]).get("le", ""): v for k, v in self.samples.items()
                if k[0] == name}


def parse_sample(line):
    """name{label="value",...} value -> (name, frozenset, float)."""
    i = 0
    while i < len(line) and (line[i].isalnum() or line[i] in "_:"):
        i += 1
    name, labels = line[:i], []
    check(name != "", "sample without a name: %r" % line)
    if line[i:i + 1] == "{":
        i += 1
        while line[i] != "}":
            eq = line.index("=", i)
            label = line[i:eq]
            check(line[eq + 1] == '"', "unquoted label value: %r" % line)
            value, i = parse_label_value(line, eq + 2)
            labels.append((label, value))
            if line[i] == ",":
                i += 1
        i += 1
    check(line[i:i + 1] == " ", "no space before the value: %r" % line)
    return name, frozenset(labels), float(line[i + 1:])


def parse_label_value(line, i):
    """The escaped value starting at line[i]; returns (value, index after
    the closing quote)."""
    out = []
    while line[i] != '"':
        if line[i] == "\\":
            escaped = {"\\": "\\", '"': '"', "n": "\n"}.get(line[i + 1])
            check(escaped is not None, "bad escape in %r" % line)
            out.append(escaped)
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out), i + 1


def metrics(gw):
    status, headers, body = admin(gw, "/metrics")
    check(status == 200, "/metrics: %d" % status)
    check(headers.get("content-type", "").startswith(
          "text/plain; version=0.0.4"),
          "/metrics Content-Type %r" % headers.get("content-type"))
    return Exposition(body)


def all_closed(gw):
    m = metrics(gw)
    open_now = sum(v for (n, _), v in m.samples.items()
                   if n == "wsgate_connections_active")
    return m if open_now == 0 else None


# ---------------------------------------------------------------------------
# Traffic
# ---------------------------------------------------------------------------

async def echo_session(gw, path="/echo"):
    async with ws_client(gw, path) as ws:
        for n in ECHO_SIZES:
            await within(ws.send("e" * n), 10, "send")
            got = await within(ws.recv(), 10, "recv")
            check(got == "e" * n, "echo of %d bytes came back changed" % n)


async def ws_backend_session(gw):
    async with ws_client(gw, "/ws") as ws:
        for msg in ("hello", b"x" * 300):
            await within(ws.send(msg), 10, "send")
            check(await within(ws.recv(), 10, "recv") == msg,
                  "websocket backend echo changed")


async def tcp_session(gw):
    async with ws_client(gw, "/tcp") as ws:
        await within(ws.send(b"abc" * 10), 10, "send")
        got = b""
        while len(got) < 30:
            got += await within(ws.recv(), 10, "recv")
        check(got == b"abc" * 10, "tcp echo came back as %r" % got)


def traffic_gate():
    wss = h.start_ws_server()
    tcp = h.tcp_echo_server()
    gw = gate(backends={"ws": h.ws_backend(wss.port),
                        "tcp": h.tcp_backend(tcp.port)},
              routes=[{"match": {"path": "/ws"}, "backend": "ws"},
                      {"match": {"path": "/tcp"}, "backend": "tcp"}])
    return gw, wss, tcp


async def test_metrics_after_known_traffic():
    gw, wss, tcp = traffic_gate()
    for _ in range(3):
        await echo_session(gw)
    h.expect_error(h.http_request(gw.port, h.ws_request("/nowhere")), 404)
    await ws_backend_session(gw)
    await tcp_session(gw)
    m = h.wait_until(lambda: all_closed(gw), 10, what="sessions closed")

    echo_bytes = 3 * sum(ECHO_SIZES)
    want = {
        ("wsgate_connections_total", (("route", "/echo"),)): 3,
        ("wsgate_connections_total", (("route", "/ws"),)): 1,
        ("wsgate_connections_total", (("route", "/tcp"),)): 1,
        ("wsgate_connections_total", (("route", "-"),)): 1,
        ("wsgate_handshakes_total", (("status", "101"),)): 5,
        ("wsgate_handshakes_total", (("status", "404"),)): 1,
        ("wsgate_handshakes_total", (("status", "0"),)): 0,
        ("wsgate_closes_total", (("code", "1000"), ("by", "client"))): 5,
        ("wsgate_session_duration_seconds_count", ()): 5,
        ("wsgate_backend_connect_seconds_count", (("backend", "ws"),)): 1,
        ("wsgate_backend_connect_seconds_count", (("backend", "tcp"),)): 1,
        ("wsgate_backend_server_up", (("backend", "ws"),
         ("server", "127.0.0.1:%d" % wss.port))): 1,
        ("wsgate_backend_server_up", (("backend", "tcp"),
         ("server", "127.0.0.1:%d" % tcp.port))): 1,
        ("wsgate_config_generation", ()): 1,
    }
    for route, nbytes, nmsgs in (("/echo", echo_bytes, 12), ("/ws", 305, 2)):
        for d in ("in", "out"):
            want[("wsgate_bytes_total", (("route", route),
                                         ("direction", d)))] = nbytes
            want[("wsgate_messages_total", (("route", route),
                                            ("direction", d)))] = nmsgs
    want[("wsgate_bytes_total", (("route", "/tcp"), ("direction", "in")))] \
        = 30
    want[("wsgate_bytes_total", (("route", "/tcp"), ("direction", "out")))] \
        = 30
    want[("wsgate_messages_total", (("route", "/tcp"),
                                    ("direction", "in")))] = 1
    for (name, labels), value in want.items():
        got = m.get(name, **dict(labels))
        check(got == value, "%s%r = %r, expected %r"
              % (name, dict(labels), got, value))
    # Bytes from a tcp service come back in as many messages as reads.
    check(m.get("wsgate_messages_total", route="/tcp", direction="out")
          >= 1, "no message out on /tcp")
    check_histograms(m)

    rc, out, _, _ = h.run_wsgate(["-V"])
    version = out.split("\n")[0].split()[1]
    build = [dict(k[1]) for k in m.samples if k[0] == "wsgate_build_info"]
    check(len(build) == 1 and build[0]["version"] == version
          and build[0]["openssl"] and build[0]["libevent"].startswith("2."),
          "build_info %r (wsgate -V says %s)" % (build, version))
    check(m.get("wsgate_build_info", **build[0]) == 1, "build_info not 1")
    check(m.get("wsgate_start_time_seconds") > 1e9, "no start time")
    for family in ("wsgate_connections_active", "wsgate_reloads_total",
                   "wsgate_backend_connect_seconds"):
        check(family in m.helps, "no HELP for %s" % family)


def check_histograms(m):
    """Cumulative buckets that end in +Inf = _count, for every series."""
    for le_series, count_name in (
            ("wsgate_session_duration_seconds_bucket",
             "wsgate_session_duration_seconds_count"),):
        buckets = m.series(le_series)
        check(list(buckets)[-1] == "+Inf", "last bucket %r"
              % list(buckets)[-1])
        values = list(buckets.values())
        check(values == sorted(values), "buckets not cumulative: %r"
              % buckets)
        check(buckets["+Inf"] == m.get(count_name),
              "+Inf %r != _count %r" % (buckets["+Inf"], m.get(count_name)))
        # Every session lasted less than 10 s.
        check(buckets["10"] == buckets["+Inf"], "sessions over 10 s? %r"
              % buckets)
    connect = [v for (n, l), v in m.samples.items()
               if n == "wsgate_backend_connect_seconds_bucket"
               and dict(l) == {"backend": "ws", "le": "+Inf"}]
    check(connect == [1], "ws connect +Inf bucket %r" % connect)


# ---------------------------------------------------------------------------
# /sessions
# ---------------------------------------------------------------------------

def sessions(gw):
    status, headers, body = admin(gw, "/sessions")
    check(status == 200, "/sessions: %d %r" % (status, body))
    check(headers.get("content-type") == "application/json",
          "/sessions Content-Type %r" % headers.get("content-type"))
    return json.loads(body)


async def test_sessions_lists_open_sessions():
    tcp = h.tcp_echo_server()
    gw = gate(backends={"tcp": h.tcp_backend(tcp.port)},
              routes=[{"match": {"path": "/tcp"}, "backend": "tcp"}])
    check(sessions(gw) == [], "sessions before any: %r" % sessions(gw))
    a = await within(ws_client(gw, "/echo?token=secret"), 10, "connect")
    b = await within(ws_client(gw, "/tcp"), 10, "connect")
    await within(a.send("hello"), 10, "send")
    check(await within(a.recv(), 10, "recv") == "hello", "echo")
    await within(b.send(b"12345678"), 10, "send")
    got = b""
    while len(got) < 8:
        got += await within(b.recv(), 10, "recv")

    listed = await asyncio.get_running_loop().run_in_executor(
        None, sessions, gw)
    check(len(listed) == 2, "2 sessions expected: %r" % listed)
    by_route = {s["route"]: s for s in listed}
    check(set(by_route) == {"/echo", "/tcp"}, "routes %r" % listed)
    e, t = by_route["/echo"], by_route["/tcp"]
    check(e["client"] == "127.0.0.1:%d" % a.local_address[1],
          "client %r, connected from %r" % (e["client"], a.local_address))
    check(e["target"] == "/echo?<redacted>", "target %r" % e["target"])
    check(e["backend"] == "echo" and e["server"] is None,
          "echo session %r" % e)
    check(t["backend"] == "tcp" and t["server"] == "127.0.0.1:%d"
          % tcp.port, "tcp session %r" % t)
    for s, n in ((e, 5), (t, 8)):
        check(s["state"] == "relaying", "state %r" % s)
        check(s["bytes_in"] == n and s["messages_in"] == 1
              and s["bytes_out"] == n and s["messages_out"] >= 1,
              "counters of %r" % s)
        check(isinstance(s["id"], int) and s["worker"] in (0, 1)
              and 0 <= s["age"] < 30, "id, worker, age of %r" % s)
    check(e["id"] != t["id"], "ids are not unique: %r" % listed)

    await within(a.close(), 10, "close")
    await within(b.close(), 10, "close")
    h.wait_until(lambda: sessions(gw) == [], 10, what="/sessions empty")


# ---------------------------------------------------------------------------
# /healthz, errors, separation
# ---------------------------------------------------------------------------

def test_reloads_are_counted():
    gw = gate()
    m = metrics(gw)
    check(m.get("wsgate_config_generation") == 1, "generation at start")
    base = open(gw.config_path).read()
    for text, want in ((base + "bogus: 1\n", "failure"),
                       (base.replace("routes:", "routes:\n  - match: "
                                     "{ path: /added }\n    backend: echo",
                                     1), "success")):
        with open(gw.config_path, "w") as f:
            f.write(text)
        mark = len(gw.log())
        gw.signal(signal.SIGHUP)
        gw.wait_log(r"reload failed|reloaded ", 10, start=mark)
    m = metrics(gw)
    check(m.get("wsgate_reloads_total", result="failure") == 1 and
          m.get("wsgate_reloads_total", result="success") == 1,
          "reloads %r" % m.series("wsgate_reloads_total"))
    check(m.get("wsgate_config_generation") == 2, "generation after")
    check(m.get("wsgate_connections_total", route="/added") == 0 and
          ("wsgate_connections_total", frozenset({("route", "/added")}))
          in m.samples, "the new route's series is missing")


def test_healthz_turns_503_on_shutdown():
    gw = gate(limits={"close_timeout": "3s"})
    status, headers, body = admin(gw, "/healthz")
    check((status, body) == (200, "ok\n"), "/healthz %r %r" % (status, body))
    # A client that never answers the close keeps the shutdown going.
    ws = h.ws_connect_raw(gw.port, "/echo")
    gw.signal(signal.SIGTERM)
    gw.wait_log(r"signal 15: shutting down")
    status, _, body = admin(gw, "/healthz")
    check((status, body) == (503, "stopping\n"),
          "/healthz while stopping: %r %r" % (status, body))
    ws.expect_close(1001)
    check(gw.wait_exit(15) == 0, "exit status %r" % gw.returncode)


def test_other_paths_and_methods():
    gw = gate()
    for path in ("/", "/metric", "/metrics/x", "/echo", "/healthz/"):
        status, _, _ = admin(gw, path)
        check(status == 404, "GET %s: %d, not 404" % (path, status))
    for method in ("POST", "PUT", "DELETE"):
        for path in ("/metrics", "/healthz", "/sessions"):
            status, headers, _ = admin(gw, path, method)
            check(status == 405 and headers.get("allow") == "GET, HEAD",
                  "%s %s: %d %r" % (method, path, status, headers))
    status, headers, body = admin(gw, "/metrics", "HEAD")
    check(status == 200 and body == "", "HEAD /metrics: %d %r"
          % (status, body))
    status, _, body = admin(gw, "/healthz?verbose=1")
    check(status == 200 and body == "ok\n", "a query changes nothing")


def test_listeners_are_separate():
    gw = gate()
    # The WebSocket listener has no admin pages: /metrics is no route.
    for path in ("/metrics", "/healthz", "/sessions"):
        h.expect_error(h.http_request(gw.port, h.ws_request(path)), 404)
        resp = h.http_request(gw.port, ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
                                        % path).encode())
        h.expect_error(resp, 404)
    # The admin listener upgrades nothing.
    resp = h.http_request(gw.admin_port, h.ws_request("/echo"))
    check(resp.status == 404, "upgrade on the admin port: %r"
          % resp.status_line)
    check(resp.header("Upgrade") is None, "admin port offered an upgrade")


def test_non_loopback_admin_is_warned_of():
    doc = h.config([h.ECHO_ROUTE]) + "admin: { address: \"0.0.0.0:0\" }\n"
    gw = h.start_wsgate(doc)
    gw.wait_log(r"admin: 0\.0\.0\.0:0 is not a loopback address")
    m = h.wait_until(lambda: re_admin_any(gw), 5, what="admin port")
    c = socket.create_connection((h.HOST, m), timeout=5)
    c.close()


def re_admin_any(gw):
    m = re.search(r"admin listening on 0\.0\.0\.0:(\d+)", gw.log())
    return int(m.group(1)) if m else None


def test_config_check():
    base = h.config([h.ECHO_ROUTE])
    for admin_yaml, error in (
            ('admin: { address: "nowhere" }\n', "admin.address"),
            ("admin: { }\n", 'missing key "address"'),
            ('admin: { address: "127.0.0.1:9090", port: 1 }\n', "port"),
            ('admin: "127.0.0.1:9090"\n', "admin")):
        rc, _, err, _ = h.run_wsgate(["-t", "-c", "{config}"],
                                     config_text=base + admin_yaml)
        check(rc == 1 and error in err, "%r: status %d, %r"
              % (admin_yaml, rc, err))
    rc, _, err, _ = h.run_wsgate(
        ["-t", "-c", "{config}"],
        config_text=base + 'admin: { address: "127.0.0.1:9090" }\n')
    check(rc == 0, "valid admin refused: %r" % err)


if __name__ == "__main__":
    h.main(globals())
