"""benchlib: the runs, the crypto floor, the table, the targets and
RESULTS.md for bench.py (which starts the daemons)."""

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

PEERS = ("authmilter", "null", "opendkim", "opendmarc", "chain")
CONCS = (1, 8, 32)
# Messages per measured run, by message size (c = 1 runs take a third);
# every run is also bounded by time.
BASE_COUNT = {"2k": 4000, "20k": 3000, "200k": 600, "2m": 96}
RUN_SECONDS = 20
HOLD_CONNS = 2000
# Target 3 also runs as an open loop: SMTP sessions arriving at this rate
# (about what Postfix itself sustains on a 2-core machine), at most 32 at
# once.  A closed loop at c = 32 saturates the machine, and its latency
# is then c / throughput whatever the milter does (Little's law).
OPEN_RATE = 400


# ---- running mbench ----------------------------------------------------

def patterns(peer, corpus):
    """fnmatch patterns every message's modifications must match."""
    ar = "*Authentication-Results: mx.bench.example;*"
    kind = corpus["kind"]
    if peer == "null":
        return []
    peer = "authmilter" if peer.startswith("authmilter") else peer
    if peer == "opendkim":
        return [ar + "dkim=pass*"]
    if peer == "opendmarc":
        return [ar + "dmarc=pass*"]
    if peer == "chain":
        return [ar + "dkim=pass*", ar + "dmarc=pass*"]
    if kind == "out":
        return ["*DKIM-Signature: *d=outbound.example*"]
    p = [ar + m + "=pass*" for m in ("iprev", "spf", "dkim", "dmarc")]
    if kind == "dual":
        p.append(ar + "dkim=pass*dkim=pass*")
    if kind == "arc":
        p.append(ar + "arc=pass*")
    return p


def parse_kv(text):
    line = [l for l in text.splitlines() if l.startswith("msgs=")]
    if not line:
        return None
    return {k: _num(v) for k, v in
            (kv.split("=", 1) for kv in line[-1].split())}


def _num(v):
    try:
        return float(v) if "." in v else int(v)
    except ValueError:
        return v


def mbench(env, peer, corpus, conc, count, seconds, hold=False, log=None,
           save=None, nsave=0, check=True, rate=0):
    socks, pids = env.peers[peer]
    argv = [os.path.join(env.args.bin, "mbench")]
    for s in socks:
        argv += ["-p", s]
    argv += ["-c", str(conc), "-n", str(count), "-T", str(seconds),
             "-t", "30", "-a", corpus["addr"], "-e", corpus["helo"],
             "-f", corpus["from"], "-r", "bob@bench.example"]
    if corpus.get("auth"):
        argv += ["-A", corpus["auth"]]
    if corpus["addr"] == "127.0.0.5":
        argv += ["-N", "mx.sender.example"]
    for p in pids:
        argv += ["-P", str(p)]
    for p in patterns(peer, corpus) if check else []:
        argv += ["-x", p]
    if hold:
        argv += ["-H"]
    if rate:
        argv += ["-R", str(rate)]
    if log:
        argv += ["-o", log]
    if save:
        argv += ["-s", save, "-S", str(nsave)]
    argv.append(corpus["dir"])
    p = subprocess.run(argv, capture_output=True, text=True,
                       timeout=seconds + 300)
    r = parse_kv(p.stdout)
    if r is None:
        r = {"msgs": 0, "errors": -1}
    r["stderr"] = p.stderr.strip()
    return r


def count_for(env, corpus, conc):
    n = BASE_COUNT[corpus["size"]]
    if conc == 1:
        n //= 3
    if env.args.quick:
        n //= 4
    return max(n, 2 * conc)


