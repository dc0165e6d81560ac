"""postfix: a private Postfix instance for end-to-end tests.

    pf = Postfix(t, milter="inet:127.0.0.1:%d" % port)
    pf.start()
    code, text = pf.send(msg, rcpts=["b@example.net"], auth=None)
    msg = pf.wait_delivered()    # bytes, or None after the timeout
    pf.held(); pf.delivered(); pf.log(); pf.stop()   # stop is automatic

Each instance lives in its own temporary directory (configuration,
queue, data, delivered messages and log) and listens on a loopback
port chosen at run time; several may run one after another.  Nothing
is delivered anywhere else: every transport is a pipe that writes the
message into DIR/out, so a test sees the message as the next hop would
(Unix line ends, no Delivered-To, Return-Path or From_ line added).
Bounces Postfix generates are delivered there too.

The instance does no DNS lookups (clients show as "unknown", so a
milter's {client_name} is "unknown") and has no TLS.  Every client is
on 127.0.0.0/8 and so may relay.  Postfix adds its Received header
(which a milter never sees) and, for SMTP clients, nothing else.
It needs root: Postfix drops privileges itself.
"""

import ctypes
import json
import os
import pwd
import shlex
import shutil
import smtplib
import socket
import subprocess

import amtest

HOST = "127.0.0.1"
HOSTNAME = "mx.test.example"
# The pipe transport runs the delivery script as this user.
DELIVERY_USER = "nobody"
PR_SET_CHILD_SUBREAPER = 36


