#!/usr/bin/python3
"""authmilter-keygen: make keys, publish their records, check them.

Generates RSA and Ed25519 keys and checks the files (modes, PEM PKCS#8,
the raw seed), the printed record (character-strings of at most 255
bytes that join into "v=DKIM1; k=...; p=..." with the public key, as
openssl and dkimpy's nacl derive it) and that dkimpy signs with the key
files and verifies against the printed record.  Then a real unbound loads
the written SELECTOR.txt files verbatim into a zone file (auth-zone: a
real zone-file parser) and --check runs against it: matching keys pass,
another key's record, a missing record, a revoked key, a record of the
wrong type and a dead DNS server fail with their exit codes.  Last, the
refusals: bad options (64), existing files (73), unreadable keys (66).
"""
import base64
import os
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import amtest  # noqa: E402
import unbound  # noqa: E402

t = amtest.Tap()
t.need_tools("unbound", "openssl")
try:
    import dkim
    import dns.resolver
    import nacl.encoding
    import nacl.signing
except ImportError as e:
    if amtest.IN_CI:
        t.bail("python3-dkim / python3-nacl missing: %s" % e)
    t.skip_all("python3-dkim / python3-nacl missing: %s" % e)

KEYGEN = os.environ.get("AUTHMILTER_KEYGEN") or amtest.build(
    "milter", "authmilter-keygen")
if not os.path.exists(KEYGEN):
    t.bail("%s is not built (make milter/authmilter-keygen)" % KEYGEN)

ZONE = "zone.example"
tmp = amtest.tmpdir(t)
keys = os.path.join(tmp, "keys")
os.mkdir(keys)
sanitizer_reports = []


class Run:
    def __init__(self, p):
        self.code, self.out, self.err = p.returncode, p.stdout, p.stderr


def run(*args, timeout=120):
    p = subprocess.run([KEYGEN] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    if "Sanitizer" in p.stderr:
        sanitizer_reports.append(" ".join(args) + "\n" + p.stderr)
    return Run(p)


def parse_record(text):
    """(owner, [strings]) from the tool's zone-file lines."""
    m = re.match(r'^(\S+) IN TXT \( (.*) \) ; [^\n]*\n$', text, re.S)
    if m is None:
        return None, []
    return m.group(1), re.findall(r'"([^"]*)"', m.group(2))


def tags(record):
    return dict(x.strip().split("=", 1) for x in record.split(";")
                if x.strip())


def openssl_p(path):
    """The DER SubjectPublicKeyInfo of a PEM key, base64."""
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout",
                          "-outform", "DER"], capture_output=True,
                         check=True).stdout
    return der


def generate(name, *args):
    r = run("-d", ZONE, "-s", name, "-o", keys, *args)
    t.is_(r.code, 0, "%s: generate exits 0 (%s)" % (name, r.err.strip()))
    t.is_(r.err, "", "%s: nothing on stderr" % name)
    return r


def check_files(name, want_head):
    key = os.path.join(keys, name + ".key")
    txt = os.path.join(keys, name + ".txt")
    t.is_(stat.S_IMODE(os.stat(key).st_mode), 0o600, "%s: key mode 0600"
          % name)
    t.is_(stat.S_IMODE(os.stat(txt).st_mode), 0o644, "%s: txt mode 0644"
          % name)
    with open(key) as f:
        t.ok(f.read().startswith(want_head), "%s: key starts with %r" %
             (name, want_head))
    t.is_(sorted(x for x in os.listdir(keys) if x.startswith(name + ".")),
          [name + ".key", name + ".txt"], "%s: no temporary files left"
          % name)
    with open(txt) as f:
        return f.read()


def check_record(name, r, ktype, want_p, nstrings=None):
    owner, strings = parse_record(r.out)
    t.is_(owner, "%s._domainkey.%s." % (name, ZONE), "%s: owner name" % name)
    t.ok(strings and all(len(s.encode()) <= 255 for s in strings),
         "%s: %d strings, each <= 255 bytes (%s)" %
         (name, len(strings), [len(s) for s in strings]))
    if nstrings is not None:
        t.is_(len(strings), nstrings, "%s: %d strings" % (name, nstrings))
    rec = "".join(strings)
    t.ok(rec.startswith("v=DKIM1; k=%s; " % ktype), "%s: starts with "
         "v=DKIM1; k=%s" % (name, ktype))
    t.is_(tags(rec).get("p"), base64.b64encode(want_p).decode(),
          "%s: p= is the public key" % name)
    t.ok("h" not in tags(rec), "%s: no h= (hashes not restricted)" % name)
    return rec


