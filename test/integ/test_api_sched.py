#!/usr/bin/python3
"""Scheduled calls: POST /api/calls with "at" (RFC 3339) queues the call
(202); GET /api/calls/scheduled lists it; DELETE cancels another (404 for an
unknown id, 409 twice); the timer places the due call (SIPp's UAS answers),
its outcome is recorded; a call queued before a restart is still placed by
the restarted daemon (same data_dir)."""
import datetime
import os
import sys
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from wsclient import Api  # noqa: E402

TOKEN = "sched-test-token-0123456789"


def rfc3339(secs_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=secs_from_now)
    return t.replace(microsecond=0).isoformat()   # +00:00 offset form


def sched(api):
    st, v, h = api.req("GET", "/api/calls/scheduled")
    return {s["id"]: s for s in v.get("scheduled", [])} if st == 200 else {}


def body(t):
    data = os.path.join(t.dir, "shared.data")
    uas = t.sipp("sn:uas", None, calls=2, timeout=60, name="sipp_uas",
                 background=True)
    time.sleep(0.5)
    target = "sip:test@127.0.0.1:%d" % uas.sipp_port
    al = t.agentline(app="echo", control_token=TOKEN, data_dir=data)
    api = Api("127.0.0.1", al.api_port, TOKEN)

    st, v, h = api.req("POST", "/api/calls", body={
        "number": target, "objective": "Remind about the dentist",
        "at": rfc3339(4)})
    t.check(st == 202 and isinstance(v.get("scheduled"), int),
            "POST with at: 202 scheduled", v)
    sid = v.get("scheduled")
    st, v, h = api.req("POST", "/api/calls", body={"number": target,
                                                   "at": rfc3339(600)})
    later = v.get("scheduled")
    q = sched(api)
    t.check(q.get(sid, {}).get("state") == "queued" and
            q[sid].get("request", {}).get("objective") ==
            "Remind about the dentist", "GET scheduled: queued with the "
            "request", q)
    st, v, h = api.req("DELETE", "/api/calls/scheduled/%d" % later)
    t.check(st == 200, "DELETE cancels a queued call", v)
    st, v, h = api.req("DELETE", "/api/calls/scheduled/%d" % later)
    t.check(st == 409, "cancelling twice: 409", v)
    st, v, h = api.req("DELETE", "/api/calls/scheduled/987654")
    t.check(st == 404, "unknown scheduled id: 404", v)
    t.check(sched(api).get(later, {}).get("state") == "cancelled",
            "cancelled state listed")

    # the timer places it
    def live():
        st, v, h = api.req("GET", "/api/calls")
        ans = [c for c in v.get("live", []) if c.get("state") == "answered"]
        return ans[0] if ans else None
    call = harness.wait_for(live, 15)
    t.check(call is not None and call.get("direction") == "outbound",
            "the scheduled call was placed and answered", call)
    if call:
        api.req("POST", "/api/calls/%s/hangup" % call["id"])
    t.check(harness.wait_for(lambda: sched(api).get(sid, {}).get(
        "outcome") == "answered", 10), "outcome answered recorded",
        sched(api).get(sid))

    # queued across a restart
    st, v, h = api.req("POST", "/api/calls", body={"number": target,
                                                   "at": rfc3339(6)})
    again = v.get("scheduled")
    t.check(st == 202, "another call queued", v)
    al.stop()
    al2 = t.agentline(name="restarted", app="echo", control_token=TOKEN,
                      data_dir=data)
    api2 = Api("127.0.0.1", al2.api_port, TOKEN)
    t.check(sched(api2).get(again, {}).get("state") == "queued",
            "still queued after the restart", sched(api2))
    call = harness.wait_for(lambda: (lambda v: v[0] if v else None)(
        [c for c in api2.req("GET", "/api/calls")[1].get("live", [])
         if c.get("state") == "answered"]), 20)
    t.check(call is not None, "the restarted daemon placed it", call)
    if call:
        api2.req("POST", "/api/calls/%s/hangup" % call["id"])
    t.check(harness.wait_for(lambda: sched(api2).get(again, {}).get(
        "outcome") == "answered", 10), "its outcome recorded",
        sched(api2).get(again))
    r = t.sipp_result(uas, 30)
    t.check(r.successful == 2, "SIPp UAS answered both calls", r)


harness.Test("api_sched").run(body)
