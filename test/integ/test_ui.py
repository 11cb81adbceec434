#!/usr/bin/python3
"""The control centre (served at /) in headless Chromium (Debian's
/usr/bin/chromium driven by playwright-core from deps/, see
scripts/setup.sh), against a real call:

 1. GET / serves the page with a content security policy, no token needed;
    /api/ still needs one;
 2. a wrong token is refused on the sign-in form; the right one signs in
    (session cookie) and the live-events socket connects;
 3. SIPp calls in (app agent, parrot brain, offline engines) speaking a
    flite sentence on a loop; the call's card shows the caller's words as
    agentline recognised them (the same text as its turn events);
 4. "Say" is accepted; "Take over" (when the server offers the agent
    WebSocket) puts the next caller turn to the page, and the typed reply
    is what agentline answers (its turn event);
 5. "Hang up" (armed, then confirmed) ends the call: SIPp receives BYE and
    answers it, call_ended has reason operator, the API no longer lists the
    call live and records it ended;
 6. its history entry opens with the turns and their timings; the
    messages inbox shows a stored message (caller fields as text, call-back
    link, audio) and deletes it; settings save (and refuse a bad value);
    a second agentline's failing registration shows with its reason;
 7. screenshots of each view at 1280 and 390 px wide are kept (path
    printed), and no view is wider than the window.
If chromium or playwright-core is missing it runs scripts/setup.sh, and
skips (77) only when they still cannot be installed."""
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from wsclient import Api  # noqa: E402

SKIP = 77
CHROMIUM = "/usr/bin/chromium"


def playwright_dir(src):
    for d in (os.environ.get("PLAYWRIGHT_CORE_DIR"),
              os.path.join(src, "deps", "playwright-core")):
        if d and os.path.isfile(os.path.join(d, "package.json")):
            return d
    return None


def artefact_dir(t):
    """Testing/ui next to the agentline binary (the build dir)."""
    d = os.path.join(os.path.dirname(t.agentline_bin), "Testing", "ui")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, exist_ok=True)
    return d


def caller_audio(t, run_dir):
    """1.5 s silence, a sentence, 4 s silence: looped by the scenario."""
    parts = [harness.silence_wav(t, 1.5, "s15"),
             harness.speech_wav(t, "Hello, can you hear me?", "hello"),
             harness.silence_wav(t, 4, "s4")]
    cat = os.path.join(t.dir, "caller_16k.wav")
    subprocess.run(["sox"] + parts + [cat], check=True, capture_output=True)
    os.makedirs(run_dir, exist_ok=True)
    subprocess.run(["sox", cat, "-r", "8000", "-e", "u-law",
                    os.path.join(run_dir, "tone_ulaw.wav")], check=True,
                   capture_output=True)


def wait_bye_scenario(t):
    """uac_wait_bye.xml with room for the browser (90 s to the BYE)."""
    with open(os.path.join(harness.SCENARIOS, "uac_wait_bye.xml")) as f:
        x = f.read().replace('timeout="30000"', 'timeout="90000"')
    dst = os.path.join(t.dir, "uac_wait_bye_ui.xml")
    with open(dst, "w") as f:
        f.write(x)
    return dst


class Driver:
    """The node script; its JSON lines read as they come."""

    def __init__(self, t, pw, url, token, out, url2):
        script = os.path.join(harness.HERE, "ui", "drive.js")
        self.proc = harness.Proc("drive", ["node", script, pw, url, token,
                                           out, url2], cwd=t.dir)
        self.seen = 0
        self.msgs = []

    def poll(self):
        lines = self.proc.stdout().splitlines()
        for ln in lines[self.seen:]:
            if not ln.endswith("}"):
                break                  # a line still being written
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


def have_browser(src):
    return os.access(CHROMIUM, os.X_OK) and playwright_dir(src) and \
        shutil.which("node")


