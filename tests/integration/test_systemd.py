"""systemd integration: the sd_notify datagrams wsgate sends to the
socket named by NOTIFY_SOCKET (a real unix datagram socket bound here,
by path and in the abstract namespace): READY=1 once it listens,
STATUS= with the connection counts, RELOADING=1 with MONOTONIC_USEC then
READY=1 around a SIGHUP, STOPPING=1 at SIGTERM, in that order."""

import os
import re
import signal
import socket
import tempfile
import time

import harness as h
from harness import check


class NotifySocket:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "wsgate-test-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            d = tempfile.mkdtemp(prefix="wsgate-notify-")
            self.env = os.path.join(d, "notify.sock")
            self.sock.bind(self.env)
            h.on_cleanup(lambda: (os.unlink(self.env), os.rmdir(d)))
        h.on_cleanup(self.sock.close)
        self.messages = []

    def next(self, timeout=10.0):
        """The next datagram as a dict of its KEY=value lines."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            raise h.TestFailure("no notification within %.0fs (so far: %r)"
                                % (timeout, self.messages))
        msg = dict(line.split("=", 1) for line in data.split("\n") if line)
        self.messages.append(msg)
        return msg

    def wait_for(self, key, timeout=10.0):
        """Skips STATUS-only updates until a message carrying key."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.next(max(0.1, deadline - time.monotonic()))
            if key in msg:
                return msg
            check(set(msg) == {"STATUS"}, "unexpected %r before %s"
                  % (msg, key))


def gate(ns):
    return h.start_wsgate(h.config([h.ECHO_ROUTE]),
                          env={"NOTIFY_SOCKET": ns.env})


def check_lifecycle(ns):
    gw = gate(ns)
    ready = ns.next()
    check(ready.get("READY") == "1", "first message %r" % ready)
    check("STATUS" in ready, "READY=1 without STATUS= %r" % ready)
    # A connection changes the counts: a STATUS= line says so.
    ws = h.ws_connect_raw(gw.port)
    msg = ns.wait_for("STATUS", 15)
    check(re.match(r"1 connections open, 1 accepted", msg["STATUS"]),
          "status %r" % msg)
    ws.close()
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    gw.signal(signal.SIGHUP)
    reloading = ns.wait_for("RELOADING")
    check(reloading.get("RELOADING") == "1", "%r" % reloading)
    usec = int(reloading["MONOTONIC_USEC"])
    after = time.clock_gettime(time.CLOCK_MONOTONIC)
    check(before * 1e6 <= usec <= after * 1e6,
          "MONOTONIC_USEC %d not between %.0f and %.0f (CLOCK_MONOTONIC)"
          % (usec, before * 1e6, after * 1e6))
    ready = ns.wait_for("READY")
    check(ready["READY"] == "1" and
          "generation 2 in use" in ready.get("STATUS", ""),
          "after the reload %r" % ready)
    gw.signal(signal.SIGTERM)
    stopping = ns.wait_for("STOPPING")
    check(stopping["STOPPING"] == "1", "%r" % stopping)
    gw.proc.wait(15)
    check(gw.proc.returncode == 0, "exit status %r" % gw.proc.returncode)
    order = [k for m in ns.messages for k in ("READY", "RELOADING",
                                                "STOPPING") if k in m]
    check(order == ["READY", "RELOADING", "READY", "STOPPING"],
          "order %r" % order)


def test_notify_socket_path():
    check_lifecycle(NotifySocket())


def test_notify_socket_abstract():
    check_lifecycle(NotifySocket(abstract=True))


def test_bad_notify_socket_is_a_warning():
    gw = h.start_wsgate(h.config([h.ECHO_ROUTE]),
                        env={"NOTIFY_SOCKET": "relative/path"})
    gw.wait_log(r"warn: NOTIFY_SOCKET=relative/path: not a unix socket "
                r"path", 5)
    s = h.ws_connect_raw(gw.port)
    s.close()


if __name__ == "__main__":
    h.main(globals())
