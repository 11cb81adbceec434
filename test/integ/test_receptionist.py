#!/usr/bin/python3
"""The offline receptionist (brain = playbook, the default) end to end, on
real SIP calls: a second agentline places each call with brain =
script:FILE, so the caller's lines are flite-voiced and travel through the
telephone channel (G.722 here, SRTP on) into the receptionist's VAD and
pocketsphinx (free speech for name and reason, the digits and yes/no
grammars for the number), and the receptionist's questions travel back to
the caller's recogniser, which decides when to say the next line.

 1. ten generated calls (names, reasons, callback numbers vary): at least
    9 of 10 messages stored with the right callback number, each with its
    audio file (the measured rate is printed);
 2. "no" to the read-back: the receptionist asks again and stores the
    corrected number;
 3. keypad entry: the number typed as RFC 4733 DTMF is read back and
    stored.

Judged on the receptionist's message store (SQLite under data_dir), or
on its message_taken events where the build has no store, and on the
turn events of both sides."""
import os
import random
import re
import sqlite3
import subprocess
import threading
import time
import harness

WORDS = "zero one two three four five six seven eight nine".split()
FIRST = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace",
         "Henry", "Irene", "James", "Karen", "Louis"]
LAST = ["Walker", "Miller", "Turner", "Baker", "Carter", "Hughes",
        "Morgan", "Foster", "Price", "Bennett"]
REASONS = [
    "I am calling about the piano lesson on Friday.",
    "The parcel you ordered has arrived at the post office.",
    "I would like to talk about the kitchen repair.",
    "Your car is ready to be picked up.",
    "Please call me back about the dinner on Saturday.",
    "It is about the invoice from last month.",
    "I have a question about the rental flat.",
    "The meeting tomorrow has moved to ten o'clock.",
    "I found your dog in the park.",
    "Can we talk about the school trip next week?",
]
CALLS = int(os.environ.get("RECEPTIONIST_CALLS", "10"))
# generated calls run this many at a time (each caller starts STAGGER
# seconds after the previous one, so INVITEs arrive in launch order)
PARALLEL = int(os.environ.get("RECEPTIONIST_PARALLEL", "2"))
STAGGER = 12


def spoken(number):
    """'5551234567' -> 'five five five, one two three, four five six
    seven.' (groups of three, the last of up to four)"""
    groups, i = [], 0
    while i < len(number):
        rest = len(number) - i
        n = rest if rest <= 4 else 3
        groups.append(" ".join(WORDS[int(d)] for d in number[i:i + n]))
        i += n
    return ", ".join(groups) + "."


def has_store(t):
    out = subprocess.run([t.agentline_bin, "--help"], capture_output=True,
                         text=True).stdout
    return re.search(r"^\s+data_dir\s", out, re.M) is not None


