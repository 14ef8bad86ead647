"""TLS to backends (wsgate.yaml(5) backends "tls"), with certificates
made here by the openssl command: a test CA, a server certificate for
localhost and 127.0.0.1, a client certificate, and a server certificate
from another CA.  A python3-websockets server over TLS behind a websocket
route: messages flow, the server sees SNI only for a name and is offered
ALPN http/1.1; a TLS TCP echo service behind a tcp route gets its PROXY
header in the clear before the handshake; a certificate from another CA,
or for another name, gives the client 502 and the log the reason;
verify: false connects to it and is warned of at startup; a server that
requires a client certificate sees the configured one (and refuses
wsgate without it: 502); a broken record after the upgrade is 1011;
health checks over TLS take a server whose certificate fails
verification down and bring it back once it presents a good one, also
behind a PROXY header; wsgate -t names a missing CA file."""

import asyncio
import os
import re
import ssl

import harness as h
from harness import check, OP_BINARY
from test_tls import Pki

ROUTE = {"match": {"path": "/ws"}, "backend": "app"}


class BackendPki(Pki):
    """Pki's CA, plus "srv" for localhost and 127.0.0.1 and the client
    certificate "wsgate-client"; foreign: the same from another CA."""

    def __init__(self):
        Pki.__init__(self)
        self.srv = self.server("srv", "DNS:localhost,IP:127.0.0.1")
        self.cli = self.server("wsgate-client", "DNS:wsgate-client")
        self._foreign = None

    @property
    def foreign(self):
        if self._foreign is None:
            other = Pki()
            self._foreign = other.server("foreign",
                                         "DNS:localhost,IP:127.0.0.1")
        return self._foreign


