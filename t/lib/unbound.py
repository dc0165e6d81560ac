"""unbound: a real unbound on loopback serving test zones, for script tests.

    import amtest, unbound
    t = amtest.Tap()
    t.need_tools("unbound")
    ub = unbound.Unbound(t, records=[
        'example.test. 300 IN TXT "v=spf1 -all"',
        '5.0.0.127.in-addr.arpa. 300 IN PTR mail.example.test.',
    ], refuse_zones=["refused.test."]).start()
    conf = ub.client_conf(os.path.join(dir, "libunbound.conf"))
    # daemon settings: dns.servers = [ub.server], dns.unbound_config = conf

The server answers only from its local zones (`local-zone: "." static`),
so no query ever leaves loopback: names outside the records get NXDOMAIN
or NODATA.  Each zone is static and carries an SOA, so negative answers
have a TTL as on the real Internet.

libunbound (in the daemon) and unbound itself answer RFC 6761 names and
the private, TEST-NET and documentation reverse zones from built-in local
zones, without asking anyone.  Both configurations here switch those off
with `local-zone: "<zone>" nodefault`, which libunbound honours only in a
config file (ub_ctx_set_option ignores it), hence client_conf().

DeadServer(t) listens on UDP and TCP and never answers: for timeouts.
"""

import os
import socket
import struct
import subprocess
import threading

import amtest

# The built-in local zones of unbound 1.17 (unbound.conf(5), "local-zone";
# the same 102 zones ub_ctx_print_local_zones lists for libunbound).
_V6_LOOPBACK = "1." + "0." * 31 + "ip6.arpa."
_V6_UNSPEC = "0." * 32 + "ip6.arpa."
BUILTIN_ZONES = (
    ["localhost.", "test.", "invalid.", "onion.", "home.arpa.",
     "127.in-addr.arpa.", "0.in-addr.arpa.", "10.in-addr.arpa.",
     "254.169.in-addr.arpa.", "168.192.in-addr.arpa.",
     "2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
     "113.0.203.in-addr.arpa.", "255.255.255.255.in-addr.arpa.",
     _V6_LOOPBACK, _V6_UNSPEC, "d.f.ip6.arpa.", "8.e.f.ip6.arpa.",
     "9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
     "8.b.d.0.1.0.0.2.ip6.arpa."]
    + ["%d.172.in-addr.arpa." % i for i in range(16, 32)]
    + ["%d.100.in-addr.arpa." % i for i in range(64, 128)])
# What client_conf() has libunbound forward instead of answering itself:
# every built-in zone but localhost.  example. is not built in (1.17) and
# costs nothing to list.
CLIENT_NODEFAULT = ["example."] + [z for z in BUILTIN_ZONES
                                   if z != "localhost."]


def _fqdn(name):
    name = name.lower()
    return name if name.endswith(".") else name + "."


def _under(name, zone):
    return zone == "." or name == zone or name.endswith("." + zone)


def zone_for(name):
    """The zone a record lives in: a built-in zone around it, else its TLD."""
    name = _fqdn(name)
    inside = [z for z in BUILTIN_ZONES if _under(name, z)]
    if inside:
        return max(inside, key=len)
    labels = name.rstrip(".").split(".")
    return labels[-1] + "."


def _zone_lines(zone, kind, builtin):
    out = []
    if builtin:
        out.append('local-zone: "%s" nodefault' % zone)
    out.append('local-zone: "%s" %s' % (zone, kind))
    if kind == "static":
        out.append('local-data: "%s 300 IN SOA ns.%s hostmaster.%s '
                   '1 3600 600 86400 60"' % (zone, zone, zone))
    return out


def _quote(record):
    """A zone-file line as a local-data string.

    unbound.conf has no escapes inside quoted strings: a line with double
    quotes (TXT) goes in single quotes, and no line may hold both kinds.
    """
    q = "'" if '"' in record else '"'
    if q in record:
        raise ValueError("record holds both kinds of quote: %r" % record)
    return q + record + q


def dns_query(port, name, qtype=1, timeout=0.5, host="127.0.0.1"):
    """Send one UDP query; return the rcode, or None without an answer."""
    qid = int.from_bytes(os.urandom(2), "big")
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split(".") if name != "." else []:
        msg += bytes([len(label)]) + label.encode()
    msg += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(msg, (host, port))
            data = s.recv(4096)
        except OSError:
            return None
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return None
    return data[3] & 0x0F