def measure(env, peer, corpus, conc, label=None, hold=False, rate=0):
    """A warm-up run (DNS cache, threads), then the measured one."""
    secs = 6 if env.args.quick else RUN_SECONDS
    if hold:
        n = HOLD_CONNS
    else:
        n = count_for(env, corpus, conc)
        if rate:
            n = int(min(n, rate * (secs - 1)))
        mbench(env, peer, corpus, conc, max(n // 10, 2 * conc), secs,
               check=False)
    log = os.path.join(env.work, "log-%s-%s-c%d%s.txt" % (
        peer, corpus["name"], conc, "-" + label.replace("/", "") if label
        else ""))
    r = mbench(env, peer, corpus, conc, n, secs, hold=hold, log=log,
               rate=rate)
    r.update({"peer": peer, "corpus": corpus["name"], "c": conc,
              "label": label or "", "log": log})
    env.rows.append(r)
    print(row_text(r), flush=True)
    if r.get("stderr"):
        print("   " + r["stderr"].replace("\n", "\n   "), flush=True)
    return r


# ---- crypto floor ------------------------------------------------------

def openssl_speed():
    """Seconds per RSA-2048 sign/verify, Ed25519 sign/verify, and SHA-256
    bytes per second (16 KiB blocks), from openssl speed on this host."""
    out = subprocess.run(["openssl", "speed", "-mr", "-seconds", "2",
                          "rsa2048", "ed25519"], capture_output=True,
                         text=True).stdout
    out += subprocess.run(["openssl", "speed", "-mr", "-seconds", "2",
                           "-bytes", "16384", "sha256"],
                          capture_output=True, text=True).stdout
    s = {}
    for line in out.splitlines():
        f = line.split(":")
        if line.startswith("+F2:") and f[2] == "2048":
            s["rsa_sign"], s["rsa_verify"] = 1 / float(f[3]), 1 / float(f[4])
        elif line.startswith("+F6:") and f[3] == "Ed25519":
            s["ed_sign"], s["ed_verify"] = 1 / float(f[4]), 1 / float(f[5])
        elif line.startswith("+F:") and f[2] == "sha256":
            s["sha256_Bps"] = float(f[3])
    return s


def corpus_bytes(corpus):
    files = [os.path.join(corpus["dir"], n) for n in os.listdir(corpus["dir"])
             if n.endswith(".eml")]
    return sum(os.path.getsize(f) for f in files) / max(len(files), 1)


def floor_ms(speed, corpus):
    """The crypto a message needs at least: its signatures verified (or
    the one made) and SHA-256 over its bytes (twice for ARC: the DKIM and
    the ARC-Message-Signature body hashes use different canons)."""
    verify = corpus["mode"] == "verify"
    rsa = speed["rsa_verify"] if verify else speed["rsa_sign"]
    passes = 2 if corpus["kind"] == "arc" else 1
    t = corpus["rsa_ops"] * rsa + corpus["ed_ops"] * speed["ed_verify"]
    t += passes * corpus_bytes(corpus) / speed["sha256_Bps"]
    return t * 1000


# ---- table ---------------------------------------------------------------

HEAD = ("%-15s %-12s %5s %6s %4s %4s %8s %7s %7s %7s %8s %8s %7s" % (
    "milter", "corpus", "c", "msgs", "err", "verr", "msgs/s", "p50ms",
    "p95ms", "p99ms", "maxms", "cpums/msg", "rssMB"))


def row_text(r):
    return "%-15s %-12s %5d %6d %4d %4d %8.1f %7.2f %7.2f %7.2f %8.2f %8.3f %7.1f" % (
        r["peer"], r["corpus"], r["c"], r.get("msgs", 0),
        r.get("errors", 0), r.get("verdict_errors", 0),
        r.get("msgs_per_s", 0), r.get("p50_ms", 0), r.get("p95_ms", 0),
        r.get("p99_ms", 0), r.get("max_ms", 0),
        r.get("cpu_ms_per_msg", 0), r.get("rss_peak_kb", 0) / 1024)


def find(env, peer, corpus, conc, label=""):
    for r in env.rows:
        if (r["peer"], r["corpus"], r["c"], r["label"]) == (
                peer, corpus, conc, label):
            return r
    return None


def ratios(env):
    """authmilter's CPU per message over each peer's, same corpus and c."""
    out = []
    for r in env.rows:
        if r["peer"].startswith("authmilter") or r["label"]:
            continue
        a = find(env, "authmilter", r["corpus"], r["c"])
        if a and r.get("cpu_ms_per_msg") and a.get("cpu_ms_per_msg"):
            out.append((r["peer"], r["corpus"], r["c"],
                        a["cpu_ms_per_msg"] / r["cpu_ms_per_msg"],
                        a.get("msgs_per_s", 0) / max(
                            r.get("msgs_per_s", 0), 1e-9)))
    return out


def clean(r):
    return r is not None and r.get("errors") == 0 and \
        r.get("verdict_errors") == 0 and r.get("msgs", 0) > 0


def targets(env):
    t = []
    a = find(env, "authmilter", "rsa-20k", 8)
    ch = find(env, "chain", "rsa-20k", 8)
    if a and ch and ch.get("cpu_ms_per_msg"):
        v = a["cpu_ms_per_msg"] / ch["cpu_ms_per_msg"]
        t.append(("1. CPU/msg <= 1/10 of OpenDKIM->OpenDMARC (rsa-20k, c=8)",
                  "%.3f vs %.3f ms: %.3f of the chain" % (
                      a["cpu_ms_per_msg"], ch["cpu_ms_per_msg"], v),
                  v <= 0.1 and clean(a) and clean(ch)))
    for name in ("rsa-20k", "rsa-200k", "out-20k", "out-200k"):
        a = find(env, "authmilter", name, 8)
        n = find(env, "null", name, 8)
        c = env.corpora.get(name)
        if not (a and n and c):
            continue
        fl = floor_ms(env.speed, c)
        lim = 1.5 * (n["cpu_ms_per_msg"] + fl)
        t.append(("2. CPU/msg <= 1.5 x (null + crypto floor), %s" % name,
                  "%.3f ms vs limit %.3f (null %.3f + floor %.3f)" % (
                      a["cpu_ms_per_msg"], lim, n["cpu_ms_per_msg"], fl),
                  a["cpu_ms_per_msg"] <= lim and clean(a)))
    for peer, how in (("authmilter", "inet"), ("authmilter-unix", "unix")):
        a = find(env, peer, "rsa-20k", 32, "%d/s" % OPEN_RATE)
        cl = find(env, peer, "rsa-20k", 32)
        if a:
            t.append(("3. p99 < 5 ms, c <= 32, %d msgs/s offered (rsa-20k, "
                      "warm DNS, %s socket)" % (OPEN_RATE, how),
                      "p99 %.2f ms at %.0f msgs/s%s" % (
                          a["p99_ms"], a["msgs_per_s"],
                          "; closed loop at c=32: p99 %.2f ms at %.0f "
                          "msgs/s" % (cl["p99_ms"], cl["msgs_per_s"])
                          if cl else ""),
                      a["p99_ms"] < 5 and clean(a)))
    s = find(env, "authmilter", "rsa-2k", 32, "rss")
    b = find(env, "authmilter", "rsa-2m", 32, "rss")
    if s and b:
        v = b["rss_peak_kb"] / max(s["rss_peak_kb"], 1)
        t.append(("4. peak RSS, 32 x 2 MB within 20% of 32 x 2 KB",
                  "%.1f MB vs %.1f MB (x%.2f)" % (
                      b["rss_peak_kb"] / 1024, s["rss_peak_kb"] / 1024, v),
                  v <= 1.2 and clean(s) and clean(b)))
    h = find(env, "authmilter", "rsa-2k", HOLD_CONNS, "hold")
    if h:
        t.append(("5. %d concurrent connections held and served" %
                  HOLD_CONNS, "held %d, served %d, errors %d" % (
                      h.get("held", 0), h.get("msgs", 0),
                      h.get("errors", 0)),
                  h.get("held", 0) >= HOLD_CONNS and clean(h)
                  and h.get("msgs", 0) >= HOLD_CONNS))
    if env.postfix:
        p = env.postfix
        t.append(("6. Postfix + authmilter >= 85% of no-milter throughput",
                  "%.1f vs %.1f msgs/s (%.0f%%), A-R checked %d/%d" % (
                      p["milter_rate"], p["plain_rate"],
                      100 * p["milter_rate"] / max(p["plain_rate"], 1e-9),
                      p["checked"], p["sent"]),
                  p["milter_rate"] >= 0.85 * p["plain_rate"]
                  and p["checked"] == p["sent"] and p["sent"] > 0))
        t.append(("6. the same with authmilter on a unix socket",
                  "%.1f vs %.1f msgs/s (%.0f%%), A-R checked %d/%d" % (
                      p["unix_rate"], p["plain_rate"],
                      100 * p["unix_rate"] / max(p["plain_rate"], 1e-9),
                      p["unix_checked"], p["sent"]),
                  p["unix_rate"] >= 0.85 * p["plain_rate"]
                  and p["unix_checked"] == p["sent"]))
    return t


# ---- the machine and the report -----------------------------------------

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True,
                              text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = sh("sed -n 's/^model name\\s*: //p' /proc/cpuinfo | head -1")
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' "
             "/proc/meminfo")
    ver = sh("dpkg-query -W -f '${Package} ${Version}\\n' opendkim "
             "opendmarc postfix unbound libmilter1.0.1 openssl "
             "2>/dev/null")
    return {"cpu": cpu, "cores": os.cpu_count(), "mem": mem,
            "kernel": platform.release(),
            "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
            "packages": ver, "load": os.getloadavg()}


