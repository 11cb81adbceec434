#!/usr/bin/python3
"""BYE from each side: the caller hangs up (reason remote_bye); agentline
plays a 1.5 s WAV (app=playback) and hangs up itself (reason local_bye,
SIPp receives the BYE and answers 200)."""
import os
import time

import harness


def body(t):
    t.tone_ulaw(1000, 10)
    wav = harness.make_tone_wav(os.path.join(t.dir, "short.wav"), 440, 1.5)
    al = t.agentline(app="echo")
    r = t.sipp("uac_basic.xml", al.sip_udp, calls=1, duration_ms=1000,
               timeout=30, name="sipp_caller_bye")
    t.check(r.ok and r.successful == 1, "caller BYE: call succeeded", r)
    ended = al.wait_events("call_ended", 1, timeout=8)
    t.check(ended and ended[0].get("reason") == "remote_bye",
            "caller BYE: reason remote_bye", ended)
    al.stop()

    al2 = t.agentline(name="agentline_playback", app="playback:" + wav)
    start = time.monotonic()
    r = t.sipp("uac_wait_bye.xml", al2.sip_udp, calls=1, timeout=30,
               name="sipp_agent_bye")
    took = time.monotonic() - start
    t.check(r.ok and r.successful == 1,
            "agent BYE: SIPp received BYE and answered 200", r)
    t.check(1.0 <= took <= 10, "agent hung up after the 1.5 s WAV (%.1fs)"
            % took)
    ended = al2.wait_events("call_ended", 1, timeout=8)
    t.check(ended and ended[0].get("reason") == "local_bye",
            "agent BYE: reason local_bye", ended)
    t.check(ended and int(ended[0].get("rtp_tx", 0)) >= 50,
            "agent BYE: sent >= 50 RTP packets of the WAV", ended)


harness.Test("sipp_bye_both").run(body)
