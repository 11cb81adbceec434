#!/usr/bin/python3
"""The agent's tools over real SIP calls (brain = llm against the scripted
OpenAI-compatible server, SIPp as the caller).  The caller's keypad (SIP
INFO, and RFC 4733 for the confirm key) makes the turns; the server
answers each with the tool call under test.  Judged on what SIPp receives
(every SIP message is scripted: anything unexpected fails the call), the
RTP packets at the caller's media port, the events and the tool results
the model gets back:

 1. send_dtmf: the digits arrive at the far end as RFC 4733 events;
 2. hold_call / resume_call: re-INVITE a=sendonly, then a=sendrecv;
 3. transfer_blind by an owner: the confirm prompt, then REFER only after
    the caller pressed the confirm key (RFC 4733), NOTIFY 200 -> BYE;
 4. the same with the wrong key, and with no key: no REFER, the call
    stays up, the model hears "not_confirmed";
 5. an unknown caller (level 0): transfer_blind and place_call are denied,
    nothing happens on the wire;
 6. place_call: rings a SIPp UAS on the allow-list, the outcome (answered
    then the end of that call, or busy) comes back as the tool result."""
import json
import os
import re
import socket
import sys
import threading
import urllib.parse
import urllib.request

import harness

OWNER = "+15555550100"
STRANGER = "+15555550123"
CALLEE = "+15555550199"

GROUPS = {
    "groups": [
        {"name": "owner", "privilege_level": 3, "persona": "assistant"},
        {"name": "receptionist", "privilege_level": 0},
    ],
    "lists": {"owner": [OWNER]},
    "default_group": "receptionist",
    "default_country": "US",
}


