#!/usr/bin/python3
"""The Hermes plugin (integrations/hermes) on real calls: agentline on
loopback (app=agent, parrot brain, offline engines), the plugin inside the
Hermes stand-in (or Hermes' own gateway classes when installed), callers
from baresip and SIPp.

 1. inbound: a baresip call reaches the stand-in Hermes as a VOICE event
    (chat_id = call id, message_id = request id); Hermes' reply is spoken
    (agentline's turn event, and baresip's recording transcribed by
    agentline's own recogniser); the tool hang_up ends the call (agentline
    sends the BYE);
 2. trust: a level-0 caller; Hermes asks for hold_call -- the hook refuses
    it, and with the hook bypassed agentline refuses it (403, tool_call
    deny) and SIPp, which fails on any unexpected message, gets no
    re-INVITE;
 3. place_call by an owner-level caller rings a SIPp UAS on the allow-list;
    the outcome comes back to the asking call's Hermes session as an
    internal message and Hermes' answer to it is said on the call;
 4. a dropped WebSocket: agentline's parrot brain answers the next turn,
    Hermes' reconnect path brings the plugin back, it takes the call over
    again and answers the turn after;
 5. https:// and wss:// to a self-signed control API (AGENTLINE_CA_FILE)."""
import json
import os
import subprocess
import sys
import threading

import harness

HERMES_DIR = os.path.join(harness.HERE, "..", "..", "integrations", "hermes")
sys.path.insert(0, os.path.join(HERMES_DIR, "tests"))
import _env  # noqa: E402,F401  (the plugin, then Hermes or its stand-in)
from hermes_standin import Gateway, PluginManager  # noqa: E402

import hermes_agentline  # noqa: E402,F401
from hermes_agentline.line import LINE  # noqa: E402

sys.path.insert(0, harness.HERE)
from test_tools_calls import callee_xml  # noqa: E402

speech = harness.speech_wav
silence = harness.silence_wav

TOKEN = "hermes-test-token-0123456789"
REPLY = "Yes I can hear you very well."
CALLEE = "+15555550199"


OWNER = "+15555550100"


def groups_file(t, name):
    """Unknown callers level 0; OWNER level 3."""
    path = os.path.join(t.dir, name + "_groups.json")
    with open(path, "w") as f:
        json.dump({"groups": [{"name": "owner", "privilege_level": 3},
                              {"name": "g", "privilege_level": 0}],
                   "lists": {"owner": [OWNER]},
                   "default_group": "g", "default_country": "US"}, f)
    return path


def owner_scenario(t):
    """uac_basic (streamed once) calling From the owner's number."""
    src = harness.once_scenario(t, "uac_basic.xml")
    with open(src) as f:
        xml = f.read()
    path = os.path.join(t.dir, "uac_owner.xml")
    with open(path, "w") as f:
        f.write(xml.replace("From: sipp <sip:sipp@",
                            "From: <sip:%s@" % OWNER))
    return path


def caller_wav(t, parts, name):
    """SIPp streams tone_ulaw.wav from its run dir."""
    cat = os.path.join(t.dir, name + "_16k.wav")
    subprocess.run(["sox"] + parts + [cat], check=True, capture_output=True)
    run_dir = os.path.join(t.dir, "sipp_" + name)
    os.makedirs(run_dir, exist_ok=True)
    subprocess.run(["sox", cat, "-r", "8000", "-e", "u-law",
                    os.path.join(run_dir, "tone_ulaw.wav")], check=True,
                   capture_output=True)


def agentline(t, name, **sets):
    base = dict(app="agent", vad="energy", codecs="PCMU", brain="parrot",
                greeting_incoming="Hi.", silence_reprompt_secs=0,
                filler_delay_ms=0, control_token=TOKEN,
                agent_turn_timeout_secs=20)
    base.update(sets)
    return t.agentline(name=name, **base)


