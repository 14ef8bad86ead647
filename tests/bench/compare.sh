#!/usr/bin/env bash
# compare.sh: wsgate against nginx and HAProxy as WebSocket proxies on the
# same workloads, the same backend and the same core (make bench).
#
# Installs nginx and haproxy from Debian when missing, then, all on
# 127.0.0.1 in a temporary directory:
#   - build/echo-backend (WebSocket echo and TCP echo) on the load core;
#   - nginx (1 worker), haproxy (mode http, 1 thread), wsgate (websocket
#     backend, plus a tcp route to the TCP echo) and haproxy in mode tcp
#     (a plain L4 relay, the peer of wsgate's tcp route), each pinned
#     with taskset to the proxy core and restarted fresh every round;
#   - build/wsgate-bench on the load core, against one proxy at a time,
#     the proxies alternating within each workload and their order
#     rotating from round to round;
#   - last, wsgate with workers: 2 on every core (wsgate-2w) against the
#     pinned one-worker wsgate, at 64 B W=16: the worker scaling.
# nginx, haproxy and wsgate also listen with TLS, on a second port, with
# the same certificate (ECDSA P-256, made by the openssl command in the
# temporary directory) and the same TLS settings (lib.sh TLS_*): the
# wss and tls rows, in front of the same backend.  A TLS run must agree
# on TLS 1.3 with X25519, and the resumed runs must resume.
# wsgate-bench reads the proxy's CPU time (utime + stime of the process
# and its children: nginx's master and worker) from /proc/PID/stat at both
# ends of each measured window, and its RSS before and during the idle
# hold.  The table shows the mean over the rounds; see README.md.
#
# Environment (defaults): ROUNDS (3), DURATION (3 s per measured window),
# WARMUP (0.5 s), IDLE_CONNS (5000), PROXY_CPU (1), LOAD_CPU (0),
# KEEP=1 to keep the temporary directory (logs, configs, raw results).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-0.5}
IDLE_CONNS=${IDLE_CONNS:-5000}
PROXY_CPU=${PROXY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

wsgate=${WSGATE:-$root/wsgate}
bench=$root/build/wsgate-bench
backend=$root/build/echo-backend
start_time=$SECONDS

# The workloads: name, wsgate-bench arguments.  tcp-* run wsgate's tcp
# route (bytes mode) against haproxy in mode tcp (echo mode through it).
# wss* and tls* run over TLS; tls*: each session a new connection, a full
# (tlshs) or resumed (tlsres) TLS handshake, the upgrade, one 64 B echo
# and the close.
WORKLOADS=(w1 w16 w64k connect wss16 wss64k tlshs tlsres idle tcp64 tcp64k
    scale)
declare -A LABEL=(
	[w1]="echo 64B W=1 c=50" [w16]="echo 64B W=16 c=50"
	[w64k]="echo 64KiB W=4 c=10" [connect]="connect c=50"
	[wss16]="wss echo 64B W=16 c=50" [wss64k]="wss echo 64KiB W=4 c=10"
	[tlshs]="tls handshakes c=50" [tlsres]="tls resumed c=50"
	[idle]="idle $IDLE_CONNS" [tcp64]="tcp 64B W=16 c=50"
	[tcp64k]="tcp 64KiB W=4 c=10" [scale]="workers 64B W=16 c=50"
)
declare -A ARGS=(
	[w1]="-m echo -c 50 -w 1 -s 64" [w16]="-m echo -c 50 -w 16 -s 64"
	[w64k]="-m echo -c 10 -w 4 -s 64k" [connect]="-m connect -c 50"
	[wss16]="-m echo -c 50 -w 16 -s 64 --tls"
	[wss64k]="-m echo -c 10 -w 4 -s 64k --tls"
	[tlshs]="-m connect -c 50 -e 1 --tls"
	[tlsres]="-m connect -c 50 -e 1 --tls-resume"
	[idle]="-m idle -c $IDLE_CONNS" [tcp64]="-c 50 -w 16 -s 64"
	[tcp64k]="-c 10 -w 4 -s 64k" [scale]="-m echo -c 50 -w 16 -s 64"
)
WS_PROXIES=(nginx haproxy wsgate)
TCP_PROXIES=(haproxy-l4 wsgate)
SCALE_PROXIES=(wsgate wsgate-2w)
ALL_PROXIES=(nginx haproxy haproxy-l4 wsgate wsgate-2w)

die() {
	echo "compare.sh: $*" >&2
	exit 1
}

# sudo when not root, for apt-get only.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

install_missing() {
	local missing=()
	[ -x /usr/sbin/nginx ] || missing+=(nginx)
	[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
	command -v taskset >/dev/null || missing+=(util-linux)
	command -v openssl >/dev/null || missing+=(openssl)
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "installing ${missing[*]} from Debian" >&2
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}"
}

for f in "$wsgate" "$bench" "$backend"; do
	[ -x "$f" ] || die "$f not built (run: make wsgate bench-bins)"
done
install_missing
nginx=/usr/sbin/nginx
haproxy=/usr/sbin/haproxy

ncpu=$(nproc)
if [ "$ncpu" -lt 2 ]; then
	echo "compare.sh: one CPU: proxy and load share it" >&2
	PROXY_CPU=0
	LOAD_CPU=0
fi

# Descriptors: bench and backend need one per idle connection, the
# proxies two.  nginx counts client and upstream connections and starts
# closing connections that wait for their request once fewer than 1/16 of
# its worker_connections are free: give it a quarter more.  HAProxy's
# maxconn counts pairs.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] &&
    [ "$nofile" -lt $((IDLE_CONNS * 5 / 2 + 640)) ]; then
	IDLE_CONNS=$(((nofile - 640) * 2 / 5))
	LABEL[idle]="idle $IDLE_CONNS"
	ARGS[idle]="-m idle -c $IDLE_CONNS"
	echo "compare.sh: ulimit -n is $nofile: $IDLE_CONNS idle" \
	    "connections" >&2
fi
nginx_conns=$((IDLE_CONNS * 5 / 2 + 512))
haproxy_maxconn=$((IDLE_CONNS + 256))

tmp=$(mktemp -d /tmp/wsgate-bench.XXXXXX)
cleanup() {
	stop_all
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
results=$tmp/results

# The echo backend, on the load core, for the whole run.
bg_start "$tmp/backend.log" taskset -c "$LOAD_CPU" "$backend" \
    -w 127.0.0.1:0 -t 127.0.0.1:0
backend_pid=$BG_PID
wait_line "$tmp/backend.log" '^tcp listening' "$backend_pid" 10 ||
    die "echo-backend did not start: $(cat "$tmp/backend.log")"
ws_port=$(backend_port "$tmp/backend.log" ws)
tcp_port=$(backend_port "$tmp/backend.log" tcp)

declare -A PORT TLS_PORT PID
for p in "${ALL_PROXIES[@]}"; do
	free_port "PORT[$p]"
done
for p in "${WS_PROXIES[@]}"; do
	free_port "TLS_PORT[$p]"
done
tls_cert "$tmp/tls" || die "openssl: $(cat "$tmp/tls/openssl.log")"

write_configs() {
	local crt=$tmp/tls/combined.pem

	nginx_config "$tmp/nginx" "${PORT[nginx]}" "$ws_port" "$nginx_conns" \
	    "${TLS_PORT[nginx]}" "$tmp/tls"
	cat >"$tmp/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn $haproxy_maxconn
	ssl-default-bind-options ssl-min-ver TLSv1.2
	ssl-default-bind-ciphers $TLS_CIPHERS
	ssl-default-bind-ciphersuites $TLS_SUITES
	ssl-default-bind-curves $TLS_GROUPS
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	timeout tunnel 1h
	timeout client-fin 5s
frontend fe
	bind 127.0.0.1:${PORT[haproxy]}
	bind 127.0.0.1:${TLS_PORT[haproxy]} ssl crt $crt alpn http/1.1
	default_backend be
backend be
	server echo 127.0.0.1:$ws_port
EOF
	cat >"$tmp/haproxy-l4.cfg" <<EOF
global
	nbthread 1
	maxconn $haproxy_maxconn
defaults
	mode tcp
	timeout connect 5s
	timeout client 1h
	timeout server 1h
frontend fe
	bind 127.0.0.1:${PORT[haproxy-l4]}
	default_backend be
backend be
	server echo 127.0.0.1:$ws_port
EOF
	wsgate_config wsgate 1
	wsgate_config wsgate-2w 2
	"$nginx" -t -q -p "$tmp/nginx/" -e "$tmp/nginx/error.log" \
	    -c "$tmp/nginx/nginx.conf" || die "nginx refuses its configuration"
	"$haproxy" -c -q -f "$tmp/haproxy.cfg" ||
	    die "haproxy refuses its configuration"
}

# wsgate_config NAME WORKERS: $tmp/NAME.yaml; with TLS as well when NAME
# has a TLS port.
wsgate_config() {
	local tls=""
	if [ -n "${TLS_PORT[$1]:-}" ]; then
		tls="
  - address: \"127.0.0.1:${TLS_PORT[$1]}\"
    tls:
      certificate: $tmp/tls/cert.pem
      key: $tmp/tls/key.pem
      ciphers: \"$TLS_CIPHERS\"
      ciphersuites: \"$TLS_SUITES\""
	fi
	cat >"$tmp/$1.yaml" <<EOF
listen:
  - address: "127.0.0.1:${PORT[$1]}"$tls
# Started as root, wsgate becomes this user once bound.
user: nobody
workers: $2
log:
  level: warn
# The load generator is one address: no per-address limit (nginx and
# HAProxy have none either).
limits:
  max_connections_per_ip: 0
backends:
  ws:
    type: websocket
    servers: ["127.0.0.1:$ws_port"]
  raw:
    type: tcp
    servers: ["127.0.0.1:$tcp_port"]
routes:
  - match: { path: /tcp }
    backend: raw
  - match: { path: /ws }
    backend: ws
EOF
	"$wsgate" -t -c "$tmp/$1.yaml" >/dev/null 2>&1 ||
	    die "wsgate refuses $tmp/$1.yaml"
}

# start_proxy NAME: a fresh instance pinned to the proxy core.
start_proxy() {
	local name=$1 log=$tmp/$1.log
	case "$name" in
	nginx)
		bg_start "$log" taskset -c "$PROXY_CPU" "$nginx" \
		    -p "$tmp/nginx/" -e "$tmp/nginx/error.log" \
		    -c "$tmp/nginx/nginx.conf" ;;
	haproxy)
		bg_start "$log" taskset -c "$PROXY_CPU" "$haproxy" -db \
		    -f "$tmp/haproxy.cfg" ;;
	haproxy-l4)
		bg_start "$log" taskset -c "$PROXY_CPU" "$haproxy" -db \
		    -f "$tmp/haproxy-l4.cfg" ;;
	wsgate)
		bg_start "$log" taskset -c "$PROXY_CPU" "$wsgate" \
		    -c "$tmp/wsgate.yaml" ;;
	wsgate-2w)
		# Every core: the load generator shares one with a worker.
		bg_start "$log" "$wsgate" -c "$tmp/wsgate-2w.yaml" ;;
	esac
	PID[$name]=$BG_PID
	wait_listen "${PORT[$name]}" "$BG_PID" 10 ||
	    die "$name did not start: $(tail -n 5 "$log")"
	if [ -n "${TLS_PORT[$name]:-}" ]; then
		wait_listen "${TLS_PORT[$name]}" "$BG_PID" 10 ||
		    die "$name did not listen with TLS: $(tail -n 5 "$log")"
	fi
}

