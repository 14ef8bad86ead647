"""Backend pools of WebSocket servers (DESIGN.md "The path of one
connection" step 4): round robin spreads 30 connections over 3 servers
(each gets at least 5); weights 3:1 give about 3:1 over 40 connections;
least_conn sends new connections to the server with fewer open ones;
ip_hash keeps each client address (127.0.x.2, bound by the client) on one
server over 10 connections and uses more than one server; a refused
server is skipped and every client is served; with every server refused
the first client gets 502 and, once passive health has marked them down,
503; retries: 0 tries only one server; an active health check (a
WebSocket handshake on its path) brings back a server started after
wsgate, and a server failing its checks gets no clients."""

import collections
import time

import harness as h
from harness import check, OP_TEXT


def named_server(name, port=0, process_request=None):
    """A python backend that sends its name first, then echoes."""
    async def handler(ws, server):
        await ws.send(name)
        async for msg in ws:
            await ws.send(msg)
    return h.start_ws_server(handler, port=port,
                             process_request=process_request)


def pool_gate(servers, **backend_opts):
    return h.start_wsgate(h.config(
        [{"match": {"path": "/ws"}, "backend": "pool"}],
        {"pool": h.ws_backend(*servers, **backend_opts)},
        {"close_timeout": "2s"}))


def which(gw, source=None, keep=False):
    """One client: the name of the server it reached (then a clean close,
    unless keep: then (name, RawWS))."""
    ws = h.ws_connect_raw(gw.port, path="/ws", source=source, timeout=10)
    op, name = ws.read_message(10)
    check(op == OP_TEXT, "first message opcode %#x" % op)
    ws.send_frame(OP_TEXT, b"echo?")
    check(ws.read_message(10) == (OP_TEXT, b"echo?"), "echo")
    if keep:
        return name.decode(), ws
    bye(ws)
    return name.decode()


def bye(ws):
    ws.send_frame(h.OP_CLOSE, h.close_payload(1000))
    ws.expect_close(1000)
    ws.close()


def client_paths(srv):
    return [p for p in srv.paths() if p.startswith("/ws")]


def test_round_robin_spreads_over_three():
    servers = [named_server("s%d" % i) for i in range(3)]
    gw = pool_gate([s.port for s in servers], balance="round_robin")
    counts = collections.Counter(which(gw) for _ in range(30))
    print("    30 connections: %s" % dict(sorted(counts.items())))
    check(all(counts["s%d" % i] >= 5 for i in range(3)),
          "round robin over 3 servers: %r" % dict(counts))


def test_weights_three_to_one():
    a, b = named_server("a"), named_server("b")
    gw = pool_gate([{"address": "127.0.0.1:%d" % a.port, "weight": 3},
                    b.port])
    counts = collections.Counter(which(gw) for _ in range(40))
    print("    weights 3:1 over 40 connections: %s"
          % dict(sorted(counts.items())))
    check(counts["b"] > 0, "the weight-1 server got nothing: %r"
          % dict(counts))
    ratio = counts["a"] / counts["b"]
    check(2 <= ratio <= 4, "ratio %.2f (%r), expected about 3"
          % (ratio, dict(counts)))


def test_least_conn_prefers_the_idle_server():
    a, b = named_server("a"), named_server("b")
    gw = pool_gate([a.port, b.port], balance="least_conn")
    held = [which(gw, keep=True) for _ in range(4)]
    counts = collections.Counter(n for n, _ in held)
    check(counts == {"a": 2, "b": 2}, "4 open connections spread %r"
          % dict(counts))
    for name, ws in held:
        if name == "a":
            bye(ws)
    h.wait_until(lambda: a.active == 0, 10,
                 what="server a's connections to close")
    new = [which(gw, keep=True) for _ in range(2)]
    check([n for n, _ in new] == ["a", "a"], "with a idle and b holding 2 "
          "connections, new ones went to %r" % [n for n, _ in new])
    for _, ws in new + [x for x in held if x[0] == "b"]:
        bye(ws)


