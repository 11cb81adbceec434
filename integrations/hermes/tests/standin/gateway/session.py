"""Stand-in: SessionSource and build_session_key (gateway/session.py)."""
from dataclasses import dataclass
from typing import Any, Optional


@dataclass
class SessionSource:
    platform: Any
    chat_id: str
    chat_name: Optional[str] = None
    chat_type: str = "dm"
    user_id: Optional[str] = None
    user_name: Optional[str] = None
    thread_id: Optional[str] = None
    chat_topic: Optional[str] = None
    user_id_alt: Optional[str] = None
    chat_id_alt: Optional[str] = None
    is_bot: bool = False


def build_session_key(source, group_sessions_per_user=True,
                      thread_sessions_per_user=False):
    p = getattr(source.platform, "value", source.platform)
    if source.chat_type == "dm":
        key = "agent:main:%s:dm:%s" % (p, source.chat_id)
    else:
        key = "agent:main:%s:%s:%s" % (p, source.chat_type, source.chat_id)
        if group_sessions_per_user and source.user_id:
            key += ":" + source.user_id
    if source.thread_id:
        key += ":" + source.thread_id
    return key
