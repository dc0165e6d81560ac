#!/usr/bin/python3
"""The SPF test suites (RFC 7208, RFC 4408, pyspf's extra cases) through
spf_check.c and dns.c, by way of t/lib/spfq.

Every scenario's zone data is served by SuiteDNS, a small DNS server on
loopback that answers from the YAML exactly as the suite's reference
harness (pyspf's testspf.py) reads it; libunbound (dns.c) forwards to it.
Why not a real unbound: see t/conformance/README.  Each test is one spfq
run (a fresh resolver, so no cache crosses tests), and passes when the
result is one of the accepted ones, the explanation (when the suite gives
one) matches, and the Authentication-Results resinfo says the same result.

Prints "# rfc7208: N/M passed" (and the same for the other suites), one
TAP test per case named suite: scenario/test, and every failure with what
was expected and what came back.
"""
import concurrent.futures
import os
import socket
import struct
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import amtest  # noqa: E402
import unbound  # noqa: E402

t = amtest.Tap()
SUITES = os.path.join(amtest.CONFORMANCE, "spf-test-suite")
if not os.path.isdir(SUITES):
    t.skip_all("no SPF test suite at %s" % SUITES)
try:
    import yaml
    import dnslib
except ImportError as e:
    if amtest.IN_CI:
        t.bail("python3-yaml and python3-dnslib are needed: %s" % e)
    t.skip_all("python3-yaml and python3-dnslib are needed: %s" % e)
SPFQ = amtest.build("t", "lib", "spfq")
if not os.path.exists(SPFQ):
    if amtest.IN_CI:
        t.bail("%s is not built (make t/lib/spfq)" % SPFQ)
    t.skip_all("%s is not built (make t/lib/spfq)" % SPFQ)

DNS_TIMEOUT_MS = 1000   # per query: a TIMEOUT entry costs this much
EVAL_TIMEOUT_MS = 8000  # the whole evaluation
TTL = 300

# Cases run as TAP TODO: reported (and listed as failures when they fail)
# but not counted against the run.  Two kinds:
#  - pyspf-extra cases for pyspf's own non-RFC modes, with the suite's
#    own words for why;
#  - the rfc7208 case our DNS stack cannot deliver as the suite means it
#    (see t/conformance/README); spf_eval passes it when the data reaches
#    it (t/unit/spf_test.c).
NULL_TEXT = ("libunbound answers SERVFAIL for an RRset holding a TXT record "
             "with no character-strings (RFC 1035 section 3.3.14 wants one "
             "or more), so dns.c reports temperror; given that data directly,"
             " spf_eval returns pass (t/unit/spf_test.c 'null text')")
TODO = {
    ("rfc7208", "null-text"): NULL_TEXT,
    ("pyspf-extra", "default-modifier"):
        "pyspf's lax mode (strict: 0) honours the obsolete default= "
        "modifier; RFC 7208 section 6 ignores unknown modifiers "
        "(rfc7208-tests.yml default-modifier-obsolete expects neutral)",
    ("pyspf-extra", "default-modifier-harsh"):
        "pyspf's harsh mode (strict: 2) answers 'ambiguous', which is not "
        "an RFC 7208 result (section 2.6)",
}


# ---- zone data as pyspf's test harness reads it --------------------------

def rdata_items(rrs):
    """The (type, value) list of one name, and 'TIMEOUT' markers, in
    order.  As in testspf.py: "NONE" values are dropped, and SPF records
    are copied to TXT (appended at the end) unless the name has a TXT
    entry of its own."""
    items, generated, has_txt = [], [], False
    for rr in rrs:
        if not isinstance(rr, dict):
            items.append(rr)  # 'TIMEOUT'
            continue
        for typ, val in rr.items():
            if typ == "TXT":
                has_txt = True
            elif typ == "SPF":
                generated.append(("TXT", val))
            if val != "NONE":
                items.append((typ, val))
    return items + ([] if has_txt else generated)