def test_ip_hash_is_sticky_per_client_address():
    servers = [named_server("s%d" % i) for i in range(3)]
    gw = pool_gate([s.port for s in servers], balance="ip_hash")
    # Different /24s: hashes of the first three octets (nginx) differ too.
    sources = ["127.0.%d.2" % i for i in range(1, 9)]
    seen = {}
    for src in sources:
        names = {which(gw, source=src) for _ in range(10)}
        check(len(names) == 1, "client %s reached several servers over 10 "
              "connections: %r" % (src, names))
        seen[src] = names.pop()
    print("    ip_hash: %s" % ", ".join("%s->%s" % kv for kv in seen.items()))
    check(len(set(seen.values())) >= 2, "8 client addresses all hashed to "
          "%r" % set(seen.values()))
    req = h.backend_requests(servers[int(seen[sources[0]][1])])[0]
    check(req.header("X-Forwarded-For") in sources,
          "X-Forwarded-For %r is not one of the bound source addresses"
          % req.header("X-Forwarded-For"))


def test_refused_server_is_skipped():
    a, b = named_server("a"), named_server("b")
    gw = pool_gate([h.free_port(), a.port, b.port])
    names = []
    for i in range(12):
        try:
            names.append(which(gw))
        except h.TestFailure as e:
            raise h.TestFailure("client %d with one server down: %s"
                                % (i, e))
    print("    one of 3 refused: %s"
          % dict(collections.Counter(names)))
    check(set(names) == {"a", "b"}, "servers reached: %r" % set(names))


def test_all_refused_502_then_503():
    gw = pool_gate([h.free_port(), h.free_port()], fail_threshold=1,
                   fail_timeout="30s")
    r = h.http_request(gw.port, h.ws_request(path="/ws"))
    h.expect_error(r, 502)
    statuses = []
    for _ in range(4):
        r = h.http_request(gw.port, h.ws_request(path="/ws"))
        check(r.status in (502, 503), "status %r" % r.status_line)
        h.expect_error(r, r.status)
        statuses.append(r.status)
        if r.status == 503:
            break
    print("    statuses after the first 502: %r" % statuses)
    check(503 in statuses, "no 503 once every server is down: %r"
          % statuses)


def test_retries_zero_tries_one_server():
    a = named_server("a")
    gw = pool_gate([h.free_port(), a.port], retries=0, fail_threshold=0)
    outcomes = collections.Counter()
    for _ in range(6):
        key = h.new_key()
        r = h.http_request(gw.port, h.ws_request(path="/ws", key=key))
        if r.status == 101:
            outcomes[101] += 1
            ws = h.RawWS(r.sock, r.rest)
            ws.read_message(10)
            bye(ws)
        else:
            h.expect_error(r, 502)
            outcomes[502] += 1
    print("    retries 0, one of 2 refused: %r" % dict(outcomes))
    check(outcomes[101] >= 1 and outcomes[502] >= 1,
          "with retries 0 a refused server must give 502 (and the live "
          "one 101): %r" % dict(outcomes))


def test_health_check_brings_server_back():
    port = h.free_port()
    a = named_server("a")
    gw = pool_gate([port, a.port], health_check={
        "interval": "1s", "timeout": "1s", "path": "/health"})
    for i in range(6):
        check(which(gw) == "a", "only a is up")
    b = named_server("b", port=port)
    deadline = time.monotonic() + 15
    t0 = time.monotonic()
    while True:
        if which(gw) == "b":
            break
        check(time.monotonic() < deadline, "server b (started on the "
              "down server's port) got no client within 15s; its "
              "requests: %r" % b.paths())
        time.sleep(0.25)
    print("    b back after %.1fs" % (time.monotonic() - t0))
    health = [r for r in h.backend_requests(b) if r.path == "/health"]
    check(health, "b never got a health check on /health: %r" % b.paths())
    req = health[0]
    check("websocket" in req.tokens("Upgrade")
          and req.header("Sec-WebSocket-Key"),
          "the health check is not a WebSocket handshake: %r" % req)


def test_failing_health_check_keeps_clients_away():
    def refuse_health(path, headers):
        if path == "/health":
            return (503, [], b"sick\n")
        return None
    a = named_server("a")
    b = named_server("b", process_request=refuse_health)
    gw = pool_gate([a.port, b.port], health_check={
        "interval": "1s", "timeout": "1s", "path": "/health"})
    h.wait_until(lambda: b.paths().count("/health") >= 2, 15,
                 what="two health checks on b")
    before = len(client_paths(b))
    names = [which(gw) for _ in range(10)]
    check(names == ["a"] * 10, "clients reached %r although b fails its "
          "health checks" % collections.Counter(names))
    check(len(client_paths(b)) == before, "b got client handshakes")


if __name__ == "__main__":
    h.main(globals())
