"""The nine tools Hermes gets for phone calls, and the pre_tool_call hook.

Every tool acting on a call goes to agentline's
POST /api/calls/{id}/tools/{name}: agentline runs it through the same
executor and trust gate as its own brain's tool calls, so the caller's
group decides.  The hook only mirrors that for a friendlier refusal.
"""

import json

from .line import LINE, TIERS, Origin
from .rest import RestError

try:
    from gateway.session_context import get_session_env
except ImportError:            # outside Hermes' gateway
    import os

    def get_session_env(name, default=""):
        return os.environ.get(name, default)

PLATFORM = "voip"
TOOLSET = "agentline"

_CALL_ID = {"type": "string", "description":
            "agentline call id; leave out on a phone call (the current "
            "call is used)"}


def _schema(name, description, props=None, required=()):
    p = {"call_id": _CALL_ID}
    p.update(props or {})
    return {"name": name, "description": description,
            "parameters": {"type": "object", "properties": p,
                           "required": list(required)}}


SCHEMAS = {
    "place_call": _schema(
        "place_call", "Place a phone call through agentline. Its outcome "
        "(answered/busy/no answer, and the callee conversation's result "
        "and summary) arrives later as a message in this conversation.",
        {"number": {"type": "string", "description":
                    "number, extension or sip: URI"},
         "objective": {"type": "string", "description":
                       "what the call should achieve"}}, ("number",)),
    "send_dtmf": _schema(
        "send_dtmf", "Press keypad keys on the call (RFC 4733).",
        {"digits": {"type": "string", "description":
                    "1-32 of 0-9 * # A-D"}}, ("digits",)),
    "hang_up": _schema(
        "hang_up", "End the phone call (after a short farewell).",
        {"reason": {"type": "string"}}),
    "hold_call": _schema("hold_call", "Put the call on hold."),
    "resume_call": _schema("resume_call", "Take the call off hold."),
    "transfer_blind": _schema(
        "transfer_blind", "Transfer the caller to another number (the "
        "caller confirms with a key first).",
        {"target": {"type": "string"}}, ("target",)),
    "transfer_attended": _schema(
        "transfer_attended", "Call the target first, then connect the "
        "caller to it.", {"target": {"type": "string"}}, ("target",)),
    "open_entry": _schema(
        "open_entry", "Open a configured door or gate.",
        {"name": {"type": "string", "description": "the entry's name"}},
        ("name",)),
    "report_call_result": _schema(
        "report_call_result", "Report the result of this call (for a "
        "call placed with an objective).",
        {"outcome": {"type": "string"}, "summary": {"type": "string"}},
        ("outcome",)),
}


def _session():
    return (get_session_env("HERMES_SESSION_PLATFORM", "") or "").lower(), \
        get_session_env("HERMES_SESSION_CHAT_ID", "") or "", \
        get_session_env("HERMES_SESSION_KEY", "") or "", \
        get_session_env("HERMES_SESSION_USER_ID", "") or ""


def _err(msg, **kw):
    d = {"error": msg}
    d.update(kw)
    return json.dumps(d)


def _target_call(args):
    """The call a tool acts on.  On a phone call it is always that call:
    a caller cannot reach another call through Hermes."""
    platform, chat, _, _ = _session()
    if platform == PLATFORM and chat:
        return chat
    cid = args.get("call_id")
    return str(cid) if cid else ""


def run_tool(name, args):
    args = dict(args or {})
    rest = LINE.rest
    if rest is None:
        return _err("agentline is not configured (AGENTLINE_URL, "
                    "AGENTLINE_TOKEN)")
    platform, chat, skey, user = _session()
    cid = _target_call(args)
    args.pop("call_id", None)
    origin = Origin(platform=platform, chat_id=chat, session_key=skey,
                    user_id=user, what=name)
    try:
        if name == "place_call" and not (platform == PLATFORM and chat):
            return _operator_call(args, origin)
        if not cid:
            return _err("no call: give call_id (see the live calls in "
                        "agentline) or use this on a phone call")
        status, body = rest.tool(cid, name, args)
    except RestError as e:
        return json.dumps(e.body)
    if status == 200:
        return json.dumps({"ok": True, "result": body.get("result")})
    if status == 202:
        with LINE.lock:
            early = LINE.early.pop(body.get("ticket"), None)
            if early is None:
                LINE.tickets[body.get("ticket")] = origin
        if early is not None:
            from .adapter import deliver_early
            deliver_early(origin, early)
        if name == "place_call":
            return json.dumps({"ok": True, "status": "dialing", "note":
                               "the outcome will arrive as a message in "
                               "this conversation"})
        return json.dumps({"ok": True, "status": "pending", "note":
                           "agentline is doing it; the result follows "
                           "as a message"})
    e = body.get("error") if isinstance(body, dict) else None
    if status == 403:
        return _err("agentline refused %s on this call (%s)" % (
            name, (e or {}).get("category", "denied")), refused=True,
            result=body.get("result"))
    if status == 404:
        return _err("that call is not live (it may have ended)")
    return _err("%s failed: %s" % (name, (e or {}).get("message") or
                                   status), result=body.get("result"))


def _operator_call(args, origin):
    settings = LINE.settings
    if settings is not None and not settings.operator_calls:
        return _err("placing calls from outside a phone call is turned "
                    "off (AGENTLINE_OPERATOR_CALLS=0)")
    number = args.get("number")
    if not number:
        return _err("number is required")
    status, body = LINE.rest.place_call(number, args.get("objective"))
    if status in (200, 201) and body.get("id"):
        with LINE.lock:
            LINE.placed[str(body["id"])] = {"origin": origin}
        return json.dumps({"ok": True, "status": "dialing",
                           "call_id": body["id"], "note":
                           "the outcome will arrive as a message in this "
                           "conversation"})
    e = body.get("error") if isinstance(body, dict) else None
    return _err("agentline could not place the call: %s" % (
        (e or {}).get("message") or status))


def make_handler(name):
    def handler(args=None, **kwargs):
        return run_tool(name, args)
    handler.__name__ = "agentline_" + name
    return handler


def pre_tool_call(tool_name=None, args=None, **kwargs):
    """Mirror agentline's gate for a friendly refusal: on a phone call,
    a tool above the caller's privilege is blocked before it runs.
    agentline refuses it anyway if this hook is bypassed."""
    if tool_name not in TIERS:
        return None
    platform, chat, _, _ = _session()
    if platform != PLATFORM or not chat:
        return None
    priv = LINE.privilege_of(chat)
    if priv is None:
        return None
    if TIERS[tool_name] > priv:
        return {"action": "block", "message":
                "%s is not allowed for this caller (their group may not "
                "do it); tell them you cannot do that on this call."
                % tool_name}
    return None
