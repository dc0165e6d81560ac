#!/usr/bin/python3
# ARC through a real Postfix (RFC 8617): a chain sealed by dkimpy verifies
# as arc=pass; a mailing-list change (subject tag, footer) then sealed by
# the list keeps arc=pass while DKIM fails; with the list as a trusted
# sealer the p=reject DMARC failure is accepted (actions.arc_override) and
# the A-R says so, without it it is rejected; our own seal verifies with
# dkimpy and with Mail::DKIM's ARC verifier.
import email
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import postfix
import signers
import verifiers
import world

t = amtest.Tap()
t.need_root()
t.need_tools("postfix", "unbound", "saslpasswd2", "dknewkey", "perl")
tmp = amtest.tmpdir(t)
author = signers.Key(t, tmp, "author", "rsa")
lst = signers.Key(t, tmp, "list", "rsa")
ours = signers.Key(t, tmp, "ours", "rsa")
os.chmod(ours.path, 0o600)
records = {"s1._domainkey.author.test": author.txt, "arc._domainkey.list.test": lst.txt,
           "seal._domainkey.ours.test": ours.txt}
w = world.start(t, records=[
    author.zone_line("s1", "author.test"), lst.zone_line("arc", "list.test"),
    ours.zone_line("seal", "ours.test"),
    '_dmarc.author.test. 300 IN TXT "v=DMARC1; p=reject"',
    'author.test. 300 IN TXT "v=spf1 -all"', 'author.test. 300 IN A 192.0.2.10',
    'list.test. 300 IN TXT "v=spf1 ip4:127.0.0.5 -all"', 'list.test. 300 IN A 127.0.0.5'])

ORIG = (b"From: Alice <alice@author.test>\r\nTo: list@list.test\r\n"
        b"Subject: meeting\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        b"Message-ID: <arc-1@author.test>\r\n\r\nSee you at noon.\r\n")
signed = signers.dkimpy(ORIG, author, "s1", "author.test")
# The list checks the message, then changes it (RFC 8617 section 1's
# problem) and seals what it sends on.
listed = signed.replace(b"Subject: meeting", b"Subject: [list] meeting")
listed = listed + b"--\r\nlist footer\r\n"
sealed = signers.arcsign(listed, lst, "arc", "list.test", "list.test",
                         "dkim=pass header.d=author.test; dmarc=pass header.from=author.test")


def run(policy, msg):
    d = daemon.Daemon(t, policy)
    d.start()
    pf = postfix.Postfix(t, milter=d.postfix_socket)
    pf.start()
    code, text = pf.send(msg, mail_from="bounce@list.test", source_ip="127.0.0.5")
    got = signers.crlf(pf.wait_delivered()) if code == 250 else None
    pf.stop()
    d.stop()
    ar = ""
    if got:
        m = email.message_from_bytes(got)
        ours_ar = [" ".join(v.split()) for v in m.get_all("Authentication-Results") or []
                   if v.strip().startswith("mx.test.example")]
        ar = ours_ar[0] if ours_ar else ""
    return code, text, got, ar


# 1. dkimpy's chain alone (no change after sealing): arc=pass.
code, text, got, ar = run(w.policy(), signers.arcsign(signed, lst, "arc", "list.test", "list.test", "dkim=pass header.d=author.test"))
t.is_(code, 250, "a dkimpy-sealed chain is accepted")
t.like(ar, r"\barc=pass\b", "dkimpy's seal: arc=pass")
t.like(ar, r"\bdkim=pass header\.d=author\.test", "no change after signing: dkim=pass too")

# 2. List-modified, sealed: DKIM breaks, ARC holds; p=reject without trust.
code, text, got, ar = run(w.policy(), sealed)
t.is_(code, 550, "list-modified mail, list not trusted: DMARC p=reject rejects it")
t.like(text, r"5\.7\.1 DMARC policy of author\.test: reject", "with the DMARC reply")

# 3. The list is a trusted sealer: the override accepts it.
code, text, got, ar = run(w.policy(verify={"arc": {"trusted_sealers": ["list.test"]}}), sealed)
t.is_(code, 250, "list-modified mail, list trusted: accepted (arc_override)")
t.like(ar, r"\bdkim=fail\b", "DKIM of the author fails (subject and body changed)")
t.like(ar, r"\barc=pass\b", "ARC passes")
t.like(ar, r'\bdmarc=fail reason="[^"]*trusted ARC chain"', "the A-R says DMARC failed and the trusted chain overrode it")

# 4. Our own seal (arc_seal configured) verifies with dkimpy and Mail::DKIM.
policy = w.policy(verify={"arc": {"trusted_sealers": ["list.test"]}},
                  arc_seal={"domain": "ours.test", "selector": "seal", "key_file": ours.path})
code, text, got, ar = run(policy, sealed)
t.is_(code, 250, "sealing hop: accepted")
head = (got or b"").split(b"\r\n\r\n")[0].decode()
t.like(head, r"^ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=ours\.test; s=seal;", "our ARC-Seal i=2 cv=pass on top")
t.like(head, r"(?m)^ARC-Authentication-Results: i=2; mx\.test\.example;", "our AAR carries our A-R")
cv, reason = verifiers.dkimpy_arc(got or b"", records)
t.is_(cv, "pass", "dkimpy arcverify passes our seal (%s)" % reason)
t.is_(verifiers.mail_dkim_arc(got or b"", w.dns.server), "pass", "Mail::DKIM's ARC verifier passes our seal")

# 5. A message without ARC, sealed by us: i=1 cv=none, and it verifies.
code, text, got, ar = run(policy, signed)
t.like((got or b"").decode(), r"(?m)^ARC-Seal: i=1; a=rsa-sha256; cv=none;", "first hop: i=1 cv=none")
t.is_(verifiers.dkimpy_arc(got or b"", records)[0], "pass", "dkimpy passes our first-hop seal")
t.is_(verifiers.mail_dkim_arc(got or b"", w.dns.server), "pass", "Mail::DKIM passes our first-hop seal")

# 6. The list's chain broken after sealing: arc=fail, and we seal it with
# cv=fail (RFC 8617 section 5.1.2); DMARC is off here so the message is
# delivered and the seal can be seen.
broken = sealed.replace(b"See you at noon.", b"See you at one.")
nodmarc = dict(policy, verify={"arc": {"trusted_sealers": ["list.test"]},
                               "dmarc": {"enabled": False}})
code, text, got, ar = run(nodmarc, broken)
t.like(ar, r'\barc=fail\b', "body changed after the list sealed: arc=fail")
t.like((got or b"").decode(), r"(?m)^ARC-Seal: i=2; a=rsa-sha256; cv=fail;",
       "a failed chain is sealed only with cv=fail")
cv, reason = verifiers.dkimpy_arc(got or b"", records)
t.ok(cv != "pass", "dkimpy does not pass the failed chain either (%s: %s)" % (cv, reason))
code, text, got, ar = run(policy, broken)
t.is_(code, 550, "with DMARC on, the failed chain gives no override: rejected")
t.done()
