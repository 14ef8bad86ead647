"""Shared helpers for the wsgate integration tests.

Everything here runs under Debian's /usr/bin/python3 with the standard
library and python3-websockets 10.4 (asyncio API) only.  Every wait is
bounded, every address is 127.0.0.1, and every process or thread started
here is stopped explicitly (processes by PID), also when a test fails.

Main pieces:
  start_wsgate(config_text)   run the daemon, learn its port, drain its log
  config(...)                 build a YAML configuration
  http_request(...)           raw handshake: send bytes, parse the answer
  RawWS / encode_frame        raw WebSocket frames with arbitrary header bits
  accept_key(key)             Sec-WebSocket-Accept computation
  TcpServer + handlers        threaded TCP backends (echo, sender, ...)
  free_port(), blackhole_listener()
  ws_backend(...)             a `type: websocket` backend entry
  start_ws_server(...)        python websockets backend (thread or child
                              process), records handshake requests
  start_node_server(script)   node `ws` backend in a child process
  raw_ws_backend(...)         hand-written backend (BackendWS frames,
                              every received byte recorded)
  main(globals())             tiny test runner

Environment: WSGATE (the binary), WSGATE_WRAPPER (a command the daemon
runs under, e.g. valgrind: make valgrind), WSGATE_SLOW (factor for waits
on the daemon; 8 under a wrapper), WSGATE_TEST_TIMEOUT (per test, s).
"""

import asyncio
import base64
import hashlib
import inspect
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WSGATE = os.environ.get("WSGATE", os.path.join(ROOT, "wsgate"))
# A command the daemon is started under (make valgrind: "valgrind
# --tool=memcheck ..."); each daemon then gets its own valgrind log, and
# a report of errors or definitely/indirectly lost memory fails the test.
WRAPPER = shlex.split(os.environ.get("WSGATE_WRAPPER", ""))
VALGRIND = bool(WRAPPER) and os.path.basename(WRAPPER[0]) == "valgrind"
# Waits on the daemon (startup, exit) are this many times longer under a
# wrapper: valgrind runs it 20-50 times slower.
SLOW = float(os.environ.get("WSGATE_SLOW", "8" if WRAPPER else "1"))

HOST = "127.0.0.1"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
KiB = 1024
MiB = 1024 * 1024

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

# Everything started during the current test, stopped by the runner.
_cleanups = []


def on_cleanup(fn):
    """Registers fn to run after the current test, pass or fail."""
    _cleanups.append(fn)
    return fn


def _run_cleanups():
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception:  # cleanup must never mask the test result
            traceback.print_exc()


class TestFailure(AssertionError):
    pass


# What AddressSanitizer, LeakSanitizer and UBSan print (make check
# SANITIZE=1): a test whose daemon printed one fails, whatever it saw.
_SANITIZER_RE = re.compile(r"ERROR: (Address|Leak)Sanitizer|"
                           r"runtime error: |SUMMARY: UndefinedBehavior")


# What memcheck prints at exit (make valgrind), with --leak-check=full.
_VG_ERRORS_RE = re.compile(r"ERROR SUMMARY: ([0-9,]+) errors")
_VG_LOST_RE = re.compile(r"(definitely|indirectly) lost: ([0-9,]+) bytes")


def valgrind_verdict(text, what):
    """None, or why a memcheck log (text) fails: errors, definitely or
    indirectly lost bytes, or no summary at all (the process was killed
    before valgrind could check)."""
    m = _VG_ERRORS_RE.search(text)
    _valgrind_note(text, what, m)
    if m is None:
        return "no valgrind ERROR SUMMARY for %s (killed?):\n%s" % (
            what, text[-3000:])
    bad = [] if m.group(1) == "0" else ["%s errors" % m.group(1)]
    bad += ["%s %s lost" % (n, kind) for kind, n in _VG_LOST_RE.findall(text)
            if n != "0"]
    if bad:
        return "valgrind: %s in %s:\n%s" % (", ".join(bad), what,
                                             text[-20000:])
    return None


_valgrind_failures = []  # of run_wsgate() calls in the current test


def _valgrind_note(text, what, m):
    """Appends "errors definitely indirectly what" for one memcheck log
    to $WSGATE_VALGRIND_SUMMARY (make valgrind totals them)."""
    path = os.environ.get("WSGATE_VALGRIND_SUMMARY")
    if not path:
        return
    lost = dict((k, n.replace(",", "")) for k, n in _VG_LOST_RE.findall(text))
    with open(path, "a") as f:
        f.write("%s %s %s %s\n" % (
            m.group(1).replace(",", "") if m else "killed",
            lost.get("definitely", "?"), lost.get("indirectly", "?"),
            what.replace(" ", "_")))


def _sanitizer_reports():
    """None, or the failure text for a sanitizer report in the output of
    a wsgate the test started (they are stopped by now), or for a bad
    valgrind log (WSGATE_WRAPPER=valgrind ...)."""
    for gw in _started:
        m = _SANITIZER_RE.search(gw.log())
        if m:
            return "sanitizer report in wsgate pid %d's output: %r" % (
                gw.pid, gw.log()[m.start():m.start() + 200])
        if VALGRIND and gw.valgrind_log is not None:
            v = valgrind_verdict(gw.valgrind_log, "wsgate pid %d" % gw.pid)
            if v:
                return v
    if _valgrind_failures:
        return _valgrind_failures[0]
    return None


def wrapped(argv, logdir):
    """argv under WSGATE_WRAPPER; valgrind writes to logdir/valgrind.log."""
    if not WRAPPER:
        return list(argv)
    extra = (["--log-file=" + os.path.join(logdir, "valgrind.log")]
             if VALGRIND else [])
    return WRAPPER + extra + list(argv)