MSG = (b"From: Alice <alice@zone.example>\r\nTo: bob@example.net\r\n"
       b"Subject: keygen round trip\r\nDate: Tue, 24 Nov 2026 10:00:00 "
       b"+0000\r\nMessage-ID: <kg@zone.example>\r\n\r\nHello.\r\n")


def dkimpy_roundtrip(name, keyfile, alg, published):
    """Sign MSG with dkimpy and the key file; verify it against the
    record text published (a custom dnsfunc)."""
    with open(keyfile, "rb") as f:
        priv = f.read()
    try:
        sig = dkim.sign(MSG, name.encode(), ZONE.encode(), priv,
                        signature_algorithm=alg)
    except Exception as e:  # noqa: BLE001 - report any failure
        t.ok(False, "%s: dkimpy signs with %s (%s)" % (name, keyfile, e))
        return
    t.ok(sig.startswith(b"DKIM-Signature:"), "%s: dkimpy signs" % name)

    def dnsfunc(qname, timeout=5):
        want = ("%s._domainkey.%s." % (name, ZONE)).encode()
        return published.encode() if qname == want else None
    t.ok(dkim.verify(sig + MSG, dnsfunc=dnsfunc),
         "%s: dkimpy verifies against the printed record" % name)


# --- generate ---------------------------------------------------------
r_rsa = generate("rsa1")
txt = check_files("rsa1", "-----BEGIN PRIVATE KEY-----\n")
t.is_(txt, r_rsa.out, "rsa1: SELECTOR.txt holds what was printed")
rsa_p = openssl_p(os.path.join(keys, "rsa1.key"))
rec_rsa = check_record("rsa1", r_rsa, "rsa", rsa_p, nstrings=3)
t.like(r_rsa.out, r"; DKIM key rsa1 for zone\.example, rsa 2048 bits\n$",
       "rsa1: the comment names the key")
dkimpy_roundtrip("rsa1", os.path.join(keys, "rsa1.key"), b"rsa-sha256",
                 rec_rsa)

r = generate("rsa1024", "-b", "1024")
check_files("rsa1024", "-----BEGIN PRIVATE KEY-----\n")
check_record("rsa1024", r, "rsa",
             openssl_p(os.path.join(keys, "rsa1024.key")), nstrings=2)
r = generate("rsa4096", "-t", "rsa", "--bits", "4096")
check_files("rsa4096", "-----BEGIN PRIVATE KEY-----\n")
rec = check_record("rsa4096", r, "rsa",
                   openssl_p(os.path.join(keys, "rsa4096.key")), nstrings=4)
dkimpy_roundtrip("rsa4096", os.path.join(keys, "rsa4096.key"),
                 b"rsa-sha256", rec)

r_ed = generate("ed1", "-t", "ed25519")
check_files("ed1", "-----BEGIN PRIVATE KEY-----\n")
# The raw Ed25519 key is the last 32 bytes of its SubjectPublicKeyInfo.
ed_p = openssl_p(os.path.join(keys, "ed1.key"))[-32:]
rec_ed = check_record("ed1", r_ed, "ed25519", ed_p, nstrings=2)
with open(os.path.join(keys, "ed1.key"), "rb") as f:
    try:
        dkim.sign(MSG, b"ed1", ZONE.encode(), f.read(),
                  signature_algorithm=b"ed25519-sha256")
        pem_ok = True
    except dkim.KeyFormatError:
        pem_ok = False
t.ok(not pem_ok, "ed1: dkimpy cannot read an Ed25519 PEM (why --format "
     "raw exists)")

r_raw = generate("ed2", "--type", "ed25519", "--format", "raw")
with open(os.path.join(keys, "ed2.key")) as f:
    seed = f.read()
t.like(seed, r"^[A-Za-z0-9+/]{43}=\n$", "ed2: the key file is a base64 "
       "seed and a newline")
check_files("ed2", "")
vk = nacl.signing.SigningKey(seed.strip(),
                             encoder=nacl.encoding.Base64Encoder).verify_key
rec_raw = check_record("ed2", r_raw, "ed25519", bytes(vk))
dkimpy_roundtrip("ed2", os.path.join(keys, "ed2.key"), b"ed25519-sha256",
                 rec_raw)

r = run("--record", os.path.join(keys, "rsa1.key"), "-d", ZONE, "-s",
        "rsa1")