def body(t):
    if not have_browser(t.source_dir):
        # scripts/setup.sh installs chromium (apt) and playwright-core
        # (npm) when they are missing; skip only if that cannot be done
        setup = os.path.join(t.source_dir, "scripts", "setup.sh")
        t.note("chromium or playwright-core missing: running " + setup)
        r = subprocess.run(["sh", setup], capture_output=True, text=True,
                           timeout=480)
        print(r.stdout[-2000:] + r.stderr[-2000:], flush=True)
    if not have_browser(t.source_dir):
        print("[ui] SKIP: %s, node and playwright-core (deps/) cannot be "
              "installed here" % CHROMIUM, flush=True)
        harness.cleanup_all()
        os._exit(SKIP)
    pw = playwright_dir(t.source_dir)

    out = artefact_dir(t)
    t.note("screenshots go to " + out)
    port = harness.free_port(udp=False)
    token = "ui-test-token-0123456789abcdef"
    rec = os.path.join(t.dir, "rec")
    os.makedirs(rec, exist_ok=True)
    al = t.agentline(app="agent", brain="parrot", vad="energy",
                     codecs="PCMU", silence_reprompt_secs=0,
                     greeting_incoming="Hello.", record_dir=rec,
                     control_listen="127.0.0.1:%d" % port,
                     control_token=token)
    api = Api("127.0.0.1", port, token)
    url = "http://127.0.0.1:%d" % port
    # a second agentline with an account whose registrar is not there, so
    # the registrations view has something to show
    port2 = harness.free_port(udp=False)
    t.agentline(name="agentline_reg", app="echo",
                control_listen="127.0.0.1:%d" % port2, control_token=token,
                sip_host="127.0.0.1", sip_port=harness.free_port(),
                sip_extension="1001", sip_password="not-a-password",
                sip_register_expires=60)
    url2 = "http://127.0.0.1:%d" % port2

    # 1. the page itself
    st, page, h = api.req("GET", "/", token=None)
    t.check(st == 200 and "text/html" in h.get("content-type", "") and
            "app.js" in str(page), "GET / serves the page without a token",
            (st, h))
    csp = h.get("content-security-policy", "")
    t.check("script-src 'self'" in csp and "unsafe-inline" not in csp,
            "page has a content security policy (%s)" % csp[:60])
    st, js, h = api.req("GET", "/app.js", token=None)
    t.check(st == 200 and "javascript" in h.get("content-type", ""),
            "GET /app.js serves the script", (st, h))
    etag = h.get("etag")
    st, _, _ = api.req("GET", "/app.js", token=None,
                       headers={"If-None-Match": etag or "x"})
    t.check(st == 304, "ETag revalidation answers 304 (%d)" % st)
    st, v, _ = api.req("GET", "/api/calls", token=None)
    t.check(st == 401, "the API still needs the token (%d)" % st)
    st, v, _ = api.req("GET", "/nope.js", token=None)
    t.check(st in (401, 404), "an unknown file is not served (%d)" % st)
    st, v, _ = api.req("GET", "/../app.js", token=None)
    t.check(st in (401, 404), "no path tricks (%d)" % st)
    st, v, h = api.req("HEAD", "/", token=None)
    t.check(st == 200 and v == "" and int(h.get("content-length", 0)) ==
            len(page.encode()), "HEAD / answers the headers only", h)
    t.check(h.get("x-frame-options") == "DENY" and
            "frame-ancestors 'none'" in h.get("content-security-policy", ""),
            "the page may not be framed")

    # a taken message, as the receptionist stores it, with markup in the
    # fields callers control
    audio = os.path.join(t.dir, "msg.wav")
    shutil.copy(harness.speech_wav(t, "Please call me back.", "msgsrc"),
                audio)
    db = sqlite3.connect(os.path.join(al.sets["data_dir"], "agentline.db"),
                         timeout=10)
    with db:
        db.execute("INSERT INTO messages (call, name, callback, text, "
                   "audio_path, ts, read) VALUES (?, ?, ?, ?, ?, ?, 0)",
                   ("c0ffee", "Ann <i>Lee</i>", "+49 30 123456",
                    "About the <script>order</script>", audio,
                    int(time.time() * 1000)))
    db.close()

    # 2.-5. the browser
    run_dir = os.path.join(t.dir, "sipp_ui")
    caller_audio(t, run_dir)
    drv = Driver(t, pw, url, token, out, url2)
    m = drv.wait("signed_in", 90)
    if not t.check(m and m.get("step") == "signed_in",
                   "signed in through the page", m):
        return
    sipp = t.sipp(wait_bye_scenario(t), al.sip_udp, calls=1, timeout=90,
                  name="sipp_ui", background=True)
    res = drv.wait("done", 200)
    t.check(res and res.get("step") == "done", "browser steps completed",
            res)
    res = res or {}
    if res.get("step") != "done":
        sipp.stop(timeout=3)
        return
    r = t.sipp_result(sipp, 30)
    t.note("browser: %s" % json.dumps({k: res.get(k) for k in (
        "call", "live_transcript", "live_replies", "live_badges",
        "live_timings", "ended_badge", "history_turns")})[:1500])

    t.check("not right" in (res.get("wrong_token_message") or "") and
            res.get("app_hidden_after_wrong"),
            "wrong token refused on the form", res.get("wrong_token_message"))

    callid = res.get("call")
    turns = [e for e in al.events_of("turn") if e.get("call") == callid]
    said = [e.get("transcript") for e in turns]
    live_text = res.get("live_transcript") or []
    t.check(live_text and all(x in said for x in live_text),
            "the card shows the recognised caller speech (%r)" % live_text,
            said)
    t.check(any("can you hear" in (x or "") for x in live_text),
            "the transcript is the caller's sentence", live_text)
    t.check(any(x.startswith("You said") for x in
                res.get("live_replies") or []),
            "the agent's reply is shown", res.get("live_replies"))
    t.check(any("PCMU" in b for b in res.get("live_badges") or []),
            "the card shows the codec", res.get("live_badges"))
    t.check(any("voice to voice" in x for x in
                res.get("live_timings") or []),
            "the card shows turn timings", res.get("live_timings"))

    t.check(res.get("said"), "say from the page accepted")
    t.check("Order 1234 shipped" in (res.get("context") or []),
            "a fact added from the card is in the call's context",
            res.get("context"))
    reply = res.get("takeover_reply")
    if reply:
        replies = [e.get("reply") for e in turns]
        t.check(reply in replies, "taken over: the typed reply answered "
                "a caller turn", replies)
        t.check(res.get("markup_elements") == 0 and
                any(reply in row for row in res.get("history_turns") or []),
                "markup in a reply is shown as text, live and in history",
                res.get("markup_elements"))
    else:
        t.note("the server offers no agent WebSocket: takeover not tested")

    # 4. the hang-up
    t.check(r.ok and r.successful == 1, "SIPp saw the call end with our "
            "BYE and answered it", r)
    t.check("BYE sip:" in r.messages, "a BYE reached SIPp")
    ended = harness.call_ended_by_call(al.events())
    t.check(callid in ended and ended[callid].get("reason") == "operator",
            "call_ended reason operator", ended.get(callid))
    t.check("operator" in (res.get("ended_badge") or ""),
            "the card says it ended (%r)" % res.get("ended_badge"))
    st, v, _ = api.req("GET", "/api/calls/" + str(callid))
    t.check(st == 200 and v.get("live") is None and v.get("record") and
            v["record"].get("ended"), "API: not live, recorded as ended",
            v)

    # 5. the history entry
    t.check(res.get("history_url", "").endswith("#call/" + str(callid)),
            "history entry opened (%s)" % res.get("history_url"))
    hturns = res.get("history_turns") or []
    t.check(hturns and any(live_text[0] in row for row in hturns),
            "history shows the turns with the transcript", hturns)
    t.check(hturns and any(c.endswith(" ms") for c in hturns[0]),
            "history shows per-turn timings", hturns[:1])
    facts = res.get("history_facts") or {}
    t.check(facts.get("End reason") == "operator" and
            facts.get("Codec") == "PCMU",
            "history facts: end reason and codec", facts)
    t.check(res.get("history_rows", 0) >= 1, "history list has the call")
    rows = res.get("scheduled_rows") or []
    t.check(len(rows) == 1 and rows[0][1] == "1234" and
            "opening hours" in rows[0][2], "a call scheduled from the page "
            "is listed", rows)
    st, v, _ = api.req("GET", "/api/calls/scheduled")
    sched = v.get("scheduled", []) if st == 200 else []
    t.check(res.get("scheduled_cancelled") and len(sched) == 1 and
            sched[0].get("state") == "cancelled" and
            sched[0].get("at") == int(time.mktime(
                (2031, 5, 4, 9, 30, 0, 0, 0, -1))),
            "the scheduled call (local time) was cancelled from the page",
            sched)
    regs = res.get("registrations") or []
    t.check(len(regs) == 1 and regs[0][1] == "failed" and
            "refused" in regs[0][4], "registrations view shows the "
            "account failing to register, with the reason", regs)
    m = res.get("message") or {}
    t.check(m.get("name") == "Ann <i>Lee</i>" and m.get("text") ==
            "About the <script>order</script>" and m.get("markup") == 0,
            "messages: caller fields shown as text", m)
    t.check((m.get("tel") or "").endswith("tel:+4930123456") and
            m.get("unread"), "messages: call-back link, unread", m)
    t.check(m.get("audio") == "player" or audio in m.get("audio", ""),
            "messages: audio playable or its file named", m.get("audio"))
    st, v, _ = api.req("GET", "/api/messages")
    t.check(res.get("message_deleted") and st == 200 and
            not v.get("messages"), "messages: deleted from the page", v)
    t.check(res.get("settings_runtime", 0) > 0,
            "settings view lists run-time settings")
    t.check(res.get("settings_bad", "").startswith("max_calls") or
            "max_calls" in res.get("settings_bad", ""),
            "a bad setting is refused with the reason (%r)"
            % res.get("settings_bad"))
    st, cfg, _ = api.req("GET", "/api/config")
    t.check(st == 200 and str(cfg.get("ring_timeout_secs", {}).get(
        "value")) == "45" and str(cfg.get("max_calls", {}).get("value")) !=
        "lots", "a setting saved from the page is in GET /api/config",
        (cfg.get("ring_timeout_secs"), cfg.get("max_calls")))
    t.check(res.get("after_signout_status") == 401,
            "signed out: the API refuses the page")

    # 6. screenshots
    shots = sorted(glob.glob(os.path.join(out, "*.png")))
    names = [os.path.basename(s) for s in shots]
    t.check(all(("%s-%d.png" % (v, w)) in names for v in
                ("live", "call", "history") for w in (1280, 390)),
            "screenshots at 1280 and 390 px kept in %s" % out, names)
    wide = {k: v for k, v in (res.get("overflow") or {}).items() if v > 0}
    t.check(not wide, "no view is wider than the window", wide)
    errs = [e for e in res.get("console_errors") or []
            if e.startswith("pageerror")]
    t.check(not errs, "no script errors in the page", errs)
    t.check(al.alive(), "agentline still running")


harness.Test("ui").run(body)
