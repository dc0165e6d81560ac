#!/usr/bin/python3
# Short libFuzzer runs of every target built by ./configure --enable-fuzzing
# (CI: FUZZ_SECONDS each, default 60), seeded from the test vectors.  A run
# that finds a crash, a leak or a sanitizer report fails and leaves the
# reproducer in the work directory named in the output.  FUZZ_TARGETS
# (comma-separated names) runs only those targets.
import glob
import os
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import amtest

# target -> seed files (globs under the source tree)
SEEDS = {
    "fuzz_arcset": ["t/vectors/arc/*/message"],
    "fuzz_authres": ["t/vectors/authres/*/input"],
    "fuzz_canon": ["t/vectors/canon/*/body", "t/vectors/canon/*/header"],
    "fuzz_dmarcrecord": ["t/vectors/dmarc/records/*/input", "t/vectors/dmarc/psl.dat",
                         "t/vectors/dmarc/domains/*"],
    "fuzz_dkimsig": ["t/vectors/tagval/*/input", "t/vectors/dkim/*.eml"],
    "fuzz_b64": ["t/vectors/tagval/*/input"],
    "fuzz_hdr": ["t/vectors/from/*/input", "t/vectors/from/*/fields"],
    "fuzz_keyrec": ["t/vectors/keyrec/*/input"],
    "fuzz_policy": ["t/policy/good/*/policy.json", "t/policy/bad/*/policy.json",
                    "policy/*.json", "policy/examples/*.json"],
    "fuzz_spfrecord": ["t/vectors/spf/records/*/input"],
    "fuzz_tagval": ["t/vectors/tagval/*/input"],
}

t = amtest.Tap()
targets = sorted(glob.glob(amtest.build("t", "fuzz", "fuzz_*")))
targets = [x for x in targets if os.access(x, os.X_OK) and not x.endswith(".o")]
if os.environ.get("FUZZ_TARGETS"):
    # By hand: a subset, e.g. for long runs split over several processes.
    only = os.environ["FUZZ_TARGETS"].split(",")
    targets = [x for x in targets if os.path.basename(x) in only]
if not targets:
    msg = "no fuzz targets built (./configure CC=clang --enable-fuzzing)"
    if os.environ.get("T_SET", "").split(",") == ["fuzz"]:
        t.bail(msg + " but the fuzz group was asked for")
    t.skip_all(msg)
seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
for target in targets:
    name = os.path.basename(target)
    t.ok(name in SEEDS, "%s has seeds listed" % name)
    work = amtest.tmpdir(t, name + "-")
    corpus = os.path.join(work, "corpus")
    os.mkdir(corpus)
    n = 0
    for pattern in SEEDS.get(name, []):
        for f in glob.glob(amtest.src(pattern)):
            shutil.copy(f, os.path.join(corpus, "seed%04d" % n))
            n += 1
    t.ok(n > 0, "%s: %d seed files" % (name, n))
    p = subprocess.run([target, "-max_total_time=%d" % seconds,
                        "-rss_limit_mb=2048", "-artifact_prefix=" + work + "/",
                        corpus], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=seconds + 120)
    out = p.stdout.decode(errors="replace")
    execs = [l for l in out.splitlines() if l.startswith("Done ")]
    t.is_(p.returncode, 0, "%s: %ds without a crash (%s)" %
          (name, seconds, execs[-1] if execs else "no summary"))
    if p.returncode != 0:
        t.diag(out[-4000:])
t.done()
