#!/usr/bin/python3
"""Caller groups at SIP admission, over real SIP with SIPp:

- a number in a declined_at_sip group gets 603 Decline at ring time: no
  180/183/200, no SDP answer, no call_incoming or call_answered, no RTP;
- an unknown caller's call is answered and runs as `receptionist` (level 0,
  number redacted in the call_incoming event);
- a listed caller is classified into its group;
- P-Asserted-Identity from a source not in trust_pai_from is ignored (the
  From user decides); from a trusted source it is honoured.

Full numbers never reach agentline's log or events."""
import json
import os
import re

import harness

BLOCKED = "+15555550177"
OWNER = "+15555550100"
UNKNOWN = "+15555550123"

GROUPS = {
    "groups": [
        {"name": "owner", "privilege_level": 3, "persona": "assistant"},
        {"name": "blocked", "privilege_level": 0, "declined_at_sip": True},
        {"name": "receptionist", "privilege_level": 0},
    ],
    "lists": {"owner": [OWNER], "blocked": ["+1 555 555 0177", "+1900*"]},
    "default_group": "receptionist",
    "match_order": ["blocked", "owner"],
    "default_country": "US",
}


def scenario(t, name, from_user, pai=None):
    """uac_basic.xml with our From user (and a P-Asserted-Identity)."""
    src = open(os.path.join(harness.SCENARIOS, "uac_basic.xml")).read()
    src = src.replace("From: sipp <sip:sipp@", "From: sipp <sip:%s@" % from_user)
    if pai:
        src = src.replace("      Subject: agentline integ basic\n",
                          "      Subject: agentline integ basic\n"
                          "      P-Asserted-Identity: <sip:%s@[local_ip]>\n"
                          % pai, 1)
    path = os.path.join(t.dir, name + ".xml")
    open(path, "w").write(src)
    return path


