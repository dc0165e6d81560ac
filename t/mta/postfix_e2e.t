#!/usr/bin/python3
# End to end through a real private Postfix: the A-R in the delivered
# message, forged A-R removed and foreign ones kept, SMTP AUTH, a policy
# reject reaching the SMTP client, a dead DNS server giving temperror in
# time, and milter_default_action=tempfail when the daemon is down.
import email
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import postfix
import unbound
import world

t = amtest.Tap()
t.need_root()
t.need_tools("postfix", "unbound", "saslpasswd2")
w = world.start(t)
# These cases pin the whole A-R: leave SPF, DMARC and ARC (tested in their own
# files) out.
NOSPF = {"spf": {"enabled": False}, "dmarc": {"enabled": False},
         "arc": {"enabled": False}}
d = daemon.Daemon(t, w.policy(verify=NOSPF, actions={"iprev_permerror": "reject"}))
d.start()
pf = postfix.Postfix(t, milter=d.postfix_socket, sasl_users={"alice": "secret"})
pf.start()

MSG = (b"Authentication-Results: mx.test.example; dkim=pass header.d=example.com\r\n"
       b"Authentication-Results: other.example; spf=pass smtp.mailfrom=example.com\r\n"
       b"From: Alice <alice@example.com>\r\n"
       b"To: Bob <bob@example.net>\r\n"
       b"Subject: end to end\r\n"
       b"Message-ID: <e2e-1@example.com>\r\n"
       b"\r\n"
       b"Hello through Postfix.\r\n")


def authres_headers(raw):
    m = email.message_from_bytes(raw)
    return [" ".join(v.split()) for v in m.get_all("Authentication-Results") or []]


code, text = pf.send(MSG, source_ip="127.0.0.5")
t.is_(code, 250, "inbound from a forward-confirmed client: 250")
got = pf.wait_delivered()
t.ok(got is not None, "delivered")
ars = authres_headers(got or b"")
t.is_(ars[:1], ["mx.test.example; iprev=pass (mx.good.test) policy.iprev=127.0.0.5"],
      "our A-R is the first A-R field, with iprev=pass")
t.ok(not any(a.startswith("mx.test.example; dkim=pass") for a in ars),
     "the forged A-R with our id is gone")
t.ok("other.example; spf=pass smtp.mailfrom=example.com" in ars,
     "the foreign A-R stays")
t.ok(got is not None and got.index(b"Authentication-Results: mx.test.example;") <
     got.index(b"Received:"), "our A-R sits above Postfix's Received")
t.ok(got is not None and got.endswith(b"Hello through Postfix.\r\n") or
     got is not None and got.endswith(b"Hello through Postfix.\n"), "body intact")

code, text = pf.send(MSG, source_ip="127.0.0.6")
t.is_(code, 250, "iprev=fail is informational by default")
got = pf.wait_delivered()
t.like(authres_headers(got or b"")[0], r"^mx\.test\.example; iprev=fail ",
       "iprev=fail recorded")

code, text = pf.send(MSG, source_ip="127.0.0.7")
t.is_(code, 550, "iprev_permerror=reject: the SMTP client gets 550")
t.like(text, r"5\.7\.25 reverse DNS of 127\.0\.0\.7 does not validate: no PTR record",
       "the reply names the method and the reason")

code, text = pf.send(MSG, source_ip="127.0.0.5", auth=("alice", "secret"))
t.is_(code, 250, "SMTP AUTH submission: 250")
got = pf.wait_delivered()
t.like(authres_headers(got or b"")[0], r"auth=pass smtp\.auth=alice",
       "SMTP AUTH: auth=pass smtp.auth=alice through Postfix's {auth_authen}")
t.like(d.log(), r": outbound client=127\.0\.0\.5 .*auth=pass",
       "SMTP AUTH: logged as outbound with Postfix's queue id")

# A DNS server that never answers: DMARC cannot be decided, so on_error
# (default tempfail) answers 451, quickly; with on_error=accept the mail
# goes through with every temperror in the A-R.
dead = unbound.DeadServer(t)
d2 = daemon.Daemon(t, w.policy(dns={"servers": [dead.server], "timeout_ms": 500}))
d2.start()
pf2 = postfix.Postfix(t, milter=d2.postfix_socket)
pf2.start()
start = time.monotonic()
code, text = pf2.send(MSG, source_ip="127.0.0.5")
took = time.monotonic() - start
t.is_(code, 451, "dead DNS: 451 (dmarc_temperror follows on_error=tempfail)")
t.like(text, r"4\.7\.1 .*DMARC", "dead DNS: the reply names DMARC")
t.ok(took < 5, "dead DNS: the SMTP transaction took %.1fs (deadline 0.5s per lookup)" % took)
t.is_(pf2.wait_delivered(timeout=2), None, "dead DNS: nothing delivered")
pf2.stop()
d2.stop()
d3 = daemon.Daemon(t, w.policy(on_error="accept",
                               dns={"servers": [dead.server], "timeout_ms": 500}))
d3.start()
pf3 = postfix.Postfix(t, milter=d3.postfix_socket)
pf3.start()
code, text = pf3.send(MSG, source_ip="127.0.0.5")
t.is_(code, 250, "dead DNS, on_error=accept: accepted")
got = pf3.wait_delivered()
ar = authres_headers(got or b"")[0] if got else ""
t.like(ar, r"^mx\.test\.example; iprev=temperror ", "dead DNS: iprev=temperror")
t.like(ar, r"\bspf=temperror ", "dead DNS: spf=temperror")
t.like(ar, r"\bdmarc=temperror ", "dead DNS: dmarc=temperror")
pf3.stop()

# The daemon down: Postfix defers (milter_default_action = tempfail).
d.stop()
code, text = pf.send(MSG, source_ip="127.0.0.5")
t.ok(400 <= code < 500, "daemon down: Postfix answers 4xx (%d)" % code)
t.is_(pf.wait_delivered(timeout=3), None, "daemon down: nothing delivered")
pf.stop()
t.done()
