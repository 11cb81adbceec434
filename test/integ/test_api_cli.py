#!/usr/bin/python3
"""CLI over the control API: `agentline calls`, `call NUMBER --api
--objective`, `say`, `hangup`, `messages` against a running daemon, with the
token read from data_dir/control_token; a clear exit 3 when no daemon
answers; exit 1 and the JSON error for a wrong token.  (`agentline
call` without --api placing the call itself is test_sipp_uac.)"""
import http.client
import json
import os
import ssl
import stat
import subprocess

import harness


def cli(t, al, *args, sets=None):
    s = {"control_listen": "127.0.0.1:%d" % al.api_port,
         "data_dir": al.sets["data_dir"]}
    s.update(sets or {})
    argv = [t.agentline_bin] + list(args)
    for k, v in s.items():
        argv += ["--set", "%s=%s" % (k, v)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                       cwd=t.dir)
    try:
        out = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        out = p.stdout
    return p.returncode, out, p.stderr


def body(t):
    al = t.agentline(app="echo")
    t.check(harness.wait_for(lambda: os.path.exists(os.path.join(
        al.sets["data_dir"], "control_token")), 5), "token file exists")
    rc, out, err = cli(t, al, "calls")
    t.check(rc == 0 and isinstance(out, dict) and out.get("live") == [],
            "agentline calls: exit 0, no live calls", (rc, out, err))
    dead = harness.free_port()
    rc, out, err = cli(t, al, "call", "sip:nobody@127.0.0.1:%d" % dead,
                       "--api", "--objective", "Ask for the opening hours")
    t.check(rc == 0 and isinstance(out, dict) and out.get("id"),
            "agentline call --api: exit 0 with the call id",
            (rc, out, err))
    cid = out.get("id") if isinstance(out, dict) else "x"
    rc, out, err = cli(t, al, "calls")
    t.check(rc == 0 and any(c.get("id") == cid for c in out.get("live",
                                                                [])),
            "the placed call is listed live", out)
    rc, out, err = cli(t, al, "say", cid, "Hello there")
    t.check(rc == 1 and isinstance(out, dict) and "error" in out,
            "say on an echo call: exit 1 with the JSON error", (rc, out))
    rc, out, err = cli(t, al, "hangup", cid)
    t.check(rc == 0 and out == {"ok": True}, "hangup: exit 0",
            (rc, out, err))
    t.check(al.wait_events("call_ended", 1, timeout=10) and any(
        e.get("call") == cid and e.get("reason") == "operator"
        for e in al.events_of("call_ended")),
        "the call ended with reason operator", al.events_of("call_ended"))
    rc, out, err = cli(t, al, "messages")
    t.check(rc == 0 and isinstance(out, dict),
            "agentline messages: exit 0", (rc, out, err))
    rc, out, err = cli(t, al, "hangup", "nope")
    t.check(rc == 1 and out.get("error", {}).get("code") == "not_found",
            "hangup of an unknown id: exit 1, not_found", (rc, out))
    rc, out, err = cli(t, al, "calls",
                       sets={"control_token": "wrong-token-123456789"})
    t.check(rc == 1 and out.get("error", {}).get("code") ==
            "unauthorized", "wrong token: exit 1, unauthorized", (rc, out))
    free = harness.free_port(udp=False)
    rc, out, err = cli(t, al, "calls",
                       sets={"control_listen": "127.0.0.1:%d" % free})
    t.check(rc == 3 and "no daemon" in err, "no daemon: exit 3 and says so",
            (rc, err))
    rc, out, err = cli(t, al, "say", cid)
    t.check(rc == 2, "say without text: usage error (exit 2)", (rc, err))
    # HTTPS: certificate and key in separate files; the CLI trusts the
    # configured certificate
    crt, key = harness.make_cert(t.dir, "api")
    tl = t.agentline(name="tls", app="echo", control_tls_cert=crt,
                     control_tls_key=key,
                     control_token="tls-test-token-0123456789")
    ctx = ssl.create_default_context(cafile=crt)
    c = http.client.HTTPSConnection("127.0.0.1", tl.api_port, context=ctx,
                                    timeout=10)
    c.request("GET", "/api/calls", headers={
        "Authorization": "Bearer tls-test-token-0123456789"})
    r = c.getresponse()
    body = r.read()
    t.check(r.status == 200 and b'"live":[]' in body,
            "HTTPS: verified TLS and 200", body)
    c.close()
    pem = os.path.join(tl.sets["data_dir"], "control_tls.pem")
    t.check(os.path.exists(pem) and
            stat.S_IMODE(os.stat(pem).st_mode) == 0o600,
            "joined cert+key file is mode 0600")
    rc, out, err = cli(t, tl, "calls", sets={
        "control_tls_cert": crt, "control_tls_key": key,
        "control_token": "tls-test-token-0123456789"})
    t.check(rc == 0 and isinstance(out, dict) and out.get("live") == [],
            "CLI over HTTPS: exit 0", (rc, out, err))
    tl.stop()
    t.check(not os.path.exists(pem), "joined file removed at exit")
    t.check(al.alive(), "daemon still running")


harness.Test("api_cli").run(body)
