#!/usr/bin/python3
# The benchmark's load driver (contrib/bench/mbench) and null milter build
# with the system compiler without warnings, and a short bounded run of
# the driver against the daemon gets every message answered with the
# expected Authentication-Results: the benchmark's own checks work.
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
t.need_tools("cc", "pkg-config")
tmp = amtest.tmpdir(t, "mbench-")
bench = amtest.src("contrib", "bench")
flags = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"]
mbench = os.path.join(tmp, "mbench")
cc = subprocess.run(["cc"] + flags + ["-o", mbench] + [
    os.path.join(bench, f) for f in ("mbench.c", "mbench_conn.c",
                                     "mbench_sess.c", "milwire.c",
                                     "milwire_msg.c")],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
t.is_(cc.returncode, 0, "mbench builds with -Wall -Wextra -Werror")
if cc.returncode != 0:
    t.diag(cc.stdout.decode(errors="replace"))
    t.bail("cannot build mbench")
pc = subprocess.run(["pkg-config", "--cflags", "--libs", "milter"],
                    stdout=subprocess.PIPE)
cc = subprocess.run(["cc"] + flags + [
    "-o", os.path.join(tmp, "nullmilter"),
    os.path.join(bench, "nullmilter.c")] + pc.stdout.decode().split() +
    ["-pthread"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
t.is_(cc.returncode, 0, "nullmilter builds with -Wall -Wextra -Werror")
if cc.returncode != 0:
    t.diag(cc.stdout.decode(errors="replace"))

w = world.start(t)
d = daemon.Daemon(t, w.policy())
d.start()
msgdir = os.path.join(tmp, "corpus")
os.mkdir(msgdir)
with open(os.path.join(msgdir, "m.eml"), "w") as f:
    f.write(mtc.MESSAGE)
out = os.path.join(tmp, "out.txt")
p = subprocess.run([mbench, "-p", d.socket, "-c", "4", "-n", "40", "-T", "60",
                    "-a", "127.0.0.5", "-f", "alice@example.com",
                    "-x", "*Authentication-Results*iprev=pass*",
                    "-o", out, msgdir],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   timeout=120)
text = p.stdout.decode(errors="replace")
t.is_(p.returncode, 0, "40 messages over 4 connections, every one accepted "
      "with iprev=pass in its Authentication-Results")
if p.returncode != 0:
    t.diag(text[-3000:])
kv = dict(re.findall(r"(\w+)=(\S+)", text))
t.is_(kv.get("msgs"), "40", "the driver counted 40 messages")
t.is_(kv.get("errors"), "0", "no protocol errors or timeouts")
t.is_(kv.get("verdict_errors"), "0", "no wrong verdicts")
with open(out) as f:
    lines = f.read().splitlines()
t.is_(len(lines), 40, "one outcome line per message")

# The check can fail: a pattern no message matches is a verdict error.
p = subprocess.run([mbench, "-p", d.socket, "-n", "3", "-T", "30",
                    "-a", "127.0.0.5", "-x", "*dkim=pass*", msgdir],
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   timeout=60)
kv = dict(re.findall(r"(\w+)=(\S+)", p.stdout.decode(errors="replace")))
t.ok(p.returncode != 0 and kv.get("verdict_errors") == "3",
     "an unsigned message fails a dkim=pass expectation (exit %d, %s "
     "verdict errors)" % (p.returncode, kv.get("verdict_errors")))
t.is_(d.stop(), 0, "the daemon stops cleanly")
t.done()
