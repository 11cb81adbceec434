#!/usr/bin/python3
"""Helpers for bench/pipeline.sh (Python 3 standard library only).

  pipelinelib.py caller DIR NAME SET LEAD_S PAUSE_S N [TOTAL_S]
        caller speech: N sentences of SET (v2v|barge|cap) spoken by flite
        (slt, leading/trailing silence trimmed), LEAD_S of silence first,
        PAUSE_S after each (padded with silence to TOTAL_S if given).
        Writes DIR/NAME_16k.wav, DIR/NAME_ulaw.wav (what SIPp streams) and
        DIR/NAME.json (schedule: start/end of every utterance, seconds).
  pipelinelib.py collect KIND EVENTS.jsonl RECDIR [key=value...]
        one JSON line for results.jsonl: the turn events and the analysis
        of every recording in RECDIR (see analyse()); key=value pairs
        (numbers when they parse) are copied in.
  pipelinelib.py rxdelay PCAP REC.wav SIPP_MEDIA_PORT
        gateway delay per direction from a capture of one call (JSON).
  pipelinelib.py table RESULTS.jsonl
        summary tables.

The recordings are agentline's own (record_dir): stereo 16 kHz, caller
left = the frame the jitter buffer delivered to the pipeline on a tick,
agent right = the frame pulled from the playout queue and sent in that
same tick. Both channels advance one 20 ms frame per media-clock tick, so
times measured on the recording are media-clock times.
"""

import warnings
warnings.simplefilter("ignore", DeprecationWarning)
import audioop  # noqa: E402  (deprecated in 3.11, present until 3.13)
import glob
import json
import os
import statistics
import struct
import subprocess
import sys
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (read_pcap)

RATE = 16000
WIN = 10                      # envelope window, ms
WB = RATE * WIN // 1000 * 2   # bytes per window, mono 16 bit
FRAME_B = RATE * 20 // 1000 * 2
THR = 300                     # RMS of a 10 ms window that counts as audio
SAMPLE_THR = 300              # |sample| for the sample-exact edges
CALLER_GAP_MS = 500           # caller pauses shorter than this: same utterance
AGENT_GAP_MS = 600            # agent pauses shorter than this: same reply
V2V_P95_MAX = 1500            # capacity: turn latency p95 (events) bound
GAP_MAX_FRAMES = 25           # all-zero runs up to 500 ms inside a reply

SENTENCES = {
    "v2v": [
        "Hello, can you hear me?",
        "What time is it?",
        "I would like to book a table for two.",
        "Please call me back tomorrow morning.",
        "The weather is nice today.",
        "Can you tell me the opening hours?",
        "I need to change my appointment.",
        "Thank you very much for your help.",
        "Where is the nearest train station?",
        "My order has not arrived yet.",
        "Could you repeat that please?",
    ],
    "barge": [
        "I would like to book a table for two people tomorrow evening.",
        "Please tell me when the next train to the airport leaves.",
        "My order has not arrived yet and I have been waiting a week.",
        "Can you tell me the opening hours of the shop on Sunday?",
        "I need to change my appointment to Thursday afternoon.",
    ],
    "cap": [
        "Hello, can you hear me?",
        "I would like to book a table for two.",
        "What time is it?",
        "Please call me back tomorrow morning.",
    ],
}


def run(argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def caller(d, name, which, lead, pause, n, total=None):
    os.makedirs(d, exist_ok=True)
    sents = SENTENCES[which]
    parts, sched, t = [], [], lead
    sil = {}

    def silence(secs):
        key = "%.3f" % secs
        if key not in sil:
            p = os.path.join(d, "sil_%s.wav" % key)
            run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", p,
                 "trim", "0", key])
            sil[key] = p
        return sil[key]

    if lead > 0:
        parts.append(silence(lead))
    for i in range(n):
        k = i % len(sents)
        wav = os.path.join(d, "%s_s%d.wav" % (which, k))
        if not os.path.exists(wav):
            raw = wav + ".raw.wav"
            run(["flite", "-voice", "slt", "-t", sents[k], "-o", raw])
            run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", wav,
                 "silence", "1", "0.01", "0.5%", "reverse",
                 "silence", "1", "0.01", "0.5%", "reverse"])
        w = wave.open(wav)
        dur = w.getnframes() / float(w.getframerate())
        w.close()
        parts.append(wav)
        sched.append({"start": round(t, 3), "end": round(t + dur, 3),
                      "text": sents[k]})
        t += dur
        parts.append(silence(pause))
        t += pause
    if total and total > t:
        parts.append(silence(total - t))
        t = total
    cat = os.path.join(d, name + "_16k.wav")
    run(["sox"] + parts + [cat])
    run(["sox", cat, "-r", "8000", "-e", "u-law",
         os.path.join(d, name + "_ulaw.wav")])
    with open(os.path.join(d, name + ".json"), "w") as f:
        json.dump({"duration": round(t, 3), "utterances": sched}, f)
    print(json.dumps({"duration": round(t, 3), "utterances": len(sched)}))


