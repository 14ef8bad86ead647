"""A second WebSocket backend implementation: node's `ws` (Debian's
node-ws 8, run by /usr/bin/node with NODE_PATH=/usr/share/nodejs) behind a
websocket route: text (multibyte) and binary messages echo with their
type, 1 MiB messages both ways arrive intact (SHA-256), the node server's
handleProtocols picks the subprotocol and wsgate passes its choice (or
its refusal to choose) to the client, the node server sees the request
path and wsgate's X-Forwarded-For, a close 4001 "later" from node reaches
the client, and a node socket destroyed mid-stream gives the client
1011."""

import hashlib
import json
import os

import websockets

import harness as h
from harness import check, within, ws_client

NODE_SERVER = r"""
const crypto = require('crypto');
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({
  host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024,
  handleProtocols: (protocols, req) => {
    for (const p of ['node.v2', 'node.v1'])
      if (protocols.has(p)) return p;
    return false;
  },
});
wss.on('listening', () => console.log('PORT ' + wss.address().port));
wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => {
    const s = isBinary ? null : data.toString();
    if (s === 'whoami') {
      ws.send(JSON.stringify({ url: req.url, protocol: ws.protocol,
                               headers: req.headers }));
    } else if (s !== null && s.startsWith('sha ')) {
      ws.send(crypto.createHash('sha256').update(data.subarray(4))
              .digest('hex'));
    } else if (s !== null && s.startsWith('send ')) {
      const buf = crypto.randomBytes(parseInt(s.slice(5), 10));
      ws.send(crypto.createHash('sha256').update(buf).digest('hex'));
      ws.send(buf, { binary: true });
    } else if (s === 'close') {
      ws.close(4001, 'later');
    } else if (s === 'die') {
      ws._socket.destroy();
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
});
process.on('SIGTERM', () => process.exit(0));
"""


def node_gate():
    srv = h.start_node_server(NODE_SERVER)
    gw = h.start_wsgate(h.config(
        [{"match": {"path": "/node"}, "backend": "node"}],
        {"node": h.ws_backend(srv.port)}, {"close_timeout": "2s"}))
    return srv, gw


async def test_node_echo_text_and_binary():
    srv, gw = node_gate()
    async with ws_client(gw, "/node") as ws:
        for msg in ["hello node", "ünïcödé € 😀", "", b"\x00\x01\xfe\xff",
                    os.urandom(100000)]:
            await within(ws.send(msg), 10, "send")
            got = await within(ws.recv(), 10, "recv")
            check(type(got) is type(msg) and got == msg,
                  "node echo of a %d-byte %s message differs"
                  % (len(msg), type(msg).__name__))


async def test_node_one_mib_both_ways():
    srv, gw = node_gate()
    async with ws_client(gw, "/node") as ws:
        data = os.urandom(h.MiB)
        await within(ws.send(data), 30, "send 1 MiB")
        back = await within(ws.recv(), 30, "1 MiB echo")
        check(back == data, "1 MiB binary echo differs")
        text = ("€uro " * (h.MiB // 7))
        await within(ws.send(text), 30, "send ~1 MiB text")
        check(await within(ws.recv(), 30, "text echo") == text,
              "1 MiB text echo differs")
        await within(ws.send("sha " + text), 30, "sha request")
        got = await within(ws.recv(), 30, "sha")
        check(got == hashlib.sha256(text.encode()).hexdigest(),
              "node hashed a different text")
        await within(ws.send("send %d" % h.MiB), 10, "request")
        want = await within(ws.recv(), 30, "digest")
        got = await within(ws.recv(), 30, "1 MiB from node")
        check(isinstance(got, bytes) and len(got) == h.MiB
              and hashlib.sha256(got).hexdigest() == want,
              "1 MiB from node arrived differently (%d bytes)" % len(got))


async def test_node_selects_subprotocol():
    srv, gw = node_gate()
    async with ws_client(gw, "/node/chat?room=1",
                         subprotocols=["node.v1", "node.v2"]) as ws:
        check(ws.subprotocol == "node.v2", "subprotocol %r, node chose "
              "node.v2" % ws.subprotocol)
        await ws.send("whoami")
        info = json.loads(await within(ws.recv(), 10, "whoami"))
        check(info["protocol"] == "node.v2", "node's protocol %r"
              % info["protocol"])
        check(info["url"] == "/node/chat?room=1", "node saw url %r"
              % info["url"])
        check(info["headers"].get("x-forwarded-for") == "127.0.0.1",
              "node saw X-Forwarded-For %r"
              % info["headers"].get("x-forwarded-for"))
        check("sec-websocket-extensions" not in info["headers"],
              "node was offered extensions")
    async with ws_client(gw, "/node", subprotocols=["other"]) as ws:
        check(ws.subprotocol is None, "subprotocol %r though node chose "
              "none" % ws.subprotocol)
        await ws.send("still works")
        check(await within(ws.recv(), 10, "echo") == "still works", "echo")


async def test_node_close_and_destroy():
    srv, gw = node_gate()
    async with ws_client(gw, "/node") as ws:
        await ws.send("close")
        try:
            m = await within(ws.recv(), 10, "close from node")
            raise h.TestFailure("expected a close, got %r" % m)
        except websockets.exceptions.ConnectionClosed:
            pass
        check((ws.close_code, ws.close_reason) == (4001, "later"),
              "close from node arrived as %r %r" % (ws.close_code,
                                                     ws.close_reason))
    async with ws_client(gw, "/node") as ws:
        await ws.send("die")
        try:
            m = await within(ws.recv(), 10, "close after node's socket died")
            raise h.TestFailure("expected a close, got %r" % m)
        except websockets.exceptions.ConnectionClosed:
            pass
        check(ws.close_code == 1011, "client got %r after the node socket "
              "was destroyed, expected 1011" % ws.close_code)


if __name__ == "__main__":
    h.main(globals())
