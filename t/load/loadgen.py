#!/usr/bin/python3
"""loadgen: many concurrent milter sessions from one process (asyncio).

It plays the MTA side of the milter protocol, version 6, the way t/lib/mtc
does (negotiate, connect, helo, then per message MAIL, RCPT, DATA, the
headers, EOH, BODY chunks, BODYEOB, ABORT; QUIT at the end), honours the
steps the milter asked to skip (SMFIP_NO*) and those it marked "no reply"
(SMFIP_NR_*), obeys SMFIR_SKIP in the body, and classifies every message
by the reply it got.  One process keeps thousands of sessions open at
once, which thousands of mtc processes could not.

As a program (t/load/reload.t runs it; the sizes come from there):

    loadgen.py -p inet:PORT@127.0.0.1 -s 300 -m 1500 [-V 0.1]
               [-M FILE:IP[:AUTHUSER]]... [-t SECONDS] [-T BUDGET] [-o OUT.json]

  -s  sessions kept open at the same time (each carries 1..3 messages,
      then the slot opens a new session until -m messages were sent)
  -m  messages in all
  -V  fraction of sessions whose client vanishes in the middle of a
      message (closes the socket at a random step, like a crashed MTA)
  -M  a message file and the client address it comes from (repeatable,
      used in turn); AUTHUSER makes it an authenticated submission
  -t  seconds to wait for any one reply
  -T  seconds for the whole run: sessions not finished by then are cut and
      counted as "unfinished" (the run is bounded whatever happens)
  -o  the summary as JSON (also printed on stdout)

Outcomes per message: accept, reject, tempfail, discard, reply4 and reply5
(SMFIR_REPLYCODE with a 4xx or 5xx code) are definite replies; "vanished"
is a message the client abandoned on purpose; "closed" (the milter hung
up), "timeout", "error" (a protocol error) and "connfail" (could not
connect) are not replies.  The summary also gives the largest number of
sessions that were open at once.

As a module (t/chaos/alloc.t): Session.open(), negotiate(), connect(),
helo(), transaction(), quit() step by step.
"""

import argparse
import asyncio
import json
import random
import resource
import struct
import sys
import time

# Commands (libmilter mfdef.h).
C_OPTNEG, C_CONNECT, C_HELO, C_MAIL, C_RCPT = b"O", b"C", b"H", b"M", b"R"
C_DATA, C_HEADER, C_EOH, C_BODY, C_EOB = b"T", b"L", b"N", b"B", b"E"
C_ABORT, C_QUIT, C_MACRO = b"A", b"Q", b"D"

# Protocol flags.
P_NOCONNECT, P_NOHELO, P_NOMAIL, P_NORCPT = 0x1, 0x2, 0x4, 0x8
P_NOBODY, P_NOHDRS, P_NOEOH, P_NR_HDR = 0x10, 0x20, 0x40, 0x80
P_NODATA, P_SKIP = 0x200, 0x400
P_NR_CONN, P_NR_HELO, P_NR_MAIL, P_NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
P_NR_DATA, P_NR_EOH, P_NR_BODY = 0x10000, 0x40000, 0x80000
P_HDR_LEADSPC = 0x100000

OFFER_ACTIONS = 0x1ff
OFFER_STEPS = 0x1fffff  # what Postfix 3.7 offers

DECISIONS = {b"c": "continue", b"a": "accept", b"r": "reject",
             b"t": "tempfail", b"d": "discard", b"s": "skip"}
MODIFICATIONS = b"hi" + b"m" + b"b+-2eq"   # header, body, rcpt, from, quar.
MAX_REPLY = 1024 * 1024
CHUNK = 65535
STAGES = ("envfrom", "header", "eoh", "body", "eom")
DEFINITE = ("accept", "reject", "tempfail", "discard", "reply4", "reply5")


class ProtocolError(Exception):
    pass


class Closed(Exception):
    """The milter hung up."""


def cstr(s):
    return (s.encode() if isinstance(s, str) else s) + b"\0"


