#!/usr/bin/python3
"""Runs last: every log and events file the suite kept (integ-logs/ next to
the binary, see harness.Test.keep_logs) is scanned for every secret and
phone number the tests used (test/data/secrets.txt).  Any hit fails, naming
the file and the secret's first two characters (never the secret).  Skips
(77) when no test left logs, e.g. when run on its own."""
import fnmatch
import os
import re
import sys

import harness


def load_secrets(path):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#") or "|" not in line:
            continue
        scope, value = line.split("|", 1)
        forms = [value]
        if value.startswith("+"):
            forms.append(value[1:])
        pats = [re.compile(r"(?<![0-9A-Za-z])" + re.escape(f) +
                           r"(?![0-9A-Za-z])", re.I) for f in forms]
        out.append((scope, value, pats))
    return out


def body(t):
    root = os.environ.get("INTEG_LOG_DIR") or os.path.join(
        os.path.dirname(t.agentline_bin), "integ-logs")
    tests = sorted(d for d in os.listdir(root)
                   if os.path.isdir(os.path.join(root, d))) \
        if os.path.isdir(root) else []
    tests = [d for d in tests if d != t.name]
    if not tests:
        print("[secret_scan] no kept logs under %s: skipped" % root)
        sys.stdout.flush()
        os._exit(77)
    secrets = load_secrets(os.path.join(t.source_dir, "test", "data",
                                         "secrets.txt"))
    t.check(len(secrets) >= 10, "%d secrets to look for" % len(secrets))
    files = hits = 0
    for test in tests:
        d = os.path.join(root, test)
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            files += 1
            for scope, value, pats in secrets:
                if not fnmatch.fnmatch(test, scope):
                    continue
                if any(p.search(text) for p in pats):
                    hits += 1
                    t.check(False, "%s/%s contains the secret %s... (scope "
                            "%s)" % (test, name, value[:2], scope))
    t.note("scanned %d files of %d tests" % (files, len(tests)))
    t.check(hits == 0, "no secret or full number in %d kept files" % files)


harness.Test("secret_scan").run(body)
