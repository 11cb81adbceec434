#!/usr/bin/python3
"""Basic calls from SIPp: INVITE with PCMU/PCMA, answered, u-law tone streamed
to agentline (app=echo) for 2 s, caller hangs up.  Checks SIPp's success
count and agentline's events: answered with a G.711 codec, ended by
remote_bye, RTP counted both ways."""
import harness


def body(t):
    t.tone_ulaw(1000, 10)
    al = t.agentline(app="echo", codecs="G722,PCMU,PCMA")
    r = t.sipp("uac_basic.xml", al.sip_udp, calls=3, rate=5, duration_ms=2000,
               timeout=40)
    t.check(r.ok and r.successful == 3 and r.failed == 0,
            "SIPp: 3 of 3 calls succeeded (rc %s, ok %s, failed %s)"
            % (r.rc, r.successful, r.failed), r)
    ended = al.wait_events("call_ended", 3, timeout=10)
    answered = al.events_of("call_answered")
    t.check(len(al.events_of("call_incoming")) == 3,
            "3 call_incoming events", al.events())
    t.check(len(answered) == 3 and all(e.get("codec") in ("PCMU", "PCMA")
                                       for e in answered),
            "3 call_answered with a G.711 codec (SIPp offered no G.722)",
            answered)
    t.check(len(ended) == 3 and all(e.get("reason") == "remote_bye"
                                    for e in ended),
            "3 call_ended with reason remote_bye", ended)
    # 2 s of 20 ms packets = 100; allow for start-up and pacing slack
    t.check(all(int(e.get("rtp_rx", 0)) >= 60 for e in ended),
            "agentline received >= 60 RTP packets per call",
            [(e.get("rtp_rx"), e.get("rtp_tx")) for e in ended])
    t.check(all(int(e.get("rtp_tx", 0)) >= 60 for e in ended),
            "agentline sent >= 60 RTP packets per call (echo)",
            [(e.get("rtp_rx"), e.get("rtp_tx")) for e in ended])
    # TCP too
    r = t.sipp("uac_basic.xml", al.sip_udp, calls=1, duration_ms=1000,
               transport="t1", timeout=30, name="sipp_basic_tcp")
    t.check(r.ok and r.successful == 1, "SIPp over TCP: 1 call succeeded", r)
    t.check(al.alive(), "agentline still running")
    rc = al.stop()
    t.check(rc == 0, "agentline exits 0 on SIGTERM (got %s)" % rc)


harness.Test("sipp_basic").run(body)
