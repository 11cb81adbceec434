#!/usr/bin/python3
"""A real SIPp call (RFC 4733 DTMF 159#*0) while a WebSocket client records
/api/events: call_incoming, call_answered, six dtmf events with the digits
masked, call_ended, in that order and for one call id; the call is listed
live by GET /api/calls while it runs; /metrics counters move with it (calls
by direction/reason, answered, DTMF, active back to 0); ping/pong works."""
import os
import sys
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from wsclient import Api, WsClient  # noqa: E402
from test_api_contract import parse_prometheus  # noqa: E402


def metric(api, name, labels=""):
    st, text, h = api.req("GET", "/metrics")
    samples, typed = parse_prometheus(text)
    return samples.get((name, labels), 0.0)


def body(t):
    port = harness.free_port(udp=False)
    token = "events-test-token-0123456789"
    rec = os.path.join(t.dir, "rec")
    os.makedirs(rec)
    al = t.agentline(app="echo", codecs="PCMU,PCMA", record_dir=rec,
                     control_listen="127.0.0.1:%d" % port,
                     control_token=token, dtmf_event_digits="true")
    api = Api("127.0.0.1", port, token)
    inbound = 'direction="inbound",reason="remote_bye"'
    before = metric(api, "agentline_calls_total", inbound)
    t.check(before == 0, "no inbound calls counted yet")

    ws = WsClient("127.0.0.1", port, "/api/events", token=token)
    ws.ping(b"x")
    f = ws.recv_frame(3)
    t.check(f is not None and f[0] == 0xA and f[1] == b"x",
            "ping answered with pong", f)

    sipp = t.sipp("uac_dtmf_rfc4733.xml", al.sip_udp, calls=1, timeout=40,
                  background=True)
    first, seen = ws.recv_until(lambda m: m.get("event") == "call_answered",
                                10)
    t.check(first is not None, "call_answered arrived on the socket", seen)
    callid = first and first.get("call")
    st, v, h = api.req("GET", "/api/calls")
    live = [c for c in v.get("live", []) if c.get("id") == callid]
    t.check(len(live) == 1 and live[0]["direction"] == "inbound" and
            live[0]["state"] == "answered" and live[0]["codec"] in
            ("PCMU", "PCMA"), "GET /api/calls lists the call live", v)
    t.check(metric(api, "agentline_calls_active") == 1,
            "agentline_calls_active 1 during the call")
    end, more = ws.recv_until(lambda m: m.get("event") == "call_ended", 40)
    seen += more
    r = t.sipp_result(sipp)
    t.check(r.ok and r.successful == 1, "SIPp call succeeded", r)
    names = [m.get("event") for m in seen if m.get("call") == callid]
    t.check(names[:2] == ["call_incoming", "call_answered"] and
            names[-1] == "call_ended", "sequence incoming, answered, ..., "
            "ended for one call id", names)
    dtmf = [m for m in seen if m.get("event") == "dtmf"]
    t.check(len(dtmf) == 6 and all(m.get("digit") == "*" for m in dtmf),
            "6 dtmf events, digits masked", dtmf)
    t.check(all(float(m.get("ts", 0)) > 1e9 for m in seen),
            "every event has a timestamp")
    t.check(end is not None and end.get("reason") == "remote_bye",
            "call_ended reason remote_bye", end)
    # the events file (not masked) has the digits: the socket masked them
    digits = "".join(e.get("digit", "") for e in al.events_of("dtmf"))
    t.check(digits == "159#*0", "events file has the digits (%r)" % digits)

    t.check(harness.wait_for(lambda: metric(
        api, "agentline_calls_total", inbound) == before + 1, 5),
        "agentline_calls_total{inbound,remote_bye} moved by 1")
    t.check(metric(api, "agentline_calls_answered_total",
                   'direction="inbound"') == 1, "answered counter 1")
    t.check(metric(api, "agentline_dtmf_total") == 6, "dtmf counter 6")
    t.check(metric(api, "agentline_calls_active") == 0,
            "agentline_calls_active back to 0")
    st, v, h = api.req("GET", "/api/calls/" + str(callid))
    t.check(st == 404 or (st == 200 and v.get("live") is None),
            "ended call no longer live (%d)" % st, v)
    # the recording, served to the control centre's player
    def recording():
        st, v, h = api.req("GET", "/api/calls/%s" % callid)
        r = v.get("record") if st == 200 else None
        return r if r and r.get("recording") else None
    t.check(harness.wait_for(recording, 10), "the stored call names its "
            "recording")
    st, body, h = api.req("GET", "/api/calls/%s/recording" % callid)
    size = os.path.getsize(recording()["recording"]) if recording() else 0
    t.check(st in (200, 206) and h.get("content-type") == "audio/wav" and
            body.startswith("RIFF"), "GET .../recording: the WAV (%d)" % st,
            h)
    st, body, h = api.req("GET", "/api/calls/%s/recording" % callid,
                          headers={"Range": "bytes=0-99"})
    t.check(st == 206 and h.get("content-length") == "100" and
            h.get("content-range") == "bytes 0-99/%d" % size,
            "Range bytes=0-99: 206, 100 bytes", h)
    st, body, h = api.req("GET", "/api/calls/%s/recording" % callid,
                          token=None)
    t.check(st == 401, "recording without a token: 401")
    st, body, h = api.req("GET", "/api/calls/nope/recording")
    t.check(st == 404, "recording of an unknown call: 404")
    st, body, h = api.req("GET", "/api/messages/4242/audio")
    t.check(st == 404, "audio of an unknown message: 404")
    ws.close()
    t.check(al.alive(), "agentline still running")


harness.Test("api_events").run(body)
