#!/usr/bin/python3
"""bench.py: the benchmark proper; contrib/bench/run starts it inside a
private network and mount namespace (only loopback exists there, and
/etc/resolv.conf names the benchmark's unbound on 127.0.0.1:53, which is
how OpenDMARC and libspf2, which read resolv.conf, find the test zones).

    bench.py --work DIR --bin DIR --authmilter PATH [--quick] [--perf]
             [--only NAMES] [--results FILE] [--postfix]

It starts unbound (serving the corpus' keys and SPF/DMARC records),
authmilter, OpenDKIM (verify mode), OpenDMARC, and the null milter, each
on a free loopback port; replays the corpora with mbench at c = 1, 8, 32;
prints a table with ratios and the targets; writes RESULTS.md.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "t", "lib"))
sys.path.insert(0, HERE)

import unbound  # noqa: E402  (t/lib)
import benchlib  # noqa: E402

AUTHSERV = "mx.bench.example"
# A second address of the test DNS (TEST-NET-1, on the namespace's lo):
# for clients whose libunbound will not forward to 127.0.0.0/8.
DNS_ALT = "192.0.2.53"


class Ctx:
    """What t/lib's helpers expect of a test: cleanup, diag, bail."""

    def __init__(self):
        self._cleanups = []

    def cleanup(self, fn):
        self._cleanups.append(fn)

    def diag(self, msg):
        print("# " + str(msg), file=sys.stderr)

    def bail(self, msg):
        raise RuntimeError(msg)

    def run_cleanups(self):
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # keep cleaning up
                print("cleanup failed: %s" % e, file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_unix(path, proc, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Daemon:
    """A milter daemon in the foreground on a loopback port."""

    def __init__(self, ctx, name, argv_fn, workdir, unix=False):
        self.name = name
        self.port = free_port()
        self.path = os.path.join(workdir, name + ".sock") if unix else None
        self.log = os.path.join(workdir, name + ".log")
        argv = argv_fn(self.sock)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf)
        ctx.cleanup(self.stop)
        if not (wait_unix(self.path, self.proc) if unix else
                wait_port(self.port, self.proc)):
            raise RuntimeError("%s did not start; see %s" % (name, self.log))
        if unix:
            os.chmod(self.path, 0o666)  # Postfix's smtpd runs as postfix

    @property
    def sock(self):
        if self.path:
            return "unix:" + self.path
        return "inet:%d@127.0.0.1" % self.port

    @property
    def postfix_sock(self):
        if self.path:
            return "unix:" + self.path
        return "inet:127.0.0.1:%d" % self.port

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def start_dns(ctx, corpus_dir, workdir):
    with open(os.path.join(corpus_dir, "records.json")) as f:
        records = json.load(f)
    ub = unbound.Unbound(ctx, records=records,
                         zones=["example.", "127.in-addr.arpa."],
                         extra="interface: %s\naccess-control: %s/32 allow"
                         % (DNS_ALT, DNS_ALT))
    # Port 53: OpenDMARC and libspf2 use the system resolver, which
    # cannot be told a port.  Only this namespace sees it.
    ub.port = 53
    ub.server = "127.0.0.1@53"
    ub.start()
    conf = ub.client_conf(os.path.join(workdir, "libunbound.conf"))
    return ub, conf


def authmilter_policy(meta, ubconf, workdir):
    policy = {
        "authserv_id": AUTHSERV,
        "on_error": "tempfail",
        "dns": {"servers": ["127.0.0.1@53"], "timeout_ms": 5000,
                "unbound_config": ubconf},
        # Outbound only through SMTP AUTH: every loopback client of the
        # benchmark stands for a host on the Internet.
        "internal_networks": ["192.0.2.254/32"],
        "sign": {"keys": [{"domain": meta["sign_domain"],
                           "selector": meta["sign_selector"],
                           "algorithm": "rsa-sha256",
                           "key_file": meta["sign_key"]}]},
    }
    path = os.path.join(workdir, "policy.json")
    with open(path, "w") as f:
        json.dump(policy, f, indent=1)
    return path


def opendkim_conf(workdir, ubconf, sock):
    # No ResolverConfiguration: OpenDKIM 2.11 hands that file to
    # ub_ctx_config() again and again from its worker threads, and
    # libunbound's config parser is not thread-safe (at c = 8 the parse
    # fails and every key lookup tempfails).  Without it, its libunbound
    # refuses to forward to a 127.0.0.0/8 address, so it asks the test
    # DNS at DNS_ALT, an address on this namespace's loopback interface.
    path = os.path.join(workdir, "opendkim.conf")
    with open(path, "w") as f:
        f.write("Mode v\nSocket %s\nAuthservID %s\n"
                "Background no\nSyslog no\nPidFile %s/opendkim.pid\n"
                "Nameservers %s\n"
                "AlwaysAddARHeader yes\nMinimumKeyBits 1024\n"
                "InternalHosts 192.0.2.254\n"
                % (sock, AUTHSERV, workdir, DNS_ALT))
    return ["opendkim", "-f", "-x", path]


def opendmarc_conf(workdir, sock):
    ignore = os.path.join(workdir, "opendmarc.ignore")
    with open(ignore, "w") as f:
        f.write("192.0.2.254\n")
    path = os.path.join(workdir, "opendmarc.conf")
    with open(path, "w") as f:
        f.write("Socket %s\nAuthservID %s\n"
                "TrustedAuthservIDs %s\nIgnoreHosts %s\n"
                "SPFSelfValidate true\nSPFIgnoreResults true\n"
                "PublicSuffixList "
                "/usr/share/publicsuffix/public_suffix_list.dat\n"
                "RejectFailures false\nFailureReports false\n"
                "Syslog false\nPidFile %s/opendmarc.pid\n"
                % (sock, AUTHSERV, AUTHSERV, ignore, workdir))
    return ["opendmarc", "-f", "-c", path]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--authmilter", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--perf", action="store_true")
    ap.add_argument("--postfix", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--results", default="")
    ap.add_argument("--corpus", default="")
    ap.add_argument("--command", default="contrib/bench/run")
    args = ap.parse_args()
    ctx = Ctx()
    try:
        rc = benchlib.main(ctx, args, sys.modules[__name__])
    finally:
        ctx.run_cleanups()
    sys.exit(rc)


if __name__ == "__main__":
    main()
