#!/usr/bin/python3
"""RFC 4733 DTMF: SIPp plays the shipped telephone-event pcaps 1 5 9 # * 0
(payload type 101) during an answered call; agentline must report exactly
those digits, in order, with source rfc4733."""
import harness


def body(t):
    al = t.agentline(app="echo", codecs="PCMU,PCMA",
                     dtmf_event_digits="true")
    r = t.sipp("uac_dtmf_rfc4733.xml", al.sip_udp, calls=1, timeout=40)
    t.check(r.ok and r.successful == 1, "SIPp DTMF call succeeded", r)
    al.wait_events("call_ended", 1, timeout=8)
    dtmf = al.events_of("dtmf")
    digits = "".join(str(e.get("digit")) for e in dtmf)
    t.check(digits == "159#*0", "digits 159#*0 reported once each (got %r)"
            % digits, dtmf)
    t.check(dtmf and all(e.get("source") == "rfc4733" for e in dtmf),
            "all digits have source rfc4733", dtmf)


harness.Test("sipp_dtmf_rfc4733").run(body)
