#!/usr/bin/python3
"""Kamailio 5.6 as registrar/proxy with digest auth (db_text subscriber).

- agentline registers extension 1001 over UDP (log line + registered event);
  SIPp calls 1001 through Kamailio and the call is answered;
- over TLS, verifying Kamailio's certificate with sip_tls_ca: registered;
- a wrong password: clear "wrong credentials" log, several
  registration_failed events with growing gaps, never a tight loop (counted
  in Kamailio's log too);
- a TLS server certificate whose SAN does not match the host is refused with
  a log line containing "certificate" and no registration."""
import re
import time

import harness

USERS = {"1001": "s3cret-1001", "1002": "s3cret-1002", "1003": "s3cret-1003"}


def reg_sets(kam, ext, password, transport="udp", port=None, **more):
    d = {"sip_host": "127.0.0.1", "sip_transport": transport,
         "sip_port": port or kam.udp_port, "sip_extension": ext,
         "sip_password": password, "sip_register_expires": 60}
    d.update(more)
    return d


def body(t):
    good_crt, good_key = harness.make_cert(t.dir, "good")
    bad_crt, bad_key = harness.make_cert(t.dir, "bad", cn="wrong.example",
                                         san="DNS:wrong.example")
    kam = harness.Kamailio(t, "kamailio", USERS, tls_cert=good_crt,
                           tls_key=good_key)
    t.tone_ulaw(1000, 10)

    # 1. UDP registration + a call through the proxy
    al = t.agentline(name="agentline_udp", app="echo",
                     **reg_sets(kam, "1001", USERS["1001"]))
    ok = harness.wait_for(lambda: "SIP registration established" in al.log(),
                          10)
    t.check(ok, "UDP: log says 'SIP registration established'",
            al.log(3000) + "\n--- kamailio ---\n" + kam.log()[-3000:])
    t.check(al.wait_events("registered", 1, timeout=3),
            "UDP: registered event", al.events())
    r = t.sipp("uac_proxy.xml", "127.0.0.1:%d" % kam.udp_port, calls=2,
               rate=5, duration_ms=1500, timeout=30, service="1001",
               name="sipp_via_kamailio")
    t.check(r.ok and r.successful == 2,
            "SIPp -> Kamailio -> agentline: 2 calls answered and completed",
            str(r) + "\n--- kamailio ---\n" + kam.log()[-3000:])
    ended = al.wait_events("call_ended", 2, timeout=8)
    t.check(len(al.events_of("call_answered")) == 2 and len(ended) == 2,
            "agentline answered and ended 2 calls", al.events())
    al.stop()

    # 2. TLS registration, server certificate verified against sip_tls_ca
    al = t.agentline(name="agentline_tls", app="echo", tls=True,
                     sip_tls_ca=good_crt,
                     **reg_sets(kam, "1002", USERS["1002"], "tls",
                                kam.tls_port))
    ok = harness.wait_for(lambda: "SIP registration established" in al.log(),
                          10)
    t.check(ok, "TLS: registration established", al.log(3000))
    al.stop()

    # 3. wrong password: clear error and backoff
    kam_before = len(re.findall(r"challenge REGISTER sip:1003@", kam.log()))
    al = t.agentline(name="agentline_badpw", app="echo",
                     **reg_sets(kam, "1003", "not-the-password"))
    WATCH = 30
    time.sleep(WATCH)
    fails = al.events_of("registration_failed")
    t.note("registration_failed events: %s" % [
        (round(float(e.get("ts", e.get("time", 0)) or 0), 1), e.get("code"))
        for e in fails])
    t.check("wrong credentials" in al.log(),
            "wrong password: log says 'wrong credentials'", al.log(3000))
    t.check(not al.events_of("registered"), "wrong password: never registered")
    t.check(len(fails) >= 2, "wrong password: >= 2 registration_failed events "
            "in %d s (got %d)" % (WATCH, len(fails)), al.events())
    t.check(all(int(e.get("code", 0) or 0) in (401, 403) for e in fails),
            "registration_failed code 401/403", fails)
    stamps = [float(e["ts"]) for e in fails if "ts" in e]
    if len(stamps) != len(fails):   # no ts field: fall back to the log lines
        stamps = [line_time(l) for l in al.log().splitlines()
                  if "wrong credentials" in l]
        stamps = [x for x in stamps if x is not None]
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    t.note("gaps between failures (s): %s" % [round(g, 1) for g in gaps])
    t.check(len(gaps) >= 1 and all(g >= 1.0 for g in gaps),
            "failures are spaced >= 1 s apart", gaps)
    t.check(len(gaps) < 2 or gaps[-1] > gaps[0] * 1.2,
            "the delay grows (backoff)", gaps)
    challenges = len(re.findall(r"challenge REGISTER sip:1003@", kam.log())) \
        - kam_before
    t.note("Kamailio challenged 1003 %d times in %d s" % (challenges, WATCH))
    t.check(challenges <= 3 * max(1, len(fails)),
            "no tight loop: <= 3 REGISTERs per failed attempt (Kamailio "
            "challenged %d REGISTERs for %d failures in %d s)"
            % (challenges, len(fails), WATCH))
    al.stop()

    # 4. TLS server certificate whose SAN does not match 127.0.0.1
    kam_bad = harness.Kamailio(t, "kamailio_badcert", USERS,
                               tls_cert=bad_crt, tls_key=bad_key)
    al = t.agentline(name="agentline_badcert", app="echo", tls=True,
                     sip_tls_ca=bad_crt,
                     **reg_sets(kam_bad, "1002", USERS["1002"], "tls",
                                kam_bad.tls_port))
    harness.wait_for(lambda: al.events_of("registration_failed") or
                     "certificate" in al.log().lower().split(
                         "agentline ready", 1)[-1], 15)
    time.sleep(1)
    after_ready = al.log().split("agentline ready", 1)[-1]
    t.check("certificate" in after_ready.lower(),
            "SAN mismatch: log line mentions 'certificate'", al.log(3000))
    t.check("SIP registration established" not in al.log(),
            "SAN mismatch: not registered", al.log(3000))
    t.check(al.alive(), "agentline still running")


def line_time(line):
    m = re.match(r"(\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d(?:\.\d+)?))", line)
    if not m:
        return None
    return int(m.group(2)) * 3600 + int(m.group(3)) * 60 + float(m.group(4))


harness.Test("kamailio").run(body)