t.is_((r.code, r.out), (0, r_rsa.out), "--record prints the same record")
r = run("--record", os.path.join(keys, "ed2.key"), "-d", ZONE, "-s", "ed2",
        "--testing")
owner, strings = parse_record(r.out)
t.ok(r.code == 0 and "".join(strings).startswith(
    "v=DKIM1; k=ed25519; t=y; p="), "--record --testing adds t=y")
r = run("--record", os.path.join(keys, "rsa1.key"), "-d", ZONE + ".", "-s",
        "rsa1")
t.is_(r.out, r_rsa.out, "a trailing dot on the domain is dropped")

# --- publish and check ------------------------------------------------
generate("other")  # a key whose record is never published under its name
other_txt = check_files("other", "-----BEGIN PRIVATE KEY-----\n")
r = generate("tst", "-t", "ed25519", "--testing")
zone_lines = [
    "$ORIGIN %s." % ZONE, "$TTL 300",
    "@ IN SOA ns hostmaster 1 3600 600 86400 60", "@ IN NS ns",
    "ns IN A 127.0.0.1",
]
for name in ("rsa1", "rsa1024", "rsa4096", "ed1", "ed2", "tst"):
    with open(os.path.join(keys, name + ".txt")) as f:
        zone_lines.append(f.read().rstrip("\n"))
zone_lines += [
    # another key's record under wrong's name
    other_txt.replace("other._domainkey", "wrong._domainkey").rstrip("\n"),
    'revoked._domainkey IN TXT "v=DKIM1; k=rsa; p="',
    'notkey._domainkey IN TXT "v=spf1 -all"',
    'nodata._domainkey IN A 127.0.0.1',
    # an Ed25519 record where the RSA key file is checked
    r_ed.out.replace("ed1._domainkey", "mixed._domainkey").rstrip("\n"),
    'badkey._domainkey IN TXT "v=DKIM1; k=rsa; p=AAAA"',
]
# The same key under records a verifier refuses, and a key too small.
for name, repl in (("sha1only", "k=rsa; h=sha1; "),
                   ("tlsrpt", "k=rsa; s=tlsrpt; ")):
    zone_lines.append(r_rsa.out.replace("rsa1._domainkey",
                                        name + "._domainkey")
                      .replace("k=rsa; ", repl).rstrip("\n"))
r = run("--record", amtest.src("t", "data", "keys", "rsa512-pkcs1.pem"),
        "-d", ZONE, "-s", "rsa512")
t.is_(r.code, 0, "--record of a 512-bit key (made elsewhere) works")
zone_lines.append(r.out.rstrip("\n"))
zonefile = os.path.join(tmp, "zone.example.zone")
with open(zonefile, "w") as f:
    f.write("\n".join(zone_lines) + "\n")
ub = unbound.Unbound(t, zones=[], extra="""
    local-zone: "%s." transparent
auth-zone:
    name: "%s."
    zonefile: "%s"
    for-downstream: yes
    for-upstream: no
""" % (ZONE, ZONE, zonefile)).start()
ubconf = ub.client_conf(os.path.join(tmp, "libunbound.conf"))
DNS = ["--dns", ub.server, "--unbound-config", ubconf]

res = dns.resolver.Resolver(configure=False)
res.nameservers, res.port = ["127.0.0.1"], ub.port
ans = res.resolve("rsa1._domainkey.%s" % ZONE, "TXT")
t.is_(b"".join(ans[0].strings).decode(), rec_rsa,
      "unbound serves the zone file's record (the .txt loads verbatim)")
t.is_(len(ans[0].strings), 3, "served as 3 character-strings")


def dnsfunc_live(qname, timeout=5):
    a = res.resolve(qname.decode(), "TXT")
    return b"".join(a[0].strings)


for name, alg in (("rsa1", b"rsa-sha256"), ("ed2", b"ed25519-sha256")):
    with open(os.path.join(keys, name + ".key"), "rb") as f:
        sig = dkim.sign(MSG, name.encode(), ZONE.encode(), f.read(),
                        signature_algorithm=alg)
    t.ok(dkim.verify(sig + MSG, dnsfunc=dnsfunc_live),
         "%s: dkimpy verifies against the published record" % name)


def check(name, keyname, *extra, timeout=60):
    return run("--check", ZONE, name, os.path.join(keys, keyname + ".key"),
               *(list(extra) or DNS), timeout=timeout)