# tls_check WORK LINE: why a TLS run does not count (nothing if it does):
# every proxy must agree on TLS 1.3 with X25519, and a resumed run must
# resume (the first connections, before any ticket, are in the warm-up).
tls_check() {
	local v g hs res
	v=$(kv "$2" tls_version)
	g=$(kv "$2" tls_group)
	if [ "$v" != TLSv1.3 ] || [ "$g" != X25519 ]; then
		echo "negotiated $v with $g, not TLSv1.3 with X25519"
		return 0
	fi
	if [ "$1" = tlsres ]; then
		hs=$(kv "$2" handshakes)
		res=$(kv "$2" resumed)
		[ "$((res * 100))" -ge "$((hs * 99))" ] ||
		    echo "only $res of $hs handshakes resumed"
	fi
	return 0
}

stop_proxy() {
	local pid=${PID[$1]} kids
	kids=$(pgrep -P "$pid" || true)
	stop_pid "$pid"
	forget_pid "$pid"
	for pid in $kids; do
		stop_pid "$pid"	# nginx workers, gone with their master
	done
}

# run ROUND WORKLOAD PROXY: one wsgate-bench run, its line into results.
failures=0
run() {
	local round=$1 work=$2 proxy=$3 path=/ mode="" line rc err progress
	local url=ws://127.0.0.1:${PORT[$proxy]} bad=""
	case "$proxy" in wsgate*) path=/ws ;; esac
	case "$work" in
	wss* | tls*) url=wss://127.0.0.1:${TLS_PORT[$proxy]} ;;
	esac
	case "$work" in
	tcp*)
		if [ "$proxy" = wsgate ]; then
			path=/tcp
			mode="-m bytes"
		else
			mode="-m echo"
		fi ;;
	esac
	err=$tmp/run-$round-$work-$proxy.err
	# shellcheck disable=SC2086
	line=$(timeout -k 5 120 taskset -c "$LOAD_CPU" "$bench" -q $mode \
	    ${ARGS[$work]} -u "$url$path" \
	    -d "$DURATION" -W "$WARMUP" -t 5 -p "${PID[$proxy]}" \
	    -b "$backend_pid" 2>"$err") && rc=0 || rc=$?
	case "$work" in
	wss* | tls*) [ "$rc" -ne 0 ] || bad=$(tls_check "$work" "$line") ;;
	esac
	if [ "$rc" -ne 0 ] || [ -z "$line" ] || [ -n "$bad" ]; then
		failures=$((failures + 1))
		if [ -n "$bad" ]; then
			echo "  $work $proxy: $bad" >&2
		else
			echo "  $work $proxy: wsgate-bench failed (exit" \
			    "status $rc)" >&2
			sed 's/^/    /' "$err" >&2
		fi
		# table.awk counts its errors but leaves it out of the means
		echo "round=$round work=$work proxy=$proxy failed=1 $line" \
		    >>"$results"
		return 0
	fi
	echo "round=$round work=$work proxy=$proxy $line" >>"$results"
	case "$work" in
	connect | tls*)
		progress="$(kv "$line" handshakes_per_s) handshakes/s" ;;
	idle) progress="$(kv "$line" open) open" ;;
	*) progress="$(kv "$line" msgs_per_s) msgs/s" ;;
	esac
	if [ "$work" = idle ]; then
		progress="$progress, $(kv "$line" kib_per_conn) KiB each"
	else
		progress="$progress, $(kv "$line" proxy_cpu_us_per_op) us CPU"
	fi
	printf '  %-8s %-10s %s\n' "$work" "$proxy" "$progress" >&2
}

