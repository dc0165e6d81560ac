#!/usr/bin/python3
# The daemon's contract (DESIGN.md section 5): -n, -V, exit codes, SIGHUP
# reload (a bad file keeps the running policy), SIGTERM.
import os
import re
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import mtc
import world

t = amtest.Tap()
w = world.start(t)
tmp = amtest.tmpdir(t)
binary = amtest.daemon_path()


def write(name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


good = write("good.json", '{"authserv_id": "mx.test.example"}\n')
bad = write("bad.json", '{\n  "on_error": "maybe"\n}\n')

rc, out = daemon.check(t, good)
t.is_((rc, out), (0, "policy OK\n"), "-n on a good file: policy OK, exit 0")
rc, out = daemon.check(t, bad)
t.is_(rc, 1, "-n on a bad file: exit 1")
t.like(out, r"^%s:2:15: on_error: " % re.escape(bad), "-n prints file:line:column: message")
p = subprocess.run([binary, "-n", "-v", "-c", good], stdout=subprocess.PIPE)
t.like(p.stdout.decode(), r'"authserv_id": "mx.test.example"[\s\S]*policy OK\n$',
       "-n -v prints the effective policy, then policy OK")
rc, out = daemon.check(t, os.path.join(tmp, "missing.json"))
t.is_(rc, 1, "-n on a missing file: exit 1")
t.like(out, r"missing\.json", "the message names the file")

p = subprocess.run([binary, "-V"], stdout=subprocess.PIPE)
v = p.stdout.decode()
t.is_(p.returncode, 0, "-V exits 0")
for lib in ("authmilter", "libmilter", "OpenSSL", "jansson", "libunbound"):
    t.like(v, r"(?m)^%s " % lib, "-V names %s" % lib)

p = subprocess.run([binary, "-x"], stderr=subprocess.PIPE)
t.is_(p.returncode, 1, "unknown option: exit 1")
t.like(p.stderr.decode(), r"usage: authmilter", "unknown option: usage")

d = daemon.Daemon(t, policy_text='{"dns": {"timeout_ms": 5}}')
t.is_(d.start(expect_fail=True), 1, "bad policy at start: exit 1")
t.like(d.log(), r"policy\.json:1:\d+: dns\.timeout_ms: ", "bad policy at start: message")

busy = daemon.Daemon(t, w.policy())
busy.start()
d = daemon.Daemon(t, w.policy(), args=["-p", busy.socket])
t.is_(d.start(expect_fail=True), 2, "socket in use: exit 2")

# Reload: a bad file keeps the running policy, a good one replaces it.
d = daemon.Daemon(t, w.policy())
d.start()
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.like(r.authres(), r"^mx\.test\.example; iprev=pass", "before reload: old authserv-id")
t.ok(d.reload(text='{\n  "authserv_id": "x",\n  "verify": {"dkim": {"min_rsa_bits": 512}}\n}\n'),
     "SIGHUP with a broken policy is answered")
t.like(d.log(), r"reload failed, keeping the running policy: \S+policy\.json:3:\d+: "
       r"verify\.dkim\.min_rsa_bits: ", "bad reload: file:line:column in the log")
t.ok(d.alive(), "bad reload: still running")
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.like(r.authres(), r"^mx\.test\.example; iprev=pass", "bad reload: old policy still serves")
t.ok(d.reload(policy=w.policy(authserv_id="new.test.example")), "SIGHUP with a good policy")
t.like(d.log(), r"policy reloaded", "good reload: logged")
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.like(r.authres(), r"^new\.test\.example; iprev=pass", "good reload: new authserv-id in use")
for i in range(10):
    d.reload(policy=w.policy(authserv_id="r%d.test.example" % i) if i % 2 else None,
             text='{' if i % 2 == 0 else None)
t.ok(d.alive(), "ten reloads, good and bad alternating: still running")
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.like(r.authres(), r"^r9\.test\.example; ", "the last good policy serves")
t.is_(d.stop(), 0, "SIGTERM: exit 0")
t.like(d.log(), r"authmilter stopped", "SIGTERM: logged")
t.is_(busy.stop(), 0, "second daemon stops too")
t.done()
