#!/usr/bin/python3
"""LLM brain latency (bench/llm.sh): `agentline pipeline` in real time
(caller WAV in, agent WAV out, one 20 ms frame per tick on both, so the
two files share one timeline) with brain = llm against the scripted
OpenAI-compatible server test/integ/servers/openai_llm.py set to a fixed
first-token delay.  Prints per-turn numbers and p50/p95:

  sentence->audio  first reply text (here: the whole first sentence, sent
                   as one delta) reaches the main thread -> its first
                   audio is queued for the line (`tts_first_audio_ms`);
                   the line takes it at the next 20 ms tick
  v2v (events)     `voice_to_voice_ms`: VAD's last voiced frame -> first
                   reply audio queued (vad_end + stt + brain + tts)
  v2v (audio)      on the files: caller's last sample above -40 dBFS ->
                   agent's first sample above it (what a caller hears)

Usage: llmbench.py AGENTLINE SOURCE_DIR OUT_DIR
Environment: TURNS (10), FIRST_TOKEN_MS (300), FIRST_SENTENCE ("Sure, I
can help with that."), VAD (auto), PAUSE_S (6).
"""
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import wave
import struct

RATE = 16000
QUESTIONS = ["What are your opening hours today?",
             "Can I book a table for two people?",
             "Is the owner available this afternoon?",
             "How much does a delivery cost?",
             "Please call me back tomorrow morning."]


def sh(argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, **kw)


def flite_wav(out_dir, text, name):
    raw = os.path.join(out_dir, name + "_raw.wav")
    out = os.path.join(out_dir, name + ".wav")
    sh(["flite", "-voice", "slt", "-t", text, "-o", raw])
    sh(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", out,
        "silence", "1", "0.01", "0.5%", "reverse",
        "silence", "1", "0.01", "0.5%", "reverse"])
    return out


def samples(path):
    with wave.open(path, "rb") as w:
        raw = w.readframes(w.getnframes())
    return struct.unpack("<%dh" % (len(raw) // 2), raw)


def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main():
    agentline, src, out = sys.argv[1:4]
    turns = int(os.environ.get("TURNS", "10"))
    ftok = int(os.environ.get("FIRST_TOKEN_MS", "300"))
    first = os.environ.get("FIRST_SENTENCE", "Sure, I can help with that.")
    vad = os.environ.get("VAD", "auto")
    pause = float(os.environ.get("PAUSE_S", "6"))
    os.makedirs(out, exist_ok=True)

    srv = subprocess.Popen([sys.executable, os.path.join(
        src, "test", "integ", "servers", "openai_llm.py"), "--record",
        os.path.join(out, "llm_requests.jsonl")], stdout=subprocess.PIPE,
        text=True)
    port = int(srv.stdout.readline().split()[1])
    url = "http://127.0.0.1:%d" % port
    script = {"replies": [{"text": first + " We are open from nine to "
                           "five every day.", "first_token_ms": ftok,
                           "pieces": 1, "delta_ms": 20}]}
    req = urllib.request.Request(url + "/control",
                                 data=json.dumps(script).encode(),
                                 method="POST")
    urllib.request.urlopen(req, timeout=5).read()

    # caller: 1.5 s silence, then TURNS questions each followed by PAUSE_S
    parts, ends, pos = [], [], 0.0
    sil = os.path.join(out, "pause.wav")
    sh(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", sil, "trim",
        "0", str(pause)])
    lead = os.path.join(out, "lead.wav")
    sh(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", lead, "trim",
        "0", "1.5"])
    parts.append(lead)
    pos = 1.5
    for i in range(turns):
        q = flite_wav(out, QUESTIONS[i % len(QUESTIONS)], "q%d" % i)
        n = len(samples(q))
        parts += [q, sil]
        ends.append(pos + n / RATE)
        pos += n / RATE + pause
    inp = os.path.join(out, "caller.wav")
    sh(["sox"] + parts + [inp])
    agent = os.path.join(out, "agent.wav")

    argv = [agentline, "pipeline", "--in", inp, "--out", agent,
            "--set", "brain=llm", "--set", "llm_base_url=%s/v1" % url,
            "--set", "llm_model=bench", "--set", "vad=%s" % vad,
            "--set", "greeting_incoming=", "--set", "filler_delay_ms=0",
            "--set", "silence_reprompt_secs=0", "--set", "llm_retries=0",
            "--set", "data_dir=%s" % os.path.join(out, "data")]
    t0 = time.time()
    p = subprocess.run(argv, capture_output=True, text=True,
                       timeout=60 + pos * 2)
    with open(os.path.join(out, "agentline.err"), "w") as f:
        f.write(p.stderr)
    srv.terminate()
    rows = [json.loads(ln) for ln in p.stdout.splitlines()
            if ln.startswith("{")]
    with open(os.path.join(out, "turns.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    # v2v on the files (same timeline): caller's last loud sample of each
    # question -> the agent's first loud sample after it
    thr = 328   # -40 dBFS
    a = samples(agent)
    audio_v2v = []
    for e in ends:
        i = int(e * RATE)
        while i < len(a) and abs(a[i]) <= thr:
            i += 1
        if i < len(a):
            audio_v2v.append((i / RATE - e) * 1000.0)

    def col(k):
        return [r[k] for r in rows if r.get(k, -1) >= 0]

    print("agentline pipeline, brain=llm, first token %d ms, vad %s, "
          "%d turns (%.0f s run)" % (ftok, vad, len(rows), time.time() - t0))
    print("first sentence: \"%s\"" % first)
    print("%-22s %8s %8s %8s" % ("ms", "p50", "p95", "max"))
    for k, name in (("vad_end_ms", "vad end of turn"),
                    ("stt_ms", "stt"),
                    ("brain_ms", "llm first text"),
                    ("tts_first_audio_ms", "sentence->audio"),
                    ("voice_to_voice_ms", "v2v (events)")):
        v = col(k)
        print("%-22s %8.0f %8.0f %8.0f" % (name, pct(v, 50), pct(v, 95),
                                          max(v) if v else float("nan")))
    print("%-22s %8.0f %8.0f %8.0f" % ("v2v (audio)", pct(audio_v2v, 50),
                                      pct(audio_v2v, 95),
                                      max(audio_v2v) if audio_v2v else
                                      float("nan")))
    print("anchor: 1436 ms sample turn of a comparable local gateway "
          "(ASR 450 + LLM 356 + TTS 630)")
    print("raw: %s" % out)
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
