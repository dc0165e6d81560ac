#!/usr/bin/python3
# SPF through a real Postfix: pass, fail, softfail, neutral and none for
# MAIL FROM domains of the test zone, the HELO check, the null sender, a
# record with 11 includes (permerror), a DNS timeout (temperror), the
# Received-SPF field, and a reject on SPF fail that carries the exp= text.
import email
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import postfix
import world

t = amtest.Tap()
t.need_root()
t.need_tools("postfix", "unbound", "saslpasswd2")


def txt(name, value):
    return '%s. 300 IN TXT "%s"' % (name, value)


records = [
    txt("pass.test", "v=spf1 ip4:127.0.0.5 -all"),
    txt("fail.test", "v=spf1 ip4:192.0.2.1 -all exp=why.fail.test"),
    txt("why.fail.test", "%{i} may not send mail for %{d}"),
    txt("soft.test", "v=spf1 ~all"),
    txt("neutral.test", "v=spf1 ?all"),
    "none.test. 300 IN A 192.0.2.9",
    txt("mx.good.test", "v=spf1 a -all"),
    txt("many.test", "v=spf1 " + " ".join("include:i%d.test" % i for i in range(1, 12)) + " -all"),
    txt("slow.example", "v=spf1 include:x.slow.test -all"),
] + [txt("i%d.test" % i, "v=spf1 ?all") for i in range(1, 12)]
# A "deny" zone drops every query: a DNS server that never answers.
w = world.start(t, records, timeout_ms=400, extra='local-zone: "slow.test." deny')
d = daemon.Daemon(t, w.policy(verify={"spf": {"received_spf": True}}))
d.start()
pf = postfix.Postfix(t, milter=d.postfix_socket)
pf.start()

MSG = (b"From: someone@example.org\r\nTo: b@example.net\r\nSubject: spf\r\n"
       b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n")


def deliver(mail_from, helo="client.example"):
    code, text = pf.send(MSG, mail_from=mail_from, helo=helo, source_ip="127.0.0.5")
    if code != 250:
        return None, None, (code, text)
    got = pf.wait_delivered()
    m = email.message_from_bytes(got or b"")
    ar = [" ".join(v.split()) for v in m.get_all("Authentication-Results") or []
          if v.strip().startswith("mx.test.example")]
    rspf = m.get("Received-SPF")
    return (ar[0] if ar else ""), (" ".join(rspf.split()) if rspf else None), (code, text)


cases = [
    ("u@pass.test", "pass", "pass.test"),
    ("u@fail.test", "fail", "fail.test"),
    ("u@soft.test", "softfail", "soft.test"),
    ("u@neutral.test", "neutral", "neutral.test"),
    ("u@none.test", "none", "none.test"),
]
for sender, want, domain in cases:
    ar, rspf, _ = deliver(sender)
    t.like(ar, r"\bspf=%s smtp\.mailfrom=%s\b" % (want, re.escape(domain)),
           "MAIL FROM %s: spf=%s smtp.mailfrom=%s" % (sender, want, domain))
    t.like(rspf, r"^%s \(mx\.test\.example: " % want, "%s: Received-SPF says %s" % (sender, want))
    t.like(rspf, r"client-ip=127\.0\.0\.5; envelope-from=\"%s\"; helo=\"client\.example\"; "
           r"receiver=\"mx\.test\.example\"; identity=mailfrom;" % re.escape(sender),
           "%s: Received-SPF key-value pairs" % sender)

ar, rspf, _ = deliver("u@pass.test", helo="mx.good.test")
t.like(ar, r"\bspf=pass smtp\.helo=mx\.good\.test\b", "HELO mx.good.test: spf=pass smtp.helo")
ar, rspf, _ = deliver("u@pass.test", helo="client.example")
t.like(ar, r"\bspf=none smtp\.helo=client\.example\b", "HELO without a record: spf=none")
ar, rspf, _ = deliver("", helo="mx.good.test")
t.like(ar, r"\bspf=pass smtp\.mailfrom=mx\.good\.test\b",
       "null sender: checked as postmaster@HELO (RFC 7208 section 2.4)")
ar, rspf, _ = deliver("u@many.test")
t.like(ar, r'\bspf=permerror reason="[^"]*" smtp\.mailfrom=many\.test',
       "11 includes: spf=permerror (RFC 7208 section 4.6.4)")
ar, rspf, _ = deliver("u@slow.example")
t.like(ar, r'\bspf=temperror reason="[^"]*" smtp\.mailfrom=slow\.example',
       "a DNS server that never answers: spf=temperror")

d.stop()
d2 = daemon.Daemon(t, w.policy(actions={"spf_fail": "reject"}))
d2.start()
pf2 = postfix.Postfix(t, milter=d2.postfix_socket)
pf2.start()
code, text = pf2.send(MSG, mail_from="u@fail.test", source_ip="127.0.0.5")
t.is_(code, 550, "spf_fail=reject: 550 at end of data")
t.like(text, r"5\.7\.23 .*fail\.test explains: 127\.0\.0\.5 may not send mail for fail\.test",
       "the reply carries the expanded exp= text")
code, text = pf2.send(MSG, mail_from="u@pass.test", source_ip="127.0.0.5")
t.is_(code, 250, "spf_fail=reject leaves passing mail alone")
t.is_(d2.stop(), 0, "daemon stops cleanly")
t.done()
