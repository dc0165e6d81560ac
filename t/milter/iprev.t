#!/usr/bin/python3
# iprev through the real daemon and a real unbound: every result value,
# the A-R syntax, and a DNS server that never answers (temperror within the
# deadline).
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import mtc
import unbound
import world

t = amtest.Tap()
t.need_tools("unbound")
w = world.start(t)
# These cases pin the whole A-R: leave SPF, DMARC and ARC (tested in their own
# files) out.
NOSPF = {"spf": {"enabled": False}, "dmarc": {"enabled": False},
         "arc": {"enabled": False}}
d = daemon.Daemon(t, w.policy(verify=NOSPF))
d.start()

cases = [
    ("127.0.0.5", "iprev=pass (mx.good.test) policy.iprev=127.0.0.5"),
    ("127.0.0.6", 'iprev=fail (mx.liar.test) reason="no PTR name resolves '
                  'back to 127.0.0.6" policy.iprev=127.0.0.6'),
    ("127.0.0.7", 'iprev=permerror reason="no PTR record" '
                  'policy.iprev=127.0.0.7'),
    ("127.0.0.8", 'iprev=fail (gone.test) reason="no PTR name resolves '
                  'back to 127.0.0.8" policy.iprev=127.0.0.8'),
    ("127.0.0.9", "iprev=pass (b.multi.test) policy.iprev=127.0.0.9"),
]
for ip, want in cases:
    r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", ip])
    t.is_(r.result, "accept", "%s: accepted (iprev is informational by default)" % ip)
    t.is_(r.authres(), "mx.test.example; " + want, "%s: A-R says %s" % (ip, want.split()[0]))

r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
ar = r.header("Authentication-Results")
# mtc drops the one leading space a SMFIP_HDR_LEADSPC milter must send, so
# a value without it would lose its first letter here.
t.ok(ar is not None and ar.startswith("mx.test.example;\n\t"),
     "A-R value carries its leading space and folds after the id")
t.is_([h[0] for h in r.inserted], [0], "the A-R is inserted at the top (index 0)")

r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5", "-N", "3"])
t.is_(r.messages, ["accept"] * 3, "three messages on one connection")
t.is_(sum(1 for h in r.inserted if h[1] == "Authentication-Results"), 3,
      "each message gets its own A-R (iprev computed once per connection)")

# A DNS server that never answers: temperror within the deadline.
dead = unbound.DeadServer(t)
d2 = daemon.Daemon(t, w.policy(verify=NOSPF, dns={"servers": [dead.server], "timeout_ms": 400}))
d2.start()
r = mtc.run(t, d2.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.is_(r.result, "accept", "dead DNS: message still accepted by default")
t.like(r.authres(), r'^mx\.test\.example; iprev=temperror reason="PTR lookup: timeout" '
       r'policy\.iprev=127\.0\.0\.5$', "dead DNS: iprev=temperror (timeout)")
t.ok(r.seconds < 2.5, "dead DNS: answered within the deadline (%.2fs)" % r.seconds)

d3 = daemon.Daemon(t, w.policy(verify=NOSPF, dns={"servers": [dead.server], "timeout_ms": 400},
                               actions={"iprev_temperror": "tempfail"}))
d3.start()
r = mtc.run(t, d3.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.like(r.reply, r"^451 4\.7\.25 reverse DNS of 127\.0\.0\.5 does not validate",
       "iprev_temperror=tempfail: 451 4.7.25 with the reason")

# iprev disabled: no iprev result at all.
d4 = daemon.Daemon(t, w.policy(verify={"iprev": {"enabled": False}, "spf": {"enabled": False}, "dmarc": {"enabled": False}, "arc": {"enabled": False}}))
d4.start()
r = mtc.run(t, d4.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.is_(r.authres(), "mx.test.example; none", "iprev disabled: A-R says none")

for dd in (d, d2, d3, d4):
    t.is_(dd.stop(), 0, "daemon stops cleanly on SIGTERM")
    t.unlike(dd.log(), r"ERROR: AddressSanitizer|runtime error:", "no sanitizer report")
t.done()
