#!/usr/bin/env bash
# profile.sh: where a proxy's CPU goes on one workload — system calls
# per message (perf's syscall tracepoints) and, with PERF_RECORD=1, the
# hottest symbols (perf record, cpu-clock sampling: works where hardware
# counters are not exposed, as in most VMs).
#
#   tests/bench/profile.sh wsgate -m echo -c 50 -w 16 -s 64
#   tests/bench/profile.sh nginx  -m connect -c 50
#   PERF_RECORD=1 tests/bench/profile.sh wsgate -m echo -c 50 -w 1 -s 64
#   tests/bench/profile.sh nginx -m echo -c 50 -w 16 -s 64 --tls
#
# The proxy (one wsgate worker, or one nginx worker configured as in
# compare.sh) runs pinned to PROXY_CPU (1); echo-backend and wsgate-bench
# to LOAD_CPU (0).  The arguments after the proxy name go to
# wsgate-bench; with --tls or --tls-resume among them the proxy also
# listens with TLS as in compare.sh (a fresh ECDSA P-256 certificate, the
# TLS_* settings of lib.sh) and wsgate-bench goes there.  Counting starts 1 s into the run and lasts WINDOW (3) s;
# the sampling (PERF_RECORD=1) takes the next WINDOW seconds and shows
# the TOP (25) entries sorted by PERF_SORT (dso,sym; dso: per library).
# Needs perf (Debian: linux-perf) and permission to trace (root, or
# kernel.perf_event_paranoid <= -1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

PROXY_CPU=${PROXY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
WINDOW=${WINDOW:-3}
SYSCALLS="epoll_wait epoll_ctl read recvfrom readv write sendto sendmsg
writev accept4 socket connect setsockopt getsockopt shutdown close ioctl"

proxy=${1:?usage: profile.sh wsgate|nginx WSGATE-BENCH-ARGS...}
shift
command -v perf >/dev/null || { echo "profile.sh: perf not found" >&2; exit 1; }
for f in "$root/wsgate" "$root/build/wsgate-bench" "$root/build/echo-backend"; do
	[ -x "$f" ] || { echo "$f not built (make wsgate bench-bins)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/wsgate-profile.XXXXXX)
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

bg_start "$tmp/backend.log" taskset -c "$LOAD_CPU" "$root/build/echo-backend" \
    -w 127.0.0.1:0
wait_line "$tmp/backend.log" '^ws listening' "$BG_PID" 10
backend_pid=$BG_PID
ws_port=$(backend_port "$tmp/backend.log" ws)
free_port port
tls_port=""
for a in "$@"; do
	case "$a" in
	--tls | --tls-resume)
		free_port tls_port
		tls_cert "$tmp/tls"
		break ;;
	esac
done

case "$proxy" in
wsgate)
	tls=""
	[ -z "$tls_port" ] || tls="
  - address: \"127.0.0.1:$tls_port\"
    tls:
      certificate: $tmp/tls/cert.pem
      key: $tmp/tls/key.pem
      ciphers: \"$TLS_CIPHERS\"
      ciphersuites: \"$TLS_SUITES\""
	cat >"$tmp/wsgate.yaml" <<EOF
listen:
  - address: "127.0.0.1:$port"$tls
# Started as root, wsgate becomes this user once bound.
user: nobody
workers: 1
log:
  level: warn
# The load generator is one address: no per-address limit.
limits:
  max_connections_per_ip: 0
backends:
  ws:
    type: websocket
    servers: ["127.0.0.1:$ws_port"]
routes:
  - match: { path: /ws }
    backend: ws
EOF
	bg_start "$tmp/proxy.log" taskset -c "$PROXY_CPU" "${WSGATE:-$root/wsgate}" \
	    -c "$tmp/wsgate.yaml"
	path=/ws ;;
nginx)
	if [ -n "$tls_port" ]; then
		nginx_config "$tmp/nginx" "$port" "$ws_port" 4096 \
		    "$tls_port" "$tmp/tls"
	else
		nginx_config "$tmp/nginx" "$port" "$ws_port" 4096
	fi
	bg_start "$tmp/proxy.log" taskset -c "$PROXY_CPU" /usr/sbin/nginx \
	    -p "$tmp/nginx/" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf"
	path=/ ;;
*)
	echo "profile.sh: proxy is wsgate or nginx" >&2
	exit 2 ;;
esac
proxy_pid=$BG_PID
wait_listen "$port" "$proxy_pid" 10
url=ws://127.0.0.1:$port
if [ -n "$tls_port" ]; then
	wait_listen "$tls_port" "$proxy_pid" 10
	url=wss://127.0.0.1:$tls_port
fi
# nginx serves from its worker process; wsgate from its own.
target=$proxy_pid
[ "$proxy" = nginx ] && target=$(pgrep -P "$proxy_pid" | head -n 1)

run=$((WINDOW + 2))
[ "${PERF_RECORD:-0}" = 1 ] && run=$((2 * WINDOW + 2))
taskset -c "$LOAD_CPU" "$root/build/wsgate-bench" -q "$@" \
    -u "$url$path" -d "$run" -p "$proxy_pid" \
    -b "$backend_pid" >"$tmp/bench.out" &
bench_pid=$!
sleep 1
events=raw_syscalls:sys_enter
for s in $SYSCALLS; do
	events="$events,syscalls:sys_enter_$s"
done
perf stat -x, -e "$events" -p "$target" -o "$tmp/stat" -- sleep "$WINDOW"
if [ "${PERF_RECORD:-0}" = 1 ]; then
	perf record -q -e cpu-clock -F 2000 -p "$target" -o "$tmp/perf.data" \
	    -- sleep "$WINDOW" >/dev/null 2>&1
fi
wait "$bench_pid"

line=$(cat "$tmp/bench.out")
ops=$(kv "$line" msgs_per_s)
unit=msg
if [ "${ops:-0}" = 0 ]; then
	ops=$(kv "$line" handshakes_per_s)
	unit=handshake
fi
echo "$proxy $*: $ops ${unit}s/s, $(kv "$line" proxy_cpu_us_per_op) us of" \
    "proxy CPU per $unit (under tracing)"
awk -F, -v ops="$ops" -v w="$WINDOW" -v unit="$unit" '
	$1 ~ /^[0-9]+$/ && $1 > 0 {
		name = $3
		sub(/^(raw_)?syscalls:sys_enter_?/, "", name)
		printf "  %-12s %7.3f per %s\n", name == "" ? "all" : name,
		    $1 / (ops * w), unit
	}' "$tmp/stat"
if [ "${PERF_RECORD:-0}" = 1 ]; then
	echo "hottest symbols (cpu-clock samples):"
	perf report -i "$tmp/perf.data" --no-children --sort "${PERF_SORT:-dso,sym}" 2>/dev/null |
	    grep -v '^#' | grep '%' | head -n ${TOP:-25}
fi
