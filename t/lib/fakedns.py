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
        "broken.example": "SERVFAIL",  # or "REFUSED", "NXDOMAIN", any RCODE name
    })

A name absent from the zone is NXDOMAIN; a name present without records of
the asked type answers NOERROR with no data (NODATA).  A CNAME is followed
inside the zone, as an authoritative server would; a loop (a -> b -> a)
ends the chain where a name repeats, so the answer holds the loop's CNAMEs
and nothing else.  Answers that do not fit the client's UDP size get the TC
bit and are served whole over TCP.  Names are compared case-insensitively
without the trailing dot.

Faults, per name: a string, or a tuple whose first item is the fault and
whose last item (VALUE) is any zone value (records or another fault):
    "TIMEOUT"                  never answered, UDP or TCP
    "SERVFAIL", "REFUSED", "NXDOMAIN", "FORMERR", "NOTIMP"   that RCODE
    ("DELAY", SECONDS, VALUE)  VALUE, SECONDS after the first query for the
                               name and type (UDP and TCP): as from a
                               forwarder whose upstream is slow, a
                               retransmission is answered with the
                               first, not SECONDS after itself
    ("TRUNCATE", VALUE)        UDP: TC set and no records; TCP: VALUE
    ("TRUNCATE_ALWAYS", VALUE) UDP as TRUNCATE; TCP: the connection is
                               closed without an answer
    "BADID" / ("BADID", VALUE) VALUE with a wrong message ID, and never
                               the right one (UDP and TCP)
    "GARBAGE"                  the right ID, then bytes no parser can
                               decode (a header promising records that
                               are not there)
"TRUNCATE" and "TRUNCATE_ALWAYS" alone are ("TRUNCATE", []) etc.  Helpers
for big data: big_txt(prefix, size) is one TXT record of about size bytes
(cut into 255-byte strings; 64 KiB only fits over TCP) and many_txt(n,
fmt) is n TXT records.

What libunbound 1.17 (forwarding here, EDNS size 1232) makes of them:
SERVFAIL, REFUSED, GARBAGE: five tries, then SERVFAIL; FORMERR, NOTIMP:
ten tries, every other one without EDNS, then SERVFAIL; TRUNCATE: one
retry over TCP, which answers; TRUNCATE_ALWAYS: five tries on each
transport, then SERVFAIL; a CNAME loop: SERVFAIL; TIMEOUT and BADID (a
wrong ID is ignored): retries until the caller gives up.  A reply that
comes after libunbound retransmitted (its timer follows the server's
RTT: 376 ms for an unknown server, down to 50 ms) is dropped, hence DELAY
counts from the first query (t/milter/dns_faults.t).

