#!/usr/bin/python3
"""Malformed and hostile SIP/SDP over UDP and TCP, in the spirit of RFC 4475
torture tests: garbage, truncation, bad/negative/huge Content-Length,
missing mandatory headers, huge headers, many Vias, NUL bytes, bad version,
unknown methods, Max-Forwards 0, broken SDP in INVITEs.  agentline must
never crash; INVITEs with bad SDP get 400 or 488 (never 200); an unknown
method gets 405/501; afterwards a normal SIPp call still works."""
import random
import re
import socket
import time

import harness


def msg(method="OPTIONS", port=5060, body=b"", ctype=b"application/sdp",
        extra=b"", drop=(), clen=None, tag=None, ruri=None, version=b"SIP/2.0"):
    tag = tag or str(random.randrange(1 << 30)).encode()
    ruri = ruri or b"sip:agent@127.0.0.1:%d" % port
    hdrs = [
        (b"Via", b"SIP/2.0/%%s 127.0.0.1:%%d;branch=z9hG4bK%s;rport" % tag),
        (b"Max-Forwards", b"70"),
        (b"From", b"<sip:torture@127.0.0.1>;tag=f%s" % tag),
        (b"To", b"<sip:agent@127.0.0.1>"),
        (b"Call-ID", b"torture-%s@127.0.0.1" % tag),
        (b"CSeq", b"1 " + method.encode()),
        (b"Contact", b"<sip:torture@127.0.0.1:%%d>"),
    ]
    out = [method.encode() + b" " + ruri + b" " + version]
    for k, v in hdrs:
        if k.decode() not in drop:
            out.append(k + b": " + v)
    if extra:
        out.append(extra)
    if body:
        out.append(b"Content-Type: " + ctype)
    out.append(b"Content-Length: " + (str(len(body)).encode()
                                      if clen is None else clen))
    return b"\r\n".join(out) + b"\r\n\r\n" + body


GOOD_SDP = (b"v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            b"t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")

BAD_SDP = {
    "not_sdp": b"this is not an SDP body at all \x00\xff\r\n",
    "no_m_line": b"v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n",
    "no_common_codec": GOOD_SDP.replace(b"RTP/AVP 0", b"RTP/AVP 18").replace(
        b"a=rtpmap:0 PCMU/8000", b"a=rtpmap:18 G729/8000"),
    "bad_port": GOOD_SDP.replace(b"40000", b"99999999999"),
    "bad_conn": GOOD_SDP.replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 999.1.2"),
    "truncated": GOOD_SDP[:40],
    "huge_fmt_list": GOOD_SDP.replace(b"RTP/AVP 0", b"RTP/AVP " + b" ".join(
        str(i % 128).encode() for i in range(3000))),
    "video_only": GOOD_SDP.replace(b"m=audio 40000 RTP/AVP 0",
                                   b"m=video 40000 RTP/AVP 96"),
}


def torture_cases(port):
    c = []
    c.append(("garbage", bytes(random.randrange(256) for _ in range(700)), None))
    c.append(("crlf_keepalive", b"\r\n\r\n", None))
    c.append(("only_request_line", b"INVITE sip:agent@127.0.0.1 SIP/2.0\r\n\r\n", None))
    c.append(("bad_version", msg("OPTIONS", port, version=b"SIP/7.0"), None))
    c.append(("no_call_id", msg("OPTIONS", port, drop=("Call-ID",)), None))
    c.append(("no_cseq", msg("INVITE", port, GOOD_SDP, drop=("CSeq",)), None))
    c.append(("no_from_to", msg("INVITE", port, GOOD_SDP, drop=("From", "To")), None))
    c.append(("no_via", msg("OPTIONS", port, drop=("Via",)), None))
    c.append(("clen_too_big", msg("INVITE", port, GOOD_SDP, clen=b"9999"), None))
    c.append(("clen_negative", msg("INVITE", port, GOOD_SDP, clen=b"-5"), None))
    c.append(("clen_not_number", msg("INVITE", port, GOOD_SDP, clen=b"abc"), None))
    c.append(("clen_too_small", msg("INVITE", port, GOOD_SDP, clen=b"10"), None))
    c.append(("cseq_garbage", msg("OPTIONS", port).replace(b"CSeq: 1 OPTIONS", b"CSeq: 99999999999999999999 OPTIONS"), None))
    c.append(("cseq_method_mismatch", msg("OPTIONS", port).replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), None))
    c.append(("nul_bytes", msg("OPTIONS", port).replace(b"To: <", b"To: \x00\x00<"), None))
    c.append(("huge_header", msg("OPTIONS", port, extra=b"X-Huge: " + b"A" * 8000), None))
    c.append(("many_vias", msg("OPTIONS", port, extra=b"\r\n".join(
        b"Via: SIP/2.0/UDP 10.0.0.%d:5060;branch=z9hG4bKx%d" % (i % 250, i)
        for i in range(150))), None))
    c.append(("escaped_ruri", msg("OPTIONS", port, ruri=b"sip:%61%67%65%6e%74@127.0.0.1;;;lr=;=="), None))
    c.append(("bad_ruri", msg("OPTIONS", port, ruri=b"<<<>>>"), None))
    c.append(("unknown_method", msg("FOOBAR", port), (405, 501)))
    # a UAS is the last hop: 200 (processed) or 483 are both acceptable
    c.append(("max_forwards_0", msg("OPTIONS", port).replace(b"Max-Forwards: 70", b"Max-Forwards: 0"), (200, 483)))
    c.append(("bye_unknown_dialog", msg("BYE", port).replace(b"To: <sip:agent@127.0.0.1>", b"To: <sip:agent@127.0.0.1>;tag=nope"), (481,)))
    c.append(("ack_alone", msg("ACK", port), None))
    for name, sdp in BAD_SDP.items():
        # a 3000-entry format list that includes PCMU is odd but valid:
        # only require that it does not crash
        want = None if name == "huge_fmt_list" else (400, 488, 415, 606)
        c.append(("invite_sdp_" + name, msg("INVITE", port, sdp), want))
    c.append(("invite_wrong_ctype", msg("INVITE", port, b"hello", ctype=b"text/plain"), (400, 415, 488)))
    return c


