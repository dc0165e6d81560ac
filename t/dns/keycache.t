#!/usr/bin/python3
"""keycache.c against a real unbound on loopback.

Serves DKIM key records in keys.test (a good RSA key split across
255-byte strings as published, Ed25519 keys, a record split mid-token, a
name with a garbage TXT record beside a good one, a revoked key, bad key
data, a name without TXT, a missing name, a key with TTL 1) and a zone
that answers REFUSED, then runs t/unit/keycache_test with KEYCACHE_DNS
and KEYCACHE_UBCONF set, which turns on its live part: outcomes, the
cache (second lookups send nothing), shared lookups, TTL expiry,
eviction while a key is in use, and four threads on one cache.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import amtest  # noqa: E402
import unbound  # noqa: E402

t = amtest.Tap()
t.need_tools("unbound")
TEST = amtest.build("t", "unit", "keycache_test")
if not os.path.exists(TEST):
    t.bail("%s is not built (make t/unit/keycache_test)" % TEST)


def key_file(name):
    with open(amtest.src("t", "data", "keys", name)) as f:
        return f.read().strip()


def txt(name, strings, ttl=300):
    """A TXT record line with each string quoted."""
    return "%s._domainkey.keys.test. %d IN TXT %s" % (
        name, ttl, " ".join('"%s"' % s for s in strings))


def split255(s):
    return [s[i:i + 255] for i in range(0, len(s), 255)]


RSA = key_file("rsa2048.dns")          # dknewkey's record, 420 characters
ED = key_file("ed25519-seed.dns")      # dknewkey --ktype ed25519
BRISBANE = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="  # RFC 8463 A.2
SPLIT = ["v=DKIM1; k=ed", "25519; p=11qYAY", BRISBANE[6:]]

RECORDS = [
    txt("rsa", split255(RSA)),
    txt("ed", [ED]),
    txt("split", SPLIT),
    txt("split2", SPLIT),
    txt("two", ["hello world"]),
    txt("two", ["v=DKIM1; k=ed25519; t=y; p=" + BRISBANE]),
    txt("revoked", ["v=DKIM1; k=rsa; p="]),
    txt("bad", ["v=DKIM1; k=rsa; p=!!!!"]),
    txt("empty", [""]),
    "nodata._domainkey.keys.test. 300 IN A 192.0.2.1",
    txt("short", [ED], ttl=1),
]

t.ok(len(RSA) > 255, "the RSA record needs several strings (%d)" % len(RSA))
ub = unbound.Unbound(t, records=RECORDS,
                     refuse_zones=["refused.test."]).start()
tmp = amtest.tmpdir(t)
conf = ub.client_conf(os.path.join(tmp, "libunbound.conf"))

env = dict(os.environ, KEYCACHE_DNS=ub.server, KEYCACHE_UBCONF=conf,
           T_SRCDIR=amtest.SRCDIR)
p = subprocess.run([TEST], env=env, capture_output=True, text=True,
                   timeout=300)
lines = p.stdout.splitlines()
for line in lines:
    m = re.match(r"^(ok|not ok) \d+ - (.*)$", line)
    if m:
        t.ok(m.group(1) == "ok", "keycache_test: " + m.group(2))
    elif line.startswith("#"):
        t.diag(line[1:].strip())
t.ok(any("live rsa._domainkey.keys.test" in x for x in lines),
     "the live part ran")
t.ok(any("threads:" in x and "lookups" in x for x in lines),
     "the threaded part ran")
t.is_(p.returncode, 0, "keycache_test exits 0")
t.is_(p.stderr, "", "keycache_test writes nothing to stderr")
if p.returncode != 0:
    with open(ub.log, errors="replace") as f:
        t.diag(f.read()[-3000:])
t.done()
