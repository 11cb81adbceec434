#!/usr/bin/python3
"""Command line: check (0 on defaults; 2 with one line per problem for bad
values and unknown keys), version, --help (keys with defaults), SIGTERM
exits 0, and a new INVITE while draining gets 503 while the call in progress
finishes."""
import os
import re
import signal
import subprocess
import time

import harness


def run(t, *args, timeout=20):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AGENTLINE_")}
    p = subprocess.run([t.agentline_bin] + list(args), capture_output=True,
                       text=True, timeout=timeout, cwd=t.dir, env=env)
    return p


def body(t):
    p = run(t, "check")
    t.check(p.returncode == 0, "check on defaults exits 0 (got %d)"
            % p.returncode, p.stdout + p.stderr)

    bad = ["rtp_timeout_secs=0", "codecs=OPUS", "no_such_key=1",
           "max_calls=lots"]
    args = ["check"]
    for kv in bad:
        args += ["--set", kv]
    p = run(t, *args)
    out = p.stdout + p.stderr
    t.check(p.returncode == 2, "check with 4 bad settings exits 2 (got %d)"
            % p.returncode, out)
    for kv in bad:
        key = kv.split("=")[0]
        lines = [l for l in out.splitlines() if key in l]
        t.check(len(lines) == 1, "exactly one problem line names %s" % key,
                out)

    p = run(t, "check", "--set", "rtp_port_min=30000",
            "--set", "rtp_port_max=20000")
    t.check(p.returncode == 2, "check: rtp_port_max below rtp_port_min -> 2",
            p.stdout + p.stderr)

    cfg = os.path.join(t.dir, "bad.conf")
    with open(cfg, "w") as f:
        f.write("# comment\nmax_calls = 5\nlog_level = shouty\nbogus = 1\n")
    p = run(t, "check", "-c", cfg)
    t.check(p.returncode == 2 and "log_level" in p.stdout + p.stderr
            and "bogus" in p.stdout + p.stderr,
            "check -c FILE reports bad value and unknown key, exit 2",
            p.stdout + p.stderr)

    p = run(t, "version")
    t.check(p.returncode == 0 and re.search(r"\d+\.\d+\.\d+", p.stdout),
            "version prints a version, exit 0 (%r)" % p.stdout.strip())

    p = run(t, "--help")
    h = p.stdout + p.stderr
    t.check(p.returncode == 0, "--help exits 0")
    for key, dflt in (("sip_listen", "udp:127.0.0.1:5060"),
                      ("rtp_timeout_secs", "20"), ("max_calls", "100"),
                      ("codecs", "G722,PCMU,PCMA")):
        line = h[h.find(key):h.find(key) + 200] if key in h else ""
        t.check(key in h and dflt in line,
                "--help lists %s with default %s" % (key, dflt), line)

    # SIGTERM on an idle daemon
    al = t.agentline(name="agentline_idle")
    start = time.monotonic()
    rc = al.proc.stop(timeout=10)
    t.check(rc == 0, "SIGTERM when idle: exit 0 (got %s) in %.1fs"
            % (rc, time.monotonic() - start))

    # drain: call in progress continues, new INVITE gets 503
    t.tone_ulaw(1000, 10)
    al = t.agentline(name="agentline_drain", app="echo", drain_secs=10)
    first = t.sipp("uac_basic.xml", al.sip_udp, calls=1, duration_ms=3500,
                   timeout=30, name="sipp_during_drain", background=True)
    t.check(al.wait_events("call_answered", 1, timeout=10),
            "first call answered")
    al.proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    time.sleep(0.3)
    t.check(al.alive(), "still running (draining) with a call up")
    r = t.sipp("uac_503.xml", al.sip_udp, calls=1, timeout=15,
               name="sipp_new_during_drain")
    t.check(r.ok and r.successful == 1, "new INVITE during drain gets 503", r)
    r1 = t.sipp_result(first, 30)
    t.check(r1.ok and r1.successful == 1,
            "call in progress completed normally during drain", r1)
    rc = al.proc.wait(15)
    took = time.monotonic() - t0
    t.check(rc == 0, "exit 0 after drain (got %s)" % rc)
    t.check(took < 9, "exited when the last call ended, before drain_secs "
            "(%.1fs)" % took)
    ended = al.events_of("call_ended")
    t.check(ended and ended[0].get("reason") == "remote_bye",
            "drained call ended by remote_bye", al.events())


harness.Test("cli").run(body)
