#!/usr/bin/python3
"""The control centre's softphone (issue 7, path 2) in headless Chromium
(Debian's /usr/bin/chromium + playwright-core from deps/), with a fake
microphone playing a flite WAV (mono, 16-bit, 48 kHz):

 1. the page calls the agent over GET /api/phone (WebRTC: ICE-lite,
    DTLS-SRTP, Opus); the agent's greeting is heard in the browser (the
    WebAudio analyser's RMS over a floor); page load -> first agent audio
    is measured (five runs; the median goes into docs/benchmarks.md);
 2. hang-up from the page ends the call (call_ended, reason remote_bye);
 3. the caller's sentence is in the call's transcript (GET
    /api/calls/{id}); keypad digits (RTCDTMFSender, RFC 4733) arrive as
    dtmf events (masked: counted); the call is answered with Opus; while
    the page is muted the caller side of the call's recording is silent;
 4. hang-up from the daemon (POST /api/calls/{id}/hangup) ends it in the
    page;
 5. a live baresip call (app agent, the caller says a sentence every few
    seconds) is listened to from the page (it hears audio); take-over:
    the browser's microphone (a 1 kHz tone) reaches baresip (its
    recording has the tone in the take-over window and not before) while
    the agent stays quiet (caller turns in the window get no reply);
    release hands the call back (a later turn is answered);
 6. an offer whose a=fingerprint is not the browser's certificate: DTLS
    fails closed, the call ends (media_failed, "fingerprint mismatch" in
    the log) and no audio reaches the page.
Skips (77) only when chromium or playwright-core cannot be installed."""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from wsclient import Api, WsClient  # noqa: E402

SKIP = 77
CHROMIUM = "/usr/bin/chromium"
TOKEN = "phone-test-token-0123456789abcdef"
BENCH_RUNS = int(os.environ.get("PHONE_BENCH_RUNS", "5"))


def playwright_dir(src):
    for d in (os.environ.get("PLAYWRIGHT_CORE_DIR"),
              os.path.join(src, "deps", "playwright-core")):
        if d and os.path.isfile(os.path.join(d, "package.json")):
            return d
    return None


def have_browser(src):
    return os.access(CHROMIUM, os.X_OK) and playwright_dir(src) and \
        shutil.which("node")


class Driver:
    """ui/phone.js; its JSON lines read as they come."""

    def __init__(self, t, name, pw, url, mode, wav, runs=1):
        script = os.path.join(harness.HERE, "ui", "phone.js")
        self.proc = harness.Proc(name, ["node", script, pw, url, TOKEN,
                                        mode, wav, str(runs)], cwd=t.dir)
        self.seen = 0
        self.msgs = []

    def poll(self):
        for ln in self.proc.stdout().splitlines()[self.seen:]:
            if not ln.endswith("}"):
                break
            self.seen += 1
            try:
                self.msgs.append(json.loads(ln))
            except ValueError:
                self.msgs.append({"step": "noise", "line": ln})
        return self.msgs

    def wait(self, step, timeout):
        def got():
            for m in self.poll():
                if m.get("step") in (step, "error"):
                    return m
            if not self.proc.alive():
                for m in self.poll():
                    if m.get("step") in (step, "error"):
                        return m
                return {"step": "error", "message": "driver exited: " +
                        self.proc.stderr()[-3000:]}
            return None
        return harness.wait_for(got, timeout, 0.1)


def wav48(t, parts, name):
    """Concatenate 16 kHz parts and make the fake microphone's file:
    mono, 16-bit, 48 kHz."""
    out = os.path.join(t.dir, name + ".wav")
    subprocess.run(["sox"] + parts + ["-r", "48000", "-c", "1", "-b", "16",
                                      out], check=True, capture_output=True)
    return out


def tone48(t, hz, secs, name):
    out = os.path.join(t.dir, name + ".wav")
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "1", "-b", "16", out,
                    "synth", str(secs), "sine", str(hz), "vol", "0.5"],
                   check=True, capture_output=True)
    return out


