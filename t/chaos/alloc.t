#!/usr/bin/python3
# Allocation-failure injection: make the Nth allocation of one message's
# processing fail, for every N up to the number of allocations a message
# makes, and check that every run ends with a tempfail or the result of
# the run that did not fail: never a crash, a hang or a different pass,
# the daemon keeps working afterwards, and (ASan build) nothing leaks.
#
# How: t/chaos/failmalloc.c, built here with the system cc, is preloaded
# into the daemon.  The test opens a milter session (negotiate, connect,
# helo: not counted), then SIGUSR1 opens the counting window and tells it
# N (from a control file); MAIL FROM to end of message and the session's
# close run inside the window; SIGUSR2 closes it and reports how many
# allocations the window saw.  The daemon itself knows nothing of this.
# Allocations of every thread count (the resolver's too), so N is not
# exactly reproducible from run to run; the failed call's stack is.
#
# Scenarios: an inbound message with a valid DKIM signature, SPF and DMARC
# records (verified; ARC-sealed once sealing is wired in: arc_seal is
# configured) and an outbound one from an internal client (DKIM-signed,
# the signature checked with dkimpy).  DNS records have TTL 0 so that every
# message goes through the resolver and the key parser, not a cache.
#
# Each failed run is classified: ok (4xx, or the baseline's result),
# hangup (the allocation failed inside libmilter, which drops the
# connection: the MTA applies its milter_default_action), degraded (a
# method result changed, no new pass), no-authres, bad-signature,
# false-pass, crash, wedged (the next message without a failure does not
# get the baseline result; the daemon is then restarted), other.
#
# Sizes: values of N run coarse to fine within CHAOS_SECONDS per scenario
# (120), so CI samples the whole message; CHAOS_SECONDS=3600 runs every N.
# By hand: CHAOS_SCENARIOS=inbound,outbound, CHAOS_FIRST_N/CHAOS_MAX_N
# (a range in order), CHAOS_REPEAT (runs per N), CHAOS_VERBOSE=1 (a line
# per run, known bugs too), CHAOS_GDB=FILE (gdb attached, its backtrace of
# a crash in FILE).
#
# ASan build: the preload goes first and forwards to ASan's allocator
# (ASAN_OPTIONS verify_asan_link_order=0); LeakSanitizer reports when the
# daemon stops at the end of each scenario (a daemon killed as wedged is
# not checked).
#
# Known bugs found here are listed in KNOWN: a run that shows one is
# counted and reported as a TODO failure, so the suite stays green until
# the owner fixes it.
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "load"))
import amtest
import daemon
import loadgen
import signers
import world

# Known bugs: (category, regex on the symbolized stack of the failed
# allocation or None for any) -> the bug.  N shifts whenever the code
# changes, so bugs are recognised by what happened and where, not by N.
KNOWN = [
    ("crash", r"libunbound[\s\S]*event_base_loop",
     "libunbound (third party): an allocation failure in its resolver "
     "thread crashes it (SIGSEGV inside libunbound)"),
    ("wedged", r"libunbound",
     "libunbound (third party) wedges after an allocation failure in its "
     "resolver thread: later lookups time out and ub_ctx_delete() blocks "
     "for ever (so SIGTERM hangs); dns.c could replace a resolver that "
     "stops answering and bound its wait at stop"),
    ("degraded", r"libcrypto",
     "OpenSSL 3.0 (third party): its key decoders drop the allocation "
     "failure from the error queue, so a key that could not be decoded "
     "for lack of memory reads as 'bad RSA key' (dkim=permerror)"),
    ("degraded", r"libunbound|libevent",
     "libunbound (third party) answers an allocation failure in its "
     "resolver as SERVFAIL or 'syntax error': a temperror result, not "
     "on_error"),
]

