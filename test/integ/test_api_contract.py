#!/usr/bin/python3
"""Control API contract: /health without a token and nothing else; the
generated token file (0600, never logged); 401 without / with a wrong
token on every endpoint and WebSocket; 400 bad JSON with a clear message;
404; 405; 413; 409 for security settings; PATCH /api/config; instructions;
Idempotency-Key replay; session cookie; Clawfinger aliases; /metrics parses;
and on a second instance with tight limits: 429 per-client rate, 429
WebSocket subscriber limit, 503 connection limit."""
import os
import re
import socket
import stat
import sys
import time

import harness

sys.path.insert(0, os.path.join(harness.HERE, "servers"))
from wsclient import Api, WsClient, WsError  # noqa: E402

# every route with a body that would pass validation
ENDPOINTS = [
    ("GET", "/api/calls", None),
    ("POST", "/api/calls", {"number": "100"}),
    ("GET", "/api/calls/scheduled", None),
    ("DELETE", "/api/calls/scheduled/1", None),
    ("GET", "/api/calls/abc", None),
    ("POST", "/api/calls/abc/hangup", None),
    ("POST", "/api/calls/abc/say", {"text": "hi"}),
    ("POST", "/api/calls/abc/dtmf", {"digits": "1"}),
    ("POST", "/api/calls/abc/transfer", {"target": "200"}),
    ("GET", "/api/instructions", None),
    ("POST", "/api/instructions", {"text": "x"}),
    ("POST", "/api/calls/abc/instructions", {"text": "x"}),
    ("DELETE", "/api/calls/abc/instructions", None),
    ("POST", "/api/calls/abc/instructions/turn", {"text": "x"}),
    ("GET", "/api/calls/abc/context", None),
    ("POST", "/api/calls/abc/context", {"text": "x"}),
    ("DELETE", "/api/calls/abc/context", None),
    ("GET", "/api/config", None),
    ("PATCH", "/api/config", {"max_calls": 5}),
    ("GET", "/api/messages", None),
    ("DELETE", "/api/messages/1", None),
    ("GET", "/api/history", None),
    ("DELETE", "/api/history/x", None),
    ("GET", "/api/registrations", None),
    ("GET", "/metrics", None),
    ("POST", "/api/call/dial", {"number": "100"}),
    ("POST", "/api/call/hangup", {"session_id": "abc"}),
    ("POST", "/api/call/inject", {"text": "hi", "session_id": "abc"}),
    ("GET", "/api/agent/sessions", None),
    ("GET", "/api/agent/call/abc", None),
    ("POST", "/api/logout", None),
]


def is_err(v, code=None):
    return (isinstance(v, dict) and isinstance(v.get("error"), dict) and
            isinstance(v["error"].get("code"), str) and
            isinstance(v["error"].get("message"), str) and
            (code is None or v["error"]["code"] == code))


def parse_prometheus(text):
    """{(name, labels): value}; raises ValueError on a malformed line."""
    out = {}
    typed = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? '
                         r'([-+]?[0-9.eE+]+|NaN|[+-]Inf)$')
    for ln in text.splitlines():
        if not ln:
            continue
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(" ", 3)
            if typ not in ("counter", "gauge", "histogram", "summary",
                           "untyped"):
                raise ValueError("bad type: " + ln)
            typed[name] = typ
            continue
        if ln.startswith("#"):
            continue
        m = line_re.match(ln)
        if not m:
            raise ValueError("bad sample line: %r" % ln)
        labels = m.group(3) or ""
        for part in filter(None, labels.split(",")):
            if not re.match(r'^[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"$', part):
                raise ValueError("bad label: %r" % ln)
        out[(m.group(1), labels)] = float(m.group(4))
    return out, typed


def start(t, name, **extra):
    port = harness.free_port(udp=False)
    al = t.agentline(name=name, app="echo", control_listen="127.0.0.1:%d"
                     % port, **extra)
    al.api_port = port
    return al


