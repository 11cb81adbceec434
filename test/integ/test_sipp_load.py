#!/usr/bin/python3
"""Load: 500 calls from SIPp, 100 concurrent, 50 new calls/s, each 2 s with a
u-law tone streamed to agentline (app=echo).  Zero failed calls, every call
answered and ended by the caller with RTP both ways; agentline still alive
and exits 0 afterwards.  Against the ASan build too (label asan)."""
import os

import harness

CALLS = int(os.environ.get("INTEG_LOAD_CALLS", "500"))


def body(t):
    t.tone_ulaw(1000, 10)
    al = t.agentline(app="echo", max_calls=200,
                     rtp_timeout_secs=30)
    r = t.sipp("uac_basic.xml", al.sip_udp, calls=CALLS, rate=50, limit=100,
               duration_ms=2000, timeout=200,
               extra=["-rtp_threadtasks", "40"])
    t.check(r.ok and r.successful == CALLS and r.failed == 0,
            "SIPp: %d of %d calls succeeded, 0 failed (got %s ok, %s failed, "
            "%s retransmissions)" % (CALLS, CALLS, r.successful, r.failed,
                                     r.stat("Retransmissions(C)")), r)
    ended = al.wait_events("call_ended", CALLS, timeout=20)
    t.check(len(ended) == CALLS, "%d call_ended events (got %d)"
            % (CALLS, len(ended)))
    reasons = {}
    for e in ended:
        reasons[e.get("reason")] = reasons.get(e.get("reason"), 0) + 1
    t.check(reasons.get("remote_bye") == CALLS,
            "every call ended by remote_bye (%s)" % reasons)
    low_rx = [e for e in ended if int(e.get("rtp_rx", 0)) < 50]
    low_tx = [e for e in ended if int(e.get("rtp_tx", 0)) < 50]
    t.check(not low_rx, "every call received >= 50 RTP packets (%d below)"
            % len(low_rx), low_rx[:5])
    t.check(not low_tx, "every call sent >= 50 RTP packets (%d below)"
            % len(low_tx), low_tx[:5])
    t.check(al.alive(), "agentline still running")
    rc = al.stop(timeout=30)
    t.check(rc == 0, "agentline exits 0 on SIGTERM after the load (got %s)"
            % rc)


harness.Test("sipp_load").run(body)
