#!/usr/bin/python3
"""CANCEL: (1) with answer_delay_ms=3000 agentline rings, SIPp's CANCEL must
win: 200 to CANCEL, 487 to INVITE, call_ended reason cancel and no answer;
(2) with prompt answering either order is legal (487, or 200 + BYE), the
call must end cleanly either way and agentline keep running."""
import harness


def body(t):
    al = t.agentline(app="echo", answer_delay_ms=3000)
    r = t.sipp("uac_cancel.xml", al.sip_udp, calls=3, rate=5, timeout=30,
               name="sipp_cancel_ringing")
    t.check(r.ok and r.successful == 3, "ringing: 3 cancelled calls succeeded",
            r)
    t.check(r.logs.count("PATH=cancelled") == 3,
            "ringing: SIPp saw 487 for all 3 (PATH=cancelled)", r.logs)
    ended = al.wait_events("call_ended", 3, timeout=8)
    t.check(len(ended) == 3 and all(e.get("reason") == "cancel" for e in ended),
            "ringing: 3 call_ended with reason cancel", al.events())
    t.check(not al.events_of("call_answered"),
            "ringing: no call was answered", al.events_of("call_answered"))
    al.stop()

    al2 = t.agentline(name="agentline_prompt", app="echo")
    r = t.sipp("uac_cancel.xml", al2.sip_udp, calls=10, rate=20, limit=5,
               timeout=30, name="sipp_cancel_race")
    t.check(r.ok and r.successful == 10,
            "race: 10 of 10 calls ended cleanly (487 or 200+BYE)", r)
    paths = (r.logs.count("PATH=cancelled"), r.logs.count("PATH=answered"))
    t.note("race outcome: %d cancelled, %d answered first" % paths)
    ended = al2.wait_events("call_ended", 10, timeout=8)
    t.check(len(ended) == 10 and all(e.get("reason") in ("cancel", "remote_bye")
                                     for e in ended),
            "race: 10 call_ended, each cancel or remote_bye",
            [e.get("reason") for e in ended])
    t.check(al2.alive(), "agentline still running")


harness.Test("sipp_cancel").run(body)
