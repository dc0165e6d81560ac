#!/usr/bin/python3
"""corpus.py: the benchmark's messages, keys and DNS records.

    corpus.py OUTDIR

writes
    OUTDIR/keys/          rsa-2048 and Ed25519 keys (dknewkey)
    OUTDIR/records.json   zone lines for unbound: DKIM keys, SPF, DMARC,
                          PTR/A for the client addresses
    OUTDIR/corpora.json   one entry per corpus: its directory, size, kind
                          (verify or sign) and the envelope to replay with
                          (paths relative to OUTDIR)
    OUTDIR/<kind>-<size>/NNN.eml

Kinds: rsa (DKIM rsa-sha256, 2048 bits), ed25519, dual (both), arc
(DKIM-signed by the author domain, then ARC-sealed by a forwarder that
left the message as it was), out (unsigned, from an authenticated user:
authmilter signs it).  Sizes are the whole message: 2k, 20k, 200k, 2m.
Messages are MIME like real mail: text/plain + text/html alternatives,
and from 20k on an attachment in base64.  Everything is derived from a
fixed seed, so two runs give the same bodies (signatures differ only by
their keys, which are new for every OUTDIR).
"""

import json
import os
import random
import subprocess
import sys

import dkim

SENDER = "sender.example"      # author domain of inbound mail
FORWARDER = "forwarder.example"  # ARC sealer
OUTBOUND = "outbound.example"  # our own domain: outbound mail is signed
CLIENT_IP = "127.0.0.5"        # the inbound client (mbench -a)
CLIENT_NAME = "mx." + SENDER
LOCAL_IP = "127.0.0.1"         # smtp-source through Postfix

SIZES = {"2k": 2048, "20k": 20480, "200k": 204800, "2m": 2097152}
# How many distinct messages per corpus: big ones are few (the driver
# cycles through them).
COUNT = {"2k": 64, "20k": 64, "200k": 16, "2m": 4}
CORPORA = [("rsa", s) for s in SIZES] + \
    [(k, s) for k in ("ed25519", "dual", "arc") for s in ("20k", "200k")] + \
    [("out", s) for s in SIZES]

WORDS = ("the of and to in is that for it as was with be by on not he this "
         "are or his from at which but have an they you were her she there "
         "invoice meeting report quarterly shipment account update review "
         "schedule project delivery customer attached please regards "
         "thanks order payment status confirm request").split()


