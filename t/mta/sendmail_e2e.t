#!/usr/bin/python3
# End to end through a real private Sendmail (unpacked from Debian's
# packages, see t/lib/sendmail.py) whose milter lines are those of
# contrib/sendmail/authmilter.mc: the inbound A-R (iprev, SPF, DKIM of a
# dkimpy-signed message), a forged A-R removed and a foreign one kept,
# outbound mail (SMTP AUTH and an internal network) signed and verified
# by dkimpy, {auth_authen} and {i} reaching the daemon, policy rejects
# (iprev, DMARC p=reject) reaching the SMTP client as 550 with our text,
# F=T tempfailing mail while the daemon is down, and no Sendmail process
# left behind.
import email
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import sendmail
import signers
import verifiers
import world

t = amtest.Tap()
t.need_root()
t.need_tools("unbound", "dknewkey")
dist = sendmail.need(t)
tmp = amtest.tmpdir(t)
rsa = signers.Key(t, tmp, "rsa", "rsa")
ed = signers.Key(t, tmp, "ed", "ed25519")
os.chmod(rsa.path, 0o600)
os.chmod(ed.path, 0o600)
records = {"rsa._domainkey.example.com": rsa.txt, "ed._domainkey.example.com": ed.txt}
w = world.start(t, records=[
    rsa.zone_line("rsa", "example.com"),
    ed.zone_line("ed", "example.com"),
    'example.com. 300 IN TXT "v=spf1 ip4:127.0.0.5 -all"',
    '_dmarc.reject.test. 300 IN TXT "v=DMARC1; p=reject"',
    "reject.test. 300 IN A 192.0.2.7",
])
keys = [{"domain": "example.com", "selector": "rsa", "key_file": rsa.path},
        {"domain": "example.com", "selector": "ed", "algorithm": "ed25519-sha256",
         "key_file": ed.path}]
d = daemon.Daemon(t, w.policy(sign={"keys": keys}, actions={"iprev_permerror": "reject"}))
d.start()
sm = sendmail.Sendmail(t, milter=d.socket, sasl_users={"alice": "secret"})
sm.start()

# The configuration is built from the contrib snippet.
with open(sm.mc) as f:
    mc = f.read().splitlines()
snippet = sendmail.snippet_lines(d.socket)
t.ok(all(line in mc for line in snippet) and
     any(line.startswith("INPUT_MAIL_FILTER(`authmilter'") for line in snippet),
     "the test sendmail.mc holds every line of contrib/sendmail/authmilter.mc")
cf = sm.cf_text()
t.like(cf, r"(?m)^Xauthmilter, S=inet:%d@127\.0\.0\.1, F=T, T=C:\d+s;S:\d+s;R:\d+s;E:\d+m$"
       % d.port, "sendmail.cf: the filter with F=T and timeouts, on the test socket")
t.like(cf, r"(?m)^O InputMailFilters=authmilter$", "sendmail.cf: the filter is used")
t.like(cf, r"(?m)^O Milter\.macros\.envfrom=i, .*\{auth_authen\}",
       "sendmail.cf: i and {auth_authen} at MAIL FROM")
t.like(cf, r"(?m)^O Milter\.macros\.eom=.*\bi$", "sendmail.cf: i at end of message")


def authres(raw):
    m = email.message_from_bytes(raw or b"")
    return [" ".join(v.split()) for v in m.get_all("Authentication-Results") or []]


def message(sender="alice@example.com", subject="signed"):
    return ("From: Alice <%s>\r\nTo: Bob <bob@example.net>\r\nSubject: %s\r\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
            "Hello,  through   Sendmail.  \r\n\r\n" % (sender, subject, subject)).encode()


