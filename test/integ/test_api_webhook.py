#!/usr/bin/python3
"""Webhooks on a real SIPp call: two receivers (event_webhook_url and
event_webhook_url_2).  The first answers its first request with 500 (the
delivery is retried with backoff and arrives once, same delivery id); the
second stalls every request for 12 s (attempts time out after 10 s; the call
is not delayed at all).  Each body is signed: X-Agentline-Signature =
sha256 HMAC of "timestamp.body" with event_webhook_secret; call_incoming,
call_answered and call_ended (duration, direction) arrive; DTMF never."""
import hashlib
import hmac
import json
import os
import sys
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from fake_webhook import FakeWebhook  # noqa: E402
from wsclient import Api  # noqa: E402

SECRET = "webhook-secret-0123456789"


def verify(hdrs, body):
    ts = hdrs.get("x-agentline-timestamp", "")
    want = hmac.new(SECRET.encode(), ts.encode() + b"." + body,
                    hashlib.sha256).hexdigest()
    return hdrs.get("x-agentline-signature") == "sha256=" + want


def body(t):
    hook = FakeWebhook(fail_first=1)
    slow = FakeWebhook(delay=12, path="")
    t.tone_ulaw(1000, 10)
    al = t.agentline(app="echo", codecs="PCMU",
                     event_webhook_url=hook.url,
                     event_webhook_url_2=slow.url.rstrip("/"),
                     event_webhook_secret=SECRET,
                     control_token="webhook-test-token-0123456789")
    t0 = time.monotonic()
    r = t.sipp("uac_dtmf_rfc4733.xml", al.sip_udp, calls=1, timeout=40)
    took = time.monotonic() - t0
    t.check(r.ok and r.successful == 1, "SIPp call succeeded", r)
    t.check(took < 15, "the call was not held up by the stalled webhook "
            "(%.1f s)" % took)

    def got():
        evs = [json.loads(b) for b in hook.events()]
        return any(e.get("event") == "call_ended" for e in evs)
    t.check(harness.wait_for(got, 15), "call_ended delivered")
    reqs = [(h, b) for h, b, _, _ in hook.requests]
    t.check(hook.answers and hook.answers[0] == 500,
            "the first request was answered 500", hook.answers)
    t.check(all(verify(h, b) for h, b in reqs),
            "every request carries a valid HMAC-SHA256 signature",
            [h for h, b in reqs])
    evs = [json.loads(b) for h, b in reqs]
    ok = [json.loads(b) for (h, b), code in zip(reqs, hook.answers)
          if code == 200]
    names = [e["event"] for e in ok]
    t.note("delivered: %s" % names)
    for n in ("call_incoming", "call_answered", "call_ended"):
        t.check(names.count(n) == 1, "%s delivered once" % n, names)
    first = evs[0]
    t.check(sum(1 for e in evs if e["delivery"] == first["delivery"]) == 2,
            "the failed delivery was retried with the same delivery id",
            [(e["event"], e["delivery"]) for e in evs])
    t.check(all(e.get("event") != "dtmf" for e in evs),
            "no DTMF events go to webhooks")
    end = [e for e in ok if e["event"] == "call_ended"]
    t.check(end and 1.0 < end[0].get("duration_secs", 0) < 30 and
            end[0].get("direction") == "inbound" and
            end[0]["data"].get("reason") == "remote_bye",
            "call_ended carries duration, direction and the end reason",
            end)
    t.check(all(h.get("x-agentline-event") == e["event"] and
                h.get("content-type") == "application/json"
                for (h, b), e in zip(reqs, evs)), "event header and type")
    t.check(SECRET not in al.log(), "the secret is not logged")
    # the stalled receiver: requests arrive (path / added), time out, retry
    def retried():
        ids = [h.get("x-agentline-delivery") for h, _, _, _ in
               slow.requests]
        return any(ids.count(i) >= 2 for i in ids)
    t.check(harness.wait_for(retried, 25),
            "stalled webhook: the delivery is retried after the 10 s "
            "attempt timeout", [(h.get("x-agentline-delivery"), round(
                ts - t0, 1)) for h, _, ts, _ in slow.requests])
    t.check(slow.requests and slow.requests[0][3] == "/",
            "a URL without a path is posted to /")
    st, text, h = Api("127.0.0.1", al.api_port,
                      "webhook-test-token-0123456789").req("GET", "/metrics")
    t.check('agentline_webhook_deliveries_total{result="sent"} ' in text and
            not 'agentline_webhook_deliveries_total{result="sent"} 0\n'
            in text, "webhook deliveries counted in /metrics",
            [ln for ln in text.splitlines() if "webhook" in ln])
    t.check(al.alive(), "agentline still running")
    hook.stop()
    slow.stop()


harness.Test("api_webhook").run(body)
