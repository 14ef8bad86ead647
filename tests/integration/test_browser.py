"""A real browser as the client (issue 8): Debian's Chromium, headless,
driven over the Chrome DevTools Protocol (CDP) with python3-websockets,
loads browser_page.html from an http:// origin served here.  The page
opens ws:// and wss:// connections through one wsgate (a plain listener
and a TLS listener whose certificate comes from a test CA made by the
openssl command) to the built-in echo, to a TCP echo service (binary,
websockify style) and to a python3-websockets server that chooses the
subprotocol; it checks text, binary and 1 MiB echoes byte for byte,
ws.protocol, ws.extensions == "" (Chromium offers permessage-deflate,
wsgate declines it), close codes seen by onclose (the page's 4001
answered with 4001, its reason relayed both ways through the WebSocket
server; 1000 when the TCP service closes; 1001 at max_lifetime), a route
whose origins exclude the page (403, 1006) and a TLS listener with
another certificate of the same CA (refused).  The test adds its own checks: the
handshakes as CDP saw them (permessage-deflate offered, no
Sec-WebSocket-Extensions in the 101), the request the WebSocket server
received, the bytes the TCP service received, and wsgate's access log.
Every failing check is listed.  A screenshot of the page's table goes to
tests/integration/output/browser/."""

import asyncio
import base64
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import websockets

import harness as h
from harness import check
from test_tls import OPENSSL, Pki, run

CHROMIUM = "/usr/bin/chromium"
PAGE = os.path.join(h.HERE, "browser_page.html")
OUTPUT = os.path.join(h.HERE, "output", "browser")
SCREENSHOT = os.path.join(OUTPUT, "test_browser.png")

SCHEMES = ("ws", "wss")
# The routes the page opens through each listener: path -> the status and
# close code of their access lines (4001: the page's close).
ROUTES = {"/echo": (101, 4001), "/tcp": (101, 4001), "/stomp": (101, 4001),
          "/bye": (101, 1000), "/short": (101, 1001), "/foreign": (403, 0)}


def spki_sha256(pem):
    """base64(SHA-256(DER SubjectPublicKeyInfo)) of a certificate: what
    --ignore-certificate-errors-spki-list takes."""
    pub = run([OPENSSL, "x509", "-in", pem, "-noout", "-pubkey"]).stdout
    der = run([OPENSSL, "pkey", "-pubin", "-outform", "DER"],
              stdin=pub).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


class PageServer:
    """http.server in a thread on 127.0.0.1:0: GET / is the test page
    (a real http:// origin for the browser), anything else 404."""

    def __init__(self):
        self.body = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/" or outer.body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(outer.body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, fmt, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((h.HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = "http://127.0.0.1:%d" % self.port
        self._t = threading.Thread(target=self.httpd.serve_forever,
                                   kwargs={"poll_interval": 0.1},
                                   daemon=True)
        self._t.start()
        h.on_cleanup(self.stop)

    def serve(self, cfg):
        with open(PAGE, encoding="utf-8") as f:
            text = f.read()
        self.body = text.replace("CONFIG_JSON", json.dumps(cfg)).encode()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._t.join(5)


async def stomp_handler(ws, server):
    """Echoes; records the close code and reason it got (the page's)."""
    try:
        async for msg in ws:
            await ws.send(msg)
    finally:
        with server.lock:
            server.state.setdefault("closes", []).append(
                (ws.close_code, ws.close_reason))


def bye_handler(c, server):
    """A TCP service that says "bye" and closes."""
    h.send_all(c, server, b"bye\n")
    c.close()