def body(t):
    al = start(t, "agentline", elevenlabs_api_key="hunter2-secret")
    port = al.api_port
    tok_path = os.path.join(t.dir, al.sets.get("data_dir", "data"),
                            "control_token")
    t.check(harness.wait_for(lambda: os.path.exists(tok_path), 5),
            "token generated into data_dir/control_token")
    token = open(tok_path).read().strip()
    mode = stat.S_IMODE(os.stat(tok_path).st_mode)
    t.check(mode == 0o600, "token file mode 0600 (got %o)" % mode)
    t.check(re.fullmatch(r"[0-9a-f]{64}", token) is not None,
            "token is 32 random bytes in hex")
    t.check(token not in al.log() and "control_token" in al.log(),
            "log names the token file but never the token")

    api = Api("127.0.0.1", port, token)
    st, v, h = api.req("GET", "/health", token=None)
    t.check(st == 200 and v == {"status": "up"},
            "/health without a token: 200 {\"status\":\"up\"} only", v)

    # 401 everywhere
    bad = []
    for method, path, b in ENDPOINTS:
        for tok in (None, "wrong-token-0123456789", token + "x"):
            st, v, h = api.req(method, path, body=b, token=tok)
            if st != 401 or not is_err(v, "unauthorized"):
                bad.append((method, path, tok and tok[:6], st, v))
    t.check(not bad, "%d endpoints x 3: 401 unauthorized without / with "
            "wrong token" % len(ENDPOINTS), bad)
    st, v, h = api.req("GET", "/api/calls", token=None)
    t.check(h.get("www-authenticate", "").startswith("Bearer"),
            "401 carries WWW-Authenticate: Bearer", h)
    for path in ("/api/events", "/api/agent/ws"):
        try:
            WsClient("127.0.0.1", port, path, token="nope")
            t.check(False, "%s without a token refused" % path)
        except WsError as e:
            t.check("401" in str(e), "%s with a wrong token: 401" % path,
                    str(e))

    # success paths
    st, v, h = api.req("GET", "/api/calls")
    t.check(st == 200 and v.get("live") == [] and
            isinstance(v.get("calls"), list) and v.get("limit") == 50 and
            v.get("total") == 0,
            "GET /api/calls: 200 live [] calls [] total 0 limit 50", v)
    st, v, h = api.req("GET", "/api/calls?offset=5&limit=9999")
    t.check(st == 200 and v.get("offset") == 5 and v.get("limit") == 500,
            "pagination: offset 5, limit capped at 500", v)
    t.check(h.get("content-type") == "application/json" and
            h.get("cache-control") == "no-store",
            "JSON content type, no-store", h)

    # 400 bad JSON, with a clear message
    for raw in (b"{bad", b"[1,2]", b"", b"\"str\"", b"{\"a\":1"):
        st, v, h = api.req("POST", "/api/calls", raw=raw,
                           headers={"Content-Type": "application/json"})
        t.check(st == 400 and is_err(v, "bad_json") and
                "JSON" in v["error"]["message"],
                "POST /api/calls %r: 400 bad_json naming JSON" % raw[:8], v)
    st, v, h = api.req("POST", "/api/calls", body={"number": 5})
    t.check(st == 400 and is_err(v, "bad_request") and
            "number" in v["error"]["message"],
            "number of the wrong type: 400 naming the field", v)
    st, v, h = api.req("POST", "/api/calls", body={"number": "100",
                                                   "at": "tomorrow"})
    t.check(st == 400 and "RFC 3339" in v["error"]["message"],
            "bad \"at\": 400 naming RFC 3339", v)
    st, v, h = api.req("POST", "/api/calls/x/dtmf", body={"digits": "12x"})
    t.check(st == 400 and is_err(v), "bad DTMF digits: 400", v)

    # 404 / 405
    for method, path in (("GET", "/api/nope"), ("GET", "/nope"),
                         ("GET", "/api/calls/unknown-id"),
                         ("POST", "/api/calls/unknown-id/bogus"),
                         ("GET", "/api/calls/a/b/c/d/e/f/g")):
        st, v, h = api.req(method, path, body={} if method == "POST"
                           else None)
        t.check(st == 404 and is_err(v, "not_found"),
                "%s %s: 404 not_found" % (method, path), v)
    st, v, h = api.req("DELETE", "/api/calls")
    t.check(st == 405 and is_err(v, "method_not_allowed") and
            "GET, POST" in v["error"]["message"],
            "DELETE /api/calls: 405 naming GET, POST", v)
    st, v, h = api.req("POST", "/metrics", raw=b"")
    t.check(st == 405, "POST /metrics: 405", v)

    # 413
    big = b'{"text":"' + b"a" * 70000 + b'"}'
    st, v, h = api.req("POST", "/api/instructions", raw=big,
                       headers={"Content-Type": "application/json"})
    t.check(st == 413 and is_err(v, "too_large"),
            "70 kB body: 413 too_large", v)
    st, v, h = api.req("GET", "/health", token=None)
    t.check(st == 200, "server fine after the oversized request")

    # config
    st, v, h = api.req("GET", "/api/config")
    t.check(st == 200 and v.get("elevenlabs_api_key", {}).get("value") == "***"
            and v["elevenlabs_api_key"].get("secret") is True,
            "GET /api/config: secrets shown as ***", v.get("elevenlabs_api_key"))
    t.check("hunter2-secret" not in str(v), "secret value not in the body")
    t.check(v.get("max_calls", {}).get("runtime") is True and
            v.get("control_token", {}).get("runtime") is False,
            "runtime flags: max_calls yes, control_token no")
    st, v, h = api.req("PATCH", "/api/config", body={"max_calls": 7,
                                                     "log_level": "debug"})
    t.check(st == 200 and v.get("max_calls", {}).get("value") == "7" and
            v.get("log_level", {}).get("value") == "debug",
            "PATCH max_calls=7 log_level=debug: 200 and shown", v.get(
                "max_calls"))
    st, v, h = api.req("PATCH", "/api/config",
                       body={"control_token": "x" * 20})
    t.check(st == 409 and is_err(v, "security_setting") and
            "configuration file" in v["error"]["message"],
            "PATCH control_token: 409 security_setting", v)
    st, v, h = api.req("PATCH", "/api/config", body={"sip_password": "x"})
    t.check(st == 409 and is_err(v, "security_setting"),
            "PATCH sip_password: 409", v)
    st, v, h = api.req("PATCH", "/api/config", body={"codecs": "PCMU"})
    t.check(st == 409 and is_err(v, "restart_required"),
            "PATCH codecs: 409 restart_required", v)
    st, v, h = api.req("PATCH", "/api/config",
                       body={"max_calls": 3, "rtp_timeout_secs": 99999})
    t.check(st == 400 and is_err(v, "invalid_value") and
            "rtp_timeout_secs" in v["error"]["message"],
            "PATCH out of bounds: 400 naming the key", v)
    st, v, h = api.req("GET", "/api/config")
    t.check(v.get("max_calls", {}).get("value") == "7",
            "a failed PATCH changed nothing (max_calls still 7)")
    st, v, h = api.req("PATCH", "/api/config", body={"no_such_key": 1})
    t.check(st == 400 and is_err(v, "unknown_key"), "unknown key: 400", v)

    # instructions
    st, v, h = api.req("POST", "/api/instructions",
                       body={"text": "Be brief."})
    t.check(st in (200, 503), "POST /api/instructions: %d" % st, v)
    if st == 200:
        st, v, h = api.req("GET", "/api/instructions")
        t.check(v == {"text": "Be brief."}, "GET /api/instructions echoes",
                v)
        api.req("POST", "/api/instructions", body={"text": ""})
        st, v, h = api.req("GET", "/api/instructions")
        t.check(v == {"text": None}, "empty text clears", v)
    st, v, h = api.req("POST", "/api/calls/unknown/context",
                       body={"text": "fact"})
    t.check(st in (404, 503), "context for an unknown call: 404", v)

    # a real call attempt with Idempotency-Key (nobody listens there)
    dead = harness.free_port()
    b = {"number": "sip:nobody@127.0.0.1:%d" % dead, "objective": "test"}
    st1, v1, h1 = api.req("POST", "/api/calls", body=b,
                          headers={"Idempotency-Key": "abc-1"})
    st2, v2, h2 = api.req("POST", "/api/calls", body=b,
                          headers={"Idempotency-Key": "abc-1"})
    t.check(st1 == 201 and isinstance(v1.get("id"), str) and
            re.fullmatch(r"[A-Za-z0-9_.~-]+", v1["id"]),
            "POST /api/calls: 201 with a URL-safe id", v1)
    t.check(st2 == st1 and v2 == v1 and
            h2.get("idempotent-replayed") == "true",
            "same Idempotency-Key: same answer, replayed", (v2, h2))
    st3, v3, h3 = api.req("POST", "/api/calls", body=b,
                          headers={"Idempotency-Key": "abc-2"})
    t.check(st3 == 201 and v3.get("id") != v1.get("id"),
            "another key places another call", v3)
    st, v, h = api.req("GET", "/api/calls")
    ids = [c["id"] for c in v.get("live", [])]
    t.check(v1.get("id") in ids and all(
        c["direction"] == "outbound" for c in v["live"]),
            "the placed calls are live and outbound", v)
    st, v, h = api.req("GET", "/api/calls/" + v1.get("id", "x"))
    t.check(st == 200 and v.get("live", {}).get("id") == v1.get("id"),
            "GET /api/calls/{id}: the live call", v)
    st, v, h = api.req("GET", "/api/agent/sessions")
    t.check(st == 200 and v1.get("id") in v,
            "Clawfinger alias /api/agent/sessions lists it", v)
    # per-call operator input on the live (ringing) call
    cid = v1.get("id", "x")
    st, v, h = api.req("POST", "/api/calls/%s/context" % cid,
                       body={"text": "Order 1234 shipped.", "trusted": True})
    t.check(st == 200 and v == {"ok": True}, "POST context: 200", v)
    st, v, h = api.req("GET", "/api/calls/%s/context" % cid)
    t.check(st == 200 and v.get("context") == ["Order 1234 shipped."],
            "GET context lists it", v)
    st, v, h = api.req("DELETE", "/api/calls/%s/context" % cid)
    st2, v2, h2 = api.req("GET", "/api/calls/%s/context" % cid)
    t.check(st == 200 and v2.get("context") == [], "DELETE context", v2)
    for path, b in (("instructions", {"text": "Speak slowly."}),
                    ("instructions/turn", {"text": "Ask for the name."})):
        st, v, h = api.req("POST", "/api/calls/%s/%s" % (cid, path), body=b)
        t.check(st == 200, "POST %s on a live call: 200" % path, v)
    st, v, h = api.req("DELETE", "/api/calls/%s/instructions" % cid)
    t.check(st == 200, "DELETE instructions: 200", v)
    st, v, h = api.req("POST", "/api/calls/unknown/instructions",
                       body={"text": "x"})
    t.check(st == 404, "instructions for an unknown call: 404", v)
    st, v, h = api.req("POST", "/api/calls/%s/say" % cid,
                       body={"text": "hello"})
    t.check(st == 409 and is_err(v), "say on a call without the agent: "
            "409", v)
    st, v, h = api.req("POST", "/api/calls/%s/dtmf" % cid,
                       body={"digits": "1"})
    t.check(st == 409 and is_err(v), "DTMF on an unanswered call: 409", v)
    st, v, h = api.req("GET", "/api/calls/scheduled")
    t.check(st == 200 and isinstance(v.get("scheduled"), list),
            "GET /api/calls/scheduled: 200 list", v)
    st, v, h = api.req("GET", "/api/messages")
    t.check(st == 200 and isinstance(v, dict), "GET /api/messages: 200", v)
    st, v, h = api.req("DELETE", "/api/messages/424242")
    t.check(st == 404 and is_err(v, "not_found"),
            "DELETE unknown message: 404", v)
    st, v, h = api.req("DELETE", "/api/messages/abc")
    t.check(st == 400, "DELETE message with a bad id: 400", v)
    st, v, h = api.req("GET", "/api/history")
    t.check(st == 200, "GET /api/history: 200", v)
    st, v, h = api.req("DELETE", "/api/history/%2B4930123")
    t.check(st == 404, "DELETE unknown history: 404", v)
    st, v, h = api.req("GET", "/api/registrations")
    t.check(st == 200 and v == [], "GET /api/registrations: [] in "
            "direct mode", v)
    st, v, h = api.req("POST", "/api/calls/%s/hangup" % cid)
    t.check(st == 200 and v == {"ok": True}, "hangup: 200", v)
    t.check(harness.wait_for(lambda: any(
        e.get("call") == cid and e.get("reason") == "operator"
        for e in al.events_of("call_ended")), 10),
        "the call ended with reason operator")
    st, v, h = api.req("POST", "/api/calls/%s/hangup" % cid)
    t.check(st == 404, "hangup of an ended call: 404", v)
    st, v, h = api.req("POST", "/api/call/hangup", body={"session_id": ""})
    t.check(st in (200, 404), "Clawfinger hangup of the first live call",
            v)

    # session cookie
    st, v, h = api.req("POST", "/api/login", body={"token": "wrong"},
                       token=None)
    t.check(st == 401, "login with a wrong token: 401", v)
    st, v, h = api.req("POST", "/api/login", body={"token": token},
                       token=None)
    cookie = h.get("set-cookie", "")
    t.check(st == 200 and "agentline_session=" in cookie and
            "HttpOnly" in cookie and "SameSite=Strict" in cookie,
            "login: session cookie HttpOnly SameSite=Strict", cookie)
    sess = cookie.split(";")[0]
    st, v, h = api.req("GET", "/api/calls", token=None,
                       headers={"Cookie": sess})
    t.check(st == 200, "the cookie authorizes requests", v)
    ws = WsClient("127.0.0.1", port, "/api/events", headers={
        "Cookie": sess})
    t.check(ws.status == 101, "the cookie authorizes the events socket")
    ws.close()
    st, v, h = api.req("GET", "/api/calls", token=None, headers={
        "Cookie": sess, "Origin": "http://127.0.0.1:%d" % port})
    t.check(st == 200, "cookie from our own origin: 200", v)
    st, v, h = api.req("GET", "/api/calls", token=None, headers={
        "Cookie": sess, "Origin": "http://evil.example"})
    t.check(st == 401, "cookie sent from another origin: 401", v)
    try:
        WsClient("127.0.0.1", port, "/api/events", headers={
            "Cookie": sess, "Origin": "http://evil.example"})
        t.check(False, "cross-site WebSocket with the cookie refused")
    except WsError as e:
        t.check("401" in str(e), "cross-site WebSocket with the cookie "
                "refused (401)", str(e))
    st, v, h = api.req("POST", "/api/logout", token=None,
                       headers={"Cookie": sess})
    st, v, h = api.req("GET", "/api/calls", token=None,
                       headers={"Cookie": sess})
    t.check(st == 401, "after logout the cookie is refused", v)

    # metrics parse
    st, text, h = api.req("GET", "/metrics")
    try:
        samples, typed = parse_prometheus(text)
        ok = True
    except ValueError as e:
        ok, samples, typed = False, {}, {}
        t.note(str(e))
    t.check(st == 200 and ok and h.get("content-type", "").startswith(
        "text/plain; version=0.0.4"), "/metrics: Prometheus text 0.0.4")
    t.check(typed.get("agentline_calls_total") == "counter" and
            typed.get("agentline_voice_to_voice_seconds") == "histogram"
            and ("agentline_uptime_seconds", "") in samples,
            "metrics families present", typed)

    # second instance: tight limits
    al2 = start(t, "limits", control_token="0123456789abcdef-limits",
                control_rate_per_min=10, control_max_subscribers=2,
                control_max_connections=3)
    api2 = Api("127.0.0.1", al2.api_port, "0123456789abcdef-limits")
    subs = [WsClient("127.0.0.1", al2.api_port, "/api/events",
                     token=api2.token) for _ in range(2)]
    try:
        WsClient("127.0.0.1", al2.api_port, "/api/events",
                 token=api2.token)
        t.check(False, "third subscriber refused")
    except WsError as e:
        t.check("429" in str(e) and "too_many_subscribers" in str(e),
                "third WebSocket subscriber: 429", str(e))
    # 2 sockets + this connection = 3 = the limit; a 4th gets 503
    st, v, h = api2.req("GET", "/api/calls")
    t.check(st == 200, "third connection accepted", v)
    keep = socket.create_connection(("127.0.0.1", al2.api_port))
    keep.sendall(b"GET /api/calls HTTP/1.1\r\nHost: x\r\n"
                 b"Authorization: Bearer " + api2.token.encode() +
                 b"\r\n\r\n")
    time.sleep(0.3)
    st, v, h = api2.req("GET", "/api/calls")
    t.check(st == 503 and is_err(v, "too_many_connections"),
            "connection over control_max_connections: 503", v)
    keep.close()
    for s in subs:
        s.close()
    time.sleep(0.3)
    codes = [api2.req("GET", "/api/registrations")[0] for _ in range(12)]
    t.check(429 in codes, "over control_rate_per_min=10: 429 (%s)" % codes)
    st, v, h = api2.req("GET", "/api/registrations")
    t.check(st == 429 and is_err(v, "rate_limited") and
            h.get("retry-after") == "1", "429 body and Retry-After", (v, h))
    st, v, h = api2.req("GET", "/health", token=None)
    t.check(st == 200, "/health is not rate limited")
    time.sleep(6.5)
    st, v, h = api2.req("GET", "/api/registrations")
    t.check(st == 200, "the budget refills (1 request per 6 s)", v)
    # a subscriber that floods the events socket is closed (1008)
    al3 = start(t, "flood", control_token="0123456789abcdef-flood",
                control_rate_per_min=10)
    ws = WsClient("127.0.0.1", al3.api_port, "/api/events",
                  token="0123456789abcdef-flood")
    closed = None
    try:
        for i in range(20):
            ws.send_text("spam %d" % i)
        while ws.recv(3) is not None:
            pass
    except (WsError, OSError) as e:
        closed = str(e)
    t.check(closed is not None and "1008" in closed,
            "flooding the events socket closes it with 1008", closed)
    t.check(al.alive() and al2.alive() and al3.alive(),
            "all instances still running")


if __name__ == "__main__":
    harness.Test("api_contract").run(body)