# -- recordings -----------------------------------------------------------

def read_rec(path):
    w = wave.open(path, "rb")
    if w.getnchannels() != 2 or w.getframerate() != RATE:
        raise SystemExit("%s: not 16 kHz stereo" % path)
    data = w.readframes(w.getnframes())
    w.close()
    return audioop.tomono(data, 2, 1, 0), audioop.tomono(data, 2, 0, 1)


def envelope(x):
    return [audioop.rms(x[i:i + WB], 2) for i in range(0, len(x) - WB + 1,
                                                          WB)]


def segments(env, thr, gap_ms, min_ms=0):
    """(first, last) window indexes of runs above thr; gaps < gap merged;
    segments shorter than min_ms dropped (clicks)."""
    segs = []
    gap = gap_ms // WIN
    for i, v in enumerate(env):
        if v > thr:
            if segs and i - segs[-1][1] <= gap:
                segs[-1][1] = i
            else:
                segs.append([i, i])
    return [x for x in segs if (x[1] - x[0] + 1) * WIN >= min_ms]


def sample_at(x, i):
    return struct.unpack_from("<h", x, 2 * i)[0]


def last_sample_above(x, win):
    """Sample index of the last |s| > SAMPLE_THR inside window win."""
    base = win * WB // 2
    for j in range(WB // 2 - 1, -1, -1):
        if abs(sample_at(x, base + j)) > SAMPLE_THR:
            return base + j
    return base + WB // 2 - 1


def first_sample(x, start, end, thr):
    """First sample index in [start, end) with |s| > thr."""
    # skip silent 10 ms windows quickly
    i = start
    while i < end:
        w = x[2 * i:2 * min(end, i + WB // 2)]
        if audioop.max(w, 2) > thr:
            for j in range(len(w) // 2):
                if abs(struct.unpack_from("<h", w, 2 * j)[0]) > thr:
                    return i + j
        i += WB // 2
    return None


def analyse(path):
    """One recording: voice-to-voice, barge-in stops, gaps, utterances."""
    left, right = read_rec(path)
    el, er = envelope(left), envelope(right)
    nwin = min(len(el), len(er))
    csegs = segments(el, THR, CALLER_GAP_MS, 100)
    asegs = segments(er, THR, AGENT_GAP_MS)
    out = {"file": os.path.basename(path), "secs": round(nwin * WIN / 1000.0,
                                                           2),
           "caller_utts": len(csegs), "agent_spurts": len(asegs),
           "v2v_audible_ms": [], "v2v_wire_ms": [], "barge_stop_ms": [],
           "gaps": [], "answered": 0, "unanswered": 0}

    # voice to voice: each agent spurt that starts while the caller is
    # silent, after the caller has spoken: caller's last sample above
    # the threshold before it -> agent's first sample (above the threshold
    # = audible; non-zero = the first reply audio on the wire)
    for a0, _ in asegs:
        prev = [c for c in csegs if c[1] < a0]
        if not prev or any(c[0] <= a0 <= c[1] for c in csegs):
            continue
        cend = last_sample_above(left, prev[-1][1])
        aud = first_sample(right, cend, (a0 + 1) * WB // 2, SAMPLE_THR)
        wire = first_sample(right, cend, (a0 + 1) * WB // 2, 0)
        if aud is None:
            continue
        out["v2v_audible_ms"].append(round((aud - cend) * 1000.0 / RATE, 1))
        out["v2v_wire_ms"].append(round((wire - cend) * 1000.0 / RATE, 1))

    # caller utterances answered: agent audio starting within 8 s of the
    # utterance's end (only utterances that ended 8 s before the call did)
    for c0, c1 in csegs:
        if c1 + 800 > nwin:
            continue
        if any(c1 < a0 <= c1 + 800 for a0, _ in asegs):
            out["answered"] += 1
        else:
            out["unanswered"] += 1

    # barge-in: caller onset (after >= 500 ms of caller silence) while
    # the agent talks (a reply that started >= 300 ms before the onset
    # and is audible in the 300 ms before it) -> first 100 ms window in
    # which the agent is silent
    for c0, _ in csegs:
        if c0 < 30 or max(er[c0 - 30:c0]) <= 1000:
            continue
        if not any(a0 <= c0 - 30 and a1 >= c0 - 5 for a0, a1 in asegs):
            continue
        stop = None
        for i in range(c0, nwin - 10):
            if max(er[i:i + 10]) < THR:
                stop = i
                break
        if stop is not None:
            out["barge_stop_ms"].append((stop - c0) * WIN)

    # the agent stopping after < 600 ms of a reply with no caller speech
    # from 1 s before to 0.2 s after: interrupted by something else
    out["self_stops"] = sum(
        1 for a0, a1 in asegs
        if a1 - a0 < 60 and a0 > 100 and
        not any(c0 <= a1 + 20 and c1 >= a0 - 100 for c0, c1 in csegs))
    # underruns: all-zero 20 ms frames (the playout queue ran dry) with
    # reply audio on both sides within 500 ms, i.e. silence inserted
    # into a reply. Frames are tick-aligned in the recording.
    nfr = len(right) // FRAME_B
    zero = [audioop.max(right[k * FRAME_B:(k + 1) * FRAME_B], 2) == 0
            for k in range(nfr)]
    k = 0
    while k < nfr:
        if not zero[k]:
            k += 1
            continue
        j = k
        while j < nfr and zero[j]:
            j += 1
        if k > 0 and j < nfr and j - k <= GAP_MAX_FRAMES:
            # a barge-in flushes the queue with a 20 ms linear fade to
            # zero; an underrun cuts the audio wherever the queue ran dry
            e = k * FRAME_B // 2
            tail = audioop.max(right[2 * (e - 16):2 * e], 2)
            prev = audioop.max(right[2 * (e - 320):2 * e], 2)
            faded = tail <= max(0.1 * prev, 50)
            out["gaps"].append({"at_s": round(k * 0.02, 2),
                                "ms": (j - k) * 20, "faded": faded})
        k = j
    return out


def pct(vals, p):
    s = sorted(vals)
    return benchlib._pct(s, p) if s else None


def stats(vals):
    if not vals:
        return {"n": 0}
    return {"n": len(vals), "p50": pct(vals, 50), "p95": pct(vals, 95),
            "min": min(vals), "max": max(vals),
            "mean": round(statistics.mean(vals), 1)}


def collect(kind, events, recdir, extra):
    print(json.dumps(collect_dict(kind, events, recdir, extra)))


def recollect(path):
    """Re-run the analysis of every record of RESULTS.jsonl in place (its
    events file and recordings are where pipeline.sh left them)."""
    out = []
    base = os.path.dirname(os.path.abspath(path))
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        d = None
        if r["bench"] == "v2v":
            d = "v2v"
        elif r["bench"] == "cap":
            d = "cap-w%s-%s" % (r["workers"], r["calls"])
        elif r["bench"] == "barge":
            d = "barge-" + (r.get("mode") + (r.get("settings") or "")
                            ).replace(",", "-").replace("=", "-")
        if d:
            keep = dict(r)
            new = collect_dict(r["bench"], os.path.join(base, d,
                                                        "events.jsonl"),
                               os.path.join(base, d, "rec"),
                               ["%s=%s" % (k, json.dumps(v))
                                for k, v in keep.items()
                                if k in ("workers", "calls", "up", "sipp_rc",
                                         "exit", "cpu_pct", "uac_cpu_pct",
                                         "rss_idle_kb", "rss_kb",
                                         "expected_turns", "loop_s",
                                         "hold_s", "perf", "vad", "mode",
                                         "settings",
                                         "barge_in_min_speech_ms",
                                         "vad_hangover_ms")])
            r = new
        out.append(r)
    with open(path, "w") as f:
        for r in out:
            f.write(json.dumps(r) + "\n")


def collect_dict(kind, events, recdir, extra):
    turns, ended, barges, calls = [], [], set(), set()
    if os.path.exists(events):
        with open(events) as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("event") == "turn":
                    turns.append(e)
                elif e.get("event") == "call_ended":
                    ended.append(e)
                elif e.get("event") == "barge_in":
                    barges.add((e.get("call"), e.get("ts")))
                elif e.get("event") == "call_answered":
                    calls.add(e.get("call"))
    recs = [analyse(p) for p in sorted(glob.glob(os.path.join(recdir,
                                                                "*.wav")))]
    r = {"bench": kind, "calls_answered": len(calls),
         "calls_ended": len(ended), "barge_in_events": len(barges),
         "turn_events": len(turns),
         "turns_interrupted": sum(1 for t in turns if t.get("interrupted")),
         "turns_empty": sum(1 for t in turns if not t.get("transcript")),
         "lost_rtp": sum(e.get("lost", 0) for e in ended),
         "concealed": sum(e.get("concealed", 0) for e in ended),
         "recordings": len(recs)}
    for k in ("vad_end_ms", "stt_ms", "brain_ms", "tts_first_audio_ms",
              "voice_to_voice_ms"):
        r["ev_" + k] = stats([t[k] for t in turns
                              if isinstance(t.get(k), int) and t[k] >= 0])
    r["ev_v2v_uninterrupted"] = stats(
        [t["voice_to_voice_ms"] for t in turns
         if not t.get("interrupted") and t.get("voice_to_voice_ms", -1) >= 0])
    allv = lambda key: [v for x in recs for v in x[key]]  # noqa: E731
    r["rec_v2v_audible_ms"] = stats(allv("v2v_audible_ms"))
    r["rec_v2v_wire_ms"] = stats(allv("v2v_wire_ms"))
    r["rec_barge_stop_ms"] = stats(allv("barge_stop_ms"))
    r["zero_runs_faded"] = sum(1 for x in recs for g in x["gaps"]
                               if g["faded"])
    gaps = [g for x in recs for g in x["gaps"] if not g["faded"]]
    r["gaps"] = len(gaps)
    r["gap_ms_total"] = sum(g["ms"] for g in gaps)
    r["calls_with_gaps"] = sum(1 for x in recs
                               if any(not g["faded"] for g in x["gaps"]))
    r["gap_examples"] = [dict(g, file=x["file"]) for x in recs
                         for g in x["gaps"]][:10]
    r["caller_utts"] = sum(x["caller_utts"] for x in recs)
    r["self_stops"] = sum(x["self_stops"] for x in recs)
    r["answered"] = sum(x["answered"] for x in recs)
    r["unanswered"] = sum(x["unanswered"] for x in recs)
    r["transcripts"] = [t.get("transcript", "") for t in turns][:30]
    for kv in extra:
        k, _, v = kv.partition("=")
        try:
            v = json.loads(v)
        except ValueError:
            pass
        r[k] = v
    if kind == "cap":
        r["ok"] = (r["calls_answered"] >= r.get("calls", 0) and
                   r["gaps"] == 0 and r["unanswered"] == 0 and
                   r["turn_events"] >= r.get("expected_turns", 0))
        p95 = r["ev_voice_to_voice_ms"].get("p95")
        r["ok_latency"] = bool(r["ok"] and p95 is not None and
                               p95 <= V2V_P95_MAX)
    return r


# -- gateway delay from a capture ----------------------------------------

def rtp_parse(pl):
    if len(pl) < 12 or pl[0] >> 6 != 2:
        return None
    cc, ext = pl[0] & 15, (pl[0] >> 4) & 1
    pt = pl[1] & 0x7f
    seq, ts, ssrc = struct.unpack("!HII", pl[2:12])
    off = 12 + 4 * cc
    if ext and len(pl) >= off + 4:
        off += 4 + 4 * struct.unpack("!H", pl[off + 2:off + 4])[0]
    return pt, seq, ts, ssrc, pl[off:]


def rxdelay(pcap, rec, mport):
    """Receive side: arrival of caller packet i on lo -> the tick that
    delivered its frame to the pipeline. The recording's left channel
    frame k is what tick k delivered, and agentline sends its own packet
    k in that same tick (right after the delivery), so the capture time
    of agentline's k-th packet is when frame k was delivered. The lag D
    (caller packet i = recording frame i + D) is found by matching the
    per-frame energy of the caller's packets with the recording's left
    channel. Send side: agentline's packet k must carry the recording's
    right frame k (lag 0): whatever the pipeline queued is pulled by the
    next tick and sent in it."""
    mport = int(mport)
    cin, aout = {}, {}
    for t, src, dst, pl in benchlib.read_pcap(pcap):
        p = rtp_parse(pl)
        if not p or p[0] != 0:          # PCMU only
            continue
        pt, seq, ts, ssrc, payload = p
        if src[1] == mport:
            cin[seq] = (t, payload)
        elif dst[1] == mport:
            aout[seq] = (t, payload)

    def ordered(d):
        # unwrap 16-bit sequence numbers in arrival order
        items = sorted(d.items(), key=lambda kv: kv[1][0])
        out, base, prev = {}, 0, None
        for seq, v in items:
            if prev is not None and seq < prev and prev - seq > 30000:
                base += 65536
            prev = seq
            out[base + seq] = v
        s0 = min(out)
        return [out.get(s0 + i) for i in range(max(out) - s0 + 1)]

    if not cin or not aout:
        print(json.dumps({"error": "no RTP in capture"}))
        return
    ci, ao = ordered(cin), ordered(aout)
    left, right = read_rec(rec)

    def frame_rms(x):
        return [audioop.rms(x[k * FRAME_B:(k + 1) * FRAME_B], 2)
                for k in range(len(x) // FRAME_B)]

    lr, rr = frame_rms(left), frame_rms(right)
    crms = [audioop.rms(audioop.ulaw2lin(p[1], 2), 2) if p else None
            for p in ci]
    arms = [audioop.rms(audioop.ulaw2lin(p[1], 2), 2) if p else None
            for p in ao]

    def best_lag(a, b, lags):
        import math
        best = None
        for d in lags:
            n = s = 0
            for i, v in enumerate(a):
                j = i + d
                if v is None or j < 0 or j >= len(b):
                    continue
                if v < 50 and b[j] < 50:
                    continue
                s += abs(math.log(v + 10) - math.log(b[j] + 10))
                n += 1
            if n > 50 and (best is None or s / n < best[1]):
                best = (d, s / n, n)
        return best

    rx = best_lag(crms, lr, range(0, 40))
    tx = best_lag(rr, arms, range(-5, 6))
    res = {"caller_packets": sum(1 for p in ci if p),
           "agent_packets": sum(1 for p in ao if p)}
    if rx:
        d = rx[0]
        delays = [(ao[i + d][0] - ci[i][0]) * 1000.0
                  for i in range(len(ci))
                  if ci[i] and i + d < len(ao) and ao[i + d]]
        res.update(rx_lag_frames=d, rx_match=round(rx[1], 3),
                   rx_delay_ms=stats([round(x, 2) for x in delays]))
    if tx:
        res.update(tx_lag_frames=tx[0], tx_match=round(tx[1], 3))
    # agentline's own sending pace (tick regularity) for the send side
    ivs = [(ao[i + 1][0] - ao[i][0]) * 1000.0 for i in range(len(ao) - 1)
           if ao[i] and ao[i + 1]]
    res["tx_interval_dev_ms"] = stats([round(abs(x - 20.0), 3) for x in ivs])
    print(json.dumps(res))


# -- summary ---------------------------------------------------------------

ANCHOR = {"asr": 450, "llm": 356, "tts": 630, "total": 1436}


def f(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def sp(s, nd=0):
    if not s or not s.get("n"):
        return "-"
    return "%s / %s" % (f(float(s["p50"]), nd), f(float(s["p95"]), nd))


def table(path):
    recs = [json.loads(l) for l in open(path) if l.strip()]
    P = benchlib._print_table
    v2v = [r for r in recs if r["bench"] == "v2v"]
    rxd = [r for r in recs if r["bench"] == "rxdelay"]
    if v2v:
        r = v2v[0]
        hang = r.get("vad_hangover_ms", 700)
        rows = [
            ["v2v on the recording, first audible sample (|s|>%d)"
             % SAMPLE_THR, sp(r["rec_v2v_audible_ms"]),
             f(r["rec_v2v_audible_ms"].get("n"))],
            ["v2v on the recording, first non-zero sample (on the wire)",
             sp(r["rec_v2v_wire_ms"]), f(r["rec_v2v_wire_ms"].get("n"))],
            ["v2v from turn events (voice_to_voice_ms)",
             sp(r["ev_voice_to_voice_ms"]),
             f(r["ev_voice_to_voice_ms"].get("n"))],
            ["  vad_end_ms (hangover)", sp(r["ev_vad_end_ms"]),
             f(r["ev_vad_end_ms"].get("n"))],
            ["  stt_ms", sp(r["ev_stt_ms"]), f(r["ev_stt_ms"].get("n"))],
            ["  brain_ms (parrot)", sp(r["ev_brain_ms"]),
             f(r["ev_brain_ms"].get("n"))],
            ["  tts_first_audio_ms", sp(r["ev_tts_first_audio_ms"]),
             f(r["ev_tts_first_audio_ms"].get("n"))],
        ]
        rx = rxd[0].get("rx_delay_ms", {}) if rxd else {}
        w = r["rec_v2v_wire_ms"]
        if rx.get("n") and w.get("n"):
            rows.insert(2, ["v2v as the caller's side of lo sees it ~ "
                            "receive delay + the wire row",
                            "%.0f / %.0f" % (rx["p50"] + w["p50"],
                                             rx["p95"] + w["p95"]), "-"])
        P("Voice to voice, one call, %s turns (vad %s, stt pocketsphinx, "
          "tts flite, brain parrot, workers %s)"
          % (r["turn_events"], r.get("vad"), r.get("workers")),
          ["measure", "p50 / p95 ms", "n"], rows)
        print("  turn events %d, empty transcripts %d, interrupted %d, "
              "underrun gaps %d, caller utterances %d (answered %d)"
              % (r["turn_events"], r["turns_empty"], r["turns_interrupted"],
                 r["gaps"], r["caller_utts"], r["answered"]))
        e = lambda k: r["ev_" + k].get("p50")  # noqa: E731
        ours = [e("stt_ms"), e("brain_ms"), e("tts_first_audio_ms")]
        rows = [["ASR / STT", "450", f(ours[0]), _rat(ours[0], 450)],
                ["LLM / brain", "356", f(ours[1]),
                 "- (parrot: no LLM)"],
                ["TTS first audio", "630", f(ours[2]),
                 _rat(ours[2], 630)],
                ["sum of the three", "1436",
                 f(sum(x or 0 for x in ours)),
                 _rat(sum(x or 0 for x in ours), 1436)],
                ["sum without LLM", "1080",
                 f((ours[0] or 0) + (ours[2] or 0)),
                 _rat((ours[0] or 0) + (ours[2] or 0), 1080)],
                ["v2v incl. hangover (events p50)", "-",
                 f(e("voice_to_voice_ms")), "-"]]
        P("Against the anchor turn (1,436 ms = ASR 450 + LLM 356 + TTS 630, "
          "a comparable local gateway); ours = p50 of the turn events",
          ["stage", "anchor ms", "ours ms", "ours / anchor"], rows)
    if rxd:
        r = rxd[0]
        d = r.get("rx_delay_ms", {})
        P("Gateway-added latency per direction (one call, from a capture "
          "on lo and the recording)",
          ["direction", "how", "p50 / p95 ms", "min..max ms"],
          [["receive", "caller packet on lo -> tick that delivered its "
            "frame (lag %s frames)" % r.get("rx_lag_frames"),
            sp(d, 1), "%s..%s" % (f(d.get("min"), 1), f(d.get("max"), 1))],
           ["send", "recording right frame k = agentline packet k "
            "(lag %s frames); queue -> tick wait 0..20 ms"
            % r.get("tx_lag_frames"),
            "<= 20 (tick)", "tick dev p95 %s" %
            f(r.get("tx_interval_dev_ms", {}).get("p95"), 2)]])
    barge = [r for r in recs if r["bench"] == "barge"]
    if barge:
        rows = []
        for r in barge:
            s = r["rec_barge_stop_ms"]
            rows.append([r.get("mode") + (r.get("settings") or ""),
                         str(r.get("barge_in_min_speech_ms")),
                         f(s.get("n")), str(r["barge_in_events"]),
                         sp(s), "%s..%s" % (f(s.get("min")), f(s.get("max"))),
                         str(r["turn_events"]), str(r["turns_empty"]),
                         str(r.get("self_stops", "-"))])
        P("Barge-in: caller speech onset -> agent audio silent (recording, "
          "10 ms windows)",
          ["mode", "min_speech ms", "barge-ins", "barge_in events",
           "p50 / p95 ms", "min..max ms", "turns", "empty turns",
           "agent stops w/o caller"], rows)
    cap = [r for r in recs if r["bench"] == "cap"]
    if cap:
        rows = []
        for r in cap:
            n = r["calls"]
            rows.append([str(r["workers"]), str(n), str(r["calls_answered"]),
                         f(r["cpu_pct"], 1), f(r["cpu_pct"] / max(n, 1), 1),
                         f(r.get("uac_cpu_pct"), 1),
                         f((r["rss_kb"] - r["rss_idle_kb"]) / 1024.0 /
                           max(n, 1), 1),
                         "%d/%d" % (r["answered"], r["answered"] +
                                    r["unanswered"]),
                         "%d/%d" % (r["turn_events"], r["expected_turns"]),
                         "%d (%d calls)" % (r["gaps"], r["calls_with_gaps"]),
                         "%d/%d" % (r.get("zero_runs_faded", 0),
                                    r["barge_in_events"]),
                         sp(r["ev_voice_to_voice_ms"]),
                         sp(r["rec_v2v_audible_ms"]),
                         sp(r["ev_stt_ms"]),
                         "ok" if r["ok"] else "FAIL",
                         "ok" if r.get("ok_latency") else "FAIL"])
        P("Capacity: concurrent app=agent calls, each caller talking "
          "(loop of %s s)" % cap[0].get("loop_s"),
          ["workers", "calls", "answered", "CPU%", "CPU%/call", "sipp CPU%",
           "MB/call",
           "utts answered", "turns/expected", "underrun gaps",
           "faded/barge-ins",
           "v2v ev p50/p95", "v2v rec p50/p95", "stt p50/p95",
           "no loss/gaps", "+ v2v p95<=%d" % V2V_P95_MAX],
          rows)
    targets = []
    if v2v:
        r = v2v[0]
        hang = r.get("vad_hangover_ms", 700)
        p50 = r["rec_v2v_audible_ms"].get("p50")
        targets.append(("v2v p50 <= hangover (%d) + 150 ms" % hang,
                        "%s ms (recording, audible); events %s ms" %
                        (f(p50), f(r["ev_voice_to_voice_ms"].get("p50"))),
                        p50 is not None and p50 <= hang + 150))
    full = [r for r in barge if r.get("mode") == "full"]
    if full:
        p95 = full[0]["rec_barge_stop_ms"].get("p95")
        targets.append(("barge-in stop p95 <= 150 ms (full)",
                        "%s ms" % f(p95), p95 is not None and p95 <= 150))
    if cap:
        for w in sorted(set(r["workers"] for r in cap)):
            best = max([r["calls"] for r in cap if r["workers"] == w and
                        r["ok"]] or [0])
            bl = max([r["calls"] for r in cap if r["workers"] == w and
                      r.get("ok_latency")] or [0])
            targets.append((">= 20 concurrent offline-pipeline calls "
                            "(workers %s)" % w,
                            "%d without loss/gaps; %d also with v2v p95 "
                            "<= %d ms" % (best, bl, V2V_P95_MAX),
                            bl >= 20))
    if targets:
        P("Targets", ["target", "measured", "met"],
          [[t, m, "yes" if ok else "NO"] for t, m, ok in targets])


def _rat(a, b):
    try:
        return "%.2f" % (float(a) / b)
    except (TypeError, ValueError, ZeroDivisionError):
        return "-"


def main(argv):
    if len(argv) >= 8 and argv[1] == "caller":
        caller(argv[2], argv[3], argv[4], float(argv[5]), float(argv[6]),
               int(argv[7]), float(argv[8]) if len(argv) > 8 else None)
    elif len(argv) >= 5 and argv[1] == "collect":
        collect(argv[2], argv[3], argv[4], argv[5:])
    elif len(argv) == 5 and argv[1] == "rxdelay":
        rxdelay(argv[2], argv[3], argv[4])
    elif len(argv) == 3 and argv[1] == "recollect":
        recollect(argv[2])
    elif len(argv) == 3 and argv[1] == "table":
        table(argv[2])
    elif len(argv) == 3 and argv[1] == "analyse":
        print(json.dumps(analyse(argv[2])))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
