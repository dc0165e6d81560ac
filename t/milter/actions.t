#!/usr/bin/python3
# Policy actions applied through the milter protocol: reject, tempfail,
# quarantine, tag, discard, accept; the most severe one wins.
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import mtc
import world

t = amtest.Tap()
w = world.start(t)

LIAR = ["-a", "127.0.0.6"]  # iprev=fail
NOPTR = ["-a", "127.0.0.7"]  # iprev=permerror
REASON = "reverse DNS of 127.0.0.6 does not validate: no PTR name resolves back to 127.0.0.6"


def daemon_with(actions):
    d = daemon.Daemon(t, w.policy(actions=actions))
    d.start()
    return d


d = daemon_with({"iprev_fail": "reject"})
r = mtc.run(t, d.socket, mtc.MESSAGE, LIAR)
t.is_(r.reply, "550 5.7.25 " + REASON, "reject: 550 5.7.25 and the reason")
t.is_(r.inserted + r.deleted, [], "reject: no header changes")
r = mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.5"])
t.is_(r.result, "accept", "reject policy leaves passing mail alone")
d.stop()

d = daemon_with({"iprev_fail": "tempfail"})
r = mtc.run(t, d.socket, mtc.MESSAGE, LIAR)
t.is_(r.reply, "451 4.7.25 " + REASON, "tempfail: 451 4.7.25")
d.stop()

d = daemon_with({"iprev_fail": "quarantine"})
r = mtc.run(t, d.socket, mtc.MESSAGE, LIAR)
t.is_(r.result, "accept", "quarantine: accepted into the MTA")
t.is_(r.quarantine, REASON, "quarantine: held with the reason")
t.like(r.authres(), r"iprev=fail", "quarantine: A-R still added")
d.stop()

d = daemon_with({"iprev_fail": "tag"})
r = mtc.run(t, d.socket, "X-Authmilter-Tag: forged\r\n" + mtc.MESSAGE, LIAR)
t.is_(r.result, "accept", "tag: accepted")
t.is_(r.header("X-Authmilter-Tag"), "iprev_fail", "tag: header names the key")
t.is_(r.deleted, [("X-Authmilter-Tag", 1)], "tag: the sender's own tag header removed")
d.stop()

d = daemon.Daemon(t, w.policy(actions={"iprev_fail": "tag"}, tag_header="X-Spam-Auth"))
d.start()
r = mtc.run(t, d.socket, mtc.MESSAGE, LIAR)
t.is_(r.header("X-Spam-Auth"), "iprev_fail", "tag_header renames the tag header")
d.stop()

d = daemon_with({"iprev_fail": "discard"})
r = mtc.run(t, d.socket, mtc.MESSAGE, LIAR)
t.is_(r.result, "discard", "discard")
d.stop()

# The most severe action wins: permerror=reject beats fail=tag (different
# connections), and accept is the default for every iprev key.
d = daemon_with({"iprev_permerror": "reject", "iprev_fail": "tag"})
r = mtc.run(t, d.socket, mtc.MESSAGE, NOPTR)
t.like(r.reply, r"^550 5\.7\.25 reverse DNS of 127\.0\.0\.7 does not validate: no PTR record$",
       "permerror=reject: 550 with the reason")
d.stop()
d = daemon_with({})
for args in (LIAR, NOPTR):
    r = mtc.run(t, d.socket, mtc.MESSAGE, args)
    t.is_(r.result, "accept", "default policy accepts %s" % args[1])
t.is_(d.stop(), 0, "clean stop")
t.done()
