#!/usr/bin/python3
"""SIP INFO DTMF: application/dtmf-relay (Signal=5) and application/dtmf (7)
each get 200 and appear as dtmf events with source info."""
import harness


def body(t):
    al = t.agentline(app="echo", dtmf_event_digits="true")
    r = t.sipp("uac_dtmf_info.xml", al.sip_udp, calls=1, timeout=30)
    t.check(r.ok and r.successful == 1, "SIPp INFO call succeeded (200 to "
            "both INFOs)", r)
    al.wait_events("call_ended", 1, timeout=8)
    dtmf = al.events_of("dtmf")
    digits = "".join(str(e.get("digit")) for e in dtmf)
    t.check(digits == "57", "digits 5 then 7 (got %r)" % digits, dtmf)
    t.check(dtmf and all(e.get("source") == "info" for e in dtmf),
            "source info", dtmf)


harness.Test("sipp_dtmf_info").run(body)
