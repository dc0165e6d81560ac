"""daemon: run the real authmilter for a test.

    d = Daemon(t, policy={...})        # dict written as the policy file
    d.start()                          # inet socket on a free loopback port
    d.socket  -> "inet:PORT@127.0.0.1" (libmilter / mtc syntax)
    d.postfix_socket -> "inet:127.0.0.1:PORT" (Postfix syntax)
    d.reload(policy=None)              # rewrite the file (if given) + SIGHUP
    d.log()                            # what it wrote to stderr so far
    d.stop()                           # SIGTERM; returns the exit code

The daemon runs in the foreground (-f) with its log on a file; it is
stopped when the test ends.  ASAN_OPTIONS/UBSAN_OPTIONS from the
environment pass through, so sanitizer builds report into that log.
"""

import json
import os
import signal
import subprocess
import time

import amtest


class Daemon:
    def __init__(self, t, policy=None, policy_text=None, args=(), unix=False):
        self.t = t
        self.dir = amtest.tmpdir(t, "authmilter-")
        self.policy_path = os.path.join(self.dir, "policy.json")
        self.logpath = os.path.join(self.dir, "daemon.log")
        self.args = list(args)
        self.unix = unix
        self.proc = None
        self.port = None
        self.write_policy(policy if policy is not None else {}, policy_text)

    def write_policy(self, policy=None, text=None):
        if text is None:
            text = json.dumps(policy, indent=2)
        tmp = self.policy_path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.policy_path)

    @property
    def socket(self):
        if self.unix:
            return "unix:" + self.sockpath
        return "inet:%d@127.0.0.1" % self.port

    @property
    def postfix_socket(self):
        if self.unix:
            return "unix:" + self.sockpath
        return "inet:127.0.0.1:%d" % self.port

    def start(self, expect_fail=False):
        if self.unix:
            self.sockpath = os.path.join(self.dir, "milter.sock")
        else:
            self.port = amtest.free_port()
        cmd = [amtest.daemon_path(), "-f", "-c", self.policy_path,
               "-p", self.socket] + self.args
        self.logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        self.t.cleanup(self.stop)
        if expect_fail:
            return self.proc.wait(10)
        if not amtest.wait_for(self._listening, 10):
            self.t.diag(self.log())
            raise RuntimeError("authmilter did not start")
        return None

    def _listening(self):
        if self.proc.poll() is not None:
            raise RuntimeError("authmilter exited with %d:\n%s" %
                               (self.proc.returncode, self.log()))
        if self.unix:
            return os.path.exists(self.sockpath)
        return amtest.port_open("127.0.0.1", self.port)

    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def reload(self, policy=None, text=None, wait_for=None, timeout=10):
        """Rewrite the policy (optional), send SIGHUP, wait for the log line."""
        if policy is not None or text is not None:
            self.write_policy(policy, text)
        mark = len(self.log())
        self.proc.send_signal(signal.SIGHUP)
        pattern = wait_for or ("policy reloaded", "reload failed")
        if isinstance(pattern, str):
            pattern = (pattern,)
        return amtest.wait_for(
            lambda: any(p in self.log()[mark:] for p in pattern), timeout)

    def log(self):
        try:
            with open(self.logpath, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        if self.proc is None:
            return None
        rc = amtest.stop_process(self.proc, signal.SIGTERM, 40)
        self.logf.close()
        return rc


def check(t, policy_path):
    """authmilter -n -c FILE: (exit code, output)."""
    p = subprocess.run([amtest.daemon_path(), "-n", "-c", policy_path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")