def speed_text(speed):
    return ("RSA-2048 sign %.3f ms, verify %.4f ms; Ed25519 sign %.4f ms, "
            "verify %.4f ms; SHA-256 %.0f MB/s" % (
                speed["rsa_sign"] * 1e3, speed["rsa_verify"] * 1e3,
                speed["ed_sign"] * 1e3, speed["ed_verify"] * 1e3,
                speed["sha256_Bps"] / 1e6))


def report(env):
    lines = ["", HEAD] + [row_text(r) + (" " + r["label"] if r["label"]
                                         else "") for r in env.rows]
    lines += ["", "authmilter / peer (same corpus and c):",
              "  %-10s %-12s %5s %10s %10s" % ("peer", "corpus", "c",
                                               "cpu ratio", "rate ratio")]
    lines += ["  %-10s %-12s %5d %10.3f %10.2f" % r for r in ratios(env)]
    lines += ["", "crypto floor: " + speed_text(env.speed)]
    for name, c in sorted(env.corpora.items()):
        lines.append("  %-12s %.4f ms/msg" % (name, floor_ms(env.speed, c)))
    lines += ["", "targets:"]
    for name, val, ok in targets(env):
        lines.append("  [%s] %s: %s" % ("ok" if ok else "MISSED", name,
                                        val))
    text = "\n".join(lines)
    print(text)
    return text