dns.queries lists (name, type) as asked, dns.transcript (proto, name,
type) with proto "udp" or "tcp" (to see that a TC answer made the client
retry over TCP).  The server runs in threads of the test process and stops
with the test.
"""

import socket
import struct
import threading
import time

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
_WRAPPERS = ("DELAY", "TRUNCATE", "TRUNCATE_ALWAYS", "BADID")


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


def big_txt(prefix, size):
    """A one-record TXT value of size bytes: prefix padded with 'A'."""
    return [("TXT", prefix + "A" * max(0, size - len(prefix)))]


def many_txt(n, fmt="record %d"):
    """n TXT records, fmt % i for i in 0..n-1."""
    return [("TXT", fmt % i) for i in range(n)]


def _fault(data):
    """(name, args, inner) when data is a fault, else None."""
    if isinstance(data, str):
        if data in _WRAPPERS:
            return data, (), []
        return data, (), None
    if isinstance(data, tuple) and data and isinstance(data[0], str):
        return data[0], data[1:-1], data[-1]
    return None


class FakeDNS:
    def __init__(self, t, zone=None, ttl=0):
        self.t = t
        self.ttl = ttl
        self.zone = {}
        self.lock = threading.Lock()
        self.queries = []  # (name, type) seen, for assertions
        self.transcript = []  # (proto, name, type)
        self.port = amtest.free_port_both()
        self.server = "127.0.0.1@%d" % self.port
        self._stop = False
        self.set_zone(zone or {})

    def set_zone(self, zone):
        with self.lock:
            self.zone = {_norm(k): v for k, v in zone.items()}
            self._first = {}  # (name, type) -> when DELAY first saw it

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
    #
    # _answer() gives (delay, what): what is a DNSRecord to send, None to
    # stay silent, bytes to send as they are, or "CLOSE" (TCP: hang up).

    def _answer(self, q, proto="udp"):
        qname = _norm(q.q.qname)
        with self.lock:
            self.queries.append((qname, QTYPE.get(q.q.qtype)))
            self.transcript.append((proto, qname, QTYPE.get(q.q.qtype)))
            reply = q.reply()
            reply.header.aa = 1
            return self._lookup(q, reply, qname, proto)

    def _lookup(self, q, reply, qname, proto):
        qtype = q.q.qtype
        name, seen = qname, set()
        while name not in seen:  # follow CNAMEs inside the zone
            seen.add(name)
            data = self.zone.get(name)
            if data is None:
                reply.header.rcode = RCODE.NXDOMAIN if name == qname else 0
                return 0, reply
            if _fault(data) is not None:
                return self._special(q, reply, data, proto)
            cname = [v for k, v in data if k == "CNAME"]
            if cname and qtype != QTYPE.CNAME:
                reply.add_answer(RR(name, QTYPE.CNAME, ttl=self.ttl,
                                    rdata=CNAME(cname[0])))
                name = _norm(cname[0])
                continue
            self._add(reply, name, qtype, data)
            return 0, reply
        return 0, reply  # a CNAME loop: the chain as far as it goes

    def _add(self, reply, name, qtype, data):
        for kind, value in data:
            code, make = _RDATA[kind]
            if code == qtype:
                reply.add_answer(RR(name, code, ttl=self.ttl,
                                    rdata=make(value)))

    def _inner(self, q, reply, inner, proto):
        """The answer for a wrapped zone value, at the question's name."""
        if _fault(inner) is not None:
            return self._special(q, reply, inner, proto)
        self._add(reply, _norm(q.q.qname), q.q.qtype, inner)
        return 0, reply

    def _special(self, q, reply, data, proto):
        what, args, inner = _fault(data)
        if what == "TIMEOUT":
            return 0, None
        if what == "GARBAGE":
            return 0, struct.pack("!HHHHHH", q.header.id, 0x8180, 1, 7, 0,
                                  0) + b"\xc0\xff\x3f" + b"\xff" * 5
        if what == "DELAY":
            delay, what2 = self._inner(q, reply, inner, proto)
            first = self._first.setdefault((_norm(q.q.qname), q.q.qtype),
                                           time.monotonic())
            due = first + float(args[0]) - time.monotonic()
            return delay + max(0.0, due), what2
        if what in ("TRUNCATE", "TRUNCATE_ALWAYS"):
            if proto == "tcp":
                if what == "TRUNCATE_ALWAYS":
                    return 0, "CLOSE"
                return self._inner(q, reply, inner, proto)
            reply.header.tc = 1
            return 0, reply
        if what == "BADID":
            delay, what2 = self._inner(q, reply, inner, proto)
            if isinstance(what2, DNSRecord):
                what2.header.id = (q.header.id + 0x5a5a) & 0xffff
            return delay, what2
        reply.header.rcode = getattr(RCODE, what)
        return 0, reply

    @staticmethod
    def _udp_bytes(q, reply):
        out = reply.pack()
        limit = 512
        for rr in q.ar:
            if rr.rtype == QTYPE.OPT:
                limit = max(512, rr.rclass)
        if len(out) > limit:
            reply.rr = []
            reply.header.tc = 1
            out = reply.pack()
        return bytes(out)

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
            except Exception:  # not a query: ignore it
                continue
            try:
                delay, what = self._answer(q, "udp")
                if isinstance(what, DNSRecord):
                    what = self._udp_bytes(q, what)
            except Exception:  # bad data in a test zone: SERVFAIL, go on
                reply = q.reply()
                reply.header.rcode = RCODE.SERVFAIL
                delay, what = 0, bytes(reply.pack())
            if not isinstance(what, bytes):
                continue
            if delay > 0:
                threading.Timer(delay, self._sendto, (what, peer)).start()
            else:
                self._sendto(what, peer)

    def _sendto(self, out, peer):
        try:
            self.udp.sendto(out, peer)
        except OSError:  # stopped meanwhile
            pass

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

    def _recv(self, c, n):
        data = b""
        while len(data) < n:
            chunk = c.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _tcp_conn(self, c):
        c.settimeout(5)
        try:
            while not self._stop:
                head = self._recv(c, 2)
                if head is None:
                    return
                data = self._recv(c, struct.unpack("!H", head)[0])
                if data is None:
                    return
                delay, what = self._answer(DNSRecord.parse(data), "tcp")
                if what == "CLOSE":
                    return
                if what is None:
                    continue  # silent: the client times out
                if isinstance(what, DNSRecord):
                    what = bytes(what.pack())
                if delay > 0:
                    time.sleep(delay)
                c.sendall(struct.pack("!H", len(what)) + what)
        except Exception:  # a client gone or a query we cannot parse
            return
        finally:
            c.close()
