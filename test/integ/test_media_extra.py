#!/usr/bin/python3
"""Media behaviour beyond the basic call:
 1. RTP inactivity watchdog: a caller that sends no RTP is hung up with BYE
    after rtp_timeout_secs (event reason rtp_timeout).
 2. SIP over TLS with mandatory SDES-SRTP, baresip as the caller: the call
    is answered with SRTP on and baresip hears its 1 kHz tone echoed back
    (decrypted) at the right frequency and level.
 3. record_dir: a call is recorded as a stereo 16 kHz WAV, caller left,
    agent right (the echo), both carrying the caller's tone."""
import os
import glob
import time
import wave
import struct
import harness


def watchdog(t):
    al = t.agentline(name="al_watchdog", app="echo", rtp_timeout_secs=2)
    # SIPp's built-in uac sends no RTP at all and waits 10 s to hang up
    p = t.sipp("sn:uac", al.sip_udp, calls=1, duration_ms=10000,
               timeout=20, background=True, name="sipp_silent")
    ended = al.wait_events("call_ended", 1, timeout=8)
    t.check(len(ended) == 1 and ended[0].get("reason") == "rtp_timeout",
            "silent call ended by the RTP watchdog", al.events())
    t.check("no RTP" in al.log(), "watchdog logged why it hung up")
    p.stop(timeout=3)
    t.check(al.stop() == 0, "agentline exits 0")


def baresip_cfg(home, port, src, account_params):
    conf = os.path.join(home, ".baresip")
    os.makedirs(conf, exist_ok=True)
    os.makedirs(os.path.join(home, "rec"), exist_ok=True)
    lo, hi = harness.free_port_range(10)
    with open(os.path.join(conf, "config"), "w") as f:
        f.write("""poll_method epoll
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_player null,null
audio_source aufile,%s
audio_alert null,null
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module sndfile.so
module srtp.so
module menu.so
module_app account.so
module_app contact.so
snd_path %s
sip_verify_server no
""" % (port, src, lo, hi, os.path.join(home, "rec")))
    with open(os.path.join(conf, "accounts"), "w") as f:
        f.write("<sip:baresip@127.0.0.1:%d>;regint=0;audio_codecs=PCMU;%s\n"
                % (port, account_params))
    open(os.path.join(conf, "contacts"), "w").close()
    return conf


def srtp_tls(t):
    src = t.tone_ulaw(1000, 3, name="tone1k.wav")
    # baresip's aufile wants 16-bit PCM at the codec rate
    pcm = os.path.join(t.dir, "tone1k_pcm.wav")
    harness.make_tone_wav(pcm, 1000, 3, rate=8000)
    al = t.agentline(name="al_tls", tls=True, app="echo",
                     media_srtp="mandatory")
    home = os.path.join(t.dir, "baresip_tls")
    conf = baresip_cfg(home, harness.free_port(), pcm, "mediaenc=srtp-mand")
    bs = harness.Proc("baresip_tls", [
        "baresip", "-f", conf, "-e",
        "/dial sip:agent@127.0.0.1:%d;transport=tls" % al.tls_port,
        "-t", "5"], cwd=home, env={"HOME": home})
    bs.wait(20)
    ans = al.wait_events("call_answered", 1, timeout=5)
    t.check(len(ans) == 1 and ans[0].get("srtp") is True,
            "answered over TLS with SRTP on", al.events())
    inc = al.events_of("call_incoming")
    t.check(len(inc) == 1 and inc[0].get("transport") == "TLS",
            "the INVITE came over TLS", inc)
    recs = sorted(glob.glob(os.path.join(home, "rec", "*-dec.wav")))
    t.check(len(recs) == 1, "baresip recorded what it heard", recs)
    if recs:
        res = harness.analyse_tone(recs[0], 1000)
        t.check(res["rms"] > 0.1 and res["ratio"] > 100,
                "baresip heard the 1 kHz echo through SRTP", res)
    # a plain-RTP offer is refused while SRTP is mandatory
    home2 = os.path.join(t.dir, "baresip_plain")
    conf2 = baresip_cfg(home2, harness.free_port(), pcm, "")
    bs2 = harness.Proc("baresip_plain", [
        "baresip", "-f", conf2, "-e",
        "/dial sip:agent@127.0.0.1:%d;transport=tls" % al.tls_port,
        "-t", "3"], cwd=home2, env={"HOME": home2})
    bs2.wait(15)
    rej = [e for e in al.events_of("call_rejected") if e.get("code") == 488]
    t.check(len(rej) == 1, "plain RTP offer refused with 488", al.events())
    t.check(al.stop() == 0, "agentline exits 0")


def read_stereo(path):
    w = wave.open(path, "rb")
    ch, rate, n = w.getnchannels(), w.getframerate(), w.getnframes()
    data = w.readframes(n)
    w.close()
    s = struct.unpack("<%dh" % (len(data) // 2), data)
    return ch, rate, list(s[0::2]), list(s[1::2])


def recording(t):
    t.tone_ulaw(1000, 10)
    rec = os.path.join(t.dir, "recordings")
    os.makedirs(rec)
    al = t.agentline(name="al_rec", app="echo", record_dir=rec)
    r = t.sipp("uac_basic.xml", al.sip_udp, calls=1, duration_ms=3000,
               timeout=30, name="sipp_rec")
    t.check(r.ok and r.successful == 1, "recorded call succeeded", r)
    al.wait_events("call_ended", 1, timeout=5)
    t.check(al.stop() == 0, "agentline exits 0")
    files = glob.glob(os.path.join(rec, "*.wav"))
    t.check(len(files) == 1, "one recording in record_dir", files)
    if not files:
        return
    ch, rate, left, right = read_stereo(files[0])
    t.check(ch == 2 and rate == 16000, "stereo 16 kHz (%d ch, %d Hz)"
            % (ch, rate))
    t.check(len(left) >= 16000 * 2, "about 3 s recorded (%d frames)"
            % len(left))
    # skip the first half second (jitter buffer fill, echo latency)
    for side, samples in (("left (caller)", left), ("right (agent)",
                                                    right)):
        seg = samples[8000:8000 + 16000]
        p1k = harness.goertzel_power(seg, 16000, 1000)
        p3k = harness.goertzel_power(seg, 16000, 3100)
        t.check(harness.rms(seg) > 2000 and p1k > 100 * max(p3k, 1e-9),
                "%s channel carries the 1 kHz tone (rms %.0f)"
                % (side, harness.rms(seg)))


def body(t):
    watchdog(t)
    srtp_tls(t)
    recording(t)


harness.Test("media_extra").run(body)