for name, want in (("rsa1", "rsa, 2048 bits"),
                   ("rsa1024", "rsa, 1024 bits"),
                   ("rsa4096", "rsa, 4096 bits"),
                   ("ed1", "ed25519, 256 bits"),
                   ("ed2", "ed25519, 256 bits"),
                   ("tst", "ed25519, 256 bits, testing mode t=y")):
    r = check(name, name)
    t.is_((r.code, r.err), (0, ""), "--check %s passes" % name)
    t.is_(r.out, "%s._domainkey.%s: key matches %s (%s)\n" % (
        name, ZONE, os.path.join(keys, name + ".key"), want),
        "--check %s says the key matches" % name)

FAILS = [
    ("wrong", "other", None, 0), ("wrong", "rsa1", "does not match", 1),
    ("rsa1", "rsa1024", "does not match", 1),
    ("mixed", "rsa1", "does not match .*: the record has k=ed25519, the "
     "key file an rsa key", 1),
    ("ed1", "ed2", "does not match", 1),
    ("missing", "rsa1", "no key published", 1),
    ("nodata", "rsa1", "no key published", 1),
    ("notkey", "rsa1", "not usable: bad key record version", 1),
    ("revoked", "rsa1", "revoked", 1),
    ("badkey", "rsa1", "not usable: bad RSA key", 1),
    ("sha1only", "rsa1", "not usable: key does not allow sha256", 1),
    ("tlsrpt", "rsa1", "not usable: key not for email", 1),
]
for name, keyname, pattern, code in FAILS:
    r = check(name, keyname)
    if pattern is None:
        t.is_(r.code, 0, "--check %s with %s.key passes" % (name, keyname))
        continue
    t.is_(r.code, code, "--check %s with %s.key exits %d" %
          (name, keyname, code))
    t.like(r.err, r"^authmilter-keygen: %s\._domainkey\.%s: .*%s" %
           (name, re.escape(ZONE), pattern), "--check %s: %s" %
           (name, pattern))
    t.is_(r.out, "", "--check %s: nothing on stdout" % name)

r = run("--check", ZONE, "rsa512",
        amtest.src("t", "data", "keys", "rsa512-pkcs1.pem"), *DNS)
t.is_(r.code, 1, "a matching 512-bit RSA key: exit 1")
t.like(r.err, r"key matches .* but has 512 bits: verifiers refuse RSA keys "
       r"under 1024 bits \(RFC 8301\)", "... says verifiers refuse it")

dead = unbound.DeadServer(t)
r = check("rsa1", "rsa1", "--dns", dead.server, "--unbound-config", ubconf,
          "--timeout", "700")
t.is_(r.code, 2, "a DNS server that does not answer: exit 2")
t.like(r.err, r"temporary DNS failure \(key lookup: timeout\)",
       "... says temporary DNS failure")
r = check("rsa1", "rsa1", "--dns", "127.0.0.1@%d" % amtest.free_port_both(),
          "--unbound-config", ubconf, "--timeout", "700")
t.is_(r.code, 2, "a closed DNS port: exit 2 (%s)" % r.err.strip())

# --- refusals ---------------------------------------------------------
with open(os.path.join(keys, "rsa1.key")) as f:
    before = f.read()
r = run("-d", ZONE, "-s", "rsa1", "-o", keys)
t.is_(r.code, 73, "an existing key file: exit 73")
t.like(r.err, r"rsa1\.key exists: use --force", "... says use --force")
with open(os.path.join(keys, "rsa1.key")) as f:
    t.is_(f.read(), before, "... and the key file is unchanged")
os.unlink(os.path.join(keys, "rsa1024.key"))
r = run("-d", ZONE, "-s", "rsa1024", "-o", keys)
t.is_(r.code, 73, "an existing record file alone: exit 73")
t.ok(not os.path.exists(os.path.join(keys, "rsa1024.key")),
     "... and no key file was written")
r = run("-d", ZONE, "-s", "rsa1", "-o", keys, "--force")
t.is_(r.code, 0, "--force replaces the files")
with open(os.path.join(keys, "rsa1.key")) as f:
    t.ok(f.read() != before, "... with a new key")
t.is_(stat.S_IMODE(os.stat(os.path.join(keys, "rsa1.key")).st_mode), 0o600,
      "... still mode 0600")
r = check("rsa1", "rsa1")
t.is_(r.code, 1, "the replaced key no longer matches the published one")

