#!/usr/bin/python3
"""Answering-machine detection on real outbound task calls.

agentline places a task call through the control API (an objective, the
callee a SIPp UAS).  SIPp answers with SDP that points at an RTP peer in
this test, which plays the callee's audio (made here with flite + sox) and
records what agentline sends:

 1. a machine: a flite greeting of ~8 s, 300 ms of silence, a 1 kHz beep
    of 500 ms, then silence (the machine recording).  agentline must say
    nothing from the detection to the beep, speak its message after the
    beep (RTP energy after the beep's end), hang up (SIPp gets the BYE),
    and report a machine: the amd events, call_result, and the POST to
    outbound_result_url (outcome "machine", bearer token).
 2. the same machine with amd_action = hangup (set at run time through
    the API): agentline hangs up at the detection, says nothing after the
    beep, and the result says machine, no message;
 3. a person: "Hello?" then silence; SIPp hangs up after 9 s.  The amd
    event says human, no message is left and the result says "answered".
"""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from fake_webhook import FakeWebhook  # noqa: E402
from wsclient import Api  # noqa: E402

TOKEN = "amd-test-token-0123456789"
RESULT_TOKEN = "amd-result-bearer-0123456789"
CALLEE = "+15555550199"
OBJECTIVE = "the parcel for flat three arrives on Tuesday morning"
GREETING = ("Hello, you have reached Jordan Miller at Acme Plumbing and "
            "Heating. I can not take your call right now. Please leave "
            "your name and number after the tone.")


def ulaw_decode(b):
    u = ~b & 0xff
    t = ((u & 0x0f) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if (u & 0x80) else (t - 0x84)


ULAW = [ulaw_decode(i) for i in range(256)]


def rms(payload):
    if not payload:
        return 0.0
    return (sum(ULAW[b] ** 2 for b in payload) / len(payload)) ** 0.5


def to_ulaw(t, wav, name):
    out = os.path.join(t.dir, name + ".ul")
    subprocess.run(["sox", wav, "-r", "8000", "-c", "1", "-e", "mu-law",
                    "-t", "raw", out], check=True, capture_output=True,
                   timeout=30)
    with open(out, "rb") as f:
        return f.read()


def tone_ulaw(t, hz, secs, name):
    out = os.path.join(t.dir, name + ".ul")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-e", "mu-law",
                    "-t", "raw", out, "synth", str(secs), "sine", str(hz),
                    "vol", "0.4"], check=True, capture_output=True,
                   timeout=30)
    with open(out, "rb") as f:
        return f.read()


class RtpPeer:
    """The callee's media: once agentline's first RTP packet arrives,
    plays `audio` (PCMU, 20 ms packets) back to where it came from, then
    silence; records every PCMU payload received as (seconds since the
    playback began, rms)."""

    def __init__(self, audio):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.004)
        self.port = self.s.getsockname()[1]
        self.audio = audio
        self.rx = []
        self.t0 = None
        self.stop = False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        peer, nxt, pos = None, 0.0, 0
        seq, ts, ssrc = random.randrange(65536), 0, random.getrandbits(32)
        while not self.stop:
            try:
                d, addr = self.s.recvfrom(2048)
                now = time.monotonic()
                if len(d) > 12 and d[0] >> 6 == 2 and (d[1] & 0x7f) == 0:
                    if peer is None:
                        peer, self.t0, nxt = addr, now, now
                    self.rx.append((now - self.t0, rms(d[12:])))
            except socket.timeout:
                pass
            except OSError:
                return
            now = time.monotonic()
            while peer and now >= nxt:
                chunk = self.audio[pos:pos + 160]
                chunk += b"\xff" * (160 - len(chunk))
                pos += 160
                hdr = struct.pack("!BBHII", 0x80, 0, seq & 0xffff,
                                  ts & 0xffffffff, ssrc)
                try:
                    self.s.sendto(hdr + chunk, peer)
                except OSError:
                    return
                seq, ts, nxt = seq + 1, ts + 160, nxt + 0.02

    def close(self):
        self.stop = True
        self.th.join(2)
        self.s.close()

    def active(self, a, b, level=400):
        """Packets louder than level between a and b seconds."""
        return [x for x, r in self.rx if a <= x < b and r > level]


