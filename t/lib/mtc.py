"""mtc: run the milter test client (t/lib/mtc) and parse what it prints.

    r = mtc.run(t, daemon.socket, msg, ["-a", "127.0.0.5"])
    r.result          "accept", "reject", "tempfail", "discard" or "reply ..."
    r.reply           "550 5.7.1 text" for a reply, else None
    r.inserted        [(index, name, value)] in arrival order (value unescaped)
    r.added           [(name, value)]
    r.deleted         [(name, index)] for chgheader with an empty value
    r.quarantine      reason or None
    r.header(name)    value of the first inserted/added header of that name
    r.lines, r.rc, r.seconds

See t/lib/README.mtc for the output format.
"""

import os
import re
import subprocess
import time

import amtest


def unescape(s):
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "n":
                out.append("\n")
            elif n == "r":
                out.append("\r")
            elif n == "t":
                out.append("\t")
            elif n == "\\":
                out.append("\\")
            elif n == "x" and i + 3 < len(s):
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 2
            else:
                out.append(n)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


class Result:
    def __init__(self, text, rc, seconds):
        self.text = text
        self.lines = text.splitlines()
        self.rc = rc
        self.seconds = seconds
        self.result = None
        self.reply = None
        self.inserted = []
        self.added = []
        self.deleted = []
        self.changed = []
        self.quarantine = None
        self.negotiate = None
        self.messages = []
        for line in self.lines:
            self._parse(line)

    def _parse(self, line):
        m = re.match(r"insheader (\d+) ([^:]+): ?(.*)$", line)
        if m:
            self.inserted.append((int(m.group(1)), m.group(2),
                                  unescape(m.group(3))))
            return
        m = re.match(r"addheader ([^:]+): ?(.*)$", line)
        if m:
            self.added.append((m.group(1), unescape(m.group(2))))
            return
        m = re.match(r"chgheader (\S+) (\d+) (.*)$", line)
        if m:
            if m.group(3) == "(delete)":
                self.deleted.append((m.group(1), int(m.group(2))))
            else:
                self.changed.append((m.group(1), int(m.group(2)),
                                     unescape(m.group(3))))
            return
        if line.startswith("quarantine "):
            self.quarantine = line[len("quarantine "):]
        elif line.startswith("negotiate "):
            self.negotiate = dict(kv.split("=", 1)
                                  for kv in line.split()[1:] if "=" in kv)
        elif line.startswith("result "):
            self.result = line[len("result "):]
            self.messages.append(self.result)
            if self.result.startswith("reply "):
                self.reply = self.result[len("reply "):]

    def header(self, name):
        for h in self.inserted:
            if h[1].lower() == name.lower():
                return h[2]
        for h in self.added:
            if h[0].lower() == name.lower():
                return h[1]
        return None

    def authres(self):
        """Our A-R value with folding undone and the leading space dropped."""
        v = self.header("Authentication-Results")
        if v is None:
            return None
        return re.sub(r"\s*\n\s*", " ", v).strip()


def path():
    return amtest.build("t", "lib", "mtc")


def run(t, socket, message, args=(), timeout=60):
    """Send message (bytes or str) through the milter at socket."""
    if isinstance(message, str):
        message = message.encode()
    cmd = [path(), "-p", socket] + list(args) + ["-"]
    start = time.monotonic()
    p = subprocess.run(cmd, input=message, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    r = Result(p.stdout.decode(errors="replace"), p.returncode,
               time.monotonic() - start)
    r.stderr = p.stderr.decode(errors="replace")
    return r


MESSAGE = (
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: test\r\n"
    "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <test-1@example.com>\r\n"
    "\r\n"
    "Hello.\r\n")