def write_client_conf(path, zones=()):
    """The libunbound config for a client of a test server: forward to
    loopback, and answer none of the built-in local zones itself."""
    lines = ["server:", "    do-not-query-localhost: no"]
    zones = CLIENT_NODEFAULT + [z for z in zones if z not in CLIENT_NODEFAULT]
    lines += ['    local-zone: "%s" nodefault' % z for z in zones]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Unbound:
    """An unbound answering records from static local zones on loopback."""

    def __init__(self, t, records=(), zones=None, refuse_zones=(), extra=""):
        """records: zone-file lines; zones: the static zones (default: the
        built-in zone around each record, else its top-level domain);
        refuse_zones: zones answered REFUSED; extra: more server: lines."""
        self.t = t
        self.records = list(records)
        self.refuse_zones = [_fqdn(z) for z in refuse_zones]
        if zones is None:
            zones = sorted({zone_for(r.split()[0]) for r in self.records})
        self.zones = [_fqdn(z) for z in zones]
        self.extra = extra
        self.port = amtest.free_port_both()
        self.server = "127.0.0.1@%d" % self.port
        self.dir = amtest.tmpdir(t, "unbound-")
        self.conf = os.path.join(self.dir, "unbound.conf")
        self.log = os.path.join(self.dir, "unbound.log")
        self.proc = None
        t.cleanup(self.stop)

    def config_text(self):
        lines = [
            "server:",
            "interface: 127.0.0.1",
            "port: %d" % self.port,
            "do-ip6: no",
            "do-udp: yes",
            "do-tcp: yes",
            "access-control: 127.0.0.0/8 allow",
            'chroot: ""',
            'username: ""',
            'directory: "%s"' % self.dir,
            "use-syslog: no",
            'logfile: ""',
            "verbosity: 1",
            "do-daemonize: no",
            'pidfile: ""',
            'module-config: "iterator"',
            "num-threads: 1",
            "so-reuseport: no",
            # Nothing leaves loopback: the root itself is a local zone.
            'local-zone: "." static',
        ]
        for z in self.zones:
            lines += _zone_lines(z, "static", z in BUILTIN_ZONES)
        for z in self.refuse_zones:
            lines += _zone_lines(z, "always_refuse", z in BUILTIN_ZONES)
        lines += ["local-data: " + _quote(r) for r in self.records]
        lines += [x.strip() for x in self.extra.splitlines() if x.strip()]
        lines += ["remote-control:", "control-enable: no"]
        return "\n".join("    " + x if not x.endswith(":") else x
                         for x in lines) + "\n"

    def start(self):
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            ["unbound", "-d", "-c", self.conf], stdin=subprocess.DEVNULL,
            stdout=self._logf, stderr=subprocess.STDOUT)
        ok = amtest.wait_for(
            lambda: self.proc.poll() is not None or
            dns_query(self.port, ".", 6) is not None, timeout=10)
        if not ok or self.proc.poll() is not None:
            with open(self.log, errors="replace") as f:
                self.t.diag(f.read())
            self.t.bail("unbound did not start (config %s)" % self.conf)
        return self

    def stop(self):
        if self.proc is not None:
            amtest.stop_process(self.proc)
            self.proc = None
            self._logf.close()

    def restart(self):
        """Stop and start again on the same port (for fault tests)."""
        self.stop()
        return self.start()

    def client_conf(self, path):
        """Write the libunbound config a client (dns.unbound_config) needs."""
        return write_client_conf(path, self.zones + self.refuse_zones)


class DeadServer:
    """A loopback DNS server that never answers (UDP and TCP)."""

    def __init__(self, t):
        self.port = amtest.free_port_both()
        self.server = "127.0.0.1@%d" % self.port
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.conns = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        t.cleanup(self.stop)

    def _accept(self):
        self.tcp.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self.tcp.accept()
                self.conns.append(c)  # held open, never answered
            except socket.timeout:
                continue
            except OSError:
                return

    def stop(self):
        self._stop = True
        self.thread.join(2)
        for s in self.conns + [self.tcp, self.udp]:
            s.close()
