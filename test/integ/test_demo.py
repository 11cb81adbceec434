#!/usr/bin/python3
"""`make demo` / `agentline demo` (scripts/demo.py): the default agent on
loopback answers a second agentline running the bundled caller script; the
demo prints the conversation live and then the stored message.  Checks
that both sides' lines appear with timings, in conversation order, and
that the message printed is the one in the receptionist's store (the
callback number of the bundled script, confirmed by read-back)."""
import os
import re
import subprocess
import harness


def body(t):
    demo = os.path.join(t.source_dir, "scripts", "demo.py")
    t.check(os.path.exists(demo), "scripts/demo.py exists")
    p = subprocess.run(["/usr/bin/python3", demo, t.agentline_bin, "--keep"],
                       capture_output=True, text=True, timeout=280,
                       env={k: v for k, v in os.environ.items()
                            if not k.startswith("AGENTLINE_")})
    out = p.stdout
    print(out, flush=True)
    if p.returncode:
        print(p.stderr[-3000:], flush=True)
    t.check(p.returncode == 0, "demo exits 0", p.returncode)
    t.check(re.search(r"^\s+0\.0s\s+call answered", out, re.M),
            "the call is answered at 0.0 s")
    caller = re.findall(r"^\s+(\d+\.\d)s\s+Caller:\s+(.*)$", out, re.M)
    recept = re.findall(r"^\s+(\d+\.\d)s\s+Receptionist:\s+(.*)$", out, re.M)
    t.check(len(caller) >= 4, "the caller's lines are printed (%d)"
            % len(caller), caller)
    t.check(len(recept) >= 4, "the receptionist's lines are printed (%d)"
            % len(recept), recept)
    t.check(caller and caller[0][1].startswith("My name is Alice Walker"),
            "the caller's first line is the script's", caller[:1])
    times = [float(x) for x, _ in sorted(caller + recept,
                                         key=lambda c: float(c[0]))]
    t.check(times and times[-1] > 10, "timings grow with the "
            "conversation (last at %s s)" % (times[-1] if times else None))
    t.check(any("What is your call about" in r for _, r in recept),
            "the receptionist asked what the call is about")
    t.check(recept and recept[0][1].startswith("Hello, this is Sam's "
                                               "assistant"),
            "the greeting is printed first", recept[:1])
    t.check(re.search(r"\(message stored\)[\s\S]*call ended", out),
            "the message is stored, then the call ends")
    m = re.search(r"The stored message:\n\s+name:\s+(.*)\n\s+callback:\s+"
                  r"(.*)\n\s+message:\s+(.*)\n\s+audio:\s+(.*)", out)
    t.check(m, "a stored message is printed", out[-800:])
    if m:
        t.check(m.group(2).strip() == "5552681397",
                "callback number 5552681397 (got %s)" % m.group(2))
        t.check("piano" in m.group(3) or "friday" in m.group(3).lower(),
                "the message is what the caller said: %r" % m.group(3))
    kept = re.search(r"files kept in (\S+)", out)
    if kept:
        db = os.path.join(kept.group(1), "data", "agentline.db")
        t.check(os.path.exists(db), "the message came from the store "
                "(data_dir/agentline.db)")
        subprocess.run(["rm", "-rf", kept.group(1)])


harness.Test("demo").run(body)
