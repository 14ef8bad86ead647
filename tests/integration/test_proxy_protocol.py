"""PROXY protocol (wsgate.yaml(5) "proxy_protocol", "trusted_proxies"):
a trusted load balancer names the client in a v1 or v2 header, and that
address replaces the peer's in the logs and in the headers sent to the
backend; anyone else is closed without an answer.  Towards tcp backends
wsgate sends the header itself.  X-Forwarded-For is kept (and extended)
only from a trusted HTTP proxy.  Last, HAProxy from Debian in front of
wsgate with send-proxy-v2, as in the README's scaling-out section."""

import os
import signal
import socket
import struct
import subprocess
import tempfile
import time

import harness as h
from harness import check, OP_BINARY

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
HAPROXY = "/usr/sbin/haproxy"


def gate(proxy_protocol=None, trusted=None, backends=None, routes=None):
    listen = {"address": "127.0.0.1:0"}
    if proxy_protocol is not None:
        listen["proxy_protocol"] = proxy_protocol
    doc = {"listen": [listen], "log": {"level": "debug"},
           "limits": {"close_timeout": "1s"}}
    if trusted is not None:
        doc["trusted_proxies"] = trusted
    doc["backends"] = backends
    doc["routes"] = routes
    return h.start_wsgate(h.to_yaml(doc) + "\n")


def ws_gate(srv, **kw):
    return gate(backends={"app": h.ws_backend(srv.port)},
                routes=[{"match": {"path": "/ws"}, "backend": "app"}], **kw)


def v1(src, sport, dst="127.0.0.1", dport=80):
    fam = "TCP6" if ":" in src else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport,
                                         dport)).encode()


def v2(src=None, sport=0, dst=None, dport=0, local=False):
    if local:
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    block = (socket.inet_pton(fam, src) + socket.inet_pton(fam, dst) +
             struct.pack("!HH", sport, dport))
    return (V2_SIG + bytes([0x21, 0x21 if fam == socket.AF_INET6 else 0x11])
            + struct.pack("!H", len(block)) + block)


def upgrade_via(gw, header, path="/ws", extra=()):
    """Sends header + an upgrade request; returns the response."""
    return h.http_request(gw.port, header + h.ws_request(path=path,
                                                         extra=extra))


def backend_request(srv, n=1):
    h.wait_until(lambda: len(srv.state.get("requests", [])) >= n, 10,
                 what="the backend's request")
    return srv.state["requests"][n - 1]


def expect_closed_unanswered(gw, data, why):
    s = h.connect(gw.port)
    s.sendall(data)
    got = h.read_to_eof(s, 10)
    check(got == b"", "%s: wsgate answered %r" % (why, got[:80]))


def test_v1_header_names_the_client():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv, proxy_protocol="v1", trusted=["127.0.0.1/32"])
    r = upgrade_via(gw, v1("203.0.113.7", 51234, dport=gw.port))
    check(r.status == 101, "status %r" % r.status_line)
    req = backend_request(srv)
    check(req.header("X-Forwarded-For") == "203.0.113.7",
          "X-Forwarded-For %r" % req.header("X-Forwarded-For"))
    check(req.header("Forwarded").startswith("for=203.0.113.7;"),
          "Forwarded %r" % req.header("Forwarded"))
    r.sock.close()
    gw.wait_log(r"access: 203\.0\.113\.7:51234 \"/ws\"", 10)


def test_v2_ipv6_header_names_the_client():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv, proxy_protocol="v2", trusted=["127.0.0.0/8"])
    r = upgrade_via(gw, v2("2001:db8::7", 40000, "2001:db8::1", 443))
    check(r.status == 101, "status %r" % r.status_line)
    req = backend_request(srv)
    check(req.header("X-Forwarded-For") == "2001:db8::7",
          "X-Forwarded-For %r" % req.header("X-Forwarded-For"))
    check(req.header("Forwarded").startswith('for="[2001:db8::7]";'),
          "Forwarded %r" % req.header("Forwarded"))
    r.sock.close()
    gw.wait_log(r"access: \[2001:db8::7\]:40000 ", 10)


