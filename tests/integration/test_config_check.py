"""Configuration checking and command line: `wsgate -t -c FILE` exits 0 for
a valid file and 1 for an invalid one, reporting every error of the file
(not only the first) on stderr as `FILE:LINE:COL: yaml.path: message` with
the right line; unknown keys, wrong types, out-of-range values, bad units,
undefined backends and YAML syntax errors are all caught; -V, -h and
unknown options behave; an invalid config never starts listening."""

import re

import harness as h
from harness import check

ERR_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): "
                    r"(?P<path>\S+): (?P<msg>.+)$")

VALID = """\
listen:
  - address: "127.0.0.1:0"
log: { level: info }
limits:
  handshake_timeout: 10s
  max_request_head: 8KiB
  max_message: 16MiB
  buffer_high_watermark: 1MiB
  ping_interval: 30s
  pong_timeout: 15s
  idle_timeout: 0
  close_timeout: 5s
backends:
  tcpecho:
    type: tcp
    servers: ["127.0.0.1:9", "127.0.0.1:10"]
    connect_timeout: 5s
routes:
  - match: { path: /echo }
    backend: echo
  - match: { host: chat.example, path_exact: /x }
    origins: ["https://chat.example"]
    backend: echo
  - match: { path: /tcp }
    backend: tcpecho
    subprotocols: [binary, base64]
    frames: binary
  - match: { path: /text }
    backend: tcpecho
    frames: text
"""

# Seven independent errors, one per marked line.
MANY_ERRORS = """\
listen:
  - address: "127.0.0.1:0"
log: { level: loud }
limits:
  handshake_timeout: 10 parsecs
  max_message: 16XiB
  bogus_limit: 3
  ping_interval: [1s, 2s]
backends:
  t:
    type: tcp
    servers: ["127.0.0.1:99999"]
    connect_timeout: 5s
routes:
  - match: { path: /x }
    backend: nope
"""

# line -> (text that must appear in the yaml.path, allowed columns)
MANY_EXPECTED = {
    3: ("log.level", None),
    5: ("limits.handshake_timeout", (3, 22)),
    6: ("limits.max_message", (3, 16)),
    7: ("bogus_limit", (3, 16)),
    8: ("limits.ping_interval", (3, 18, 19)),
    12: ("backends.t.servers", None),
    16: ("routes[0].backend", (5, 14)),
}


def error_lines(err, path):
    """Parsed error lines of stderr that name the config file."""
    out = []
    for line in err.splitlines():
        m = ERR_RE.match(line.strip())
        if m and m.group("file").endswith(path.split("/")[-1]):
            out.append(m)
    return out


def run_check(text):
    return h.run_wsgate(["-t", "-c", "{config}"], config_text=text)


def test_valid_config_is_accepted():
    rc, out, err, _ = run_check(VALID)
    check(rc == 0, "valid config: exit %r, stderr %r" % (rc, err))


def test_units_and_zero_values_are_accepted():
    text = VALID.replace("handshake_timeout: 10s", "handshake_timeout: 250ms") \
        .replace("max_request_head: 8KiB", "max_request_head: 64KiB") \
        .replace("max_message: 16MiB", "max_message: 512") \
        .replace("ping_interval: 30s", "ping_interval: 0") \
        .replace("pong_timeout: 15s", "pong_timeout: 5m") \
        .replace("idle_timeout: 0", "idle_timeout: 1h")
    rc, out, err, _ = run_check(text)
    check(rc == 0, "config with 250ms/64KiB/512/0/5m/1h: exit %r, stderr %r"
          % (rc, err))


def test_all_errors_reported_with_position():
    rc, out, err, path = run_check(MANY_ERRORS)
    check(rc == 1, "invalid config: expected exit 1, got %r" % rc)
    errs = error_lines(err, path)
    check(errs, "no FILE:LINE:COL: path: message lines on stderr: %r" % err)
    by_line = {}
    for m in errs:
        by_line.setdefault(int(m.group("line")), []).append(m)
    problems = []
    for line, (ptext, cols) in sorted(MANY_EXPECTED.items()):
        ms = by_line.get(line, [])
        ok = [m for m in ms if ptext in m.group("path")]
        if not ok:
            problems.append("line %d: no error naming %r (got %r)"
                            % (line, ptext, [m.group(0) for m in ms]))
            continue
        if cols and not any(int(m.group("col")) in cols for m in ok):
            problems.append("line %d: column %s not in %r"
                            % (line, ok[0].group("col"), cols))
    check(not problems, "%d of %d expected errors missing or misplaced:\n  %s"
          "\nstderr was:\n%s" % (len(problems), len(MANY_EXPECTED),
                                 "\n  ".join(problems), err))
    check(any(m.group("path") == "routes[0].backend"
              and 'unknown backend "nope"' in m.group("msg") for m in errs),
          'no `routes[0].backend: unknown backend "nope"` in %r' % err)


