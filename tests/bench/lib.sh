# shellcheck shell=bash
# lib.sh: helpers shared by compare.sh and smoke.sh (sourced, bash).
#
# Every process started with bg_start is remembered and stop_all stops
# it by PID (SIGTERM, then SIGKILL after 5 s); the scripts call stop_all
# from their EXIT trap.  Every wait is bounded.

BENCH_PIDS=()
BENCH_PORTS=" "

# bg_start LOG CMD...: runs CMD in the background, stdout and stderr to
# LOG; its PID in BG_PID.
bg_start() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 </dev/null &
	BG_PID=$!
	BENCH_PIDS+=("$BG_PID")
}

# alive PID: the process exists and is not a zombie.
alive() {
	local stat
	[ -r "/proc/$1/stat" ] || return 1
	read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; reaps our children.
stop_pid() {
	local pid=$1 i
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			echo "pid $pid ignored SIGTERM, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}

# stop_all: every process bg_start started, newest first.
stop_all() {
	local i
	for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${BENCH_PIDS[i]}"
	done
	BENCH_PIDS=()
}

# forget_pid PID: after stop_pid, so that stop_all does not wait on it.
forget_pid() {
	local i
	for i in "${!BENCH_PIDS[@]}"; do
		[ "${BENCH_PIDS[i]}" = "$1" ] && unset 'BENCH_PIDS[i]'
	done
	BENCH_PIDS=("${BENCH_PIDS[@]}")
}

# listening_ports: TCP ports in LISTEN state (IPv4 and IPv6).
listening_ports() {
	local addr st
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	while read -r _ addr _ st _; do
		[ "$st" = 0A ] && echo $((16#${addr##*:}))
	done
	return 0
}

# free_port VAR: a port nobody listens on, below the ephemeral range so
# that no outgoing connection takes it; never the same twice.
free_port() {
	local lo hi used p
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	hi=$((lo - 1))
	lo=$((hi - 10000 > 1024 ? hi - 10000 : 1024))
	used=" $(listening_ports | tr '\n' ' ')$BENCH_PORTS"
	while :; do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
		case "$used" in *" $p "*) continue ;; esac
		BENCH_PORTS="$BENCH_PORTS$p "
		printf -v "$1" '%s' "$p"
		return 0
	done
}

# wait_listen PORT PID SECONDS: until something listens on PORT; fails
# if PID dies or time runs out.
wait_listen() {
	local port=$1 pid=$2 i
	for ((i = 0; i < $3 * 20; i++)); do
		listening_ports | grep -qx "$port" && return 0
		alive "$pid" || return 1
		sleep 0.05
	done
	return 1
}

# wait_line FILE REGEX PID SECONDS: until FILE has a line matching REGEX.
wait_line() {
	local i
	for ((i = 0; i < $4 * 20; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		alive "$3" || return 1
		sleep 0.05
	done
	return 1
}

# backend_port LOG KIND: the port of echo-backend's KIND listener (ws or
# tcp), from its line "KIND listening on 127.0.0.1:PORT" in LOG.
backend_port() {
	sed -n "s/^$2 listening on 127\\.0\\.0\\.1:\\([0-9]*\\)\$/\\1/p" "$1"
}

# kv LINE KEY: the value of KEY in a line of key=value pairs, or nothing.
kv() {
	local f
	for f in $1; do
		case "$f" in "$2"=*) echo "${f#*=}"; return 0 ;; esac
	done
	return 0
}

# TLS settings every proxy of the comparison gets, spelled out so that
# none depends on its own defaults: TLS 1.2 ciphers (for the record: the
# client and the proxies agree on TLS 1.3), TLS 1.3 cipher suites
# (OpenSSL's default, in its order) and groups (X25519 first, as in
# OpenSSL's default, which wsgate has no setting for).
TLS_CIPHERS="ECDHE+AESGCM:ECDHE+CHACHA20"
TLS_SUITES="TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
TLS_SUITES="$TLS_SUITES:TLS_AES_128_GCM_SHA256"
TLS_GROUPS="X25519:P-256"

# tls_cert DIR: a self-signed ECDSA P-256 certificate for localhost and
# 127.0.0.1 (the openssl command): DIR/cert.pem, its key DIR/key.pem,
# and both in DIR/combined.pem (HAProxy's crt).
tls_cert() {
	local dir=$1
	mkdir -p "$dir"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -sha256 -nodes -days 30 -subj /CN=localhost \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log" ||
	    return 1
	cat "$dir/cert.pem" "$dir/key.pem" >"$dir/combined.pem"
}

# nginx_config DIR PORT UPSTREAM_PORT CONNS [TLS_PORT TLS_DIR]:
# DIR/nginx.conf, nginx as the WebSocket proxy of the comparison: one
# worker, proxy_pass with Upgrade and Connection: upgrade, no buffering,
# no access log, CONNS connections (and descriptors for them).  With
# TLS_PORT, the same server also listens there with TLS (the certificate
# of tls_cert in TLS_DIR, the TLS_* settings, TLS 1.2 and 1.3, a session
# cache and tickets).
nginx_config() {
	local dir=$1 port=$2 upstream=$3 conns=$4 tls=""
	if [ $# -ge 6 ]; then
		tls="
		listen 127.0.0.1:$5 ssl;
		ssl_certificate $6/cert.pem;
		ssl_certificate_key $6/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_ciphers $TLS_CIPHERS;
		ssl_conf_command Ciphersuites $TLS_SUITES;
		ssl_ecdh_curve $TLS_GROUPS;
		ssl_session_cache shared:SSL:10m;
		ssl_session_tickets on;"
	fi
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile $((conns + 64));
events {
	worker_connections $conns;
}
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	upstream echo {
		server 127.0.0.1:$upstream;
	}
	server {
		listen 127.0.0.1:$port;$tls
		location / {
			proxy_pass http://echo;
			proxy_http_version 1.1;
			proxy_set_header Upgrade \$http_upgrade;
			proxy_set_header Connection "upgrade";
			proxy_buffering off;
			proxy_read_timeout 1h;
			proxy_send_timeout 1h;
		}
	}
}
EOF
}