class Zone:
    def __init__(self, zonedata):
        self.names = {}
        for name, rrs in (zonedata or {}).items():
            self.names[name.lower().rstrip(".")] = rdata_items(rrs or [])

    def lookup(self, name, qtype):
        """('ok', [values]) / ('nxdomain', []) / ('timeout', []) /
        ('cname', target), following testspf.py's DNSLookup: a TIMEOUT
        marker times out a type not seen before it and ends the list for
        one that was."""
        key = name.lower().rstrip(".")
        if key not in self.names:
            return ("timeout" if key.startswith("error.") else "nxdomain",
                    [])
        found, seen = [], False
        for item in self.names[key]:
            if item == "TIMEOUT":
                if not seen:
                    return ("timeout", [])
                break
            typ, val = item
            if typ == qtype:
                seen = True
                if val == "TIMEOUT":
                    return ("timeout", [])
                found.append(val)
            elif typ == "CNAME" and qtype != "CNAME":
                return ("cname", val)
        return ("ok", found)


def txt_strings(val):
    strings = val if isinstance(val, list) else [val]
    return [s.encode("utf-8") for s in strings]


def make_rr(owner, typ, val):
    Q = dnslib.QTYPE
    if typ == "A":
        rdata = dnslib.A(val)
    elif typ == "AAAA":
        rdata = dnslib.AAAA(val)
    elif typ == "MX":
        rdata = dnslib.MX(val[1] or ".", val[0])
    elif typ in ("PTR", "CNAME"):
        rdata = getattr(dnslib, typ)(val or ".")
    elif typ in ("TXT", "SPF"):
        rdata = dnslib.TXT(txt_strings(val))
    else:
        return None
    return dnslib.RR(owner, getattr(Q, typ), rdata=rdata, ttl=TTL)


# ---- the server ----------------------------------------------------------

class SuiteDNS:
    """Answers from the current Zone on loopback, UDP and TCP, like a
    recursive resolver would: CNAMEs followed (a loop is SERVFAIL),
    NXDOMAIN / NODATA with an SOA, and no answer at all for TIMEOUT."""

    def __init__(self, tap):
        self.zone = Zone({})
        self.port = amtest.free_port_both()
        self.server = "127.0.0.1@%d" % self.port
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        self.stopping = False
        for fn in (self.serve_udp, self.serve_tcp):
            threading.Thread(target=fn, daemon=True).start()
        tap.cleanup(self.stop)

    def stop(self):
        self.stopping = True
        self.udp.close()
        self.tcp.close()

    def resolve(self, qname, qtype):
        """(rcode, answer RRs), or None for no answer."""
        answers, name, seen = [], qname, set()
        while True:
            if name.lower() in seen or len(seen) > 8:
                return (dnslib.RCODE.SERVFAIL, [])
            seen.add(name.lower())
            status, val = self.zone.lookup(name, qtype)
            if status == "timeout":
                return None
            if status == "nxdomain":
                return (dnslib.RCODE.NXDOMAIN, answers)
            if status == "cname":
                answers.append(make_rr(name, "CNAME", val))
                if not val:
                    return (dnslib.RCODE.NOERROR, answers)
                name = val.rstrip(".")
                continue
            rrs = [make_rr(name, qtype, v) for v in val]
            return (dnslib.RCODE.NOERROR, answers + [r for r in rrs if r])

    def answer(self, data, limit):
        try:
            req = dnslib.DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage is dropped
            return None
        if not req.questions:
            return None
        q = req.questions[0]
        # The labels as sent: str() would escape a space as "\\032".
        qname = ".".join(x.decode("latin-1") for x in q.qname.label)
        qtype = dnslib.QTYPE.get(q.qtype)
        got = self.resolve(qname, qtype)
        if got is None:
            return None
        rcode, answers = got
        reply = req.reply()
        reply.header.rcode = rcode
        for rr in answers:
            reply.add_answer(rr)
        if rcode != dnslib.RCODE.NOERROR or not answers or \
                answers[-1].rtype == dnslib.QTYPE.CNAME:
            reply.add_auth(dnslib.RR(".", dnslib.QTYPE.SOA, ttl=TTL,
                                     rdata=dnslib.SOA("ns.test.",
                                                      "hostmaster.test.",
                                                      (1, 3600, 600, 86400,
                                                       60))))
        edns = [r for r in req.ar if r.rtype == dnslib.QTYPE.OPT]
        if edns:
            reply.add_ar(dnslib.EDNS0(udp_len=4096))
            limit = max(512, min(limit, edns[0].rclass)) if limit else 0
        wire = reply.pack()
        if limit and len(wire) > limit:
            reply.rr = []
            reply.auth = []
            reply.header.tc = 1
            wire = reply.pack()
        return wire

    def serve_udp(self):
        while not self.stopping:
            try:
                data, peer = self.udp.recvfrom(65535)
            except OSError:
                return
            wire = self.answer(data, 512)
            if wire is not None:
                try:
                    self.udp.sendto(wire, peer)
                except OSError:
                    pass

    def serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self.tcp_conn, args=(conn,),
                             daemon=True).start()

    def tcp_conn(self, conn):
        with conn:
            while True:
                head = self.recv_all(conn, 2)
                if head is None:
                    return
                data = self.recv_all(conn, struct.unpack(">H", head)[0])
                if data is None:
                    return
                wire = self.answer(data, 0)
                if wire is not None:
                    conn.sendall(struct.pack(">H", len(wire)) + wire)

    @staticmethod
    def recv_all(conn, n):
        buf = b""
        while len(buf) < n:
            try:
                part = conn.recv(n - len(buf))
            except OSError:
                return None
            if not part:
                return None
            buf += part
        return buf