def hermes(t, al, agent, extra=None):
    """The plugin in a fresh stand-in gateway, connected to al."""
    with LINE.lock:
        LINE.calls.clear()
        LINE.tickets.clear()
        LINE.placed.clear()
        LINE.internal_ids.clear()
        LINE.early.clear()
    pm = PluginManager()
    pm.load("hermes_agentline")
    gw = Gateway(pm, agent)
    ok = gw.start("voip", extra or {
        "url": "http://127.0.0.1:%d" % al.api_port, "token": TOKEN})
    t.check(ok, "%s: the plugin connected to agentline" % al.name)
    return gw


def transcribe(t, wav, name):
    """agentline's own recogniser over a recording (pipeline, parrot)."""
    pcm = os.path.join(t.dir, name + "_16k.wav")
    subprocess.run(["sox", wav, "-r", "16000", "-c", "1", "-b", "16", pcm],
                   check=True, capture_output=True)
    p = subprocess.run([t.agentline_bin, "pipeline", "--in", pcm, "--fast",
                        "--set", "brain=parrot", "--set",
                        "silence_reprompt_secs=0", "--set", "vad=energy"],
                       capture_output=True, text=True, timeout=180)
    words = []
    for line in p.stdout.splitlines():
        try:
            words.append(json.loads(line).get("transcript") or "")
        except ValueError:
            pass
    return " ".join(words)


def turns(al):
    return {e.get("turn"): e for e in al.events_of("turn")}


def inbound_and_hang_up(t):
    al = agentline(t, "al_inbound")
    seen = {}

    def agent(turn):
        ev = turn.event
        if ev.internal:
            return None
        n = seen.setdefault("n", 0) + 1
        seen["n"] = n
        if n == 1:
            seen["first"] = ev
            return REPLY
        seen["hang_up"] = turn.tool("hang_up", {"reason": "goodbye"})
        return "Goodbye."
    gw = hermes(t, al, agent)
    try:
        src = os.path.join(t.dir, "inbound_caller.wav")
        subprocess.run(["sox", silence(t, 2.0, "s2"),
                        speech(t, "Hello, can you hear me?", "u1"),
                        silence(t, 16, "s16"),
                        speech(t, "Thank you, goodbye.", "u2"),
                        silence(t, 20, "s20"), "-r", "8000", src],
                       check=True, capture_output=True)
        b = harness.Baresip(t, "baresip_caller",
                            "sip:agent@127.0.0.1:%d" % al.port, 48, src,
                            ["pcmu"])
        ended = harness.wait_for(lambda: al.events_of("call_ended"), 55)
        b.wait(15)
        b.stop()
        ev = seen.get("first")
        calls = al.events_of("call_answered")
        cid = calls[0].get("call") if calls else None
        t.check(ev is not None and ev.message_type.value == "voice" and
                ev.source.chat_id == cid and ev.source.chat_type == "dm",
                "inbound: the caller's turn reached Hermes as a VOICE "
                "event in the call's DM session",
                ev and (ev.message_type, ev.source, cid))
        tr = turns(al)
        t.check(1 in tr and tr[1].get("reply") == REPLY and
                ev is not None and ev.message_id.isdigit(),
                "inbound: Hermes' reply is what agentline said on turn 1",
                tr.get(1))
        t.note("turns: %s" % [(k, v.get("transcript"), v.get("reply"))
                              for k, v in sorted(tr.items())])
        hu = seen.get("hang_up") or {}
        t.check(hu.get("ok") is True, "inbound: hang_up accepted by "
                "agentline (through its gate)", hu)
        te = [e for e in al.events_of("tool_call")
              if e.get("tool") == "hang_up"]
        t.check(any(e.get("decision") == "allow" and e.get("ok")
                    for e in te), "inbound: tool_call hang_up allowed", te)
        reason = ended[0].get("reason") if ended else None
        # baresip would hang up after 48 s; agentline's BYE came first
        t.check(bool(ended) and calls and reason == "agent_hangup" and
                ended[0]["ts"] - calls[0]["ts"] < 44,
                "inbound: agentline ended the call (BYE) after hang_up",
                ended)
        recs = b.recordings("dec")
        heard = transcribe(t, recs[0], "inbound_heard") if recs else ""
        t.note("the caller heard: %r" % heard)
        t.check(("hear you" in heard) or ("very well" in heard),
                "inbound: the caller's recording has Hermes' reply", heard)
    finally:
        gw.stop()
        al.stop()