def fill(m, transport, lport):
    return m.replace(b"SIP/2.0/%s", b"SIP/2.0/" + transport).replace(
        b"%d", str(lport).encode())


def send_udp(port, data, want, wait=0.6):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    data = fill(data, b"UDP", s.getsockname()[1])
    codes = []
    s.sendto(data, ("127.0.0.1", port))
    end = time.monotonic() + (wait if want else 0.25)
    while time.monotonic() < end:
        try:
            pkt = s.recv(65535)
        except socket.timeout:
            if want and any(c >= 200 for c in codes):
                break
            continue
        m = re.match(rb"SIP/2\.0 (\d{3})", pkt)
        if m:
            codes.append(int(m.group(1)))
    s.close()
    return codes


def send_tcp(port, data, want, wait=0.8, close_early=False):
    codes = []
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return None
    s.settimeout(0.2)
    data = fill(data, b"TCP", s.getsockname()[1])
    try:
        s.sendall(data[:len(data) // 2] if close_early else data)
    except OSError:
        pass
    buf = b""
    end = time.monotonic() + (0.1 if close_early else (wait if want else 0.3))
    while time.monotonic() < end:
        try:
            d = s.recv(65535)
            if not d:
                break
            buf += d
        except socket.timeout:
            continue
        except OSError:
            break
    s.close()
    codes = [int(x) for x in re.findall(rb"SIP/2\.0 (\d{3})", buf)]
    return codes


def body(t):
    random.seed(4475)
    t.tone_ulaw(1000, 10)
    al = t.agentline(app="echo")
    port = al.port
    answered_bad = []
    # fresh Call-ID/branch/tag per transport: re-sending the same request
    # over TCP would rightly be seen as a loop (482)
    cases = {tr: torture_cases(port) for tr in ("udp", "tcp")}
    for i in range(len(cases["udp"])):
        for tr in ("udp", "tcp"):
            name, data, want = cases[tr][i]
            if tr == "udp":
                codes = send_udp(port, data, want)
            else:
                codes = send_tcp(port, data, want)
            if not al.alive():
                t.check(False, "agentline alive after %s over %s" % (name, tr))
                return
            if codes and 200 in codes and name.startswith("invite_sdp") \
                    and want:
                answered_bad.append((name, tr))
            if want:
                final = [c for c in (codes or []) if c >= 200]
                t.check(final and final[0] in want,
                        "%s over %s -> %s (want one of %s)"
                        % (name, tr, final[:1], want), codes)
            else:
                t.note("%s over %s -> %s" % (name, tr, codes))
    t.check(not answered_bad, "no INVITE with bad SDP was answered 200",
            answered_bad)
    # truncated TCP stream: half a message, then close; a huge TCP header
    send_tcp(port, msg("INVITE", port, GOOD_SDP), None, close_early=True)
    send_tcp(port, msg("OPTIONS", port, extra=b"X-Huge: " + b"B" * 200000),
             None)
    send_tcp(port, b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 99999999\r\n\r\nxx",
             None, close_early=True)
    t.check(al.alive(), "agentline alive after the torture set")
    r = t.sipp("uac_basic.xml", al.sip_udp, calls=2, duration_ms=1000,
               timeout=30, name="sipp_after_torture")
    t.check(r.ok and r.successful == 2, "a normal SIPp call still works", r)
    r = t.sipp("uac_options.xml", al.sip_udp, calls=1, transport="t1",
               timeout=15, name="sipp_options_tcp_after")
    t.check(r.ok and r.successful == 1, "OPTIONS over TCP still answered", r)
    rc = al.stop()
    t.check(rc == 0, "clean exit 0 after the torture set (got %s)" % rc)


harness.Test("malformed").run(body)