def _read_valgrind_log(d):
    try:
        with open(os.path.join(d, "valgrind.log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until true; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s"
                              % (timeout, what))
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Configuration builder
# ---------------------------------------------------------------------------

def _yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if v is None:
        return "null"
    s = str(v)
    if re.match(r"^[A-Za-z0-9_/][A-Za-z0-9_./+-]*$", s) and s.lower() not in (
            "true", "false", "yes", "no", "on", "off", "null"):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_yaml(obj, indent=0):
    """Block-style YAML for nested dicts/lists/scalars (strings quoted)."""
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(to_yaml(v, indent + 1))
            elif isinstance(v, list):
                lines.append("%s%s: []" % (pad, k))
            elif isinstance(v, dict):
                lines.append("%s%s: {}" % (pad, k))
            else:
                lines.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict) and v:
                sub = to_yaml(v, indent + 1).split("\n")
                first = sub[0].lstrip()
                lines.append("%s- %s" % (pad, first))
                lines.extend(sub[1:])
            elif isinstance(v, list):
                lines.append("%s- [%s]" % (pad, ", ".join(
                    _yaml_scalar(x) for x in v)))
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(v)))
    else:
        lines.append(pad + _yaml_scalar(obj))
    return "\n".join(lines)


def config(routes, backends=None, limits=None, level="debug"):
    """A complete configuration: one loopback listener on port 0.

    routes:   list of route dicts, e.g. {"match": {"path": "/echo"},
              "backend": "echo"}
    backends: dict name -> backend dict
    limits:   dict of limits (strings such as "1s", "1KiB")
    """
    doc = {
        "listen": [{"address": "127.0.0.1:0"}],
        "log": {"level": level},
    }
    if limits:
        doc["limits"] = dict(limits)
    if backends:
        doc["backends"] = backends
    doc["routes"] = routes
    return to_yaml(doc) + "\n"


ECHO_ROUTE = {"match": {"path": "/echo"}, "backend": "echo"}


def tcp_backend(*ports, connect_timeout="2s"):
    return {
        "type": "tcp",
        "servers": ["127.0.0.1:%d" % p for p in ports],
        "connect_timeout": connect_timeout,
    }


# ---------------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------------

# The WebSocket listeners; the admin listener logs "admin listening on".
LISTEN_RE = re.compile(r"(?<!admin )listening on 127\.0\.0\.1:(\d+)")
ADMIN_RE = re.compile(r"admin listening on 127\.0\.0\.1:(\d+)")


def _die_with_parent():
    """In the child: get SIGKILL if the test process dies without cleaning
    up (e.g. killed by the runner's hard timeout)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class ProcessOutput:
    """Everything a child process writes on stdout (and stderr), drained
    by a thread so that the pipe never fills: .text(), .wait_for()."""

    def __init__(self, proc):
        self.proc = proc
        self._buf = bytearray()
        self._cond = threading.Condition()
        self._eof = False
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        out = self.proc.stdout
        while True:
            try:
                chunk = os.read(out.fileno(), 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._buf.extend(chunk)
                self._cond.notify_all()

    def text(self):
        with self._cond:
            return self._buf.decode("utf-8", "replace")

    def wait_for(self, rx, timeout, start=0):
        """The first match of rx after offset start; raises TestFailure
        when the process ends first or timeout seconds pass."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self._buf.decode("utf-8", "replace"), start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("output never matched %r within %.0fs"
                                      % (rx.pattern, timeout))
                if self._eof:
                    raise TestFailure("process exited (status %r) before "
                                      "its output matched %r"
                                      % (self.proc.poll(), rx.pattern))
                self._cond.wait(min(left, 0.2))

    def join(self, timeout):
        self._reader.join(timeout)


def as_root_on_purpose(config_text):
    """wsgate refuses to run as root without "user:" (wsgate.yaml(5)).
    The tests run as root on CI: unless a test chose a user, they say
    "user: root" (test_privileges.py covers the refusal and the drop)."""
    if os.geteuid() != 0 or re.search(r"^user:", config_text, re.M):
        return config_text
    return config_text.rstrip("\n") + "\nuser: root\n"


