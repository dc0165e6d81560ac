"""amtest: TAP output and shared helpers for authmilter's script tests.

Every script test does:

    import amtest
    t = amtest.Tap()
    t.need_tools("unbound", "postfix")   # skip (or fail when CI=true)
    t.ok(cond, "name")
    t.is_(got, want, "name")
    t.done()

Paths: T_SRCDIR / T_BUILDDIR (set by t/run-tests) locate the source and
build trees; tools built for tests live in T_BUILDDIR/t/lib.  Servers
started by tests bind loopback addresses on ports chosen at run time
(free_port()), never fixed ones, and are stopped when the test ends.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("T_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("T_BUILDDIR") or SRCDIR
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# ../shared/conformance beside the source tree unless told otherwise.
CONFORMANCE = os.environ.get("AUTHMILTER_CONFORMANCE") or os.path.join(
    SRCDIR, "..", "shared", "conformance")


def src(*parts):
    return os.path.join(SRCDIR, *parts)


def build(*parts):
    return os.path.join(BUILDDIR, *parts)


def daemon_path():
    return os.environ.get("AUTHMILTER") or build("milter", "authmilter")


class Tap:
    """A TAP producer; the plan is printed at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self._cleanups = []
        sys.stdout.reconfigure(line_buffering=True)
        atexit.register(self._run_cleanups)

    def ok(self, cond, name):
        self.n += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, name))
        if not cond and "# TODO" not in name:  # TAP: a TODO failure is expected
            self.failed += 1
        return bool(cond)

    def is_(self, got, want, name):
        res = self.ok(got == want, name)
        if not res:
            self.diag("got  %r" % (got,))
            self.diag("want %r" % (want,))
        return res

    def like(self, got, pattern, name):
        import re
        res = self.ok(got is not None and re.search(pattern, got) is not None,
                      name)
        if not res:
            self.diag("got  %r" % (got,))
            self.diag("want match for %r" % (pattern,))
        return res

    def unlike(self, got, pattern, name):
        import re
        res = self.ok(got is not None and re.search(pattern, got) is None,
                      name)
        if not res:
            self.diag("got  %r" % (got,))
            self.diag("want no match for %r" % (pattern,))
        return res

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print("# " + line)

    def skip_all(self, reason):
        print("1..0 # SKIP " + reason)
        sys.exit(0)

    def bail(self, reason):
        print("Bail out! " + reason)
        sys.exit(255)

    def need_root(self):
        if os.geteuid() != 0:
            if IN_CI:
                self.bail("this test needs root (CI runs as root)")
            self.skip_all("needs root")

    def need_tools(self, *tools):
        """Skip when a tool is missing; in CI a missing tool is a failure."""
        missing = [x for x in tools if shutil.which(x) is None and
                   not os.path.exists(x)]
        if missing:
            msg = "missing tool(s): " + ", ".join(missing)
            if IN_CI:
                self.bail(msg + " (CI must install every tool it uses)")
            self.skip_all(msg)

    def cleanup(self, fn):
        """Run fn at exit (last registered runs first)."""
        self._cleanups.append(fn)

    def _run_cleanups(self):
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # a failing cleanup must not hide results
                print("# cleanup failed: %s" % e)

    def done(self):
        print("1..%d" % self.n)
        self._run_cleanups()
        sys.exit(1 if self.failed else 0)


def free_port(host="127.0.0.1", kind=socket.SOCK_STREAM):
    """A port that is free now for kind (TCP or UDP) on host."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, kind) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_port_both(host="127.0.0.1"):
    """A port free for both TCP and UDP (for DNS servers)."""
    for _ in range(50):
        p = free_port(host, socket.SOCK_DGRAM)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((host, p))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port")


def tmpdir(t, prefix="amtest-"):
    """A private directory removed when the test ends (kept if KEEP_TMP=1)."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    if not os.environ.get("KEEP_TMP"):
        t.cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def wait_for(pred, timeout=10.0, step=0.05):
    """Poll pred() until true or timeout; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_process(p, sig=signal.SIGTERM, timeout=10):
    """Stop a Popen: sig, then SIGKILL after timeout.  Returns the exit code."""
    if p.poll() is not None:
        return p.returncode
    p.send_signal(sig)
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()
