#!/usr/bin/python3
# DMARC through the real daemon: the scenario table of t/vectors/dmarc
# (scenarios.json, see its README) served by t/lib/fakedns.py, once in
# RFC 9989 mode and once in RFC 7489 mode (with the table's "rfc7489"
# differences); then the local policy around it: enforce false,
# never_reject_domains/networks, the action keys, the log line, and a
# public suffix list that cannot be read.
import json
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import fakedns
import mtc
import signers

t = amtest.Tap()
t.need_tools("dknewkey")
tmp = amtest.tmpdir(t)
key = signers.Key(t, tmp, "sel", "rsa")
with open(amtest.src("t", "vectors", "dmarc", "scenarios.json"), encoding="utf-8") as f:
    table = json.load(f)
PSL = amtest.src("t", "vectors", "dmarc", "psl.dat")

zone = {}
for name, v in table["zone"].items():
    zone[name] = v if isinstance(v, str) else [tuple(rr) for rr in v]
for case in table["cases"]:
    for d in case.get("dkim", []):
        zone.setdefault("sel._domainkey." + d, [("TXT", key.txt)])
dns = fakedns.FakeDNS(t, ttl=0).start()
dns.set_zone(zone)
UBCONF = dns.client_conf(os.path.join(tmp, "ub.conf"))


def policy(mode="rfc9989", actions=None, on_error=None, **dmarc):
    dm = {"mode": mode}
    if mode == "rfc7489":
        dm["psl_file"] = PSL
    dm.update(dmarc)
    p = {"authserv_id": "mx.test.example", "internal_networks": [],
         "dns": {"servers": [dns.server], "timeout_ms": 700, "unbound_config": UBCONF},
         "verify": {"iprev": {"enabled": False}, "dmarc": dm}}
    if actions:
        p["actions"] = actions
    if on_error:
        p["on_error"] = on_error
    return p


def message(case):
    head = "".join("From: %s\r\n" % v for v in case["from"])
    msg = (head + "To: rcpt@example.net\r\nSubject: dmarc\r\n"
           "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
           "Message-ID: <dmarc@test.example>\r\n\r\nHello.\r\n").encode()
    for d in case.get("dkim", []):
        msg = signers.dkimpy(msg, key, "sel", d)
    if case.get("dkim_break"):
        msg = msg.replace(b"Hello.", b"Hello!")
    return msg


def send(d, case):
    args = ["-a", "192.0.2.1", "-f", case["mailfrom"], "-H", case.get("helo", "client.example")]
    return mtc.run(t, d.socket, message(case), args, timeout=30)


RESINFO = re.compile(r'(?:^|;\s*)dmarc=(\w+)(?: \(((?:[^()\\]|\\.)*)\))?'
                     r'(?: reason="((?:[^"\\]|\\.)*)")?((?: [a-z]+\.[a-z-]+=[^\s;]+)*)')


def dmarc_of(r):
    """The dmarc resinfo of our A-R: dict of result, comment, reason,
    header.from, policy.dmarc (None when absent)."""
    ar = r.authres() or ""
    m = RESINFO.search(ar)
    if m is None:
        return None, ar
    props = dict(p.split("=", 1) for p in m.group(4).split())
    return {"result": m.group(1), "comment": m.group(2), "reason": m.group(3),
            "header_from": props.get("header.from"),
            "policy": props.get("policy.dmarc")}, ar


def action_of(r):
    if r.quarantine is not None:
        return "quarantine"
    if r.reply is not None:
        return {"5": "reject", "4": "tempfail"}.get(r.reply[:1], r.reply)
    return r.result


def matches(pattern, got):
    if pattern is None:
        return got is None
    return got is not None and re.search(pattern, got) is not None


KEYS = ("dmarc_reject", "dmarc_quarantine", "dmarc_bad_from", "dmarc_temperror",
        "dmarc_permerror", "arc_override")


def want_key(want):
    """The action key the expected outcome fires (None: none)."""
    if want["result"] == "permerror":
        return "dmarc_bad_from" if want.get("header_from") is None else "dmarc_permerror"
    return {"reject": "dmarc_reject", "quarantine": "dmarc_quarantine",
            "tempfail": "dmarc_temperror"}.get(want["action"]) if want["result"] != "pass" else None


def check(mode, tagging, enforcing, case):
    """tagging: a daemon whose DMARC keys all "tag" (the A-R and the key
    that fired are seen even when the real action would reject);
    enforcing: one with the default actions."""
    want = dict(case["want"])
    section = case["section"]
    if mode == "rfc7489":
        over = case.get("rfc7489", {})
        want.update({k: v for k, v in over.items() if k != "section"})
        section = over.get("section", section)
        for k in ("queried", "not_queried"):
            if k in over:
                case = dict(case, **{k: over[k]})
    label = "[%s] %s (%s)" % (mode, case["name"], section)
    del dns.queries[:]
    r = send(tagging, case)
    names = {n for n, typ in dns.queries if typ == "TXT"}
    got, ar = dmarc_of(r)
    if got is None:
        t.ok(False, label + ": a dmarc result")
        t.diag(r.text)
        return
    good = all(got[k] == want.get(k) for k in ("result", "header_from", "policy"))
    for k in ("comment", "reason"):
        if k in want:
            good = good and matches(want[k], got[k])
    t.ok(good, "%s: dmarc=%s header.from=%s policy.dmarc=%s" %
         (label, want["result"], want.get("header_from"), want.get("policy")))
    if not good:
        t.diag("got: %r\nwant: %r\nA-R: %s" % (got, want, ar))
    tags = [k.strip() for k in (r.header("X-Authmilter-Tag") or "").split(",")]
    t.is_([k for k in tags if k in KEYS], [want_key(want)] if want_key(want) else [],
          label + ": action key %s" % want_key(want))
    for n in case.get("queried", []):
        t.ok(n in names, label + ": queried " + n)
    for n in case.get("not_queried", []):
        t.ok(n not in names, label + ": did not query " + n)
    r = send(enforcing, case)
    t.is_(action_of(r), want["action"], label + ": " + want["action"])
    if "reply" in want:
        t.like(r.reply or "", want["reply"], label + ": the reply")


