#!/usr/bin/python3
"""Registrations through the control API against Kamailio (digest auth):
GET /api/registrations lists the account with registered true, its AOR,
code 200 and expiry; agentline_registered{account} is 1 in /metrics; an
account with a wrong password is listed registered false with its failure
code, and the gauge reads 0."""
import os
import sys

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from wsclient import Api  # noqa: E402
from test_api_contract import parse_prometheus  # noqa: E402

USERS = {"1001": "s3cret-1001"}


def body(t):
    kam = harness.Kamailio(t, "kamailio", USERS)
    sets = {"sip_host": "127.0.0.1", "sip_transport": "udp",
            "sip_port": kam.udp_port, "sip_register_expires": 60,
            "control_token": "reg-test-token-0123456789", "app": "echo"}
    al = t.agentline(name="good", sip_extension="1001",
                     sip_password=USERS["1001"], **sets)
    bad = t.agentline(name="bad", sip_extension="1001",
                      sip_password="wrong-password", **sets)
    api = Api("127.0.0.1", al.api_port, sets["control_token"])
    bapi = Api("127.0.0.1", bad.api_port, sets["control_token"])

    def regs(a):
        st, v, h = a.req("GET", "/api/registrations")
        return v if st == 200 else []
    t.check(harness.wait_for(lambda: regs(api) and regs(api)[0].get(
        "registered") is True, 10), "registered account listed", regs(api))
    r = regs(api)[0] if regs(api) else {}
    t.check(r.get("aor", "").startswith("sip:1001@") and
            r.get("code") == 200 and r.get("expires", 0) > 0 and
            r.get("since", 0) > 1e9, "aor, code 200, expiry, since", r)
    st, text, h = api.req("GET", "/metrics")
    samples, typed = parse_prometheus(text)
    t.check(samples.get(("agentline_registered", 'account="%s"' %
                         r.get("account"))) == 1.0,
            "agentline_registered gauge 1", [k for k in samples
                                             if "regist" in k[0]])
    t.check(harness.wait_for(lambda: regs(bapi) and regs(bapi)[0].get(
        "code", 0) >= 400, 10), "failing account shows its failure code",
        regs(bapi))
    b = regs(bapi)[0] if regs(bapi) else {}
    t.check(b.get("registered") is False and b.get("reason"),
            "failing account: registered false with a reason", b)
    st, text, h = bapi.req("GET", "/metrics")
    samples, typed = parse_prometheus(text)
    t.check(samples.get(("agentline_registered", 'account="%s"' %
                         b.get("account"))) == 0.0,
            "agentline_registered gauge 0 for the failing account")
    t.check("wrong-password" not in str(regs(bapi)),
            "no password in the answer")


harness.Test("api_reg").run(body)