def tone_ratio(samples, rate, hz, t0, t1):
    """Power at hz over the strongest of some other frequencies in the
    window [t0, t1] seconds, and the window's RMS (full scale 1)."""
    seg = samples[int(t0 * rate):int(t1 * rate)]
    if len(seg) < rate // 4:
        return 0.0, 0.0
    p = harness.goertzel_power(seg, rate, hz)
    po = max(harness.goertzel_power(seg, rate, f)
             for f in (300, 500, 700, 1500, 2500))
    r = harness.rms(seg)
    return (p / po if po > 0 else float("inf")), r


def ev_ts(e):
    """Event time in seconds."""
    ts = e.get("ts", 0)
    return ts / 1000.0 if ts > 1e11 else float(ts)


def softphone_call(t, al, api, pw, url):
    sentence = "Hello agent, can you hear me?"
    mic = wav48(t, [harness.silence_wav(t, 1.0, "mic_s1"),
                    harness.speech_wav(t, sentence, "mic_said"),
                    harness.silence_wav(t, 3.0, "mic_s3")], "mic_call")
    evws = WsClient("127.0.0.1", al.api_port, "/api/events", token=TOKEN)
    drv = Driver(t, "phone_call", pw, url, "call", mic, BENCH_RUNS)
    m = drv.wait("signed_in", 90)
    if not t.check(m and m.get("step") == "signed_in",
                   "signed in; the softphone panel is offered", m):
        return None
    m = drv.wait("in_call", 180)
    if not t.check(m and m.get("step") == "in_call",
                   "page calls, hears the agent, hangs up, calls again "
                   "and keys digits", m):
        return None
    callid = m.get("call")
    incall = m
    firsts = [x.get("ms") for x in drv.poll() if x.get("step") ==
              "first_audio"]
    t.note("page load -> first agent audio (ms): %s" % firsts)
    for x in drv.poll():
        if x.get("step") == "first_audio":
            t.note("  steps (ms from navigation): %s" % json.dumps(
                x.get("marks")))

    # 1./2. every benchmark call was answered with Opus, heard and hung up
    # from the page
    ended = harness.call_ended_by_call(al.events())
    answered = {e.get("call"): e for e in al.events_of("call_answered")}
    incoming = {e.get("call"): e for e in al.events_of("call_incoming")}
    bench_ids = [x.get("call") for x in drv.poll()
                 if x.get("step") == "first_audio"]
    t.check(len(bench_ids) == BENCH_RUNS and all(
        answered.get(c, {}).get("codec") == "opus" for c in bench_ids),
        "each page call answered with Opus (%d)" % len(bench_ids),
        [answered.get(c) for c in bench_ids])
    t.check(all(incoming.get(c, {}).get("channel") == "webrtc"
                for c in bench_ids),
            "call_incoming says channel webrtc",
            [incoming.get(c) for c in bench_ids])
    t.check(all(ended.get(c, {}).get("reason") == "remote_bye"
                for c in bench_ids),
            "hang-up from the page ends the call (reason remote_bye)",
            [ended.get(c) for c in bench_ids])

    # 3. the caller's sentence in the call's transcript, keypad digits
    def said():
        st, v, _ = api.req("GET", "/api/calls/" + callid)
        turns = (v.get("record") or {}).get("turns") or [] \
            if st == 200 else []
        return [x for x in turns if "hear" in (x.get("transcript") or "")
                ] and turns
    turns = harness.wait_for(said, 30, 0.5)
    t.check(turns, "the caller's sentence is in the call's transcript "
            "(GET /api/calls/{id})",
            api.req("GET", "/api/calls/" + callid)[1])
    t.note("transcript: %r" % [x.get("transcript") for x in turns or []])
    dtmf = harness.wait_for(lambda: len([
        e for e in al.events_of("dtmf") if e.get("call") == callid]) >= 4,
        10)
    keys = [e for e in al.events_of("dtmf") if e.get("call") == callid]
    t.check(dtmf and all(e.get("source") == "rfc4733" for e in keys),
            "the 4 keypad digits arrived as RFC 4733 dtmf events (%d)"
            % len(keys), keys)
    t.check(all(e.get("digit") == "*" for e in keys),
            "dtmf events keep the digits masked")
    seen = []

    def four():
        while True:
            x = evws.recv_json(0.2)
            if x is None:
                break
            if x.get("event") == "dtmf" and x.get("call") == callid:
                seen.append(x)
        return len(seen) >= 4
    harness.wait_for(four, 10)
    evws.close()
    t.check(len(seen) == 4 and all(x.get("digit") == "*" for x in seen),
            "/api/events carried the 4 keypad presses, masked (%d)"
            % len(seen), seen)
    st, v, _ = api.req("GET", "/api/calls/" + callid)
    live = v.get("live") or {} if st == 200 else {}
    t.check(live.get("group") and live.get("codec") == "opus",
            "API: the softphone call is live with its group and codec",
            v)

    # 4. the daemon hangs up: the page sees it
    st, v, _ = api.req("POST", "/api/calls/%s/hangup" % callid, {})
    t.check(st in (200, 202), "API hangup accepted (%d)" % st, v)
    res = drv.wait("done", 30)
    t.check(res and res.get("step") == "done" and "ended" in (
        res.get("daemon_hangup_status") or "").lower(),
        "hang-up from the daemon ends the call in the page", res)
    res = res or {}
    ended = harness.call_ended_by_call(al.events())
    t.check(ended.get(callid, {}).get("reason") == "operator",
            "call_ended reason operator", ended.get(callid))
    t.check((res.get("greeting_level_max") or 0) > 0.01,
            "the agent's greeting is heard in the browser (RMS %.3f)"
            % (res.get("greeting_level_max") or 0))
    errs = [e for e in res.get("console_errors") or []
            if e.startswith("pageerror")]
    t.check(not errs, "no script errors in the page", errs)

    # mute: the caller side of the call's recording is silent meanwhile
    st, v, _ = api.req("GET", "/api/calls/" + callid)
    rec = ((v.get("record") or {}).get("recording") or "") \
        if st == 200 else ""
    ans = [e for e in al.events_of("call_answered")
           if e.get("call") == callid]
    if t.check(rec and os.path.exists(rec) and ans,
               "the softphone call was recorded", (rec, v)):
        caller, _ = harness.read_stereo_rec(rec)
        t0 = ev_ts(ans[0])
        mute = incall.get("muted_at", 0) / 1000.0 - t0
        unmute = incall.get("unmuted_at", 0) / 1000.0 - t0
        seg = lambda a, b: [x / 32768.0 for x in
                            caller[int(a * 16000):int(b * 16000)]]
        r_on = harness.rms(seg(0.5, mute))
        r_muted = harness.rms(seg(mute + 0.4, unmute - 0.1))
        t.note("caller channel rms: before mute %.4f, muted (%.1f-%.1f s) "
               "%.4f" % (r_on, mute, unmute, r_muted))
        t.check(r_on > 0.01 and r_muted < r_on / 10,
                "mute: the agent hears nothing from the page meanwhile "
                "(rms %.4f against %.4f)" % (r_muted, r_on))
    return firsts


