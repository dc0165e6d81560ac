#!/usr/bin/python3
"""dns.c against a real unbound on loopback, through t/lib/dnsq.

Checks the statuses (ok / nxdomain / nodata / temperror / permerror), the
rdata decoding of every type the daemon asks for, the deadline on a server
that never answers, and the in-process cache and query joining.
"""
import ipaddress
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import amtest  # noqa: E402
import unbound  # noqa: E402

t = amtest.Tap()
t.need_tools("unbound")
DNSQ = amtest.build("t", "lib", "dnsq")
if not os.path.exists(DNSQ):
    t.bail("%s is not built (make t/lib/dnsq)" % DNSQ)

V6 = "2001:db8::25"
V6_PTR = ipaddress.ip_address(V6).reverse_pointer
LONG = "v=DKIM1; k=rsa; p=" + "".join(chr(ord("A") + i % 26)
                                       for i in range(400))
LONG_PARTS = [LONG[i:i + 255] for i in range(0, len(LONG), 255)]

RECORDS = [
    "a.example.test. 300 IN A 192.0.2.10",
    "a.example.test. 300 IN AAAA 2001:db8::10",
    "example.test. 300 IN MX 10 mx1.example.test.",
    "example.test. 300 IN MX 20 mx2.example.test.",
    "5.0.0.127.in-addr.arpa. 300 IN PTR mail.example.test.",
    "%s. 300 IN PTR host6.example.test." % V6_PTR,
    'two.example.test. 300 IN TXT "v=spf1 " "-all"',
    "long.example.test. 300 IN TXT " +
    " ".join('"%s"' % p for p in LONG_PARTS),
    "alias.example.test. 300 IN CNAME a.example.test.",
]

ub = unbound.Unbound(t, records=RECORDS,
                     refuse_zones=["refused.test."]).start()
tmp = amtest.tmpdir(t)
CONF = ub.client_conf(os.path.join(tmp, "libunbound.conf"))

LINE = re.compile(r"^(\S+) (\S+) (\S+) ttl=(\d+) ms=(\d+)(.*)$")


def parse(line):
    """One dnsq line as a dict: name, type, status, ttl, ms, why, secure, rr."""
    m = LINE.match(line)
    if m is None:
        return {"line": line, "status": None}
    r = {"name": m.group(1), "type": m.group(2), "status": m.group(3),
         "ttl": int(m.group(4)), "ms": int(m.group(5)), "why": "",
         "secure": False, "rr": []}
    rest = m.group(6)
    if rest.startswith(" why="):
        r["why"] = rest[5:]  # errors carry no rdata, so the rest is why
        return r
    if rest.startswith(" secure"):
        r["secure"] = True
        rest = rest[7:]
    if rest.startswith(" "):
        r["rr"] = rest[1:].split(" | ")
    return r


def dnsq(*queries, servers=None, timeout_ms=3000, repeat=False):
    """Run dnsq; return (exit code, parsed lines, stats dict, stderr)."""
    cmd = [DNSQ, "-t", str(timeout_ms), "-c", CONF]
    for s in servers or [ub.server]:
        cmd += ["-s", s]
    if repeat:
        cmd.append("-R")
    p = subprocess.run(cmd + list(queries), capture_output=True, text=True,
                       timeout=60)
    lines, stats = [], {}
    for line in p.stdout.splitlines():
        if line.startswith("stats "):
            stats = {k: int(v) for k, v in
                     (x.split("=") for x in line.split()[1:])}
        else:
            lines.append(parse(line))
    if p.returncode != 0 or p.stderr:
        t.diag("dnsq exit %d: %s" % (p.returncode, p.stderr.strip()))
    return p.returncode, lines, stats, p.stderr