def key(directory, name, ktype):
    subprocess.run(["dknewkey", "--ktype", ktype, name], cwd=directory,
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with open(os.path.join(directory, name + ".key"), "rb") as f:
        priv = f.read()
    with open(os.path.join(directory, name + ".dns")) as f:
        txt = f.read().strip()
    return priv, txt


def txt_line(name, text):
    """A zone line with the TXT text cut into strings of 200 bytes."""
    parts = [text[i:i + 200] for i in range(0, len(text), 200)]
    return "%s. 300 IN TXT %s" % (name, " ".join('"%s"' % p for p in parts))


def records(keys):
    r = [txt_line("s2048._domainkey." + SENDER, keys["rsa"][1]),
         txt_line("sed._domainkey." + SENDER, keys["ed25519"][1]),
         txt_line("arc._domainkey." + FORWARDER, keys["arc"][1]),
         txt_line("s2048._domainkey." + OUTBOUND, keys["out"][1]),
         txt_line(SENDER, "v=spf1 ip4:%s ip4:%s -all" % (CLIENT_IP,
                                                           LOCAL_IP)),
         txt_line(CLIENT_NAME, "v=spf1 a -all"),
         txt_line("_dmarc." + SENDER, "v=DMARC1; p=reject"),
         txt_line("_dmarc." + FORWARDER, "v=DMARC1; p=none"),
         txt_line(OUTBOUND, "v=spf1 ip4:%s -all" % LOCAL_IP),
         txt_line("_dmarc." + OUTBOUND, "v=DMARC1; p=reject"),
         "%s. 300 IN A %s" % (CLIENT_NAME, CLIENT_IP),
         "5.0.0.127.in-addr.arpa. 300 IN PTR %s." % CLIENT_NAME,
         "localhost.%s. 300 IN A %s" % (SENDER, LOCAL_IP),
         "1.0.0.127.in-addr.arpa. 300 IN PTR localhost.%s." % SENDER,
         "mx.bench.example. 300 IN A 127.0.0.1"]
    return r


def words(rng, nbytes):
    out, n = [], 0
    line = []
    while n < nbytes:
        w = rng.choice(WORDS)
        line.append(w)
        n += len(w) + 1
        if len(line) >= 12:
            out.append(" ".join(line))
            line = []
    out.append(" ".join(line))
    return "\n".join(out) + "\n"


def b64_lines(rng, nbytes):
    import base64
    raw = bytes(rng.getrandbits(8) for _ in range(nbytes * 3 // 4))
    enc = base64.b64encode(raw).decode()
    return "\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)) + "\n"


def mime_body(rng, size, n):
    """(content-type, body) of about size bytes."""
    if size <= 4096:
        return "text/plain; charset=utf-8", words(rng, size - 900)
    text = min(8000, size // 5)
    html = min(16000, size // 4)
    att = size - text - html - 1500
    alt, mix = "=_alt_%d" % n, "=_mix_%d" % n
    html_text = "<html><body>\n<p>" + words(rng, html - 40).replace(
        "\n", "</p>\n<p>") + "</p>\n</body></html>\n"
    body = ("This is a multi-part message in MIME format.\n\n"
            "--%s\nContent-Type: multipart/alternative; boundary=\"%s\"\n\n"
            "--%s\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n%s\n"
            "--%s\nContent-Type: text/html; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n%s\n--%s--\n\n"
            "--%s\nContent-Type: application/pdf; name=\"report-%d.pdf\"\n"
            "Content-Disposition: attachment; filename=\"report-%d.pdf\"\n"
            "Content-Transfer-Encoding: base64\n\n%s\n--%s--\n" % (
                mix, alt, alt, words(rng, text), alt, html_text, alt,
                mix, n, n, b64_lines(rng, att), mix))
    return 'multipart/mixed; boundary="%s"' % mix, body


def message(kind, size, n):
    rng = random.Random("%s-%s-%d" % (kind, size, n))
    domain = OUTBOUND if kind == "out" else SENDER
    ctype, body = mime_body(rng, SIZES[size], n)
    hdr = ("From: \"Alice Example\" <alice@%s>\n"
           "To: \"Bob Bench\" <bob@bench.example>\n"
           "Subject: %s %s message %d\n"
           "Date: Wed, 25 Nov 2026 14:%02d:%02d +0000\n"
           "Message-ID: <%s.%s.%d.%d@%s>\n"
           "MIME-Version: 1.0\n"
           "Content-Type: %s\n"
           "List-Unsubscribe: <mailto:unsubscribe@%s>\n" % (
               domain, rng.choice(WORDS).capitalize(), size, n,
               n % 60, (n * 7) % 60, kind, size, n, rng.getrandbits(32),
               domain, ctype, domain))
    return (hdr + "\n" + body).replace(
        "\n", "\r\n").encode()


def sign(msg, kind, keys):
    if kind in ("out",):
        return msg
    sigs = b""
    if kind in ("ed25519", "dual"):
        sigs += dkim.sign(msg, b"sed", SENDER.encode(), keys["ed25519"][0],
                          signature_algorithm=b"ed25519-sha256",
                          linesep=b"\r\n")
    if kind in ("rsa", "dual", "arc"):
        sigs = dkim.sign(msg, b"s2048", SENDER.encode(), keys["rsa"][0],
                         linesep=b"\r\n") + sigs
    msg = sigs + msg
    if kind == "arc":
        ar = ("Authentication-Results: mx.%s; dkim=pass header.d=%s "
              "header.s=s2048; spf=pass smtp.mailfrom=%s\r\n" % (
                  FORWARDER, SENDER, SENDER)).encode()
        msg = ar + msg
        seal = dkim.arc_sign(msg, b"arc", FORWARDER.encode(),
                             keys["arc"][0], ("mx." + FORWARDER).encode(),
                             linesep=b"\r\n")
        msg = b"".join(seal) + msg
    received = ("Received: from %s (%s [%s])\r\n\tby mx.bench.example with "
                "ESMTPS id 4Bq2; Wed, 25 Nov 2026 14:00:00 +0000\r\n" % (
                    CLIENT_NAME, CLIENT_NAME, CLIENT_IP)).encode()
    return received + msg


def corpus_entry(kind, size, path):
    e = {"name": "%s-%s" % (kind, size), "kind": kind, "size": size,
         "dir": path, "mode": "sign" if kind == "out" else "verify"}
    if kind == "out":
        e.update({"from": "alice@" + OUTBOUND, "auth": "alice",
                  "addr": LOCAL_IP, "helo": "client.bench.example"})
    else:
        e.update({"from": "bounce@" + SENDER, "auth": None,
                  "addr": CLIENT_IP, "helo": CLIENT_NAME})
    # What the crypto floor counts: signatures verified or made.
    e["rsa_ops"] = {"rsa": 1, "ed25519": 0, "dual": 1, "arc": 3,
                    "out": 1}[kind]
    e["ed_ops"] = {"dual": 1, "ed25519": 1}.get(kind, 0)
    return e


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: corpus.py OUTDIR")
    out = sys.argv[1]
    kdir = os.path.join(out, "keys")
    os.makedirs(kdir, exist_ok=True)
    keys = {"rsa": key(kdir, "s2048", "rsa"),
            "ed25519": key(kdir, "sed", "ed25519"),
            "arc": key(kdir, "arc", "rsa"),
            "out": key(kdir, "out", "rsa")}
    with open(os.path.join(out, "records.json"), "w") as f:
        json.dump(records(keys), f, indent=1)
    entries = []
    for kind, size in CORPORA:
        d = os.path.join(out, "%s-%s" % (kind, size))
        os.makedirs(d, exist_ok=True)
        for n in range(COUNT[size]):
            with open(os.path.join(d, "%03d.eml" % n), "wb") as f:
                f.write(sign(message(kind, size, n), kind, keys))
        entries.append(corpus_entry(kind, size, os.path.basename(d)))
    with open(os.path.join(out, "corpora.json"), "w") as f:
        json.dump({"corpora": entries, "authserv_id": "mx.bench.example",
                   "sign_key": os.path.join("keys", "out.key"),
                   "sign_domain": OUTBOUND, "sign_selector": "s2048"},
                  f, indent=1)


if __name__ == "__main__":
    main()