class Message:
    """A message file split the way mtc splits it: (name, raw value after
    the colon, folded lines joined by LF) pairs and a CRLF body."""

    def __init__(self, data, addr="127.0.0.1", auth=None,
                 mail_from="sender@example.com", rcpt="rcpt@example.net"):
        data = data.replace(b"\r\n", b"\n")
        head, sep, body = data.partition(b"\n\n")
        if not sep:
            head, body = data, b""
        self.headers = []
        for line in head.split(b"\n"):
            if line[:1] in (b" ", b"\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + b"\n" + line)
            elif b":" in line:
                name, _, value = line.partition(b":")
                self.headers.append((name, value))
        if body and not body.endswith(b"\n"):
            body += b"\n"
        self.body = body.replace(b"\n", b"\r\n")
        self.addr = addr
        self.auth = auth
        self.mail_from = mail_from
        self.rcpt = rcpt


class Outcome:
    def __init__(self, kind, reply=None, mods=None, stage=None, detail=None):
        self.kind = kind        # see the module comment
        self.reply = reply      # SMFIR_REPLYCODE text
        self.mods = mods or []  # [(command char, data bytes)] at eom
        self.stage = stage      # where it ended
        self.detail = detail

    def header(self, name):
        """The value of the first inserted or added header called name."""
        for cmd, data in self.mods:
            if cmd in (b"i", b"h"):
                raw = data[4:] if cmd == b"i" else data
                n, _, v = raw.partition(b"\0")
                if n.decode(errors="replace").lower() == name.lower():
                    return v.rstrip(b"\0").decode(errors="replace")
        return None


def parse_socket(spec):
    """libmilter syntax: inet:PORT@HOST or unix:PATH."""
    if spec.startswith("inet:"):
        port, _, host = spec[5:].partition("@")
        return ("inet", host or "127.0.0.1", int(port))
    if spec.startswith(("unix:", "local:")):
        return ("unix", spec.split(":", 1)[1], None)
    return ("unix", spec, None)


class Session:
    """One milter connection, driven step by step."""

    def __init__(self, reader, writer, timeout):
        self.r = reader
        self.w = writer
        self.timeout = timeout
        self.protocol = 0
        self.actions = 0

    @classmethod
    async def open(cls, spec, timeout=30.0):
        kind, host, port = parse_socket(spec)
        if kind == "inet":
            coro = asyncio.open_connection(host, port)
        else:
            coro = asyncio.open_unix_connection(host)
        r, w = await asyncio.wait_for(coro, timeout)
        return cls(r, w, timeout)

    def close(self):
        try:
            self.w.transport.abort()
        except Exception:
            pass

    def send(self, cmd, data=b""):
        self.w.write(struct.pack("!I", len(data) + 1) + cmd + data)

    async def recv(self):
        try:
            head = await asyncio.wait_for(self.r.readexactly(5), self.timeout)
            n = struct.unpack("!I", head[:4])[0]
            if n < 1 or n > MAX_REPLY:
                raise ProtocolError("reply length %d" % n)
            data = await asyncio.wait_for(self.r.readexactly(n - 1),
                                          self.timeout)
        except asyncio.IncompleteReadError:
            raise Closed()
        except (ConnectionError, OSError):
            raise Closed()
        return head[4:5], data

    async def flush(self):
        try:
            await asyncio.wait_for(self.w.drain(), self.timeout)
        except (ConnectionError, OSError):
            raise Closed()

    async def negotiate(self):
        self.send(C_OPTNEG, struct.pack("!III", 6, OFFER_ACTIONS, OFFER_STEPS))
        await self.flush()
        cmd, data = await self.recv()
        if cmd != C_OPTNEG or len(data) < 12:
            raise ProtocolError("bad OPTNEG reply %r" % cmd)
        _, self.actions, self.protocol = struct.unpack("!III", data[:12])

    async def answer(self, nr_flag, mods=None):
        """The decision for a step (None when it is a no-reply step)."""
        if nr_flag and self.protocol & nr_flag:
            return None
        while True:
            cmd, data = await self.recv()
            if cmd in DECISIONS:
                return DECISIONS[cmd]
            if cmd == b"y":
                text = data.rstrip(b"\0").decode(errors="replace")
                if text[:1] not in ("4", "5"):
                    raise ProtocolError("reply code %r" % text)
                return "reply " + text
            if cmd == b"p":
                continue
            if cmd in MODIFICATIONS and mods is not None:
                mods.append((cmd, data))
                continue
            raise ProtocolError("unexpected reply %r" % cmd)

    def macro(self, stage, pairs):
        data = stage + b"".join(cstr(k) + cstr(v) for k, v in pairs)
        self.send(C_MACRO, data)

    async def step(self, cmd, data, nr_flag, skip_flag=0, mods=None):
        if skip_flag and self.protocol & skip_flag:
            return None
        self.send(cmd, data)
        await self.flush()
        return await self.answer(nr_flag, mods)

    async def connect(self, addr, name=None, port=40000):
        wire = name or "[%s]" % addr
        self.macro(C_CONNECT, [("j", "mx.test.example"),
                               ("{daemon_name}", "smtpd"),
                               ("{client_addr}", addr),
                               ("{client_name}", name or "unknown")])
        fam = b"6" if ":" in addr else b"4"
        data = cstr(wire) + fam + struct.pack("!H", port) + cstr(addr)
        return await self.step(C_CONNECT, data, P_NR_CONN, P_NOCONNECT)

    async def helo(self, name="client.example"):
        return await self.step(C_HELO, cstr(name), P_NR_HELO, P_NOHELO)

    def _value(self, raw):
        if self.protocol & P_HDR_LEADSPC:
            return raw
        return raw[1:] if raw[:1] == b" " else raw

    async def _headers(self, msg, vanish):
        for i, (name, value) in enumerate(msg.headers):
            if vanish == "header" and i == len(msg.headers) // 2:
                return "vanished"
            a = await self.step(C_HEADER, cstr(name) + cstr(self._value(value)),
                                P_NR_HDR, P_NOHDRS)
            if a not in (None, "continue"):
                return a
        return None

    async def _body(self, msg, vanish):
        body = msg.body
        for off in range(0, len(body), CHUNK):
            if vanish == "body" and off >= len(body) // 2:
                return "vanished"
            a = await self.step(C_BODY, body[off:off + CHUNK], P_NR_BODY,
                                P_NOBODY)
            if a == "skip":
                return None
            if a not in (None, "continue"):
                return a
        if vanish == "body":
            return "vanished"
        return None

    async def _envelope(self, msg, vanish):
        if vanish == "envfrom":
            return "vanished"
        pairs = [("i", "LOADQID"), ("{mail_addr}", msg.mail_from)]
        if msg.auth:
            pairs += [("{auth_type}", "PLAIN"), ("{auth_authen}", msg.auth)]
        self.macro(C_MAIL, pairs)
        a = await self.step(C_MAIL, cstr("<%s>" % msg.mail_from),
                            P_NR_MAIL, P_NOMAIL)
        if a not in (None, "continue"):
            return a
        self.macro(C_RCPT, [("{rcpt_addr}", msg.rcpt)])
        a = await self.step(C_RCPT, cstr("<%s>" % msg.rcpt), P_NR_RCPT,
                            P_NORCPT)
        if a not in (None, "continue"):
            return a
        a = await self.step(C_DATA, b"", P_NR_DATA, P_NODATA)
        return a if a not in (None, "continue") else None

    async def transaction(self, msg, vanish=None):
        """One message; returns an Outcome.  vanish: a stage of STAGES at
        which to hang up instead of going on."""
        mods = []
        for part, stage in ((self._envelope, "envfrom"),
                            (self._headers, "header")):
            a = await part(msg, vanish)
            if a is not None:
                return self._ended(a, stage, mods)
        if vanish == "eoh":
            return self._ended("vanished", "eoh", mods)
        a = await self.step(C_EOH, b"", P_NR_EOH, P_NOEOH)
        if a not in (None, "continue"):
            return self._ended(a, "eoh", mods)
        a = await self._body(msg, vanish)
        if a is not None:
            return self._ended(a, "body", mods)
        self.macro(C_EOB, [("i", "LOADQID")])
        self.send(C_EOB)
        await self.flush()
        if vanish == "eom":
            return self._ended("vanished", "eom", mods)
        a = await self.answer(0, mods)
        return self._ended(a, "eom", mods)

    def _ended(self, a, stage, mods):
        if a == "vanished":
            self.close()
            return Outcome("vanished", stage=stage)
        if a in ("continue", "skip"):
            a = "accept"
        if a.startswith("reply "):
            return Outcome("reply" + a[6], reply=a[6:], mods=mods, stage=stage)
        return Outcome(a, mods=mods, stage=stage)

    async def end_message(self):
        """SMFIC_ABORT after every message, as Postfix's mail_reset."""
        self.send(C_ABORT)
        await self.flush()

    async def quit(self, wait=5.0):
        """SMFIC_QUIT, then wait for the milter to hang up."""
        self.send(C_QUIT)
        try:
            await self.flush()
            await asyncio.wait_for(self.r.read(), wait)
        except (Closed, ConnectionError, OSError, asyncio.TimeoutError):
            pass
        self.close()


# -- the load run -----------------------------------------------------------

class Stats:
    def __init__(self):
        self.kinds = {}
        self.open_now = 0
        self.open_max = 0
        self.sessions = 0
        self.samples = []

    def count(self, kind, detail=None):
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if detail and len(self.samples) < 20:
            self.samples.append("%s: %s" % (kind, detail))


async def one_session(spec, msgs, nmsg, vanish_p, stats, timeout, rnd):
    """One session carrying nmsg messages; returns how many it used."""
    first = msgs[0]
    vanish_at = (rnd.randrange(nmsg), rnd.choice(STAGES)) \
        if rnd.random() < vanish_p else None
    try:
        s = await Session.open(spec, timeout)
    except (OSError, asyncio.TimeoutError) as e:
        stats.count("connfail", repr(e))
        return nmsg
    stats.sessions += 1
    stats.open_now += 1
    stats.open_max = max(stats.open_max, stats.open_now)
    used = 0
    try:
        await s.negotiate()
        a = await s.connect(first.addr)
        if a in (None, "continue"):
            a = await s.helo()
        if a not in (None, "continue"):
            stats.count(s._ended(a, "connect", []).kind)
            used = nmsg
        for i in range(nmsg - used):
            m = msgs[i % len(msgs)]
            v = vanish_at[1] if vanish_at and vanish_at[0] == i else None
            o = await s.transaction(m, v)
            used += 1
            stats.count(o.kind)
            if o.kind == "vanished":
                return nmsg
            if o.kind in ("accept", "discard", "reject", "tempfail") or \
                    o.kind.startswith("reply"):
                await s.end_message()
        await s.quit()
    except Closed:
        stats.count("closed", "milter hung up")
        used = nmsg
    except asyncio.TimeoutError:
        stats.count("timeout")
        used = nmsg
    except ProtocolError as e:
        stats.count("error", str(e))
        used = nmsg
    finally:
        s.close()
        stats.open_now -= 1
    return max(used, 1)


async def slot(spec, msgs, budget, vanish_p, stats, timeout, rnd):
    while budget["left"] > 0:
        n = min(rnd.randint(1, 3), budget["left"])
        budget["left"] -= n
        # Every slot sends its messages in its own order.
        k = rnd.randrange(len(msgs))
        order = msgs[k:] + msgs[:k]
        await one_session(spec, order, n, vanish_p, stats, timeout, rnd)


async def run_load(spec, msgs, sessions, messages, vanish_p, timeout, budget_s,
                   seed=1):
    stats = Stats()
    budget = {"left": messages}
    start = time.monotonic()
    tasks = [asyncio.ensure_future(slot(spec, msgs, budget, vanish_p, stats,
                                        timeout, random.Random(seed + i)))
             for i in range(sessions)]
    done, pending = await asyncio.wait(tasks, timeout=budget_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
    for task in done:
        if task.exception() is not None:
            stats.count("error", repr(task.exception()))
    unfinished = len(pending)
    kinds = stats.kinds
    return {
        "sessions_concurrent": sessions,
        "sessions": stats.sessions,
        "messages": messages,
        "replies": kinds,
        "definite": sum(kinds.get(k, 0) for k in DEFINITE),
        "vanished": kinds.get("vanished", 0),
        "not_definite": sum(kinds.get(k, 0) for k in
                            ("closed", "timeout", "error", "connfail")),
        "unfinished_slots": unfinished,
        "open_max": stats.open_max,
        "seconds": round(time.monotonic() - start, 2),
        "samples": stats.samples,
    }


def load_messages(specs):
    out = []
    for spec in specs:
        parts = spec.split(":")
        with open(parts[0], "rb") as f:
            data = f.read()
        out.append(Message(data, addr=parts[1] if len(parts) > 1 else
                           "127.0.0.1",
                           auth=parts[2] if len(parts) > 2 else None))
    return out


def main(argv):
    ap = argparse.ArgumentParser(description="milter load generator")
    ap.add_argument("-p", required=True, help="milter socket")
    ap.add_argument("-s", type=int, default=100, help="concurrent sessions")
    ap.add_argument("-m", type=int, default=1000, help="messages")
    ap.add_argument("-V", type=float, default=0.0, help="vanishing fraction")
    ap.add_argument("-M", action="append", default=[], help="FILE:IP[:AUTH]")
    ap.add_argument("-t", type=float, default=60.0, help="reply timeout")
    ap.add_argument("-T", type=float, default=600.0, help="run budget")
    ap.add_argument("-o", help="JSON summary file")
    a = ap.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.s + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    msgs = load_messages(a.M) or [Message(
        b"From: a@example.com\r\nTo: b@example.net\r\nSubject: load\r\n\r\n"
        b"Hello.\r\n")]
    summary = asyncio.run(run_load(a.p, msgs, a.s, a.m, a.V, a.t, a.T))
    text = json.dumps(summary, indent=1, sort_keys=True)
    if a.o:
        with open(a.o, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