def listen_takeover(t, al, pw, url):
    # the phone caller: a sentence every ~6 s for a minute
    said = harness.speech_wav(t, "I would like to know your opening "
                              "hours please.", "caller_said")
    parts = [harness.silence_wav(t, 2.0, "c_s2")]
    gap = harness.silence_wav(t, 4.0, "c_s4")
    for _ in range(10):
        parts += [said, gap]
    src = os.path.join(t.dir, "caller_8k.wav")
    subprocess.run(["sox"] + parts + ["-r", "8000", "-c", "1", "-b", "16",
                                      src], check=True, capture_output=True)
    mic = tone48(t, 1000, 30, "mic_tone")
    drv = Driver(t, "phone_listen", pw, url, "listen", mic)
    m = drv.wait("signed_in", 90)
    if not t.check(m and m.get("step") == "signed_in",
                   "listen page signed in", m):
        return
    b = harness.Baresip(t, "baresip_caller",
                        "sip:agent@127.0.0.1:%d" % al.port, 75, src,
                        ["pcmu"])
    m = drv.wait("listening", 60)
    t.check(m and m.get("step") == "listening" and
            (m.get("level") or 0) > 0.01,
            "listen-in of a live baresip call hears audio (RMS %.3f)"
            % ((m or {}).get("level") or 0), m)
    res = drv.wait("done", 90)
    b.stop()
    if not t.check(res and res.get("step") == "done",
                   "listen, take over, release, stop in the page", res):
        return
    callid = res.get("call")
    tv = [e for e in al.events_of("takeover_voice")
          if e.get("call") == callid]
    t.check([e.get("on") for e in tv] == [True, False],
            "takeover_voice events on, then off", tv)
    li = [e for e in al.events_of("listen_in") if e.get("call") == callid]
    t.check([e.get("on") for e in li] == [True, False],
            "listen_in events on, then off", li)
    if len(tv) != 2:
        return
    on, off = ev_ts(tv[0]), ev_ts(tv[1])

    # the agent stayed quiet: caller turns heard in the window got no
    # reply; release handed back: a later turn was answered
    turns = [e for e in al.events_of("turn") if e.get("call") == callid]
    inside = [e for e in turns if on + 0.5 < ev_ts(e) < off]
    after = [e for e in turns if ev_ts(e) > off + 0.3]
    t.check(inside and not any(e.get("reply") for e in inside),
            "taken over: the caller's turns are transcribed, the agent "
            "does not answer them", inside)
    t.check(any((e.get("reply") or "").startswith("You said")
                for e in after),
            "released: the agent answers the caller again", after)

    # the browser's voice reached the phone caller
    recs = b.recordings("dec")
    if not t.check(recs, "baresip recorded what it heard", b.log()[-2000:]):
        return
    rate, samples = harness.read_wav_mono(recs[0])
    ans = [e for e in al.events_of("call_answered")
           if e.get("call") == callid]
    t0 = ev_ts(ans[0]) if ans else on - 5
    a, b_ = on - t0 + 1.0, off - t0 - 0.3
    ratio_in, rms_in = tone_ratio(samples, rate, 1000, a, b_)
    ratio_pre, rms_pre = tone_ratio(samples, rate, 1000, 0.5, on - t0 - 0.5)
    t.note("baresip heard: take-over window %.1f-%.1f s: 1 kHz ratio %.1f "
           "rms %.3f; before: ratio %.2f rms %.3f" % (a, b_, ratio_in,
                                                      rms_in, ratio_pre,
                                                      rms_pre))
    t.check(ratio_in > 20 and rms_in > 0.02,
            "take-over: the browser's 1 kHz tone reaches the phone caller "
            "(ratio %.0f, rms %.3f)" % (ratio_in, rms_in))
    t.check(ratio_pre < 5, "before the take-over the caller did not hear "
            "the browser (ratio %.2f)" % ratio_pre)