# rotate N WORDS...: the words, starting at the (N mod count)th.
rotate() {
	local n=$1 i
	shift
	local a=("$@")
	for ((i = 0; i < ${#a[@]}; i++)); do
		echo "${a[(i + n) % ${#a[@]}]}"
	done
}

write_configs
: >"$results"
for ((round = 1; round <= ROUNDS; round++)); do
	echo "round $round of $ROUNDS" >&2
	mapfile -t ws_order < <(rotate "$round" "${WS_PROXIES[@]}")
	mapfile -t tcp_order < <(rotate "$round" "${TCP_PROXIES[@]}")
	for p in "${ALL_PROXIES[@]}"; do
		start_proxy "$p"
	done
	# Idle first, while every proxy is fresh: RSS growth is then the
	# memory the connections took, not reuse of memory freed earlier.
	for p in "${ws_order[@]}"; do
		run "$round" idle "$p"
	done
	for w in w1 w16 w64k connect wss16 wss64k tlshs tlsres; do
		for p in "${ws_order[@]}"; do
			run "$round" "$w" "$p"
		done
	done
	for w in tcp64 tcp64k; do
		for p in "${tcp_order[@]}"; do
			run "$round" "$w" "$p"
		done
	done
	for p in $(rotate "$round" "${SCALE_PROXIES[@]}"); do
		run "$round" scale "$p"
	done
	for p in "${ALL_PROXIES[@]}"; do
		stop_proxy "$p"
	done
done

# The table (table.awk): the mean over the rounds of each (workload,
# proxy), rows in the order of WORKLOADS.
print_table() {
	local order="" labels="" w p proxies
	for w in "${WORKLOADS[@]}"; do
		case "$w" in
		tcp*) proxies=("${TCP_PROXIES[@]}") ;;
		scale) proxies=("${SCALE_PROXIES[@]}") ;;
		*) proxies=("${WS_PROXIES[@]}") ;;
		esac
		for p in "${proxies[@]}"; do
			order="$order $w:$p"
		done
		labels="$labels$w=${LABEL[$w]};"
	done
	awk -v order="$order" -v labels="$labels" -f "$here/table.awk" \
	    "$results"
}

