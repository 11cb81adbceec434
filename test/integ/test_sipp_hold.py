#!/usr/bin/python3
"""Hold and resume: re-INVITE a=sendonly must be answered recvonly (or
inactive), re-INVITE a=sendrecv must be answered sendrecv (SIPp checks the
answer SDP with regexps); agentline emits hold then resume events."""
import harness


def body(t):
    al = t.agentline(app="echo")
    r = t.sipp("uac_hold.xml", al.sip_udp, calls=1, timeout=30)
    t.check(r.ok and r.successful == 1,
            "SIPp hold/resume call succeeded (answer SDP directions ok)", r)
    al.wait_events("call_ended", 1, timeout=8)
    kinds = [e.get("event") for e in al.events()
             if e.get("event") in ("hold", "resume")]
    t.check(kinds == ["hold", "resume"], "events hold then resume (got %s)"
            % kinds, al.events())
    t.check(al.alive(), "agentline still running")


harness.Test("sipp_hold").run(body)