def uas_xml(t, name, rtp_port, hang_up_ms=None):
    head = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="%(name)s">
  <recv request="INVITE" rrs="true">
    <action><ereg regexp=".*" search_in="hdr" header="From:"
      assign_to="remote_from"/></action>
  </recv>
  <send>
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
      o=- 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio %(port)d RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv request="ACK"/>
""" % {"name": name, "port": rtp_port}
    if hang_up_ms is None:
        tail = """  <recv request="BYE" timeout="45000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""
    else:
        tail = """  <pause milliseconds="%d"/>
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
""" % hang_up_ms
    path = os.path.join(t.dir, name + ".xml")
    with open(path, "w") as f:
        f.write(head + tail + '  <Reference variables="remote_from"/>\n'
                '</scenario>\n')
    return path


def place(t, al, name, audio, hang_up_ms=None):
    """A task call to a SIPp UAS whose media is an RtpPeer playing
    audio; returns (call id, peer, SIPp result)."""
    peer = RtpPeer(audio)
    uas = t.sipp(uas_xml(t, name, peer.port, hang_up_ms), None, timeout=60,
                 background=True, name="sipp_" + name)
    time.sleep(0.5)
    api = Api("127.0.0.1", al.api_port, TOKEN)
    st, v, _ = api.req("POST", "/api/calls", {
        "number": "sip:%s@127.0.0.1:%d" % (CALLEE, uas.sipp_port),
        "objective": OBJECTIVE})
    t.check(st == 201 and isinstance(v, dict) and v.get("id"),
            "%s: the task call was placed through the API" % name, (st, v))
    callid = v.get("id") if isinstance(v, dict) else None
    r = t.sipp_result(uas, 75)
    time.sleep(1.0)
    peer.close()
    return callid, peer, r


def results(hook, callid):
    out = []
    for h, b, _, _ in hook.requests:
        try:
            j = json.loads(b)
        except ValueError:
            continue
        if j.get("call_id") == callid:
            out.append((h, j))
    return out


def machine(t, al, hook):
    greet = to_ulaw(t, harness.speech_wav(t, GREETING, "greeting"),
                    "greeting")
    gap = b"\xff" * 2400                       # 300 ms
    beep = tone_ulaw(t, 1000, 0.5, "beep")
    audio = greet + gap + beep + b"\xff" * 8000 * 15
    beep_start = (len(greet) + len(gap)) / 8000.0
    beep_end = beep_start + len(beep) / 8000.0
    t.note("machine greeting %.1f s, beep %.2f..%.2f s" % (
        len(greet) / 8000.0, beep_start, beep_end))

    callid, peer, r = place(t, al, "machine", audio)
    t.check(r.ok, "machine: SIPp answered and got agentline's BYE",
            (r.errors or "")[-800:])
    amd = [e for e in al.events_of("amd") if e.get("call") == callid]
    t.note("amd events: %s" % amd)
    kinds = [e.get("result") for e in amd]
    t.check(kinds == ["machine", "beep"],
            "machine: detected as a machine, then the beep", amd)
    if len(amd) == 2:
        t.check(amd[0].get("action") == "message" and
                amd[0].get("reason") in ("greeting", "short_greeting_beep"),
                "machine: by its long greeting; the action is a message",
                amd[0])
        t.check(amd[1].get("reason") == "beep" and
                abs(amd[1].get("beep_hz", 0) - 1000) <= 50,
                "machine: the greeting ended with a beep of ~1 kHz", amd[1])
    # what agentline sent, on the callee's side of the line
    after = peer.active(beep_end, beep_end + 12)
    t.note("agent audio after the beep: %d packets, first at +%.2f s" % (
        len(after), (after[0] - beep_end) if after else -1))
    t.check(len(after) >= 50 and after[0] - beep_end < 2.5,
            "machine: the message is spoken after the beep (>= 1 s of "
            "audio, starting within 2.5 s)", after[:5])
    if amd:
        det = amd[0].get("ms", 0) / 1000.0
        during = peer.active(det + 1.0, beep_start - 0.1)
        t.check(len(during) <= 3, "machine: the agent is quiet from the "
                "detection (%.1f s) to the beep" % det, during[:10])
    before_beep = peer.active(beep_end - 2.0, beep_end)
    t.check(len(before_beep) <= 3,
            "machine: nothing is said over the beep", before_beep)
    res = [e for e in al.events_of("call_result")
           if e.get("call") == callid]
    t.check(res and res[-1].get("outcome") == "machine" and
            "message left" in res[-1].get("summary", ""),
            "machine: call_result says a machine took a message", res)
    t.check(harness.wait_for(lambda: results(hook, callid), 10),
            "machine: the result was POSTed to outbound_result_url")
    posted = results(hook, callid)
    if posted:
        h, j = posted[0]
        t.note("posted: %s" % j)
        t.check(j.get("outcome") == "machine" and j.get("machine") is True
                and j.get("objective") == OBJECTIVE and
                "message left" in (j.get("summary") or ""),
                "machine: the posted result says machine, with the "
                "objective and summary", j)
        t.check(h.get("authorization") == "Bearer " + RESULT_TOKEN,
                "machine: the POST carries the bearer token", h)


