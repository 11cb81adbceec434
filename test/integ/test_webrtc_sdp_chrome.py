#!/usr/bin/env python3
"""integ.webrtc_sdp_chrome: headless Chromium (Debian's /usr/bin/chromium +
playwright-core from deps/) offers audio and video, sent without waiting for
ICE gathering; an agentline media stream (test/wrtc-answer, the same
mstream_offer_decode a call uses) answers. Checks that Chromium accepts the
answer (ICE-lite, DTLS fingerprint and role, rtcp-mux, BUNDLE, the declined
video keeping its a=mid), connects, and that Opus flows both ways through
DTLS-SRTP: Chromium counts the packets it received, the stream the audio
frames it decoded.
Skips (77) when chromium, node or playwright-core are missing."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def playwright_dir(src):
    for d in (os.environ.get("PLAYWRIGHT_CORE_DIR"),
              os.path.join(src, "deps", "playwright-core")):
        if d and os.path.isfile(os.path.join(d, "package.json")):
            return d
    return None


def body(t):
    helper = os.environ.get("INTEG_WRTC_ANSWER") or os.path.join(
        os.path.dirname(t.agentline_bin), "test", "wrtc-answer")
    pw = playwright_dir(t.source_dir)
    if not (os.access(CHROMIUM, os.X_OK) and pw and shutil.which("node")):
        print("[webrtc_sdp_chrome] SKIP: chromium, node or playwright-core "
              "missing (scripts/setup.sh installs them)", flush=True)
        sys.stdout.flush()
        os._exit(77)
    t.check(os.access(helper, os.X_OK), "wrtc-answer built (%s)" % helper)

    offer = os.path.join(t.dir, "offer.sdp")
    answer = os.path.join(t.dir, "answer.sdp")
    ans = subprocess.Popen([helper, offer, answer, "8"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        br = subprocess.run(
            ["node", os.path.join(t.source_dir, "test", "integ", "ui",
                                  "sdp_chrome.js"), pw, offer, answer],
            capture_output=True, text=True, timeout=60)
        out, err = ans.communicate(timeout=30)
    finally:
        if ans.poll() is None:
            ans.kill()
    t.note("chromium: " + br.stdout.strip())
    t.note("stream: " + out.strip())
    if err.strip():
        t.note("stream stderr: " + err.strip()[-500:])

    offer_sdp = open(offer).read() if os.path.exists(offer) else ""
    answer_sdp = open(answer).read() if os.path.exists(answer) else ""
    t.check("m=audio " in offer_sdp and
            "m=video 9 UDP/TLS/RTP/SAVPF" in offer_sdp,
            "Chromium offered audio + video", offer_sdp)
    t.check("a=ice-lite" in answer_sdp and "a=setup:passive" in answer_sdp
            and "a=rtcp-mux" in answer_sdp and "opus/48000/2" in answer_sdp
            and "a=crypto" not in answer_sdp,
            "answer is ICE-lite, DTLS passive, rtcp-mux, Opus", answer_sdp)
    video = answer_sdp.split("m=video", 1)
    t.check(len(video) == 2 and video[1].startswith(" 0 ") and
            "a=mid:" in video[1], "video declined (port 0) with its mid",
            answer_sdp)

    try:
        res = json.loads(br.stdout.strip().splitlines()[-1])
    except Exception:
        res = {}
        print(br.stdout, br.stderr)
    t.check(res.get("accepted"), "Chromium accepted the answer",
            res.get("error"))
    t.check(res.get("state") == "connected",
            "ICE + DTLS connected (%s ms)" % res.get("connect_ms"), res)
    t.check(res.get("audio_in", 0) > 50,
            "Chromium received our Opus (%s packets in 3 s)" %
            res.get("audio_in"), res)
    t.check("audio/opus" in res.get("codecs", []), "codec is Opus", res)
    kv = dict(x.split("=", 1) for x in out.split() if "=" in x)
    t.check(kv.get("codec") == "opus" and kv.get("webrtc") == "1",
            "stream negotiated Opus in WebRTC mode", out)
    t.check(int(kv.get("loud", 0)) > 50,
            "stream decoded Chromium's tone (%s frames)" % kv.get("loud"),
            out)
    t.check(kv.get("fail") == "-", "no transport failure", out)
    t.check("Sanitizer" not in err and "runtime error" not in err,
            "no sanitizer report from the stream", err[-3000:])


harness.Test("webrtc_sdp_chrome").run(body)
