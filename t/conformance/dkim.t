#!/usr/bin/python3
# DKIM verification conformance: the dkimpy and Mail::DKIM corpora of the
# conformance directory, each message sent through the real daemon (mtc)
# with the suite's DNS data served by t/lib/fakedns.py (which can also
# time out and SERVFAIL, as Mail::DKIM's fake DNS asks).  Prints the pass
# count per suite and lists every failure.
#
# Expectations: dkimpy's manifest gives one verdict per signature.
# Mail::DKIM's gives one per message (the best signature): pass / fail /
# invalid (our permerror, neutral, policy or temperror) / none; cases marked
# rfc8301_affected (rsa-sha1 or an RSA key under 1024 bits) must NOT pass
# (RFC 8301), and DomainKeys-only messages must give no dkim result.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import fakedns
import mtc

t = amtest.Tap()
base = amtest.CONFORMANCE
if not os.path.isdir(os.path.join(base, "dkim-dkimpy")):
    t.skip_all("no conformance directory at %s (set AUTHMILTER_CONFORMANCE)" % base)
try:
    import yaml
except ImportError:
    if amtest.IN_CI:
        t.bail("python3-yaml is missing")
    t.skip_all("python3-yaml is missing")

dns = fakedns.FakeDNS(t, ttl=0).start()
tmp = amtest.tmpdir(t)
policy = {
    "authserv_id": "mx.test.example",
    "internal_networks": [],
    "dns": {"servers": [dns.server], "timeout_ms": 1500,
            "unbound_config": dns.client_conf(os.path.join(tmp, "ub.conf"))},
    "verify": {"spf": {"enabled": False}, "iprev": {"enabled": False},
               "dkim": {"max_signatures": 50}},
}
d = daemon.Daemon(t, policy)
d.start()


# Where we differ from a suite on purpose, with the rule we follow.  These
# run as TAP TODO tests: still reported (and listed in t/conformance/README),
# but a deliberate, RFC-backed difference does not fail the run.
KNOWN = {
    "corpus/mine_ietf01_3.txt": "pre-RFC (draft -01) signature without v=; "
                                "RFC 6376 section 3.5 makes v= REQUIRED",
    "corpus/mine_ietf01_4.txt": "pre-RFC (draft -01) signature without v=; "
                                "RFC 6376 section 3.5 makes v= REQUIRED",
}


def dkim_results(msg):
    r = mtc.run(t, d.socket, msg, ["-a", "192.0.2.1"])
    ar = r.authres() or ""
    return re.findall(r"\bdkim=(\w+)", ar), ar


def overall(results):
    if not results:
        return "none"
    for want in ("pass", "fail"):
        if want in results:
            return want
    return "invalid"


def report(suite, cases, failures):
    t.diag("%s: %d/%d passed" % (suite, cases - len(failures), cases))
    for f in failures:
        t.diag("  FAILED %s" % f)


# --- dkimpy ---------------------------------------------------------------
m = yaml.safe_load(open(os.path.join(base, "dkim-dkimpy", "manifest.yml")))
failures = []
for case in m["verify_cases"]:
    dns.set_zone({k: [("TXT", v)] for k, v in case["dns"].items()})
    with open(os.path.join(base, "dkim-dkimpy", case["message"]), "rb") as f:
        got, ar = dkim_results(f.read())
    ok = t.is_(got, case["expect"], "dkimpy %s" % case["id"])
    if not ok:
        failures.append("%s: want %s, got %s (%s)" % (case["id"], case["expect"], got, ar))
report("dkimpy", len(m["verify_cases"]), failures)


# --- Mail::DKIM -----------------------------------------------------------
def fake_dns_zone(path):
    zone = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest == "NXDOMAIN":
            continue  # absent names are NXDOMAIN
        if rest == "~~Query timed out~~":
            zone[name] = "TIMEOUT"
        elif rest == "~~SERVFAIL~~":
            zone[name] = "SERVFAIL"
        else:
            zone[name] = [("TXT", "" if rest == '""' else rest)]
    return zone


md = os.path.join(base, "dkim-mail-dkim")
m = yaml.safe_load(open(os.path.join(md, "manifest.yml")))
dns.set_zone(fake_dns_zone(os.path.join(md, "FAKE_DNS.dat")))
failures = []
affected = 0
for case in m["cases"]:
    with open(os.path.join(md, case["file"]), "rb") as f:
        got_list, ar = dkim_results(f.read())
    got = overall(got_list)
    if case.get("domainkeys_only"):
        want, good = "none", got == "none"
    elif case.get("rfc8301_affected"):
        affected += 1
        want, good = "not pass (RFC 8301)", got != "pass"
    else:
        want, good = case["expect"], got == case["expect"]
    name = "Mail::DKIM %s: %s" % (case["file"], want)
    if case["file"] in KNOWN:
        name += " # TODO deliberate difference: " + KNOWN[case["file"]]
    t.ok(good, name)
    if not good:
        failures.append("%s: want %s, got %s (%s)%s" % (
            case["file"], want, got, ar,
            " [deliberate: %s]" % KNOWN[case["file"]] if case["file"] in KNOWN else ""))
report("Mail::DKIM", len(m["cases"]), failures)
t.diag("Mail::DKIM: %d cases are rfc8301_affected (expected not to pass)" % affected)
t.is_(d.stop(), 0, "daemon stops cleanly")
t.done()
