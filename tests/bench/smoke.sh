#!/usr/bin/env bash
# smoke.sh: a short run of every wsgate-bench mode against wsgate, so
# that the benchmark tools cannot rot (make bench-smoke).
#
# Starts build/echo-backend (WebSocket and TCP echo) and ./wsgate on
# ephemeral loopback ports, with keepalive pings every second so that
# the client's pong answers are exercised, then runs for 2 seconds each
#   echo     built-in echo route, 64 B x 4 in flight
#   echo     websocket backend, 64 KiB x 2 in flight (fragmented replies)
#   bytes    tcp backend, 1000 B x 8 in flight (re-chunked stream)
#   connect  websocket backend
#   idle     200 connections through the websocket backend, pings answered
# and, through a TLS listener of the same wsgate (a certificate made with
# the openssl command), wsgate-bench's TLS code:
#   echo     64 KiB x 2 in flight over TLS (several records per message)
#   connect  with --tls-resume and an echo per session: TLS handshakes,
#            most of them resumed
# Every run must exit 0 with errors=0 and some traffic.  Finally the
# client must fail against a server that is not a WebSocket server (the
# TCP echo answers the request with itself), and its TLS handshake must
# fail against a listener without TLS.
# Prints PASS/FAIL per run; exit status 1 if any failed.
#
#   tests/bench/smoke.sh
#   WSGATE=/path/to/wsgate tests/bench/smoke.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

wsgate=${WSGATE:-$root/wsgate}
build=${WSGATE_BUILD:-$root/build}
bench=$build/wsgate-bench
backend=$build/echo-backend
for f in "$wsgate" "$bench" "$backend"; do
	if [ ! -x "$f" ]; then
		echo "$f not built (run: make wsgate bench-bins)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d /tmp/wsgate-smoke.XXXXXX)
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bg_start "$tmp/backend.log" "$backend" -w 127.0.0.1:0 -t 127.0.0.1:0
backend_pid=$BG_PID
if ! wait_line "$tmp/backend.log" '^tcp listening' "$backend_pid" 10; then
	echo "FAIL echo-backend did not start" >&2
	cat "$tmp/backend.log" >&2
	exit 1
fi
ws_port=$(backend_port "$tmp/backend.log" ws)
tcp_port=$(backend_port "$tmp/backend.log" tcp)
if ! tls_cert "$tmp/tls"; then
	echo "FAIL openssl could not make a certificate" >&2
	cat "$tmp/tls/openssl.log" >&2
	exit 1
fi
free_port tls_port

cat >"$tmp/wsgate.yaml" <<EOF
listen:
  - address: "127.0.0.1:0"
  - address: "127.0.0.1:$tls_port"
    tls: { certificate: $tmp/tls/cert.pem, key: $tmp/tls/key.pem }
# Started as root, wsgate becomes this user once bound.
user: nobody
log:
  level: info
limits:
  ping_interval: 1s
  pong_timeout: 1s
backends:
  ws:
    type: websocket
    servers: ["127.0.0.1:$ws_port"]
  raw:
    type: tcp
    servers: ["127.0.0.1:$tcp_port"]
routes:
  - match: { path: /echo }
    backend: echo
  - match: { path: /ws }
    backend: ws
  - match: { path: /tcp }
    backend: raw
EOF
bg_start "$tmp/wsgate.log" "$wsgate" -c "$tmp/wsgate.yaml"
wsgate_pid=$BG_PID
if ! wait_line "$tmp/wsgate.log" 'listening on 127\.0\.0\.1:[0-9]+' \
    "$wsgate_pid" 10 || ! wait_listen "$tls_port" "$wsgate_pid" 10; then
	echo "FAIL wsgate did not start" >&2
	cat "$tmp/wsgate.log" >&2
	exit 1
fi
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
    "$tmp/wsgate.log" | grep -vx "$tls_port" | head -n 1)
url=ws://127.0.0.1:$port
tls_url=wss://127.0.0.1:$tls_port

failed=0
runs=0

