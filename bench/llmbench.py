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

With WIRE=1 (bench/llm.sh sets it when sipp and dumpcap exist) the same
caller audio also goes over a real SIP call (SIPp UAC, PCMU) to
`agentline run`, with `dumpcap` on lo capturing the RTP both ways:

  sentence->wire   the server wrote the first sentence's SSE event (its
                   wall clock, same host) -> agentline's first RTP packet
                   carrying audio (RMS > 16, i.e. not digital silence),
                   and the first above -40 dBFS (RMS > 328)
  v2v (wire)       the caller's utterance ends on the wire (SIPp sends
                   the file from the call's first packet, 20 ms each) ->
                   agentline's first packet above -40 dBFS

Usage: llmbench.py AGENTLINE SOURCE_DIR OUT_DIR
Environment: TURNS (10), FIRST_TOKEN_MS (300), FIRST_SENTENCE ("Sure, I
can help with that."), VAD (auto), PAUSE_S (6), WIRE (0).
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
import socket
import math

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


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
            socket.socket() as t:
        for _ in range(50):
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
                return port
            except OSError:
                u.close()
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raise SystemExit("no free port")


def ulaw_rms(pl):
    tot = 0.0
    for b in pl:
        b = ~b & 0xff
        sign, exp, man = b & 0x80, (b >> 4) & 7, b & 15
        v = ((man << 3) + 0x84) << exp
        v -= 0x84
        tot += v * v
    return math.sqrt(tot / len(pl)) if pl else 0.0


def wire(agentline, src, out, url, inp, ends, first_turn_ms):
    """The caller's audio over a real call; RTP captured on lo."""
    sys.path.insert(0, os.path.join(src, "bench"))
    import benchlib
    d = os.path.join(out, "wire")
    os.makedirs(d, exist_ok=True)
    sh(["sox", inp, "-r", "8000", "-e", "u-law",
        os.path.join(d, "caller_ulaw.wav")])
    with open(os.path.join(src, "test", "integ", "scenarios",
                           "uac_basic.xml")) as f:
        scen = f.read().replace("tone_ulaw.wav,-1,0", "caller_ulaw.wav,1,0")
    with open(os.path.join(d, "uac.xml"), "w") as f:
        f.write(scen)
    sip, uac, media = free_port(), free_port(), free_port()
    lo = 30000 + (os.getpid() % 100) * 200
    al = subprocess.Popen(
        [agentline, "run", "--set", "sip_listen=udp:127.0.0.1:%d" % sip,
         "--set", "rtp_port_min=%d" % lo, "--set",
         "rtp_port_max=%d" % (lo + 100), "--set", "app=agent",
         "--set", "brain=llm", "--set", "llm_base_url=%s/v1" % url,
         "--set", "llm_model=bench", "--set", "vad=%s" %
         os.environ.get("VAD", "auto"), "--set", "codecs=PCMU",
         "--set", "greeting_incoming=", "--set", "filler_delay_ms=0",
         "--set", "silence_reprompt_secs=0", "--set", "llm_retries=0",
         "--set", "control_listen=", "--set",
         "data_dir=%s" % os.path.join(d, "data")],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "al.err"),
                                               "w"))
    time.sleep(1.5)
    cap = os.path.join(d, "rtp.pcap")
    dc = subprocess.Popen(["dumpcap", "-q", "-i", "lo", "-P", "-f",
                           "udp port %d" % media, "-w", cap],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    dur = int((ends[-1] + 6) * 1000)
    t_call = time.time()
    subprocess.run(["sipp", "127.0.0.1:%d" % sip, "-sf",
                    os.path.join(d, "uac.xml"), "-s", "agent", "-i",
                    "127.0.0.1", "-p", str(uac), "-mi", "127.0.0.1", "-mp",
                    str(media), "-m", "1", "-l", "1", "-d", str(dur),
                    "-timeout", "%ds" % (dur // 1000 + 40), "-nostdin"],
                   cwd=d, capture_output=True)
    time.sleep(1.0)
    dc.terminate()
    dc.wait()
    al.terminate()
    al.wait()

    reqs = [json.loads(ln) for ln in open(os.path.join(
        out, "llm_requests.jsonl")) if ln.strip()]
    sent = sorted(q["sentence_sent"] for q in reqs
                  if q.get("sentence_sent") and q["t"] >= t_call)
    pk_in, pk_out = [], []
    for ts, src_a, dst_a, pl in benchlib.read_pcap(cap):
        if len(pl) < 12 or pl[0] >> 6 != 2 or (pl[1] & 0x7f) != 0:
            continue
        rms = ulaw_rms(pl[12:])
        if dst_a[1] == media:
            pk_out.append((ts, rms))      # agentline -> caller
        elif src_a[1] == media:
            pk_in.append((ts, rms))       # caller -> agentline
    def first_after(t, thr):
        for ts, r in pk_out:
            if ts >= t and r > thr:
                return ts
        return None

    res = {"s2w": [], "s2w_aud": [], "v2v": []}
    for st in sent:
        a, b = first_after(st, 16), first_after(st, 328)
        if a is not None:
            res["s2w"].append((a - st) * 1000.0)
        if b is not None:
            res["s2w_aud"].append((b - st) * 1000.0)
    # SIPp streams the caller file from the call's start, one packet per
    # 20 ms: utterance end e (s into the file) is on the wire at
    # first packet + e
    if pk_in:
        t0 = pk_in[0][0]
        for e in ends:
            b = first_after(t0 + e, 328)
            if b is not None and b - (t0 + e) < 6:
                res["v2v"].append((b - (t0 + e)) * 1000.0)
    return res, len(pk_in), len(pk_out)


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
    if os.environ.get("WIRE") == "1":
        res, nin, nout = wire(agentline, src, out, url, inp, ends, ftok)
        print("real SIP call (SIPp, PCMU), RTP captured on lo: %d packets "
              "in, %d out" % (nin, nout))
        for k, name in (("s2w", "sentence->wire"),
                        ("s2w_aud", "sentence->wire, -40dB"),
                        ("v2v", "v2v (wire, -40dB)")):
            v = res[k]
            print("%-22s %8.0f %8.0f %8.0f  (%d)" % (
                name, pct(v, 50), pct(v, 95),
                max(v) if v else float("nan"), len(v)))
    print("anchor: 1436 ms sample turn of a comparable local gateway "
          "(ASR 450 + LLM 356 + TTS 630)")
    print("raw: %s" % out)
    srv.terminate()
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