def open_connections(port):
    """TCP connections on our side of port not yet closed (ESTABLISHED or
    CLOSE-WAIT), from /proc/net/tcp."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            n += int(local.split(":")[1], 16) == port and state in ("01", "08")
    return n


def queue_id(text):
    m = re.match(r"2\.0\.0 (\w+) Message accepted", text)
    return m.group(1) if m else None


# ---- inbound -------------------------------------------------------------
FORGED = (b"Authentication-Results: mx.test.example; dkim=pass header.d=evil.example\r\n"
          b"Authentication-Results: other.example; spf=pass smtp.mailfrom=example.com\r\n")
signed = signers.dkimpy(message(subject="inbound"), rsa, "rsa", "example.com")
code, text = sm.send(FORGED + signed, mail_from="alice@example.com", source_ip="127.0.0.5")
t.is_(code, 250, "inbound from a forward-confirmed client: 250")
got = sm.wait_delivered()
t.ok(got is not None, "delivered")
ars = authres(got)
t.like(ars[0] if ars else "", r"^mx\.test\.example; iprev=pass \(mx\.good\.test\) "
       r"policy\.iprev=127\.0\.0\.5;", "our A-R is the first A-R field, with iprev=pass")
t.like(ars[0] if ars else "", r"; spf=pass smtp\.mailfrom=example\.com\b", "... spf=pass")
t.like(ars[0] if ars else "", r"; dkim=pass header\.d=example\.com header\.i=@example\.com "
       r"header\.s=rsa header\.a=rsa-sha256\b", "... dkim=pass for the dkimpy signature")
t.ok(not any("evil.example" in a for a in ars), "the forged A-R with our id is gone")
t.ok("other.example; spf=pass smtp.mailfrom=example.com" in ars, "the foreign A-R stays")
t.ok(got is not None and got.index(b"Authentication-Results: mx.test.example;") <
     got.index(b"Received:"), "our A-R sits above Sendmail's Received")
t.ok(got is not None and got.endswith(b"Hello,  through   Sendmail.  \n\n"), "body intact")
t.is_(verifiers.dkimpy(signers.crlf(got or b""), records), [True],
      "the signature still verifies after Sendmail")
t.like(d.log(), r"%s: inbound client=127\.0\.0\.5 " % queue_id(text),
       "the daemon logs Sendmail's queue id ({i})")

code, text = sm.send(message(subject="noptr"), source_ip="127.0.0.7")
t.is_(code, 550, "iprev_permerror=reject: the SMTP client gets 550")
t.like(text, r"^5\.7\.25 reverse DNS of 127\.0\.0\.7 does not validate: no PTR record",
       "the reply names the method and the reason")

# ---- outbound ------------------------------------------------------------
SIG = rb"(?m)^DKIM-Signature: v=1; a=([\w-]+); c=relaxed/relaxed; d=example\.com; s=(\w+);"
for name, kw in (("SMTP AUTH", {"source_ip": "127.0.0.5", "auth": ("alice", "secret")}),
                 ("internal network", {"source_ip": "127.0.0.1"})):
    code, text = sm.send(message(subject=name.replace(" ", "-")), **kw)
    t.is_(code, 250, "%s: accepted" % name)
    got = signers.crlf(sm.wait_delivered() or b"")
    t.is_(sorted(re.findall(SIG, got)), [(b"ed25519-sha256", b"ed"), (b"rsa-sha256", b"rsa")],
          "%s: signed rsa-sha256 and ed25519-sha256" % name)
    t.is_(verifiers.dkimpy(got, records), [True, True], "%s: dkimpy verifies both" % name)
    t.like(d.log(), r"%s: outbound client=%s " % (queue_id(text), re.escape(kw["source_ip"])),
           "%s: logged as outbound with Sendmail's queue id" % name)
    if "auth" in kw:
        t.like(authres(got)[0] if authres(got) else "", r"\bauth=pass smtp\.auth=alice\b",
               "SMTP AUTH: auth=pass smtp.auth=alice through Sendmail's {auth_authen}")

# ---- DMARC p=reject ------------------------------------------------------
# The reply text is the one DESIGN.md section 5 gives.
code, text = sm.send(message("mallory@reject.test", "dmarc"), mail_from="mallory@reject.test",
                     source_ip="127.0.0.5")
t.is_(code, 550, "DMARC p=reject, no aligned pass: the SMTP client gets 550")
t.like(text, r"^5\.7\.1 DMARC policy of reject\.test: reject", "... with our text")
if code == 250:
    sm.wait_delivered()

# ---- the daemon down -----------------------------------------------------
# Sendmail sends the milter its QUIT after answering the client's QUIT;
# the daemon stops serving connections on SIGTERM and then waits up to
# 30s for those still open, so let the last one end first.
t.ok(amtest.wait_for(lambda: open_connections(d.port) == 0, 10),
     "every milter connection is closed after the SMTP sessions")
start = time.monotonic()
t.is_(d.stop(), 0, "daemon stops cleanly")
took = time.monotonic() - start
if took > 5:
    t.diag("the daemon took %.1fs to stop (waiting for a milter connection?):\n%s"
           % (took, d.log()))
code, text = sm.send(message(subject="down"), source_ip="127.0.0.5")
t.ok(400 <= code < 500, "daemon down: F=T makes Sendmail answer 4xx (%d %s)" % (code, text))
t.is_(sm.wait_delivered(timeout=3), None, "daemon down: nothing delivered")
t.is_(sm.queued(), [], "daemon down: nothing queued")

# ---- nothing left --------------------------------------------------------
t.ok(len(sm.processes()) >= 1, "Sendmail runs in its own PID namespace")
sm.stop()
t.is_(sm.processes(), [], "stopped: no process left in its namespace")
ours = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.readlink("/proc/%s/exe" % pid) == dist.binary:
            ours.append(int(pid))
    except OSError:
        pass
t.is_(ours, [], "stopped: no process runs the unpacked sendmail binary")
t.done()
