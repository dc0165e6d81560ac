#!/usr/bin/python3
# Hostile mail through the real daemon: every case of t/vectors/hostile
# (the committed ones and those t/vectors/hostile/generate writes now),
# each checked against its "expect" file (see t/vectors/hostile/README).
# Whatever the case, the daemon answers within the case's deadline, stays
# up, reports no pass the case forbids, and its log holds no sanitizer
# report.
import json
import os
import re
import shlex
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import fakedns
import mtc

t = amtest.Tap()
try:
    import authres
    import dkim  # noqa: F401 (the generator signs with it)
except ImportError as e:
    t.skip_all("python3-authres and python3-dkim are needed: %s" % e)
HOSTILE = amtest.src("t", "vectors", "hostile")
tmp = amtest.tmpdir(t)
gen = os.path.join(tmp, "generated")
subprocess.run([sys.executable, os.path.join(HOSTILE, "generate"), gen], check=True)


def case_dirs(top):
    return [os.path.join(top, c) for c in sorted(os.listdir(top))
            if os.path.isfile(os.path.join(top, c, "message"))]


cases = case_dirs(HOSTILE) + case_dirs(gen)
t.ok(len(cases) >= 40, "%d hostile cases (at least 40)" % len(cases))

with open(amtest.src("t", "data", "keys", "rsa2048.dns")) as f:
    KEYTXT = f.read().strip()


def load_zone(path):
    """A zone file of the cases: {name: [[type, value], ...] or a fault};
    "@rsa2048" stands for the record of t/data/keys/rsa2048-pkcs8.pem."""
    with open(path, encoding="utf-8") as f:
        z = json.load(f)
    out = {}
    for name, v in z.items():
        if isinstance(v, str):
            out[name] = v
            continue
        out[name] = [(typ, KEYTXT if val == "@rsa2048" else
                      tuple(val) if isinstance(val, list) else val) for typ, val in v]
    return out


BASE_ZONE = load_zone(os.path.join(HOSTILE, "zone.json"))
dns = fakedns.FakeDNS(t, ttl=0).start()
dns.set_zone(BASE_ZONE)
UBCONF = dns.client_conf(os.path.join(tmp, "ub.conf"))
DNS = {"servers": [dns.server], "timeout_ms": 1000, "unbound_config": UBCONF}
# The tagging daemon: keys that would refuse the message tag it instead,
# so every result is seen in the A-R.
TAG = {k: "tag" for k in ("dmarc_reject", "dmarc_quarantine", "dmarc_bad_from",
                          "dmarc_temperror")}
tagging = daemon.Daemon(t, {"authserv_id": "mx.test.example", "internal_networks": [],
                            "dns": DNS, "on_error": "accept", "actions": TAG})
tagging.start()
enforcing = daemon.Daemon(t, {"authserv_id": "mx.test.example", "internal_networks": [],
                              "dns": DNS})
enforcing.start()


def parse_ar(r):
    """Our A-R as [(method, result, {ptype.property: value})], or None.
    The SPF result of the HELO identity is method "spf.helo", so that
    "spf" is the MAIL FROM one."""
    v = r.header("Authentication-Results")
    if v is None:
        return None
    h = authres.AuthenticationResultsHeader.parse_value(re.sub(r"\r?\n", "", v))
    out = []
    for res in h.results:
        props = {"%s.%s" % (p.type, p.name): p.value for p in res.properties}
        method = res.method
        if method == "spf" and "smtp.helo" in props:
            method = "spf.helo"
        out.append((method, res.result, props))
    return out


def outcome(r):
    if r.rc == 2 and "error connection closed" in r.text:
        return "closed"
    if r.reply is not None:
        return {"4": "tempfail", "5": "reject"}.get(r.reply[:1], r.reply)
    return r.result


def send(dd, cdir, zone_extra):
    zone = dict(BASE_ZONE)
    zone.update(zone_extra)
    dns.set_zone(zone)
    with open(os.path.join(cdir, "message"), "rb") as f:
        message = f.read()
    with open(os.path.join(cdir, "client")) as f:
        args = shlex.split(f.read())
    return mtc.run(t, dd.socket, message, args + ["-t", "150"], timeout=160)


# Which methods the daemon reports yet (DMARC and ARC are being wired in):
# a control message with an ARC set shows them; a method it does not
# report makes the assertions about it TODO.
ctl = mtc.run(t, tagging.socket, b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.net; "
              b"s=arc; b=dGVzdA==\r\n" + mtc.MESSAGE.encode(), ["-a", "192.0.2.10"])
REPORTED = {m for m, _, _ in (parse_ar(ctl) or [])}
PENDING = {"dmarc", "arc"} - REPORTED
for m in sorted(PENDING):
    t.diag("%s is not reported yet: its assertions are TODO" % m)


