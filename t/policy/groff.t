#!/usr/bin/python3
"""Every man page formats without a warning (groff -man -ww -z)."""

import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import amtest  # noqa: E402

t = amtest.Tap()
t.need_tools("groff")
pages = sorted(glob.glob(amtest.src("man", "*.[0-9]")))
t.is_(len(pages), 3, "three man pages: %s" % ", ".join(
    os.path.basename(p) for p in pages))
for page in pages:
    p = subprocess.run(["groff", "-man", "-ww", "-z", page],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace")
    t.ok(p.returncode == 0 and out == "",
         "%s: groff -man -ww -z is silent" % os.path.basename(page))
    if out:
        t.diag(out)
t.done()
