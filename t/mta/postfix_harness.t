#!/usr/bin/python3
"""The private-Postfix harness (t/lib/postfix.py) does what MTA tests
rely on: delivers what was sent unchanged, tempfails when the milter is
down, authenticates SASL users, shows held messages, and can be started
more than once in one test."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import amtest  # noqa: E402
from postfix import Postfix  # noqa: E402

# Header and body lines an MTA might be tempted to touch: a folded
# header, a line starting with a dot (dot-stuffing), trailing white space,
# a body line starting with "From " (mbox quoting) and an empty line.
MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: Bob <bob@example.net>\r\n"
    b"Subject: harness check\r\n"
    b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
    b"Message-ID: <harness.1@example.com>\r\n"
    b"X-Folded: first part\r\n"
    b"\tsecond part \r\n"
    b"\r\n"
    b"Hello Bob.\r\n"
    b".a line that starts with a dot\r\n"
    b"From the body, not a separator\r\n"
    b"trailing spaces   \r\n"
    b"\r\n"
    b"last line\r\n")


def split_received(msg):
    """(first header field with its folded lines, rest of the message)."""
    m = re.match(rb"(Received:[^\n]*\n(?:[ \t][^\n]*\n)*)", msg or b"")
    if not m:
        return None, msg
    return m.group(1), msg[m.end():]


def check_plain_delivery(t):
    """(a) No milter: the message arrives with every header and the body
    byte for byte (Unix line ends), below Postfix's own Received."""
    pf = Postfix(t).start()
    code, text = pf.send(MESSAGE)
    t.is_(code, 250, "plain: message accepted with 250")
    t.like(text, r"queued as", "plain: reply names the queue id")
    got = pf.wait_delivered()
    t.ok(got is not None, "plain: message was delivered")
    received, rest = split_received(got)
    t.ok(received is not None, "plain: Postfix added a Received header first")
    t.like((received or b"").decode(), r"by mx\.test\.example \(Postfix\)",
           "plain: Received names the test MTA")
    t.like((received or b"").decode(), r"\[127\.0\.0\.5\]",
           "plain: Received shows the chosen source address")
    t.is_(rest, MESSAGE.replace(b"\r\n", b"\n"),
          "plain: headers and body delivered byte for byte")
    t.is_(len(pf.delivered()), 1, "plain: exactly one delivery")
    t.is_(pf.submit(MESSAGE), 0,
          "plain: local submission accepted by sendmail")
    _, rest = split_received(pf.wait_delivered())
    t.is_(rest, MESSAGE.replace(b"\r\n", b"\n"),
          "plain: locally submitted message delivered unchanged")
    pf.stop()


def check_milter_down(t):
    """(b) A milter that nobody listens on, with the default action
    tempfail: the client gets 4xx and nothing is delivered."""
    port = amtest.free_port()
    pf = Postfix(t, milter="inet:127.0.0.1:%d" % port).start()
    code, text = pf.send(MESSAGE)
    t.ok(400 <= code < 500, "milter down: message tempfailed (got %s %s)"
         % (code, text))
    t.is_(pf.wait_delivered(timeout=3), None,
          "milter down: nothing was delivered")
    t.like(pf.log(), r"connect to Milter service inet:127\.0\.0\.1:%d" % port,
           "milter down: Postfix logged the milter connection failure")
    pf.stop()


def check_non_smtpd_milter_down(t):
    """A non_smtpd_milters entry that nobody listens on holds back local
    submissions only: SMTP mail still flows."""
    port = amtest.free_port()
    pf = Postfix(t, non_smtpd_milter="inet:127.0.0.1:%d" % port).start()
    t.is_(pf.submit(MESSAGE), 0, "non-smtpd milter down: sendmail queued it")
    t.is_(pf.wait_delivered(timeout=3), None,
          "non-smtpd milter down: submission not delivered")
    code, _ = pf.send(MESSAGE)
    t.is_(code, 250, "non-smtpd milter down: SMTP still accepted")
    t.ok(pf.wait_delivered() is not None,
         "non-smtpd milter down: SMTP message delivered")
    pf.stop()


def check_sasl(t):
    """(c) SMTP AUTH against the private sasldb: the right password is
    accepted (and the Received says ESMTPA), a wrong one gets 535."""
    pf = Postfix(t, sasl_users={"alice": "secret"}).start()
    code, text = pf.send(MESSAGE, auth=("alice", "secret"))
    t.is_(code, 250, "sasl: authenticated submission accepted")
    got = pf.wait_delivered()
    received, _ = split_received(got)
    t.like((received or b"").decode(), r"with ESMTPA",
           "sasl: Received records an authenticated session")
    code, text = pf.send(MESSAGE, auth=("alice", "wrong"))
    t.is_(code, 535, "sasl: wrong password rejected with 535")
    code, text = pf.send(MESSAGE, auth=("mallory", "secret"))
    t.is_(code, 535, "sasl: unknown user rejected with 535")
    t.is_(pf.wait_delivered(timeout=2), None,
          "sasl: nothing delivered for failed logins")
    pf.stop()


def check_hold(t):
    """(d) A header_checks HOLD puts the message in the hold queue,
    where held() finds it, and it is not delivered."""
    d = amtest.tmpdir(t)
    checks = os.path.join(d, "header_checks")
    with open(checks, "w") as f:
        f.write("/^X-Quarantine:/ HOLD held by the harness test\n")
    pf = Postfix(t, main_extra={"header_checks": "regexp:" + checks}).start()
    code, text = pf.send(b"X-Quarantine: yes\r\n" + MESSAGE)
    t.is_(code, 250, "hold: message accepted with 250")
    qid = text.split()[-1] if "queued as" in text else None
    held = amtest.wait_for(pf.held, 10)
    t.is_(len(held), 1, "hold: one message in the hold queue")
    t.is_(held[0][0] if held else None, qid,
          "hold: held queue id matches the 250 reply")
    body = held[0][1] if held else b""
    t.ok(b"X-Quarantine: yes\n" in body and b"Hello Bob." in body,
         "hold: held message has its headers and body")
    t.is_(pf.wait_delivered(timeout=2), None,
          "hold: held message not delivered")
    pf.stop()


def check_two_in_a_row(t):
    """(e) Two instances one after the other: each starts, delivers on
    its own port and directories, and stop leaves no master behind."""
    roots = []
    for n in (1, 2):
        pf = Postfix(t).start()
        roots.append(pf.root)
        pid = pf.master_pid()
        code, _ = pf.send(MESSAGE)
        t.is_(code, 250, "instance %d: message accepted" % n)
        t.ok(pf.wait_delivered() is not None, "instance %d: delivered" % n)
        pf.stop()
        t.ok(not os.path.exists("/proc/%d" % pid),
             "instance %d: master process gone after stop" % n)
        t.ok(not amtest.port_open(pf.host, pf.port),
             "instance %d: port closed after stop" % n)
    t.ok(roots[0] != roots[1], "instances: each had its own directory")


def main():
    t = amtest.Tap()
    t.need_root()
    t.need_tools("postfix", "postcat", "saslpasswd2")
    check_plain_delivery(t)
    check_milter_down(t)
    check_non_smtpd_milter_down(t)
    check_sasl(t)
    check_hold(t)
    check_two_in_a_row(t)
    t.done()


main()
