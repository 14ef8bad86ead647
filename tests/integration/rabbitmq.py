"""A private RabbitMQ node for the integration tests (test_stomp.py).

Debian's rabbitmq-server (3.10) with the rabbitmq_stomp and
rabbitmq_web_stomp plugins, isolated from anything else on the machine:

- every file under one temporary directory: HOME (so the Erlang cookie is
  a fresh one), RABBITMQ_MNESIA_BASE, RABBITMQ_LOG_BASE, the rabbitmq.conf
  (RABBITMQ_CONFIG_FILE), the enabled-plugins file, an empty env file in
  place of /etc/rabbitmq/rabbitmq-env.conf and no advanced.config;
- a node name of its own (wsgate-test-<pid>-<n>@localhost);
- its own epmd on a free loopback port (ERL_EPMD_PORT), started here in
  the foreground, so that Erlang never spawns a detached one;
- AMQP, the distribution port, STOMP and Web-STOMP on free 127.0.0.1
  ports, so a system RabbitMQ on the default ports is never touched.

The node is /usr/lib/rabbitmq/bin/rabbitmq-server run directly (not the
/usr/sbin wrapper that switches to the rabbitmq user), in a session of
its own.  stop() ends it by its process group (SIGTERM, then SIGKILL) and
epmd by its PID; a small reaper process does the same if this process
dies without calling stop() (even by SIGKILL).  Nothing is found or
killed by name.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import harness

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
EPMD = "/usr/bin/epmd"

_count = 0


def available():
    return os.access(RABBITMQ_SERVER, os.X_OK) and os.access(EPMD, os.X_OK)


def _free_ports(n):
    """n distinct free loopback ports (all bound at once, then closed)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((harness.HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_open(port):
    try:
        socket.create_connection((harness.HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


def _group_alive(pgid):
    """True while some process is in process group pgid."""
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class RabbitMQ:
    """A running node: .stomp_port, .web_stomp_port, .amqp_port,
    .node, .startup_seconds, .log(), .stop()."""

    def __init__(self, startup_timeout=60.0):
        global _count
        _count += 1
        self.node = "wsgate-test-%d-%d@localhost" % (os.getpid(), _count)
        self.dir = tempfile.mkdtemp(prefix="wsgate-it-rabbitmq-")
        self.proc = self.epmd = self._reaper = None
        (self.amqp_port, self.dist_port, self.stomp_port,
         self.web_stomp_port, self.epmd_port) = _free_ports(5)
        t0 = time.monotonic()
        try:
            self._start(startup_timeout)
        except BaseException as e:
            log = self.log()
            self.stop()
            if isinstance(e, harness.TestFailure):
                raise harness.TestFailure("%s\n%s" % (e, log)) from None
            raise
        self.startup_seconds = time.monotonic() - t0

    def _path(self, *names):
        return os.path.join(self.dir, *names)

    def _write(self, name, text):
        with open(self._path(name), "w") as f:
            f.write(text)

    def _start(self, startup_timeout):
        for d in ("home", "mnesia", "log"):
            os.mkdir(self._path(d))
        self._write("rabbitmq.conf", "\n".join([
            "listeners.tcp.default = 127.0.0.1:%d" % self.amqp_port,
            "stomp.listeners.tcp.1 = 127.0.0.1:%d" % self.stomp_port,
            "web_stomp.tcp.ip = 127.0.0.1",
            "web_stomp.tcp.port = %d" % self.web_stomp_port,
            "web_stomp.ws_path = /ws",
            "loopback_users.guest = true",     # guest/guest from loopback
            "log.console = false",
            "log.file.level = info",
            ""]))
        self._write("enabled_plugins",
                    "[rabbitmq_stomp,rabbitmq_web_stomp].\n")
        self._write("rabbitmq-env.conf", "")
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "HOME": self._path("home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_USE_LONGNAME": "false",
            "RABBITMQ_NODE_IP_ADDRESS": harness.HOST,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": self._path("rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": self._path("rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": self._path("advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": self._path("enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": self._path("mnesia"),
            "RABBITMQ_LOG_BASE": self._path("log"),
            # The distribution listener on loopback only.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS":
                "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": harness.HOST,
            "ERL_EPMD_PORT": str(self.epmd_port),
        }
        self.env = env
        # epmd first, in the foreground: the node registers with it and,
        # finding it, never starts a detached one.
        self.epmd = subprocess.Popen(
            [EPMD, "-address", harness.HOST, "-port", str(self.epmd_port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        harness.wait_until(
            lambda: self.epmd.poll() is not None or _port_open(self.epmd_port),
            10, what="epmd on port %d" % self.epmd_port)
        harness.check(self.epmd.poll() is None,
                      "epmd -port %d exited with status %r"
                      % (self.epmd_port, self.epmd.returncode))
        self._out = open(self._path("stdout.log"), "wb")
        self.proc = subprocess.Popen(
            [RABBITMQ_SERVER], stdin=subprocess.DEVNULL, stdout=self._out,
            stderr=subprocess.STDOUT, env=env, cwd=self.dir,
            start_new_session=True)
        self.pgid = self.proc.pid
        self._start_reaper()
        # Ready when both STOMP listeners accept and a STOMP CONNECT on the
        # plain port is answered by this node.
        harness.wait_until(
            lambda: (self.proc.poll() is not None
                     or (_port_open(self.stomp_port)
                         and _port_open(self.web_stomp_port))),
            startup_timeout, interval=0.2,
            what="RabbitMQ's STOMP and Web-STOMP ports (%d, %d)"
            % (self.stomp_port, self.web_stomp_port))
        harness.check(self.proc.poll() is None,
                      "rabbitmq-server exited with status %r"
                      % self.proc.returncode)

    def _start_reaper(self):
        """A shell that waits for EOF on a pipe only this process holds,
        then kills the node's process group and epmd and removes the
        directory: it fires when this process dies without stop(), even
        by SIGKILL; stop() kills it first."""
        r, self._reaper_w = os.pipe()
        try:
            self._reaper = subprocess.Popen(
                ["/bin/sh", "-c", 'read _x; kill -KILL "-$1" 2>/dev/null; '
                 'kill -KILL "$2" 2>/dev/null; sleep 1; rm -rf "$3"; exit 0',
                 "wsgate-rabbitmq-reaper",
                 str(self.pgid), str(self.epmd.pid), self.dir],
                stdin=r, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            os.close(r)

    def log(self, limit=6000):
        """The tail of the node's stdout and of its log file."""
        names = ["stdout.log"]
        if os.path.isdir(self._path("log")):
            names += sorted(os.path.join("log", f)
                            for f in os.listdir(self._path("log"))
                            if f.endswith(".log"))
        parts = []
        for name in names:
            try:
                with open(self._path(name), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            parts.append("---- %s ----\n%s" % (name, text[-limit:]))
        return "\n".join(parts)

    def stop(self):
        """Stops the node (its process group: SIGTERM, SIGKILL after
        10 s) and epmd (by PID); removes the directory."""
        if self._reaper is not None:
            # The reaper must not fire once PIDs are reaped (they could be
            # reused): kill it first, by its PID.
            self._reaper.kill()
            self._reaper.wait(10)
            os.close(self._reaper_w)
            self._reaper = None
        if self.proc is not None:
            if _group_alive(self.pgid):
                try:
                    os.killpg(self.pgid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                deadline = time.monotonic() + 10
                while _group_alive(self.pgid) and \
                        time.monotonic() < deadline:
                    self.proc.poll()    # reap the leader when it exits
                    time.sleep(0.1)
                if _group_alive(self.pgid):
                    try:
                        os.killpg(self.pgid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self.proc.wait(10)
            self._out.close()
            self.proc = None
        if self.epmd is not None:
            if self.epmd.poll() is None:
                self.epmd.kill()
            self.epmd.wait(10)
            self.epmd = None
        shutil.rmtree(self.dir, ignore_errors=True)
