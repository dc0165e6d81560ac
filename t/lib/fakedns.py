"""fakedns: a scriptable DNS server on loopback for tests (python3-dnslib).

Unlike the real unbound (t/lib/unbound.py), it can misbehave on purpose,
and its data can be swapped between test cases without a restart:

    dns = FakeDNS(t, ttl=0)            # TTL 0: clients keep nothing
    dns.start()
    dns.server                          # "127.0.0.1@PORT" for dns.servers
    dns.client_conf(path)               # libunbound config for the daemon
    dns.set_zone({
        "example.com": [("TXT", "v=spf1 -all"),
                        ("TXT", ["part one", "part two"]),   # one record, 2 strings
                        ("A", "192.0.2.1"), ("AAAA", "2001:db8::1"),
                        ("MX", (10, "mx.example.com")),
                        ("PTR", "host.example.com"), ("CNAME", "other.example")],
        "slow.example": "TIMEOUT",     # never answered (UDP and TCP)
        "broken.example": "SERVFAIL",  # or "REFUSED", "NXDOMAIN"
    })

A name absent from the zone is NXDOMAIN; a name present without records of
the asked type answers NOERROR with no data (NODATA).  A CNAME is followed
inside the zone, as an authoritative server would.  Answers that do not fit
the client's UDP size get the TC bit and are served whole over TCP.
Names are compared case-insensitively without the trailing dot.  The
server runs in threads of the test process and stops with the test.
"""

import socket
import struct
import threading

import amtest
import unbound

from dnslib import (AAAA, CNAME, MX, NS, PTR, QTYPE, RCODE, RR, TXT, A,
                    DNSRecord)

_RDATA = {
    "A": (QTYPE.A, lambda v: A(v)),
    "AAAA": (QTYPE.AAAA, lambda v: AAAA(v)),
    "MX": (QTYPE.MX, lambda v: MX(v[1], v[0])),
    "PTR": (QTYPE.PTR, lambda v: PTR(v)),
    "NS": (QTYPE.NS, lambda v: NS(v)),
    "CNAME": (QTYPE.CNAME, lambda v: CNAME(v)),
    "TXT": (QTYPE.TXT, lambda v: TXT(_strings(v))),
}


def _strings(v):
    """A TXT value as character-strings: a str or bytes longer than 255
    bytes is cut into 255-byte strings (as zone files do); a list gives
    the strings explicitly."""
    parts = v if isinstance(v, list) else [v]
    out = []
    for p in parts:
        b = p.encode() if isinstance(p, str) else bytes(p)
        out += [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]
    return out


def _norm(name):
    return str(name).rstrip(".").lower()


class FakeDNS:
    def __init__(self, t, zone=None, ttl=0):
        self.t = t
        self.ttl = ttl
        self.zone = {}
        self.lock = threading.Lock()
        self.queries = []  # (name, type) seen, for assertions
        self.port = amtest.free_port_both()
        self.server = "127.0.0.1@%d" % self.port
        self._stop = False
        self.set_zone(zone or {})

    def set_zone(self, zone):
        with self.lock:
            self.zone = {_norm(k): v for k, v in zone.items()}

    def client_conf(self, path):
        return unbound.write_client_conf(path)

    def start(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(64)
        self.tcp.settimeout(0.2)
        self.threads = [threading.Thread(target=self._serve_udp, daemon=True),
                        threading.Thread(target=self._serve_tcp, daemon=True)]
        for th in self.threads:
            th.start()
        self.t.cleanup(self.stop)
        return self

    def stop(self):
        if self._stop:
            return
        self._stop = True
        for th in self.threads:
            th.join(2)
        self.udp.close()
        self.tcp.close()

    # -- answering ---------------------------------------------------

    def _answer(self, q):
        """The reply to q, or None to stay silent."""
        qname = _norm(q.q.qname)
        qtype = q.q.qtype
        with self.lock:
            self.queries.append((qname, QTYPE.get(qtype)))
            reply = q.reply()
            reply.header.aa = 1
            name = qname
            for _ in range(8):  # follow CNAMEs inside the zone
                data = self.zone.get(name)
                if data is None:
                    reply.header.rcode = RCODE.NXDOMAIN if name == qname else 0
                    return reply
                if isinstance(data, str):
                    return self._special(reply, data)
                cname = [v for k, v in data if k == "CNAME"]
                if cname and qtype != QTYPE.CNAME:
                    reply.add_answer(RR(name, QTYPE.CNAME, ttl=self.ttl,
                                        rdata=CNAME(cname[0])))
                    name = _norm(cname[0])
                    continue
                for kind, value in data:
                    code, make = _RDATA[kind]
                    if code == qtype:
                        reply.add_answer(RR(name, code, ttl=self.ttl,
                                            rdata=make(value)))
                return reply
            return reply

    def _special(self, reply, what):
        if what == "TIMEOUT":
            return None
        reply.header.rcode = getattr(RCODE, what)
        return reply

    def _serve_udp(self):
        while not self._stop:
            try:
                data, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = DNSRecord.parse(data)
                reply = self._answer(q)
            except Exception:  # bad data in a test zone: SERVFAIL, go on
                reply = DNSRecord.parse(data).reply()
                reply.header.rcode = RCODE.SERVFAIL
            if reply is None:
                continue
            out = reply.pack()
            limit = 512
            for rr in q.ar:
                if rr.rtype == QTYPE.OPT:
                    limit = max(512, rr.rclass)
            if len(out) > limit:
                reply.rr = []
                reply.header.tc = 1
                out = reply.pack()
            self.udp.sendto(out, peer)

    def _serve_tcp(self):
        while not self._stop:
            try:
                c, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c,),
                             daemon=True).start()

    def _tcp_conn(self, c):
        c.settimeout(5)
        try:
            while not self._stop:
                head = c.recv(2)
                if len(head) < 2:
                    return
                n = struct.unpack("!H", head)[0]
                data = b""
                while len(data) < n:
                    chunk = c.recv(n - len(data))
                    if not chunk:
                        return
                    data += chunk
                reply = self._answer(DNSRecord.parse(data))
                if reply is None:
                    continue  # silent: the client times out
                out = reply.pack()
                c.sendall(struct.pack("!H", len(out)) + out)
        except (OSError, Exception):
            return
        finally:
            c.close()
