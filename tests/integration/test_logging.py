"""Logging (DESIGN.md "Operations"): every connection ends with an access
log line naming the client address, the path, the status and the close
code; rejected handshakes are logged with their status; query strings
(where tokens live) are redacted by default and never reach the log
unless log.query says so; log.access: false drops the access lines;
log.format: json gives one JSON object per line with the access fields
matching the traffic; under the journal (JOURNAL_STREAM naming stderr)
lines carry "<N>" priorities instead of timestamps."""

import json
import os
import re
import subprocess
import tempfile

import harness as h
from harness import check, OP_CLOSE, OP_TEXT, close_payload


def gate():
    return h.start_wsgate(h.config([h.ECHO_ROUTE],
                                   limits={"close_timeout": "1s"}))


def client_line(gw, sock, timeout=10):
    """The first log line naming this client's address:port after it
    finished (access line)."""
    cport = sock.getsockname()[1]
    rx = re.compile(r"^.*\b127\.0\.0\.1:%d\b.*$" % cport, re.M)
    return rx, cport


def test_access_line_per_connection():
    gw = gate()
    ws = h.ws_connect_raw(gw.port, path="/echo")
    rx, cport = client_line(gw, ws.sock)
    ws.send_frame(OP_TEXT, "logged")
    ws.read_message()
    ws.send_frame(OP_CLOSE, close_payload(1000))
    ws.expect_close(1000, skip_data=False)
    ws.expect_eof()
    want = re.compile(r"^.*\b127\.0\.0\.1:%d\b(?=.*/echo)(?=.*\b101\b)"
                      r"(?=.*\b1000\b).*$" % cport, re.M)
    try:
        gw.wait_log(want, timeout=10)
    except h.TestFailure:
        raise h.TestFailure("no log line with client 127.0.0.1:%d, path "
                            "/echo, status 101 and close code 1000; lines "
                            "naming the client: %r"
                            % (cport, rx.findall(gw.log())))


def test_rejected_handshake_is_logged():
    gw = gate()
    r = h.http_request(gw.port, h.ws_request(path="/nowhere"))
    cport = r.sock.getsockname()[1]
    h.expect_error(r, 404)
    want = re.compile(r"^.*\b127\.0\.0\.1:%d\b(?=.*\b404\b).*$" % cport,
                      re.M)
    gw.wait_log(want, timeout=10)


def test_query_string_is_redacted():
    gw = gate()
    secret = "s3cr3t-t0ken-value"
    ws = h.ws_connect_raw(gw.port, path="/echo?token=" + secret)
    rx, cport = client_line(gw, ws.sock)
    ws.send_frame(OP_CLOSE, close_payload(1000))
    ws.expect_close(1000, skip_data=False)
    ws.expect_eof()
    r = h.http_request(gw.port, h.ws_request(path="/nowhere?key=" + secret))
    h.expect_error(r, 404)
    # Wait for the access line of the upgraded connection, then look.
    gw.wait_log(re.compile(r"^.*\b127\.0\.0\.1:%d\b(?=.*\b1000\b).*$"
                           % cport, re.M), timeout=10)
    check(secret not in gw.log(), "query string value logged: %r"
          % [l for l in gw.log().splitlines() if secret in l])


def gate_with_log(**log):
    doc = {"listen": [{"address": "127.0.0.1:0"}],
           "log": dict({"level": "info"}, **log),
           "limits": {"close_timeout": "1s"}, "routes": [h.ECHO_ROUTE]}
    return h.start_wsgate(h.to_yaml(doc) + "\n")


def echo_session(gw, path, messages):
    ws = h.ws_connect_raw(gw.port, path=path)
    cport = ws.sock.getsockname()[1]
    for m in messages:
        ws.send_frame(OP_TEXT, m)
        ws.read_message()
    ws.send_frame(OP_CLOSE, close_payload(1000))
    ws.expect_close(1000, skip_data=False)
    ws.expect_eof()
    return cport