for mode in ("rfc9989", "rfc7489"):
    tagging = daemon.Daemon(t, policy(mode, actions={k: "tag" for k in KEYS}))
    tagging.start()
    enforcing = daemon.Daemon(t, policy(mode))
    enforcing.start()
    for case in table["cases"]:
        check(mode, tagging, enforcing, case)
    for d in (tagging, enforcing):
        t.ok(d.alive(), "[%s] daemon alive after the table" % mode)
        log = d.log()
        t.is_(d.stop(), 0, "[%s] daemon stops cleanly" % mode)
        t.unlike(log, r"AddressSanitizer|runtime error|LeakSanitizer",
                 "[%s] no sanitizer report" % mode)

FAIL = next(c for c in table["cases"] if c["from"] == ["a@fail.example"])
QUAR = next(c for c in table["cases"] if c["from"] == ["a@x.y.org1.example"])
SLOW = next(c for c in table["cases"] if c["from"] == ["a@slow.example"])


def one(pol, case):
    d = daemon.Daemon(t, pol)
    d.start()
    r = send(d, case)
    got, ar = dmarc_of(r)
    log = d.log()
    d.stop()
    return r, got or {}, log


r, got, log = one(policy(enforce=False), FAIL)
t.is_(action_of(r), "accept", "enforce false: p=reject failing mail is accepted")
t.is_((got.get("result"), got.get("policy")), ("fail", "reject"),
      "enforce false: still dmarc=fail policy.dmarc=reject")
t.like(got.get("reason") or "", r"policy override: report only", "enforce false: reason says report only")
t.like(log, r"dmarc=fail .*dmarc\.from=fail\.example dmarc\.policy=reject "
       r"dmarc\.policy_domain=fail\.example dmarc\.org=fail\.example "
       r"dmarc\.aligned=none dmarc\.disposition=none", "the log line carries the DMARC data")

r, got, log = one(policy(never_reject_domains=["fail.example"]), FAIL)
t.is_(action_of(r), "accept", "never_reject_domains: accepted")
t.like(got.get("reason") or "", r"never_reject_domains", "never_reject_domains: in the reason")
r, got, log = one(policy(never_reject_networks=["192.0.2.0/24"]), FAIL)
t.is_(action_of(r), "accept", "never_reject_networks: accepted")
t.like(got.get("reason") or "", r"never_reject_networks", "never_reject_networks: in the reason")
r, got, log = one(policy(never_reject_networks=["198.51.100.0/24"]), FAIL)
t.is_(action_of(r), "reject", "never_reject_networks elsewhere: still rejected")

r, got, log = one(policy(actions={"dmarc_quarantine": "tag"}), QUAR)
t.is_(action_of(r), "accept", "dmarc_quarantine=tag: not quarantined")
t.like(r.header("X-Authmilter-Tag") or "", r"dmarc_quarantine", "dmarc_quarantine=tag: tagged")
r, got, log = one(policy(actions={"dmarc_reject": "quarantine"}), FAIL)
t.is_(action_of(r), "quarantine", "dmarc_reject=quarantine: quarantined")
t.like(r.quarantine or "", r"DMARC policy of fail\.example: reject", "the quarantine reason names the policy")
r, got, log = one(policy(on_error="accept"), SLOW)
t.is_(action_of(r), "accept", "dmarc_temperror inherits on_error=accept")
r, got, log = one(policy(actions={"dmarc_temperror": "reject"}), SLOW)
t.is_(action_of(r), "reject", "dmarc_temperror=reject wins over on_error")
r, got, log = one(policy(enabled=False), FAIL)
t.is_(got.get("result"), None, "verify.dmarc.enabled false: no dmarc result")
t.is_(action_of(r), "accept", "verify.dmarc.enabled false: accepted")

# Outbound (internal) mail gets no DMARC.
d = daemon.Daemon(t, dict(policy(), internal_networks=["192.0.2.0/24"]))
d.start()
r = send(d, FAIL)
t.is_(dmarc_of(r)[0], None, "outbound mail: no dmarc result")
d.stop()

# A public suffix list that cannot be read is a load error naming it.
d = daemon.Daemon(t, policy("rfc7489", psl_file=os.path.join(tmp, "absent.dat")))
rc, out = daemon.check(t, d.policy_path)
t.is_(rc, 1, "-n: an unreadable psl_file fails the policy")
t.like(out, r"verify\.dmarc\.psl_file: cannot read \".*absent\.dat\"", "-n names the file")
with open(os.path.join(tmp, "bad.dat"), "w") as f:
    f.write("example\nexa mple\n*.*.x\n")
d = daemon.Daemon(t, policy("rfc7489", psl_file=os.path.join(tmp, "bad.dat")))
rc, out = daemon.check(t, d.policy_path)
t.like(out, r"bad\.dat:3: \"\*\.\*\.x\" is not a public suffix rule", "-n: a bad rule names file and line")
t.done()
