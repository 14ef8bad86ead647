"""Configuration reload (SIGHUP, wsgate(8) "SIGNALS"): 50 sessions keep
exchanging numbered messages through the echo, a TCP and a WebSocket
route while the file is reloaded 20 times, valid and invalid files
alternating and a second listener and a route coming and going: no
session dropped, no message lost or reordered, the new routes and
listener live right after each reload, the removed ones gone.  Then
on_reload: drain closes the sessions of a changed route with 1001 and
leaves the others alone."""

import asyncio
import re
import signal
import socket

import websockets

import harness as h
from harness import check

SESSIONS = 50
RELOADS = 20


def write_config(gw, text):
    with open(gw.config_path, "w") as f:
        f.write(h.as_root_on_purpose(text))


def config_text(port, backends, extra_port=None, new_route=False,
                invalid=False):
    listens = [{"address": "127.0.0.1:%d" % port}]
    if extra_port:
        listens.append({"address": "127.0.0.1:%d" % extra_port})
    routes = [h.ECHO_ROUTE,
              {"match": {"path": "/tcp"}, "backend": "svc"},
              {"match": {"path": "/ws"}, "backend": "app"}]
    if new_route:
        routes.append({"match": {"path": "/new"}, "backend": "echo"})
    if invalid:
        routes.append({"match": {"path": "/bad"}, "backend": "missing"})
    return h.to_yaml({"listen": listens, "log": {"level": "info"},
                      "limits": {"close_timeout": "1s"},
                      "backends": backends, "routes": routes}) + "\n"


class Session:
    """One client sending numbered messages and checking every answer."""

    def __init__(self, port, path):
        self.port, self.path = port, path
        self.sent = self.received = 0
        self.error = None

    async def run(self, stop):
        try:
            async with websockets.connect(
                    "ws://127.0.0.1:%d%s" % (self.port, self.path),
                    open_timeout=10, max_size=None) as ws:
                if self.path == "/tcp":
                    await self.bytes_loop(ws, stop)
                else:
                    await self.message_loop(ws, stop)
                await ws.close()
        except Exception as e:      # reported by the test, with the path
            self.error = "%s: %r" % (self.path, e)

    async def message_loop(self, ws, stop):
        while not stop.is_set():
            msg = "%s #%d" % (self.path, self.sent)
            await ws.send(msg)
            self.sent += 1
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != msg:
                raise AssertionError("got %r, want %r" % (got, msg))
            self.received += 1

    async def bytes_loop(self, ws, stop):
        # A TCP service answers bytes, not messages: compare the stream.
        while not stop.is_set():
            chunk = b"%08d;" % self.sent
            await ws.send(chunk)
            self.sent += 1
            got = b""
            while len(got) < len(chunk):
                got += await asyncio.wait_for(ws.recv(), 10)
            if got != chunk:
                raise AssertionError("got %r, want %r" % (got, chunk))
            self.received += 1


def upgrade_status(port, path):
    try:
        r = h.http_request(port, h.ws_request(path=path), 5)
    except (ConnectionRefusedError, ConnectionResetError):
        return None
    r.sock.close()
    return r.status


def refused(port):
    s = socket.socket()
    try:
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        return False
    except ConnectionRefusedError:
        return True
    finally:
        s.close()