# ---- running the suites --------------------------------------------------

def spfq(dns, conf, test):
    cmd = [SPFQ, "-s", dns.server, "-c", conf, "-t", str(DNS_TIMEOUT_MS),
           "-T", str(EVAL_TIMEOUT_MS), str(test["host"]), str(test["helo"]),
           str(test["mailfrom"] or "")]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    out = {"exit": p.returncode, "stderr": p.stderr.decode(errors="replace")}
    for line in p.stdout.decode(errors="replace").splitlines():
        key, _, val = line.partition(": ")
        out[key] = val
    return out


def explanation_of(got):
    """The explanation spfq's reply carries: 'DEFAULT' for our own text,
    else the domain's text after "<domain> explains: "."""
    reply = got.get("reply", "")
    if reply.startswith("SPF check of "):
        return "DEFAULT"
    return reply.partition(" explains: ")[2] if " explains: " in reply \
        else reply


def judge(test, got):
    """(passed, problems, remark)."""
    want = test["result"] if isinstance(test["result"], list) \
        else [test["result"]]
    res = got.get("result")
    problems, remark = [], None
    if got["exit"] != 0:
        problems.append("spfq exit %d: %s" % (got["exit"],
                                              got["stderr"].strip()))
    if res not in want:
        problems.append("result %s, want %s" % (res, " or ".join(want)))
    if not got.get("ar", "").startswith("spf=%s" % res):
        problems.append("A-R %r does not say spf=%s" % (got.get("ar"), res))
    if "explanation" in test and res == "fail":
        exp, wexp = explanation_of(got), test["explanation"]
        if exp != wexp and exp.lower() == wexp.lower():
            remark = ("explanation differs only in letter case: %r, suite "
                      "%r (the %%{i} nibbles of an IPv6 address: RFC 7208 "
                      "section 7.4 writes them in lower case, the suite "
                      "follows pyspf's upper case)" % (exp, wexp))
        elif exp != wexp:
            problems.append("explanation %r, want %r" % (exp, wexp))
    return (not problems, problems, remark)


def tap_line(ok, name, directive=None):
    t.n += 1
    line = ("ok" if ok else "not ok") + " %d - %s" % (t.n, name)
    if directive:
        line += " # " + directive
    elif not ok:
        t.failed += 1
    print(line)


def run_suite(label, path, dns, conf):
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    total = passed = 0
    failures = []
    for doc in docs:
        scenario = (doc.get("description") or doc.get("comment") or
                    "scenario").strip().splitlines()[0]
        dns.zone = Zone(doc.get("zonedata"))
        tests = list(doc["tests"].items())
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda kv: spfq(dns, conf, kv[1]),
                                    tests))
        for (tid, test), got in zip(tests, results):
            total += 1
            ok, problems, remark = judge(test, got)
            name = "%s: %s/%s" % (label, scenario, tid)
            why = TODO.get((label, tid))
            tap_line(ok, name, ("TODO " + why) if why else None)
            if ok:
                passed += 1
            else:
                failures.append((name, problems, why))
            if remark:
                t.diag("%s: %s" % (tid, remark))
            for p in problems:
                t.diag("  %s" % p)
            if problems and got.get("reason"):
                t.diag("  reason: %s" % got["reason"])
    t.diag("%s: %d/%d passed" % (label, passed, total))
    for name, problems, why in failures:
        t.diag("FAILED %s: %s%s" % (name, "; ".join(problems),
                                    " (known, TODO: %s)" % why if why
                                    else ""))


