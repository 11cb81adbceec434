#!/usr/bin/python3
"""OPTIONS out of dialog gets 200 over UDP and TCP."""
import harness


def body(t):
    al = t.agentline()
    for tr in ("u1", "t1"):
        r = t.sipp("uac_options.xml", al.sip_udp, calls=3, rate=10,
                   transport=tr, timeout=20, name="sipp_options_" + tr)
        t.check(r.ok and r.successful == 3, "OPTIONS over %s: 3 x 200" % tr, r)
    t.check(al.alive(), "agentline still running")


harness.Test("sipp_options").run(body)