DECLINE = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="declined caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:%s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="603"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:%s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="500"/>
</scenario>
"""


def incoming_groups(al, n):
    evs = al.wait_events("call_incoming", n, timeout=10)
    return [(e.get("group"), e.get("privilege"), e.get("caller")) for e in evs]


def no_full_numbers(t, al, numbers):
    text = al.log() + open(al.events_path).read()
    for n in numbers:
        digits = n.lstrip("+")
        t.check(digits not in text,
                "%s: no full number ...%s in log or events" % (al.name, n[-2:]))


def body(t):
    t.tone_ulaw(1000, 10)
    gpath = os.path.join(t.dir, "groups.json")
    with open(gpath, "w") as f:
        json.dump(GROUPS, f)

    # --- without trust_pai_from
    al = t.agentline(name="al_untrusted", app="echo",
                     caller_groups_file=gpath)

    # blocked number: 603, nothing else
    path = os.path.join(t.dir, "decline.xml")
    open(path, "w").write(DECLINE % (BLOCKED, BLOCKED))
    r = t.sipp(path, al.sip_udp, calls=1, timeout=20, name="sipp_decline")
    t.check(r.ok and r.successful == 1,
            "SIPp: blocked caller got 603 Decline", r)
    msgs = r.messages
    t.check(re.search(r"SIP/2\.0 603 Decline", msgs) is not None,
            "603 Decline on the wire", msgs[-3000:])
    t.check(re.search(r"SIP/2\.0 (180|183|200)", msgs) is None and
            "m=audio" not in msgs.split("603 Decline")[-1],
            "no 180/183/200 and no SDP answer (no media)", msgs[-3000:])
    rej = al.wait_events("call_rejected", 1, timeout=5)
    t.check(len(rej) == 1 and rej[0].get("code") == 603 and
            rej[0].get("group") == "blocked",
            "call_rejected 603 with group blocked", rej)
    t.check(not al.events_of("call_incoming") and
            not al.events_of("call_answered"),
            "no call_incoming/call_answered for the blocked caller",
            al.events())

    # unknown caller: answered as receptionist
    r = t.sipp(scenario(t, "unknown", UNKNOWN), al.sip_udp, calls=1,
               duration_ms=1000, timeout=20, name="sipp_unknown")
    t.check(r.ok and r.successful == 1, "unknown caller's call answered", r)
    g = incoming_groups(al, 1)
    t.check(g and g[0] == ("receptionist", 0, "\u2026" + UNKNOWN[-2:]),
            "unknown caller runs as receptionist, level 0, caller redacted",
            g)
    ended = al.wait_events("call_ended", 1, timeout=10)
    t.check(ended and int(ended[0].get("rtp_rx", 0)) > 10,
            "the receptionist call had media", ended)

    # the owner's number in From: owner
    r = t.sipp(scenario(t, "owner", OWNER), al.sip_udp, calls=1,
               duration_ms=500, timeout=20, name="sipp_owner")
    g = incoming_groups(al, 2)
    t.check(r.ok and len(g) == 2 and g[1][:2] == ("owner", 3),
            "From user on the owner list: group owner, level 3", g)

    # PAI claiming the owner from an untrusted source: ignored
    r = t.sipp(scenario(t, "pai_untrusted", UNKNOWN, pai=OWNER), al.sip_udp,
               calls=1, duration_ms=500, timeout=20, name="sipp_pai_untr")
    g = incoming_groups(al, 3)
    t.check(r.ok and len(g) == 3 and g[2][:2] == ("receptionist", 0),
            "P-Asserted-Identity from an untrusted source is ignored", g)
    # a blocked caller cannot hide behind an untrusted PAI either
    path = os.path.join(t.dir, "decline_pai.xml")
    open(path, "w").write((DECLINE % (BLOCKED, BLOCKED)).replace(
        "      Max-Forwards: 70\n      Content-Type",
        "      Max-Forwards: 70\n      P-Asserted-Identity: <sip:%s@[local_ip]>"
        "\n      Content-Type" % OWNER, 1))
    r = t.sipp(path, al.sip_udp, calls=1, timeout=20, name="sipp_decline_pai")
    t.check(r.ok and r.successful == 1,
            "blocked From with an untrusted owner PAI still gets 603", r)
    no_full_numbers(t, al, [BLOCKED, OWNER, UNKNOWN])
    al.stop()

    # --- the PBX (127.0.0.1) is trusted: its PAI decides
    al2 = t.agentline(name="al_trusted", app="echo", caller_groups_file=gpath,
                      trust_pai_from="127.0.0.1/32")
    r = t.sipp(scenario(t, "pai_trusted", UNKNOWN, pai=OWNER), al2.sip_udp,
               calls=1, duration_ms=500, timeout=20, name="sipp_pai_tr")
    g = incoming_groups(al2, 1)
    t.check(r.ok and g and g[0][:2] == ("owner", 3),
            "P-Asserted-Identity from trust_pai_from is honoured", g)
    r = t.sipp(scenario(t, "pai_blocked", OWNER, pai=BLOCKED), al2.sip_udp,
               calls=1, timeout=20, name="sipp_pai_blocked",
               duration_ms=500)
    rej = al2.wait_events("call_rejected", 1, timeout=5)
    t.check(rej and rej[0].get("code") == 603,
            "a trusted PAI naming a blocked number is declined", rej)
    no_full_numbers(t, al2, [BLOCKED, OWNER, UNKNOWN])
    al2.stop()

    # --- a broken groups file stops start-up with a clear message
    bad = os.path.join(t.dir, "bad.json")
    with open(bad, "w") as f:
        json.dump({"groups": [{"name": "vip", "privilege_level": 2}],
                   "default_group": "vip"}, f)
    al3 = t.agentline(name="al_bad", app="echo", caller_groups_file=bad,
                      expect_ready=False)
    rc = al3.proc.wait(10)
    log = al3.log() + al3.proc.stdout()
    t.check(rc not in (None, 0) and "unknown callers must be unprivileged"
            in log, "a default group above level 0 is refused at start-up",
            log[-2000:])


harness.Test("trust_sip").run(body)