def test_reload_under_load_loses_nothing():
    tcp = h.tcp_echo_server()
    ws = h.start_ws_server()
    backends = {"svc": h.tcp_backend(tcp.port), "app": h.ws_backend(ws.port)}
    port, extra = h.free_port(), h.free_port()
    gw = h.start_wsgate(config_text(port, backends))
    paths = ["/echo", "/tcp", "/ws"]
    sessions = [Session(port, paths[i % 3]) for i in range(SESSIONS)]
    generation = 1
    counts = {"valid": 0, "invalid": 0}

    def reload(i):
        nonlocal generation
        mark = len(gw.log())
        if i % 2 == 1:
            write_config(gw, config_text(port, backends, invalid=True))
            gw.signal(signal.SIGHUP)
            gw.wait_log(r"warn: reload failed: the configuration is "
                        r"invalid; generation %d stays in use" % generation,
                        10, start=mark)
            check(re.search(r'routes\[3\]\.backend: unknown backend '
                            r'"missing"', gw.log()[mark:]),
                  "the error is not logged:\n" + gw.log()[mark:])
            counts["invalid"] += 1
            return
        with_extra = (i // 2) % 2 == 0
        write_config(gw, config_text(port, backends,
                                     extra if with_extra else None,
                                     new_route=with_extra))
        gw.signal(signal.SIGHUP)
        generation += 1
        gw.wait_log(r"info: reloaded \S+: generation %d " % generation, 10,
                    start=mark)
        counts["valid"] += 1
        # The new generation is live at once, on every listener it has.
        want_new = 101 if with_extra else 404
        got = upgrade_status(port, "/new")
        check(got == want_new, "reload %d: /new gave %r, want %r"
              % (i, got, want_new))
        if with_extra:
            check(upgrade_status(extra, "/echo") == 101,
                  "reload %d: the added listener does not serve" % i)
        else:
            check(refused(extra), "reload %d: the removed listener still "
                  "accepts" % i)

    async def scenario():
        stop = asyncio.Event()
        tasks = [asyncio.create_task(s.run(stop)) for s in sessions]
        await asyncio.sleep(0.5)
        for i in range(RELOADS):
            await asyncio.to_thread(reload, i)
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*tasks)
    asyncio.run(scenario())

    errors = [s.error for s in sessions if s.error]
    check(not errors, "sessions failed: %r" % errors[:5])
    lost = [(s.path, s.sent, s.received) for s in sessions
            if s.sent != s.received or s.received == 0]
    check(not lost, "messages lost: %r" % lost[:5])
    total = sum(s.received for s in sessions)
    print("    %d sessions, %d reloads (%d valid, %d invalid), %d messages "
          "echoed in order, 0 lost, 0 sessions dropped"
          % (SESSIONS, RELOADS, counts["valid"], counts["invalid"], total))
    # The probes above leave without a close (in=0B/0msg): not sessions.
    cut = [l for l in gw.log().splitlines()
           if re.search(r"close=10(06|11)", l) and "in=0B/0msg" not in l]
    check(not cut, "sessions cut:\n" + "\n".join(cut[:5]))


def test_drain_closes_changed_routes_only():
    port = h.free_port()

    def text(version):
        return h.to_yaml({
            "listen": [{"address": "127.0.0.1:%d" % port}],
            "log": {"level": "info"}, "limits": {"close_timeout": "1s"},
            "routes": [
                {"match": {"path": "/drained"}, "backend": "echo",
                 "on_reload": "drain", "drain_timeout": "300ms",
                 "subprotocols": ["v%d" % version]},
                {"match": {"path": "/steady"}, "backend": "echo",
                 "on_reload": "drain", "drain_timeout": "300ms"},
                {"match": {"path": "/kept"}, "backend": "echo",
                 "subprotocols": ["v%d" % version]}]}) + "\n"

    gw = h.start_wsgate(text(1))

    async def scenario():
        async def connect(path, proto=None):
            return await websockets.connect(
                "ws://127.0.0.1:%d%s" % (port, path), open_timeout=10,
                subprotocols=[proto] if proto else None)
        drained = await connect("/drained", "v1")
        steady = await connect("/steady")
        kept = await connect("/kept", "v1")
        write_config(gw, text(2))
        gw.signal(signal.SIGHUP)
        await asyncio.to_thread(gw.wait_log, r"reloaded \S+: generation 2",
                                10)
        try:
            await asyncio.wait_for(drained.recv(), 10)
            raise h.TestFailure("the drained session got a message")
        except websockets.ConnectionClosed as e:
            check(e.rcvd is not None and e.rcvd.code == 1001,
                  "drained: close %r" % (e.rcvd,))
        for ws, name in ((steady, "steady"), (kept, "kept")):
            await ws.send("still here")
            got = await asyncio.wait_for(ws.recv(), 10)
            check(got == "still here", "%s: %r" % (name, got))
            await ws.close()
    asyncio.run(scenario())
    gw.wait_log(r"route /drained changed by a reload, closing in 300ms", 5)
    check(len(re.findall(r"changed by a reload, closing", gw.log())) == 1,
          "more than the changed route drained:\n" + gw.log())


if __name__ == "__main__":
    h.main(globals())
