#!/usr/bin/python3
# DMARC through a real Postfix: failing mail of a p=reject domain is
# refused with 550 5.7.1 at end of data (RFC 9989 section 7.2: rejected
# during the SMTP transaction); p=quarantine lands in Postfix's hold queue
# (smfi_quarantine) with our Authentication-Results; t=y lowers the policy
# one level (RFC 9989 section 4.7): p=quarantine; t=y is delivered and
# p=reject; t=y is held; passing mail is delivered with dmarc=pass.  The
# reject also holds in RFC 7489 mode.
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
t.need_tools("postfix", "unbound")


def txt(name, value):
    return '%s. 300 IN TXT "%s"' % (name, value)


records = [
    txt("_dmarc.reject.test", "v=DMARC1; p=reject"),
    txt("_dmarc.quar.test", "v=DMARC1; p=quarantine"),
    txt("_dmarc.tquar.test", "v=DMARC1; p=quarantine; t=y"),
    txt("_dmarc.treject.test", "v=DMARC1; p=reject; t=y"),
    txt("_dmarc.pass.test", "v=DMARC1; p=reject"),
    txt("pass.test", "v=spf1 ip4:127.0.0.5 -all"),
] + ["%s. 300 IN A 192.0.2.10" % d for d in
     ("reject.test", "quar.test", "tquar.test", "treject.test", "pass.test")]
w = world.start(t, records, timeout_ms=1000)


def msg(domain):
    return ("From: Someone <someone@%s>\r\nTo: b@example.net\r\n"
            "Subject: dmarc %s\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s@test.example>\r\n\r\nbody\r\n" % (domain, domain, domain)).encode()


def our_ar(raw):
    m = email.message_from_bytes(raw or b"")
    ar = [" ".join(v.split()) for v in m.get_all("Authentication-Results") or []
          if v.strip().startswith(world.AUTHSERV_ID)]
    return ar[0] if ar else ""


def setup(mode):
    dm = {"mode": mode}
    if mode == "rfc7489":
        dm["psl_file"] = amtest.src("t", "vectors", "dmarc", "psl.dat")
    d = daemon.Daemon(t, w.policy(verify={"iprev": {"enabled": False}, "dmarc": dm}))
    d.start()
    pf = postfix.Postfix(t, milter=d.postfix_socket)
    pf.start()
    return d, pf


d, pf = setup("rfc9989")
code, text = pf.send(msg("reject.test"), mail_from="u@elsewhere.test", source_ip="127.0.0.5")
t.is_(code, 550, "p=reject, DMARC fails: 550 at end of data")
t.like(text, r"^5\.7\.1 DMARC policy of reject\.test: reject", "the reply names domain and policy")

code, text = pf.send(msg("pass.test"), mail_from="u@pass.test", source_ip="127.0.0.5")
t.is_(code, 250, "aligned SPF pass: accepted")
t.like(our_ar(pf.wait_delivered()), r"\bdmarc=pass header\.from=pass\.test policy\.dmarc=reject\b",
       "delivered with dmarc=pass")

code, text = pf.send(msg("tquar.test"), mail_from="u@elsewhere.test", source_ip="127.0.0.5")
t.is_(code, 250, "p=quarantine; t=y: accepted")
t.like(our_ar(pf.wait_delivered()),
       r"\bdmarc=fail \(t=y\) reason=\"[^\"]*\" header\.from=tquar\.test policy\.dmarc=none\b",
       "p=quarantine; t=y: delivered with dmarc=fail policy.dmarc=none")

code, text = pf.send(msg("quar.test"), mail_from="u@elsewhere.test", source_ip="127.0.0.5")
t.is_(code, 250, "p=quarantine: accepted by SMTP")
m = re.search(r"queued as (\w+)", text)
held = amtest.wait_for(pf.held, 10) or []
t.is_([h[0] for h in held], [m.group(1)] if m else ["?"], "p=quarantine: in Postfix's hold queue")
t.like(our_ar(held[0][1] if held else b""),
       r"\bdmarc=fail reason=\"[^\"]*\" header\.from=quar\.test policy\.dmarc=quarantine\b",
       "the held message carries dmarc=fail policy.dmarc=quarantine")

code, text = pf.send(msg("treject.test"), mail_from="u@elsewhere.test", source_ip="127.0.0.5")
t.is_(code, 250, "p=reject; t=y: not rejected")
held2 = amtest.wait_for(lambda: len(pf.held()) == 2 and pf.held(), 10) or []
t.is_(len(held2), 2, "p=reject; t=y: one level below, held")
t.ok(not any(b"treject.test" in x for x in pf.delivered()), "p=reject; t=y: not delivered")
t.like(pf.log(), r"%s: milter-hold: END-OF-MESSAGE from \S+: milter triggers HOLD action"
       % (m.group(1) if m else "?"), "Postfix logs the hold by the milter")
t.is_(d.stop(), 0, "daemon stops cleanly")
t.unlike(d.log(), r"AddressSanitizer|runtime error|LeakSanitizer", "no sanitizer report")
pf.stop()

d, pf = setup("rfc7489")
code, text = pf.send(msg("reject.test"), mail_from="u@elsewhere.test", source_ip="127.0.0.5")
t.is_(code, 550, "RFC 7489 mode: p=reject, DMARC fails: 550")
t.like(text, r"^5\.7\.1 DMARC policy of reject\.test: reject", "RFC 7489 mode: the reply")
t.is_(d.stop(), 0, "RFC 7489 mode: daemon stops cleanly")
t.done()