def plain_offer(port):
    """A plain RTP offer: refused (media would go wherever it says)."""
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
            "c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0 101\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n" % port)


def webrtc_offer():
    """A browser-like offer with no browser behind it: the call is set up
    (signalling), no media ever flows."""
    fp = ":".join("%02X" % i for i in range(32))
    return ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
            "a=group:BUNDLE 0\r\n"
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 126\r\n"
            "c=IN IP4 0.0.0.0\r\na=mid:0\r\n"
            "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
            "a=fingerprint:sha-256 %s\r\na=setup:actpass\r\n"
            "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
            "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
            "a=rtpmap:126 telephone-event/48000\r\na=sendrecv\r\n" % fp)


def protocol(t, al, api, port):
    """The socket's answers to wrong requests, one session per socket,
    SIP-only actions refused, and a closed socket ending its call."""
    ws = WsClient("127.0.0.1", port, "/api/phone", token=TOKEN)
    st = ws.recv_json()
    t.check(st.get("type") == "state" and st.get("mode") == "idle" and
            st.get("default_group") == "receptionist" and
            [g.get("name") for g in st.get("groups") or []] ==
            ["receptionist"], "on connect: state with the caller groups",
            st)

    def ask(msg):
        if isinstance(msg, str):
            ws.send_text(msg)
        else:
            ws.send_json(msg)
        return ws.recv_json()

    m = ask("{not json")
    t.check(m.get("type") == "error" and m.get("code") == "bad_json",
            "bad JSON: error bad_json", m)
    m = ask({"type": "call", "sdp": "v=0", "group": "nobody"})
    t.check(m.get("code") == "unknown_group", "unknown group refused", m)
    m = ask({"type": "call", "sdp": "this is no SDP"})
    t.check(m.get("code") == "media", "an unusable offer: error media", m)
    m = ask({"type": "listen", "call_id": "00000000", "sdp": "v=0"})
    t.check(m.get("code") == "not_found", "listen to no call: not_found",
            m)
    m = ask({"type": "takeover"})
    t.check(m.get("code") == "no_session", "take over without listening: "
            "no_session", m)
    m = ask({"type": "ping"})
    t.check(m.get("type") == "pong", "ping: pong", m)

    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    m = ask({"type": "call", "sdp": plain_offer(u.getsockname()[1])})
    t.check(m.get("code") == "media", "a plain RTP offer is refused", m)
    time.sleep(0.3)
    try:
        u.settimeout(0.2)
        got = u.recv(2000)
    except OSError:
        got = None
    t.check(got is None, "and no RTP went to the address it named")
    m = ask({"type": "call", "sdp": webrtc_offer(), "group": "receptionist"})
    callid = m.get("call_id")
    sdp = m.get("sdp") or ""
    t.check(m.get("type") == "answer" and callid and "a=ice-lite" in sdp
            and "a=fingerprint:sha-256" in sdp and "opus/48000" in sdp,
            "a WebRTC offer is answered ICE-lite with DTLS and Opus", m)
    st = ws.recv_json()
    t.check(st.get("mode") == "call" and st.get("call_id") == callid,
            "state: in call", st)
    m = ask({"type": "call", "sdp": webrtc_offer()})
    t.check(m.get("code") == "busy", "one session per socket: busy", m)
    st_, v, _ = api.req("POST", "/api/calls/%s/transfer" % callid,
                        {"target": "1234"})
    t.check(st_ == 409, "transfer of a softphone call refused (%d)" % st_,
            v)

    # a second page listens to that call and takes it over; the call
    # ends under it: the page is told, the take-over is released
    ws2 = WsClient("127.0.0.1", port, "/api/phone", token=TOKEN)
    ws2.recv_json()
    ws2.send_json({"type": "listen", "call_id": callid,
                   "sdp": webrtc_offer()})
    m = ws2.recv_json()
    t.check(m.get("type") == "answer" and m.get("call_id") == callid,
            "listen-in answered", m)
    ws2.recv_json()
    ws3 = WsClient("127.0.0.1", port, "/api/phone", token=TOKEN)
    ws3.recv_json()
    ws3.send_json({"type": "listen", "call_id": callid,
                   "sdp": webrtc_offer()})
    m = ws3.recv_json()
    t.check(m.get("code") == "busy", "one listener per call", m)
    ws3.close()
    ws2.send_json({"type": "takeover"})
    m = ws2.recv_json()
    t.check(m.get("type") == "state" and m.get("takeover") is True,
            "take-over acknowledged in the state", m)
    st_, v, _ = api.req("GET", "/api/calls")
    t.check([c.get("taken_over") for c in v.get("live", [])
             if c.get("id") == callid] == [True],
            "API: the call shows taken_over", v.get("live"))
    api.req("POST", "/api/calls/%s/hangup" % callid, {})
    m, _ = ws2.recv_until(lambda x: x.get("type") == "ended", 5)
    t.check(m and m.get("reason") == "call_ended",
            "the call ended under the listener: it is told", m)
    tv = [e.get("on") for e in al.events_of("takeover_voice")
          if e.get("call") == callid]
    t.check(tv == [True, False], "the take-over was released", tv)
    ws2.close()

    # a closed page ends its call
    ws = WsClient("127.0.0.1", port, "/api/phone", token=TOKEN)
    ws.recv_json()
    m = ask({"type": "call", "sdp": webrtc_offer()})
    callid = m.get("call_id")
    ws.recv_json()
    ws.close()
    ok = harness.wait_for(lambda: harness.call_ended_by_call(
        al.events()).get(callid), 5)
    t.check(ok and ok.get("reason") == "remote_bye",
            "closing the page's socket ends its call (remote_bye)", ok)
    u.close()


