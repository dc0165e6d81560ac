#!/usr/bin/python3
# Header handling through the real daemon: forged A-R removal (RFC 8601
# section 5), SMTP AUTH, internal clients, local submissions, and the
# protocol steps the daemon negotiates.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import mtc
import world

t = amtest.Tap()
w = world.start(t)
# These cases pin the whole A-R: leave SPF, DMARC and ARC (tested in their own
# files) out.
NOSPF = {"spf": {"enabled": False}, "dmarc": {"enabled": False},
         "arc": {"enabled": False}}
d = daemon.Daemon(t, w.policy(verify=NOSPF))
d.start()

FORGED = (
    "Authentication-Results: mx.test.example; dkim=pass header.d=example.com\r\n"
    "Authentication-Results: other.example; spf=pass smtp.mailfrom=example.com\r\n"
    "Authentication-Results: MX.Test.Example;\r\n\tdmarc=pass header.from=example.com\r\n"
    "Authentication-Results: (comment) mx.test.example 1; none\r\n"
    "Authentication-Results: mx.test.example.evil; spf=pass\r\n"
    "Authentication-Results: \"mx.test.example\"; arc=pass\r\n"
    "X-Authmilter-Tag: spf_fail\r\n"
    "ARC-Authentication-Results: i=1; mx.test.example; spf=pass\r\n")
r = mtc.run(t, d.socket, FORGED + mtc.MESSAGE, ["-a", "127.0.0.5"])
t.is_(r.result, "accept", "forged: accepted")
t.is_(r.deleted, [("Authentication-Results", 6), ("Authentication-Results", 4),
                  ("Authentication-Results", 3), ("Authentication-Results", 1),
                  ("X-Authmilter-Tag", 1)],
      "forged: our id (any case, folded, after a comment, with a version, "
      "quoted) removed, highest first; foreign ids and ARC-AAR kept; "
      "a smuggled tag header removed")
t.is_(r.authres(), "mx.test.example; iprev=pass (mx.good.test) policy.iprev=127.0.0.5",
      "forged: our A-R added")

# Negotiation: only the steps we need, no-reply flags, leading spaces.
SMFIP = {"NOCONNECT": 0x1, "NOHELO": 0x2, "NOMAIL": 0x4, "NORCPT": 0x8,
         "NOBODY": 0x10, "NOHDRS": 0x20, "NOEOH": 0x40, "NR_HDR": 0x80,
         "NOUNKNOWN": 0x100, "NODATA": 0x200, "SKIP": 0x400,
         "RCPT_REJ": 0x800, "NR_CONN": 0x1000, "NR_HELO": 0x2000,
         "NR_MAIL": 0x4000, "NR_RCPT": 0x8000, "NR_DATA": 0x10000,
         "NR_UNKN": 0x20000, "NR_EOH": 0x40000, "NR_BODY": 0x80000,
         "HDR_LEADSPC": 0x100000}
proto = int(r.negotiate.get("protocol", "0"), 16) if r.negotiate else 0
for flag in ("NORCPT", "NODATA", "NOUNKNOWN", "SKIP", "NR_CONN", "NR_HELO",
             "NR_MAIL", "NR_HDR", "NR_EOH", "HDR_LEADSPC"):
    t.ok(proto & SMFIP[flag], "negotiated %s" % flag)
for flag in ("NOCONNECT", "NOHELO", "NOMAIL", "NOHDRS", "NOEOH", "NOBODY"):
    t.ok(not proto & SMFIP[flag], "does not skip %s (DKIM reads the body)" % flag)
t.like(r.text, r"(?m)^body skip$",
       "no signature needs the body: SMFIS_SKIP at the first chunk")

# Nothing reads the body: the MTA is told not to send it at all.
d2 = daemon.Daemon(t, w.policy(verify={"dkim": {"enabled": False},
                                       "arc": {"enabled": False}}))
d2.start()
r2 = mtc.run(t, d2.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
proto2 = int(r2.negotiate.get("protocol", "0"), 16) if r2.negotiate else 0
t.ok(proto2 & SMFIP["NOBODY"], "DKIM and ARC off: NOBODY negotiated")
t.is_(r2.result, "accept", "DKIM and ARC off: accepted")
d2.stop()
t.ok(any(l.startswith("symlist") and "auth_authen" in l for l in r.lines),
     "asks for {auth_authen} at MAIL FROM")

# SMTP AUTH: outbound, auth=pass.
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5", "-A", "alice@example.com"])
t.is_(r.authres(), "mx.test.example; iprev=pass (mx.good.test) policy.iprev=127.0.0.5; "
      "auth=pass smtp.auth=alice@example.com", "AUTH: auth=pass smtp.auth")
t.like(d.log(), r"TESTQID: outbound client=127\.0\.0\.5 iprev=pass auth=pass action=accept",
       "AUTH: the log line says outbound, every result and the action")

# An internal client: no iprev, nothing else to say yet.
r = mtc.run(t, d.socket, FORGED + mtc.MESSAGE, ["-a", "127.0.0.1"])
t.is_(r.authres(), "mx.test.example; none", "internal client: A-R none")
t.is_(len(r.deleted), 5, "internal client: forged fields removed too")

# A local submission without an address is internal.
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-u"])
t.is_(r.authres(), "mx.test.example; none", "no client address: treated as internal")

# Null sender and a message without headers are fine.
r = mtc.run(t, d.socket, "\r\nbody only\r\n", ["-a", "127.0.0.5", "-f", ""])
t.is_(r.result, "accept", "null sender, no headers: accepted")

# Abort mid-message, then a full message on the same connection.
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5", "-x", "eoh"])
t.ok(r.rc == 0, "abort at end of headers is handled")
t.ok(d.alive(), "daemon alive after an abort")
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5", "-X", "header"])
t.ok(d.alive(), "daemon alive after a client vanished mid-headers")
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.is_(r.result, "accept", "daemon still serves afterwards")

t.is_(d.stop(), 0, "daemon stops cleanly")
t.unlike(d.log(), r"ERROR: AddressSanitizer|runtime error:", "no sanitizer report")
t.done()