SINGLE_ERRORS = [
    # (description, text, line of the error, text in the yaml path)
    ("unknown top-level key",
     VALID + "colour: blue\n", VALID.count("\n") + 1, "colour"),
    ("unknown key in a route",
     VALID.replace("    backend: echo\n", "    backend: echo\n    weight: 3\n",
                   1), 21, "routes[0]"),
    ("bad duration unit",
     VALID.replace("pong_timeout: 15s", "pong_timeout: 15 fortnights"), 10,
     "limits.pong_timeout"),
    ("bad size unit",
     VALID.replace("max_request_head: 8KiB", "max_request_head: 8KB!"), 6,
     "limits.max_request_head"),
    ("wrong type: mapping for a duration",
     VALID.replace("close_timeout: 5s", "close_timeout: {s: 5}"), 12,
     "limits.close_timeout"),
    ("wrong type: string for the listen list",
     VALID.replace('listen:\n  - address: "127.0.0.1:0"\n',
                   'listen: "127.0.0.1:0"\n'), 1, "listen"),
    ("out-of-range port",
     VALID.replace('"127.0.0.1:10"', '"127.0.0.1:65536"'), 16,
     "backends.tcpecho.servers"),
    ("bad log level",
     VALID.replace("level: info", "level: chatty"), 3, "log.level"),
    ("bad frames value",
     VALID.replace("frames: binary", "frames: hex"), 27, "routes[2].frames"),
    ("undefined backend",
     VALID.replace("backend: tcpecho\n    subprotocols",
                   "backend: nope\n    subprotocols"), 25, "routes[2].backend"),
]


def test_each_error_kind_alone():
    problems = []
    for desc, text, line, ptext in SINGLE_ERRORS:
        rc, out, err, path = run_check(text)
        errs = error_lines(err, path)
        if rc != 1:
            problems.append("%s: exit %r (stderr %r)" % (desc, rc, err))
            continue
        if not any(int(m.group("line")) == line and ptext in m.group("path")
                   for m in errs):
            problems.append("%s: no error at line %d naming %r; stderr %r"
                            % (desc, line, ptext, err))
    check(not problems, "%d of %d cases wrong:\n  %s"
          % (len(problems), len(SINGLE_ERRORS), "\n  ".join(problems)))


def test_yaml_syntax_error():
    text = VALID.replace("routes:\n  - match: { path: /echo }",
                         "routes:\n  - match: { path: /echo")
    rc, out, err, path = run_check(text)
    check(rc == 1, "syntax error: expected exit 1, got %r" % rc)
    check(any(True for _ in error_lines(err, path))
          or re.search(r"wsgate\.yaml:\d+:\d+: ", err),
          "syntax error not reported as FILE:LINE:COL: %r" % err)


def test_missing_file():
    rc, out, err, _ = h.run_wsgate(["-t", "-c", "/nonexistent/wsgate.yaml"])
    check(rc == 1, "missing config file: expected exit 1, got %r" % rc)
    check("/nonexistent/wsgate.yaml" in err,
          "error does not name the missing file: %r" % err)


def test_version():
    rc, out, err, _ = h.run_wsgate(["-V"])
    text = out + err
    check(rc == 0, "-V: exit %r" % rc)
    for word in ("wsgate", "libevent", "OpenSSL", "libyaml"):
        check(word in text, "-V output lacks %r: %r" % (word, text))


def test_help():
    rc, out, err, _ = h.run_wsgate(["-h"])
    text = out + err
    check(rc == 0, "-h: exit %r" % rc)
    check("-c" in text and "-t" in text, "-h output is not a usage: %r"
          % text)


def test_unknown_option():
    rc, out, err, _ = h.run_wsgate(["--no-such-option"])
    check(rc != 0, "unknown long option: exit 0")
    rc, out, err, _ = h.run_wsgate(["-Z"])
    check(rc != 0, "unknown option -Z: exit 0")
    check(err.strip() != "", "unknown option -Z: nothing on stderr")


def test_invalid_config_does_not_start():
    rc, out, err, _ = h.run_wsgate(["-c", "{config}"], config_text=MANY_ERRORS)
    check(rc != 0, "wsgate -c with an invalid config exited 0")
    check("listening on" not in err + out,
          "wsgate started listening with an invalid config: %r" % err)


def test_valid_config_starts():
    gw = h.start_wsgate(VALID.replace("level: info", "level: debug"))
    check(gw.alive(), "wsgate died after start")


def test_two_listeners():
    text = VALID.replace('listen:\n  - address: "127.0.0.1:0"\n',
                         'listen:\n  - address: "127.0.0.1:0"\n'
                         '  - address: "127.0.0.1:0"\n').replace(
        "close_timeout: 5s", "close_timeout: 1s")
    gw = h.start_wsgate(text)
    h.wait_until(lambda: len(h.LISTEN_RE.findall(gw.log())) >= 2, 10,
                 what="two 'listening on' lines")
    ports = sorted(set(int(p) for p in h.LISTEN_RE.findall(gw.log())))
    check(len(ports) == 2 and 0 not in ports, "listener ports %r" % ports)
    for port in ports:
        ws = h.ws_connect_raw(port)
        ws.send_frame(h.OP_TEXT, "via %d" % port)
        check(ws.read_message() == (h.OP_TEXT, b"via %d" % port),
              "echo via listener %d" % port)


if __name__ == "__main__":
    h.main(globals())