class Wsgate:
    """A running wsgate: .pid, .port, .ports, .admin_port, .log(),
    .stop()."""

    def __init__(self, config_text, args=(), startup_timeout=10.0,
                 env=None, prefix=()):
        """prefix: a command that execs the rest (argv words), e.g.
        unshare(1) for a private mount namespace; the PID stays
        wsgate's."""
        startup_timeout *= SLOW
        self.valgrind_log = None    # read at stop() under valgrind
        self.dir = tempfile.mkdtemp(prefix="wsgate-it-")
        self.config_path = os.path.join(self.dir, "wsgate.yaml")
        config_text = as_root_on_purpose(config_text)
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.config_text = config_text
        self.returncode = None
        self.proc = subprocess.Popen(
            list(prefix) + wrapped([WSGATE, "-c", self.config_path]
                                   + list(args), self.dir),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, cwd=self.dir,
            env=dict(os.environ, **env) if env else None,
            preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        _started.append(self)
        on_cleanup(self.stop)
        self._out = ProcessOutput(self.proc)
        try:
            m = self.wait_log(LISTEN_RE, startup_timeout)
        except TestFailure:
            raise TestFailure(
                "wsgate did not log 'listening on 127.0.0.1:PORT' within "
                "%.0fs (exit status %r)" % (startup_timeout, self.proc.poll()))
        self.ports = [int(x) for x in LISTEN_RE.findall(self.log())]
        self.port = int(m.group(1))
        check(self.port != 0, "wsgate logged port 0, not the real port")

    def log(self):
        return self._out.text()

    @property
    def admin_port(self):
        """The port of the admin listener (admin: in the config), bound
        after the WebSocket listeners: waited for."""
        try:
            m = self.wait_log(ADMIN_RE, 10)
        except TestFailure:
            raise TestFailure("wsgate logged no 'admin listening on'")
        return int(m.group(1))

    def wait_log(self, pattern, timeout=10.0, start=0):
        """Waits until pattern (regex) appears in the log after offset
        start; returns the match."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        return self._out.wait_for(rx, timeout, start)

    def alive(self):
        return self.proc.poll() is None

    def url(self, path="/echo"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise TestFailure("no VmRSS in /proc/%d/status" % self.pid)

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        timeout *= SLOW
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("wsgate (pid %d) still running after %.0fs"
                              % (self.pid, timeout))
        self._out.join(5)
        return self.returncode

    def stop(self):
        """SIGTERM, wait up to 10 s, then SIGKILL; by PID only."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.returncode = self.proc.returncode
        self._out.join(5)
        if VALGRIND and self.valgrind_log is None:
            self.valgrind_log = _read_valgrind_log(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)


_started = []  # every Wsgate of the current test, for failure reports


def start_wsgate(config_text, **kw):
    return Wsgate(config_text, **kw)


def run_wsgate(args, timeout=10, config_text=None, root_on_purpose=True):
    """Runs wsgate to completion (e.g. -t, -V); returns (status, stdout,
    stderr, config path).  "{config}" in args is replaced by the path of a
    temporary file holding config_text."""
    d = tempfile.mkdtemp(prefix="wsgate-it-")
    try:
        argv = [WSGATE] + list(args)
        timeout *= SLOW
        path = None
        if config_text is not None:
            path = os.path.join(d, "wsgate.yaml")
            if "-t" not in args and root_on_purpose:
                config_text = as_root_on_purpose(config_text)
            with open(path, "w") as f:
                f.write(config_text)
            argv = [a if a != "{config}" else path for a in argv]
        p = subprocess.Popen(wrapped(argv, d), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=d, preexec_fn=_die_with_parent)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.terminate()
            try:
                p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate(timeout=10)
            raise TestFailure("%r did not exit within %ss" % (argv, timeout))
        if VALGRIND:
            v = valgrind_verdict(_read_valgrind_log(d), " ".join(argv))
            if v:
                _valgrind_failures.append(v)
        return p.returncode, out.decode("utf-8", "replace"), \
            err.decode("utf-8", "replace"), path
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------
# Raw HTTP handshake
# ---------------------------------------------------------------------------

def accept_key(key):
    digest = hashlib.sha1((key + WS_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def new_key():
    return base64.b64encode(os.urandom(16)).decode("ascii")


def connect(port, timeout=5.0, source=None):
    """A TCP connection to 127.0.0.1:port; source: a local address to bind
    (e.g. "127.0.0.2": ip_hash tests), port chosen by the kernel."""
    s = socket.create_connection((HOST, port), timeout=timeout,
                                 source_address=(source, 0) if source
                                 else None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    on_cleanup(s.close)
    return s


def ws_request(path="/echo", host="127.0.0.1", key=None, method="GET",
               version="HTTP/1.1", extra=(), omit=(), headers=None, eol="\r\n"):
    """Request head bytes for an Upgrade request.

    extra: (name, value) pairs appended; omit: names (lower case) of the
    default headers to leave out; headers: replaces the defaults entirely.
    """
    if key is None:
        key = new_key()
    if headers is None:
        headers = [("Host", host), ("Upgrade", "websocket"),
                   ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
                   ("Sec-WebSocket-Version", "13")]
        headers = [(n, v) for n, v in headers if n.lower() not in omit]
    headers = list(headers) + list(extra)
    lines = ["%s %s %s" % (method, path, version)]
    lines += ["%s: %s" % (n, v) for n, v in headers]
    return (eol.join(lines) + eol + eol).encode("latin-1")


class _HeaderAccess:
    """header()/header_all()/tokens() over self.headers, a list of
    (name, value) pairs in order."""

    def header(self, name):
        """The value of a header that must appear at most once, or None."""
        vals = self.header_all(name)
        check(len(vals) <= 1, "header %s repeated: %r" % (name, vals))
        return vals[0] if vals else None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def tokens(self, name):
        out = []
        for v in self.header_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out


class HttpResponse(_HeaderAccess):
    def __init__(self, sock, status_line, headers, rest):
        self.sock = sock
        self.status_line = status_line
        self.headers = headers          # list of (name, value), in order
        self.rest = rest                # bytes read after the head
        parts = status_line.split(" ", 2)
        check(len(parts) >= 2 and parts[0] == "HTTP/1.1"
              and parts[1].isdigit() and len(parts[1]) == 3,
              "bad status line %r" % status_line)
        self.version = parts[0]
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else ""
        self.body = None

    def __repr__(self):
        return "<%s %r body=%r>" % (self.status_line, self.headers, self.body)


def read_until(sock, buf, marker, timeout, limit=1 << 20):
    """Reads into buf until marker is present; returns index of marker."""
    deadline = time.monotonic() + timeout
    while True:
        i = buf.find(marker)
        if i >= 0:
            return i
        check(len(buf) < limit, "no %r within %d bytes" % (marker, limit))
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("timed out after %.1fs waiting for %r; got %r"
                              % (timeout, marker, bytes(buf[:300])))
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            raise TestFailure("connection reset while waiting for %r; got %r"
                              % (marker, bytes(buf[:300])))
        if not chunk:
            raise TestFailure("connection closed while waiting for %r; got %r"
                              % (marker, bytes(buf[:300])))
        buf.extend(chunk)


def read_response(sock, timeout=5.0):
    buf = bytearray()
    i = read_until(sock, buf, b"\r\n\r\n", timeout)
    head = bytes(buf[:i]).decode("latin-1")
    rest = bytes(buf[i + 4:])
    lines = head.split("\r\n")
    headers = []
    for line in lines[1:]:
        check(":" in line, "bad response header line %r" % line)
        n, v = line.split(":", 1)
        check(n == n.strip() and n, "bad header name in %r" % line)
        headers.append((n, v.strip()))
    return HttpResponse(sock, lines[0], headers, rest)


def http_request(port, data, timeout=5.0, source=None):
    """Opens a connection, sends data, returns the parsed response head."""
    s = connect(port, timeout, source)
    s.sendall(data)
    return read_response(s, timeout)


def read_to_eof(sock, timeout=5.0, initial=b""):
    """Reads until the peer closes (FIN or RST); returns what was read."""
    buf = bytearray(initial)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("server did not close the connection within "
                              "%.1fs (read %d bytes: %r)"
                              % (timeout, len(buf), bytes(buf[:200])))
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return bytes(buf)
        if not chunk:
            return bytes(buf)
        buf.extend(chunk)


def expect_error(resp, code, timeout=5.0):
    """Checks an error answer: status, Connection: close, text/plain,
    Content-Length matching a non-empty body, then the server closes."""
    check(resp.status == code, "expected status %d, got %r"
          % (code, resp.status_line))
    check(resp.reason.strip() != "", "status line without reason phrase: %r"
          % resp.status_line)
    check("close" in resp.tokens("Connection"),
          "no 'Connection: close' in %r" % resp.headers)
    ct = resp.header("Content-Type")
    check(ct is not None and ct.lower().startswith("text/plain"),
          "Content-Type should be text/plain, got %r" % ct)
    cl = resp.header("Content-Length")
    check(cl is not None and cl.isdigit(), "bad Content-Length %r" % cl)
    rest = read_to_eof(resp.sock, timeout, resp.rest)
    resp.body = rest[:int(cl)]
    check(len(rest) == int(cl), "Content-Length %s but %d body bytes "
          "before close: %r" % (cl, len(rest), rest[:200]))
    check(int(cl) > 0, "error response has an empty body")
    return resp


def ws_connect_raw(port, path="/echo", timeout=5.0, **kw):
    """Raw upgrade; asserts 101 with a correct accept key; returns RawWS."""
    key = kw.pop("key", None) or new_key()
    source = kw.pop("source", None)
    resp = http_request(port, ws_request(path=path, key=key, **kw), timeout,
                        source)
    check(resp.status == 101, "expected 101, got %r (%r)"
          % (resp.status_line, resp.headers))
    check(resp.header("Sec-WebSocket-Accept") == accept_key(key),
          "bad Sec-WebSocket-Accept %r"
          % resp.header("Sec-WebSocket-Accept"))
    ws = RawWS(resp.sock, resp.rest)
    ws.response = resp
    return ws


# ---------------------------------------------------------------------------
# Raw frames
# ---------------------------------------------------------------------------

def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask=True,
                 mask_key=None, length=None, len_form=None):
    """A frame with arbitrary header bits.

    rsv: 3-bit value (4 = RSV1, 2 = RSV2, 1 = RSV3).  mask: mask the
    payload (client frames must be masked).  length: the length written in
    the header (default len(payload)).  len_form: force 7, 16 or 64-bit
    length encoding.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    if len_form is None:
        len_form = 7 if n <= 125 else (16 if n <= 0xFFFF else 64)
    if len_form == 7:
        head = struct.pack("!BB", b0, mbit | n)
    elif len_form == 16:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        head += key
        payload = xor_mask(payload, key)
    return head + payload


def xor_mask(data, key):
    if not data:
        return b""
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(
        n, "big")


def close_payload(code, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, payload):
        self.fin, self.rsv, self.opcode, self.payload = fin, rsv, opcode, payload

    @property
    def close_code(self):
        check(self.opcode == OP_CLOSE, "not a close frame: %r" % self)
        if len(self.payload) < 2:
            return None
        return struct.unpack("!H", self.payload[:2])[0]

    def __repr__(self):
        return "<Frame op=%#x fin=%d rsv=%d len=%d %r>" % (
            self.opcode, self.fin, self.rsv, len(self.payload),
            self.payload[:40])


class ConnectionClosed(TestFailure):
    pass


class FrameTimeout(TestFailure):
    pass


class RawWS:
    """A WebSocket connection driven by hand, after the 101."""

    peer_masks = False   # frames read must be unmasked (we are the client)

    def __init__(self, sock, initial=b""):
        self.sock = sock
        self.buf = bytearray(initial)
        self.frames = []     # every frame read, in order
        self.mask_keys = []  # of every masked frame read (peer_masks)

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", **kw):
        self.sock.sendall(encode_frame(opcode, payload, **kw))

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FrameTimeout("timed out waiting for a frame (have %d of "
                                  "%d bytes)" % (len(self.buf), n))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise ConnectionClosed(
                    "connection closed by server while waiting for a frame "
                    "(%d buffered bytes: %r)" % (len(self.buf),
                                                 bytes(self.buf[:60])))
            self.buf.extend(chunk)

    def read_frame(self, timeout=5.0):
        """Reads one server frame; checks it is unmasked."""
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        if self.peer_masks:
            check(b1 & 0x80, "frame from wsgate to a backend is not masked "
                  "(RFC 6455 §5.1): %r" % bytes(self.buf[:12]))
        else:
            check(not (b1 & 0x80), "server frame is masked (RFC 6455 §5.1)")
        n = b1 & 0x7F
        hl = 2
        if n == 126:
            self._fill(4, deadline)
            n = struct.unpack("!H", bytes(self.buf[2:4]))[0]
            hl = 4
        elif n == 127:
            self._fill(10, deadline)
            n = struct.unpack("!Q", bytes(self.buf[2:10]))[0]
            check(n < (1 << 63), "server frame length has the top bit set")
            hl = 10
        if self.peer_masks:
            self._fill(hl + 4, deadline)
            key = bytes(self.buf[hl:hl + 4])
            hl += 4
        self._fill(hl + n, deadline)
        payload = bytes(self.buf[hl:hl + n])
        del self.buf[:hl + n]
        if self.peer_masks:
            self.mask_keys.append(key)
            payload = xor_mask(payload, key)
        f = Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, payload)
        check(f.rsv == 0, "server frame has RSV bits set: %r" % f)
        check(f.opcode in (0, 1, 2, 8, 9, 10), "server sent opcode %#x"
              % f.opcode)
        if f.opcode >= 8:
            check(f.fin, "server sent a fragmented control frame")
            check(n <= 125, "server sent a control frame of %d bytes" % n)
        self.frames.append(f)
        return f

    def read_message(self, timeout=5.0, answer_pings=True):
        """Reads one complete data message (reassembling fragments);
        returns (opcode, payload).  Pings are answered, pongs skipped."""
        deadline = time.monotonic() + timeout
        op, parts = None, []
        while True:
            f = self.read_frame(max(0.01, deadline - time.monotonic()))
            if f.opcode == OP_PING:
                if answer_pings:
                    self.send_frame(OP_PONG, f.payload)
                continue
            if f.opcode == OP_PONG:
                continue
            if f.opcode == OP_CLOSE:
                raise TestFailure("expected a data message, got close %r "
                                  "(code %r)" % (f.payload, f.close_code))
            if op is None:
                check(f.opcode in (OP_TEXT, OP_BINARY),
                      "message starts with opcode %#x" % f.opcode)
                op = f.opcode
            else:
                check(f.opcode == OP_CONT, "new data frame %#x inside a "
                      "fragmented message" % f.opcode)
            parts.append(f.payload)
            if f.fin:
                return op, b"".join(parts)

    def expect_close(self, code, timeout=10.0, skip_data=True):
        """Reads frames until a close frame; checks its code; returns it.
        Pings, pongs (and data frames when skip_data) before it are
        skipped."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                f = self.read_frame(max(0.01, deadline - time.monotonic()))
            except ConnectionClosed as e:
                raise TestFailure("expected close frame %r, but: %s"
                                  % (code, e))
            if f.opcode == OP_CLOSE:
                break
            if f.opcode in (OP_PING, OP_PONG):
                continue
            check(skip_data, "expected close %r, got %r" % (code, f))
        got = f.close_code
        if code is not None:
            check(got == code, "expected close code %r, got %r (payload %r)"
                  % (code, got, f.payload))
        if len(f.payload) > 2:
            try:
                f.payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise TestFailure("close reason is not UTF-8: %r" % f.payload)
        return f

    def expect_eof(self, timeout=10.0):
        """The server closes the TCP connection and sends nothing more."""
        rest = read_to_eof(self.sock, timeout, bytes(self.buf))
        self.buf.clear()
        check(rest == b"", "server sent %d bytes after its close frame: %r"
              % (len(rest), rest[:60]))

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------
# TCP backends (threads)
# ---------------------------------------------------------------------------

class TcpServer:
    """Threaded TCP server on 127.0.0.1:0; handler(conn, server) runs in
    its own thread per connection.  Records connections and EOFs."""

    def __init__(self, handler, backlog=64):
        self.handler = handler
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((HOST, 0))
        self.lsock.listen(backlog)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.conns = []
        self.threads = []
        self.accepted = 0
        self.eofs = 0              # connections on which the peer sent EOF
        self.errors = []
        self.state = {}            # free-form per-handler data
        self._t = threading.Thread(target=self._accept_loop, daemon=True)
        self._t.start()
        on_cleanup(self.stop)

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.accepted += 1
                self.conns.append(c)
                t = threading.Thread(target=self._run, args=(c,),
                                     daemon=True)
                self.threads.append(t)
            t.start()

    def _run(self, c):
        try:
            self.handler(c, self)
        except Exception as e:  # recorded, shown by tests that care
            if not self.stopping.is_set():
                self.errors.append(repr(e))
        finally:
            try:
                c.close()
            except OSError:
                pass

    def saw_eof(self):
        with self.lock:
            self.eofs += 1

    def stop(self):
        self.stopping.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._t.join(5)
        for t in list(self.threads):
            t.join(5)


def recv_some(c, server, timeout=0.2):
    """recv with a short timeout, looping until data, EOF or stop.
    Returns b'' on EOF, None when the server is stopping."""
    c.settimeout(timeout)
    while not server.stopping.is_set():
        try:
            return c.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, OSError):
            return b""
    return None


def send_all(c, server, data, timeout=0.5):
    """sendall with a per-attempt timeout, abandoned when stopping.
    Returns the number of bytes sent."""
    c.settimeout(timeout)
    view = memoryview(data)
    sent = 0
    while sent < len(data):
        if server.stopping.is_set():
            return sent
        try:
            n = c.send(view[sent:])
        except socket.timeout:
            continue
        sent += n
    return sent


def echo_handler(c, server):
    """Echoes everything; on EOF shuts down its side; hashes input."""
    h = hashlib.sha256()
    total = 0
    while True:
        data = recv_some(c, server)
        if data is None:
            return
        if not data:
            server.saw_eof()
            break
        h.update(data)
        total += len(data)
        if send_all(c, server, data) < len(data):
            return
    with server.lock:
        server.state.setdefault("received", []).append((total, h.hexdigest()))
    try:
        c.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def tcp_echo_server():
    return TcpServer(echo_handler)


def free_port():
    """A port with nothing listening (bind 0, close): connects are refused."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def blackhole_listener():
    """A listening port that never completes new connections: listen(0)
    with its accept queue filled, so further SYNs are dropped.  Returns the
    port; everything is closed after the test."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind((HOST, 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    on_cleanup(lsock.close)
    fillers = []
    for _ in range(3):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect((HOST, port))
        except (BlockingIOError, OSError):
            pass
        fillers.append(c)
        on_cleanup(c.close)
        time.sleep(0.05)
    # Verify: a further connect must not complete within a second.
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect((HOST, port))
        completed = True
    except (socket.timeout, OSError):
        completed = False
    finally:
        probe.close()
    check(not completed, "could not build a black-hole listener (connect "
          "completed despite a full accept queue)")
    return port


# ---------------------------------------------------------------------------
# WebSocket backends (type: websocket)
# ---------------------------------------------------------------------------

def ws_backend(*servers, **opts):
    """A `type: websocket` backend.  servers: ports (127.0.0.1:port),
    strings ("unix:/path", "127.0.0.1:p") or dicts ({"address": ...,
    "weight": 3}); opts: further keys (balance, retries, host, ...)."""
    d = {"type": "websocket",
         "servers": ["%s:%d" % (HOST, s) if isinstance(s, int) else s
                     for s in servers],
         "connect_timeout": "2s"}
    d.update(opts)
    return d


class HttpRequest(_HeaderAccess):
    """A request head as a backend received it: .method, .path (request
    target), .version, .headers [(name, value)], .raw (bytes)."""

    def __init__(self, raw=None, path=None, headers=None):
        self.raw = raw
        if raw is not None:
            lines = raw.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            check(len(parts) == 3, "bad request line %r" % lines[0])
            self.method, self.path, self.version = parts
            headers = []
            for line in lines[1:]:
                if not line:
                    continue
                check(":" in line, "bad request header line %r" % line)
                n, v = line.split(":", 1)
                check(n == n.strip() and n, "bad header name in %r" % line)
                headers.append((n, v.strip()))
        else:
            self.method, self.path, self.version = "GET", path, "HTTP/1.1"
        self.headers = list(headers)

    def names(self):
        return [n.lower() for n, _ in self.headers]

    def __repr__(self):
        return "<%s %s %r>" % (self.method, self.path, self.headers)


class WsServer:
    """A python websockets (asyncio API) server, in a thread with its own
    event loop, on 127.0.0.1:port (0: any free port; a fixed port may be
    reused, SO_REUSEADDR) or on a unix socket (unix_path).

    handler(ws, server) is the connection coroutine (ws.path is the
    request target).  Every handshake request is recorded in .requests as
    an HttpRequest (also those refused by process_request); .connections
    counts handler runs.  process_request(path, headers) may return
    (status, headers, body) to refuse the upgrade, as in websockets.serve;
    select_subprotocol(offers, available) too.  Other keywords go to
    websockets.serve (subprotocols, extra_headers, ...).  Stopped after the
    test (or by .stop()); handlers still running after 5 s are cancelled.
    """

    def __init__(self, handler, port=0, unix_path=None,
                 process_request=None, **serve_kw):
        self.handler = handler
        self.user_process_request = process_request
        self.unix_path = unix_path
        self.lock = threading.Lock()
        self.requests = []
        self.connections = 0       # handler runs (upgraded connections)
        self.active = 0            # handlers running now
        self.errors = []           # exceptions raised by the handler
        self.state = {}            # free-form per-test data
        self.loop = asyncio.new_event_loop()
        self._server = None
        self._start_error = None
        self._ready = threading.Event()
        kw = {"ping_interval": None, "compression": None, "max_size": None,
              "close_timeout": 5}
        kw.update(serve_kw)
        self._serve_kw = kw
        self._port = port
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        if not self._ready.wait(10):
            raise TestFailure("websockets server did not start within 10s")
        if self._start_error is not None:
            raise TestFailure("websockets server did not start: %r"
                              % self._start_error)
        on_cleanup(self.stop)

    async def _process_request(self, path, headers):
        with self.lock:
            self.requests.append(HttpRequest(path=path,
                                             headers=headers.raw_items()))
        if self.user_process_request is not None:
            r = self.user_process_request(path, headers)
            if inspect.isawaitable(r):
                r = await r
            if r is not None:   # websockets wants an HTTPStatus
                import http
                r = (http.HTTPStatus(r[0]), r[1], r[2])
            return r
        return None

    async def _handler(self, ws, path=None):
        with self.lock:
            self.connections += 1
            self.active += 1
        import websockets
        try:
            await self.handler(ws, self)
        except websockets.exceptions.ConnectionClosed:
            pass
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.errors.append(repr(e))
            raise
        finally:
            with self.lock:
                self.active -= 1

    async def _start(self):
        import websockets
        if self.unix_path:
            self._server = await websockets.unix_serve(
                self._handler, self.unix_path,
                process_request=self._process_request, **self._serve_kw)
        else:
            self._server = await websockets.serve(
                self._handler, HOST, self._port,
                process_request=self._process_request, **self._serve_kw)
            self.port = self._server.sockets[0].getsockname()[1]

    def _run(self):
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except Exception as e:
            self._start_error = e
            self._ready.set()
            self.loop.close()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            for t in asyncio.all_tasks(self.loop):
                t.cancel()
            try:
                self.loop.run_until_complete(asyncio.sleep(0))
            except Exception:
                pass
            self.loop.close()

    async def _shutdown(self):
        self._server.close()
        try:
            await asyncio.wait_for(self._server.wait_closed(), 5)
        except asyncio.TimeoutError:
            pass

    def paths(self):
        with self.lock:
            return [r.path for r in self.requests]

    def stop(self):
        if not self._t.is_alive():
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        try:
            fut.result(10)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._t.join(10)
        if self.unix_path:
            try:
                os.unlink(self.unix_path)
            except OSError:
                pass


async def ws_echo_handler(ws, server):
    """Echoes every message with its type."""
    async for msg in ws:
        await ws.send(msg)


def terminate(proc, grace=5.0):
    """Stops a child (a Popen) by its PID: SIGTERM, then SIGKILL when it
    is still there after grace seconds."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


class ServerProcess:
    """A server in a child process that prints "PORT <n>" on stdout once it
    listens: .pid, .port, .output(), .kill() (SIGKILL), .stop() (SIGTERM,
    then SIGKILL after 5 s).  By PID only; stopped after the test."""

    PORT_RE = re.compile(r"^PORT (\d+)$", re.M)

    def __init__(self, argv, env=None, startup_timeout=10.0):
        self.argv = list(argv)
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        on_cleanup(self.stop)
        self._out = ProcessOutput(self.proc)
        try:
            m = self._out.wait_for(self.PORT_RE, startup_timeout)
        except TestFailure:
            raise TestFailure(
                "%s did not print PORT within %.0fs (exit status %r):\n%s"
                % (self.argv[0], startup_timeout, self.proc.poll(),
                   self.output()))
        self.port = int(m.group(1))

    def output(self):
        return self._out.text()

    def alive(self):
        return self.proc.poll() is None

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        terminate(self.proc)
        self._out.join(5)


_WS_SCRIPT_TAIL = r'''

async def _wsgate_it_main():
    import websockets
    kw = dict(ping_interval=None, compression=None, max_size=None,
              close_timeout=5)
    kw.update(globals().get("SERVE_KW", {}))
    async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]),
                                **kw) as srv:
        print("PORT %d" % srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()

asyncio.run(_wsgate_it_main())
'''


def start_ws_server(handler=ws_echo_handler, **kw):
    """A python websockets backend.  handler: a coroutine function
    handler(ws, server), run in a thread of this process (returns a
    WsServer), or a string: the source of a script that defines
    `async def handler(ws, path)` (and optionally SERVE_KW), run by
    /usr/bin/python3 in a child process that can be killed (returns a
    ServerProcess).  Both have .port and .stop()."""
    if isinstance(handler, str):
        d = tempfile.mkdtemp(prefix="wsgate-it-srv-")
        on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
        path = os.path.join(d, "server.py")
        with open(path, "w") as f:
            f.write("import asyncio\nimport sys\n" + handler
                    + _WS_SCRIPT_TAIL)
        return ServerProcess(["/usr/bin/python3", path,
                              str(kw.get("port", 0))])
    return WsServer(handler, **kw)


NODE = "/usr/bin/node"
NODE_PATH = "/usr/share/nodejs"


def start_node_server(script):
    """Runs a node script (Debian's node with NODE_PATH set, so that
    require('ws') works) that prints "PORT <n>"; returns a ServerProcess."""
    d = tempfile.mkdtemp(prefix="wsgate-it-node-")
    on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    path = os.path.join(d, "server.js")
    with open(path, "w") as f:
        f.write(script)
    env = dict(os.environ)
    env["NODE_PATH"] = NODE_PATH
    return ServerProcess([NODE, path], env=env)


class BackendWS(RawWS):
    """wsgate seen from a raw backend, after the 101: frames read must be
    masked (their keys are kept in .mask_keys); frames sent are unmasked
    unless mask=True is passed."""

    peer_masks = True

    def send_frame(self, opcode, payload=b"", **kw):
        kw.setdefault("mask", False)
        self.sock.sendall(encode_frame(opcode, payload, **kw))


def ws_accept_response(req, protocol=None, extra=()):
    """A correct 101 for the request req (an HttpRequest)."""
    key = req.header("Sec-WebSocket-Key")
    check(key is not None, "request to the backend has no "
          "Sec-WebSocket-Key: %r" % req)
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Accept: "
             + accept_key(key)]
    if protocol:
        lines.append("Sec-WebSocket-Protocol: " + protocol)
    lines += ["%s: %s" % nv for nv in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def raw_echo_session(peer, server):
    """Backend side of a raw connection: echoes data messages (with their
    opcode, reassembled), answers pings, echoes a close frame and waits
    for EOF."""
    op, parts = None, []
    while not server.stopping.is_set():
        try:
            f = peer.read_frame(timeout=0.5)
        except FrameTimeout:
            continue
        except ConnectionClosed:
            server.saw_eof()
            return
        if f.opcode == OP_PING:
            peer.send_frame(OP_PONG, f.payload)
        elif f.opcode == OP_PONG:
            pass
        elif f.opcode == OP_CLOSE:
            peer.send_frame(OP_CLOSE, f.payload[:2])
            wait_peer_eof(peer, server)
            return
        else:
            if op is None:
                op = f.opcode
            parts.append(f.payload)
            if f.fin:
                peer.send_frame(op, b"".join(parts))
                op, parts = None, []


def wait_peer_eof(peer, server, timeout=10.0):
    """Reads (and records) until the peer closes or timeout; True on EOF."""
    deadline = time.monotonic() + timeout
    while not server.stopping.is_set() and time.monotonic() < deadline:
        try:
            peer.read_frame(timeout=0.5)
        except FrameTimeout:
            continue
        except ConnectionClosed:
            server.saw_eof()
            return True
    return False


def raw_ws_backend(session=raw_echo_session, respond=None):
    """A hand-written WebSocket backend (TcpServer): reads the request head
    (recorded as an HttpRequest in state["requests"]), answers
    respond(req) (bytes; default: a correct 101; None: never answers;
    b"": closes at once; a list of bytes: sent piece by piece),
    then, after a 101, runs session(peer, server) with a BackendWS (also
    recorded in state["peers"]).  Every byte received on each connection
    is kept in state["bytes"] (one bytearray per connection)."""
    def handler(c, server):
        buf = bytearray()
        with server.lock:
            server.state.setdefault("bytes", []).append(buf)
        i = read_until(c, buf, b"\r\n\r\n", 10)
        req = HttpRequest(raw=bytes(buf[:i + 4]))
        with server.lock:
            server.state.setdefault("requests", []).append(req)
        answer = respond(req) if respond else ws_accept_response(req)
        pieces = None
        if isinstance(answer, list):    # sent piece by piece
            pieces, answer = answer, b"".join(answer)
        if answer == b"":
            return          # closed without an answer
        if answer is None or not answer.startswith(b"HTTP/1.1 101 "):
            for p in ((pieces or [answer]) if answer is not None else []):
                send_all(c, server, p)
                if pieces:
                    time.sleep(0.005)
            while True:     # record everything until wsgate closes
                r = recv_some(c, server)
                if not r:
                    if r == b"":
                        server.saw_eof()
                    return
                buf.extend(r)
        for p in (pieces or [answer]):
            send_all(c, server, p)
            if pieces:
                time.sleep(0.005)
        peer = _RecordingBackendWS(c, bytes(buf[i + 4:]), buf)
        peer.request = req
        with server.lock:
            server.state.setdefault("peers", []).append(peer)
        session(peer, server)
    return TcpServer(handler)


class _RecordingBackendWS(BackendWS):
    """BackendWS that also appends every byte it reads to `record`."""

    def __init__(self, sock, initial, record):
        super().__init__(sock, initial)
        self._record = record

    def _fill(self, n, deadline):
        before = len(self.buf)
        try:
            super()._fill(n, deadline)
        finally:
            # bytes read by this call are the tail of self.buf
            got = len(self.buf) - before
            if got > 0:
                self._record.extend(self.buf[len(self.buf) - got:])


def backend_requests(server):
    """The handshake requests a backend received (WsServer or raw)."""
    if isinstance(server, WsServer):
        with server.lock:
            return list(server.requests)
    with server.lock:
        return list(server.state.get("requests", []))


def check_backend_ok(server):
    """No exception in the backend's handlers (protocol checks included)."""
    errs = list(server.errors)
    check(not errs, "backend handler errors: %s" % "; ".join(errs))


# ---------------------------------------------------------------------------
# asyncio helpers
# ---------------------------------------------------------------------------

def ws_client(gw, path="/echo", **kw):
    """websockets.connect with test-friendly defaults (no own pings, no
    compression, no size limit, bounded timeouts)."""
    import websockets
    kw.setdefault("ping_interval", None)
    kw.setdefault("compression", None)
    kw.setdefault("max_size", None)
    kw.setdefault("open_timeout", 10)
    kw.setdefault("close_timeout", 10)
    return websockets.connect(gw.url(path), **kw)


async def within(aw, timeout, what="operation"):
    try:
        return await asyncio.wait_for(aw, timeout)
    except asyncio.TimeoutError:
        raise TestFailure("%s did not finish within %.0fs" % (what, timeout))


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------

TEST_TIMEOUT = float(os.environ.get("WSGATE_TEST_TIMEOUT", "60"))


class _Alarm(Exception):
    pass


class _Terminated(BaseException):
    pass


def _alarm(signum, frame):
    raise _Alarm("test exceeded %.0fs" % TEST_TIMEOUT)


def _terminated(signum, frame):
    raise _Terminated("terminated by signal %d" % signum)


def main(namespace):
    """Runs every test_* function of namespace (in file order, or those
    named on the command line); prints ok/FAIL per test and the daemon logs
    of failing tests; exits 1 if any failed."""
    tests = [(n, f) for n, f in namespace.items()
             if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
    wanted = sys.argv[1:]
    if wanted:
        tests = [(n, f) for n, f in tests if n in wanted]
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _terminated)
    failed = []
    stop = False
    for name, fn in tests:
        del _started[:]
        del _valgrind_failures[:]
        t0 = time.monotonic()
        err = None
        try:
            signal.alarm(int(TEST_TIMEOUT) + 5)
            if inspect.iscoroutinefunction(fn):
                asyncio.run(asyncio.wait_for(fn(), TEST_TIMEOUT))
            else:
                fn()
        except BaseException as e:  # noqa: includes the alarm
            if isinstance(e, (KeyboardInterrupt, _Terminated)):
                stop = True
            err = traceback.format_exc()
        finally:
            signal.alarm(0)
            try:
                _run_cleanups()
            except BaseException:
                err = (err or "") + traceback.format_exc()
        dt = time.monotonic() - t0
        if err is None:
            err = _sanitizer_reports()
        if err is None:
            print("ok   %s (%.1fs)" % (name, dt), flush=True)
        else:
            failed.append(name)
            print("FAIL %s (%.1fs)" % (name, dt), flush=True)
            print(err.rstrip(), flush=True)
            for gw in _started:
                print("---- wsgate pid %d log (exit status %r) ----"
                      % (gw.pid, gw.returncode), flush=True)
                text = gw.log()
                if len(text) > 20000:
                    text = "[... %d bytes cut ...]\n" % (len(text) - 20000) \
                        + text[-20000:]
                print(text.rstrip(), flush=True)
                print("---- end of log ----", flush=True)
        if stop:
            break
    print("%d tests, %d failed%s" % (len(tests), len(failed),
                                     (": " + ", ".join(failed))
                                     if failed else ""), flush=True)
    sys.exit(1 if failed else 0)