def refused_privileged_tool(t):
    al = agentline(t, "al_trust",
                   caller_groups_file=groups_file(t, "trust"))
    out = {}

    def agent(turn):
        if "hooked" in out or turn.event.internal:
            return None
        out["hooked"] = turn.tool("hold_call", {})
        out["bypass"] = turn.tool("hold_call", {}, bypass_hooks=True)
        return "Sorry, I cannot do that on this call."
    gw = hermes(t, al, agent)
    try:
        caller_wav(t, [silence(t, 2.0, "s2"),
                       speech(t, "Please put me on hold.", "hold1"),
                       silence(t, 10, "s10")], "trust")
        r = t.sipp(harness.once_scenario(t, "uac_basic.xml"), al.sip_udp,
                   calls=1, duration_ms=13000, timeout=40,
                   name="sipp_trust")
        t.check(r.ok, "trust: SIPp's call went as scripted (no "
                "re-INVITE reached it)", str(r))
        t.check("INVITE sip:sipp@" not in r.messages and
                "a=sendonly" not in r.messages,
                "trust: no hold re-INVITE on the wire", r.messages[-2000:])
        hooked, bypass = out.get("hooked") or {}, out.get("bypass") or {}
        t.note("hook: %s / bypassed: %s" % (hooked, bypass))
        t.check("not allowed" in hooked.get("error", ""),
                "trust: the plugin's pre_tool_call hook blocked it (the "
                "privilege agentline reported)", hooked)
        t.check(bypass.get("refused") is True and
                "privilege" in bypass.get("error", ""),
                "trust: with the hook bypassed agentline refused it "
                "(privilege)", bypass)
        te = [e for e in al.events_of("tool_call")
              if e.get("tool") == "hold_call"]
        t.check(te and all(e.get("decision") == "deny" for e in te),
                "trust: agentline's tool_call events say deny", te)
    finally:
        gw.stop()
        al.stop()


def place_call(t):
    uas = os.path.join(t.dir, "callee_uas.xml")
    with open(uas, "w") as f:
        f.write(callee_xml("200"))
    callee = t.sipp(uas, None, timeout=40, background=True,
                    name="sipp_callee")
    number = "sip:%s@127.0.0.1:%d" % (CALLEE, callee.sipp_port)
    al = agentline(t, "al_place", caller_groups_file=groups_file(
        t, "owner"), outbound_allow=CALLEE)
    out = {}

    def agent(turn):
        if turn.event.internal:
            out["note"] = turn.event
            return "They answered the phone."
        if "placed" in out:
            return None
        out["placed"] = turn.tool("place_call", {
            "number": number, "objective": "ask if they are open"})
        return "I will call them right now."
    gw = hermes(t, al, agent)
    said = []
    adapter = gw.adapters["voip"]
    orig_send = adapter.send

    async def send(chat_id, content, reply_to=None, metadata=None):
        r = await orig_send(chat_id, content, reply_to, metadata)
        said.append((chat_id, content, reply_to, r.success))
        return r
    adapter.send = send
    try:
        caller_wav(t, [silence(t, 2.0, "s2"),
                       speech(t, "Please call the restaurant.", "place1"),
                       silence(t, 16, "s16")], "place")
        r = t.sipp(owner_scenario(t), al.sip_udp, calls=1,
                   duration_ms=19000, timeout=45, name="sipp_place")
        rc = t.sipp_result(callee, 20)
        t.check(r.ok, "place_call: the asking caller's call", str(r))
        t.check(rc.ok, "place_call: the SIPp UAS was rung and answered",
                str(rc))
        placed = out.get("placed") or {}
        t.check(placed.get("status") == "dialing",
                "place_call: agentline accepted it from an owner caller",
                placed)
        note = out.get("note")
        t.check(note is not None and "answered" in note.text and
                note.internal, "place_call: the outcome came back to the "
                "asking call's session", note and note.text)
        inbound = [e.get("call") for e in al.events_of("call_incoming")]
        t.check(note is not None and note.source.chat_id in inbound,
                "place_call: ...in the asking call's DM session",
                note and note.source)
        t.check(any(c == "They answered the phone." and ok
                    for _, c, _, ok in said),
                "place_call: Hermes' answer to the outcome was said", said)
        res = al.events_of("tool_result")
        t.check(any(e.get("tool") == "place_call" and
                    (e.get("result") or {}).get("outcome") == "answered"
                    for e in res), "place_call: tool_result on the bus",
                res)
    finally:
        gw.stop()
        al.stop()


