#!/usr/bin/python3
"""max_calls=1: while one call is up, a second INVITE gets 486 Busy Here;
after the first call ends a new call is answered again."""
import harness


def body(t):
    t.tone_ulaw(1000, 10)
    al = t.agentline(app="echo", max_calls=1)
    first = t.sipp("uac_basic.xml", al.sip_udp, calls=1, duration_ms=4000,
                   timeout=30, name="sipp_first", background=True)
    got = al.wait_events("call_answered", 1, timeout=10)
    t.check(got, "first call answered", al.events())
    r = t.sipp("uac_busy.xml", al.sip_udp, calls=1, timeout=20,
               name="sipp_second")
    t.check(r.ok and r.successful == 1, "second call got 486 Busy Here", r)
    rej = al.events_of("call_rejected")
    t.check(rej and int(rej[0].get("code", 0)) == 486,
            "call_rejected event with code 486", al.events())
    r1 = t.sipp_result(first, 30)
    t.check(r1.ok and r1.successful == 1, "first call completed", r1)
    r = t.sipp("uac_basic.xml", al.sip_udp, calls=1, duration_ms=500,
               timeout=20, name="sipp_third")
    t.check(r.ok and r.successful == 1, "after it ended a new call works", r)


harness.Test("sipp_maxcalls").run(body)
