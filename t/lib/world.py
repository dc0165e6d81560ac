"""world: the DNS data and base policy most tests share.

Client addresses on loopback stand for hosts on the Internet:
    127.0.0.5  PTR mx.good.test.     A 127.0.0.5      iprev pass
    127.0.0.6  PTR mx.liar.test.     A 127.0.0.99     iprev fail
    127.0.0.7  (no PTR)                               iprev permerror
    127.0.0.8  PTR gone.test. (NXDOMAIN forward)      iprev fail
    127.0.0.9  PTR a.multi.test. + b.multi.test.; only b maps back: pass
    127.0.0.1  internal (internal_networks)

    w = world.start(t)             # unbound running with that data
    policy = w.policy(**overrides) # policy dict pointing at it
"""

import copy
import os

import amtest
import unbound

RECORDS = [
    "5.0.0.127.in-addr.arpa. 300 IN PTR mx.good.test.",
    "mx.good.test. 300 IN A 127.0.0.5",
    "6.0.0.127.in-addr.arpa. 300 IN PTR mx.liar.test.",
    "mx.liar.test. 300 IN A 127.0.0.99",
    "8.0.0.127.in-addr.arpa. 300 IN PTR gone.test.",
    "9.0.0.127.in-addr.arpa. 300 IN PTR a.multi.test.",
    "9.0.0.127.in-addr.arpa. 300 IN PTR b.multi.test.",
    "a.multi.test. 300 IN A 127.0.0.90",
    "b.multi.test. 300 IN A 127.0.0.9",
    "mx.test.example. 300 IN A 127.0.0.1",
]

AUTHSERV_ID = "mx.test.example"


class World:
    def __init__(self, t, records, timeout_ms=2000, extra=""):
        self.t = t
        self.dns = unbound.Unbound(t, records=RECORDS + list(records),
                                   extra=extra)
        self.dns.start()
        self.dir = amtest.tmpdir(t, "world-")
        self.client_conf = os.path.join(self.dir, "libunbound.conf")
        self.dns.client_conf(self.client_conf)
        self.timeout_ms = timeout_ms

    def policy(self, **over):
        p = {
            "authserv_id": AUTHSERV_ID,
            "internal_networks": ["127.0.0.1/32", "::1/128"],
            "dns": {"servers": [self.dns.server],
                    "timeout_ms": self.timeout_ms,
                    "unbound_config": self.client_conf},
        }
        for k, v in over.items():
            if isinstance(v, dict) and isinstance(p.get(k), dict):
                merged = copy.deepcopy(p[k])
                merged.update(v)
                p[k] = merged
            else:
                p[k] = v
        return p


def start(t, records=(), timeout_ms=2000, extra=""):
    """Unbound with RECORDS + records; extra: more unbound server: lines."""
    t.need_tools("unbound")
    return World(t, records, timeout_ms, extra)
