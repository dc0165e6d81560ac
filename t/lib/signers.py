"""signers: independent DKIM signers for interoperability tests.

Keys come from dkimpy's dknewkey (RSA PEM and the raw Ed25519 seed, with
the matching TXT record), messages are signed by dkimpy (the library, so
l= is available), Mail::DKIM (perl) and OpenDKIM (its milter, driven by
t/lib/mtc).
Every signer returns the signed message with CRLF line ends.
"""

import os
import subprocess

import amtest


def crlf(msg):
    """Normalise line ends to CRLF (what goes over SMTP)."""
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Key:
    """A key made by dknewkey: .path (private), .txt (DNS record text)."""

    def __init__(self, t, directory, name, ktype="rsa"):
        subprocess.run(["dknewkey", "--ktype", ktype, name], cwd=directory,
                       check=True, stdout=subprocess.DEVNULL)
        self.path = os.path.join(directory, name + ".key")
        with open(os.path.join(directory, name + ".dns")) as f:
            self.txt = f.read().strip()
        self.ktype = ktype
        self.alg = "rsa-sha256" if ktype == "rsa" else "ed25519-sha256"

    def private_bytes(self):
        with open(self.path, "rb") as f:
            return f.read()

    def zone_line(self, selector, domain):
        """A zone line for t/lib/unbound.py, the record cut into strings."""
        parts = [self.txt[i:i + 200] for i in range(0, len(self.txt), 200)]
        return "%s._domainkey.%s. 300 IN TXT %s" % (
            selector, domain, " ".join('"%s"' % p for p in parts))


def dkimpy(msg, key, selector, domain, canon=("relaxed", "relaxed"),
           length=False, headers=None):
    """Sign with the dkimpy library (python3-dkim)."""
    import dkim
    kw = {}
    if headers is not None:
        kw["include_headers"] = [h.encode() for h in headers]
    sig = dkim.sign(crlf(msg), selector.encode(), domain.encode(),
                    key.private_bytes(),
                    canonicalize=(canon[0].encode(), canon[1].encode()),
                    signature_algorithm=key.alg.encode(), length=length,
                    linesep=b"\r\n", **kw)
    return crlf(sig) + crlf(msg)


def arcsign(msg, key, selector, domain, srv_id, authres):
    """Seal as an intermediary would with dkimpy: add this hop's
    Authentication-Results (authres, the part after "srv_id;"), then the
    ARC set made by dkim.arc_sign on top."""
    import dkim
    msg = crlf(("Authentication-Results: %s; %s\r\n" % (srv_id, authres)).encode()
               + crlf(msg))
    hdrs = dkim.arc_sign(msg, selector.encode(), domain.encode(),
                         key.private_bytes(), srv_id.encode(),
                         linesep=b"\r\n")
    return crlf(b"".join(hdrs)) + msg


MAIL_DKIM = r'''
use strict; use Mail::DKIM::Signer; use Mail::DKIM::TextWrap;
my ($d, $s, $k, $m) = @ARGV;
my $dkim = Mail::DKIM::Signer->new(Algorithm => "rsa-sha256", Method => $m,
    Domain => $d, Selector => $s, KeyFile => $k);
binmode STDIN; my $msg = do { local $/; <STDIN> };
$msg =~ s/\015?\012/\015\012/g;
$dkim->PRINT($msg); $dkim->CLOSE;
binmode STDOUT; print $dkim->signature->as_string, "\015\012", $msg;
'''


def mail_dkim(msg, key, selector, domain, method="relaxed"):
    """Sign with Mail::DKIM (libmail-dkim-perl): RSA only in Debian 12."""
    p = subprocess.run(["perl", "-e", MAIL_DKIM, domain, selector, key.path,
                        method], input=crlf(msg), stdout=subprocess.PIPE,
                       check=True)
    return crlf(p.stdout)


class OpenDKIM:
    """OpenDKIM's milter in signing mode (rsa-sha256, relaxed/simple), run
    on a free loopback port; sign() passes a message through it with mtc
    and puts the DKIM-Signature it inserts on top.  (opendkim-testmsg
    cannot be used: it signs rsa-sha1 only.)"""

    def __init__(self, t, key, selector, domain):
        import mtc as mtc_mod
        self.t = t
        self.mtc = mtc_mod
        self.dir = amtest.tmpdir(t, "opendkim-")
        self.port = amtest.free_port()
        conf = os.path.join(self.dir, "opendkim.conf")
        with open(conf, "w") as f:
            f.write("Mode s\nDomain %s\nSelector %s\nKeyFile %s\n"
                    "SignatureAlgorithm rsa-sha256\n"
                    "Canonicalization relaxed/simple\n"
                    "Socket inet:%d@127.0.0.1\nBackground no\nSyslog no\n"
                    "InternalHosts 0.0.0.0/0\nRequireSafeKeys no\n"
                    "PidFile %s/opendkim.pid\n"
                    % (domain, selector, key.path, self.port, self.dir))
        self.proc = subprocess.Popen(["opendkim", "-f", "-x", conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        t.cleanup(lambda: amtest.stop_process(self.proc))
        if not amtest.wait_for(lambda: amtest.port_open("127.0.0.1", self.port)):
            raise RuntimeError("opendkim did not start")

    def sign(self, msg):
        r = self.mtc.run(self.t, "inet:%d@127.0.0.1" % self.port, crlf(msg))
        value = r.header("DKIM-Signature")
        if value is None:
            raise RuntimeError("opendkim did not sign:\n" + r.text)
        return crlf(b"DKIM-Signature: " + value.encode()) + b"\r\n" + crlf(msg)
