#!/usr/bin/python3
# DKIM signing through a real Postfix: mail submitted with SMTP AUTH and
# mail from an internal network arrives signed (rsa-sha256 and
# ed25519-sha256, RFC 8463 dual signing); every signature verifies with
# dkimpy, Mail::DKIM (RSA: Debian 12's has no Ed25519) and OpenDKIM; a
# From subdomain is signed with its parent's key; a domain without key is
# left unsigned and logged (or tempfailed with sign.missing_key); a second
# From or a changed Subject after signing makes every verifier fail.
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
t.need_tools("postfix", "unbound", "saslpasswd2", "dknewkey", "opendkim", "perl")
tmp = amtest.tmpdir(t)
rsa = signers.Key(t, tmp, "rsa", "rsa")
ed = signers.Key(t, tmp, "ed", "ed25519")
os.chmod(rsa.path, 0o600)
os.chmod(ed.path, 0o600)
records = {"rsa._domainkey.example.com": rsa.txt, "ed._domainkey.example.com": ed.txt}
w = world.start(t, records=[rsa.zone_line("rsa", "example.com"),
                            ed.zone_line("ed", "example.com")])
keys = [{"domain": "example.com", "selector": "rsa", "key_file": rsa.path},
        {"domain": "example.com", "selector": "ed", "algorithm": "ed25519-sha256",
         "key_file": ed.path}]
d = daemon.Daemon(t, w.policy(sign={"keys": keys}))
d.start()
pf = postfix.Postfix(t, milter=d.postfix_socket, sasl_users={"alice": "secret"})
pf.start()
odk = verifiers.OpenDKIM(t, records)


def message(sender="alice@example.com", subject="signed"):
    return ("From: Alice <%s>\r\nTo: Bob <bob@example.net>\r\nSubject: %s\r\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
            "Hello,  signed   world.  \r\n\r\n" % (sender, subject, subject)).encode()


def send(msg, **kw):
    kw.setdefault("source_ip", "127.0.0.5")
    code, text = pf.send(msg, **kw)
    got = pf.wait_delivered() if code == 250 else None
    return code, text, signers.crlf(got) if got else None


def check_all(name, msg, want_pass=True):
    """Every signature by every verifier."""
    sigs = re.findall(rb"(?m)^DKIM-Signature:", msg)
    py = verifiers.dkimpy(msg, records)
    md = verifiers.mail_dkim(msg, w.dns.server)
    od = odk.verify(msg)
    if want_pass:
        t.is_(py, [True] * len(sigs), "%s: dkimpy verifies every signature" % name)
        t.is_(sorted(md), sorted(["pass", "invalid"][:len(sigs)]),
              "%s: Mail::DKIM passes the rsa signature (it cannot do ed25519)" % name)
        t.is_(sorted(r for r, _, _ in od), ["pass"] * len(sigs),
              "%s: OpenDKIM verifies every signature" % name)
    else:
        t.ok(not any(py), "%s: dkimpy fails every signature %s" % (name, py))
        t.ok("pass" not in md, "%s: Mail::DKIM passes none %s" % (name, md))
        t.ok(all(r != "pass" for r, _, _ in od), "%s: OpenDKIM passes none %s" % (name, od))


code, text, got = send(message(), auth=("alice", "secret"))
t.is_(code, 250, "AUTH submission accepted")
sigs = re.findall(rb"(?m)^DKIM-Signature: v=1; a=([\w-]+); c=relaxed/relaxed; d=example\.com; s=(\w+);", got or b"")
t.is_(sorted(sigs), [(b"ed25519-sha256", b"ed"), (b"rsa-sha256", b"rsa")],
      "AUTH: signed rsa-sha256 and ed25519-sha256, relaxed/relaxed")
t.like((got or b"").decode(), r"h=From:From:", "From is oversigned")
t.unlike((got or b"").decode(), r"\bl=", "never l=")
t.like((got or b"").decode(), r"\bt=\d+;", "t= set")
check_all("AUTH", got)
head = (got or b"").split(b"\r\n\r\n")[0].decode()
t.ok(head.index("DKIM-Signature") < head.index("Authentication-Results: mx.test.example"),
     "signatures sit above our A-R")
t.unlike(re.search(r"h=([^;]*);", head.replace("\r\n", "")).group(1) if "h=" in head else "",
         r"(?i)authentication-results", "our A-R is not signed")

code, text, got = send(message(), source_ip="127.0.0.1")
t.is_(code, 250, "internal network (no AUTH) accepted")
check_all("internal network", got)

code, text, got = send(message("bob@mail.sub.example.com", "subdomain"), auth=("alice", "secret"))
t.like((got or b"").decode(), r"d=example\.com; s=rsa;", "From a subdomain: signed by the parent domain's key")
check_all("subdomain", got)

code, text, got = send(message("carol@other.example", "nokey"), auth=("alice", "secret"))
t.is_(code, 250, "a domain without key: accepted (sign.missing_key=accept)")
t.unlike((got or b"").decode(), r"DKIM-Signature:", "... and not signed")
t.like(d.log(), r'outbound .*unsigned="no signing key for the From domain"', "... and logged")

# Tampering after signing.
code, text, got = send(message(subject="tamper"), auth=("alice", "secret"))
check_all("a second From added",
          got.replace(b"From: Alice", b"From: Mallory <m@evil.example>\r\nFrom: Alice", 1),
          want_pass=False)
check_all("Subject changed", got.replace(b"Subject: tamper", b"Subject: tamperX"), want_pass=False)

d.stop()
d2 = daemon.Daemon(t, w.policy(sign={"keys": keys, "missing_key": "tempfail"}))
d2.start()
pf2 = postfix.Postfix(t, milter=d2.postfix_socket, sasl_users={"alice": "secret"})
pf2.start()
code, text = pf2.send(message("carol@other.example", "nokey2"), source_ip="127.0.0.5",
                      auth=("alice", "secret"))
t.is_(code, 451, "sign.missing_key=tempfail: 451")
t.like(text, r"4\.7\.0 cannot DKIM-sign this message \(no signing key for the From domain\)",
       "... with the reason")
t.is_(d2.stop(), 0, "daemon stops cleanly")
t.done()