MAX_N = int(os.environ.get("CHAOS_MAX_N", "3000"))
FIRST_N = int(os.environ.get("CHAOS_FIRST_N", "1"))
ONLY = os.environ.get("CHAOS_SCENARIOS", "inbound,outbound").split(",")
VERBOSE = os.environ.get("CHAOS_VERBOSE") == "1"
REPEAT = int(os.environ.get("CHAOS_REPEAT", "1"))  # runs of each N
SECONDS = float(os.environ.get("CHAOS_SECONDS", "120"))
TAIL = 3  # values of N past the baseline's count

t = amtest.Tap()
t.need_tools("unbound", "dknewkey", "cc", "addr2line")
tmp = amtest.tmpdir(t, "chaos-")

so = os.path.join(tmp, "failmalloc.so")
cc = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-g", "-o", so,
                     os.path.join(HERE, "failmalloc.c"), "-ldl"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
if cc.returncode != 0:
    t.diag(cc.stdout.decode(errors="replace"))
    t.bail("cannot build failmalloc.so with cc")

ldd = subprocess.run(["ldd", amtest.daemon_path()], stdout=subprocess.PIPE)
ASAN = b"libasan" in ldd.stdout

inkey = signers.Key(t, tmp, "inbound", "rsa")
outkey = signers.Key(t, tmp, "outbound", "rsa")
arckey = signers.Key(t, tmp, "arc", "rsa")
w = world.start(t, records=[
    inkey.zone_line("s1", "example.com").replace(" 300 ", " 0 "),
    outkey.zone_line("out", "example.org").replace(" 300 ", " 0 "),
    'example.com. 0 IN TXT "v=spf1 ip4:127.0.0.5 -all"',
    '_dmarc.example.com. 0 IN TXT "v=DMARC1; p=reject"',
])
policy = w.policy(
    sign={"keys": [{"domain": "example.org", "selector": "out",
                    "algorithm": "rsa-sha256", "key_file": outkey.path}]},
    arc_seal={"domain": "example.net", "selector": "arc",
              "key_file": arckey.path})

BODY = b"".join(b"Line %d of the body, long enough to be hashed.\r\n" % i
                for i in range(40))
INBOUND = signers.dkimpy(
    b"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.net>\r\n"
    b"Subject: chaos\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <chaos-in@example.com>\r\n\r\n" + BODY,
    inkey, "s1", "example.com")
OUTBOUND = (b"From: Carol <carol@example.org>\r\nTo: Dan <dan@example.net>\r\n"
            b"Subject: chaos out\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
            b"Message-ID: <chaos-out@example.org>\r\n\r\n" + BODY)
SCENARIOS = [
    ("inbound", loadgen.Message(INBOUND, addr="127.0.0.5",
                                mail_from="alice@example.com")),
    ("outbound", loadgen.Message(OUTBOUND, addr="127.0.0.1",
                                 mail_from="carol@example.org")),
]

SEALS = ("dkim-signature", "arc-seal", "arc-message-signature")


def normal(mods):
    """The modifications with what changes from run to run (the time in
    t= and x=, and so b=) masked."""
    out = []
    for cmd, data in mods:
        text = data.decode(errors="replace")
        if any(s in text.lower() for s in SEALS):
            text = re.sub(r"\b([tbx])=[^;]*", r"\1=*", text)
        out.append((cmd.decode(), text))
    return out


def signature_verifies(o, msg):
    """Whether an outbound DKIM-Signature verifies (dkimpy, key given)."""
    import dkim
    sig = o.header("DKIM-Signature")
    if sig is None:
        return True
    txt = outkey.txt.encode()
    whole = b"DKIM-Signature:" + sig.encode().replace(b"\n", b"\r\n") + \
        b"\r\n" + msg
    ok = dkim.verify(whole, dnsfunc=lambda name, timeout=5: txt)
    if not ok:
        t.diag("signature that does not verify: %r" % sig)
    return ok


