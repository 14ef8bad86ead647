"""Privileges (wsgate.yaml(5) "user", "group"): started as root, wsgate
binds, then becomes the configured user and group for good (every uid
and gid in /proc/PID/status, supplementary groups too) and still serves;
as root without "user:" it refuses to start; unknown names are
configuration errors with their line.  The root-only cases run when the
tests run as root (as on CI) and say so otherwise."""

import grp
import os
import pwd

import harness as h
from harness import check

ROOT = os.geteuid() == 0


def ids(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                out[k] = [int(x) for x in v.split()]
    return out


def config(extra):
    return h.config([h.ECHO_ROUTE]).rstrip("\n") + "\n" + extra


def echo_works(gw):
    ws = h.ws_connect_raw(gw.port)
    ws.send_frame(1, b"still serving")
    got = ws.read_frame(5)
    check(got.payload == b"still serving", "echo %r" % got.payload)
    ws.close()


def test_drops_to_user_and_its_group():
    if not ROOT:
        print("    not root: nothing to drop (runs on CI as root)")
        return
    nobody = pwd.getpwnam("nobody")
    gw = h.start_wsgate(config("user: nobody\n"))
    gw.wait_log(r"info: running as user nobody \(uid %d, gid %d\)"
                % (nobody.pw_uid, nobody.pw_gid), 5)
    got = ids(gw.pid)
    check(got["Uid"] == [nobody.pw_uid] * 4, "uids %r" % got["Uid"])
    check(got["Gid"] == [nobody.pw_gid] * 4, "gids %r" % got["Gid"])
    check(got["Groups"] == [nobody.pw_gid], "groups %r" % got["Groups"])
    echo_works(gw)
    # The worker threads too: each task has the ids.
    for tid in os.listdir("/proc/%d/task" % gw.pid):
        t = ids(int(tid))
        check(t["Uid"] == [nobody.pw_uid] * 4, "thread %s uids %r"
              % (tid, t["Uid"]))


def test_group_overrides_the_primary_group():
    if not ROOT:
        print("    not root: nothing to drop (runs on CI as root)")
        return
    nobody = pwd.getpwnam("nobody")
    other = grp.getgrnam("daemon")
    gw = h.start_wsgate(config("user: nobody\ngroup: daemon\n"))
    gw.wait_log(r"info: running as user nobody \(uid %d, gid %d\)"
                % (nobody.pw_uid, other.gr_gid), 5)
    got = ids(gw.pid)
    check(got["Uid"] == [nobody.pw_uid] * 4, "uids %r" % got["Uid"])
    check(got["Gid"] == [other.gr_gid] * 4, "gids %r" % got["Gid"])
    check(got["Groups"] == [other.gr_gid], "groups %r" % got["Groups"])
    echo_works(gw)


def test_root_without_user_refuses_to_start():
    if not ROOT:
        print("    not root: the refusal needs root (runs on CI as root)")
        return
    rc, out, err, _ = h.run_wsgate(["-c", "{config}"], config_text=config(""),
                                   root_on_purpose=False)
    check(rc == 1, "exit status %r" % rc)
    check("running as root: set \"user:\"" in err, "stderr %r" % err)


def test_unknown_user_and_group_are_config_errors():
    rc, out, err, _ = h.run_wsgate(
        ["-t", "-c", "{config}"],
        config_text=config("user: no-such-user-wsgate\n"
                           "group: no-such-group-wsgate\n"))
    check(rc == 1, "exit status %r" % rc)
    check(":user: no such user" not in err and
          "user: no such user \"no-such-user-wsgate\"" in err and
          "group: no such group \"no-such-group-wsgate\"" in err,
          "stderr %r" % err)


if __name__ == "__main__":
    h.main(globals())
