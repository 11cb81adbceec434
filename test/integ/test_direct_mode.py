#!/usr/bin/python3
"""Direct mode (no registration): only sip_inbound_allow may call.
 1. allow-list without 127.0.0.1: an INVITE from 127.0.0.1 gets 403 and a
    log line, OPTIONS still 200, no call event but call_rejected 403;
 2. allow-list with 127.0.0.1/32: the same INVITE is answered 200;
 3. IPv6: agentline on udp:[::1], SIPp calls from ::1 (default allow-list
    has ::1/128), RTP both ways."""
import re
import socket
import time
import harness

SDP = ("v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
       "t=0 0\r\nm=audio %d RTP/AVP 0\r\n")


def request(method, port, lport, cid, body=""):
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return ("%s sip:agent@127.0.0.1:%d SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n"
            "From: <sip:t@127.0.0.1>;tag=%s\r\nTo: <sip:agent@127.0.0.1>\r\n"
            "Call-ID: %s\r\nCSeq: 1 %s\r\nContact: <sip:t@127.0.0.1:%d>\r\n"
            "Max-Forwards: 70\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method, port, lport, cid, cid, cid, method, lport, ctype,
               len(body), body)).encode()


def final_code(sock, timeout=3):
    """Read responses until a final one; returns (codes seen, last)."""
    codes = []
    end = time.time() + timeout
    while time.time() < end:
        sock.settimeout(max(0.05, end - time.time()))
        try:
            data = sock.recv(65535).decode(errors="replace")
        except socket.timeout:
            break
        m = re.match(r"SIP/2.0 (\d{3})", data)
        if m:
            codes.append(int(m.group(1)))
            if int(m.group(1)) >= 200:
                return codes, data
    return codes, ""


def body(t):
    al = t.agentline(name="al_deny", app="echo",
                     sip_inbound_allow="10.0.0.0/8,::1/128")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    lport = s.getsockname()[1]
    s.sendto(request("INVITE", al.port, lport, "deny1", SDP % 40000),
             ("127.0.0.1", al.port))
    codes, _ = final_code(s)
    t.check(codes and codes[-1] == 403, "INVITE from 127.0.0.1 refused "
            "with 403 (got %s)" % codes)
    t.check("not in sip_inbound_allow" in al.log(),
            "refusal logged with the reason")
    t.check(not al.events_of("call_incoming") and
            any(e.get("code") == 403 for e in al.events_of("call_rejected")),
            "no call was set up; call_rejected 403", al.events())
    s.sendto(request("OPTIONS", al.port, lport, "opt1"),
             ("127.0.0.1", al.port))
    codes, _ = final_code(s)
    t.check(codes == [200], "OPTIONS still answered 200 (%s)" % codes)
    t.check(al.stop() == 0, "agentline exits 0")

    al = t.agentline(name="al_allow", app="echo",
                     sip_inbound_allow="127.0.0.1/32")
    s.sendto(request("INVITE", al.port, lport, "allow1", SDP % 40000),
             ("127.0.0.1", al.port))
    codes, resp = final_code(s)
    t.check(codes and codes[-1] == 200 and 180 in codes,
            "INVITE from an allowed source: 180 then 200 (%s)" % codes)
    t.check("m=audio" in resp, "200 carries an SDP answer")
    s.close()
    t.check(al.stop() == 0, "agentline exits 0 (drains the open call)")

    # IPv6 on ::1 with SIPp
    t.tone_ulaw(1000, 10)
    port6 = harness.free_port(host="::1")
    lo, hi = harness.free_port_range(100)
    al6 = harness.Agentline(t, "al_v6", {
        "sip_listen": "udp:[::1]:%d" % port6, "rtp_port_min": lo,
        "rtp_port_max": hi, "drain_secs": 2, "log_level": "info",
        "app": "echo"})
    t.agents.append(al6)
    sp = harness.free_port(host="::1")
    mp = harness.free_port_range(4)[0]
    p = harness.Proc("sipp_v6", [
        "sipp", "-sf", harness.SCENARIOS + "/uac_basic.xml",
        "[::1]:%d" % port6, "-s", "agent", "-i", "::1", "-p", str(sp),
        "-mi", "::1", "-mp", str(mp), "-m", "1", "-d", "2000",
        "-nostdin", "-timeout", "20s", "-timeout_error"], cwd=t.dir)
    rc = p.wait(40)
    t.check(rc == 0, "SIPp call over IPv6 succeeded (rc %s)" % rc,
            p.stdout()[-2000:] + p.stderr()[-2000:])
    ended = al6.wait_events("call_ended", 1, timeout=5)
    t.check(len(ended) == 1 and int(ended[0].get("rtp_rx", 0)) > 50 and
            int(ended[0].get("rtp_tx", 0)) > 50,
            "IPv6 call carried RTP both ways", ended)
    t.check(al6.stop() == 0, "agentline exits 0")


harness.Test("direct_mode").run(body)
