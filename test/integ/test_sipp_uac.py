#!/usr/bin/python3
"""agentline as caller (`agentline call`): answered by SIPp's built-in UAS and
by a UAS that streams audio; busy (486) gives outcome busy; a UAS that only
rings, with ring_timeout_secs=2, gives no_answer (and is CANCELled); a UAS
with early media (183 + SDP) is heard before it answers."""
import json
import subprocess
import time

import harness


def agent_call(t, uri, sets, duration=None, timeout=40):
    argv = [t.agentline_bin, "call", uri]
    lo, hi = harness.free_port_range(20)
    base = {"sip_listen": "udp:127.0.0.1:%d" % harness.free_port(),
            "rtp_port_min": lo, "rtp_port_max": hi}
    base.update(sets)
    for k, v in base.items():
        argv += ["--set", "%s=%s" % (k, v)]
    if duration is not None:
        argv += ["--duration", str(duration)]
    start = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       cwd=t.dir)
    took = time.monotonic() - start
    out = None
    for line in p.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out = json.loads(line)
            except ValueError:
                pass
    t.note("agentline call %s -> rc %d %s (%.1fs)" % (uri, p.returncode,
                                                       p.stdout.strip(), took))
    return p, out, took


def body(t):
    t.tone_ulaw(1000, 10)
    # 1. built-in UAS
    uas = t.sipp("sn:uas", None, calls=1, timeout=30, name="sipp_uas_builtin",
                 background=True)
    time.sleep(0.5)
    p, out, _ = agent_call(t, "sip:test@127.0.0.1:%d" % uas.sipp_port,
                           {"app": "echo"}, duration=2)
    t.check(p.returncode == 0 and out and out.get("outcome") == "answered"
            and out.get("sip_code") == 200,
            "built-in UAS: outcome answered, exit 0", p.stdout + p.stderr[-3000:])
    r = t.sipp_result(uas, 20)
    t.check(r.ok and r.successful == 1, "SIPp UAS: call completed (got BYE)", r)

    # 2. UAS that streams audio; agentline plays a tone; events counted
    uas = t.sipp("uas_answer.xml", None, calls=1, timeout=30,
                 name="sipp_uas_answer", background=True)
    time.sleep(0.5)
    ev = t.dir + "/call_events.jsonl"
    p, out, _ = agent_call(t, "sip:test@127.0.0.1:%d" % uas.sipp_port,
                           {"app": "tone:440", "events_file": ev}, duration=2)
    t.check(p.returncode == 0 and out and out.get("outcome") == "answered",
            "streaming UAS: answered", p.stdout + p.stderr[-3000:])
    r = t.sipp_result(uas, 20)
    t.check(r.ok and r.successful == 1,
            "streaming UAS: offer had PCMU, BYE received", r)
    evs = [json.loads(l) for l in open(ev) if l.strip()] if p.returncode == 0 \
        else []
    ended = [e for e in evs if e.get("event") == "call_ended"]
    t.check(ended and int(ended[0].get("rtp_rx", 0)) >= 50
            and int(ended[0].get("rtp_tx", 0)) >= 50,
            "outbound call: RTP both ways (>= 50 packets each)", evs)

    # 3. busy
    uas = t.sipp("uas_busy.xml", None, calls=1, timeout=20,
                 name="sipp_uas_busy", background=True)
    time.sleep(0.5)
    p, out, took = agent_call(t, "sip:test@127.0.0.1:%d" % uas.sipp_port, {})
    t.check(took <= 5, "exits promptly once the call is refused (%.1fs; "
            "a finished call must not wait drain_secs)" % took)
    t.check(p.returncode == 1 and out and out.get("outcome") == "busy"
            and out.get("sip_code") == 486,
            "486 UAS: outcome busy, sip_code 486, exit 1",
            p.stdout + p.stderr[-3000:])
    r = t.sipp_result(uas, 20)
    t.check(r.ok and r.successful == 1, "486 UAS: got the ACK", r)

    # 4. no answer
    uas = t.sipp("uas_ring.xml", None, calls=1, timeout=30,
                 name="sipp_uas_ring", background=True)
    time.sleep(0.5)
    p, out, took = agent_call(t, "sip:test@127.0.0.1:%d" % uas.sipp_port,
                              {"ring_timeout_secs": 2})
    t.check(p.returncode == 1 and out and out.get("outcome") == "no_answer",
            "ringing UAS: outcome no_answer, exit 1",
            p.stdout + p.stderr[-3000:])
    t.check(1.5 <= took <= 10, "gave up after ~2 s and exited (%.1fs)" % took)
    r = t.sipp_result(uas, 20)
    t.check(r.ok and r.successful == 1,
            "ringing UAS: got CANCEL, answered 487, got ACK", r)

    # 5. early media: 183 with SDP and audio before the 200
    uas = t.sipp("uas_early.xml", None, calls=1, timeout=30,
                 name="sipp_uas_early", background=True)
    time.sleep(0.5)
    ev = t.dir + "/early_events.jsonl"
    p, out, _ = agent_call(t, "sip:test@127.0.0.1:%d" % uas.sipp_port,
                           {"app": "echo", "events_file": ev}, duration=2)
    t.check(p.returncode == 0 and out and out.get("outcome") == "answered",
            "early-media UAS: answered", p.stdout + p.stderr[-3000:])
    r = t.sipp_result(uas, 20)
    t.check(r.ok and r.successful == 1, "early-media UAS: BYE received", r)
    evs = [json.loads(l) for l in open(ev) if l.strip()] if out else []
    kinds = [e.get("event") for e in evs]
    t.check("early_media" in kinds and "call_answered" in kinds and
            kinds.index("early_media") < kinds.index("call_answered"),
            "early media started before the answer", kinds)
    ended = [e for e in evs if e.get("event") == "call_ended"]
    # 1.5 s early + 2 s answered = ~175 packets; >= 140 proves the early
    # part was received
    t.check(ended and int(ended[0].get("rtp_rx", 0)) >= 140,
            "RTP received during early media too", ended)


harness.Test("sipp_uac").run(body)