def server_ctx(pair, client_ca=None):
    """A TLS server context; with client_ca, a client certificate from
    that CA is required.  Records SNI names in .seen_sni."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pair["certificate"], pair["key"])
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.seen_sni = []
    ctx.sni_callback = lambda obj, name, c: ctx.seen_sni.append(name)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


async def tls_echo(ws, server):
    """Records what TLS looked like to the server, then echoes."""
    obj = ws.transport.get_extra_info("ssl_object")
    cert = obj.getpeercert() or {}
    subject = dict(x[0] for x in cert.get("subject", ()))
    with server.lock:
        server.state.setdefault("alpn", []).append(
            obj.selected_alpn_protocol())
        server.state.setdefault("peer_cn", []).append(
            subject.get("commonName"))
    async for msg in ws:
        await ws.send(msg)


def wss_server(ctx):
    return h.start_ws_server(tls_echo, ssl=ctx)


def tls_backend(port, **tls):
    return h.ws_backend(port, tls=tls or True)


def gate(backends, routes=(ROUTE,)):
    return h.start_wsgate(h.config(list(routes), backends,
                                   {"close_timeout": "2s"}))


async def talk(gw, path="/ws"):
    async with h.ws_client(gw, path) as ws:
        await ws.send("over tls")
        text = await asyncio.wait_for(ws.recv(), 10)
        await ws.send(b"\x00\x01binary")
        data = await asyncio.wait_for(ws.recv(), 10)
        return text, data


def check_talks(gw, path="/ws"):
    text, data = asyncio.run(talk(gw, path))
    check(text == "over tls" and data == b"\x00\x01binary",
          "echo %r %r" % (text, data))


def upgrade_status(gw, path="/ws"):
    return h.http_request(gw.port, h.ws_request(path), 10).status


def test_wss_backend_by_ip_and_by_name():
    pki = BackendPki()
    ctx = server_ctx(pki.srv)
    srv = wss_server(ctx)
    # By IP address: checked against the IP SAN, no SNI.
    gw = gate({"app": tls_backend(srv.port, ca=pki.ca)})
    check_talks(gw)
    check(ctx.seen_sni == [None], "SNI for an IP: %r" % ctx.seen_sni)
    check(srv.state["alpn"] == ["http/1.1"], "ALPN %r" % srv.state["alpn"])
    gw.stop()
    # By name: SNI and the name checked are server_name.
    gw = gate({"app": tls_backend(srv.port, ca=pki.ca,
                                  server_name="localhost")})
    check_talks(gw)
    check(ctx.seen_sni[-1] == "localhost", "SNI %r" % ctx.seen_sni)
    req = srv.requests[-1]
    check(req.header("Host") == "127.0.0.1:%d" % gw.port,
          "Host %r" % req.header("Host"))
    check(req.header("X-Forwarded-Proto") == "http",
          "X-Forwarded-Proto %r" % req.header("X-Forwarded-Proto"))


def tls_tcp_echo(ctx, proxy_header=False, corrupt=False):
    """A TCP service that reads a PROXY v1 line in the clear, if told
    to, then speaks TLS and echoes; records the lines.  With corrupt,
    a record that fails its integrity check follows the first echo."""
    def handler(c, server):
        line = b""
        if proxy_header:
            c.settimeout(10)
            while not line.endswith(b"\r\n") and len(line) < 108:
                b = c.recv(1)
                if not b:
                    return
                line += b
            with server.lock:
                server.state.setdefault("headers", []).append(line)
        c.settimeout(10)
        t = ctx.wrap_socket(c, server_side=True)
        while True:
            data = h.recv_some(t, server)
            if not data:
                break
            t.sendall(data)
            if corrupt:
                os.write(t.fileno(), b"\x17\x03\x03\x00\x20" +
                         b"\x00" * 32)
        try:
            t.unwrap()
        except (ssl.SSLError, OSError):
            pass
    return h.TcpServer(handler)


def test_tls_tcp_backend_after_a_proxy_header():
    pki = BackendPki()
    ctx = server_ctx(pki.srv)
    svc = tls_tcp_echo(ctx, proxy_header=True)
    be = h.tcp_backend(svc.port)
    be["proxy_protocol"] = "v1"
    be["tls"] = {"ca": pki.ca, "server_name": "localhost"}
    gw = gate({"svc": be}, [{"match": {"path": "/tcp"}, "backend": "svc"}])
    ws = h.ws_connect_raw(gw.port, path="/tcp", timeout=10)
    ws.send_frame(OP_BINARY, b"through tls")
    got = b""
    while len(got) < 11:
        op, data = ws.read_message(10)
        check(op == OP_BINARY, "opcode %#x" % op)
        got += data
    check(got == b"through tls", "echo %r" % got)
    ws.close()
    line = svc.state["headers"][0]
    check(re.match(rb"PROXY TCP4 127\.0\.0\.1 127\.0\.0\.1 \d+ %d\r\n$"
                   % gw.port, line), "PROXY header %r" % line)
    check(ctx.seen_sni == ["localhost"], "SNI %r" % ctx.seen_sni)


def test_tls_failure_after_the_upgrade_is_1011():
    pki = BackendPki()
    svc = tls_tcp_echo(server_ctx(pki.srv), corrupt=True)
    be = h.tcp_backend(svc.port)
    be["tls"] = {"ca": pki.ca}
    gw = gate({"svc": be}, [{"match": {"path": "/tcp"}, "backend": "svc"}])
    ws = h.ws_connect_raw(gw.port, path="/tcp", timeout=10)
    ws.send_frame(OP_BINARY, b"x")
    check(ws.read_message(10) == (OP_BINARY, b"x"), "first echo")
    ws.expect_close(1011)
    gw.wait_log(r"session \d+: backend failed without a close frame "
                r"\(tls: [^)]+\)")


def test_unverifiable_certificates_are_502():
    pki = BackendPki()
    foreign = wss_server(server_ctx(pki.foreign))
    good = wss_server(server_ctx(pki.srv))
    gw = gate({"app": tls_backend(foreign.port, ca=pki.ca),
               "named": tls_backend(good.port, ca=pki.ca,
                                    server_name="other.test")},
              [ROUTE, {"match": {"path": "/named"}, "backend": "named"}])
    check(upgrade_status(gw) == 502, "another CA's certificate passed")
    gw.wait_log(r"backend app server 127\.0\.0\.1:%d: tls: certificate "
                r"verify failed \(unable to get local issuer "
                r"certificate\)" % foreign.port)
    check(upgrade_status(gw, "/named") == 502, "a wrong name passed")
    gw.wait_log(r"backend named server 127\.0\.0\.1:%d: tls: certificate "
                r"verify failed \(hostname mismatch\)" % good.port)
    check(foreign.connections == 0 and good.connections == 0,
          "a server was upgraded through a failed verification")


def test_verify_false_connects_and_warns():
    pki = BackendPki()
    srv = wss_server(server_ctx(pki.foreign))
    gw = gate({"app": tls_backend(srv.port, verify=False)})
    gw.wait_log(r"warn: backend app: tls verify is off")
    check_talks(gw)


def test_client_certificate():
    pki = BackendPki()
    srv = wss_server(server_ctx(pki.srv, client_ca=pki.ca))
    gw = gate({"app": tls_backend(srv.port, ca=pki.ca,
                                  certificate=pki.cli["certificate"],
                                  key=pki.cli["key"]),
               "anon": tls_backend(srv.port, ca=pki.ca)},
              [ROUTE, {"match": {"path": "/anon"}, "backend": "anon"}])
    check_talks(gw)
    check(srv.state["peer_cn"] == ["wsgate-client"],
          "client certificate %r" % srv.state["peer_cn"])
    # Without one the server refuses, in TLS 1.3 once wsgate's side of
    # the handshake is done: with an alert, or by closing (python's
    # asyncio may close without one).  Before the 101 all the same: 502.
    check(upgrade_status(gw, "/anon") == 502, "no client certificate "
          "passed")
    gw.wait_log(r"backend anon server 127\.0\.0\.1:%d: (tls: |closed "
                r"before its 101)" % srv.port)
    check(srv.state["peer_cn"] == ["wsgate-client"], "upgraded without a "
          "client certificate")


def test_health_checks_over_tls():
    pki = BackendPki()
    good = wss_server(server_ctx(pki.srv))
    ctx = server_ctx(pki.foreign)
    bad = wss_server(ctx)
    gw = gate({"app": h.ws_backend(good.port, bad.port, tls={"ca": pki.ca},
                                   health_check={"interval": "500ms",
                                                 "timeout": "2s",
                                                 "path": "/health"})})
    gw.wait_log(r"backend app: server 127\.0\.0\.1:%d failed its health "
                r"check \(tls: certificate verify failed \(unable to get "
                r"local issuer certificate\)\), down until a check passes"
                % bad.port)
    h.wait_until(lambda: "/health" in good.paths(), 10,
                 what="a health check of the good server")
    check("failed its health check" not in
          "".join(l for l in gw.log().splitlines()
                  if ":%d " % good.port in l), "the good server failed")
    for _ in range(4):
        check_talks(gw)
    check(bad.connections == 0, "the bad server got clients")
    # Its certificate renewed: the next check brings it back.
    ctx.load_cert_chain(pki.srv["certificate"], pki.srv["key"])
    gw.wait_log(r"backend app: server 127\.0\.0\.1:%d passed its health "
                r"check, back up" % bad.port)


def test_tcp_health_check_behind_a_proxy_header():
    pki = BackendPki()
    svc = tls_tcp_echo(server_ctx(pki.srv), proxy_header=True)
    be = h.tcp_backend(svc.port)
    be.update(proxy_protocol="v1", tls={"ca": pki.ca},
              health_check={"interval": "300ms", "timeout": "2s"})
    gw = gate({"svc": be}, [{"match": {"path": "/tcp"}, "backend": "svc"}])
    h.wait_until(lambda: svc.state.get("headers", [])[:2] ==
                 [b"PROXY UNKNOWN\r\n"] * 2, 10,
                 what="two checks, each behind a PROXY header")
    check("failed its health check" not in gw.log(),
          "a check failed:\n" + gw.log())
    ws = h.ws_connect_raw(gw.port, path="/tcp", timeout=10)
    ws.send_frame(OP_BINARY, b"checked")
    check(ws.read_message(10) == (OP_BINARY, b"checked"), "echo")
    ws.close()


def test_check_mode_names_a_missing_ca():
    text = h.config([ROUTE], {"app": tls_backend(
        1, ca="/nonexistent/backend-ca.pem")})
    rc, out, err, _ = h.run_wsgate(["-t", "-c", "{config}"],
                                   config_text=text)
    check(rc == 1, "-t accepted a missing CA file (%r)" % rc)
    check("backend app: tls: /nonexistent/backend-ca.pem: cannot load CA "
          "certificates: No such file or directory" in err,
          "no message naming the file: %r" % err)


if __name__ == "__main__":
    h.main(globals())