def write_results(env, text, path):
    m = machine()
    prelim = env.args.quick or m["load"][0] > 0.5 * (m["cores"] or 1) + 0.5
    out = ["# authmilter benchmark results", ""]
    if prelim:
        out += ["**Preliminary**: %s (load average at the end %.2f %.2f "
                "%.2f on %s cores); rerun on a quiet machine." % (
                    "quick run" if env.args.quick else "busy machine",
                    *m["load"], m["cores"]), ""]
    out += ["Regenerate with:", "", "    " + env.args.command, "",
            "Run %s on: %s, %s cores, %s; %s; kernel %s." % (
                datetime.datetime.now(datetime.timezone.utc).strftime(
                    "%Y-%m-%d %H:%M UTC"), m["cpu"], m["cores"], m["mem"],
                m["os"], m["kernel"]), "",
            "Packages:", "", "    " + m["packages"].replace("\n", "\n    "),
            "", "Columns: msgs/s is messages over the wall time of the run;"
            " latency is from a message's first command (connect() for the"
            " first message of a connection) to the final answer at end of"
            " message; cpums/msg is the daemon's utime+stime (both daemons"
            " for the chain) over the run divided by the messages; rssMB is"
            " its peak RSS (VmHWM reset before the run); err counts"
            " protocol errors and timeouts, verr messages whose outcome or"
            " Authentication-Results was not the expected one.", "",
            "```", text.strip("\n"), "```", ""]
    if env.perf_text:
        out += ["## Profile (perf)", "", "```",
                env.perf_text.strip("\n"), "```", ""]
    with open(path, "w") as f:
        f.write("\n".join(out))
    print("wrote " + path)


# ---- perf ----------------------------------------------------------------

def syscall_summary(text):
    """strace -c: calls per system call."""
    calls = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) in (5, 6) and f[3].isdigit() and f[-1] != "total":
            calls[f[-1]] = calls.get(f[-1], 0) + int(f[3])
    return calls


