"""The malformed-input corpus (tests/corpus/): every opening handshake in
handshakes.txt gets exactly its expected HTTP status from the real daemon,
as a well-formed error with Connection: close (Allow: GET with 405, the
Upgrade or Sec-WebSocket-Version hint with 426) after which wsgate closes
the connection, or a 101 with the right Sec-WebSocket-Accept for the
controls; every frame sequence in frames.txt, sent after a successful
upgrade, gets a close frame with exactly its expected code and then the
end of the TCP connection, both on the built-in echo route and on a route
to a websocket backend.  The cases run concurrently against one daemon;
every mismatch is reported, not only the first.  The file formats are
described at the top of each data file."""

import concurrent.futures
import os
import re
import socket
import struct
import sys
import time

import harness as h
from harness import check

CORPUS = os.path.join(h.ROOT, "tests", "corpus")
MASK_KEY = bytes.fromhex("37fa213d")
WORKERS = 16

# --------------------------------------------------------------------------
# Data files
# --------------------------------------------------------------------------

_ESCAPES = {"r": b"\r", "n": b"\n", "t": b"\t", "s": b" ", "0": b"\0",
            "\\": b"\\", '"': b'"'}


class CorpusError(Exception):
    pass


def unescape(text, where):
    """The bytes that text (file notation) stands for."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            if ord(c) > 0x7e or ord(c) < 0x20:
                raise CorpusError("%s: raw byte %r: write it as \\xHH"
                                  % (where, c))
            out += c.encode("ascii")
            i += 1
            continue
        e = text[i + 1:i + 2]
        if e == "x":
            hx = text[i + 2:i + 4]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", hx):
                raise CorpusError("%s: bad \\x escape" % where)
            out.append(int(hx, 16))
            i += 4
        elif e in _ESCAPES:
            out += _ESCAPES[e]
            i += 2
        else:
            raise CorpusError("%s: unknown escape \\%s" % (where, e))
    return bytes(out)


def read_cases(name, expect_re):
    """[(case name, expect string, [(line number, line)])] of a data
    file: '==' headers, comments and blank lines as both files use them."""
    path = os.path.join(CORPUS, name)
    cases, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = "%s:%d" % (name, no)
            if line != line.rstrip():
                raise CorpusError("%s: trailing whitespace (use \\s or \\t)"
                                  % where)
            if not line or line.startswith("#"):
                continue
            if line.startswith("=="):
                m = re.fullmatch(r"== ([a-z0-9][a-z0-9-]*) (%s)" % expect_re,
                                 line)
                if not m:
                    raise CorpusError("%s: bad case header %r" % (where, line))
                if m.group(1) in seen:
                    raise CorpusError("%s: case %s defined twice"
                                      % (where, m.group(1)))
                seen.add(m.group(1))
                cases.append((m.group(1), m.group(2), []))
                continue
            if not cases:
                raise CorpusError("%s: data before the first case" % where)
            cases[-1][2].append((where, line))
    for cname, _, lines in cases:
        if not lines:
            raise CorpusError("%s: case %s is empty" % (name, cname))
    return cases


def load_handshakes():
    """[(name, status, request bytes)]."""
    out = []
    for name, status, lines in read_cases("handshakes.txt", r"\d{3}"):
        data = bytearray()
        for where, line in lines:
            m = re.match(r"\*(\d+) (.*)$", line)
            if m:
                data += unescape(m.group(2), where) * int(m.group(1))
            else:
                data += unescape(line, where)
        out.append((name, int(status), bytes(data)))
    return out


_OPCODES = {"cont": 0x0, "text": 0x1, "binary": 0x2, "close": 0x8,
            "ping": 0x9, "pong": 0xA}
_TOKEN_RE = re.compile(r'"((?:[^"\\]|\\.)*)"(?:\*(\d+))?|(\S+)')


def encode_line(where, line):
    """The bytes of one frame line of frames.txt."""
    fin, rsv, mask, form, length, payload = True, 0, True, None, None, b""
    toks = list(_TOKEN_RE.finditer(line))
    first = toks[0].group(3)
    if first is None:
        raise CorpusError("%s: a frame line starts with an opcode" % where)
    if first == "raw":
        opcode = None
    elif first in _OPCODES:
        opcode = _OPCODES[first]
    elif re.fullmatch(r"0x[0-9a-fA-F]", first):
        opcode = int(first, 16)
    else:
        raise CorpusError("%s: unknown opcode %r" % (where, first))
    for t in toks[1:]:
        if t.group(1) is not None:
            payload += unescape(t.group(1), where) * int(t.group(2) or 1)
            continue
        w = t.group(3)
        m = re.fullmatch(r"(len|code)=(0x[0-9a-fA-F]+|\d+)", w)
        if w == "nofin":
            fin = False
        elif w in ("rsv1", "rsv2", "rsv3"):
            rsv |= {"rsv1": 4, "rsv2": 2, "rsv3": 1}[w]
        elif w == "nomask":
            mask = False
        elif w in ("len16", "len64"):
            form = int(w[3:])
        elif m and m.group(1) == "len":
            length = int(m.group(2), 0)
        elif m and m.group(1) == "code":
            payload += struct.pack("!H", int(m.group(2), 0))
        else:
            raise CorpusError("%s: unknown word %r" % (where, w))
    if opcode is None:
        return payload
    return h.encode_frame(opcode, payload, fin=fin, rsv=rsv, mask=mask,
                          mask_key=MASK_KEY, length=length, len_form=form)


def load_frames():
    """[(name, expected close code, "empty" or "eof", bytes)]."""
    out = []
    for name, expect, lines in read_cases("frames.txt",
                                          r"\d{4}|empty|eof"):
        data = b"".join(encode_line(w, l) for w, l in lines)
        out.append((name, int(expect) if expect.isdigit() else expect, data))
    return out


# --------------------------------------------------------------------------
# Running the cases
# --------------------------------------------------------------------------

def gate():
    """One wsgate: echo, websocket backend and Origin-restricted routes."""
    be = h.raw_ws_backend()
    routes = [
        {"match": {"host": "strict.example", "path_exact": "/strict"},
         "origins": ["https://ok.example"], "backend": "echo"},
        {"match": {"path": "/echo"}, "backend": "echo"},
        {"match": {"path": "/ws"}, "backend": "ws"},
    ]
    return h.start_wsgate(h.config(
        routes, {"ws": h.ws_backend(be.port)},
        {"max_request_head": "8KiB", "max_message": "1KiB",
         "handshake_timeout": "5s", "close_timeout": "2s"}, level="info"))


def open_socket(port):
    s = socket.create_connection((h.HOST, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def send_all(s, data):
    """Sends data; wsgate may answer and close before all of it is in."""
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def run_handshake(port, status, data):
    """None, or what went wrong."""
    s = open_socket(port)
    try:
        send_all(s, data)
        resp = h.read_response(s, 5)
        if resp.status != status:
            return "status %d, expected %d (%r)" % (
                resp.status, status, resp.status_line)
        if status == 101:
            m = re.search(rb"\r\nSec-WebSocket-Key:[ \t]*([^\r\n]*?)"
                          rb"[ \t]*\r\n", data)
            want = h.accept_key(m.group(1).decode()) if m else None
            got = resp.header("Sec-WebSocket-Accept")
            check(got == want, "Sec-WebSocket-Accept %r, expected %r"
                  % (got, want))
            return None
        h.expect_error(resp, status)
        if status == 405:
            check(resp.header("Allow") == "GET", "405 without Allow: GET")
        if status == 426:
            check("websocket" in resp.tokens("Upgrade") or
                  resp.header("Sec-WebSocket-Version") == "13",
                  "426 without Upgrade: websocket or "
                  "Sec-WebSocket-Version: 13: %r" % resp.headers)
        return None
    except h.TestFailure as e:
        return str(e)
    finally:
        s.close()


def run_frames(port, path, expect, data):
    """None, or what went wrong."""
    s = open_socket(port)
    try:
        key = h.new_key()
        s.sendall(h.ws_request(path=path, key=key))
        resp = h.read_response(s, 5)
        if resp.status != 101:
            return "upgrade failed: %r" % resp.status_line
        ws = h.RawWS(s, resp.rest)
        send_all(s, data)
        if expect == "eof":
            while True:
                try:
                    f = ws.read_frame(5)
                except h.ConnectionClosed:
                    return None
                check(f.opcode != h.OP_CLOSE, "close frame %r, expected "
                      "none" % f.payload)
        f = ws.expect_close(None, timeout=5)
        if expect == "empty":
            check(f.payload == b"", "close payload %r, expected none"
                  % f.payload)
        else:
            check(f.close_code == expect, "close code %r (payload %r), "
                  "expected %d" % (f.close_code, f.payload, expect))
        ws.expect_eof(5)
        return None
    except h.TestFailure as e:
        return str(e)
    finally:
        s.close()


def run_all(jobs):
    """jobs: [(label, fn, args)]; returns ["label: error"] in job order."""
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futs = [(label, pool.submit(fn, *args)) for label, fn, args in jobs]
        out = []
        for label, fut in futs:
            try:
                err = fut.result(60)
            except Exception as e:  # a bug in the runner, not a mismatch
                err = "%s: %r" % (type(e).__name__, e)
            if err is not None:
                out.append("%s: %s" % (label, err))
        return out


def test_corpus_loads():
    """The data files parse, hold enough cases and use their notation as
    documented (one hand-checked encoding of each kind)."""
    hs, fr = load_handshakes(), load_frames()
    check(len(hs) >= 100, "only %d handshake cases" % len(hs))
    check(len(fr) >= 100, "only %d frame cases" % len(fr))
    check(unescape(r"a\r\n\t\s\0\x7f\\\"", "t") == b'a\r\n\t \0\x7f\\"',
          "escapes")
    check(encode_line("t", 'ping nofin rsv1 "ab"*2') ==
          bytes([0x49, 0x84]) + MASK_KEY + h.xor_mask(b"abab", MASK_KEY),
          "frame line")
    check(encode_line("t", 'close nomask len16 code=1000 "x"') ==
          b"\x88\x7e\x00\x03\x03\xe8x", "close line")
    check(encode_line("t", 'raw "\\xff\\0"') == b"\xff\0", "raw line")


def test_corpus():
    hs, fr = load_handshakes(), load_frames()
    gw = gate()
    t0 = time.monotonic()
    jobs = [("handshake %s" % n, run_handshake, (gw.port, st, data))
            for n, st, data in hs]
    for path in ("/echo", "/ws"):
        jobs += [("frames %s on %s" % (n, path), run_frames,
                  (gw.port, path, ex, data)) for n, ex, data in fr]
    bad = run_all(jobs)
    check(gw.alive(), "wsgate died during the corpus")
    check(not bad, "%d of %d corpus runs did not go as expected:\n  %s"
          % (len(bad), len(jobs), "\n  ".join(bad)))
    print("note: corpus: %d handshakes, %d frame sequences (x2 routes), all as "
          "expected (%.1fs)" % (len(hs), len(fr), time.monotonic() - t0),
          flush=True)


def write_fuzz_seeds():
    """--fuzz-seeds: every handshake case becomes a seed of the HTTP
    request fuzzer, tests/fuzz/corpus/http_request/corpus-NAME (the old
    corpus-* files are replaced)."""
    d = os.path.join(h.ROOT, "tests", "fuzz", "corpus", "http_request")
    for f in os.listdir(d):
        if f.startswith("corpus-"):
            os.unlink(os.path.join(d, f))
    cases = load_handshakes()
    for name, _, data in cases:
        with open(os.path.join(d, "corpus-" + name), "wb") as f:
            f.write(data)
    print("%d seeds written to %s" % (len(cases), d))


if __name__ == "__main__":
    if sys.argv[1:] == ["--fuzz-seeds"]:
        write_fuzz_seeds()
        sys.exit(0)
    h.main(globals())