def machine_hangup(t, al, hook):
    """amd_action = hangup (changed at run time): BYE at the detection,
    before the beep; nothing said after it."""
    st, v, _ = Api("127.0.0.1", al.api_port, TOKEN).req(
        "PATCH", "/api/config", {"amd_action": "hangup"})
    t.check(st == 200, "hangup: amd_action set at run time", (st, v))
    greet = to_ulaw(t, harness.speech_wav(t, GREETING, "greeting2"),
                    "greeting2")
    beep = tone_ulaw(t, 1000, 0.5, "beep2")
    audio = greet + b"\xff" * 2400 + beep + b"\xff" * 8000 * 15
    beep_start = (len(greet) + 2400) / 8000.0
    callid, peer, r = place(t, al, "machine_hangup", audio)
    t.check(r.ok, "hangup: SIPp got agentline's BYE", (r.errors or "")[-800:])
    amd = [e for e in al.events_of("amd") if e.get("call") == callid]
    t.check([e.get("result") for e in amd] == ["machine"] and
            amd[0].get("action") == "hangup",
            "hangup: a machine, action hangup, no beep awaited", amd)
    ended = [e for e in al.events_of("call_ended")
             if e.get("call") == callid]
    t.check(ended and amd and ended[0]["ts"] - amd[0]["ts"] < 2.0 and
            not peer.active(beep_start, beep_start + 10),
            "hangup: the call ended at the detection, nothing was said "
            "after the beep", (ended, amd))
    t.check(harness.wait_for(lambda: results(hook, callid), 10),
            "hangup: the result was posted")
    posted = results(hook, callid)
    if posted:
        j = posted[0][1]
        t.check(j.get("outcome") == "machine" and
                "hung up without a message" in (j.get("summary") or ""),
                "hangup: the posted result says machine, no message", j)
    Api("127.0.0.1", al.api_port, TOKEN).req(
        "PATCH", "/api/config", {"amd_action": "message"})


def human(t, al, hook):
    hello = to_ulaw(t, harness.speech_wav(t, "Hello?", "hello"), "hello")
    audio = b"\xff" * 4000 + hello + b"\xff" * 8000 * 20
    callid, peer, r = place(t, al, "human", audio, hang_up_ms=9000)
    t.check(r.ok, "human: SIPp answered and hung up itself",
            (r.errors or "")[-800:])
    amd = [e for e in al.events_of("amd") if e.get("call") == callid]
    t.note("amd events: %s" % amd)
    t.check([e.get("result") for e in amd] == ["human"],
            "human: detected as a person (no machine, no beep)", amd)
    t.check(harness.wait_for(lambda: results(hook, callid), 10),
            "human: the result was POSTed to outbound_result_url")
    posted = results(hook, callid)
    if posted:
        j = posted[0][1]
        t.check(j.get("outcome") == "answered" and
                j.get("machine") is False,
                "human: the posted result says answered, not machine", j)
    t.check(not any("message left" in (e.get("summary") or "")
                    for e in al.events_of("call_result")
                    if e.get("call") == callid),
            "human: no message was left")


def body(t):
    hook = FakeWebhook()
    al = t.agentline(app="agent", brain="parrot", vad="energy",
                     codecs="PCMU", greeting_outgoing="",
                     silence_reprompt_secs=0, control_token=TOKEN,
                     outbound_result_url=hook.url,
                     outbound_result_token=RESULT_TOKEN)
    machine(t, al, hook)
    machine_hangup(t, al, hook)
    human(t, al, hook)
    t.check(RESULT_TOKEN not in al.log(), "the bearer token is not logged")
    t.check(al.alive(), "agentline still running")
    hook.stop()


harness.Test("amd").run(body)