def contrib_snippet():
    """contrib/postfix/main.cf.snippet as a dict of parameters."""
    params = {}
    with open(amtest.src("contrib", "postfix", "main.cf.snippet")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                params[k.strip()] = v.strip()
    return params


class PostfixError(Exception):
    pass


class Postfix:
    """One private Postfix: start(), send(), wait_delivered(), stop()."""

    def __init__(self, t, milter=None, non_smtpd_milter=None, main_extra=None,
                 sasl_users=None):
        self.t = t
        self.milter = milter
        self.non_smtpd_milter = non_smtpd_milter
        self.main_extra = dict(main_extra or {})
        self.sasl_users = dict(sasl_users or {})
        self.host = HOST
        self.port = None
        self.root = amtest.tmpdir(t, prefix="amtest-postfix-")
        self.conf_dir = os.path.join(self.root, "etc")
        self.queue_dir = os.path.join(self.root, "queue")
        self.data_dir = os.path.join(self.root, "data")
        self.out_dir = os.path.join(self.root, "out")
        # Debian's smtpd reads $config_directory/sasl/smtpd.conf whatever
        # cyrus_sasl_config_path says; upstream Postfix follows that
        # parameter, which names the same directory here.
        self.sasl_dir = os.path.join(self.conf_dir, "sasl")
        self.maillog = os.path.join(self.root, "maillog")
        self._seen = set()
        self._running = False

    # ---- setup -----------------------------------------------------------

    def start(self):
        """Write the configuration, start master, wait for the SMTP port."""
        self.port = amtest.free_port(HOST)
        _become_subreaper()
        self._make_dirs()
        self._write_delivery_script()
        if self.sasl_users:
            self._setup_sasl()
        self._write_file("main.cf", self._main_cf())
        self._write_file("master.cf", self._master_cf())
        # Registered before starting so a half-started instance is stopped.
        self.t.cleanup(self.stop)
        self._running = True
        res = self._postfix("start")
        if res.returncode != 0:
            raise PostfixError("postfix start failed (%d):\n%s%s\n%s" % (
                res.returncode, res.stdout, res.stderr, self.log()))
        if not amtest.wait_for(self._greets, 15, 0.1):
            raise PostfixError("postfix smtpd on port %d never greeted:\n%s"
                               % (self.port, self.log()))
        return self

    def _greets(self):
        """True once smtpd sends its 220 banner.  master accepts on the
        port even when smtpd dies at startup (a bad main.cf), so an open
        port proves nothing; a fatal error in the log ends the wait."""
        if "fatal:" in self.log():
            raise PostfixError("postfix logged a fatal error:\n" + self.log())
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as s:
                s.settimeout(2)
                ok = s.recv(4).startswith(b"220")
                s.sendall(b"QUIT\r\n")
                return ok
        except OSError:
            return False

    def _make_dirs(self):
        """Queue and config owned by root (Postfix checks that); data
        owned by postfix; out/ writable by the delivery user."""
        postfix_pw = pwd.getpwnam("postfix")
        nobody_pw = pwd.getpwnam(DELIVERY_USER)
        for d in (self.conf_dir, self.queue_dir, self.data_dir, self.out_dir):
            os.makedirs(d, mode=0o755, exist_ok=True)
        os.chown(self.data_dir, postfix_pw.pw_uid, postfix_pw.pw_gid)
        os.chmod(self.data_dir, 0o700)
        os.chown(self.out_dir, nobody_pw.pw_uid, nobody_pw.pw_gid)

    def _write_file(self, name, text, mode=0o644):
        path = os.path.join(self.conf_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def _write_delivery_script(self):
        """pipe(8) cannot redirect output itself, so a small shell script
        writes stdin to a unique file; the name starts with a nanosecond
        timestamp so files sort in delivery order, and the rename makes a
        file appear only once it is complete."""
        self.deliver = self._write_file("deliver", (
            "#!/bin/sh\n"
            "# usage: deliver OUTDIR QUEUE_ID < message\n"
            "umask 022\n"
            "f=\"$1/$(date +%s%N)-$2\"\n"
            "cat > \"$f.tmp\" && mv \"$f.tmp\" \"$f.eml\"\n"), 0o755)

    def _setup_sasl(self):
        """Cyrus SASL with a private sasldb; smtpd (user postfix) must be
        able to read the database."""
        os.makedirs(self.sasl_dir, mode=0o755, exist_ok=True)
        sasldb = os.path.join(self.sasl_dir, "sasldb2")
        for user, password in self.sasl_users.items():
            subprocess.run(
                ["saslpasswd2", "-c", "-p", "-f", sasldb, "-u", HOSTNAME,
                 user], input=password.encode(), check=True,
                capture_output=True)
        postfix_pw = pwd.getpwnam("postfix")
        os.chown(sasldb, 0, postfix_pw.pw_gid)
        os.chmod(sasldb, 0o640)
        with open(os.path.join(self.sasl_dir, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\n"
                    "auxprop_plugin: sasldb\n"
                    "mech_list: PLAIN LOGIN\n"
                    "sasldb_path: %s\n" % sasldb)

    def _main_cf(self):
        """main.cf as text; main_extra overrides any of these."""
        params = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": HOSTNAME,
            "myorigin": "$myhostname",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "relayhost": "",
            "inet_interfaces": HOST,
            "inet_protocols": "ipv4",
            # Every client is on loopback, so all are in mynetworks and
            # may relay; smtpd insists on seeing reject_unauth_destination.
            "smtpd_relay_restrictions": ("permit_mynetworks,"
                                         " permit_sasl_authenticated,"
                                         " reject_unauth_destination"),
            "smtpd_recipient_restrictions": "permit",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "append_dot_mydomain": "no",
            "biff": "no",
            # Treat every client as remote: Postfix then adds no missing
            # Date/Message-ID/From and rewrites no addresses, so a test
            # sees what it sent.
            "local_header_rewrite_clients": "",
            # Every transport is the pipe to out/, with a fixed next hop
            # so that all recipients of a message make one delivery.
            "default_transport": "deliver:out",
            "relay_transport": "deliver:out",
            "local_transport": "deliver:out",
            "virtual_transport": "deliver:out",
            "deliver_destination_recipient_limit": "1000",
            # No DNS: tests talk to loopback only.
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "lmtp_host_lookup": "native",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.root,
            "smtpd_error_sleep_time": "0",
            "milter_connect_timeout": "10s",
            "milter_command_timeout": "10s",
            "milter_content_timeout": "30s",
        }
        # The milter settings come from the snippet operators use.
        snippet = contrib_snippet()
        for k in ("milter_default_action", "milter_protocol",
                  "milter_mail_macros"):
            params[k] = snippet[k]
        if self.milter:
            params["smtpd_milters"] = self.milter
        if self.non_smtpd_milter:
            params["non_smtpd_milters"] = self.non_smtpd_milter
        if self.sasl_users:
            params.update({
                "smtpd_sasl_auth_enable": "yes",
                "smtpd_sasl_type": "cyrus",
                "smtpd_sasl_path": "smtpd",
                "cyrus_sasl_config_path": self.sasl_dir,
                "smtpd_sasl_local_domain": HOSTNAME,
                "smtpd_sasl_security_options": "noanonymous",
                "smtpd_tls_auth_only": "no",
            })
        params.update(self.main_extra)
        return "".join("%s = %s\n" % kv for kv in params.items())

    def _master_cf(self):
        """Only the services this test MTA needs; no smtp client, so no
        mail can leave; chroot off everywhere (a chrooted smtpd cannot
        see a unix milter socket)."""
        rows = [
            # service type private unpriv chroot wakeup maxproc command
            ("%s:%d" % (HOST, self.port), "inet", "n", "-", "n", "-", "-",
             "smtpd"),
            ("pickup", "unix", "n", "-", "n", "60", "1", "pickup"),
            ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
            ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
            ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
            ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
            ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
            ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
            ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
            ("proxywrite", "unix", "-", "-", "n", "-", "1", "proxymap"),
            ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
            ("error", "unix", "-", "-", "n", "-", "-", "error"),
            ("retry", "unix", "-", "-", "n", "-", "-", "error"),
            ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
            ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
            ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
            ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
            ("deliver", "unix", "-", "n", "n", "-", "-", "pipe"),
        ]
        text = "".join(" ".join(r) + "\n" for r in rows)
        # flags= (none): no From_, Delivered-To, Return-Path or
        # X-Original-To lines, no dot-stuffing or case changes.
        text += "  flags= user=%s argv=%s %s ${queue_id}\n" % (
            DELIVERY_USER, self.deliver, self.out_dir)
        return text

    # ---- control ---------------------------------------------------------

    def _postfix(self, *args):
        """Run the postfix command for this instance.  MAIL_CONFIG is set
        too so that the helper scripts it runs agree on the directory.
        postfix prints its fatal errors only to a terminal (otherwise to
        the log, which does not exist yet at start), so it runs under
        script(1) to capture them."""
        env = dict(os.environ, MAIL_CONFIG=self.conf_dir)
        cmd = ["postfix", "-c", self.conf_dir] + list(args)
        if shutil.which("script"):
            cmd = ["script", "-qec", shlex.join(cmd), "/dev/null"]
        return subprocess.run(cmd, capture_output=True, text=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=60)

    def master_pid(self):
        try:
            with open(os.path.join(self.queue_dir, "pid",
                                   "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _children(self, pid):
        """Pids whose parent is pid (the services master started)."""
        kids = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name) as f:
                    stat = f.read()
            except OSError:
                continue
            # The command name may contain spaces: the ppid follows ")".
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid:
                kids.append(int(name))
        return kids

    def stop(self):
        """postfix stop, then wait until master and its children are gone
        so the next instance (or the next test) starts clean."""
        if not self._running:
            return
        self._running = False
        pid = self.master_pid()
        procs = [pid] + self._children(pid) if pid else []
        self._postfix("stop")
        gone = amtest.wait_for(
            lambda: not any(_alive(p) for p in procs), 20)
        if not gone:
            self._postfix("abort")
            for p in procs:
                if _alive(p):
                    try:
                        os.kill(p, 9)
                    except OSError:
                        pass
            amtest.wait_for(lambda: not any(_alive(p) for p in procs), 5)
        for p in procs:
            _reap(p)

    # ---- SMTP ------------------------------------------------------------

    def send(self, msg, mail_from="a@example.com", rcpts=("b@example.net",),
             helo="client.example", source_ip="127.0.0.5", auth=None,
             timeout=60):
        """Send msg over SMTP; return (code, text) of the last reply that
        decided its fate: 250 when queued, else the refusal at AUTH, MAIL,
        RCPT, DATA or end of data.  Code 0 means the server hung up."""
        if isinstance(msg, str):
            msg = msg.encode()
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        try:
            smtp = smtplib.SMTP(self.host, self.port, local_hostname=helo,
                                source_address=(source_ip, 0),
                                timeout=timeout)
        except smtplib.SMTPConnectError as e:
            return e.smtp_code, _text(e.smtp_error)
        try:
            return self._transaction(smtp, msg, mail_from, rcpts, auth)
        except smtplib.SMTPServerDisconnected as e:
            return 0, str(e)
        except smtplib.SMTPResponseException as e:
            return e.smtp_code, _text(e.smtp_error)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _transaction(self, smtp, msg, mail_from, rcpts, auth):
        code, text = smtp.ehlo()
        if code != 250:
            return code, _text(text)
        if auth:
            smtp.login(auth[0], auth[1])
        code, text = smtp.mail(mail_from)
        if code != 250:
            return code, _text(text)
        accepted = 0
        last_refusal = (0, "no recipients given")
        for rcpt in rcpts:
            code, text = smtp.rcpt(rcpt)
            if code in (250, 251):
                accepted += 1
            else:
                last_refusal = (code, _text(text))
        if not accepted:
            return last_refusal
        code, text = smtp.data(msg)
        return code, _text(text)

    def submit(self, msg, mail_from="a@example.com",
               rcpts=("b@example.net",)):
        """Submit msg with this instance's sendmail command (the non-SMTP
        path that non_smtpd_milters filter); returns its exit status.
        Postfix adds Date, Message-Id and From when missing here."""
        if isinstance(msg, str):
            msg = msg.encode()
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        res = subprocess.run(
            ["sendmail", "-C", self.conf_dir, "-i", "-f", mail_from, "--"]
            + list(rcpts), input=msg, capture_output=True, timeout=60)
        return res.returncode

    # ---- results ---------------------------------------------------------

    def _delivered_files(self):
        names = [n for n in os.listdir(self.out_dir) if n.endswith(".eml")]
        names.sort(key=lambda n: int(n.split("-", 1)[0]))
        return [os.path.join(self.out_dir, n) for n in names]

    def delivered(self):
        """Every message delivered so far, oldest first (bytes)."""
        return [_read(p) for p in self._delivered_files()]

    def wait_delivered(self, timeout=20):
        """The next delivered message not returned before, or None.  Seen
        files are remembered by name: two deliveries running at once may
        finish out of order."""
        files = amtest.wait_for(
            lambda: [f for f in self._delivered_files()
                     if f not in self._seen], timeout, 0.05)
        if not files:
            return None
        self._seen.add(files[0])
        return _read(files[0])

    def held(self):
        """Messages in the hold queue as (queue_id, bytes), the bytes as
        postcat prints headers and body (Unix line ends)."""
        res = subprocess.run(["postqueue", "-c", self.conf_dir, "-j"],
                             capture_output=True, text=True, timeout=30)
        out = []
        for line in res.stdout.splitlines():
            entry = json.loads(line)
            if entry.get("queue_name") != "hold":
                continue
            qid = entry["queue_id"]
            cat = subprocess.run(
                ["postcat", "-c", self.conf_dir, "-bh", "-q", qid],
                capture_output=True, timeout=30)
            if cat.returncode == 0:
                out.append((qid, cat.stdout))
        return out

    def log(self):
        """The maillog text (empty before anything was logged)."""
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def _become_subreaper():
    """master detaches from "postfix start"; as a child subreaper this
    process becomes its parent and can reap it at stop, instead of
    leaving a defunct master until init gets round to it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _reap(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purpose.
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        return stat[stat.rindex(")") + 2] != "Z"
    except OSError:
        return False


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