# run NAME KEY=MIN... -- BENCH_ARGS...: one wsgate-bench run; it must
# exit 0 and report errors=0 and each KEY >= MIN.
run() {
	local name=$1 checks=() out line rc c bad=""
	shift
	while [ "$1" != -- ]; do
		checks+=("$1")
		shift
	done
	shift
	runs=$((runs + 1))
	out=$tmp/run$runs.err
	line=$(timeout -k 5 60 "$bench" -d 2 -t 5 -p "$wsgate_pid" \
	    -b "$backend_pid" "$@" 2>"$out")
	rc=$?
	[ "$rc" -eq 0 ] || bad="exit status $rc"
	[ "$(kv "$line" errors)" = 0 ] || bad="$bad errors"
	for c in "${checks[@]}"; do
		awk -v v="$(kv "$line" "${c%=*}")" -v m="${c#*=}" \
		    'BEGIN { exit !(v + 0 >= m + 0) }' ||
		    bad="$bad ${c%=*}<${c#*=}"
	done
	if [ -z "$bad" ]; then
		echo "PASS $name"
		return
	fi
	failed=$((failed + 1))
	echo "FAIL $name:$bad"
	echo "    wsgate-bench $*"
	echo "    $line"
	sed 's/^/    /' "$out"
}

run "echo, built-in echo route" msgs=1000 -- \
    -m echo -u "$url/echo" -c 10 -w 4 -s 64
run "echo, websocket backend, 64 KiB (fragmented replies)" msgs=100 -- \
    -m echo -u "$url/ws" -c 4 -w 2 -s 64k
run "bytes, tcp backend (re-chunked stream)" msgs=1000 -- \
    -m bytes -u "$url/tcp" -c 10 -w 8 -s 1000
run "connect, websocket backend" handshakes=100 -- \
    -m connect -u "$url/ws" -c 10
run "idle, 200 connections answering pings" open=200 pings=200 -- \
    -m idle -u "$url/ws" -c 200
run "echo over TLS, 64 KiB (several records each)" tls=1 msgs=50 -- \
    -m echo -u "$tls_url/ws" -c 2 -w 2 -s 64k
# The first 4 handshakes have no ticket to offer yet.
run "connect over TLS, resumed sessions, an echo each" tls=1 handshakes=50 \
    resumed=40 msgs=50 -- -m connect -u "$tls_url/ws" -c 4 -e 1 --tls-resume

# The client must notice a server that does not speak WebSocket.
runs=$((runs + 1))
line=$(timeout -k 5 30 "$bench" -m echo -u "ws://127.0.0.1:$tcp_port/" \
    -c 1 -d 1 -t 2 2>"$tmp/neg.err")
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'not HTTP/1.1 101' "$tmp/neg.err"; then
	echo "PASS a server that is not WebSocket fails the run"
else
	failed=$((failed + 1))
	echo "FAIL a server that is not WebSocket: exit status $rc"
	sed 's/^/    /' "$tmp/neg.err"
fi

# Nor a TLS handshake with a listener without TLS.
runs=$((runs + 1))
line=$(timeout -k 5 30 "$bench" -m echo -u "$url/ws" --tls -c 1 -d 1 -t 2 \
    2>"$tmp/neg-tls.err")
rc=$?
if [ "$rc" -eq 1 ] && grep -q 'TLS handshake' "$tmp/neg-tls.err"; then
	echo "PASS a TLS handshake with a plain listener fails the run"
else
	failed=$((failed + 1))
	echo "FAIL TLS with a plain listener: exit status $rc"
	sed 's/^/    /' "$tmp/neg-tls.err"
fi

if ! alive "$wsgate_pid"; then
	failed=$((failed + 1))
	echo "FAIL wsgate died during the smoke runs"
fi
if [ "$failed" -ne 0 ]; then
	echo "    wsgate log (last 20 lines):"
	tail -n 20 "$tmp/wsgate.log" | sed 's/^/    /'
fi
echo "$runs runs, $failed failed"
[ "$failed" -eq 0 ]