USAGE = [
    (["-d", ZONE, "-s", "x", "-b", "1023"], "1024 \\(RFC 8301\\) to 4096"),
    (["-d", ZONE, "-s", "x", "-b", "512"], "1024 \\(RFC 8301\\) to 4096"),
    (["-d", ZONE, "-s", "x", "-b", "4097"], "not 4097"),
    (["-d", ZONE, "-s", "x", "-b", "2k"], "bad number of bits"),
    (["-d", ZONE, "-s", "x", "-t", "ed25519", "-b", "2048"], "drop -b"),
    (["-d", ZONE, "-s", "x", "-t", "dsa"], "unknown key type dsa"),
    (["-d", ZONE, "-s", "x", "--format", "raw"], "for Ed25519 keys only"),
    (["-d", ZONE, "-s", "x", "--format", "der"], "unknown key format"),
    (["-s", "x"], "-d DOMAIN and -s SELECTOR are required"),
    (["-d", ZONE], "-d DOMAIN and -s SELECTOR are required"),
    (["-d", ZONE, "-s", "a/b"], "not a valid selector: a/b"),
    (["-d", ZONE, "-s", ".."], "not a valid selector"),
    (["-d", "exa mple.com", "-s", "x"], "not a valid domain name"),
    (["-d", "bücher.example", "-s", "x"], "A-label"),
    (["-d", ZONE, "-s", "x", "extra"], "unexpected operand: extra"),
    (["-d", ZONE, "-s", "x", "--dns", "127.0.0.1"], "go with --check"),
    (["--check", ZONE, "x"], "--check needs DOMAIN SELECTOR KEYFILE"),
    (["--check", "-d", ZONE, "-s", "x", "k"], "not -d and -s"),
    (["--check", ZONE, "x", "k", "-b", "2048"], "--check takes only"),
    (["--check", ZONE, "x", "k", "--timeout", "0"], "bad --timeout"),
    (["--record", "k", "--check"], "--record and --check are modes"),
    (["--record", "k", "-d", ZONE, "-s", "x", "-o", "/"],
     "--record takes only"),
    (["-d", ".".join(["a" * 60] * 4), "-s", "x"],
     "_domainkey.* is longer than 253 characters"),
    (["--check", ".".join(["a" * 60] * 4), "x", "k"],
     "is longer than 253 characters"),
    (["--bogus"], "unknown option"),
    (["-d"], "unknown option or missing argument"),
]
for args, pattern in USAGE:
    r = run(*args)
    t.is_(r.code, 64, "usage error %s: exit 64" % " ".join(args))
    t.like(r.err, r"^authmilter-keygen: .*%s.*\nusage: " % pattern,
           "usage error %s: %s" % (" ".join(args), pattern))
t.ok(not os.path.exists("x.key"), "no usage error wrote a key")

r = run("-d", ZONE, "-s", "x", "-o", os.path.join(tmp, "nodir"))
t.is_(r.code, 73, "a missing directory: exit 73")
t.like(r.err, r"nodir: No such file or directory", "... says so")
r = run("--record", os.path.join(tmp, "nofile"), "-d", ZONE, "-s", "x")
t.is_(r.code, 66, "--record of a missing file: exit 66")
r = run("--record", os.path.join(keys, "rsa1.txt"), "-d", ZONE, "-s", "x")
t.is_(r.code, 66, "--record of a file that is not a key: exit 66")
t.like(r.err, r"not a PEM private key or an Ed25519 seed", "... says why")
r = run("--check", ZONE, "rsa1", os.path.join(tmp, "nofile"), *DNS)
t.is_(r.code, 66, "--check with a missing key file: exit 66")
r = run("--check", ZONE, "rsa1", os.path.join(keys, "rsa1.key"),
        "--unbound-config", os.path.join(tmp, "nofile"))
t.is_(r.code, 78, "--check with an unreadable --unbound-config: exit 78")
r = run("--check", ZONE, "rsa1", os.path.join(keys, "rsa1.key"),
        "--dns", "not-an-address")
t.is_(r.code, 78, "--check with a bad --dns address: exit 78 (%s)" %
      r.err.strip())

r = run("--help")
t.ok(r.code == 0 and r.out.startswith("usage: authmilter-keygen"),
     "--help prints the usage, exit 0")
r = run("-V")
t.like(r.out, r"^authmilter-keygen \d+\.\d+", "-V prints the version")

t.is_(sanitizer_reports, [], "no sanitizer reports")
t.done()