class Case:
    def __init__(self, cdir):
        self.dir = cdir
        self.name = os.path.basename(cdir)
        with open(os.path.join(cdir, "expect")) as f:
            self.expect = json.load(f)
        with open(os.path.join(cdir, "source")) as f:
            self.source = f.read().strip()
        dpath = os.path.join(cdir, "dns")
        self.zone = load_zone(dpath) if os.path.exists(dpath) else {}
        self.todo = self.expect.get("todo")
        self.todo_keys = self.expect.get("todo_checks")

    def ok(self, cond, what, method=None, key=None):
        """A check of the case (key: the expectation it checks, None for
        outcome, deadline and liveness); TODO when it is one the case's
        known bug affects, or about a method the daemon does not report
        yet."""
        name = "%s: %s" % (self.name, what)
        if self.todo and key is not None and (self.todo_keys is None or
                                              key in self.todo_keys):
            name += " # TODO " + self.todo
        elif method in PENDING:
            name += " # TODO %s not reported yet" % method
        if not t.ok(cond, name):
            t.diag("source: " + self.source)
        return cond


def check_results(c, res):
    e = c.expect
    for m in e.get("no_pass", []):
        got = [r for meth, r, _ in res if meth == m]
        c.ok("pass" not in got, "no %s=pass (got %s)" % (m, got or "none"), key="no_pass")
    for m, allowed in e.get("results", {}).items():
        got = [r for meth, r, _ in res if meth == m]
        c.ok(got and all(r in allowed for r in got),
             "%s in %s (got %s)" % (m, allowed, got or "none"), m, "results")
    for m, n in e.get("count", {}).items():
        got = sum(1 for meth, _, _ in res if meth == m)
        c.ok(got == n, "%d %s results (got %d)" % (n, m, got), m, "count")
    for m, props in e.get("props", {}).items():
        for prop, allowed in props.items():
            got = [p.get(prop) for meth, r, p in res if meth == m]
            if not got and m in PENDING:
                c.ok(False, "%s %s in %s" % (m, prop, allowed), m, "props")
                continue
            # A result whose property is not in the list is fine only when
            # it is not a pass: never a pass for a foreign identity.
            bad = [(r, p.get(prop)) for meth, r, p in res
                   if meth == m and p.get(prop) not in allowed and r == "pass"]
            c.ok(not bad, "%s passes only for %s %s (got %s)" % (m, prop, allowed, got),
                 key="props")


def daemon_seconds(dd, mark):
    """The time the daemon took for the message, from its log line (ms=,
    MAIL FROM to end of message), or None when it logged none: the wall
    time of mtc is no measure in a sanitizer build, where mtc itself
    slows down with thousands of fields."""
    line = amtest.wait_for(lambda: re.findall(r" ms=(\d+)$", dd.log()[mark:], re.M), 5)
    return int(line[-1]) / 1000.0 if line else None


def run_case(c):
    e = c.expect
    mark = len(tagging.log())
    r = send(tagging, c.dir, c.zone)
    allowed = e.get("outcome", ["accept"])
    got = outcome(r)
    c.ok(got in allowed, "outcome %s in %s" % (got, allowed))
    if got not in allowed:
        t.diag(r.text[-2000:] + r.stderr[-1000:])
    limit = e.get("max_seconds", 5)
    took = daemon_seconds(tagging, mark) if got != "closed" else None
    took = r.seconds if took is None else took
    c.ok(took < limit, "answered in %.2fs (at most %ds; %.2fs with the client)"
         % (took, limit, r.seconds))
    c.ok(tagging.alive(), "daemon alive")
    if "deleted_authres" in e:
        n = sum(1 for name, _ in r.deleted if name.lower() == "authentication-results")
        c.ok(n == e["deleted_authres"], "%d forged A-R deleted (got %d)" % (e["deleted_authres"], n),
             key="deleted_authres")
    for pat in e.get("ar_unlike", []):
        c.ok(re.search(pat, r.authres() or "") is None, "A-R does not match %s" % pat,
             key="ar_unlike")
    if got in ("accept",):
        try:
            res = parse_ar(r)
        except Exception as ex:  # an A-R that is not RFC 8601
            c.ok(False, "A-R parses (%s)" % ex, key="ar")
            t.diag(r.authres())
            return
        c.ok(res is not None, "an A-R", key="ar")
        check_results(c, res or [])
    if "enforce" in e:
        r2 = send(enforcing, c.dir, c.zone)
        c.ok(outcome(r2) in e["enforce"], "default policy: %s in %s" % (outcome(r2), e["enforce"]),
             key="enforce")
        c.ok(enforcing.alive(), "daemon with the default policy alive")


for cdir in cases:
    run_case(Case(cdir))

for dd in (tagging, enforcing):
    t.is_(dd.stop(), 0, "daemon stops cleanly")
    t.unlike(dd.log(), r"ERROR: AddressSanitizer|runtime error:|LeakSanitizer",
             "no sanitizer report")
t.done()