def test_auto_takes_either_version_and_local_keeps_the_peer():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv, proxy_protocol="auto", trusted=["127.0.0.1"])
    for i, (hdr, want) in enumerate([
            (v1("198.51.100.1", 1000), "198.51.100.1"),
            (v2("198.51.100.2", 2000, "127.0.0.1", 80), "198.51.100.2"),
            (v2(local=True), "127.0.0.1")]):
        r = upgrade_via(gw, hdr)
        check(r.status == 101, "case %d: status %r" % (i, r.status_line))
        got = backend_request(srv, i + 1).header("X-Forwarded-For")
        check(got == want, "case %d: X-Forwarded-For %r, want %r"
              % (i, got, want))
        r.sock.close()


def test_untrusted_peer_is_closed_without_an_answer():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv, proxy_protocol="v1", trusted=["127.0.0.2/32"])
    expect_closed_unanswered(gw, v1("203.0.113.7", 1) + h.ws_request("/ws"),
                             "untrusted peer")
    gw.wait_log(r"127\.0\.0\.1:\d+ is not in trusted_proxies", 10)
    check(srv.accepted == 0, "the backend was connected")


def test_bad_or_missing_header_is_closed_without_an_answer():
    srv = h.raw_ws_backend()
    gw = ws_gate(srv, proxy_protocol="v1", trusted=["127.0.0.1/32"])
    cases = [(h.ws_request("/ws"), "no header"),
             (b"PROXY TCP4 203.0.113.7 127.0.0.1 1 99999\r\n" +
              h.ws_request("/ws"), "port out of range"),
             (v2("198.51.100.2", 2000, "127.0.0.1", 80) +
              h.ws_request("/ws"), "v2 on a v1 listener")]
    for data, why in cases:
        expect_closed_unanswered(gw, data, why)
    h.wait_until(lambda: gw.log().count("bad PROXY header") >= len(cases),
                 10, what="a log line per bad header")
    check(srv.accepted == 0, "the backend was connected")


def test_header_does_not_count_toward_max_request_head():
    """A PROXY header and a head just under max_request_head arriving
    together, the head's end later: the upgrade goes through."""
    srv = h.raw_ws_backend()
    doc = {"listen": [{"address": "127.0.0.1:0", "proxy_protocol": "v1"}],
           "trusted_proxies": ["127.0.0.1/32"],
           "log": {"level": "debug"},
           "limits": {"close_timeout": "1s", "max_request_head": "1KiB"},
           "backends": {"app": h.ws_backend(srv.port)},
           "routes": [{"match": {"path": "/ws"}, "backend": "app"}]}
    gw = h.start_wsgate(h.to_yaml(doc) + "\n")
    # 1015 bytes: the header and all but the last 5 pass 1 KiB together.
    base = len(h.ws_request("/ws", key="x" * 22 + "==",
                            extra=[("X-Pad", "")]))
    head = h.ws_request("/ws", extra=[("X-Pad", "p" * (1015 - base))])
    check(len(head) == 1015, "head of %d bytes" % len(head))
    s = h.connect(gw.port)
    s.sendall(v1("203.0.113.8", 8888) + head[:-5])
    time.sleep(0.3)
    s.sendall(head[-5:])
    r = h.read_response(s, 10)
    check(r.status == 101, "status %r" % r.status_line)


def tcp_recorder():
    def handler(c, server):
        buf = bytearray()
        with server.lock:
            server.state.setdefault("bytes", []).append(buf)
        while True:
            d = h.recv_some(c, server, 0.2)
            if not d:
                return
            buf += d
    return h.TcpServer(handler)


def test_proxy_header_sent_to_tcp_backends():
    for version in ("v1", "v2"):
        srv = tcp_recorder()
        be = h.tcp_backend(srv.port)
        be["proxy_protocol"] = version
        gw = gate(backends={"raw": be},
                  routes=[{"match": {"path": "/tcp"}, "backend": "raw"}])
        ws = h.ws_connect_raw(gw.port, path="/tcp")
        cport = ws.sock.getsockname()[1]
        ws.send_frame(OP_BINARY, b"payload")
        want = (v1("127.0.0.1", cport, dport=gw.port) if version == "v1"
                else v2("127.0.0.1", cport, "127.0.0.1", gw.port))
        h.wait_until(lambda: srv.state.get("bytes") and
                     len(srv.state["bytes"][0]) >= len(want) + 7, 10,
                     what="header and payload at the backend")
        got = bytes(srv.state["bytes"][0])
        check(got == want + b"payload", "%s: backend got %r, want %r"
              % (version, got, want + b"payload"))
        ws.close()


