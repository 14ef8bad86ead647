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


def started_as(extra, uid, gid, user="nobody"):
    """wsgate started as root with extra config lines: it says it became
    uid/gid, and every thread's ids and groups in /proc agree."""
    gw = h.start_wsgate(config(extra))
    gw.wait_log(r"info: running as user %s \(uid %d, gid %d\)"
                % (user, uid, gid), 5)
    for tid in os.listdir("/proc/%d/task" % gw.pid):
        got = ids(int(tid))
        check(got["Uid"] == [uid] * 4, "thread %s uids %r" % (tid, got["Uid"]))
        check(got["Gid"] == [gid] * 4, "thread %s gids %r" % (tid, got["Gid"]))
        check(got["Groups"] == [gid], "thread %s groups %r"
              % (tid, got["Groups"]))
    echo_works(gw)


def test_drops_to_user_and_its_group():
    if not ROOT:
        print("    not root: nothing to drop (runs on CI as root)")
        return
    nobody = pwd.getpwnam("nobody")
    started_as("user: nobody\n", nobody.pw_uid, nobody.pw_gid)


def test_group_overrides_the_primary_group():
    if not ROOT:
        print("    not root: nothing to drop (runs on CI as root)")
        return
    started_as("user: nobody\ngroup: daemon\n", pwd.getpwnam("nobody").pw_uid,
               grp.getgrnam("daemon").gr_gid)


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
