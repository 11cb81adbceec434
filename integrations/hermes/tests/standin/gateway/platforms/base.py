"""Stand-in: the platform adapter contract (gateway/platforms/base.py).

Modelled on Hermes' BasePlatformAdapter: handle_message() returns at once
and processes each session in a background task; a message for a session
that is still busy does not start a second run: it is kept as the
session's pending message and the running one is interrupted (its
interrupt Event is set).  When the run ends, a response of an interrupted
run is suppressed and the pending message is processed next.  The final
response is sent with reply_to = the event's message_id; the adapter's
on_processing_start / on_processing_complete(event, outcome) hooks, if it
has them, bracket each run.  A busy-session
handler, if set, sees the message first (Hermes uses it for its
"Interrupting current task" notice)."""
import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, List, Optional

from gateway.session import SessionSource, build_session_key


class MessageType(Enum):
    TEXT = "text"
    LOCATION = "location"
    PHOTO = "photo"
    VIDEO = "video"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    COMMAND = "command"


class ProcessingOutcome(Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"


@dataclass
class MessageEvent:
    text: str
    message_type: MessageType = MessageType.TEXT
    source: SessionSource = None
    raw_message: Any = None
    message_id: Optional[str] = None
    platform_update_id: Optional[int] = None
    media_urls: List[str] = field(default_factory=list)
    media_types: List[str] = field(default_factory=list)
    reply_to_message_id: Optional[str] = None
    reply_to_text: Optional[str] = None
    auto_skill: Any = None
    channel_prompt: Optional[str] = None
    internal: bool = False
    context_only: bool = False
    timestamp: datetime = field(default_factory=datetime.now)

    def is_command(self):
        return self.text.startswith("/")


@dataclass
class SendResult:
    success: bool
    message_id: Optional[str] = None
    error: Optional[str] = None
    raw_response: Any = None
    retryable: bool = False


class BasePlatformAdapter(ABC):
    SUPPORTS_MESSAGE_EDITING = True
    MAX_MESSAGE_LENGTH = 4096

    def __init__(self, config, platform):
        self.config = config
        self.platform = platform
        self._message_handler = None
        self._running = False
        self._fatal_error_code = None
        self._fatal_error_message = None
        self._fatal_error_retryable = True
        self._fatal_error_handler = None
        self._active_sessions = {}
        self._pending_messages = {}
        self._session_tasks = {}
        self._background_tasks = set()
        self._busy_session_handler = None

    # -- state -------------------------------------------------------
    @property
    def has_fatal_error(self):
        return self._fatal_error_message is not None

    @property
    def fatal_error_retryable(self):
        return self._fatal_error_retryable

    def set_fatal_error_handler(self, handler):
        self._fatal_error_handler = handler

    def _mark_connected(self):
        self._running = True
        self._fatal_error_code = None
        self._fatal_error_message = None
        self._fatal_error_retryable = True

    def _mark_disconnected(self):
        self._running = False

    def _set_fatal_error(self, code, message, *, retryable):
        self._running = False
        self._fatal_error_code = code
        self._fatal_error_message = message
        self._fatal_error_retryable = retryable

    async def _notify_fatal_error(self):
        handler = self._fatal_error_handler
        if not handler:
            return
        result = handler(self)
        if asyncio.iscoroutine(result):
            await result

    @property
    def name(self):
        return self.platform.value.title()

    @property
    def is_connected(self):
        return self._running

    def set_message_handler(self, handler):
        self._message_handler = handler

    def set_busy_session_handler(self, handler):
        self._busy_session_handler = handler

    # -- the contract ------------------------------------------------
    @abstractmethod
    async def connect(self) -> bool: ...

    @abstractmethod
    async def disconnect(self) -> None: ...

    @abstractmethod
    async def send(self, chat_id, content, reply_to=None, metadata=None):
        ...

    async def get_chat_info(self, chat_id):
        return {"name": str(chat_id), "type": "dm"}

    async def send_typing(self, chat_id, metadata=None):
        pass

    def build_source(self, chat_id, chat_name=None, chat_type="dm",
                     user_id=None, user_name=None, thread_id=None,
                     chat_topic=None, user_id_alt=None, chat_id_alt=None,
                     is_bot=False):
        return SessionSource(
            platform=self.platform, chat_id=str(chat_id),
            chat_name=chat_name, chat_type=chat_type,
            user_id=str(user_id) if user_id is not None else None,
            user_name=user_name,
            thread_id=str(thread_id) if thread_id else None,
            chat_topic=chat_topic, user_id_alt=user_id_alt,
            chat_id_alt=chat_id_alt, is_bot=is_bot)

    # -- dispatch ----------------------------------------------------
    async def handle_message(self, event):
        if not self._message_handler:
            return
        key = build_session_key(event.source)
        if key in self._active_sessions:
            if self._busy_session_handler is not None:
                if await self._busy_session_handler(event, key):
                    return
            if event.message_type == MessageType.PHOTO:
                self._pending_messages[key] = event
                return
            self._pending_messages[key] = event
            self._active_sessions[key].set()
            return
        self._start(event, key)

    def _start(self, event, key):
        self._active_sessions[key] = asyncio.Event()
        task = asyncio.ensure_future(self._process(event, key))
        self._session_tasks[key] = task
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    async def _run_processing_hook(self, name, *args):
        hook = getattr(self, name, None)
        if hook is None:
            return
        try:
            await hook(*args)
        except Exception:
            pass                      # hooks never break processing

    async def _process(self, event, key):
        interrupt = self._active_sessions.get(key) or asyncio.Event()
        self._active_sessions[key] = interrupt
        outcome = ProcessingOutcome.FAILURE
        try:
            await self._run_processing_hook("on_processing_start", event)
            response = await self._message_handler(event)
            if response and interrupt.is_set() and \
                    key in self._pending_messages:
                response = None       # stale: superseded by a new message
            if response:
                await self.send(chat_id=event.source.chat_id,
                                content=response, reply_to=event.message_id)
            outcome = ProcessingOutcome.CANCELLED if interrupt.is_set() \
                else ProcessingOutcome.SUCCESS
        except asyncio.CancelledError:
            outcome = ProcessingOutcome.CANCELLED
            raise
        finally:
            await self._run_processing_hook("on_processing_complete", event,
                                            outcome)
            pending = self._pending_messages.pop(key, None)
            self._active_sessions.pop(key, None)
            self._session_tasks.pop(key, None)
            if pending is not None:
                self._start(pending, key)
