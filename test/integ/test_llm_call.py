#!/usr/bin/python3
"""The LLM brain on real SIP calls (SIPp caller streaming flite speech,
agentline app=agent brain=llm, scripted OpenAI-compatible server):
 1. control: a reply that ends in a hang_up tool call makes agentline
    send BYE (call_ended reason local_bye);
 2. the caller talks over that same reply: the interrupted generation's
    pending hang_up is cancelled, the call stays up (the caller's BYE ends
    it) and the caller's next turn gets an answer;
 3. keep_history: a caller with a number gets the earlier call's
    conversation back on the next call; a caller without a usable number
    (From user "sipp") never does;
 4. outbound task call (`agentline call --objective`, SIPp UAS answers):
    the model opens the call; its first request carries the objective;
 5. keypad: RFC 4733 digits 1 5 9 # make one turn for the model."""
import os
import subprocess
import time
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
    if len(reqs) >= 2:
        msgs = reqs[1]["body"]["messages"]
        calls = [c["id"] for m in msgs if m.get("tool_calls")
                 for c in m["tool_calls"]]
        res = {m.get("tool_call_id"): m["content"] for m in msgs
               if m["role"] == "tool"}
        t.check(calls and all(c in res for c in calls) and
                any("cancelled" in res[c] for c in calls),
                "barge-in: the model learns the hang_up was cancelled "
                "(every tool call has its result)", msgs[1:])
    history(t, srv)
    outbound(t, srv)
    keypad(t, srv)


def numbered_scenario(t, number):
    src = harness.once_scenario(t, "uac_basic.xml")
    dst = os.path.join(t.dir, "from_%s.xml" % number.strip("+"))
    with open(src) as f:
        x = f.read().replace("sip:sipp@", "sip:%s@" % number)
    with open(dst, "w") as f:
        f.write(x)
    return dst


def history(t, srv):
    srv.script({"replies": [{"text": "Nice to meet you, Alice Smith."},
                            {"text": "Welcome back."}]})
    parts = [silence(t, 1.5, "p15"), speech(t, "Hello, this is Alice.",
                                          "h1"), silence(t, 5, "p5")]
    cat = os.path.join(t.dir, "hist_16k.wav")
    subprocess.run(["sox"] + parts + [cat], check=True, capture_output=True)
    al = t.agentline(name="al_hist", app="agent", vad="energy",
                     codecs="PCMU", brain="llm",
                     llm_base_url=srv.url + "/v1", llm_model="test-model",
                     greeting_incoming="", silence_reprompt_secs=0,
                     keep_history="true",
                     data_dir=os.path.join(t.dir, "data_hist"))
    firsts = []
    for i, number in enumerate(("+4917655512345", "+4917655512345",
                                "sipp")):
        name = "sipp_hist%d" % i
        run_dir = os.path.join(t.dir, name)
        os.makedirs(run_dir, exist_ok=True)
        subprocess.run(["sox", cat, "-r", "8000", "-e", "u-law",
                        os.path.join(run_dir, "tone_ulaw.wav")],
                       check=True, capture_output=True)
        before = len([q for q in srv.requests() if q["kind"] == "turn"])
        r = t.sipp(numbered_scenario(t, number), al.sip_udp, calls=1,
                   duration_ms=8000, timeout=50, name=name)
        t.check(r.ok and r.successful == 1, "history: call %d" % i, r)
        al.wait_events("call_ended", i + 1, timeout=15)
        reqs = [q for q in srv.requests() if q["kind"] == "turn"]
        firsts.append(reqs[before] if len(reqs) > before else None)
    t.check(al.stop() == 0, "history: agentline exits 0")
    if None in firsts:
        t.check(False, "history: every call reached the model", firsts)
        return

    def said(q):
        return [m["content"] for m in q["body"]["messages"][1:]]
    t.check(not any("Alice Smith" in c for c in said(firsts[0])),
            "history: the first call starts fresh", said(firsts[0]))
    t.check(any("Nice to meet you, Alice Smith." in c
                for c in said(firsts[1])),
            "history: the second call from the same number resumes it",
            said(firsts[1]))
    t.check(not any("Alice Smith" in c for c in said(firsts[2])),
            "history: a caller without a number gets none",
            said(firsts[2]))
    for q in firsts:
        t.check("4917655512345" not in q["body"]["messages"][0]["content"],
                "history: the full number never reaches the prompt")


def outbound(t, srv):
    srv.script({"replies": [{"text": "Hello, I am calling to ask about "
                             "the price of a large pizza."}]})
    t.tone_ulaw(1000, 10)
    uas = t.sipp("uas_answer.xml", None, calls=1, timeout=40,
                 name="sipp_uas_task", background=True)
    time.sleep(0.5)
    lo, hi = harness.free_port_range(20)
    sets = {"sip_listen": "udp:127.0.0.1:%d" % harness.free_port(),
            "rtp_port_min": lo, "rtp_port_max": hi, "app": "agent",
            "vad": "energy", "brain": "llm", "llm_base_url": srv.url + "/v1",
            "llm_model": "test-model", "silence_reprompt_secs": 0,
            "data_dir": os.path.join(t.dir, "data_out")}
    argv = [t.agentline_bin, "call",
            "sip:test@127.0.0.1:%d" % uas.sipp_port, "--duration", "6",
            "--objective", "Ask for the price of a large pizza."]
    for k, v in sets.items():
        argv += ["--set", "%s=%s" % (k, v)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=40,
                       cwd=t.dir)
    t.check(p.returncode == 0, "outbound: agentline call exits 0",
            p.stderr[-3000:])
    t.sipp_result(uas, 20)
    reqs = [q for q in srv.requests() if q["kind"] == "turn"]
    t.check(len(reqs) >= 1, "outbound: the model opened the call",
            p.stderr[-2000:])
    if reqs:
        msgs = reqs[0]["body"]["messages"]
        t.check("Objective of this call" in msgs[0]["content"] and
                "price of a large pizza" in msgs[0]["content"],
                "outbound: the objective is in the prompt", msgs[0])
        t.check('"direction":"outbound"' in msgs[0]["content"],
                "outbound: direction outbound in the call facts")
        t.check(len(msgs) == 2 and msgs[1]["role"] == "user" and
                "answered the phone" in msgs[1]["content"],
                "outbound: asked to open the conversation", msgs[1:])


def keypad(t, srv):
    srv.script({"replies": [{"text": "Thank you."}]})
    al = t.agentline(name="al_dtmf", app="agent", vad="energy",
                     codecs="PCMU,PCMA", brain="llm",
                     llm_base_url=srv.url + "/v1", llm_model="test-model",
                     greeting_incoming="", silence_reprompt_secs=0,
                     data_dir=os.path.join(t.dir, "data_dtmf"))
    r = t.sipp("uac_dtmf_rfc4733.xml", al.sip_udp, calls=1, timeout=40,
               name="sipp_llm_dtmf")
    t.check(r.ok and r.successful == 1, "keypad: call succeeded", r)
    al.wait_events("call_ended", 1, timeout=15)
    t.check(al.stop() == 0, "keypad: agentline exits 0")
    reqs = [q for q in srv.requests() if q["kind"] == "turn"]
    users = [m["content"] for q in reqs for m in q["body"]["messages"]
             if m["role"] == "user"]
    t.check(len(reqs) == 1 and users ==
            ["[The caller pressed these keys on the keypad: 159]"],
            "keypad: 1 5 9 # reach the model as one turn", users)
    t.check("159" not in al.log(), "keypad: the digits are not logged")


if __name__ == "__main__":
    harness.Test("llm_call").run(body)
