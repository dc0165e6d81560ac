#!/usr/bin/python3
# The files operators install from contrib/ say what the daemon and the
# tests rely on: the Postfix snippet (which t/lib/postfix.py builds its
# configuration from) defers mail when the milter fails and passes
# {auth_authen}; the Sendmail snippet uses F=T and the macros; the systemd
# unit runs the daemon in the foreground with the hardening it needs.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest

t = amtest.Tap()


def read(*p):
    with open(amtest.src(*p)) as f:
        return f.read()


pf = {}
for line in read("contrib", "postfix", "main.cf.snippet").splitlines():
    if line.strip() and not line.startswith("#"):
        k, v = line.split("=", 1)
        pf[k.strip()] = v.strip()
t.is_(pf.get("milter_default_action"), "tempfail", "postfix: milter_default_action = tempfail")
t.is_(pf.get("milter_protocol"), "6", "postfix: milter_protocol = 6")
t.like(pf.get("smtpd_milters"), r"^inet:127\.0\.0\.1:8891$", "postfix: smtpd_milters at the default listen address")
t.ok("non_smtpd_milters" in pf, "postfix: non_smtpd_milters set")
t.like(pf.get("milter_mail_macros"), r"\{auth_authen\}", "postfix: {auth_authen} at MAIL FROM")
t.like(pf.get("milter_mail_macros"), r"(^| )i( |$)", "postfix: the queue id macro i")

mc = read("contrib", "sendmail", "authmilter.mc") if os.path.exists(
    amtest.src("contrib", "sendmail", "authmilter.mc")) else ""
t.like(mc, r"INPUT_MAIL_FILTER\(`authmilter', `S=inet:8891@127\.0\.0\.1, F=T",
       "sendmail: INPUT_MAIL_FILTER with F=T (tempfail when the milter is down)")
t.like(mc, r"confMILTER_MACROS_ENVFROM'[^\n]*\{auth_authen\}", "sendmail: {auth_authen} at MAIL FROM")

unit = read("contrib", "systemd", "authmilter.service.in")
for key, pattern in [("ExecStart", r"@sbindir@/authmilter -f -c @sysconfdir@/authmilter/policy\.json"),
                     ("ExecReload", r"/bin/kill -HUP \$MAINPID"), ("User", r"authmilter"),
                     ("RuntimeDirectory", r"authmilter"), ("NoNewPrivileges", r"yes"),
                     ("ProtectSystem", r"strict"), ("PrivateTmp", r"yes")]:
    t.like(unit, r"(?m)^%s=%s" % (key, pattern), "systemd: %s" % key)
t.like(read("contrib", "systemd", "authmilter.sysusers"), r"(?m)^u authmilter ", "sysusers: the user")
t.like(read("contrib", "systemd", "authmilter.tmpfiles.in"), r"(?m)^d @sysconfdir@/authmilter/keys 0750 ", "tmpfiles: private key directory")
t.done()
