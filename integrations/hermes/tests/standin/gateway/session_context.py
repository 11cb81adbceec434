"""Stand-in: per-task session variables (gateway/session_context.py).

The gateway sets them (context variables) before it runs the agent for a
message; tools read them with get_session_env.  A variable never set in
this context falls back to os.environ, as in Hermes."""
import contextvars
import os

_UNSET = object()
_VARS = {name: contextvars.ContextVar(name, default=_UNSET) for name in (
    "HERMES_SESSION_PLATFORM", "HERMES_SESSION_CHAT_ID",
    "HERMES_SESSION_CHAT_NAME", "HERMES_SESSION_THREAD_ID",
    "HERMES_SESSION_USER_ID", "HERMES_SESSION_USER_NAME",
    "HERMES_SESSION_KEY")}


def set_session_vars(platform="", chat_id="", chat_name="", thread_id="",
                     user_id="", user_name="", session_key=""):
    vals = {"HERMES_SESSION_PLATFORM": platform,
            "HERMES_SESSION_CHAT_ID": chat_id,
            "HERMES_SESSION_CHAT_NAME": chat_name,
            "HERMES_SESSION_THREAD_ID": thread_id,
            "HERMES_SESSION_USER_ID": user_id,
            "HERMES_SESSION_USER_NAME": user_name,
            "HERMES_SESSION_KEY": session_key}
    return [_VARS[k].set(v or "") for k, v in vals.items()]


def clear_session_vars(tokens=None):
    for v in _VARS.values():
        v.set("")


def get_session_env(name, default=""):
    var = _VARS.get(name)
    if var is not None:
        value = var.get()
        if value is not _UNSET:
            return value
    return os.environ.get(name, default)