class Injector:
    """The daemon with failmalloc preloaded, and the window's controls."""

    def __init__(self):
        self.ctl = os.path.join(tmp, "failmalloc.ctl")
        self.report = os.path.join(tmp, "failmalloc.log")
        self.d = None
        self.start()

    def start(self):
        env = {"LD_PRELOAD": so, "FAILMALLOC_CTL": self.ctl,
               "FAILMALLOC_LOG": self.report}
        if ASAN:
            # The preload's constructor loads libgcc_s (for backtrace())
            # through dlopen, which keeps a block LeakSanitizer reports.
            supp = os.path.join(tmp, "lsan.supp")
            with open(supp, "w") as f:
                f.write("leak:dl_open_worker_begin\n")
            env["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                                   ":verify_asan_link_order=0:detect_leaks=1")
            env["LSAN_OPTIONS"] = "suppressions=" + supp
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.d = daemon.Daemon(t, policy)
            self.d.start()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.logmark = 0
        if os.environ.get("CHAOS_GDB"):
            # By hand: gdb's view of a crash goes to CHAOS_GDB (a file).
            self.gdb = subprocess.Popen(
                ["gdb", "-p", str(self.d.pid()), "-batch", "-nx",
                 "-ex", "handle SIGUSR1 SIGUSR2 SIGPIPE SIGHUP SIGTERM "
                 "nostop noprint pass", "-ex", "continue",
                 "-ex", "thread apply all bt"],
                stdin=subprocess.DEVNULL, stdout=open(
                    os.environ["CHAOS_GDB"], "a"), stderr=subprocess.STDOUT)
            time.sleep(3)

    def report_text(self):
        try:
            with open(self.report, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    async def signal(self, sig, pattern):
        mark = len(self.report_text())
        os.kill(self.d.pid(), sig)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            m = re.search(pattern, self.report_text()[mark:])
            if m:
                return m
            await asyncio.sleep(0.001)
        return None

    def failure_stack(self, n):
        text = self.report_text()
        i = text.rfind("fail %d\n" % n)
        if i < 0:
            return ""
        j = text.find("end\n", i)
        return text[i:j]

    def new_log(self):
        """What the daemon logged since the last call."""
        log = self.d.log()
        out = log[self.logmark:]
        self.logmark = len(log)
        return out


async def run_once(inj, msg, n):
    """One message with the Nth allocation failing: (outcome, count, failed)."""
    with open(inj.ctl, "w") as f:
        f.write("%d\n" % n)
    s = None
    try:
        s = await loadgen.Session.open(inj.d.socket, timeout=20)
        await s.negotiate()
        await s.connect(msg.addr)
        await s.helo()
        if await inj.signal(signal.SIGUSR1, r"armed %d\n" % n) is None:
            return loadgen.Outcome("error", detail="window did not open"), 0, 0
        o = await s.transaction(msg)
        await s.end_message()
        await s.quit()
    except loadgen.Closed:
        o = loadgen.Outcome("closed")
    except asyncio.TimeoutError:
        o = loadgen.Outcome("timeout")
    except loadgen.ProtocolError as e:
        o = loadgen.Outcome("error", detail=str(e))
    finally:
        if s is not None:
            s.close()
    m = None
    if inj.d.alive():
        m = await inj.signal(signal.SIGUSR2, r"disarmed (\d+) (\d)\n")
    if m is None:
        return o, 0, 0
    return o, int(m.group(1)), int(m.group(2))


def symbolize(stack):
    """The failmalloc stack with the daemon's own frames named
    (function file:line, by addr2line)."""
    out = []
    for line in stack.splitlines():
        m = re.match(r"(.*/authmilter)\(\+(0x[0-9a-f]+)\)", line)
        if m:
            p = subprocess.run(["addr2line", "-f", "-s", "-e", m.group(1),
                                "%#x" % (int(m.group(2), 16) - 1)],
                               stdout=subprocess.PIPE)
            out.append(" ".join(p.stdout.decode().split()))
        else:
            out.append(line.split("/")[-1])
    return "\n".join(out)


def ar_entries(o):
    v = o.header("Authentication-Results") or ""
    return [re.sub(r"\s+", " ", x).strip() for x in v.split(";")[1:]]


def classify(name, o, base, msg, stack):
    """(category, why): ok, hangup (libmilter dropped the connection:
    the MTA applies its default action), degraded, no-authres,
    false-pass, other."""
    if o.kind in ("tempfail", "reply4"):
        return "ok", None
    if o.kind == "closed":
        first = [x for x in stack.splitlines()[1:]
                 if "failmalloc" not in x and "libasan" not in x]
        if first and "libmilter" in first[0]:
            return "hangup", None
        return "other", "the milter hung up"
    if o.kind != base.kind or o.reply != base.reply:
        return "other", "got %s %s, want tempfail or %s" % (
            o.kind, o.reply or "", base.kind)
    if normal(o.mods) == normal(base.mods):
        if name == "outbound" and not signature_verifies(o, msg):
            return "bad-signature", "the DKIM-Signature made does not verify"
        return "ok", None
    if o.header("Authentication-Results") is None and \
            base.header("Authentication-Results") is not None:
        return "no-authres", "accepted without Authentication-Results"
    new = [e for e in ar_entries(o) if e not in ar_entries(base)]
    if [e for e in new if re.match(r"\w+=pass\b", e)]:
        return "false-pass", "a pass the baseline did not have: %r" % new
    if new or len(ar_entries(o)) != len(ar_entries(base)):
        return "degraded", "accepted with %r" % new
    return "other", "modifications differ: %r" % (normal(o.mods),)


def known(cat, stack):
    for kcat, pattern, bug in KNOWN:
        if kcat == cat and (pattern is None or re.search(pattern, stack)):
            return bug
    return None


CRASH = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|"
                   r"Segmentation|Aborted|assertion", re.I)


def order(count):
    """The values of N to run: every allocation of the baseline and a
    margin (counts vary a little between runs), coarse to fine so that a
    run cut short by the time bound still samples the whole message.
    CHAOS_FIRST_N (by hand) runs CHAOS_FIRST_N..CHAOS_MAX_N in order, each
    CHAOS_REPEAT times."""
    if "CHAOS_FIRST_N" in os.environ:
        return [n for n in range(FIRST_N, MAX_N + 1) for _ in range(REPEAT)]
    top = min(MAX_N, count + count // 10 + TAIL)
    out, seen = [], set()
    step = 1
    while step * 2 <= top:
        step *= 2
    while step >= 1:
        for n in range(step, top + 1, step):
            if n not in seen:
                seen.add(n)
                out.append(n)
        step //= 2
    return out


def same(o, base):
    return o.kind == base.kind and normal(o.mods) == normal(base.mods)


def restart(inj, loop, msg):
    """A fresh daemon (a wedged one may never stop: SIGKILL)."""
    if inj.d.alive():
        inj.d.proc.kill()
    inj.d.stop()
    inj.start()
    for _ in range(2):
        loop.run_until_complete(run_once(inj, msg, 0))


def scenario(name, msg, raw):
    inj = Injector()
    loop = asyncio.new_event_loop()
    # Warm up (first-use allocations: key file pages, resolver state), then
    # the baseline, counted but not failed.
    counts = []
    for _ in range(3):
        base, c, _ = loop.run_until_complete(run_once(inj, msg, 0))
        counts.append(c)
    count = max(counts[1:])
    t.ok(base.kind in loadgen.DEFINITE and count > 0,
         "%s: baseline %s, %d allocations in the window" %
         (name, base.kind, count))
    t.ok(base.header("Authentication-Results") is not None,
         "%s: baseline has an Authentication-Results field" % name)
    kinds, cats, bad, done = {}, {}, [], set()
    end = time.monotonic() + SECONDS
    for n in order(count):
        if time.monotonic() >= end:
            break
        done.add(n)
        o, c, failed = loop.run_until_complete(run_once(inj, msg, n))
        if VERBOSE:
            t.diag("N=%d %s %s at %s count=%d failed=%d %s" % (
                n, o.kind, o.reply, o.stage, c, failed,
                o.header("Authentication-Results")))
        log = inj.new_log()
        stack = symbolize(inj.failure_stack(n))
        if not inj.d.alive():
            cat, why = "crash", "daemon died (exit %s)" % inj.d.proc.returncode
        elif CRASH.search(log):
            cat, why = "crash", "sanitizer or crash report in the log"
        else:
            # Without a failure in its window a message can still feel an
            # earlier one (a lookup that failed and is still cached, ...).
            if failed:
                kinds[o.kind] = kinds.get(o.kind, 0) + 1
            cat, why = classify(name, o, base, raw, stack)
        if cat != "crash" and (failed == 0 or not same(o, base)):
            probe = loop.run_until_complete(run_once(inj, msg, 0))[0]
            if not same(probe, base):
                cat, why = "wedged", ("the next message without a failure "
                                      "got %s %s" % (probe.kind, ar_entries(
                                          probe)))
        cats[cat] = cats.get(cat, 0) + 1
        if why is None:
            continue
        bug = known(cat, stack)
        if bug is None or VERBOSE:
            t.ok(bug is not None, "%s: N=%d: %s: %s%s" % (
                name, n, cat, why, " # TODO " + bug if bug else ""))
            t.diag(stack)
            t.diag(log[-3000:])
        if bug is None:
            bad.append(n)
        else:
            todo.setdefault(bug, []).append("%s N=%d" % (name, n))
        if cat in ("crash", "wedged"):
            restart(inj, loop, msg)
    want = len(set(order(count)))
    t.diag("%s: %d allocations per message; %d of %d values of N ran; "
           "replies to the failed runs: %r; categories: %r" % (
               name, count, len(done), want, kinds, cats))
    t.ok(len(done) > 0, "%s: %d of %d values of N ran (%s)" % (
        name, len(done), want, "all" if len(done) == want else
        "bounded by CHAOS_SECONDS, coarse to fine"))
    t.ok(not bad,
         "%s: every run ended with a tempfail or the baseline result" % name)
    t.ok(inj.d.alive(), "%s: the daemon is alive after the runs" % name)
    after, _, _ = loop.run_until_complete(run_once(inj, msg, 0))
    t.ok(same(after, base), "%s: a message after the runs gets the baseline "
         "result" % name)
    loop.close()
    inj.d.proc.send_signal(signal.SIGTERM)
    try:
        inj.d.proc.wait(35)
    except subprocess.TimeoutExpired:
        t.diag("the daemon does not stop; its threads:")
        if shutil.which("gdb"):
            t.diag(subprocess.run(
                ["gdb", "-p", str(inj.d.pid()), "-batch", "-nx", "-ex",
                 "thread apply all bt"], stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT).stdout.decode(
                    errors="replace")[-20000:])
    rc = inj.d.stop()
    log = inj.d.log()
    t.is_(rc, 0, "%s: the daemon stops cleanly" % name)
    t.unlike(log, r"LeakSanitizer|AddressSanitizer|runtime error:",
             "%s: no sanitizer report%s" % (name, " (ASan build: leaks "
                                            "checked)" if ASAN else ""))
    if ASAN and "Sanitizer" in log:
        t.diag(log[log.find("Sanitizer") - 200:][:6000])


t.diag("ASan build" if ASAN else "normal build")
todo = {}
for name, msg in SCENARIOS:
    if name in ONLY:
        scenario(name, msg, OUTBOUND if name == "outbound" else INBOUND)
for bug, where in todo.items():
    t.ok(False, "known bug at %d N: %s # TODO %s" % (len(where), ", ".join(
        where[:12]) + (" ..." if len(where) > 12 else ""), bug))
t.done()