class Server:
    """servers/openai_llm.py (scripted chat completions)."""

    def __init__(self, t):
        script = os.path.join(t.source_dir, "test", "integ", "servers",
                              "openai_llm.py")
        py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) \
            else sys.executable
        self.p = harness.Proc("openai_llm", [py, script], cwd=t.dir)
        if not harness.wait_for(lambda: "PORT" in self.p.stdout(), 10):
            raise harness.HarnessError("LLM test server did not start: " +
                                       self.p.stderr())
        self.port = int(self.p.stdout().split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def script(self, replies):
        req = urllib.request.Request(
            self.url + "/control", method="POST",
            data=json.dumps({"replies": replies}).encode())
        urllib.request.urlopen(req, timeout=5).read()

    def requests(self):
        with urllib.request.urlopen(self.url + "/requests", timeout=5) as r:
            return json.loads(r.read())


def tool_results(reqs):
    """Every tool message the model was sent (content strings)."""
    out = []
    for r in reqs:
        for m in (r.get("body") or {}).get("messages", []):
            if m.get("role") == "tool":
                out.append(m.get("content") or "")
    return out


def offered(reqs):
    """The tool names offered in each turn request (sets)."""
    return [{x["function"]["name"] for x in r["body"]["tools"]}
            for r in reqs
            if r.get("kind") == "turn" and (r.get("body") or {}).get("tools")]


class RtpSink:
    """The caller's RTP port: records (pt, marker, ts, payload)."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.pkts = []
        self.stop = False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        while not self.stop:
            try:
                d, _ = self.s.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(d) >= 12 and d[0] >> 6 == 2:
                self.pkts.append((d[1] & 0x7f, bool(d[1] & 0x80),
                                  int.from_bytes(d[4:8], "big"), d[12:]))

    def close(self):
        self.stop = True
        self.th.join(2)
        self.s.close()

    def events(self):
        """RFC 4733 events: [(event, marker_on_first, n_end_packets)]."""
        out = []
        for pt, m, ts, p in self.pkts:
            if pt != 101 or len(p) < 4:
                continue
            if not out or out[-1][0] != ts:
                out.append([ts, p[0], m, 0])
            if p[1] & 0x80:
                out[-1][3] += 1
        return [(e, m, n) for _, e, m, n in out]


HEAD = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="tools">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:%(user)s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio %(mport)s RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:%(user)s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="1500"/>
"""

INFO = """  <send retrans="500">
    <![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:%(user)s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %(cseq)d INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=%(digit)s
      Duration=160
    ]]>
  </send>
  <recv response="200"/>
"""

BYE = """  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:%(user)s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %(cseq)d BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
"""

REPLY = """  <send>
    <![CDATA[
      SIP/2.0 %(code)s
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sipp@[local_ip]:[local_port]>
      %(extra)sContent-Length: [len]
%(body)s
    ]]>
  </send>
"""

SDP_ANSWER = """      Content-Type: application/sdp
"""


def sdp(mport, direction):
    return """
      v=0
      o=sipp 53655765 2 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio %s RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=%s
""" % (mport, direction)


def recv_reinvite(direction, answer, mport):
    return ("""  <recv request="INVITE">
    <action><ereg regexp="a=%s" search_in="body" check_it="true"
      assign_to="d"/></action>
  </recv>
""" % direction) + REPLY % {"code": "200 OK", "extra": SDP_ANSWER,
                            "body": sdp(mport, answer)} + \
        """  <recv request="ACK"/>\n"""


def notify(user, cseq, state, frag):
    return """  <send retrans="500">
    <![CDATA[
      NOTIFY sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: caller <sip:%s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d NOTIFY
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Event: refer
      Subscription-State: %s
      Content-Type: message/sipfrag
      Content-Length: [len]

      SIP/2.0 %s
    ]]>
  </send>
  <recv response="200"/>
""" % (user, cseq, state, frag)


def pcap(digit):
    return ("""  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/"""
            """dtmf_2833_%s.pcap"/></action></nop>\n""" % digit)


def pause(ms):
    return """  <pause milliseconds="%d"/>\n""" % ms


class Scn:
    """A caller scenario built step by step (CSeq counted)."""

    def __init__(self, user, mport="[media_port]"):
        self.user = user
        self.mport = mport
        self.cseq = 1
        self.xml = HEAD % {"user": user, "mport": mport}

    def info(self, digits):
        for d in digits:
            self.cseq += 1
            self.xml += INFO % {"user": self.user, "cseq": self.cseq,
                                "digit": d}
        return self

    def add(self, s):
        self.xml += s
        return self

    def notify(self, state, frag):
        self.cseq += 1
        self.xml += notify(self.user, self.cseq, state, frag)
        return self

    def bye(self):
        self.cseq += 1
        self.xml += BYE % {"user": self.user, "cseq": self.cseq}
        return self

    def write(self, t, name):
        path = os.path.join(t.dir, name + ".xml")
        used = sorted(set(re.findall(r'assign_to="(\w+)"', self.xml)))
        ref = ('  <Reference variables="%s"/>\n' % ",".join(used)) \
            if used else ""
        with open(path, "w") as f:
            f.write(self.xml + ref + "</scenario>\n")
        return path


def tool(name, **args):
    return {"name": name, "arguments": args}


def sipp_ok(t, r, what):
    t.check(r.ok() if callable(getattr(r, "ok", None)) else r.ok,
            "%s: SIPp saw every message as scripted" % what,
            (r.errors or "")[-1500:] + (r.out or "")[-800:])


def tool_events(al, name):
    return [e for e in al.events_of("tool_call") if e.get("tool") == name]


def body(t):
    srv = Server(t)
    groups = os.path.join(t.dir, "groups.json")
    with open(groups, "w") as f:
        json.dump(GROUPS, f)
    al = t.agentline(app="agent", brain="llm",
                     llm_base_url=srv.url + "/v1", llm_model="test",
                     llm_retries=0, vad="energy", greeting_incoming="",
                     greeting_outgoing="", silence_reprompt_secs=0,
                     caller_groups_file=groups, outbound_allow=CALLEE,
                     transfer_confirm_digit="1", transfer_confirm_secs=3,
                     hang_up_farewell="")
    target = "sip:agent@%s" % al.sip_udp

    # 1. send_dtmf: RFC 4733 at the far end
    sink = RtpSink()
    srv.script([{"text": "Pressing the keys.",
                 "tool_calls": [tool("send_dtmf", digits="42#")]},
                {"text": "Done."}])
    s = Scn(OWNER, mport=str(sink.port)).info("5#").add(pause(4000)).bye()
    r = t.sipp(s.write(t, "dtmf"), al.sip_udp, timeout=30)
    sink.close()
    sipp_ok(t, r, "send_dtmf")
    ev = sink.events()
    t.check([e for e, _, _ in ev] == [4, 2, 11],
            "send_dtmf: events 4 2 # arrive at the far end", ev)
    t.check(all(m and n == 3 for _, m, n in ev),
            "send_dtmf: each event starts with the marker bit and ends "
            "with three end packets", ev)
    te = tool_events(al, "send_dtmf")
    t.check(te and te[-1].get("ok") is True and
            te[-1].get("decision") == "allow",
            "send_dtmf: tool_call event allow/ok", te)
    # the owner (level 3, dialling on) is offered the privileged tools
    owner_tools = offered(srv.requests())
    t.check(owner_tools and all({"send_dtmf", "hold_call", "place_call",
                                 "transfer_blind", "transfer_attended",
                                 "hang_up"} <= o for o in owner_tools),
            "offered tools: the owner's requests list the privileged "
            "tools", owner_tools)

    # 2. hold / resume
    srv.script([{"text": "Please hold.", "tool_calls": [tool("hold_call")]},
                {"text": "You are on hold."},
                {"text": "Back.", "tool_calls": [tool("resume_call")]},
                {"text": "I am back."}])
    s = Scn(OWNER).info("5#").add(recv_reinvite("sendonly", "recvonly",
                                                "[media_port]"))
    s.add(pause(1000)).info("6#").add(recv_reinvite("sendrecv", "sendrecv",
                                                    "[media_port]"))
    s.add(pause(1000)).bye()
    r = t.sipp(s.write(t, "hold"), al.sip_udp, timeout=30)
    sipp_ok(t, r, "hold_call/resume_call (sendonly then sendrecv "
            "re-INVITE)")

    # 3. blind transfer, confirmed with the right key (RFC 4733)
    srv.script([{"text": "I will transfer you.",
                 "tool_calls": [tool("transfer_blind", target="200")]},
                {"text": "Transferring."}])
    s = Scn(OWNER).info("5#").add(pause(2500)).add(pcap("1"))
    s.add("""  <recv request="REFER">
    <action>
      <ereg regexp="sip:200@127\\.0\\.0\\.1" search_in="hdr"
        header="Refer-To:" check_it="true" assign_to="r"/>
      <ereg regexp="sip:" search_in="hdr" header="Referred-By:"
        check_it="true" assign_to="b"/>
    </action>
  </recv>
""")
    s.add(REPLY % {"code": "202 Accepted", "extra": "", "body": ""})
    s.notify("active;expires=60", "100 Trying")
    s.notify("terminated;reason=noresource", "200 OK")
    s.add("""  <recv request="BYE"/>\n""")
    s.add(REPLY % {"code": "200 OK", "extra": "", "body": ""})
    r = t.sipp(s.write(t, "xfer_ok"), al.sip_udp, timeout=30)
    sipp_ok(t, r, "transfer_blind: REFER only after the confirm key, "
            "then BYE")
    te = tool_events(al, "transfer_blind")
    t.check(te and te[-1].get("ok") is True,
            "transfer_blind: tool_call ok", te)
    xe = al.events_of("transfer")
    t.check(xe and xe[-1].get("ok") is True and
            xe[-1].get("sip_code") == 200,
            "transfer_blind: transfer event with NOTIFY 200", xe)

    # 4. wrong key, then no key: nothing is transferred (an unexpected
    # REFER would fail the SIPp call)
    for name, steps in (("xfer_wrong", lambda s: s.add(pcap("9"))),
                        ("xfer_absent", lambda s: s)):
        srv.script([{"text": "I will transfer you.",
                     "tool_calls": [tool("transfer_blind", target="200")]},
                    {"text": "The transfer did not happen."}])
        n0 = len(srv.requests())
        s = Scn(OWNER).info("5#").add(pause(2500))
        steps(s)
        s.add(pause(4000)).bye()
        r = t.sipp(s.write(t, name), al.sip_udp, timeout=30)
        sipp_ok(t, r, "%s: no REFER, the call stays up" % name)
        res = tool_results(srv.requests()[n0:])
        t.check(any("not_confirmed" in x for x in res),
                "%s: the model hears not_confirmed" % name, res)

    # 5. an unknown caller: denied, nothing on the wire
    srv.script([{"text": "Let me do that.",
                 "tool_calls": [tool("transfer_blind", target="200"),
                                tool("place_call", number=CALLEE,
                                     objective="x")]},
                {"text": "I cannot do that."}])
    n0 = len(srv.requests())
    ncalls = len(al.events_of("call_incoming"))
    s = Scn(STRANGER).info("5#").add(pause(3500)).bye()
    r = t.sipp(s.write(t, "denied"), al.sip_udp, timeout=30)
    sipp_ok(t, r, "denied: no prompt wait, no REFER")
    res = tool_results(srv.requests()[n0:])
    t.check(len(res) == 2 and all('"category":"privilege"' in x
                                  for x in res),
            "denied: both tools denied with category privilege", res)
    # an unknown caller (level 0) is offered the SAFE tools only; the
    # scripted model asked for the others anyway and the gate said no
    stranger_tools = offered(srv.requests()[n0:])
    t.check(stranger_tools and all(
        o == {"hang_up", "report_call_result", "take_message"}
        for o in stranger_tools),
            "offered tools: an unknown caller's requests list only "
            "hang_up, report_call_result, take_message", stranger_tools)
    denials = [e for e in al.events_of("tool_call")
               if e.get("decision") == "deny"]
    t.check(len(denials) >= 2, "denied: tool_call deny events", denials)
    t.check(len(al.events_of("call_outcome")) == 0 and
            len(al.events_of("call_incoming")) == ncalls + 1,
            "denied: no outbound call was placed")

    # 6. place_call: answered (outcome after that call ends), then busy
    for name, code, want in (("place_answered", "200", "answered"),
                             ("place_busy", "486", "busy")):
        uas = os.path.join(t.dir, name + "_uas.xml")
        with open(uas, "w") as f:
            f.write(callee_xml(code))
        callee = t.sipp(uas, None, timeout=30, background=True,
                        name="sipp_" + name)
        number = "sip:%s@127.0.0.1:%d" % (CALLEE, callee.sipp_port)
        harness.wait_for(lambda: False, 0.5)
        srv.script([{"text": "I will call them.",
                     "tool_calls": [tool("place_call", number=number,
                                         objective="ask if they are "
                                         "open")]},
                    {"text": "They answered."}])
        n0 = len(srv.requests())
        s = Scn(OWNER).info("5#").add(pause(7000)).bye()
        r = t.sipp(s.write(t, name), al.sip_udp, timeout=30)
        sipp_ok(t, r, "%s: caller" % name)
        rc = t.sipp_result(callee, 20)
        sipp_ok(t, rc, "%s: the callee was rung" % name)
        res = tool_results(srv.requests()[n0:])
        t.check(any('"outcome":"%s"' % want in x for x in res),
                "%s: the model gets outcome %s" % (name, want), res)

    # 7. attended transfer: the consult leg rings the target (on the
    # allow-list), then the caller gets a REFER with Replaces naming that
    # dialog.  The caller then does what a phone does: INVITEs the target
    # with that Replaces header (a third SIPp); the target checks it names
    # the consult dialog it is in.  After NOTIFY 200 both of our legs end.
    uas = os.path.join(t.dir, "consult_uas.xml")
    with open(uas, "w") as f:
        f.write(callee_xml("wait"))
    callee = t.sipp(uas, None, calls=2, timeout=40, background=True,
                    name="sipp_consult")
    number = "sip:%s@127.0.0.1:%d" % (CALLEE, callee.sipp_port)
    harness.wait_for(lambda: False, 0.5)
    srv.script([{"text": "Let me connect you.",
                 "tool_calls": [tool("transfer_attended", target=number)]},
                {"text": "Connected."}])
    n0 = len(srv.requests())
    s = Scn(OWNER).info("5#")
    s.add("""  <recv request="REFER" timeout="10000">
    <action>
      <ereg regexp="sip:\\+15555550199@127\\.0\\.0\\.1:[0-9]+\\?Replaces=[^%%]+%%3Bto-tag%%3D[0-9]+SIPpTag01[0-9]+%%3Bfrom-tag%%3D"
        search_in="hdr" header="Refer-To:" check_it="true" assign_to="r"/>
    </action>
  </recv>
""".replace("%%", "%"))
    s.add(REPLY % {"code": "202 Accepted", "extra": "", "body": ""})
    s.add(pause(4000))   # meanwhile: the INVITE with Replaces
    s.notify("terminated;reason=noresource", "200 OK")
    s.add("""  <recv request="BYE"/>\n""")
    s.add(REPLY % {"code": "200 OK", "extra": "", "body": ""})
    caller = t.sipp(s.write(t, "attended"), al.sip_udp, timeout=40,
                    background=True, name="sipp_attended")
    mlog = os.path.join(caller.run_dir, "messages.log")

    def refer_to():
        try:
            m = re.search(r"^\s*Refer-To:\s*<([^>]+)>",
                          open(mlog, errors="replace").read(), re.M)
        except OSError:
            return None
        return m.group(1) if m else None
    rt = harness.wait_for(refer_to, 15)
    t.check(rt and "?Replaces=" in rt, "transfer_attended: the caller "
            "got Refer-To with Replaces", rt)
    if rt and "?Replaces=" in rt:
        uri, rep = rt.split("?Replaces=", 1)
        rep = urllib.parse.unquote(rep)
        path = os.path.join(t.dir, "replaces.xml")
        with open(path, "w") as f:
            f.write(REPLACER % {"uri": uri, "replaces": rep})
        rr = t.sipp(path, "127.0.0.1:%d" % callee.sipp_port, timeout=20,
                    name="sipp_replaces")
        sipp_ok(t, rr, "transfer_attended: the caller's INVITE with "
                "Replaces is answered by the target")
    r = t.sipp_result(caller, 30)
    sipp_ok(t, r, "transfer_attended: REFER with Replaces after the "
            "consult leg answered, then BYE")
    rc = t.sipp_result(callee, 30)
    sipp_ok(t, rc, "transfer_attended: the target took the consult call "
            "and the replacing call")
    tlog = rc.messages or ""
    invs = re.findall(r"^INVITE sip:.*?(?=^-{10,}|\Z)", tlog, re.M | re.S)
    oks = re.findall(r"^SIP/2.0 200 OK.*?(?=^-{10,}|\Z)", tlog,
                     re.M | re.S)

    def hdr(msg, name):
        m = re.search(r"^\s*%s:\s*(.*?)\s*$" % name, msg, re.M | re.I)
        return m.group(1) if m else ""

    def tag(v):
        m = re.search(r";tag=([^;>\s]+)", v)
        return m.group(1) if m else None
    ok_match = False
    if len(invs) >= 2 and oks:
        consult, repl = invs[0], invs[1]
        cid = hdr(consult, "Call-ID")
        ftag = tag(hdr(consult, "From"))
        ttag = tag(hdr(oks[0], "To"))
        want = "%s;to-tag=%s;from-tag=%s" % (cid, ttag, ftag)
        ok_match = hdr(repl, "Replaces") == want
        t.note("consult dialog at the target: %s; Replaces: %s"
               % (want, hdr(repl, "Replaces")))
    t.check(ok_match, "transfer_attended: Replaces names the consult "
            "dialog exactly as the target knows it (Call-ID, its tag, "
            "ours)", (len(invs), [hdr(i, "Replaces") for i in invs]))
    res = tool_results(srv.requests()[n0:])
    t.check(any('"ok":true' in x and '"sip_code":200' in x for x in res),
            "transfer_attended: the model gets the NOTIFY outcome", res)

    t.check(al.alive(), "agentline still running")
    al.stop()
    rep = al.sanitizer_report()
    t.check(not rep, "no sanitizer report", rep)
    log = al.log()
    for num in (OWNER, STRANGER, CALLEE):
        t.check(num not in log, "no full number %s in the log" % num[-2:])


REPLACER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="replaces">
  <send retrans="500">
    <![CDATA[
      INVITE %(uri)s SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: transferee <sip:transferee@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <%(uri)s>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:transferee@[local_ip]:[local_port]>
      Max-Forwards: 70
      Replaces: %(replaces)s
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK %(uri)s SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: transferee <sip:transferee@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <%(uri)s>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="500"/>
  <send retrans="500">
    <![CDATA[
      BYE %(uri)s SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: transferee <sip:transferee@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <%(uri)s>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


def callee_xml(code):
    """A callee that answers (then hangs up after 1.5 s; code "wait":
    waits for our BYE) or is busy."""
    head = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="callee">
  <recv request="INVITE" rrs="true">
    <action><ereg regexp=".*" search_in="hdr" header="From:"
      assign_to="remote_from"/></action>
  </recv>
"""
    if code == "486":
        return head + """  <send>
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
  <Reference variables="remote_from"/>
</scenario>
"""
    answer = """  <send>
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
"""
    if code == "wait":
        return head + answer + """  <recv request="BYE" timeout="20000"/>
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
  <Reference variables="remote_from"/>
</scenario>
"""
    return head + answer + """  <pause milliseconds="1500"/>
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
</scenario>
"""


if __name__ == "__main__":
    harness.Test("tools_calls").run(body)
