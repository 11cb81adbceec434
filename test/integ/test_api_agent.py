#!/usr/bin/python3
"""Agent takeover over /api/agent/ws on a real SIPp call (app=agent, parrot
brain, the caller says four sentences):
 - welcome lists live calls; call.ringing / call.answered arrive;
 - takeover.ack; turn 1 arrives as turn.request; our reply is what the
   agent says (the turn event's reply), correlated by request_id;
 - turn 2: no reply -> turn.timeout after agent_turn_timeout_secs, the
   parrot brain answers instead;
 - inject: the operator line is spoken (agent_say) unprompted;
 - release: turn 3 goes to the parrot brain, no turn.request;
 - takeover again, then disconnect: turn 4 goes to the parrot brain;
 - request_ids unique and increasing; a stale request_id is refused;
 - bad commands get clear errors; session.ended / call.ended at the end."""
import os
import subprocess
import sys
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from wsclient import Api, WsClient, WsError  # noqa: E402

speech = harness.speech_wav
silence = harness.silence_wav


def caller_wav(t, parts, name):
    cat = os.path.join(t.dir, name + "_16k.wav")
    subprocess.run(["sox"] + parts + [cat], check=True, capture_output=True)
    run_dir = os.path.join(t.dir, "sipp_" + name)
    os.makedirs(run_dir, exist_ok=True)
    subprocess.run(["sox", cat, "-r", "8000", "-e", "u-law",
                    os.path.join(run_dir, "tone_ulaw.wav")], check=True,
                   capture_output=True)


