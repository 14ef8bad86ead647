"""make install / uninstall (PREFIX, DESTDIR, SYSCONFDIR) and the systemd
unit they install: the file layout and modes, a configuration file never
overwritten nor removed, "systemd-analyze verify" on the installed unit
(its paths filled in) and its "systemd-analyze security" exposure,
printed and held to 2.0 or lower."""

import os
import re
import shutil
import stat
import subprocess
import tempfile

import harness as h
from harness import check

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"


def make(*args, env=None):
    p = subprocess.run(["make", "-s", "-C", ROOT] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=300, env=dict(os.environ, **(env or {})))
    check(p.returncode == 0, "make %s: %s" % (" ".join(args),
                                              p.stderr.decode()[-600:]))


def tmpdir():
    d = tempfile.mkdtemp(prefix="wsgate-install-")
    h.on_cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def files_under(d):
    out = {}
    for top, _, names in os.walk(d):
        for n in names:
            p = os.path.join(top, n)
            out[os.path.relpath(p, d)] = stat.S_IMODE(os.stat(p).st_mode)
    return out


def test_destdir_layout_and_config_kept():
    dest = tmpdir()
    make("install", "DESTDIR=" + dest)
    got = files_under(dest)
    want = {"usr/local/sbin/wsgate": 0o755,
            "usr/local/share/man/man8/wsgate.8": 0o644,
            "usr/local/share/man/man5/wsgate.yaml.5": 0o644,
            "usr/local/lib/systemd/system/wsgate.service": 0o644,
            "etc/wsgate/wsgate.yaml": 0o644}
    check(got == want, "installed %r" % got)
    with open(os.path.join(dest, "usr/local/lib/systemd/system/"
                           "wsgate.service")) as f:
        unit = f.read()
    check("ExecStart=/usr/local/sbin/wsgate -c /etc/wsgate/wsgate.yaml"
          in unit and "@SBINDIR@" not in unit and "@SYSCONFDIR@" not in unit,
          "paths not filled in:\n" + unit)
    # An operator's configuration survives a reinstall and an uninstall.
    conf = os.path.join(dest, "etc/wsgate/wsgate.yaml")
    with open(conf, "a") as f:
        f.write("# edited by the operator\n")
    make("install", "DESTDIR=" + dest)
    with open(conf) as f:
        check(f.read().endswith("# edited by the operator\n"),
              "install overwrote the configuration")
    make("uninstall", "DESTDIR=" + dest)
    check(files_under(dest) == {"etc/wsgate/wsgate.yaml": 0o644},
          "after uninstall: %r" % files_under(dest))


def test_installed_unit_verifies_and_is_hardened():
    top = tmpdir()
    prefix, etc = os.path.join(top, "usr"), os.path.join(top, "etc")
    make("install", "PREFIX=" + prefix, "SYSCONFDIR=" + etc)
    unit = os.path.join(prefix, "lib/systemd/system/wsgate.service")
    p = subprocess.run([ANALYZE, "verify", unit], capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL,
                       env=dict(os.environ,
                                MANPATH=os.path.join(prefix, "share/man")))
    out = (p.stdout + p.stderr).decode()
    check(p.returncode == 0 and out.strip() == "",
          "systemd-analyze verify (rc %d):\n%s" % (p.returncode, out))
    p = subprocess.run([ANALYZE, "security", "--offline=true", unit],
                       capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    out = (p.stdout + p.stderr).decode()
    m = re.search(r"Overall exposure level for wsgate\.service: "
                  r"(\d+\.\d+)", out)
    check(m is not None, "no exposure level:\n" + out)
    print("    systemd-analyze security: exposure %s" % m.group(1))
    check(float(m.group(1)) <= 2.0, "exposure %s above 2.0:\n%s"
          % (m.group(1), out))


if __name__ == "__main__":
    h.main(globals())