def test_client_named_by_a_proxy_header_is_passed_on_to_tcp_backends():
    srv = tcp_recorder()
    be = h.tcp_backend(srv.port)
    be["proxy_protocol"] = "v2"
    gw = gate(proxy_protocol="v1", trusted=["127.0.0.1/32"],
              backends={"raw": be},
              routes=[{"match": {"path": "/tcp"}, "backend": "raw"}])
    s = h.connect(gw.port)
    s.sendall(v1("203.0.113.9", 3333, "192.0.2.1", 443) +
              h.ws_request("/tcp"))
    r = h.read_response(s)
    check(r.status == 101, "status %r" % r.status_line)
    want = v2("203.0.113.9", 3333, "192.0.2.1", 443)
    h.wait_until(lambda: srv.state.get("bytes") and
                 len(srv.state["bytes"][0]) >= len(want), 10,
                 what="the PROXY header at the backend")
    got = bytes(srv.state["bytes"][0])
    check(got == want, "backend got %r, want %r" % (got, want))


def test_forwarded_for_kept_from_trusted_http_proxies_only():
    xff = [("X-Forwarded-For", "198.51.100.1")]
    for trusted, want in ((["127.0.0.1/32"], "198.51.100.1, 127.0.0.1"),
                          (["127.0.0.2/32"], "127.0.0.1")):
        srv = h.raw_ws_backend()
        gw = ws_gate(srv, trusted=trusted)
        r = h.http_request(gw.port, h.ws_request("/ws", extra=xff))
        check(r.status == 101, "status %r" % r.status_line)
        got = backend_request(srv).header("X-Forwarded-For")
        check(got == want, "trusted %r: X-Forwarded-For %r, want %r"
              % (trusted, got, want))
        r.sock.close()


class Haproxy:
    """HAProxy in mode tcp on a free port, sending PROXY v2 to wsgate."""

    def __init__(self, target_port):
        self.port = h.free_port()
        self.dir = tempfile.mkdtemp(prefix="wsgate-haproxy-")
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("global\n\tnbthread 1\ndefaults\n\tmode tcp\n"
                    "\ttimeout connect 5s\n\ttimeout client 30s\n"
                    "\ttimeout server 30s\n"
                    "frontend fe\n\tbind 127.0.0.1:%d\n"
                    "\tdefault_backend be\n"
                    "backend be\n\tserver gw 127.0.0.1:%d send-proxy-v2\n"
                    % (self.port, target_port))
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", cfg],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL,
                                     preexec_fn=h._die_with_parent)
        h.on_cleanup(self.stop)
        h.wait_until(self.listening, 10, what="haproxy listening")

    def listening(self):
        check(self.proc.poll() is None, "haproxy exited (%r)"
              % self.proc.returncode)
        try:
            socket.create_connection((h.HOST, self.port), 0.5).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def test_haproxy_in_front_with_send_proxy_v2():
    check(os.access(HAPROXY, os.X_OK), "%s missing (make check installs "
          "haproxy)" % HAPROXY)
    srv = h.raw_ws_backend()
    gw = ws_gate(srv, proxy_protocol="v2", trusted=["127.0.0.1/32"])
    lb = Haproxy(gw.port)
    # The client's own address, which only the PROXY header carries.
    r = h.http_request(lb.port, h.ws_request("/ws"), source="127.0.0.5")
    check(r.status == 101, "status %r" % r.status_line)
    got = backend_request(srv).header("X-Forwarded-For")
    check(got == "127.0.0.5", "X-Forwarded-For %r behind HAProxy" % got)
    r.sock.close()
    gw.wait_log(r"access: 127\.0\.0\.5:\d+ \"/ws\"", 10)


if __name__ == "__main__":
    h.main(globals())