def body(t):
    parts = [silence(t, 2.0, "s2"),
             speech(t, "Hello, can you hear me?", "u1"), silence(t, 5, "s5"),
             speech(t, "What is the weather today?", "u2"),
             silence(t, 7, "s7"),
             speech(t, "Please tell me a story.", "u3"), silence(t, 5, "s5b"),
             speech(t, "Thank you very much.", "u4"), silence(t, 5, "s5c")]
    caller_wav(t, parts, "call")
    port = harness.free_port(udp=False)
    token = "agent-test-token-0123456789"
    al = t.agentline(app="agent", vad="energy", codecs="PCMU",
                     brain="parrot", silence_reprompt_secs=0,
                     greeting_incoming="Hi.", filler_delay_ms=0,
                     agent_turn_timeout_secs=2,
                     control_listen="127.0.0.1:%d" % port,
                     control_token=token)
    api = Api("127.0.0.1", port, token)
    evws = WsClient("127.0.0.1", port, "/api/events", token=token)
    ws = WsClient("127.0.0.1", port, "/api/agent/ws", token=token)
    w = ws.recv_json(5)
    t.check(w and w.get("type") == "welcome" and w.get("calls") == [],
            "welcome with no live calls", w)

    ws.send_json({"type": "ping", "id": "p1"})
    m, seen = ws.recv_until(lambda m: m.get("type") == "pong", 5)
    t.check(m is not None and m.get("id") == "p1", "ping -> pong", seen)
    ws.send_json({"type": "takeover", "session_id": "nope", "id": "x"})
    m, seen = ws.recv_until(lambda m: m.get("type") == "takeover.ack", 5)
    t.check(m and m.get("ok") is False and m.get("id") == "x" and
            "no live call" in m.get("detail", ""),
            "takeover of an unknown call: ok false", m)
    ws.send_text("not json")
    m, seen = ws.recv_until(lambda m: m.get("type") == "error", 5)
    t.check(m and m.get("code") == "bad_json", "bad JSON: error", m)
    ws.send_json({"type": "fly"})
    m, seen = ws.recv_until(lambda m: m.get("type") == "error", 5)
    t.check(m and m.get("code") == "unknown_type", "unknown type: error", m)

    sipp = t.sipp(harness.once_scenario(t, "uac_basic.xml"), al.sip_udp,
                  calls=1, duration_ms=36000, timeout=70, name="sipp_call",
                  background=True)
    m, seen = ws.recv_until(lambda m: m.get("type") == "call.answered", 15)
    t.check(m is not None and m.get("call", {}).get("direction") ==
            "inbound", "call.answered with the call's facts", m)
    sid = m and m.get("session_id")
    t.check(any(x.get("type") == "call.ringing" for x in seen),
            "call.ringing before it", [x.get("type") for x in seen])
    ws.send_json({"type": "takeover", "session_id": sid, "id": "t1"})
    m, seen = ws.recv_until(lambda m: m.get("type") == "takeover.ack", 5)
    t.check(m and m.get("ok") is True and m.get("session_id") == sid,
            "takeover.ack ok", m)
    st, v, h = api.req("GET", "/api/calls")
    t.check(v.get("live") and v["live"][0].get("taken_over") is True,
            "GET /api/calls shows taken_over", v)

    # turn 1: we answer
    r1, seen = ws.recv_until(lambda m: m.get("type") == "turn.request", 20)
    t.check(r1 is not None and r1.get("session_id") == sid and
            r1.get("kind") == "speech" and isinstance(
                r1.get("request_id"), int),
            "turn 1 arrives as turn.request", r1)
    rid1 = r1 and r1.get("request_id")
    ws.send_json({"request_id": rid1, "reply": "Agent says banana."})
    m, seen = ws.recv_until(lambda m: m.get("type") == "reply.ack", 5)
    t.check(m and m.get("ok") is True, "reply.ack", m)
    ws.send_json({"request_id": rid1, "reply": "late"})
    m, seen = ws.recv_until(lambda m: m.get("type") == "error", 5)
    t.check(m and m.get("code") == "stale", "a second reply to the same "
            "request_id is refused as stale", m)

    # turn 2: we stay silent -> timeout -> parrot
    r2, seen = ws.recv_until(lambda m: m.get("type") == "turn.request", 20)
    rid2 = r2 and r2.get("request_id")
    t.check(r2 is not None and rid2 > rid1,
            "turn 2 request_id increases (%s > %s)" % (rid2, rid1), r2)
    to, seen = ws.recv_until(lambda m: m.get("type") == "turn.timeout", 5)
    t.check(to is not None and to.get("request_id") == rid2,
            "turn.timeout for turn 2 after 2 s", seen)

    ws.send_json({"type": "inject", "session_id": sid,
                  "text": "This is the operator."})
    m, seen = ws.recv_until(lambda m: m.get("type") == "inject.ack", 5)
    t.check(m and m.get("ok") is True, "inject.ack ok", m)

    # release: turn 3 goes to parrot
    ws.send_json({"type": "release", "session_id": sid})
    m, seen = ws.recv_until(lambda m: m.get("type") == "release.ack", 5)
    t.check(m and m.get("ok") is True, "release.ack ok", m)
    ws.send_json({"type": "release", "session_id": sid})
    m, seen = ws.recv_until(lambda m: m.get("type") == "release.ack", 5)
    t.check(m and m.get("ok") is False, "second release: ok false", m)
    turns = al.wait_events("turn", 3, timeout=20)
    m, seen = ws.recv_until(lambda m: m.get("type") == "turn.request", 1)
    t.check(m is None, "no turn.request after release", m)

    # takeover again, then disconnect before turn 4
    ws.send_json({"type": "takeover", "session_id": sid})
    m, seen = ws.recv_until(lambda m: m.get("type") == "takeover.ack", 5)
    t.check(m and m.get("ok") is True, "takeover again", m)
    ws.close()
    time.sleep(0.5)
    st, v, h = api.req("GET", "/api/calls")
    t.check(v.get("live") and v["live"][0].get("taken_over") is False,
            "disconnect released the call", v)

    r = t.sipp_result(sipp, 90)
    t.check(r.ok and r.successful == 1, "SIPp call succeeded", r)
    al.wait_events("call_ended", 1, timeout=10)
    turns = al.events_of("turn")
    replies = [e.get("reply", "") for e in turns]
    t.note("turns: %s" % [(e.get("transcript"), e.get("reply"))
                          for e in turns])
    t.check(len(turns) >= 4, "4 turns reported", replies)
    t.check(replies and "banana" in replies[0].lower(),
            "turn 1 reply is the agent's", replies)
    t.check(len(replies) > 1 and "banana" not in replies[1].lower() and
            replies[1], "turn 2 answered by the parrot brain", replies)
    t.check(all("banana" not in x.lower() for x in replies[2:]),
            "turns 3 and 4 answered by the parrot brain", replies)
    # the events socket saw the whole call, with turn timings
    end, evs = evws.recv_until(lambda m: m.get("event") == "call_ended", 10)
    names = [e.get("event") for e in evs if e.get("call") == sid]
    t.check(names[:2] == ["call_incoming", "call_answered"] and
            names[-1] == "call_ended" and names.count("turn") >= 4,
            "/api/events: incoming, answered, 4 turns, ended", names)
    tev = [e for e in evs if e.get("event") == "turn"]
    keys = ("stt_ms", "brain_ms", "tts_first_audio_ms", "voice_to_voice_ms")
    t.check(tev and all(all(k in e for k in keys) for e in tev) and
            all(isinstance(e.get("stt_ms"), int) for e in tev),
            "turn events carry stt/brain/tts/v2v timings", tev[:1])
    # and the call, its turns and timings are in the store
    def record():
        st, v, h = api.req("GET", "/api/calls/%s" % sid)
        rec = v.get("record") if st == 200 else None
        return rec if rec and rec.get("ended") and len(
            rec.get("turns", [])) >= 4 else None
    rec = harness.wait_for(record, 10)
    t.check(rec and rec.get("direction") == "inbound" and
            rec["turns"][0].get("reply") == "Agent says banana." and
            all(x.get("transcript") for x in rec["turns"]) and
            isinstance(rec["turns"][0].get("voice_to_voice_ms"), int),
            "GET /api/calls/{id}: the stored call with its turns, "
            "transcripts and timings", rec)
    st, v, h = api.req("GET", "/api/calls")
    t.check(any(c.get("id") == sid for c in v.get("calls", [])),
            "GET /api/calls lists it among recent calls", v)
    t.check(al.alive(), "agentline still running")


harness.Test("api_agent").run(body)