def bad_fingerprint(t, al, pw, url):
    """The page's offer names a certificate fingerprint its DTLS does not
    have: the handshake completes but the call is ended with a clear log
    line, no audio reaches the page, and agentline lives on."""
    mic = wav48(t, [harness.silence_wav(t, 2.0, "mic_fp")], "mic_fp48")
    drv = Driver(t, "phone_badfp", pw, url, "badfp", mic)
    m = drv.wait("done", 90)
    if not t.check(m and m.get("step") == "done",
                   "wrong fingerprint: the page's call ends by itself", m):
        return
    callid = m.get("call")
    ended = harness.wait_for(lambda: harness.call_ended_by_call(
        al.events()).get(callid), 10)
    t.check(ended and ended.get("reason") == "media_failed" and
            m.get("ended_reason") == "media_failed",
            "wrong fingerprint: the call ends as media_failed (and the "
            "page is told so)", [ended, m.get("ended_reason")])
    t.check(m.get("first_audio") is None,
            "wrong fingerprint: no agent audio reached the page", m)
    t.check("fingerprint mismatch" in al.log(),
            "wrong fingerprint: the log says \"fingerprint mismatch\"")


def body(t):
    if not have_browser(t.source_dir):
        setup = os.path.join(t.source_dir, "scripts", "setup.sh")
        t.note("chromium or playwright-core missing: running " + setup)
        r = subprocess.run(["sh", setup], capture_output=True, text=True,
                           timeout=480)
        print(r.stdout[-2000:] + r.stderr[-2000:], flush=True)
    if not have_browser(t.source_dir):
        print("[webrtc_phone] SKIP: %s, node and playwright-core cannot be "
              "installed here" % CHROMIUM, flush=True)
        harness.cleanup_all()
        os._exit(SKIP)
    pw = playwright_dir(t.source_dir)
    port = harness.free_port(udp=False)
    rec = os.path.join(t.dir, "rec")
    os.makedirs(rec, exist_ok=True)
    al = t.agentline(app="agent", brain="parrot", vad="energy",
                     codecs="PCMU", silence_reprompt_secs=0,
                     greeting_incoming="Hello.", record_dir=rec,
                     control_listen="127.0.0.1:%d" % port,
                     control_token=TOKEN)
    api = Api("127.0.0.1", port, TOKEN)
    url = "http://127.0.0.1:%d" % port

    # the socket needs the token or the session like /api/events
    try:
        WsClient("127.0.0.1", port, "/api/phone", token="wrong-token-00000")
        t.check(False, "GET /api/phone refuses a wrong token")
    except Exception:
        t.check(True, "GET /api/phone refuses a wrong token")

    protocol(t, al, api, port)
    firsts = softphone_call(t, al, api, pw, url)
    if firsts:
        med = statistics.median(firsts)
        t.note("BENCH page load -> first agent audio: median %d ms "
               "(runs %s)" % (med, firsts))
        out = os.environ.get("PHONE_BENCH_OUT")
        if out:
            with open(out, "w") as f:
                json.dump({"first_audio_ms": firsts, "median": med}, f)
    listen_takeover(t, al, pw, url)
    bad_fingerprint(t, al, pw, url)
    t.check(al.alive(), "agentline still running")


harness.Test("webrtc_phone").run(body)