# ---- spf_check's own output, through spfq --------------------------------

CHECK_ZONE = {
    "example.com": [{"SPF": "v=spf1 ip4:192.0.2.1 -all exp=why.example.com"}],
    "why.example.com": [{"TXT": "%{l} may not send from %{i}"}],
    "local.example.com": [{"SPF": "v=spf1 exists:%{l}.users.example.com "
                                  "-all"}],
    "bob.users.example.com": [{"A": "127.0.0.2"}],
    "helo.example.com": [{"SPF": "v=spf1 a -all"}, {"A": "192.0.2.9"}],
    "broken.example.com": [{"SPF": "v=spf1 a:museum"}],
    "slow.example.com": ["TIMEOUT"],
}

# (name, spfq options, ip, helo, mailfrom, expected "ar:" line, reply)
CHECK_CASES = [
    ("pass", [], "192.0.2.1", "h.example.net", "alice@example.com",
     "spf=pass smtp.mailfrom=example.com", None),
    ("pass, synchronous", ["-S"], "192.0.2.1", "h.example.net",
     "alice@example.com", "spf=pass smtp.mailfrom=example.com", None),
    ("null sender", [], "192.0.2.1", "example.com", "",
     "spf=pass smtp.mailfrom=example.com", None),
    ("fail with explanation", [], "198.51.100.1", "h.example.net",
     "alice@example.com", "spf=fail smtp.mailfrom=example.com",
     "example.com explains: alice may not send from 198.51.100.1"),
    ("explanation sanitised", [], "198.51.100.1", "h.example.net",
     "a\x01b@example.com", "spf=fail smtp.mailfrom=example.com",
     "example.com explains: a?b may not send from 198.51.100.1"),
    ("default reply", [], "198.51.100.1", "h.example.net",
     "bob@helo.example.com", "spf=fail smtp.mailfrom=helo.example.com",
     "SPF check of helo.example.com failed for 198.51.100.1"),
    ("local-part macro", [], "192.0.2.1", "h.example.net",
     "bob@local.example.com", "spf=pass smtp.mailfrom=bob@local.example.com",
     None),
    ("helo identity", ["-H"], "192.0.2.9", "helo.example.com", "x@y.example",
     "spf=pass smtp.helo=helo.example.com", None),
    ("permerror reason", [], "192.0.2.1", "h.example.net",
     "u@broken.example.com",
     'spf=permerror reason="SPF record of broken.example.com: domain-spec '
     '\\"museum\\" lacks a valid top label" smtp.mailfrom=broken.example.com',
     None),
    ("evaluation deadline", ["-T", "300"], "192.0.2.1", "h.example.net",
     "u@slow.example.com", 'spf=temperror reason="evaluation deadline '
     'passed" smtp.mailfrom=slow.example.com', None),
]


def run_checks(dns, conf):
    dns.zone = Zone(CHECK_ZONE)
    for name, opts, ip, helo, mailfrom, ar, reply in CHECK_CASES:
        cmd = [SPFQ, "-s", dns.server, "-c", conf, "-t",
               str(DNS_TIMEOUT_MS)] + opts + [ip, helo, mailfrom]
        p = subprocess.run(cmd, capture_output=True, timeout=60)
        got = {}
        for line in p.stdout.decode(errors="replace").splitlines():
            key, _, val = line.partition(": ")
            got[key] = val
        t.is_(got.get("ar"), ar, "spfq: %s: A-R" % name)
        t.is_(got.get("reply"), reply, "spfq: %s: reply" % name)


def main():
    dns = SuiteDNS(t)
    tmp = amtest.tmpdir(t, "spf-")
    conf = unbound.write_client_conf(os.path.join(tmp, "libunbound.conf"))
    for label, rel in (("rfc7208", "rfc7208-tests.yml"),
                       ("rfc4408", "rfc4408-tests.yml"),
                       ("pyspf-extra", os.path.join("pyspf-extra",
                                                    "test.yml"))):
        path = os.path.join(SUITES, rel)
        if os.path.exists(path):
            run_suite(label, path, dns, conf)
        else:
            t.diag("%s: %s is missing, not run" % (label, path))
    run_checks(dns, conf)
    t.done()


main()
