#!/usr/bin/python3
"""pfbench: end to end through a private Postfix on loopback.

smtp-source sends the same DKIM-signed 20 KB message COUNT times over 8
parallel SMTP sessions (one message per session, as inbound mail comes)
to a private Postfix (t/lib/postfix.py) whose queue delivers over SMTP
to an smtp-sink that writes every message to a file.  Twice: without a
milter, then with authmilter as smtpd_milters.  Reports the rate at which
smtpd accepted the mail (smtp-source's wall time) and the rate until the
sink had every message, and checks the Authentication-Results of every
message delivered in the milter run.

Called by bench.py (--postfix) with the running daemons; it can also run
alone inside contrib/bench/run's namespace (it needs the DNS there).
"""

import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "t", "lib"))

import postfix  # noqa: E402  (t/lib)

SESSIONS = 8
WARMUP = 80


class SinkPostfix(postfix.Postfix):
    """t/lib's private Postfix, delivering over SMTP to a sink instead of
    through a pipe (a pipe runs a shell per message, which would cost
    more than the milter being measured)."""

    def __init__(self, ctx, sink_port, milter=None):
        extra = {
            "default_transport": "smtp",
            "relay_transport": "smtp",
            "local_transport": "smtp",
            "virtual_transport": "smtp",
            "relayhost": "[127.0.0.1]:%d" % sink_port,
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_client_message_rate_limit": "0",
            "smtpd_client_connection_count_limit": "0",
            "anvil_rate_time_unit": "60s",
        }
        super().__init__(ctx, milter=milter, main_extra=extra)

    def _master_cf(self):
        return super()._master_cf() + \
            "smtp unix - - n - - smtp\n"


def smtp_sink(ctx, out):
    """smtp-sink on a free port, dumping each message into out/."""
    import bench
    port = bench.free_port()
    os.makedirs(out, exist_ok=True)
    shutil.chown(out, "nobody")
    proc = subprocess.Popen(
        ["smtp-sink", "-u", "nobody", "-d", os.path.join(out, "%H%M%S."),
         "127.0.0.1:%d" % port, "256"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)

    def stop():
        proc.terminate()
        proc.wait(10)
    ctx.cleanup(stop)
    if not bench.wait_port(port, proc):
        raise RuntimeError("smtp-sink did not start")
    return port, stop


def lf_copy(src, dst):
    """smtp-source -F appends CRLF to every line: give it LF lines."""
    with open(src, "rb") as f:
        data = f.read().replace(b"\r\n", b"\n")
    with open(dst, "wb") as f:
        f.write(data)


def source(pf, msgfile, count):
    """smtp-source: seconds to send count messages, and its status."""
    t0 = time.monotonic()
    p = subprocess.run(
        ["smtp-source", "-s", str(SESSIONS), "-m", str(count), "-F", msgfile,
         "-M", "localhost.sender.example", "-f", "bounce@sender.example",
         "-t", "bob@bench.example", "127.0.0.1:%d" % pf.port],
        capture_output=True, text=True, timeout=600)
    return time.monotonic() - t0, p.returncode, p.stderr.strip()


def delivered(out):
    return [os.path.join(out, n) for n in os.listdir(out)
            if not n.startswith(".")]


def wait_all(out, n, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(delivered(out)) >= n:
            return True
        time.sleep(0.05)
    return False


AR_WANT = ("iprev=pass", "spf=pass", "dkim=pass", "dmarc=pass")


def check_ar(path):
    """The message carries our A-R with every method passing."""
    with open(path, "rb") as f:
        head = f.read().split(b"\n\n", 1)[0].decode("utf-8", "replace")
    unfolded = re.sub(r"\r?\n[ \t]+", " ", head)
    for line in unfolded.splitlines():
        if line.lower().startswith("authentication-results:") and \
                "mx.bench.example;" in line:
            return all(w in line for w in AR_WANT)
    return False


def one(ctx, env, label, milter, msgfile, count):
    out = os.path.join(env.work, "sink-" + label)
    sink_port, stop_sink = smtp_sink(ctx, out)
    pf = SinkPostfix(ctx, sink_port, milter=milter)
    pf.start()
    # Warm-up: processes forked, DNS cache filled, milter threads up.
    source(pf, msgfile, WARMUP)
    wait_all(out, WARMUP, 120)
    t0 = time.monotonic()
    secs, rc, err = source(pf, msgfile, count)
    done = wait_all(out, WARMUP + count, 300)
    e2e = time.monotonic() - t0
    files = delivered(out)
    r = {"label": label, "secs": secs, "rate": count / secs,
         "e2e_rate": count / e2e if done else 0.0, "rc": rc, "err": err,
         "delivered": len(files) - WARMUP, "files": files}
    pf.stop()
    stop_sink()
    print("postfix %-10s %5d msgs: smtpd accepted %.1f msgs/s, delivered "
          "%.1f msgs/s (%d delivered%s)" % (
              label, count, r["rate"], r["e2e_rate"], r["delivered"],
              ", smtp-source: " + err if rc else ""), flush=True)
    return r


def run(ctx, env):
    count = 500 if env.args.quick else 2000
    msgfile = os.path.join(env.work, "pf-message.eml")
    lf_copy(os.path.join(env.corpora["rsa-20k"]["dir"], "000.eml"), msgfile)
    plain = one(ctx, env, "no-milter", None, msgfile, count)
    res = {"plain_rate": plain["rate"], "plain_e2e": plain["e2e_rate"],
           "sent": WARMUP + count}
    for name, key in (("authmilter", "milter"), ("authmilter-unix", "unix")):
        d = env.daemons[name]
        r = one(ctx, env, name, d.postfix_sock, msgfile, count)
        checked = sum(1 for f in r["files"] if check_ar(f))
        print("postfix %s: A-R checked on %d of %d messages" % (
            name, checked, res["sent"]), flush=True)
        res.update({key + "_rate": r["rate"], key + "_e2e": r["e2e_rate"],
                    key + "_checked": checked})
    res["checked"] = res["milter_checked"]
    return res