echo
echo "$("$wsgate" -V 2>&1 | head -n 1 || true)," \
    "$("$nginx" -v 2>&1 | sed 's/^nginx version: //')," \
    "$("$haproxy" -v 2>&1 | head -n 1 | awk '{ print "HAProxy " $3 }')"
echo "$ncpu CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo |
    head -n 1)), proxy on CPU $PROXY_CPU, load generator and backend on" \
    "CPU $LOAD_CPU; $ROUNDS rounds of ${DURATION}s (+${WARMUP}s warm-up)"
echo
print_table
echo
cat <<'EOF'
rate: messages (round trips), handshakes or open connections per second;
p50/p99: round trip, or handshake (connect, tls, idle); proxy%: proxy CPU
use.  wss, tls: over TLS 1.3 (X25519, ECDSA P-256 certificate); tls
handshakes: a full TLS handshake per connection, tls resumed: a resumed
one (session ticket).
cost: proxy CPU (utime+stime) per message or handshake; idle: RSS growth
per open connection.  x_nginx, p99_x: cost and p99 over nginx's (* tcp
rows: over haproxy-l4, a plain L4 relay; + workers rows: over wsgate with
one worker).  spread: (max - min) / mean of cost over the rounds.  load%:
CPU of load generator + backend, which share one core: near 100, they
were the bottleneck, not the proxy.
EOF
awk -f "$here/scale.awk" "$results"
echo "total run time: $((SECONDS - start_time))s"
[ "$failures" -eq 0 ] || die "$failures runs failed"
