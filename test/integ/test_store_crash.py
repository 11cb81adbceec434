#!/usr/bin/python3
"""Durability: agentline (app=agent, parrot brain) finishes two calls, then
is killed with SIGKILL while two more calls are live, each with a finished
turn.  Restarted on the same data_dir it must open the database cleanly
(integrity_check ok), keep every finished call exactly once with its real
end reason, mark the live ones ended with reason "crash" (once, with the
turns they had), lose no turn event that was emitted well before the kill,
and record new calls normally afterwards."""
import collections
import os
import signal
import sqlite3
import subprocess
import time
import harness


def caller_wav(t, parts, name):
    cat = os.path.join(t.dir, name + "_16k.wav")
    subprocess.run(["sox"] + parts + [cat], check=True, capture_output=True)
    run_dir = os.path.join(t.dir, "sipp_" + name)
    os.makedirs(run_dir, exist_ok=True)
    subprocess.run(["sox", cat, "-r", "8000", "-e", "u-law",
                    os.path.join(run_dir, "tone_ulaw.wav")], check=True,
                   capture_output=True)


def rows(path, q, args=()):
    db = sqlite3.connect(path, timeout=5)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(q, args)]
    finally:
        db.close()


def body(t):
    data = os.path.join(t.dir, "state")
    dbp = os.path.join(data, "agentline.db")
    speech = harness.speech_wav(t, "Hello, can you hear me?", "u1")
    for name in ("done", "live", "after"):
        caller_wav(t, [harness.silence_wav(t, 1.5, "s15"), speech,
                       harness.silence_wav(t, 3, "s3")], name)
    sets = dict(app="agent", vad="energy", codecs="PCMU",
                silence_reprompt_secs=0, brain="parrot",
                greeting_incoming="", data_dir=data)
    al = t.agentline(name="al1", **sets)

    # two calls that finish
    r = t.sipp(harness.once_scenario(t), al.sip_udp, calls=2, rate=2,
               duration_ms=7000, timeout=40, name="sipp_done")
    t.check(r.ok and r.successful == 2, "2 calls finished", r)
    done = al.wait_events("call_ended", 2, timeout=10)
    done_ids = {e["call"] for e in done}

    # two calls that are live when agentline is killed
    bg = t.sipp(harness.once_scenario(t), al.sip_udp, calls=2, rate=2,
                duration_ms=60000, timeout=90, name="sipp_live",
                background=True)
    def live_answered():
        a = [e for e in al.events_of("call_answered")
             if e["call"] not in done_ids]
        return a if len(a) >= 2 else None
    answered = harness.wait_for(live_answered, 15) or []
    live_ids = {e["call"] for e in answered}
    t.check(len(live_ids) == 2, "2 more calls answered", answered)
    harness.wait_for(lambda: len({e["call"] for e in al.events_of("turn")
                                  if e["call"] in live_ids}) == 2, 25)
    time.sleep(1)           # the turn events are well in the past
    before_kill = al.events()
    live_turns = [e for e in before_kill if e.get("event") == "turn" and
                  e["call"] in live_ids]
    t.check(len({e["call"] for e in live_turns}) == 2,
            "each live call had a finished turn before the kill",
            live_turns)
    al.proc.send_signal(signal.SIGKILL)
    rc = al.proc.wait(10)
    t.check(rc == -signal.SIGKILL, "agentline killed by SIGKILL (%s)" % rc)
    bg.stop(timeout=2)

    # restart on the same state
    al2 = t.agentline(name="al2", **sets)
    t.check("marked ended (crash)" in al2.log(),
            "restart reports the calls a crash left live", al2.log(3000))
    chk = rows(dbp, "PRAGMA integrity_check")
    t.check(chk and list(chk[0].values())[0] == "ok",
            "integrity_check ok after kill -9", chk)
    calls = rows(dbp, "SELECT * FROM calls")
    by_id = collections.Counter(c["id"] for c in calls)
    t.check(len(calls) == 4 and all(n == 1 for n in by_id.values()),
            "4 call rows, each call once", calls)
    for c in calls:
        if c["id"] in done_ids:
            t.check(c["end_reason"] == "remote_bye" and c["live"] == 0,
                    "finished call %s kept with its end reason" % c["id"], c)
        elif c["id"] in live_ids:
            t.check(c["end_reason"] == "crash" and c["live"] == 0 and
                    c["ended"] and c["ended"] >= c["answered"] and
                    c["outcome"] == "answered",
                    "live call %s marked ended (crash)" % c["id"], c)
        else:
            t.check(False, "unexpected call row", c)
    turns = rows(dbp, "SELECT c.id, t.n, t.transcript FROM turns t JOIN"
                 " calls c ON t.call = c.n")
    have = {(r["id"], r["n"]) for r in turns}
    want = {(e["call"], e["turn"]) for e in before_kill
            if e.get("event") == "turn"}
    t.check(want and want <= have,
            "every turn emitted before the kill is stored (%d)" % len(want),
            (sorted(want), sorted(have)))

    # recording goes on after the restart
    r = t.sipp(harness.once_scenario(t), al2.sip_udp, calls=1,
               duration_ms=6000, timeout=40, name="sipp_after")
    t.check(r.ok and r.successful == 1, "a call after the restart", r)
    ended = al2.wait_events("call_ended", 1, timeout=10)
    t.check(al2.stop() == 0, "agentline exits 0")
    calls = rows(dbp, "SELECT id, end_reason, live FROM calls")
    new = [c for c in calls if ended and c["id"] == ended[0]["call"]]
    t.check(len(calls) == 5 and len(new) == 1 and
            new[0]["end_reason"] == "remote_bye",
            "the new call is recorded; 5 calls in all", calls)
    t.check(rows(dbp, "SELECT COUNT(*) AS n FROM calls WHERE"
                 " end_reason = 'crash'")[0]["n"] == 2,
            "a clean restart marks nothing more as crashed")


harness.Test("store_crash").run(body)
