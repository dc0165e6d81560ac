"""sendmail: a private Sendmail instance for end-to-end tests.

    sendmail.need(t)             # packages ready, or skip (bail out in CI)
    sm = Sendmail(t, milter=d.socket, sasl_users={"alice": "secret"})
    sm.start()
    code, text = sm.send(msg, rcpts=["b@example.net"], auth=None)
    msg = sm.wait_delivered()    # bytes, or None after the timeout
    sm.delivered(); sm.log(); sm.processes(); sm.stop()   # stop is automatic

Debian's sendmail-bin conflicts with postfix, so it is never installed:
sendmail-bin and sendmail-cf (and libwrap0 when the system lacks
libwrap.so.0) are fetched with "apt-get download" into a cache directory
the first time (AUTHMILTER_DEB_CACHE, default ~/.cache/authmilter-test/debs)
and unpacked with dpkg -x into a directory of the test.  Each instance
builds its sendmail.cf with m4 from a sendmail.mc that contains the lines
of contrib/sendmail/authmilter.mc, the socket replaced by the test's, so
the snippet operators paste is the one the tests run.

"sendmail -bD" runs inside new UTS, mount and PID namespaces (unshare):
  - its host name is mx.test.example: Sendmail hangs ("sleeping for
    retry", said only to syslog) when the host name is not fully qualified;
  - private /etc/hosts, /etc/nsswitch.conf ("hosts: files") and
    /etc/resolv.conf are mounted over the system's: Sendmail looks up its
    own name and every client's PTR with the C library, which would
    otherwise ask the system's DNS server;
  - it is the init of its PID namespace, so when it exits the kernel kills
    whatever it left (connection and delivery children, which detach with
    setsid and change their process titles), and processes() names exactly
    this instance's processes.
It listens on a loopback port chosen at run time, with its own queue and
configuration.  Delivery is as in t/lib/postfix.py: every recipient goes
to one pipe mailer that writes the message into DIR/out (Unix line ends,
nothing added but Sendmail's Received).  Sendmail does no DNS and no ident
lookups: Received says "from HELO ([IP])" and the milter's client name is
"[IP]".  Every client may relay.  SMTP AUTH (PLAIN, LOGIN) uses Cyrus SASL
with a private sasldb.  There is no syslog: log() is Sendmail's traffic
log (-X: the SMTP dialogue and each mailer run) and its stderr.  (Its -d
debug output cannot help: in daemon mode it goes into the SMTP stream.)
It needs root.
"""

import fcntl
import functools
import glob
import grp
import os
import pwd
import re
import signal
import socket
import subprocess
import tempfile

import amtest
import postfix

HOST = "127.0.0.1"
HOSTNAME = "mx.test.example"
DELIVERY_USER = "nobody"
PACKAGES = ("sendmail-bin", "sendmail-cf")
SNIPPET = ("contrib", "sendmail", "authmilter.mc")

# The unpacked packages, shared by the instances of one test process.
_dist = None


class SendmailError(Exception):
    pass


class Unavailable(Exception):
    """The packages cannot be fetched or the binary cannot run here."""


def need(t):
    """Make sure the packages are ready; skip the test (bail out in CI)
    when they cannot be."""
    t.need_root()
    t.need_tools("apt-get", "dpkg", "dpkg-deb", "m4", "unshare", "hostname",
                 "mount", "ldd", "saslpasswd2")
    try:
        _check_namespaces()
        return dist(t)
    except Unavailable as e:
        if amtest.IN_CI:
            t.bail("private Sendmail unavailable: %s" % e)
        t.skip_all("private Sendmail unavailable: %s" % e)
    return None