def answers(*queries, **kw):
    rc, lines, _, _ = dnsq(*queries, **kw)
    t.is_(rc, 0, "dnsq %s exits 0" % " ".join(queries[:2]))
    return lines + [{"status": None}] * (len(queries) // 2 - len(lines))


# ---- records of every type, in one batch --------------------------------
a, aaaa, mx, ptr4, ptr6, txt2, txtlong, cname = answers(
    "a.example.test", "A",
    "A.Example.Test.", "AAAA",
    "example.test", "MX",
    "5.0.0.127.in-addr.arpa", "PTR",
    V6_PTR, "PTR",
    "two.example.test", "TXT",
    "long.example.test", "TXT",
    "alias.example.test", "A")
t.is_((a["status"], a["rr"]), ("ok", ["192.0.2.10"]), "A record")
t.is_(a["ttl"], 300, "A record keeps its TTL")
t.is_((aaaa["status"], aaaa["rr"]), ("ok", ["2001:db8::10"]),
      "AAAA record (name given in upper case with a trailing dot)")
t.is_((mx["status"], sorted(mx["rr"])),
      ("ok", ["10 mx1.example.test", "20 mx2.example.test"]),
      "MX records: preference and exchange name")
t.is_((ptr4["status"], ptr4["rr"]), ("ok", ["mail.example.test"]),
      "PTR for 127.0.0.5 (a built-in zone of libunbound, forwarded)")
t.is_((ptr6["status"], ptr6["rr"]), ("ok", ["host6.example.test"]),
      "PTR for %s (ip6.arpa nibbles, documentation prefix)" % V6)
t.is_((txt2["status"], txt2["rr"]), ("ok", ['"v=spf1 -all"']),
      "TXT with two strings comes back concatenated")
t.is_(len(LONG_PARTS) > 1, True, "the long TXT is split in the zone")
t.is_((txtlong["status"], txtlong["rr"]), ("ok", ['"%s"' % LONG]),
      "TXT longer than 255 bytes comes back whole (%d bytes)" % len(LONG))
t.is_((cname["status"], cname["rr"]), ("ok", ["192.0.2.10"]),
      "CNAME is followed to the A record")

# ---- negative answers and errors ----------------------------------------
nx, nodata, refused, bad = answers(
    "nx.example.test", "A",
    "a.example.test", "TXT",
    "x.refused.test", "A",
    "bad..name.test", "A")
t.is_(nx["status"], "nxdomain", "a name that does not exist is NXDOMAIN")
t.is_(nodata["status"], "nodata",
      "a name without records of the type is NODATA, not NXDOMAIN")
t.ok(nx["ttl"] > 0 and nodata["ttl"] > 0,
     "negative answers carry a TTL (got %s, %s)" % (nx.get("ttl"),
                                                     nodata.get("ttl")))
t.is_(refused["status"], "temperror",
      "a zone the server refuses is a temporary error")
t.like(refused["why"], r"^(REFUSED|SERVFAIL)$",
       "the refusal says why (libunbound reports it as SERVFAIL)")
t.is_((bad["status"], bad["why"]), ("permerror", "bad name"),
      "an empty label is refused before any query")

# ---- a server that never answers ----------------------------------------
dead = unbound.DeadServer(t)
start = time.monotonic()
rc, lines, _, _ = dnsq("a.example.test", "A", servers=[dead.server],
                       timeout_ms=300)
wall = time.monotonic() - start
to = lines[0] if lines else {"status": None, "why": None, "ms": -1}
t.is_((rc, to["status"], to["why"]), (0, "temperror", "timeout"),
      "a dead server gives temperror why=timeout")
t.ok(250 <= to["ms"] <= 1500,
     "the 300 ms deadline holds (ms=%s)" % to["ms"])
t.ok(wall < 10, "dnsq exits promptly with the query still out (%.1fs)" % wall)

# ---- the cache: a repeated batch is answered without asking again --------
cacheable = ["a.example.test", "A", "example.test", "MX",
             "nx.example.test", "A", "a.example.test", "TXT",
             "two.example.test", "TXT"]
n = len(cacheable) // 2
rc, lines, st, _ = dnsq(*(cacheable + ["y.refused.test", "A"]), repeat=True)
t.is_(rc, 0, "dnsq -R exits 0")
t.is_(len(lines), 2 * (n + 1), "dnsq -R prints both batches")
t.is_([x["status"] for x in lines[:n + 1]],
      [x["status"] for x in lines[n + 1:]],
      "the repeated batch gets the same statuses")
t.is_(st.get("queries"), 2 * (n + 1), "stats: every dns_start is counted")
t.is_(st.get("cache_hits"), n,
      "stats: each cacheable answer (ok, nxdomain, nodata) is a cache hit")
t.is_(st.get("sent"), n + 2,
      "stats: sent does not grow for cached answers (the temperror is "
      "asked again)")

rc, lines, st, _ = dnsq("a.example.test", "A", "a.example.test", "A",
                        repeat=True)
t.is_([x["status"] for x in lines], ["ok"] * 4,
      "identical queries in a batch both get the answer")
t.is_((st.get("joined"), st.get("sent"), st.get("cache_hits")), (1, 1, 2),
      "the second identical query joins the first (joined=1, sent=1)")

# ---- setup errors --------------------------------------------------------
rc, _, _, err = dnsq("a.example.test", "A", servers=["not-an-address"])
t.is_(rc, 2, "a bad forwarder address fails setup with exit 2")
t.like(err, r"not-an-address", "the setup error names the bad server")

t.done()