class Reception:
    def __init__(self, t):
        self.t = t
        self.data = os.path.join(t.dir, "data")
        os.makedirs(self.data, exist_ok=True)
        sets = dict(app="agent", greeting_owner="Sam",
                    silence_reprompt_secs=8, filler_delay_ms=0,
                    tcp=False)
        self.store = has_store(t)
        if self.store:
            sets["data_dir"] = self.data
        t.note("message store: %s" % ("SQLite under data_dir" if self.store
                                      else "none in this build (events)"))
        self.al = t.agentline(name="reception", **sets)
        self.calls = 0
        self.lock = threading.Lock()

    def messages(self):
        """Stored messages, oldest first: dicts with call, name, callback,
        text, audio_path."""
        if self.store:
            db = os.path.join(self.data, "agentline.db")
            if not os.path.exists(db):
                return []
            c = sqlite3.connect(db, timeout=5)
            try:
                c.row_factory = sqlite3.Row
                rows = c.execute("SELECT call, name, callback, text, "
                                 "audio_path FROM messages ORDER BY id"
                                 ).fetchall()
            finally:
                c.close()
            return [dict(r) for r in rows]
        out = []
        for e in self.al.events_of("message_taken"):
            out.append({"call": e.get("call"), "name": e.get("name"),
                        "callback": e.get("callback"),
                        "text": e.get("text"),
                        "audio_path": e.get("audio_path")})
        return out

    def audio_of(self, m):
        """The message's audio file as stored with it (a WAV with the
        caller's name and reason), if it exists and holds audio."""
        p = m.get("audio_path") or ""
        if p and os.path.exists(p) and os.path.getsize(p) > 16000:
            return p
        return None

    def call(self, name, lines, timeout=150, keys=False):
        """One call from a scripted caller; returns (message or None,
        caller turns, receptionist turns of that call, seconds)."""
        t = self.t
        with self.lock:
            index = self.calls      # this call's INVITE is the index-th
            self.calls += 1
        script = os.path.join(t.dir, "%s.script" % name)
        with open(script, "w") as f:
            f.write("\n".join(lines) + "\n")
        port = harness.free_port()
        lo, hi = harness.free_port_range(40)
        ev = os.path.join(t.dir, "%s.events.jsonl" % name)
        user, extra = "reception", {}
        if keys:
            # send_dtmf is an ELEVATED tool: the scripted caller's callee
            # (the receptionist) must be in a level-2 group of its own
            # caller groups, and outbound_privilege must allow it
            groups = os.path.join(t.dir, "caller_groups.json")
            with open(groups, "w") as f:
                f.write('{"groups": [{"name": "callee", '
                        '"privilege_level": 2}, {"name": "receptionist", '
                        '"privilege_level": 0}], "lists": {"callee": '
                        '["+15555550100"]}, "default_group": '
                        '"receptionist"}')
            user = "+15555550100"
            extra = dict(caller_groups_file=groups, outbound_privilege=2)
        argv = [t.agentline_bin, "call",
                "sip:%s@%s" % (user, self.al.sip_udp), "--duration", "120"]
        for k, v in dict(extra, sip_listen="udp:127.0.0.1:%d" % port,
                         rtp_port_min=lo, rtp_port_max=hi,
                         events_file=ev, brain="script:" + script,
                         barge_in_mode="off", filler_delay_ms=0,
                         tts_voice="slt",
                         silence_reprompt_secs=0, drain_secs=1,
                         log_level="info").items():
            argv += ["--set", "%s=%s" % (k, v)]
        start = time.monotonic()
        p = harness.Proc(name, argv, cwd=t.dir)
        rc = p.wait(timeout)
        if rc is None:
            t.note("%s: caller still running after %ss: stopping it"
                   % (name, timeout))
            p.stop(timeout=5)
        secs = time.monotonic() - start
        # which of the receptionist's calls was ours: calls are launched
        # far enough apart that INVITEs arrive in launch order
        inc = self.al.events_of("call_incoming")
        rcall = inc[index].get("call") if len(inc) > index else None

        def ours():
            return [m for m in self.messages() if rcall and
                    m.get("call") == rcall]
        # the receptionist stores before it says goodbye
        harness.wait_for(ours, 5)
        mine = ours()
        msg = mine[-1] if mine else None
        caller_turns = [e for e in _events(ev) if e.get("event") == "turn"]
        rturns = []
        if msg:
            rturns = [e for e in self.al.events_of("turn")
                      if e.get("call") == msg.get("call")]
        return msg, caller_turns, rturns, secs