def _check_namespaces():
    """unshare needs CAP_SYS_ADMIN (a container may not grant it)."""
    res = subprocess.run(["unshare", "--uts", "--mount", "--pid", "--fork",
                          "--kill-child", "--", "true"],
                         capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        raise Unavailable("cannot make UTS, mount and PID namespaces: %s"
                          % res.stderr.strip())


def snippet_lines(socket):
    """contrib/sendmail/authmilter.mc with S= set to socket, as a list of
    lines; the file must hold exactly one INPUT_MAIL_FILTER line."""
    with open(amtest.src(*SNIPPET)) as f:
        lines = f.read().splitlines()
    filters = [i for i, line in enumerate(lines)
               if line.startswith("INPUT_MAIL_FILTER(")]
    if len(filters) != 1:
        raise SendmailError("%s: want one INPUT_MAIL_FILTER line, got %d"
                            % ("/".join(SNIPPET), len(filters)))
    i = filters[0]
    new, n = re.subn(r"\bS=[^,']*", "S=" + socket, lines[i])
    if n != 1:
        raise SendmailError("%s: no S= in %r" % ("/".join(SNIPPET),
                                                  lines[i]))
    lines[i] = new
    return lines


# ---- packages ------------------------------------------------------------

def cache_dir():
    d = os.environ.get("AUTHMILTER_DEB_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser(
            "~/.cache")
        d = os.path.join(base, "authmilter-test", "debs")
    os.makedirs(d, mode=0o755, exist_ok=True)
    return d


def _deb_version(path):
    return os.path.basename(path).split("_")[1]


def _newest(paths):
    def cmp(a, b):
        if _deb_version(a) == _deb_version(b):
            return 0
        r = subprocess.run(["dpkg", "--compare-versions",
                            _deb_version(a).replace("%3a", ":"), "lt",
                            _deb_version(b).replace("%3a", ":")])
        return -1 if r.returncode == 0 else 1
    return sorted(paths, key=functools.cmp_to_key(cmp))[-1]


def _cached(cache, package, version=None):
    paths = glob.glob(os.path.join(cache, "%s_%s_*.deb" % (
        package, version or "*")))
    return _newest(paths) if paths else None


def _download(cache, packages):
    """apt-get download into a private directory, then move the files in,
    so that a concurrent test never sees half a file.  apt cannot drop to
    its _apt user in a root-only directory: tell it not to try."""
    with tempfile.TemporaryDirectory(dir=cache, prefix=".dl-") as tmp:
        try:
            res = subprocess.run(
                ["apt-get", "download", "-q", "-o",
                 "APT::Sandbox::User=root"] + list(packages),
                cwd=tmp, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Unavailable("apt-get download %s: %s" % (
                " ".join(packages), e))
        if res.returncode != 0:
            raise Unavailable("apt-get download %s failed:\n%s%s" % (
                " ".join(packages), res.stdout, res.stderr))
        for name in os.listdir(tmp):
            if name.endswith(".deb"):
                os.replace(os.path.join(tmp, name), os.path.join(cache, name))


def fetch(extra=()):
    """{package: .deb path} for sendmail-bin, sendmail-cf of the same
    version, and extra; downloads only what the cache lacks."""
    cache = cache_dir()
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        binary = _cached(cache, "sendmail-bin")
        cf = binary and _cached(cache, "sendmail-cf", _deb_version(binary))
        if not cf:
            _download(cache, PACKAGES)
            binary = _cached(cache, "sendmail-bin")
            cf = binary and _cached(cache, "sendmail-cf",
                                    _deb_version(binary))
            if not cf:
                raise Unavailable("no matching sendmail-bin and sendmail-cf "
                                  "in " + cache)
        debs = {"sendmail-bin": binary, "sendmail-cf": cf}
        missing = [p for p in extra if not _cached(cache, p)]
        if missing:
            _download(cache, missing)
        for p in extra:
            debs[p] = _cached(cache, p)
            if not debs[p]:
                raise Unavailable("apt-get download %s gave no file" % p)
    return debs


class Dist:
    """The unpacked packages: .binary (setgid bit cleared), .cf_dir
    (sendmail-cf's m4 tree), .helpfile, .env (LD_LIBRARY_PATH when
    libwrap0 had to be unpacked too)."""

    def __init__(self, t):
        self.root = amtest.tmpdir(t, prefix="amtest-sendmail-dist-")
        debs = fetch()
        for deb in debs.values():
            self._unpack(deb)
        self.version = _deb_version(debs["sendmail-bin"])
        self.binary = os.path.join(self.root, "usr", "libexec", "sendmail",
                                   "sendmail")
        self.cf_dir = os.path.join(self.root, "usr", "share", "sendmail",
                                   "cf")
        self.helpfile = os.path.join(self.root, "etc", "mail", "helpfile")
        # The binary is setgid mail: the loader would ignore
        # LD_LIBRARY_PATH; the copy needs no privilege of its own.
        os.chmod(self.binary, 0o755)
        self.env = {}
        if "libwrap.so.0" in self._missing_libs():
            self._unpack(fetch(["libwrap0"])["libwrap0"])
            libdirs = sorted({os.path.dirname(p) for p in glob.glob(
                os.path.join(self.root, "usr", "lib", "*", "libwrap.so.0"))})
            self.env["LD_LIBRARY_PATH"] = ":".join(libdirs)
        missing = self._missing_libs()
        if missing:
            raise Unavailable("%s needs %s (install them)" % (
                self.binary, ", ".join(missing)))

    def _unpack(self, deb):
        res = subprocess.run(["dpkg", "-x", deb, self.root],
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise Unavailable("dpkg -x %s: %s" % (deb, res.stderr))

    def _missing_libs(self):
        res = subprocess.run(["ldd", self.binary], capture_output=True,
                             text=True, env=dict(os.environ, **self.env),
                             timeout=60)
        return re.findall(r"^\s*(\S+) => not found", res.stdout, re.M)


def dist(t):
    global _dist
    if _dist is None:
        _dist = Dist(t)
    return _dist


# ---- one instance --------------------------------------------------------

class Sendmail:
    """One private Sendmail: start(), send(), wait_delivered(), stop()."""

    def __init__(self, t, milter=None, sasl_users=None, mc_extra=()):
        self.t = t
        self.milter = milter
        self.sasl_users = dict(sasl_users or {})
        self.mc_extra = list(mc_extra)
        self.host = HOST
        self.port = None
        self.root = amtest.tmpdir(t, prefix="amtest-sendmail-")
        self.etc = os.path.join(self.root, "etc")
        self.queue_dir = os.path.join(self.root, "queue")
        self.out_dir = os.path.join(self.root, "out")
        self.sasl_dir = os.path.join(self.etc, "sasl")
        self.mc = os.path.join(self.etc, "sendmail.mc")
        self.cf = os.path.join(self.etc, "sendmail.cf")
        self.traffic = os.path.join(self.root, "traffic.log")
        self.stderr = os.path.join(self.root, "sendmail.log")
        self.proc = None
        self.init_pid = None
        self.pidns = None
        self._seen = set()
        self._running = False

    # The SMTP client and the out/ bookkeeping are Postfix's: same layout.
    send = postfix.Postfix.send
    _transaction = postfix.Postfix._transaction
    _delivered_files = postfix.Postfix._delivered_files
    delivered = postfix.Postfix.delivered
    wait_delivered = postfix.Postfix.wait_delivered
    _children = postfix.Postfix._children

    # ---- setup -----------------------------------------------------------

    def start(self):
        """Build the configuration, start sendmail -bD, wait for its 220."""
        self.dist = dist(self.t)
        self.port = amtest.free_port(HOST)
        self._make_dirs()
        self._write_files()
        self._sasl_conf()
        if self.sasl_users:
            self._setup_sasl()
        self._build_cf()
        self.t.cleanup(self.stop)
        self._running = True
        self._logf = open(self.stderr, "ab")
        self.proc = subprocess.Popen(
            ["unshare", "--uts", "--mount", "--pid", "--fork",
             "--kill-child", "--", "/bin/sh", os.path.join(self.etc, "run")],
            stdin=subprocess.DEVNULL, stdout=self._logf, stderr=self._logf)
        self.init_pid = amtest.wait_for(self._find_init, 10)
        if not self.init_pid:
            raise SendmailError("sendmail did not start:\n" + self.log())
        try:
            self.pidns = os.readlink("/proc/%d/ns/pid" % self.init_pid)
        except OSError:
            raise SendmailError("sendmail exited at once:\n" + self.log())
        if not amtest.wait_for(self._greets, 20, 0.1):
            raise SendmailError("sendmail on port %d never greeted:\n%s"
                                % (self.port, self.log()))
        return self

    def _find_init(self):
        if self.proc.poll() is not None:
            raise SendmailError("sendmail exited with %d:\n%s" % (
                self.proc.returncode, self.log()))
        kids = self._children(self.proc.pid)
        return kids[0] if kids else None

    def _greets(self):
        if self.proc.poll() is not None:
            raise SendmailError("sendmail exited with %d:\n%s" % (
                self.proc.returncode, self.log()))
        try:
            with socket.create_connection((HOST, self.port),
                                          timeout=2) as s:
                s.settimeout(5)
                line = b""
                while not line.endswith(b"\n"):
                    chunk = s.recv(512)
                    if not chunk:
                        break
                    line += chunk
                s.sendall(b"QUIT\r\n")
                return line.startswith(b"220 ")
        except OSError:
            return False

    def _make_dirs(self):
        """Queue and configuration owned by root and closed to others
        (Sendmail checks); out/ writable by the delivery user."""
        nobody = pwd.getpwnam(DELIVERY_USER)
        for d in (self.etc, self.queue_dir, self.out_dir):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.chmod(self.queue_dir, 0o700)
        os.chown(self.out_dir, nobody.pw_uid, nobody.pw_gid)

    def _write(self, name, text, mode=0o644):
        path = os.path.join(self.etc, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def _write_files(self):
        self.deliver = self._write("deliver", (
            "#!/bin/sh\n"
            "# usage: deliver OUTDIR QUEUE_ID RECIPIENT... < message\n"
            "umask 022\n"
            "f=\"$1/$(date +%s%N)-$2\"\n"
            "cat > \"$f.tmp\" && mv \"$f.tmp\" \"$f.eml\"\n"), 0o755)
        self._write("hosts", "127.0.0.1 localhost\n")
        self._write("nsswitch.conf", "passwd: files\ngroup: files\n"
                    "hosts: files\nservices: files\n")
        # Sendmail's own switch for its host and alias maps.
        self._write("service.switch", "hosts files\naliases files\n")
        # Nothing listens on port 53 here: a stray query fails at once.
        self._write("resolv.conf", "nameserver 127.0.0.1\n"
                    "options timeout:1 attempts:1\n")
        # Private host name and name service files, then Sendmail as the
        # init of its PID namespace (mount propagation is private).
        args = [self.dist.binary, "-C", self.cf, "-bD", "-X", self.traffic]
        env = " ".join("%s=%s" % kv for kv in self.dist.env.items())
        self._write("run", (
            "set -e\n"
            "hostname %s\n"
            "for f in hosts nsswitch.conf resolv.conf; do\n"
            "    if [ -e /etc/$f ]; then mount --bind %s/$f /etc/$f; fi\n"
            "done\n"
            "exec env -i %s %s\n") % (HOSTNAME, self.etc, env,
                                     " ".join(args)))

    def _setup_sasl(self):
        """A private sasldb, read by Sendmail (root).  Sendmail checks the
        SASL files like its own: the database must not be readable by
        group or others."""
        os.makedirs(self.sasl_dir, mode=0o755, exist_ok=True)
        sasldb = os.path.join(self.sasl_dir, "sasldb2")
        for user, password in self.sasl_users.items():
            subprocess.run(
                ["saslpasswd2", "-c", "-p", "-f", sasldb, "-u", HOSTNAME,
                 user], input=password.encode(), check=True,
                capture_output=True)
        os.chmod(sasldb, 0o600)

    def _sasl_conf(self):
        """Sendmail.conf for Cyrus SASL, always private: without it the
        library would read the system's /etc/sasldb2."""
        os.makedirs(self.sasl_dir, mode=0o755, exist_ok=True)
        with open(os.path.join(self.sasl_dir, "Sendmail.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\n"
                    "auxprop_plugin: sasldb\n"
                    "mech_list: PLAIN LOGIN\n"
                    "sasldb_path: %s\n" % os.path.join(self.sasl_dir,
                                                       "sasldb2"))

    def mc_text(self):
        """sendmail.mc for this instance."""
        nobody = pwd.getpwnam(DELIVERY_USER)
        user = "%s:%s" % (DELIVERY_USER, grp.getgrgid(nobody.pw_gid).gr_name)

        def define(name, value):
            return "define(`%s', `%s')dnl" % (name, value)

        lines = [
            "divert(-1)",
            "# One test instance of Sendmail (t/lib/sendmail.py).",
            "divert(0)dnl",
            "include(`%s/m4/cf.m4')dnl" % self.dist.cf_dir,
            "VERSIONID(`authmilter test instance')dnl",
            "OSTYPE(`linux')dnl",
            define("confDOMAIN_NAME", HOSTNAME),
            define("confDONT_PROBE_INTERFACES", "True"),
            define("confSERVICE_SWITCH_FILE",
                   os.path.join(self.etc, "service.switch")),
            define("confHOSTS_FILE", os.path.join(self.etc, "hosts")),
            define("confCR_FILE", "-o " + os.path.join(self.etc,
                                                      "relay-domains")),
            define("confCT_FILE", "-o " + os.path.join(self.etc,
                                                      "trusted-users")),
            define("ALIAS_FILE", ""),
            define("HELP_FILE", self.dist.helpfile),
            define("STATUS_FILE", os.path.join(self.root, "sendmail.st")),
            define("QUEUE_DIR", self.queue_dir),
            define("confPID_FILE", os.path.join(self.root, "sendmail.pid")),
            define("confDEAD_LETTER_DROP", os.path.join(self.root,
                                                        "dead.letter")),
            define("confHOST_STATUS_DIRECTORY", ""),
            define("confDEF_USER_ID", user),
            # The instance lives in the temporary directory, which is
            # world-writable: unless the sticky bit is trusted, Sendmail
            # skips Sendmail.conf as unsafe without a word, and Cyrus SASL
            # falls back to the system's /etc/sasldb2.
            define("confDONT_BLAME_SENDMAIL", "TrustStickyBit"),
            define("confPRIVACY_FLAGS", "noexpn,novrfy"),
            define("confTO_IDENT", "0"),
            # A busy test machine must not make Sendmail queue or refuse.
            define("confQUEUE_LA", "1000"),
            define("confREFUSE_LA", "1000"),
            define("confDELAY_LA", "0"),
            define("confMIN_FREE_BLOCKS", "0"),
            define("confAUTH_MECHANISMS",
                   "PLAIN LOGIN" if self.sasl_users else ""),
            "TRUST_AUTH_MECH(`PLAIN LOGIN')dnl",
            "DAEMON_OPTIONS(`Port=%d, Addr=%s, Name=MTA')dnl" % (self.port,
                                                                 HOST),
            "FEATURE(`no_default_msa')dnl",
            "FEATURE(`accept_unresolvable_domains')dnl",
            "FEATURE(`accept_unqualified_senders')dnl",
            "FEATURE(`promiscuous_relay')dnl",
            "FEATURE(`nocanonify')dnl",
            # Every recipient, local ones too, goes to the pipe mailer.
            define("SMART_HOST", "deliver:out"),
            define("LOCAL_MAILER_PATH", self.deliver),
            define("LOCAL_MAILER_ARGS", "deliver %s $i $u" % self.out_dir),
        ]
        if self.milter:
            lines += snippet_lines(self.milter)
        lines += self.mc_extra
        lines += [
            "MAILER(`local')dnl",
            "MAILER(`smtp')dnl",
            "LOCAL_CONFIG",
            # Sendmail empties its environment; this E line puts back what
            # Cyrus SASL reads to find Sendmail.conf.
            "ESASL_CONF_PATH=%s" % self.sasl_dir,
            "MAILER_DEFINITIONS",
            # m: all recipients in one run, n: no From_ line, 8: no MIME
            # conversion; the SMTP rulesets leave addresses alone (a
            # local-style mailer would rewrite them).  Without $u in A=,
            # Sendmail would speak SMTP to the program.
            "Mdeliver, P=%s, F=mn8, U=%s, S=EnvFromSMTP/HdrFromSMTP, "
            "R=EnvToSMTP/HdrToSMTP, A=deliver %s $i $u" % (
                self.deliver, user, self.out_dir),
        ]
        return "\n".join(lines) + "\n"

    def _build_cf(self):
        with open(self.mc, "w") as f:
            f.write(self.mc_text())
        res = subprocess.run(["m4", self.mc], capture_output=True,
                             text=True, timeout=60)
        # promiscuous_relay warns on stderr; anything else is an error.
        errors = [line for line in res.stderr.splitlines()
                  if line.strip() and "promiscuous_relay" not in line
                  and "open relay" not in line and "Internet!" not in line]
        if res.returncode != 0 or errors:
            raise SendmailError("m4 %s failed:\n%s" % (self.mc, res.stderr))
        with open(self.cf, "w") as f:
            f.write(res.stdout)
        os.chmod(self.cf, 0o644)

    def cf_text(self):
        with open(self.cf) as f:
            return f.read()

    # ---- control ---------------------------------------------------------

    def processes(self):
        """Live processes in this instance's PID namespace."""
        if not self.pidns:
            return []
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/ns/pid" % name) != self.pidns:
                    continue
            except OSError:
                continue
            if postfix._alive(int(name)):
                pids.append(int(name))
        return pids

    def stop(self):
        """SIGTERM to Sendmail; its exit ends the namespace and every
        process in it.  If it does not go, SIGKILL to unshare, which
        --kill-child passes on."""
        if not self._running:
            return
        self._running = False
        if self.init_pid and postfix._alive(self.init_pid):
            try:
                os.kill(self.init_pid, signal.SIGTERM)
            except OSError:
                pass
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(20)
        amtest.wait_for(lambda: not self.processes(), 10)
        self._logf.close()

    # ---- results ---------------------------------------------------------

    def queued(self):
        """Queue ids of the messages in the queue (qf files)."""
        return sorted(n[2:] for n in os.listdir(self.queue_dir)
                      if n.startswith("qf"))

    def log(self):
        """Sendmail's traffic log (-X) and its stderr/stdout."""
        out = []
        for path in (self.traffic, self.stderr):
            try:
                with open(path, errors="replace") as f:
                    out.append(f.read())
            except OSError:
                pass
        return "".join(out)

