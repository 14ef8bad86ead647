"""listen[].allowed_hosts (wsgate.yaml(5)): a request whose Host (port
stripped, case ignored, IPv6 literal compared by address) matches no
entry of its listener's list is answered 421 Misdirected Request, with
Connection: close and a text/plain reason, before any route is looked
for, and logged at info with the host and the listener; an entry
"*.example.com" covers exactly one more label; a listener without the
list serves any host.  It stops DNS rebinding, which "origins: same"
alone lets through (the attacker's page sends its own name in both
Origin and Host).  On a TLS listener the Host decides, not the SNI name:
a client may present one allowed name in SNI and another in Host, and an
allowed SNI name does not let a foreign Host in."""

import socket
import ssl

import harness as h
from harness import check, OP_TEXT
from test_tls import Pki, client_ctx

ALLOWED = ["chat.example.com", "*.apps.example.com", "127.0.0.1", "::1"]


def gate():
    """Two loopback listeners: the first with allowed_hosts, the second
    without; echo on /echo, an "origins: same" route on /same."""
    doc = {
        "listen": [{"address": "127.0.0.1:0", "allowed_hosts": ALLOWED},
                   {"address": "127.0.0.1:0"}],
        "log": {"level": "info"},
        "limits": {"close_timeout": "1s"},
        "routes": [h.ECHO_ROUTE,
                   {"match": {"path": "/same"}, "origins": "same",
                    "backend": "echo"}],
    }
    gw = h.start_wsgate(h.to_yaml(doc) + "\n")

    def both_bound():
        ports = h.LISTEN_RE.findall(gw.log())
        return ports if len(ports) == 2 else None

    # Bound and logged in the order of the file.
    gw.ports = [int(p) for p in h.wait_until(both_bound, 5,
                                             what="two listeners")]
    return gw


def echo_works(ws, text="hello"):
    ws.send_frame(OP_TEXT, text)
    op, data = ws.read_message()
    check((op, data) == (OP_TEXT, text.encode()),
          "echo after handshake: got %r %r" % (op, data))
    ws.close()


def refused(port, host, path="/echo", **kw):
    resp = h.http_request(port, h.ws_request(path=path, host=host, **kw))
    h.expect_error(resp, 421)
    check(resp.reason == "Misdirected Request", "reason phrase %r"
          % resp.reason)
    check(resp.body == b"host not served on this listener\n",
          "body %r" % resp.body)
    return resp


def test_allowed_host_passes_and_echoes():
    gw = gate()
    for host in ("chat.example.com", "chat.example.com:8443",
                 "CHAT.Example.COM", "Chat.Example.Com:443"):
        echo_works(h.ws_connect_raw(gw.ports[0], host=host), host)


def test_other_host_is_421_and_logged():
    gw = gate()
    start = len(gw.log())
    refused(gw.ports[0], "evil.example:8080")
    gw.wait_log(r'421 host not served on this listener: host '
                r'"evil\.example" is not in allowed_hosts of listener '
                r'127\.0\.0\.1:0', start=start)
    for host in ("example.com", "chat.example.com.", "xchat.example.com",
                 "chat.example.co"):
        refused(gw.ports[0], host)


def test_421_comes_before_routing():
    gw = gate()
    refused(gw.ports[0], "evil.example", path="/no-such-route")
    refused(gw.ports[0], "evil.example", method="POST")
    # Plain HTTP GET, no Upgrade: still 421, not 426.
    refused(gw.ports[0], "evil.example", omit=("upgrade", "connection"))
    # The 400s about Host itself come first.
    resp = h.http_request(gw.ports[0], h.ws_request(omit=("host",)))
    h.expect_error(resp, 400)


def test_wildcard_covers_one_label():
    gw = gate()
    for host in ("a.apps.example.com", "B-2.APPS.example.com:80"):
        echo_works(h.ws_connect_raw(gw.ports[0], host=host), host)
    for host in ("apps.example.com", "a.b.apps.example.com",
                 "a.apps.example.com.evil"):
        refused(gw.ports[0], host)


def test_ip_literals():
    gw = gate()
    port = gw.ports[0]
    for host in ("127.0.0.1", "127.0.0.1:%d" % port, "[::1]",
                 "[::1]:%d" % port, "[0:0:0:0:0:0:0:1]:%d" % port):
        echo_works(h.ws_connect_raw(port, host=host), host)
    for host in ("127.0.0.2", "[::2]:%d" % port, "localhost"):
        refused(port, host)


def test_no_list_means_any_host():
    gw = gate()
    for host in ("evil.example", "anything.test:1", "[::2]"):
        echo_works(h.ws_connect_raw(gw.ports[1], host=host), host)


def test_dns_rebinding_origins_same_vs_allowed_hosts():
    """A page on http://rebind.evil whose name now resolves to us: its
    Origin and Host name the same host, so "origins: same" accepts it;
    allowed_hosts is what refuses it."""
    gw = gate()
    origin = [("Origin", "http://rebind.evil")]
    port = gw.ports[1]
    echo_works(h.ws_connect_raw(port, path="/same",
                                host="rebind.evil:%d" % port, extra=origin))
    port = gw.ports[0]
    refused(port, "rebind.evil:%d" % port, path="/same", extra=origin)
    # The real site's page still gets in, a cross-site one does not.
    echo_works(h.ws_connect_raw(port, path="/same",
                                host="chat.example.com",
                                extra=[("Origin",
                                        "https://chat.example.com")]))
    resp = h.http_request(port, h.ws_request(
        path="/same", host="chat.example.com",
        extra=[("Origin", "https://rebind.evil")]))
    h.expect_error(resp, 403)


def tls_request(port, pki, sni, host):
    """An upgrade over TLS with sni in the ClientHello and host in Host
    (the certificate is checked against sni)."""
    raw = h.connect(port)
    s = client_ctx(pki).wrap_socket(raw, server_hostname=sni)
    h.on_cleanup(s.close)
    key = h.new_key()
    s.sendall(h.ws_request(host=host, key=key))
    return h.read_response(s), key


def test_tls_host_decides_not_sni():
    pki = Pki()                 # a.test and b.test on one certificate
    doc = {"listen": [{"address": "127.0.0.1:0",
                       "tls": {"certificates": [pki.ab, pki.c]},
                       "allowed_hosts": ["a.test", "b.test"]}],
           "log": {"level": "info"}, "limits": {"close_timeout": "1s"},
           "routes": [h.ECHO_ROUTE]}
    gw = h.start_wsgate(h.to_yaml(doc) + "\n")
    for sni, host in (("a.test", "a.test"), ("a.test", "b.test:443"),
                      ("c.test", "a.test")):
        resp, key = tls_request(gw.port, pki, sni, host)
        check(resp.status == 101, "SNI %s, Host %s: %r"
              % (sni, host, resp.status_line))
        check(resp.header("Sec-WebSocket-Accept") == h.accept_key(key),
              "accept key")
    for sni in ("a.test", "c.test"):
        resp, _ = tls_request(gw.port, pki, sni, "c.test")
        h.expect_error(resp, 421)


if __name__ == "__main__":
    h.main(globals())
