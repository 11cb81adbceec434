#!/usr/bin/python3
"""Persistence of a real call: SIPp calls agentline (app=agent, parrot
brain, offline engines) and says one sentence; the call and its turns are
then read back from the SQLite file with Python's sqlite3 (while agentline
runs, and again after it stopped): one call row with the id, direction,
codec, answer/end times and end reason of the events; one turn row per turn
event with the same transcript, reply and timings; the database and its
directory are private (0600/0700) and pass integrity_check."""
import os
import sqlite3
import stat
import subprocess
import harness


def caller_wav(t, parts, name):
    cat = os.path.join(t.dir, name + "_16k.wav")
    subprocess.run(["sox"] + parts + [cat], check=True, capture_output=True)
    run_dir = os.path.join(t.dir, "sipp_" + name)
    os.makedirs(run_dir, exist_ok=True)
    subprocess.run(["sox", cat, "-r", "8000", "-e", "u-law",
                    os.path.join(run_dir, "tone_ulaw.wav")], check=True,
                   capture_output=True)


def db_rows(path, q, args=()):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(q, args)]
    finally:
        db.close()


def body(t):
    data = os.path.join(t.dir, "state")
    dbp = os.path.join(data, "agentline.db")
    caller_wav(t, [harness.silence_wav(t, 2, "s2"),
                   harness.speech_wav(t, "Hello, can you hear me?", "u1"),
                   harness.silence_wav(t, 5, "s5")], "conv")
    al = t.agentline(app="agent", vad="energy", codecs="PCMU",
                     silence_reprompt_secs=0, brain="parrot",
                     greeting_incoming="Hi.", data_dir=data)
    r = t.sipp(harness.once_scenario(t), al.sip_udp, calls=1,
               duration_ms=10000, timeout=40, name="sipp_conv")
    t.check(r.ok and r.successful == 1, "SIPp call succeeded", r)
    ended = al.wait_events("call_ended", 1, timeout=10)
    turns_ev = al.events_of("turn")
    answered = al.events_of("call_answered")
    t.check(len(ended) == 1 and len(answered) == 1 and turns_ev,
            "events: answered, >= 1 turn, ended", al.events())
    if not (ended and answered):
        return
    cid = ended[0]["call"]

    # read while agentline runs: committed at the end of each loop turn
    calls = harness.wait_for(lambda: [c for c in db_rows(
        dbp, "SELECT * FROM calls") if c["live"] == 0], 5) or []
    t.check(len(calls) == 1, "one call row, ended", calls)
    if calls:
        c = calls[0]
        t.check(c["id"] == cid, "call id as in the events (%s)" % cid, c)
        t.check(c["direction"] == "inbound" and c["codec"] == "PCMU" and
                c["transport"] == "UDP",
                "direction inbound, codec PCMU, transport UDP", c)
        t.check(c["end_reason"] == ended[0]["reason"] and
                c["outcome"] == "answered",
                "end reason %s, outcome answered" % ended[0]["reason"], c)
        t.check(abs(c["answered"] - answered[0]["ts"] * 1000) < 2 and
                abs(c["ended"] - ended[0]["ts"] * 1000) < 2,
                "answer and end times as in the events", c)
        t.check(c["duration_ms"] == c["ended"] - c["answered"] and
                5000 < c["duration_ms"] < 15000,
                "duration %s ms" % c["duration_ms"], c)
    turns = db_rows(dbp, "SELECT t.* FROM turns t JOIN calls c ON"
                    " t.call = c.n WHERE c.id = ? ORDER BY t.n", (cid,))
    t.check(len(turns) == len(turns_ev), "%d turn rows for %d turn events"
            % (len(turns), len(turns_ev)), turns)
    for row, ev in zip(turns, sorted(turns_ev, key=lambda e: e["turn"])):
        t.check(row["n"] == ev["turn"] and
                row["transcript"] == ev["transcript"] and
                row["reply"] == ev["reply"] and
                row["stt_ms"] == ev["stt_ms"] and
                row["voice_to_voice_ms"] == ev["voice_to_voice_ms"],
                "turn %s stored as emitted (%r)" % (ev["turn"],
                                                    ev["transcript"]),
                (row, ev))
    t.check(any("can you hear me" in (r["transcript"] or "")
                for r in turns), "the caller's sentence is in the DB",
            turns)

    t.check(al.stop() == 0, "agentline exits 0")
    st = os.stat(dbp)
    t.check(stat.S_IMODE(st.st_mode) & 0o077 == 0 and
            stat.S_IMODE(os.stat(data).st_mode) & 0o077 == 0,
            "database 0600 and data_dir 0700 (%o, %o)" % (
                stat.S_IMODE(st.st_mode),
                stat.S_IMODE(os.stat(data).st_mode)))
    t.check(not os.path.exists(dbp + "-wal") or
            os.path.getsize(dbp + "-wal") == 0,
            "WAL checkpointed away at exit")
    chk = db_rows(dbp, "PRAGMA integrity_check")
    t.check(chk and list(chk[0].values())[0] == "ok", "integrity_check ok",
            chk)
    t.check(len(db_rows(dbp, "SELECT * FROM calls")) == 1,
            "still one call after shutdown")


harness.Test("store_call").run(body)
