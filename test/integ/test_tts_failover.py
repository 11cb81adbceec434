#!/usr/bin/python3
"""TTS failover on a real call: app=agent with tts=openai against the fake
OpenAI server (test/integ/servers/fake_openai.py --mode failafter), which
speaks the greeting (a 1 kHz tone, streamed as 24 kHz PCM) and answers
HTTP 500 for every later sentence.  A SIPp call (the caller asks one
question) is recorded by agentline (caller left, agent right):
 - the greeting is the server's tone (resampled to the line), the
   parrot's reply is spoken by the fallback voice (flite), and the
   failover adds at most ~500 ms before the reply's first audio (turn
   event tts_first_audio_ms: two 500s, the retry pause, flite's start);
 - the request was retried once (two 500s), each request well-formed;
 - the log says the fallback voice was used and never shows the key."""
import glob
import json
import os
import struct
import subprocess
import sys
import wave
import harness

speech = harness.speech_wav
silence = harness.silence_wav

RATE = 16000
KEY = "sk-integ-Failover7Secret"


def goertzel(x, f):
    import math
    w = 2 * math.pi * f / RATE
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - c * s1 * s2) / (len(x) ** 2)


def start_server(t, mode, n):
    rec = os.path.join(t.dir, "fake_openai.jsonl")
    script = os.path.join(t.source_dir, "test", "integ", "servers",
                          "fake_openai.py")
    py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) \
        else sys.executable
    p = harness.Proc("fake_openai", [py, script, "--mode",
                                     mode, "--n", str(n), "--record", rec,
                                     "--key", KEY], cwd=t.dir)
    port = None
    ok = harness.wait_for(lambda: "PORT" in p.stdout(), 10)
    if ok:
        port = int(p.stdout().split()[1])
    return p, port, rec


def body(t):
    srv, port, recfile = start_server(t, "failafter", 1)
    t.check(port is not None, "fake OpenAI server started", srv.stderr())
    if port is None:
        return
    # caller: quiet while the greeting plays, one question, then quiet
    parts = [silence(t, 2.5, "s1"), speech(t, "Hello, can you hear me?",
                                          "u1"), silence(t, 6, "s2")]
    cat = os.path.join(t.dir, "caller_16k.wav")
    subprocess.run(["sox"] + parts + [cat], check=True, capture_output=True)
    run_dir = os.path.join(t.dir, "sipp_failover")
    os.makedirs(run_dir, exist_ok=True)
    subprocess.run(["sox", cat, "-r", "8000", "-e", "u-law",
                    os.path.join(run_dir, "tone_ulaw.wav")], check=True,
                   capture_output=True)
    rec = os.path.join(t.dir, "rec")
    os.makedirs(rec, exist_ok=True)
    al = t.agentline(name="al_failover", app="agent", vad="energy",
                     record_dir=rec, codecs="PCMU",
                     silence_reprompt_secs=0, filler_delay_ms=0,
                     tts="openai", tts_url="http://127.0.0.1:%d" % port,
                     tts_api_key=KEY, tts_fallback="auto",
                     greeting_incoming="Hi.", brain="parrot")
    r = t.sipp(harness.once_scenario(t), al.sip_udp, calls=1, duration_ms=10000,
               timeout=40, name="sipp_failover")
    t.check(r.ok and r.successful == 1, "call succeeded", r)
    al.wait_events("call_ended", 1, timeout=10)
    t.check(al.stop() == 0, "agentline exits 0")
    srv.stop()
    log = al.log()

    reqs = []
    with open(recfile) as f:
        for line in f:
            e = json.loads(line)
            if e.get("path") == "/v1/audio/speech":
                reqs.append(e)
    inputs = [e.get("json", {}).get("input") for e in reqs]
    t.note("speech requests: %s" % inputs)
    t.check(all(e.get("ok") for e in reqs), "requests well-formed (auth, "
            "JSON fields)", [e.get("problems") for e in reqs])
    t.check(len(reqs) == 3 and inputs[0] == "Hi." and inputs[1] ==
            inputs[2] and inputs[1].startswith("You said"),
            "greeting served; the reply failed twice (one retry)", inputs)
    t.check("used the fallback voice" in log, "log says the fallback "
            "voice was used", log[-3000:])
    t.check("HTTP 500" in log, "log names the server's error")
    t.check(KEY not in log, "the API key never appears in the log")

    turns = al.events_of("turn")
    t.check(len(turns) == 1, "one caller turn", turns)
    if turns:
        fa = int(turns[0].get("tts_first_audio_ms", -1))
        t.note("reply: first audio %d ms after the reply text (two 500s, "
               "retry pause, fallback start)" % fa)
        t.check(0 <= fa <= 500, "at most ~500 ms of silence added at the "
                "failure point (%d ms)" % fa)

    files = glob.glob(os.path.join(rec, "*.wav"))
    t.check(len(files) == 1, "call recorded", files)
    if len(files) != 1:
        return
    left, right = harness.read_stereo_rec(files[0])
    env = harness.envelope(right)
    thr = 300
    on = next((i for i, v in enumerate(env) if v > thr), None)
    t.check(on is not None, "agent audio found")
    if on is None:
        return
    # the greeting: 1 s of 1 kHz from the server, resampled 24 -> 16 kHz
    tone = right[(on + 20) * 160:(on + 80) * 160]
    p1k, p700 = goertzel(tone, 1000), goertzel(tone, 700)
    t.check(p1k > 50 * p700, "the greeting is the server's 1 kHz tone "
            "(resampled 24 -> 16 kHz)", (p1k, p700))
    tone_end = next((i for i in range(on, len(env)) if env[i] < thr), None)
    t.check(tone_end is not None and 80 <= tone_end - on <= 120,
            "tone lasted about 1 s (%s ms)" % (
                (tone_end - on) * 10 if tone_end else None))
    if tone_end is None:
        return
    # caller speech ends -> the reply follows in the fallback voice
    lenv = harness.envelope(left)
    speech_end = max((i for i, v in enumerate(lenv) if v > 1000),
                     default=None)
    nxt = next((i for i in range(tone_end, len(env)) if env[i] > thr),
               None)
    t.check(nxt is not None and speech_end is not None and
            nxt > speech_end, "the agent replied after the caller spoke")
    if nxt is None or speech_end is None:
        return
    t.note("caller speech end -> reply audio: %d ms (hangover 700 ms, "
           "STT, brain, failover)" % ((nxt - speech_end) * 10))
    spoken = sum(1 for v in env[nxt:] if v > thr) * 10
    t.check(spoken > 800, "the fallback voice spoke the reply (%d ms of "
            "audio)" % spoken)
    rest = right[nxt * 160:(nxt + 60) * 160]
    t.check(goertzel(rest, 1000) < 0.2 * p1k, "the reply is not the "
            "server's tone (it is the fallback voice)")


harness.Test("tts_failover").run(body)
