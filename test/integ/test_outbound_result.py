#!/usr/bin/python3
"""outbound_result_url: the result of each outbound task call is POSTed as
JSON (bearer token, the webhooks' retries), judged at a fake receiver
(servers/fake_webhook.py):

 1. a busy callee (SIPp 486): one result, outcome "busy", sip_code 486,
    the callee's number redacted, the objective, started/ended times; the
    receiver answers the first attempt 500 and the same body is retried;
 2. an answered task call whose callee hangs up: outcome "answered";
 3. a call placed without an objective is no task call: nothing is
    posted for it;
 4. the token is sent as "Authorization: Bearer" and never logged."""
import json
import os
import re
import sys
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from fake_webhook import FakeWebhook  # noqa: E402
from wsclient import Api  # noqa: E402

TOKEN = "result-test-token-0123456789"
RESULT_TOKEN = "result-bearer-secret-0123456789"
CALLEE = "+15555550177"

UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="callee">
  <recv request="INVITE" rrs="true">
    <action><ereg regexp=".*" search_in="hdr" header="From:"
      assign_to="remote_from"/></action>
  </recv>
%s
  <Reference variables="remote_from"/>
</scenario>
"""

BUSY = """  <send>
    <![CDATA[
      SIP/2.0 486 Busy Here
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <recv request="ACK"/>
"""

ANSWER = """  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv request="ACK"/>
  <pause milliseconds="1500"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
      To:[$remote_from]
      Call-ID: [call_id]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
"""

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def place(t, al, name, steps, objective):
    path = os.path.join(t.dir, name + ".xml")
    with open(path, "w") as f:
        f.write(UAS % steps)
    uas = t.sipp(path, None, timeout=30, background=True,
                 name="sipp_" + name)
    time.sleep(0.5)
    body = {"number": "sip:%s@127.0.0.1:%d" % (CALLEE, uas.sipp_port)}
    if objective:
        body["objective"] = objective
    st, v, _ = Api("127.0.0.1", al.api_port, TOKEN).req(
        "POST", "/api/calls", body)
    t.check(st == 201 and isinstance(v, dict) and v.get("id"),
            "%s: call placed through the API" % name, (st, v))
    r = t.sipp_result(uas, 45)
    t.check(r.ok, "%s: the callee saw the call as scripted" % name,
            (r.errors or "")[-600:])
    return v.get("id") if isinstance(v, dict) else None


def posts(hook, callid):
    out = []
    for h, b, _, _ in hook.requests:
        try:
            j = json.loads(b)
        except ValueError:
            continue
        if j.get("call_id") == callid:
            out.append((h, b, j))
    return out


def body(t):
    hook = FakeWebhook(fail_first=1)
    al = t.agentline(app="agent", brain="parrot", vad="energy",
                     codecs="PCMU", greeting_outgoing="",
                     silence_reprompt_secs=0, control_token=TOKEN,
                     outbound_result_url=hook.url,
                     outbound_result_token=RESULT_TOKEN)

    # 1. busy; the first attempt is answered 500 and retried
    busy = place(t, al, "busy", BUSY, "ask whether the shop is open")
    t.check(harness.wait_for(lambda: len(posts(hook, busy)) >= 2, 15),
            "busy: the result was retried after the receiver's 500",
            [(j.get("call_id"), j.get("outcome")) for _, _, j in
             posts(hook, busy)])
    p = posts(hook, busy)
    if p:
        h, b, j = p[0]
        t.note("posted: %s" % j)
        t.check(j.get("outcome") == "busy" and j.get("sip_code") == 486,
                "busy: outcome busy, sip_code 486", j)
        t.check(j.get("number") == "\u202677" and
                CALLEE not in b.decode(),
                "busy: the callee's number is redacted to its last two "
                "digits", j.get("number"))
        t.check(j.get("objective") == "ask whether the shop is open" and
                j.get("machine") is False and j.get("summary") is None,
                "busy: objective, no machine, no summary", j)
        t.check(ISO.match(j.get("started") or "") and
                ISO.match(j.get("ended") or "") and
                j["started"] <= j["ended"],
                "busy: started/ended are UTC times", j)
        t.check(h.get("authorization") == "Bearer " + RESULT_TOKEN and
                h.get("content-type") == "application/json" and
                h.get("x-agentline-event") == "outbound_result",
                "busy: bearer token, JSON, event header", h)
        t.check(len(p) == 2 and p[0][1] == p[1][1] and
                hook.answers[:2] == [500, 200],
                "busy: the retry carries the same body",
                [hook.answers, len(p)])

    # 2. answered: outcome answered, after the callee hung up
    ans = place(t, al, "answered", ANSWER, "confirm the delivery time")
    t.check(harness.wait_for(lambda: posts(hook, ans), 10),
            "answered: the result was posted")
    p = posts(hook, ans)
    if p:
        j = p[0][2]
        t.check(j.get("outcome") == "answered" and
                j.get("sip_code") == 200 and
                j.get("objective") == "confirm the delivery time",
                "answered: outcome answered with the objective", j)

    # 3. no objective: not a task call, nothing posted
    plain = place(t, al, "plain", ANSWER, None)
    time.sleep(3)
    t.check(plain and not posts(hook, plain),
            "a call without an objective posts no result",
            posts(hook, plain))
    t.check(len(hook.requests) == 3, "three POSTs in all (busy twice, "
            "answered once)", len(hook.requests))
    t.check(RESULT_TOKEN not in al.log(), "the bearer token is not logged")
    t.check(al.alive(), "agentline still running")
    hook.stop()


harness.Test("outbound_result").run(body)