class Chromium:
    """Headless Chromium in its own session (it forks helpers: zygotes,
    GPU, network and storage services), with a fresh profile, HOME and
    TMPDIR under one temporary directory; stopped by its process group
    (never by name) and the directory removed after the test."""

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run"]

    def __init__(self, extra_flags, timeout=20):
        self.root = tempfile.mkdtemp(prefix="wsgate-it-chromium-")
        self.profile = os.path.join(self.root, "profile")
        env = dict(os.environ)
        for var, sub in (("HOME", "home"), ("TMPDIR", "tmp"),
                         ("XDG_CONFIG_HOME", "config"),
                         ("XDG_CACHE_HOME", "cache")):
            env[var] = os.path.join(self.root, sub)
            os.mkdir(env[var])
        argv = ([CHROMIUM] + self.FLAGS
                + ["--user-data-dir=" + self.profile,
                   "--remote-debugging-port=0"]
                + list(extra_flags) + ["about:blank"])
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, cwd=self.root,
            start_new_session=True, preexec_fn=h._die_with_parent)
        self.pid = self.pgid = self.proc.pid     # session leader
        h.on_cleanup(self.stop)
        self._out = h.ProcessOutput(self.proc)
        port_file = os.path.join(self.profile, "DevToolsActivePort")

        def ready():
            check(self.proc.poll() is None, "chromium exited (status %r):\n%s"
                  % (self.proc.poll(), self.output()))
            try:
                with open(port_file) as f:
                    lines = f.read().split("\n")
            except OSError:
                return None
            return lines if len(lines) >= 2 and lines[1] else None
        try:
            lines = h.wait_until(ready, timeout, what=port_file)
        except h.TestFailure as e:
            raise h.TestFailure("%s\nchromium output:\n%s"
                                % (e, self.output()))
        self.ws_url = "ws://127.0.0.1:%d%s" % (int(lines[0]), lines[1])

    def output(self):
        return self._out.text()[-4000:]

    def stop(self):
        """SIGTERM to the group; once the leader has exited (not reaped,
        so its PID, the group's id, cannot be reused) or after 5 s,
        SIGKILL to whatever is left of the group; then reap."""
        if self.proc.returncode is None:
            try:
                os.killpg(self.pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG
                             | os.WNOWAIT) is not None:
                    break
                time.sleep(0.05)
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)
        self._out.join(5)
        shutil.rmtree(self.root, ignore_errors=True)


