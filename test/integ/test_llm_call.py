#!/usr/bin/python3
"""The LLM brain on real SIP calls (SIPp caller streaming flite speech,
agentline app=agent brain=llm, scripted OpenAI-compatible server):
 1. control: a reply that ends in a hang_up tool call makes agentline
    send BYE (call_ended reason local_bye);
 2. the caller talks over that same reply: the interrupted generation's
    pending hang_up is cancelled, the call stays up (the caller's BYE ends
    it) and the caller's next turn gets an answer."""
import os
import subprocess
import harness
from test_llm import Server

speech = harness.speech_wav
silence = harness.silence_wav

REPLY = {"replies": [
    {"text": "Thank you very much for calling today, it was a pleasure to "
     "talk to you and I hope you have a wonderful rest of your day, "
     "goodbye and take care of yourself.", "pieces": 2,
     "tool_calls": [{"name": "hang_up", "arguments": {"reason": "done"}}]},
    {"text": "Sorry, please go ahead."}]}


def call(t, srv, name, parts, secs, scenario, **sets):
    srv.script(REPLY)
    cat = os.path.join(t.dir, name + "_16k.wav")
    subprocess.run(["sox"] + parts + [cat], check=True, capture_output=True)
    run_dir = os.path.join(t.dir, "sipp_" + name)
    os.makedirs(run_dir, exist_ok=True)
    subprocess.run(["sox", cat, "-r", "8000", "-e", "u-law",
                    os.path.join(run_dir, "tone_ulaw.wav")], check=True,
                   capture_output=True)
    base = dict(app="agent", vad="energy", codecs="PCMU", brain="llm",
                llm_base_url=srv.url + "/v1", llm_model="test-model",
                greeting_incoming="", silence_reprompt_secs=0,
                hang_up_drain_ms=15000,
                data_dir=os.path.join(t.dir, "data_" + name))
    base.update(sets)
    al = t.agentline(name="al_" + name, **base)
    r = t.sipp(harness.once_scenario(t, scenario), al.sip_udp, calls=1,
               duration_ms=secs * 1000, timeout=secs + 40,
               name="sipp_" + name)
    t.check(r.ok and r.successful == 1, "%s: call succeeded" % name, r)
    al.wait_events("call_ended", 1, timeout=15)
    ended = al.events_of("call_ended")
    t.check(al.stop() == 0, "%s: agentline exits 0" % name)
    return al, ended


def body(t):
    srv = Server(t)
    parts = [silence(t, 1.5, "p15"), speech(t, "That is all, thank you.",
                                          "u1"), silence(t, 16, "p16")]
    al, ended = call(t, srv, "ctl", parts, 20, "uac_wait_bye.xml")
    t.check(len(ended) == 1 and ended[0].get("reason") in
            ("agent_hangup", "local_bye"),
            "control: the reply's hang_up ends the call (agentline BYE)",
            (ended, al.log(3000)))

    parts = [silence(t, 1.5, "p15"), speech(t, "That is all, thank you.",
                                          "u1"),
             silence(t, 3.5, "p35"), speech(t, "Wait, one more thing "
                                          "please.", "u2"),
             silence(t, 10, "p10")]
    al, ended = call(t, srv, "barge", parts, 17, "uac_basic.xml",
                     barge_in_mode="full")
    t.check(len(ended) == 1 and ended[0].get("reason") not in
            ("agent_hangup", "local_bye"),
            "barge-in: the interrupted reply's hang_up never happened",
            (ended, al.log(3000)))
    t.check(any(e.get("interrupted") for e in al.events_of("turn")),
            "barge-in: the reply was interrupted", al.events_of("turn"))
    reqs = [q for q in srv.requests() if q["kind"] == "turn"]
    t.check(len(reqs) >= 2, "barge-in: the caller's next turn answered",
            len(reqs))


if __name__ == "__main__":
    harness.Test("llm_call").run(body)
