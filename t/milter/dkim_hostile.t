#!/usr/bin/python3
# Hostile DKIM input through the real daemon: every case gets a definite
# result, never a crash, a hang or a pass it should not get.
import base64
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
rsa = signers.Key(t, tmp, "rsa", "rsa")
dns = fakedns.FakeDNS(t, ttl=0).start()
zone = {
    "rsa._domainkey.example.com": [("TXT", rsa.txt)],
    "big._domainkey.example.com": [("TXT", "v=DKIM1; k=rsa; p=" + "A" * 60000)],
    "badp._domainkey.example.com": [("TXT", "v=DKIM1; k=rsa; p=!!notbase64!!")],
    "slow._domainkey.example.com": "TIMEOUT",
}
dns.set_zone(zone)
policy = {
    "authserv_id": "mx.test.example",
    "internal_networks": [],
    "dns": {"servers": [dns.server], "timeout_ms": 700,
            "unbound_config": dns.client_conf(os.path.join(tmp, "ub.conf"))},
    "verify": {"spf": {"enabled": False}, "iprev": {"enabled": False}},
}
d = daemon.Daemon(t, policy)
d.start()

MSG = (b"From: Alice <alice@example.com>\r\nTo: b@example.net\r\n"
       b"Subject: hostile\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nBody.\r\n")
GOOD = signers.dkimpy(MSG, rsa, "rsa", "example.com")
SIG = GOOD[:GOOD.index(b"\r\nFrom:") + 2]  # the DKIM-Signature field


def run(msg, timeout=20):
    r = mtc.run(t, d.socket, msg, ["-a", "192.0.2.1"], timeout=timeout)
    ar = r.authres() or ""
    return r, re.findall(r"\bdkim=(\w+)", ar), ar


def field(tags):
    return b"DKIM-Signature: " + tags.encode() + b"\r\n"


BASE = ("v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa; "
        "h=from:to:subject; bh=%s; b=%s" % (base64.b64encode(b"x" * 32).decode(),
                                            base64.b64encode(b"y" * 256).decode()))
cases = [
    ("bad base64 in b=", BASE.replace("b=" + BASE.split("b=")[-1], "b=!!!!"), "permerror"),
    ("bad base64 in bh=", BASE.replace("bh=", "bh=%%%"), "permerror"),
    ("bh= of the wrong length", BASE.replace("bh=" + base64.b64encode(b"x" * 32).decode(),
                                             "bh=" + base64.b64encode(b"x" * 20).decode()), "permerror"),
    ("missing d=", BASE.replace("d=example.com; ", ""), "permerror"),
    ("missing h=", BASE.replace("h=from:to:subject; ", ""), "permerror"),
    ("h= without from", BASE.replace("h=from:to:subject", "h=to:subject"), "permerror"),
    ("v=2", BASE.replace("v=1", "v=2"), "permerror"),
    ("duplicate tag", BASE + "; d=example.org", "permerror"),
    ("i= outside d=", BASE + "; i=a@evil.example", "permerror"),
    ("unknown algorithm", BASE.replace("rsa-sha256", "rsa-md5"), "permerror"),
    ("rsa-sha1 (RFC 8301)", BASE.replace("rsa-sha256", "rsa-sha1").replace(
        base64.b64encode(b"x" * 32).decode(), base64.b64encode(b"x" * 20).decode()), "permerror"),
    ("x= before t=", BASE + "; t=2000000000; x=1000000000", "permerror"),
    ("expired x=", BASE + "; t=1000000000; x=1000000100", "permerror"),
    ("t= far in the future", BASE + "; t=9999999999", "permerror"),
    ("huge h= list", BASE.replace("h=from:to:subject", "h=" + ":".join(["x-h%d" % i for i in range(2000)]) + ":from"), "permerror"),
    ("d= with a parenthesis", BASE.replace("d=example.com", "d=example.com(.evil.example"), "permerror"),
    ("key record 60 KiB", BASE.replace("s=rsa", "s=big"), "permerror"),
    ("key with bad base64", BASE.replace("s=rsa", "s=badp"), "permerror"),
    ("key lookup times out", BASE.replace("s=rsa", "s=slow"), "temperror"),
    ("no such key", BASE.replace("s=rsa", "s=none"), "permerror"),
    ("signature does not verify", BASE, "fail"),
    ("empty field", "", "permerror"),
    ("garbage", ";;;===;;;", "permerror"),
]
for name, tags, want in cases:
    r, got, ar = run(field(tags) + MSG)
    t.is_(got, [want], "%s: dkim=%s" % (name, want))
    if got != [want]:
        t.diag(ar)
t.ok(d.alive(), "daemon alive after malformed signatures")

# A 100 KiB signature field.
r, got, ar = run(field(BASE.replace("b=", "b=" + "A" * 100000)) + MSG)
t.is_(got, ["permerror"], "100 KiB DKIM-Signature: permerror")

# 50 signatures: 10 evaluated (the policy default), 40 reported neutral.
r, got, ar = run(GOOD.replace(SIG, SIG * 50, 1))
t.is_(len(got), 50, "50 signatures: 50 results")
t.is_(got[:10], ["pass"] * 10, "the first 10 are verified")
t.is_(set(got[10:]), {"neutral"}, "the other 40 are neutral")
t.like(ar, r'dkim=neutral reason="not evaluated: more than 10 signatures"', "with the reason")
t.ok(r.seconds < 10, "answered in %.1fs" % r.seconds)

# Oversigning beyond the instances present still verifies.
over = signers.dkimpy(MSG, rsa, "rsa", "example.com",
                      headers=["from"] * 5 + ["subject"] * 3 + ["x-absent"] * 4 + ["to", "date"])
r, got, ar = run(over)
t.is_(got, ["pass"], "h= naming fields more often than present: pass")

# NUL bytes and bare CR/LF in the body: a definite result.
r, got, ar = run(GOOD.replace(b"Body.", b"Bo\x00dy.\rx\ny"))
t.is_(got, ["fail"], "NUL and bare CR/LF in the body: fail, no crash")

# A key lookup that times out is bounded by the DNS deadline.
r, got, ar = run(field(BASE.replace("s=rsa", "s=slow")) + MSG)
t.ok(r.seconds < 3, "timeout case answered in %.1fs (deadline 0.7s)" % r.seconds)

t.is_(d.stop(), 0, "daemon stops cleanly")
t.unlike(d.log(), r"AddressSanitizer|runtime error", "no sanitizer report")
t.done()