def dropped_socket(t):
    al = agentline(t, "al_drop")
    gw = hermes(t, al, lambda turn: None if turn.event.internal else REPLY)
    gw.reconnect_gate = threading.Event()
    try:
        caller_wav(t, [silence(t, 2.0, "s2"),
                       speech(t, "Hello, can you hear me?", "d1"),
                       silence(t, 9, "s9"),
                       speech(t, "What is the weather today?", "d2"),
                       silence(t, 14, "s14"),
                       speech(t, "Please tell me a story.", "d3"),
                       silence(t, 10, "s10")], "drop")
        sipp = t.sipp(harness.once_scenario(t, "uac_basic.xml"),
                      al.sip_udp, calls=1, duration_ms=41000, timeout=75,
                      name="sipp_drop", background=True)
        got = harness.wait_for(lambda: turns(al).get(1), 25)
        t.check(got and got.get("reply") == REPLY,
                "drop: turn 1 answered by Hermes", got)

        async def abort():
            gw.adapters["voip"]._ws.abort()
        gw.run(abort())
        got2 = harness.wait_for(lambda: turns(al).get(2), 25)
        t.check(got2 and (got2.get("reply") or "").startswith("You said"),
                "drop: with the socket gone agentline's brain answered "
                "turn 2", got2)
        gw.reconnect_gate.set()
        back = harness.wait_for(
            lambda: gw.replaced == 1 and any(
                c.taken_over for c in LINE.calls.values()), 10)
        t.check(back, "drop: the plugin reconnected (Hermes' reconnect "
                "path) and took the call over again",
                [vars(c) for c in LINE.calls.values()])
        got3 = harness.wait_for(lambda: turns(al).get(3), 30)
        t.check(got3 and got3.get("reply") == REPLY,
                "drop: turn 3 answered by Hermes again", got3)
        r = t.sipp_result(sipp, 60)
        t.check(r.ok, "drop: the call itself went on", str(r))
    finally:
        gw.stop()
        al.stop()


def tls(t):
    """https:// and wss:// to a control API with a self-signed
    certificate, trusted through AGENTLINE_CA_FILE (the ca_file extra)."""
    crt, key = harness.make_cert(t.dir, "control")
    al = agentline(t, "al_tls", app="echo", control_tls_cert=crt,
                   control_tls_key=key)
    gw = hermes(t, al, lambda turn: None, {
        "url": "https://127.0.0.1:%d" % al.api_port, "token": TOKEN,
        "ca_file": crt})
    try:
        r = json.loads(gw.plugins.dispatch("hang_up", {"call_id": "nope"}))
        t.check("not live" in r.get("error", ""), "tls: REST over https "
                "answers (404 for an unknown call)", r)
        t.check("agentws: agent 127.0.0.1" in al.log(),
                "tls: the agent socket over wss connected")
        pm = PluginManager()
        pm.load("hermes_agentline")
        gw2 = Gateway(pm, lambda turn: None)
        try:
            ok = gw2.start("voip", {"url": "https://127.0.0.1:%d" %
                                    al.api_port, "token": TOKEN})
        finally:
            gw2.stop()
        t.check(ok is False, "tls: without the CA file the certificate is "
                "not trusted (connect fails)", ok)
    finally:
        gw.stop()
        al.stop()


def body(t):
    t.note("Hermes: %s" % ("installed" if _env.REAL_HERMES else
                           "stand-in (%s)" % _env.WHY_NOT))
    only = os.environ.get("HERMES_INTEG_ONLY", "")    # for debugging
    for part in (tls, inbound_and_hang_up, refused_privileged_tool,
                 place_call, dropped_socket):
        if not only or part.__name__ in only.split(","):
            part(t)


if __name__ == "__main__":
    harness.Test("hermes").run(body)