class Cdp:
    """A minimal CDP client over one python3-websockets connection:
    call() waits (bounded) for the answer with its id; events are kept in
    order in .events."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = 0
        self.pending = {}
        self.events = []
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(cls, url):
        ws = await h.within(websockets.connect(
            url, max_size=None, ping_interval=None, compression=None,
            open_timeout=10, close_timeout=5), 15, "CDP connect")
        return cls(ws)

    async def _read(self):
        try:
            async for raw in self.ws:
                msg = json.loads(raw)
                fut = self.pending.pop(msg.get("id"), None)
                if fut is not None:
                    if not fut.done():
                        fut.set_result(msg)
                elif "method" in msg:
                    self.events.append(msg)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(h.TestFailure("CDP connection closed"))

    async def call(self, method, params=None, session=None, timeout=10):
        self.ids += 1
        msg = {"id": self.ids, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.ids] = fut
        await self.ws.send(json.dumps(msg))
        resp = await h.within(fut, timeout, "CDP " + method)
        check("error" not in resp, "CDP %s: %r" % (method, resp.get("error")))
        return resp.get("result", {})

    async def event(self, method, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["method"] == method:
                    return e
            if time.monotonic() > deadline:
                raise h.TestFailure("no CDP event %s within %.0fs"
                                    % (method, timeout))
            await asyncio.sleep(0.05)

    def of(self, method):
        return [e["params"] for e in self.events if e["method"] == method]

    async def close(self):
        self.reader.cancel()
        await h.within(self.ws.close(), 10, "CDP close")


def lower(headers):
    return dict((k.lower(), v) for k, v in (headers or {}).items())


class Checks:
    """The test's own checks, shown in the page's table too."""

    def __init__(self):
        self.results = []

    def add(self, name, ok, detail):
        self.results.append({"name": name, "ok": bool(ok),
                             "detail": str(detail), "by": "test"})


def check_handshakes(cdp, ports, checks):
    """What Chromium sent and got, per WebSocket, as CDP reported it."""
    urls = dict((e["requestId"], e["url"])
                for e in cdp.of("Network.webSocketCreated"))
    sent = dict((e["requestId"], lower(e["request"].get("headers")))
                for e in cdp.of("Network.webSocketWillSendHandshakeRequest"))
    got = dict((e["requestId"], e["response"])
               for e in cdp.of("Network.webSocketHandshakeResponseReceived"))
    for scheme in SCHEMES:
        port = ports[scheme]
        for path, (status, _) in ROUTES.items():
            url = "%s://127.0.0.1:%d%s" % (scheme, port, path)
            ids = [i for i, u in urls.items() if u == url]
            name = "CDP %s handshake" % url.replace("127.0.0.1:%d" % port,
                                                    "wsgate")
            if len(ids) != 1:
                checks.add(name, False, "%d WebSockets to %s" % (len(ids),
                                                                 url))
                continue
            req = sent.get(ids[0], {})
            offered = req.get("sec-websocket-extensions", "")
            if status != 101:
                resp = got.get(ids[0])
                checks.add(name + ": refused", resp is None
                           or resp.get("status") == status,
                           "no 101: %s" % ("no answer event" if resp is None
                                           else resp.get("status")))
                continue
            resp = got.get(ids[0]) or {}
            answer = lower(resp.get("headers"))
            ok = ("permessage-deflate" in offered and resp.get("status") == 101
                  and "sec-websocket-extensions" not in answer)
            checks.add(name + ": deflate offered, declined", ok,
                       "offered %r; answer %s without "
                       "Sec-WebSocket-Extensions: %s"
                       % (offered, resp.get("status"),
                          "yes" if "sec-websocket-extensions" not in answer
                          else "NO: %r" % answer["sec-websocket-extensions"]))


def check_stomp_backend(srv, origin, checks):
    reqs = h.backend_requests(srv)
    protos = sorted(r.header("X-Forwarded-Proto") or "-" for r in reqs)
    checks.add("WebSocket server: one upgrade per listener",
               len(reqs) == 2 and protos == ["http", "https"],
               "%d requests, X-Forwarded-Proto %s" % (len(reqs), protos))
    for r in reqs:
        p = r.header("X-Forwarded-Proto")
        checks.add("WebSocket server: request via %s has no "
                   "Sec-WebSocket-Extensions" % p,
                   "sec-websocket-extensions" not in r.names(),
                   "header names: %s" % ", ".join(r.names()))
        offers = r.header("Sec-WebSocket-Protocol")
        checks.add("WebSocket server: request via %s offers both stomp "
                   "versions, from the page's origin" % p,
                   offers == "v12.stomp, v11.stomp"
                   and r.header("Origin") == origin,
                   "Sec-WebSocket-Protocol %r, Origin %r"
                   % (offers, r.header("Origin")))
    with srv.lock:
        closes = sorted(srv.state.get("closes", []))
    want = [(4001, "page closes stomp (%s)" % s) for s in SCHEMES]
    checks.add("WebSocket server: got the page's close 4001 and reason",
               closes == want, "close codes and reasons %r" % closes)
    errors = list(srv.errors)
    checks.add("WebSocket server: no handler errors", not errors,
               "; ".join(errors) or "none")


def check_tcp_service(srv, checks):
    want = 1024 + len("hello tcp \u2713".encode()) + (1 << 20)
    try:
        h.wait_until(lambda: len(srv.state.get("received", [])) >= 2,
                     5 * h.SLOW, what="two TCP sessions to end")
    except h.TestFailure:
        pass
    got = [n for n, _ in srv.state.get("received", [])]
    checks.add("TCP echo service: received every byte, per connection",
               got == [want, want], "bytes per connection %r, want %d each"
               % (got, want))


# An access line: client "target" route=... status=... close=... by=...
ACCESS_RE = re.compile(r'access: 127\.0\.0\.1:\d+ "(/\w+)" route=(\S+) '
                       r'backend=(\S+) server=\S+ status=(\d+) close=(\d+)')


def check_access_log(gw, checks):
    """One access line per route and listener (ws, wss) with the route's
    status and close code; the listener with the other certificate logs
    a failed TLS handshake."""
    want = len(ROUTES) * len(SCHEMES)
    try:
        h.wait_until(lambda: len(ACCESS_RE.findall(gw.log())) >= want,
                     10 * h.SLOW, what="%d access lines" % want)
    except h.TestFailure:
        pass
    lines = ACCESS_RE.findall(gw.log())
    for path, (status, code) in ROUTES.items():
        mine = [l for l in lines if l[0] == path]
        ok = (len(mine) == len(SCHEMES)
              and all(l[1] == path and l[3] == str(status)
                      and l[4] == str(code) for l in mine))
        checks.add("access log %s: %d lines, route=%s status=%d close=%d"
                   % (path, len(SCHEMES), path, status, code), ok,
                   "; ".join("route=%s backend=%s status=%s close=%s" % l[1:]
                             for l in mine) or "no line")
    checks.add("access log: nothing else", len(lines) == want,
               "%d access lines, want %d" % (len(lines), want))
    tls = [l.split("info: ", 1)[-1] for l in gw.log().splitlines()
           if "TLS handshake failed: " in l]
    checks.add("log: Chromium refused the other certificate", tls,
               "; ".join(tls) or "no failed TLS handshake")


def gateway(pki, page, tcp, bye, stomp):
    sans = "IP:127.0.0.1,DNS:localhost"
    main, other = pki.server("wsgate", sans), pki.server("other", sans)
    allow = [page.origin]
    doc = {
        "listen": [{"address": "127.0.0.1:0"},
                   {"address": "127.0.0.1:0", "tls": main},
                   {"address": "127.0.0.1:0", "tls": other}],
        "log": {"level": "info"},
        "backends": {"tcpecho": h.tcp_backend(tcp.port),
                     "bye": h.tcp_backend(bye.port),
                     "stomp": h.ws_backend(stomp.port)},
        "routes": [
            {"match": {"path": "/echo"}, "backend": "echo",
             "origins": allow},
            {"match": {"path": "/tcp"}, "backend": "tcpecho",
             "subprotocols": ["binary"], "origins": allow},
            {"match": {"path": "/stomp"}, "backend": "stomp",
             "subprotocols": ["v12.stomp", "v11.stomp", "v10.stomp"],
             "origins": allow},
            {"match": {"path": "/bye"}, "backend": "bye", "origins": allow},
            {"match": {"path": "/short"}, "backend": "echo",
             "limits": {"max_lifetime": "1s"}, "origins": allow},
            {"match": {"path": "/foreign"}, "backend": "echo",
             "origins": ["https://elsewhere.test"]},
        ],
    }
    gw = h.start_wsgate(h.to_yaml(doc) + "\n")
    h.wait_until(lambda: len(h.LISTEN_RE.findall(gw.log())) >= 3,
                 10 * h.SLOW, what="three listeners")
    # Logged in the order of the configuration.
    plain, tls, other_tls = [int(p) for p in h.LISTEN_RE.findall(gw.log())]
    return gw, main, {"plain": plain, "tls": tls, "other_tls": other_tls}


async def screenshot(cdp, sid):
    m = await cdp.call("Page.getLayoutMetrics", session=sid)
    size = m.get("cssContentSize") or m["contentSize"]
    shot = await cdp.call("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"],
                 "height": size["height"], "scale": 1}},
        session=sid, timeout=20)
    os.makedirs(OUTPUT, exist_ok=True)
    with open(SCREENSHOT, "wb") as f:
        f.write(base64.b64decode(shot["data"]))


async def test_browser_end_to_end():
    t0 = time.monotonic()
    check(os.access(CHROMIUM, os.X_OK), "no %s (Debian's chromium: "
          "scripts/install-deps.sh test installs it)" % CHROMIUM)
    pki = Pki()
    tcp = h.tcp_echo_server()
    bye = h.TcpServer(bye_handler)
    # Supports v11 and v10 only: of the page's [v12.stomp, v11.stomp] it
    # must choose v11.stomp, so the page sees the server's choice.
    stomp = h.start_ws_server(stomp_handler,
                              subprotocols=["v11.stomp", "v10.stomp"])
    page = PageServer()
    gw, cert, ports = gateway(pki, page, tcp, bye, stomp)
    page.serve(dict(ports, slow=h.SLOW))

    # wss:// trust: Chromium accepts a certificate whose public key
    # (SubjectPublicKeyInfo) hashes to a value in this list, and no other
    # (unlike --ignore-certificate-errors, which accepts anything).  So a
    # wss:// check that passes is also the check that wsgate presented
    # exactly the certificate of its configuration; the "other
    # certificate" listener, signed by the same CA, must be refused.
    browser = Chromium(["--ignore-certificate-errors-spki-list="
                        + spki_sha256(cert["certificate"])])
    cdp = await Cdp.connect(browser.ws_url)
    try:
        version = (await cdp.call("Browser.getVersion"))["product"]
        target = (await cdp.call("Target.createTarget",
                                 {"url": "about:blank"}))["targetId"]
        sid = (await cdp.call("Target.attachToTarget",
                              {"targetId": target, "flatten": True}))[
            "sessionId"]
        for domain in ("Network", "Page", "Runtime"):
            await cdp.call(domain + ".enable", session=sid)
        await cdp.call("Emulation.setDeviceMetricsOverride", {
            "width": 1100, "height": 800, "deviceScaleFactor": 1,
            "mobile": False}, session=sid)
        await cdp.call("Page.navigate", {"url": page.origin + "/"},
                       session=sid)
        await cdp.event("Page.loadEventFired", 15)
        # Each check of the page is bounded (8 s x SLOW); the connections
        # run in parallel, each with its checks in order.
        try:
            r = await cdp.call("Runtime.evaluate", {
                "expression": "window.allDone", "awaitPromise": True,
                "returnByValue": True}, session=sid, timeout=30 * h.SLOW)
        except h.TestFailure as e:
            r = await cdp.call("Runtime.evaluate", {
                "expression": "window.snapshot()", "returnByValue": True},
                session=sid)
            r["result"]["value"].append({"name": "page finishes", "ok": False,
                                         "detail": str(e)})
        check("exceptionDetails" not in r, "page script failed: %r"
              % r.get("exceptionDetails"))
        results = r["result"]["value"]

        mine = Checks()
        check_handshakes(cdp, {"ws": ports["plain"], "wss": ports["tls"]},
                         mine)
        check_stomp_backend(stomp, page.origin, mine)
        check_tcp_service(tcp, mine)
        check_access_log(gw, mine)
        results += mine.results
        await cdp.call("Runtime.evaluate", {
            "expression": "window.addChecks(%s)" % json.dumps(mine.results),
            "returnByValue": True}, session=sid)
        await screenshot(cdp, sid)
        try:
            await cdp.call("Browser.close", timeout=5)
        except h.TestFailure:
            pass    # it may go before answering; stop() makes sure
    finally:
        await cdp.close()
        browser.stop()

    dt = time.monotonic() - t0
    failed = [r for r in results if not r["ok"]]
    for r in results:
        print("%s %s: %s" % ("ok  " if r["ok"] else "FAIL", r["name"],
                             r["detail"]))
    print("note: screenshot %s" % os.path.relpath(SCREENSHOT, h.ROOT))
    print("note: browser: %d/%d checks passed in %.1fs, Chromium %s"
          % (len(results) - len(failed), len(results), dt,
             version.split("/")[-1]))
    check(not failed, "%d of %d checks failed:\n%s" % (
        len(failed), len(results), "\n".join(
            "  %s: %s" % (r["name"], r["detail"]) for r in failed)))


if __name__ == "__main__":
    h.main(globals())
