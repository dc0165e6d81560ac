#!/usr/bin/python3
# The Prometheus endpoint (metrics.listen): counters per method/result and
# per action, messages by direction, DNS counters, messages in flight, the
# latency histogram; 404 for other paths; off unless configured.
import os
import re
import sys
import urllib.error
import urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest
import daemon
import mtc
import world

t = amtest.Tap()
w = world.start(t)
port = amtest.free_port()
d = daemon.Daemon(t, w.policy(metrics={"listen": "127.0.0.1:%d" % port},
                              actions={"iprev_fail": "reject"}))
d.start()


def scrape(path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return r.status, r.read().decode()


def value(text, name):
    m = re.search(r"(?m)^%s (\S+)$" % re.escape(name), text)
    return float(m.group(1)) if m else None


for ip in ("127.0.0.5", "127.0.0.5", "127.0.0.6"):
    mtc.run(t, d.socket, mtc.MESSAGE, ["-a", ip])
mtc.run(t, d.socket, mtc.MESSAGE, ["-a", "127.0.0.1"])
status, text = scrape()
t.is_(status, 200, "GET /metrics: 200")
t.is_(value(text, 'authmilter_messages_total{direction="inbound"}'), 3.0, "3 inbound messages")
t.is_(value(text, 'authmilter_messages_total{direction="outbound"}'), 1.0, "1 outbound message")
t.is_(value(text, 'authmilter_results_total{method="iprev",result="pass"}'), 2.0, "iprev=pass counted")
t.is_(value(text, 'authmilter_results_total{method="iprev",result="fail"}'), 1.0, "iprev=fail counted")
t.is_(value(text, 'authmilter_actions_total{action="reject"}'), 1.0, "the reject counted")
t.is_(value(text, 'authmilter_actions_total{action="accept"}'), 3.0, "three accepts")
t.is_(value(text, 'authmilter_message_seconds_count'), 4.0, "histogram counts every message")
t.is_(value(text, 'authmilter_message_seconds_bucket{le="+Inf"}'), 4.0, "the +Inf bucket equals the count")
t.is_(value(text, "authmilter_messages_in_flight"), 0.0, "nothing in flight afterwards")
t.ok((value(text, "authmilter_dns_queries_total") or 0) > 0, "DNS queries counted")
t.ok((value(text, "authmilter_dns_cache_hits_total") or 0) > 0, "DNS cache hits counted")
try:
    scrape("/other")
    t.ok(False, "other paths: 404")
except urllib.error.HTTPError as e:
    t.is_(e.code, 404, "other paths: 404")
t.is_(d.stop(), 0, "clean stop with the endpoint running")
t.ok(not amtest.port_open("127.0.0.1", port), "the endpoint is closed at stop")
t.done()
