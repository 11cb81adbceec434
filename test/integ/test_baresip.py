#!/usr/bin/python3
"""baresip 1.0.0 as a real softphone calling agentline.

For G.722 and PCMU (agentline's `codecs` setting):
- app=playback of a 700 Hz tone WAV: baresip's recording of what it heard
  (sndfile ...-dec.wav) must contain 700 Hz at a sensible level;
- app=echo while baresip's aufile source plays a 1000 Hz tone: the echoed
  audio baresip heard must contain 1000 Hz.
A Goertzel filter on the loudest 0.5 s decides."""
import os

import harness

CASES = [("G722", "g722", 16000), ("PCMU", "pcmu", 8000)]


def run_case(t, codec, bcodec, rate, app, tone_hz, src_hz):
    tag = "%s_%s" % (codec.lower(), app.split(":")[0])
    src = harness.make_tone_wav(os.path.join(t.dir, "src_%s.wav" % tag),
                                src_hz, 6, rate=rate, amplitude=0.5)
    if app == "playback":
        play = harness.make_tone_wav(os.path.join(t.dir, "play_%s.wav" % tag),
                                     tone_hz, 3, rate=rate, amplitude=0.5)
        appset = "playback:" + play
    else:
        appset = "echo"
    al = t.agentline(name="agentline_" + tag, app=appset, codecs=codec)
    b = harness.Baresip(t, "baresip_" + tag,
                        "sip:agent@127.0.0.1:%d" % al.port, 6, src, [bcodec])
    rc = b.wait(25)
    if rc is None:
        b.stop()
    ans = al.events_of("call_answered")
    t.check(ans and ans[0].get("codec") == codec,
            "%s: answered with codec %s" % (tag, codec), al.events())
    recs = b.recordings("dec")
    if not t.check(recs, "%s: baresip recorded what it heard" % tag,
                   b.log()[-3000:]):
        al.stop()
        return
    a = harness.analyse_tone(recs[0], tone_hz)
    t.note("%s: %s rate %d, %.1fs, rms %.3f, %d Hz amp %.3f, best other %.3f"
           % (tag, os.path.basename(recs[0]), a["rate"], a["seconds"],
              a["rms"], tone_hz, a["tone_amp"], a["best_other"]))
    t.check(a["ratio"] > 100, "%s: %d Hz dominates the received audio "
            "(power ratio %.0f)" % (tag, tone_hz, a["ratio"]))
    # source amplitude 0.5: expect it back at roughly that level
    lo = 0.15 if app == "playback" else 0.05
    t.check(lo <= a["tone_amp"] <= 0.8, "%s: tone level %.3f within "
            "[%.2f, 0.8]" % (tag, a["tone_amp"], lo))
    al.stop()


def body(t):
    for codec, bcodec, rate in CASES:
        run_case(t, codec, bcodec, rate, "playback", 700, 1000)
        run_case(t, codec, bcodec, rate, "echo", 1000, 1000)


harness.Test("baresip").run(body)