def perf_counts(env, peer, secs):
    """CPU and context switches per message of one daemon (perf stat,
    every thread, those started later included), then system calls per
    message (strace -f -c, in a second run: ptrace stops would count as
    context switches), while it verifies rsa-20k at c=8."""
    pids = env.peers[peer][1]
    stat = subprocess.Popen(["perf", "stat", "-x", ",", "-e",
                             "task-clock,context-switches",
                             "-p", ",".join(str(p) for p in pids), "--",
                             "sleep", str(secs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(0.3)
    r = mbench(env, peer, env.corpora["rsa-20k"], 8, 1000000, secs - 1)
    st = stat.communicate()[1]
    n = max(r.get("msgs", 0), 1)
    vals = {}
    for line in st.splitlines():
        f = line.split(",")
        if len(f) > 2:
            try:
                vals[f[2]] = float(f[0])
            except ValueError:
                pass
    argv = ["strace", "-f", "-c", "-o", os.path.join(
        env.work, "strace-%s.txt" % peer)]
    for p in pids:
        argv += ["-p", str(p)]
    tr = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(1)
    r2 = mbench(env, peer, env.corpora["rsa-20k"], 8, 400, secs)
    tr.send_signal(2)
    tr.wait(30)
    with open(os.path.join(env.work, "strace-%s.txt" % peer)) as f:
        calls = syscall_summary(f.read())
    n2 = max(r2.get("msgs", 0), 1)
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:12]
    return ("%-16s cpu %.3f ms/msg, context switches %.1f/msg (%d msgs); "
            "system calls %.1f/msg (%d msgs): %s" % (
                peer, vals.get("task-clock", 0) / n,
                vals.get("context-switches", 0) / n, n,
                sum(calls.values()) / n2, n2,
                ", ".join("%s %.1f" % (k, v / n2) for k, v in top)))


def perf_profile(env):
    """Where authmilter's time goes (perf record on the unix-socket
    instance, which no Nagle stall slows down), and system calls and
    context switches per message of each daemon."""
    if not shutil_which("perf"):
        return "perf not found"
    secs = 8 if env.args.quick else 15
    counts = [perf_counts(env, p, secs) for p in (
        "authmilter-unix", "authmilter", "null", "opendkim", "opendmarc")]
    peer = "authmilter-unix"
    pid = env.peers[peer][1][0]
    data = os.path.join(env.work, "perf.data")
    with open(os.path.join(env.work, "perf-record.log"), "w") as log:
        rec = subprocess.Popen(["perf", "record", "-F", "499",
                                "--call-graph", "dwarf,16384", "-p",
                                str(pid), "-o", data, "--", "sleep",
                                str(secs)], stdout=log, stderr=log)
        time.sleep(0.5)
        r = mbench(env, peer, env.corpora["rsa-20k"], 8, 1000000, secs - 2)
        rec.wait()

    def report(*extra):
        out = subprocess.run(["perf", "report", "-i", data, "--stdio",
                              "--no-children", "-g", "none"] + list(extra),
                             capture_output=True, text=True).stdout
        return [l.rstrip() for l in out.splitlines()
                if l.strip() and not l.startswith("#")]
    dso = report("--sort", "dso")[:10]
    sym = report("--sort", "dso,symbol", "--percent-limit", "0.7")[:40]
    own = report("--sort", "symbol", "--dsos", "authmilter",
                 "--percent-limit", "0.1")[:15]
    # Inclusive time (kernel time under them included) of the daemon's
    # and libmilter's functions: which code pays for the system calls.
    incl = subprocess.run(["perf", "report", "-i", data, "--stdio",
                           "--children", "--sort", "dso,symbol", "-g", "none",
                           "--percent-limit", "1.5"],
                          capture_output=True, text=True).stdout
    incl = [l.rstrip() for l in incl.splitlines() if l.strip() and not
            l.startswith("#") and ("authmilter " in l or "libmilter" in l
                                   or "libunbound" in l or "libcrypto" in l)]
    return ("per message, rsa-20k at c=8:\n  %s\n\n"
            "perf record on %s (%d messages):\n\nby shared object:\n%s\n\n"
            "hot symbols:\n%s\n\nauthmilter's own functions:\n%s\n\n"
            "inclusive (children) time of daemon, libmilter, libunbound and "
            "libcrypto functions:\n%s\n" % (
                "\n  ".join(counts), peer, r.get("msgs", 0), "\n".join(dso),
                "\n".join(sym), "\n".join(own), "\n".join(incl[:40])))


def shutil_which(x):
    import shutil
    return shutil.which(x)


# ---- main ----------------------------------------------------------------

class Env:
    pass


def load_corpora(work, args):
    cdir = args.corpus or os.path.join(work, "corpus")
    if not os.path.exists(os.path.join(cdir, "corpora.json")):
        print("generating the corpus in %s" % cdir, flush=True)
        subprocess.run([sys.executable, os.path.join(
            os.path.dirname(__file__), "corpus.py"), cdir], check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(cdir, "corpora.json")) as f:
        meta = json.load(f)
    meta["sign_key"] = os.path.join(cdir, meta["sign_key"])
    for c in meta["corpora"]:
        c["dir"] = os.path.join(cdir, c["dir"])
    return cdir, meta, {c["name"]: c for c in meta["corpora"]}


def start_all(ctx, env, bench):
    ub, ubconf = bench.start_dns(ctx, env.cdir, env.work)
    policy = bench.authmilter_policy(env.meta, ubconf, env.work)
    am = bench.Daemon(ctx, "authmilter", lambda s: [
        env.args.authmilter, "-f", "-c", policy, "-p", s], env.work)
    # The same daemon on a unix socket: no Nagle, so what inet would
    # give with TCP_NODELAY.
    au = bench.Daemon(ctx, "authmilter-unix", lambda s: [
        env.args.authmilter, "-f", "-c", policy, "-p", s], env.work,
        unix=True)
    nm = bench.Daemon(ctx, "null", lambda s: [
        os.path.join(env.args.bin, "nullmilter"), "-p", s], env.work)
    dk = bench.Daemon(ctx, "opendkim", lambda p: bench.opendkim_conf(
        env.work, ubconf, p), env.work)
    dm = bench.Daemon(ctx, "opendmarc", lambda p: bench.opendmarc_conf(
        env.work, p), env.work)
    env.daemons = {"authmilter": am, "authmilter-unix": au, "null": nm,
                   "opendkim": dk, "opendmarc": dm}
    env.peers = {
        "authmilter": ([am.sock], [am.pid]),
        "authmilter-unix": ([au.sock], [au.pid]),
        "null": ([nm.sock], [nm.pid]),
        "opendkim": ([dk.sock], [dk.pid]),
        "opendmarc": ([dm.sock], [dm.pid]),
        "chain": ([dk.sock, dm.sock], [dk.pid, dm.pid]),
    }
    env.ubconf = ubconf
    env.policy = policy


def plan(env):
    """(peer, corpus, c, label, hold, rate) in the order they run."""
    p = []
    for c in CONCS:
        for peer in PEERS:
            p.append((peer, "rsa-20k", c, "", False))
        p.append(("authmilter-unix", "rsa-20k", c, "", False))
    for peer in ("authmilter", "authmilter-unix", "null"):
        p.append((peer, "rsa-20k", 32, "%d/s" % OPEN_RATE, False,
                  OPEN_RATE))
    for name in env.corpora:
        if name != "rsa-20k":
            for peer in ("authmilter", "null"):
                p.append((peer, name, 8, "", False))
    for name in ("ed25519-20k", "dual-20k", "arc-20k"):
        for peer in ("opendkim", "chain"):
            p.append((peer, name, 8, "", False))
    p.append(("authmilter", "rsa-2k", 32, "rss", False))
    p.append(("authmilter", "rsa-2m", 32, "rss", False))
    p.append(("authmilter", "rsa-2k", HOLD_CONNS, "hold", True))
    p = [x if len(x) == 6 else x + (0,) for x in p]
    if env.args.only:
        want = env.args.only.split(",")
        p = [x for x in p if x[0] in want or x[1] in want or x[3] in want]
    return p


def verify_signed(env):
    """dkimpy checks the DKIM-Signature authmilter made on saved
    messages (keys from the corpus' records)."""
    import dkim
    with open(os.path.join(env.cdir, "records.json")) as f:
        recs = json.load(f)
    txt = {}
    for r in recs:
        m = re.match(r'(\S+)\. \d+ IN TXT (.*)$', r)
        if m:
            txt[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))

    def dnsfunc(name, timeout=5):
        return txt.get(name.decode().rstrip("."), "").encode()

    ok = bad = 0
    for name in ("out-20k", "out-200k"):
        d = os.path.join(env.work, "signed-" + name)
        os.makedirs(d, exist_ok=True)
        mbench(env, "authmilter", env.corpora[name], 4, 40, 30, save=d,
               nsave=40)
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f), "rb") as fh:
                if dkim.verify(fh.read(), dnsfunc=dnsfunc):
                    ok += 1
                else:
                    bad += 1
    return ok, bad


def main(ctx, args, bench):
    env = Env()
    env.args = args
    env.work = args.work
    env.rows = []
    env.postfix = None
    env.perf_text = ""
    env.cdir, env.meta, env.corpora = load_corpora(args.work, args)
    env.speed = openssl_speed()
    start_all(ctx, env, bench)
    ok, bad = verify_signed(env)
    print("signed by authmilter, verified by dkimpy: %d pass, %d fail"
          % (ok, bad), flush=True)
    print(HEAD, flush=True)
    for peer, name, c, label, hold, rate in plan(env):
        measure(env, peer, env.corpora[name], c, label, hold, rate)
    if args.perf:
        env.perf_text = perf_profile(env)
        print(env.perf_text)
    if args.postfix:
        import pfbench
        env.postfix = pfbench.run(ctx, env)
    text = report(env)
    text += "\n\nsigned messages verified by dkimpy: %d pass, %d fail\n" % (
        ok, bad)
    if args.results:
        write_results(env, text, args.results)
    return 0
