#!/bin/sh
# install-deps.sh run|test|valgrind — installs the Debian packages that
# building (run), testing (test) or make valgrind (valgrind) need, and
# only those that are missing.
# Uses apt-get, through sudo when not root.  Does nothing when all is there.
set -eu

mode=${1:-run}
# package:check pairs; a check is a pkg-config module, a command, a
# Python module seen by Debian's /usr/bin/python3, or a file.
run_pkgs="gcc:cmd:cc make:cmd:make pkg-config:cmd:pkg-config
libevent-dev:pc:libevent libssl-dev:pc:openssl libyaml-dev:pc:yaml-0.1"
# test_stomp.py: Debian's RabbitMQ (its STOMP and Web-STOMP plugins are
# in the package; erlang-base, with epmd, comes as a dependency).  The
# test runs a private node of its own and never uses the system service.
# make fuzz: clang, libFuzzer, and libclang-rt-14-dev for the runtimes
# of -fsanitize=fuzzer,address,undefined (clang-14 only recommends it, and
# recommends are not installed).  The runtime's path is amd64's.
test_pkgs="check:pc:check python3:cmd:/usr/bin/python3
python3-websockets:py:websockets mandoc:cmd:mandoc
node-ws:file:/usr/share/nodejs/ws/package.json openssl:cmd:openssl
haproxy:file:/usr/sbin/haproxy systemd:cmd:systemd-analyze
mosquitto:file:/usr/sbin/mosquitto mosquitto-clients:cmd:mosquitto_sub
rabbitmq-server:file:/usr/lib/rabbitmq/bin/rabbitmq-server
clang:cmd:clang libfuzzer-14-dev:file:/usr/lib/llvm-14/lib/libFuzzer.a
libclang-rt-14-dev:file:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
chromium:cmd:chromium"
# chromium (tests/integration/test_browser.py, headless): its recommends
# are not needed there: with --disable-gpu it renders in software with
# what it ships (it opens no file of libgl1-mesa-dri), fontconfig-config
# depends on fonts-dejavu-core (no fonts-liberation), and upower, udev,
# notification-daemon and system-config-printer serve desktops.

case "$mode" in
run) wanted=$run_pkgs ;;
test) wanted="$run_pkgs $test_pkgs" ;;
valgrind) wanted="$run_pkgs $test_pkgs valgrind:cmd:valgrind" ;;
*) echo "usage: $0 run|test|valgrind" >&2; exit 2 ;;
esac

have() {
	kind=$1 what=$2
	case "$kind" in
	cmd) command -v "$what" >/dev/null 2>&1 ;;
	pc) command -v pkg-config >/dev/null 2>&1 &&
	    pkg-config --exists "$what" ;;
	py) [ -x /usr/bin/python3 ] &&
	    /usr/bin/python3 -c "import $what" >/dev/null 2>&1 ;;
	file) [ -e "$what" ] ;;
	esac
}

missing=""
for entry in $wanted; do
	pkg=${entry%%:*}
	rest=${entry#*:}
	have "${rest%%:*}" "${rest#*:}" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "install-deps: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