def test_query_logged_when_asked():
    gw = gate_with_log(query=True)
    cport = echo_session(gw, "/echo?room=42&token=abc", [])
    gw.wait_log(r"access: 127\.0\.0\.1:%d \"/echo\?room=42&token=abc\""
                % cport, 10)


def test_access_lines_off():
    gw = gate_with_log(access=False)
    cport = echo_session(gw, "/echo", ["x"])
    gw.stop()       # every session logged (or not) by the time it exits
    check(gw.returncode == 0, "exit status %r" % gw.returncode)
    check("listening on" in gw.log() and "access:" not in gw.log() and ":%d" % cport not in gw.log(),
          "access line with access: false:\n" + gw.log())


def test_json_lines_and_access_fields():
    gw = gate_with_log(format="json")
    cport = echo_session(gw, "/echo?token=secret", ["abc", "defgh"])
    gw.wait_log(r'"client":"127\.0\.0\.1:%d"' % cport, 10)
    lines = [l for l in gw.log().splitlines() if l.strip()]
    objs = []
    for l in lines:
        try:
            objs.append(json.loads(l))
        except ValueError:
            raise h.TestFailure("not JSON: %r" % l)
    for o in objs:
        check({"time", "level", "msg"} <= set(o), "fields of %r" % o)
        check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                       o["time"]), "time %r" % o["time"])
    acc = [o for o in objs if o["msg"] == "access"
           and o["client"] == "127.0.0.1:%d" % cport]
    check(len(acc) == 1, "access objects %r" % acc)
    a = acc[0]
    want = {"level": "info", "target": "/echo?<redacted>", "route": "/echo",
            "backend": "echo", "server": "-", "status": 101, "close": 1000,
            "by": "client", "msgs_in": 2, "msgs_out": 2, "bytes_in": 8,
            "bytes_out": 8}
    got = {k: a.get(k) for k in want}
    check(got == want, "access fields %r, want %r" % (got, want))
    check(isinstance(a["duration"], float) and a["duration"] >= 0,
          "duration %r" % a.get("duration"))
    check("secret" not in gw.log(), "query value in the JSON log")


def run_under_fake_journal(journal_stream):
    """wsgate with stderr on a file, JOURNAL_STREAM as given (a callable
    of the file's stat); returns its log once it has started."""
    conf = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    conf.write(h.as_root_on_purpose(h.config([h.ECHO_ROUTE])))
    conf.close()
    out = tempfile.NamedTemporaryFile("w+b", delete=False)
    h.on_cleanup(lambda: (os.unlink(conf.name), os.unlink(out.name)))
    st = os.fstat(out.fileno())
    p = subprocess.Popen([h.WSGATE, "-c", conf.name],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=out, env=dict(os.environ,
                                              JOURNAL_STREAM=journal_stream(st)))
    h.on_cleanup(lambda: p.poll() is None and p.kill())
    try:
        h.wait_until(lambda: b"listening on" in open(out.name, "rb").read(),
                     10, what="wsgate listening")
    finally:
        p.terminate()
        p.wait(10)
    return open(out.name, "rb").read().decode()


def test_journal_priorities():
    text = run_under_fake_journal(lambda st: "%d:%d" % (st.st_dev,
                                                        st.st_ino))
    first = [l for l in text.splitlines() if "listening on" in l][0]
    check(re.match(r"<6>info: listening on 127\.0\.0\.1:\d+$", first),
          "listening line %r" % first)
    check(all(re.match(r"<[3467]>(error|warn|info|debug): ", l)
              for l in text.splitlines()), "lines:\n" + text)


def test_journal_stream_of_another_file_is_ignored():
    text = run_under_fake_journal(lambda st: "%d:%d" % (st.st_dev,
                                                        st.st_ino + 1))
    first = [l for l in text.splitlines() if "listening on" in l][0]
    check(re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z info: listening on ", first),
          "listening line %r" % first)


if __name__ == "__main__":
    h.main(globals())
