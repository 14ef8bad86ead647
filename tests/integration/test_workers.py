"""Workers (wsgate.yaml(5) "workers"): event-loop threads, each with its
own SO_REUSEPORT listening socket, so the kernel spreads connections over
them; a port held by another process is still refused; SIGTERM closes
the sessions of every worker with 1001 and the process exits 0."""

import os
import re
import signal

import harness as h
from harness import check, OP_TEXT, OP_CLOSE, close_payload

WORKER_RE = re.compile(r"accepted \S+ on worker (\d+)")


def gate(workers, limits=None):
    text = h.config([h.ECHO_ROUTE], limits=limits)
    gw = h.start_wsgate(text + "workers: %s\n" % workers)
    # "listening on" comes before the workers start; this line after.
    gw.wait_log(r"started with .* workers\)")
    return gw


def threads(gw):
    return len(os.listdir("/proc/%d/task" % gw.pid))


def echo_clients(gw, n):
    clients = []
    for i in range(n):
        ws = h.ws_connect_raw(gw.port)
        ws.send_frame(OP_TEXT, "hi %d" % i)
        check(ws.read_message() == (OP_TEXT, b"hi %d" % i), "echo %d" % i)
        clients.append(ws)
    return clients


def workers_used(gw, n):
    h.wait_until(lambda: len(WORKER_RE.findall(gw.log())) >= n, 5,
                 what="%d accepted lines" % n)
    return set(int(w) for w in WORKER_RE.findall(gw.log()))


def test_two_workers_share_the_connections():
    gw = gate(2)
    check(threads(gw) == 3, "threads: %d, want main + 2 workers"
          % threads(gw))
    clients = echo_clients(gw, 40)
    # The kernel hashes each connection to a socket: 40 connections all
    # on one of two workers would happen once in 2^39.
    used = workers_used(gw, 40)
    check(used == {0, 1}, "sessions went to workers %r" % sorted(used))
    for ws in clients:
        ws.close()


def test_one_worker():
    gw = gate(1)
    check(threads(gw) == 2, "threads: %d, want main + 1 worker"
          % threads(gw))
    clients = echo_clients(gw, 5)
    check(workers_used(gw, 5) == {0}, "worker numbers")
    for ws in clients:
        ws.close()


def test_auto_starts_one_worker_per_cpu():
    gw = gate("auto")
    cpus = len(os.sched_getaffinity(0))
    online = os.sysconf("SC_NPROCESSORS_ONLN")
    check(threads(gw) == 1 + min(online, 64),
          "threads: %d with %d CPUs online (%d usable here)"
          % (threads(gw), online, cpus))
    gw.wait_log(r"started with .*\(1 routes, %d workers\)" % min(online, 64))


def test_port_held_by_another_instance_is_refused():
    gw = gate(2)
    text = gw.config_text.replace("127.0.0.1:0", "127.0.0.1:%d" % gw.port)
    rc, out, err, _ = h.run_wsgate(["-c", "{config}"], config_text=text)
    check(rc == 1, "second instance exit status %r" % rc)
    check("listen on 127.0.0.1:%d: Address already in use" % gw.port in err,
          "no 'Address already in use' in %r" % err)
    # The first instance still serves.
    echo_clients(gw, 2)


def test_sigterm_closes_the_sessions_of_every_worker():
    gw = gate(2, limits={"close_timeout": "2s"})
    clients = echo_clients(gw, 24)
    check(workers_used(gw, 24) == {0, 1}, "both workers have sessions")
    gw.signal(signal.SIGTERM)
    for ws in clients:
        ws.expect_close(1001, timeout=10, skip_data=False)
        ws.send_frame(OP_CLOSE, close_payload(1001))
        ws.expect_eof(timeout=10)
    rc = gw.wait_exit(10)
    check(rc == 0, "exit status %r after SIGTERM" % rc)
    check("all workers finished, exiting" in gw.log(), "final log line")


if __name__ == "__main__":
    h.main(globals())
