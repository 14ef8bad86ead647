"""TLS listeners (wsgate.yaml(5) "tls"): wss:// with certificates made
here by the openssl command (a CA, one certificate for a.test and b.test,
one for c.test), chosen by SNI, to echo, a TCP service and a WebSocket
server (which sees X-Forwarded-Proto https); ALPN http/1.1 and session resumption as openssl
s_client sees them; a TLS 1.3 minimum refusing TLS 1.2; failures logged
at info; wsgate -t checking the pairs (an expired one refused); SIGHUP
swapping the certificates under a live session, and keeping them when
the new files are broken or expired; the TLS handshake timeout."""

import asyncio
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile

import websockets

import harness as h
from harness import check

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def run(argv, stdin=None):
    """Runs a command (openssl) to completion; its CompletedProcess."""
    p = subprocess.run(argv, input=stdin if stdin is not None else b"",
                       capture_output=True, timeout=30)
    check(p.returncode == 0, "%s failed: %s" % (" ".join(argv),
                                                p.stderr.decode()[-400:]))
    return p


class Pki:
    """A throw-away CA and two server certificates (P-256, 2 days)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wsgate-pki-")
        h.on_cleanup(lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self.ca = self.path("ca.pem")
        run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             self.path("ca.key"), "-out", self.ca, "-days", "2", "-subj",
             "/CN=wsgate test CA"])
        self.ab = self.server("ab", "DNS:a.test,DNS:b.test")
        self.c = self.server("c", "DNS:c.test")

    def path(self, name):
        return os.path.join(self.dir, name)

    def server(self, name, sans):
        key, csr = self.path(name + ".key"), self.path(name + ".csr")
        pem, ext = self.path(name + ".pem"), self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\n" % sans)
        run([OPENSSL, "req", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
             csr, "-subj", "/CN=%s" % name])
        run([OPENSSL, "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey",
             self.path("ca.key"), "-CAcreateserial", "-out", pem, "-days",
             "2", "-extfile", ext])
        return {"certificate": pem, "key": key}

    def expired(self, name, sans):
        """A certificate that was valid for a day in 2020, issued by
        "openssl ca" (the only command of OpenSSL 3.0 that takes dates)."""
        key, csr = self.path(name + ".key"), self.path(name + ".csr")
        pem, cnf = self.path(name + ".pem"), self.path(name + ".cnf")
        db = self.path(name + ".index")
        open(db, "w").close()
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca = test\n[test]\n"
                    "database = %s\nnew_certs_dir = %s\nserial = %s\n"
                    "default_md = sha256\npolicy = any\n"
                    "unique_subject = no\ncopy_extensions = none\n"
                    "x509_extensions = ext\n[any]\ncommonName = supplied\n"
                    "[ext]\nsubjectAltName = %s\n"
                    % (db, self.dir, self.path(name + ".serial"), sans))
        with open(self.path(name + ".serial"), "w") as f:
            f.write("1000\n")
        run([OPENSSL, "req", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
             csr, "-subj", "/CN=%s" % name])
        run([OPENSSL, "ca", "-batch", "-config", cnf, "-cert", self.ca,
             "-keyfile", self.path("ca.key"), "-in", csr, "-out", pem,
             "-startdate", "20200101000000Z", "-enddate",
             "20200102000000Z", "-notext"])
        return {"certificate": pem, "key": key}


def gate(pki, tls_extra=None, backends=None, routes=None):
    tls = {"certificates": [pki.ab, pki.c]}
    tls.update(tls_extra or {})
    doc = {"listen": [{"address": "127.0.0.1:0", "tls": tls}],
           "log": {"level": "debug"}, "limits": {"close_timeout": "1s"}}
    if backends:
        doc["backends"] = backends
    doc["routes"] = routes or [h.ECHO_ROUTE]
    return h.start_wsgate(h.to_yaml(doc) + "\n")


def client_ctx(pki, **kw):
    ctx = ssl.create_default_context(cafile=pki.ca)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def sans(ssl_object):
    cert = ssl_object.getpeercert()
    return sorted(v for k, v in cert.get("subjectAltName", ()) if k == "DNS")


async def wss_echo(port, ctx, name, path="/echo"):
    async with websockets.connect("wss://127.0.0.1:%d%s" % (port, path),
                                  ssl=ctx, server_hostname=name,
                                  open_timeout=10) as ws:
        await ws.send("hello over tls")
        got = await asyncio.wait_for(ws.recv(), 10)
        return got, sans(ws.transport.get_extra_info("ssl_object"))


def test_wss_echo_and_sni():
    pki = Pki()
    gw = gate(pki)
    ctx = client_ctx(pki)
    for name, want in (("a.test", ["a.test", "b.test"]),
                       ("b.test", ["a.test", "b.test"]),
                       ("c.test", ["c.test"])):
        got, names = asyncio.run(wss_echo(gw.port, ctx, name))
        check(got == "hello over tls", "%s: echo %r" % (name, got))
        check(names == want, "%s: certificate for %r" % (name, names))
    # An unknown name gets the first certificate (no verification here).
    ctx = client_ctx(pki, check_hostname=False)
    got, names = asyncio.run(wss_echo(gw.port, ctx, "unknown.test"))
    check(names == ["a.test", "b.test"], "default certificate %r" % names)


def test_wss_to_websocket_backend_says_https():
    pki = Pki()
    srv = h.raw_ws_backend()
    gw = gate(pki, backends={"app": h.ws_backend(srv.port)},
              routes=[{"match": {"path": "/ws"}, "backend": "app"}])
    got, _ = asyncio.run(wss_echo(gw.port, client_ctx(pki), "a.test",
                                  path="/ws"))
    check(got == "hello over tls", "echo %r" % got)
    req = srv.state["requests"][0]
    check(req.header("X-Forwarded-Proto") == "https",
          "X-Forwarded-Proto %r" % req.header("X-Forwarded-Proto"))
    check("proto=https" in req.header("Forwarded"),
          "Forwarded %r" % req.header("Forwarded"))


def test_wss_to_a_tcp_service():
    pki = Pki()
    srv = h.tcp_echo_server()
    gw = gate(pki, backends={"svc": h.tcp_backend(srv.port)},
              routes=[{"match": {"path": "/tcp"}, "backend": "svc"}])

    async def binary():
        async with websockets.connect("wss://127.0.0.1:%d/tcp" % gw.port,
                                      ssl=client_ctx(pki),
                                      server_hostname="b.test",
                                      open_timeout=10) as ws:
            blob = bytes(range(256)) * 1024
            await ws.send(blob)
            got = b""
            while len(got) < len(blob):
                got += await asyncio.wait_for(ws.recv(), 10)
            return got == blob
    check(asyncio.run(binary()), "256 KiB through wss to a tcp service")


def test_plain_http_on_a_tls_port_is_logged_at_info():
    pki = Pki()
    gw = gate(pki)
    s = h.connect(gw.port)
    s.sendall(h.ws_request("/echo"))
    got = h.read_to_eof(s, 10)
    check(not got.startswith(b"HTTP/"), "an HTTP answer on a TLS port")
    gw.wait_log(r"info: session \d+: 127\.0\.0\.1:\d+: TLS handshake "
                r"failed: ", 10)


def test_min_version_13_refuses_a_tls12_client():
    pki = Pki()
    gw = gate(pki, tls_extra={"min_version": "1.3"})
    ctx = client_ctx(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
    try:
        asyncio.run(wss_echo(gw.port, ctx, "a.test"))
        check(False, "a TLS 1.2 client got through a 1.3 minimum")
    except (ssl.SSLError, ConnectionError, OSError):
        pass
    got, _ = asyncio.run(wss_echo(gw.port, client_ctx(pki), "a.test"))
    check(got == "hello over tls", "TLS 1.3 echo %r" % got)


def s_client(port, pki, *args):
    p = subprocess.run([OPENSSL, "s_client", "-connect",
                        "127.0.0.1:%d" % port, "-servername", "a.test",
                        "-CAfile", pki.ca] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    return (p.stdout + p.stderr).decode("latin-1")


def test_alpn_and_resumption_with_s_client():
    pki = Pki()
    gw = gate(pki)
    out = s_client(gw.port, pki, "-alpn", "http/1.1")
    check("ALPN protocol: http/1.1" in out, "no ALPN http/1.1:\n" + out)
    check("Verify return code: 0 (ok)" in out, "not verified:\n" + out)
    out = s_client(gw.port, pki, "-alpn", "h2")
    check("no application protocol" in out,
          "h2 alone was not refused:\n" + out)
    sess = pki.path("sess.pem")
    out = s_client(gw.port, pki, "-tls1_2", "-sess_out", sess)
    check("New, TLSv1.2" in out, "first TLS 1.2 session:\n" + out)
    out = s_client(gw.port, pki, "-tls1_2", "-sess_in", sess)
    check("Reused, TLSv1.2" in out, "session not resumed:\n" + out)


def test_tls_10_and_11_are_refused():
    pki = Pki()
    gw = gate(pki)
    for flag in ("-tls1", "-tls1_1"):
        # SECLEVEL=0: let the client offer the old versions at all.
        out = s_client(gw.port, pki, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        check("alert protocol version" in out,
              "%s not refused with protocol_version:\n%s" % (flag, out))
    gw.wait_log(r"info: session \d+: 127\.0\.0\.1:\d+: TLS handshake "
                r"failed: .*unsupported protocol", 10)


def test_check_mode_validates_certificate_pairs():
    pki = Pki()
    good = h.to_yaml({"listen": [{"address": "127.0.0.1:0",
                                  "tls": pki.ab}],
                      "routes": [h.ECHO_ROUTE]}) + "\n"
    rc, out, err, _ = h.run_wsgate(["-t", "-c", "{config}"],
                                   config_text=good)
    check(rc == 0, "-t refused a good pair: %s" % err)
    check(re.search(r"warning: listen 127\.0\.0\.1:0: tls: \S+ab\.pem "
                    r"expires in [12] days", err),
          "no expiry warning: %r" % err)
    bad = good.replace(pki.ab["key"], pki.c["key"])
    rc, out, err, _ = h.run_wsgate(["-t", "-c", "{config}"],
                                   config_text=bad)
    check(rc == 1, "-t accepted a mismatched key (%r)" % rc)
    check("listen 127.0.0.1:0: tls: " in err and pki.c["key"] in err,
          "no message naming the key: %r" % err)
    old = pki.expired("old", "DNS:a.test")
    bad = good.replace(pki.ab["certificate"], old["certificate"]) \
              .replace(pki.ab["key"], old["key"])
    rc, out, err, _ = h.run_wsgate(["-t", "-c", "{config}"],
                                   config_text=bad)
    check(rc == 1, "-t accepted an expired certificate (%r)" % rc)
    check("%s: certificate has expired" % old["certificate"] in err,
          "no message naming the expired certificate: %r" % err)


def peer_serial(port, pki, name="a.test"):
    """The serial number of the certificate a new connection gets."""
    with socket.create_connection(("127.0.0.1", port), 10) as raw:
        with client_ctx(pki).wrap_socket(raw, server_hostname=name) as tls:
            return tls.getpeercert()["serialNumber"]


def install(pair, dest):
    """Overwrites dest's files with pair's, as an operator's renewal
    does (new contents at the configured paths)."""
    for k in ("certificate", "key"):
        shutil.copyfile(pair[k], dest[k])


def test_sighup_reloads_certificates_under_a_live_session():
    pki = Pki()
    live = {"certificate": pki.path("live.pem"), "key": pki.path("live.key")}
    install(pki.ab, live)
    gw = h.start_wsgate(h.to_yaml({
        "listen": [{"address": "127.0.0.1:0", "tls": live}],
        "log": {"level": "debug"}, "limits": {"close_timeout": "1s"},
        "routes": [h.ECHO_ROUTE]}) + "\n")
    first = peer_serial(gw.port, pki)
    renewed = pki.server("renewed", "DNS:a.test,DNS:b.test")
    expired = pki.expired("expired", "DNS:a.test")

    async def session():
        async with websockets.connect("wss://127.0.0.1:%d/echo" % gw.port,
                                      ssl=client_ctx(pki),
                                      server_hostname="a.test",
                                      open_timeout=10) as ws:
            async def echo(i):
                await ws.send("message %d" % i)
                got = await asyncio.wait_for(ws.recv(), 10)
                check(got == "message %d" % i, "echo %d: %r" % (i, got))

            await echo(0)
            # A renewal: new files, SIGHUP, new connections get them.
            install(renewed, live)
            mark = len(gw.log())
            gw.signal(signal.SIGHUP)
            gw.wait_log(r"info: reloaded \S+: generation 2", 10, start=mark)
            for i in range(1, 50):
                await echo(i)
            second = await asyncio.to_thread(peer_serial, gw.port, pki)
            check(second != first, "the old certificate after a reload")
            # A broken file and an expired certificate are refused: the
            # renewed certificate stays, the session goes on.
            for bad in ("garbage", expired):
                if bad == "garbage":
                    with open(live["certificate"], "w") as f:
                        f.write("-----BEGIN CERTIFICATE-----\nnot base64"
                                "\n-----END CERTIFICATE-----\n")
                else:
                    install(bad, live)
                mark = len(gw.log())
                gw.signal(signal.SIGHUP)
                gw.wait_log(r"warn: reload failed: certificates or keys "
                            r"cannot be used; generation 2 stays in use", 10,
                            start=mark)
                check(re.search(r"listen 127\.0\.0\.1:0: tls: \S*live\.pem",
                                gw.log()[mark:]),
                      "the error does not name the file:\n" + gw.log()[mark:])
                now = await asyncio.to_thread(peer_serial, gw.port, pki)
                check(now == second, "%s: certificate changed" % bad)
                await echo(100)
            return True
    check(asyncio.run(session()), "session")
    check("PRIVATE KEY" not in gw.log(), "key material in the log")


def test_tls_handshake_timeout_then_request_head_timeout():
    pki = Pki()
    gw = h.start_wsgate(h.to_yaml({
        "listen": [{"address": "127.0.0.1:0", "tls": pki.ab}],
        "log": {"level": "debug"},
        "limits": {"tls_handshake_timeout": "500ms",
                   "handshake_timeout": "2s"},
        "routes": [h.ECHO_ROUTE]}) + "\n")
    # No ClientHello: closed without an answer, logged at info.
    silent = h.connect(gw.port)
    got = h.read_to_eof(silent, 10)
    check(got == b"", "answer without TLS: %r" % got[:80])
    gw.wait_log(r"info: session \d+: 127\.0\.0\.1:\d+: TLS handshake not "
                r"done within \d+ms", 5)
    # TLS done at once, no request head: the TLS timer passes quietly
    # and the head's own timeout answers 408 over TLS.
    raw = h.connect(gw.port)
    tls = client_ctx(pki).wrap_socket(raw, server_hostname="a.test")
    r = h.read_response(tls, 10)
    check(r.status == 408, "status %r" % r.status_line)
    tls.close()
    n = len(re.findall(r"TLS handshake not done", gw.log()))
    check(n == 1, "%d TLS timeouts logged, want 1" % n)


def proxy_tls_gate(pki, trusted="127.0.0.1/32"):
    doc = {"listen": [{"address": "127.0.0.1:0", "proxy_protocol": "auto",
                       "tls": {"certificates": [pki.ab]}}],
           "trusted_proxies": [trusted],
           "log": {"level": "debug"}, "limits": {"close_timeout": "1s"},
           "routes": [h.ECHO_ROUTE]}
    return h.start_wsgate(h.to_yaml(doc) + "\n")


def test_proxy_header_before_the_tls_handshake():
    from test_proxy_protocol import v1
    pki = Pki()
    gw = proxy_tls_gate(pki)
    raw = h.connect(gw.port)
    raw.sendall(v1("203.0.113.44", 4444, dport=443))
    tls = client_ctx(pki).wrap_socket(raw, server_hostname="a.test")
    tls.sendall(h.ws_request("/echo"))
    r = h.read_response(tls, 10)
    check(r.status == 101, "status %r" % r.status_line)
    tls.close()
    gw.wait_log(r"access: 203\.0\.113\.44:4444 \"/echo\"", 10)


def test_haproxy_send_proxy_v2_in_front_of_wss():
    from test_proxy_protocol import Haproxy, HAPROXY
    check(os.access(HAPROXY, os.X_OK), "%s missing" % HAPROXY)
    pki = Pki()
    gw = proxy_tls_gate(pki)
    lb = Haproxy(gw.port)

    async def through_lb():
        async with websockets.connect(
                "wss://127.0.0.1:%d/echo" % lb.port, ssl=client_ctx(pki),
                server_hostname="a.test", open_timeout=10,
                local_addr=("127.0.0.6", 0)) as ws:
            await ws.send("via haproxy")
            return await asyncio.wait_for(ws.recv(), 10)
    got = asyncio.run(through_lb())
    check(got == "via haproxy", "echo %r" % got)
    gw.wait_log(r"access: 127\.0\.0\.6:\d+ \"/echo\"", 10)


if __name__ == "__main__":
    h.main(globals())
