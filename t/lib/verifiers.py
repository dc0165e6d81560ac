"""verifiers: independent DKIM verifiers for checking our signatures.

    verifiers.dkimpy(msg, records)          -> [True/False per signature]
    verifiers.mail_dkim(msg, dns_server)    -> ["pass"/"fail"/... per signature]
    v = verifiers.OpenDKIM(t, records)      ; v.verify(msg) -> [(result, d, s)]
    verifiers.dkimpy_arc(msg, records)      -> (cv, reason)
    verifiers.mail_dkim_arc(msg, dns_server) -> "pass" / "fail" / "none"

records maps "selector._domainkey.domain" to the TXT text; dns_server is
"127.0.0.1@PORT" of a test DNS server holding the same records (Mail::DKIM
asks DNS itself; dkimpy and OpenDKIM are handed the records).
"""

import os
import re
import subprocess

import amtest
import mtc


def dkimpy(msg, records):
    import dkim

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return records.get(name.rstrip("."), "").encode()

    d = dkim.DKIM(msg)
    n = len([1 for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
             if line.lower().startswith(b"dkim-signature:")])
    out = []
    for i in range(n):
        try:
            out.append(bool(d.verify(idx=i, dnsfunc=dnsfunc)))
        except Exception:
            out.append(False)
    return out


MAIL_DKIM = r'''
use strict; use Mail::DKIM::Verifier; use Net::DNS::Resolver;
my ($host, $port) = @ARGV;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
    nameservers => [$host], port => $port, recurse => 1));
my $v = Mail::DKIM::Verifier->new();
binmode STDIN; my $msg = do { local $/; <STDIN> };
$msg =~ s/\015?\012/\015\012/g;
$v->PRINT($msg); $v->CLOSE;
print $_->result, "\n" for $v->signatures;
'''


def mail_dkim(msg, dns_server):
    host, port = dns_server.split("@")
    p = subprocess.run(["perl", "-e", MAIL_DKIM, host, port], input=msg,
                       stdout=subprocess.PIPE, check=True)
    return p.stdout.decode().split()


class OpenDKIM:
    """OpenDKIM's milter in verify mode, keys from a TestPublicKeys file,
    driven with t/lib/mtc."""

    def __init__(self, t, records):
        self.t = t
        self.dir = amtest.tmpdir(t, "opendkim-v-")
        self.port = amtest.free_port()
        keys = os.path.join(self.dir, "keys")
        with open(keys, "w") as f:
            for name, txt in records.items():
                f.write("%s %s\n" % (name, txt))
        conf = os.path.join(self.dir, "opendkim.conf")
        with open(conf, "w") as f:
            f.write("Mode v\nSocket inet:%d@127.0.0.1\nBackground no\n"
                    "Syslog no\nTestPublicKeys %s\nAuthservID verifier.test\n"
                    "PidFile %s/opendkim.pid\n" % (self.port, keys, self.dir))
        self.proc = subprocess.Popen(["opendkim", "-f", "-x", conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        t.cleanup(lambda: amtest.stop_process(self.proc))
        if not amtest.wait_for(lambda: amtest.port_open("127.0.0.1", self.port)):
            raise RuntimeError("opendkim did not start")

    def verify(self, msg):
        r = mtc.run(self.t, "inet:%d@127.0.0.1" % self.port, msg,
                    ["-a", "192.0.2.1"])
        ar = r.authres() or ""
        return re.findall(r"dkim=(\w+)(?: \([^)]*\))? header\.d=(\S+) "
                          r"header\.i=\S+ header\.a=\S+ header\.s=(\S+)", ar)


def dkimpy_arc(msg, records):
    """dkimpy's ARC verdict: (cv, reason)."""
    import dkim

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return records.get(name.rstrip("."), "").encode()

    cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    return (cv.decode() if isinstance(cv, bytes) else cv), reason


MAIL_DKIM_ARC = r'''
use strict; use Mail::DKIM::ARC::Verifier; use Net::DNS::Resolver;
my ($host, $port) = @ARGV;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
    nameservers => [$host], port => $port, recurse => 1));
my $v = Mail::DKIM::ARC::Verifier->new();
binmode STDIN; my $msg = do { local $/; <STDIN> };
$msg =~ s/\015?\012/\015\012/g;
$v->PRINT($msg); $v->CLOSE;
print $v->result, "\n";
'''


def mail_dkim_arc(msg, dns_server):
    """Mail::DKIM's ARC verdict: pass, fail or none."""
    host, port = dns_server.split("@")
    p = subprocess.run(["perl", "-e", MAIL_DKIM_ARC, host, port], input=msg,
                       stdout=subprocess.PIPE, check=True)
    return p.stdout.decode().strip()