def _events(path):
    import json
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def generated_calls(t, rec):
    rnd = random.Random(20261122)
    right, with_audio, reasks, total_secs = 0, 0, 0, 0.0
    plan = []
    for i in range(CALLS):
        name = "%s %s" % (FIRST[i % len(FIRST)], rnd.choice(LAST))
        reason = REASONS[i % len(REASONS)]
        number = "".join(rnd.choice("0123456789")
                         for _ in range(rnd.choice((7, 8, 10))))
        plan.append((i, name, reason, number))

    slots = threading.Semaphore(max(PARALLEL, 1))
    results = {}

    def run(i, name, reason, number):
        try:
            lines = ["My name is %s." % name, reason, spoken(number),
                     "confirm: %s" % number]
            results[i] = rec.call("call%02d" % i, lines)
        finally:
            slots.release()

    threads = []
    for i, name, reason, number in plan:
        slots.acquire()
        if threads:
            time.sleep(STAGGER)     # keep INVITEs in launch order
        th = threading.Thread(target=run, args=(i, name, reason, number))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()

    for i, name, reason, number in plan:
        msg, cturns, rturns, secs = results.get(i, (None, [], [], 0.0))
        total_secs += secs
        got = msg.get("callback") if msg else None
        audio = rec.audio_of(msg) if msg else None
        n_no = sum(1 for e in rturns
                   if "number again" in e.get("reply", ""))
        reasks += n_no
        ok = got == number
        right += ok
        with_audio += bool(ok and audio)
        t.note("call %d: %-16s number %-10s stored %-10s %s, audio %s, "
               "re-asked %d, name heard %r, %.0f s" % (
                   i, name, number, got, "RIGHT" if ok else "WRONG",
                   "yes" if audio else "no", n_no,
                   msg.get("name") if msg else None, secs))
    t.note("measured: %d of %d calls stored the right callback number "
           "(%d %%), %d with audio; %d read-backs corrected by 'no'; "
           "%.0f s per call" % (right, CALLS, 100 * right // max(CALLS, 1),
                                with_audio, reasks,
                                total_secs / max(CALLS, 1)))
    # Issue 5 asks for 9 of 10.  The misses were pocketsphinx digit
    # insertions at the pauses between digit groups ("six one four" heard
    # as "six zero one four"): with the default word insertion probability
    # (-wip 0.65) 9, 9, 9, 9, 8, 8, 7 and this session 8, 9, 8, 9, 9 of
    # 10.  The digits search now has -wip 0.2: 10, 9, 10, 10, 10, 10
    # (and 10, 10, 10 at 0.05), measured interleaved with 0.65 runs on
    # the same loaded 2-core machine.  Not part of `make test` (label
    # accuracy).
    pct = int(os.environ.get("RECEPTIONIST_MIN_PCT", "90"))
    need = (CALLS * pct + 99) // 100
    t.check(right >= need, "at least %d of %d generated calls stored the "
            "right callback number (%d)" % (need, CALLS, right))
    t.check(with_audio >= need, "... each with its audio file (%d)"
            % with_audio)


def say_no(t, rec):
    number = "4155550123"
    lines = ["My name is Peter Jones.", "It is about the garden fence.",
             "one two three.", "no.", spoken(number),
             "confirm: %s" % number]
    msg, cturns, rturns, secs = rec.call("call_no", lines)
    replies = [e.get("reply", "") for e in rturns]
    t.check(any("number again" in r for r in replies),
            "'no' to the read-back: the receptionist asked again", replies)
    t.check(msg and msg.get("callback") == number,
            "... and stored the corrected number", msg)


def keypad(t, rec):
    number = "0301234567"
    lines = ["My name is Maria Schmidt.", "I am calling about the flat.",
             "dtmf: %s#" % number, "confirm: %s" % number]
    msg, cturns, rturns, secs = rec.call("call_dtmf", lines, keys=True)
    dt = [e for e in rec.al.events_of("dtmf")
          if not msg or e.get("call") == msg.get("call")]
    t.check(len(dt) >= len(number), "keypad: %d DTMF digits arrived at the "
            "receptionist" % len(dt))
    t.check(msg and msg.get("callback") == number,
            "keypad: the typed number was read back and stored", msg)
    t.check(msg and rec.audio_of(msg), "keypad: message audio kept", msg)


def body(t):
    rec = Reception(t)
    only = os.environ.get("RECEPTIONIST_ONLY", "")
    if not only or only == "generated":
        generated_calls(t, rec)
    if not only or only == "no":
        say_no(t, rec)
    if not only or only == "keypad":
        keypad(t, rec)
    t.check(rec.al.alive(), "the receptionist is still running")


harness.Test("receptionist").run(body)
