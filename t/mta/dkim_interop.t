#!/usr/bin/python3
# DKIM verification through a real Postfix: messages signed by independent
# implementations (dkimpy, Mail::DKIM, OpenDKIM) must verify as dkim=pass,
# and the same messages with one body byte or one signed header changed
# must give dkim=fail.  Keys are published in a real unbound.
import email
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import postfix
import signers
import world

t = amtest.Tap()
t.need_root()
t.need_tools("postfix", "unbound", "saslpasswd2", "dknewkey", "opendkim", "perl")
tmp = amtest.tmpdir(t)
rsa = signers.Key(t, tmp, "rsa", "rsa")
ed = signers.Key(t, tmp, "ed", "ed25519")
w = world.start(t, records=[rsa.zone_line("rsa", "example.com"),
                            ed.zone_line("ed", "example.com")])
# DMARC would reject the second-From case before DKIM is looked at: this
# file is about DKIM, DMARC has its own.
d = daemon.Daemon(t, w.policy(verify={"dmarc": {"enabled": False}}))
d.start()
pf = postfix.Postfix(t, milter=d.postfix_socket)
pf.start()

MSG = (b"From: Alice <alice@example.com>\r\n"
       b"To: Bob <bob@example.net>\r\n"
       b"Subject: interoperability\r\n"
       b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
       b"Message-ID: <interop@example.com>\r\n"
       b"MIME-Version: 1.0\r\n"
       b"Content-Type: text/plain\r\n"
       b"\r\n"
       b"Line one.  With  two spaces   and trailing space \r\n"
       b"\tTabbed line.\r\n"
       b"\r\n"
       b"Last line.\r\n\r\n\r\n")


def deliver(msg):
    """Send through Postfix; return the dkim results of our A-R."""
    code, text = pf.send(msg, source_ip="127.0.0.5")
    if code != 250:
        return ["smtp %d %s" % (code, text)], ""
    got = pf.wait_delivered()
    if got is None:
        return ["not delivered"], ""
    m = email.message_from_bytes(got)
    ours = [" ".join(v.split()) for v in m.get_all("Authentication-Results") or []
            if v.strip().startswith("mx.test.example")]
    ar = ours[0] if ours else ""
    return re.findall(r"\bdkim=(\w+)", ar), ar


def tamper_body(msg):
    return msg.replace(b"Last line.", b"Last line!")


def tamper_subject(msg):
    return msg.replace(b"Subject: interoperability", b"Subject: interoperabilitY")


cases = [
    ("dkimpy rsa relaxed/relaxed", signers.dkimpy(MSG, rsa, "rsa", "example.com")),
    ("dkimpy rsa simple/simple", signers.dkimpy(MSG, rsa, "rsa", "example.com",
                                                ("simple", "simple"))),
    ("dkimpy rsa relaxed/simple", signers.dkimpy(MSG, rsa, "rsa", "example.com",
                                                 ("relaxed", "simple"))),
    ("dkimpy ed25519 relaxed/relaxed", signers.dkimpy(MSG, ed, "ed", "example.com")),
    ("dkimpy ed25519 simple/simple", signers.dkimpy(MSG, ed, "ed", "example.com",
                                                    ("simple", "simple"))),
    ("dkimpy rsa with l=", signers.dkimpy(MSG, rsa, "rsa", "example.com", length=True)),
    ("dkimpy ed25519 with l=", signers.dkimpy(MSG, ed, "ed", "example.com",
                                              ("simple", "simple"), length=True)),
    ("Mail::DKIM rsa relaxed", signers.mail_dkim(MSG, rsa, "rsa", "example.com")),
    ("Mail::DKIM rsa simple", signers.mail_dkim(MSG, rsa, "rsa", "example.com", "simple")),
    ("OpenDKIM rsa", signers.OpenDKIM(t, rsa, "rsa", "example.com").sign(MSG)),
]
for name, signed in cases:
    got, ar = deliver(signed)
    t.is_(got, ["pass"], "%s: dkim=pass" % name)
    got, ar = deliver(tamper_body(signed))
    want = "fail"
    t.is_(got, [want], "%s, one body byte changed: dkim=fail" % name)
    t.like(ar, r'reason="body hash did not verify"', "%s, body changed: reason" % name)
    got, ar = deliver(tamper_subject(signed))
    t.is_(got, ["fail"], "%s, Subject changed: dkim=fail" % name)
    t.like(ar, r'reason="signature did not verify"', "%s, Subject changed: reason" % name)

# Properties: header.d/i/s/a/b.
got, ar = deliver(signers.dkimpy(MSG, ed, "ed", "example.com"))
t.like(ar, r"dkim=pass header\.d=example\.com header\.i=@example\.com "
       r"header\.s=ed header\.a=ed25519-sha256 header\.b=(\"[A-Za-z0-9+/]{8,}\"|[A-Za-z0-9+]{8,})",
       "pass result carries header.d, .i, .s, .a and 8 characters of b=")

# Dual signing (RFC 8463 section 6): both verify, b= prefixes differ.
dual = signers.dkimpy(signers.dkimpy(MSG, rsa, "rsa", "example.com"), ed, "ed", "example.com")
got, ar = deliver(dual)
t.is_(got, ["pass", "pass"], "rsa + ed25519 on one message: two passes")
bs = re.findall(r"header\.b=(\S+)", ar)
t.ok(len(bs) == 2 and bs[0] != bs[1], "the two header.b values differ")

# l= with content appended after signing: not a pass by default.
got, ar = deliver(signers.dkimpy(MSG, rsa, "rsa", "example.com", length=True) +
                  b"Appended by a list.\r\n")
t.is_(got, ["policy"], "l= signature plus appended text: dkim=policy (body_length=no_pass)")
t.like(ar, r'reason="l= signs only \d+ of \d+ body bytes"', "the reason says how much is signed")

# Oversigning: From listed twice in h= still verifies.
got, ar = deliver(signers.dkimpy(MSG, rsa, "rsa", "example.com",
                                 headers=["From", "From", "Subject", "Subject", "To", "Date"]))
t.is_(got, ["pass"], "oversigned From and Subject: pass")
# ... and a From added after signing breaks it.
over = signers.dkimpy(MSG, rsa, "rsa", "example.com",
                      headers=["From", "From", "Subject", "Date", "To"])
got, ar = deliver(over.replace(b"From: Alice", b"From: Mallory <m@evil.example>\r\nFrom: Alice", 1))
t.is_(got, ["fail"], "oversigned From, a second From added: fail")

# A key that is not in DNS: permerror.
got, ar = deliver(signers.dkimpy(MSG, rsa, "missing", "example.com"))
t.is_(got, ["permerror"], "no key in DNS: permerror")
t.like(ar, r'reason="no key"', "no key: reason")

t.is_(d.stop(), 0, "daemon stops cleanly")
pf.stop()
t.done()
