"""The `voip` platform: agentline's agent WebSocket as a Hermes platform.

One call is one Hermes DM session (chat_id = agentline's call id).  Each
`turn.request` becomes a VOICE MessageEvent whose message_id is the
request id; Hermes' answer (send() with reply_to = that id) is the reply.
Other text Hermes sends while a turn is open (progress notes, interim
commentary, busy notices) is not spoken; text with no turn open is said
unprompted; anything for a call that has ended is dropped quietly.
"""

import asyncio
import json
import logging
import re
import types

from gateway.platforms.base import (BasePlatformAdapter, MessageEvent,
                                    MessageType, SendResult)

from . import config as _config
from .line import LINE, Origin
from .rest import Rest
from .ws import WebSocket, WsClosed

try:
    from gateway.config import Platform
except ImportError:            # pragma: no cover - very old Hermes
    Platform = None

log = logging.getLogger("hermes_agentline")

PLATFORM = "voip"
WELCOME_TIMEOUT = 10.0
RECONNECT_MAX = 10.0

# Hermes' own busy / queue notices: never spoken
_BUSY = re.compile(r"interrupting current task|queued for|still working|"
                   r"already working on|will respond .*shortly|"
                   r"^\W*(stopped|interrupted)\b|^\s*[\u26a1\u23f3]", re.I)
_MD = re.compile(r"(\*\*|__|`+|^#+\s*|^\s*[-*]\s+)", re.M)


def platform_value():
    if Platform is not None:
        try:
            return Platform(PLATFORM)
        except Exception:
            pass
    return types.SimpleNamespace(value=PLATFORM, name=PLATFORM.upper())


def _starts_with_symbol(text):
    s = text.lstrip()
    return bool(s) and not (s[0].isalnum() or s[0] in "\"'([¿¡")


def speakable(text):
    """Markdown and leading symbols (emoji) out: this is for the ear."""
    s = _MD.sub("", text or "")
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    s = s.strip()
    while s and _starts_with_symbol(s):
        s = s[1:].lstrip()
    return re.sub(r"\s+", " ", s).strip()


class VoipAdapter(BasePlatformAdapter):
    SUPPORTS_MESSAGE_EDITING = False
    MAX_MESSAGE_LENGTH = 4000

    def __init__(self, config, platform=None):
        super().__init__(config, platform or platform_value())
        extra = getattr(config, "extra", None) or {}
        self.settings = _config.load(extra=extra)
        LINE.settings = self.settings
        self._ssl = self.settings.ssl_context()
        LINE.rest = Rest(self.settings.url, self.settings.token,
                         ssl_context=self._ssl)
        self._ws = None
        self._reader = None
        self._closing = False
        self._cmd_seq = 0
        self._acks = {}
        self._loop = None

    # ---- connection --------------------------------------------------

    async def connect(self, *, is_reconnect=False):
        self._closing = False
        self._loop = asyncio.get_running_loop()
        try:
            await self._open()
        except Exception as e:
            msg = "cannot reach agentline at %s: %s" % (self.settings.url, e)
            log.warning("[voip] %s", msg)
            if hasattr(self, "_set_fatal_error"):
                self._set_fatal_error("agentline_unreachable", msg,
                                      retryable=True)
            return False
        LINE.adapter = self
        if hasattr(self, "_mark_connected"):
            self._mark_connected()
        else:
            self._running = True
        log.info("[voip] connected to agentline%s",
                 " again" if is_reconnect else "")
        return True

    async def _open(self):
        ws = await WebSocket.connect(
            self.settings.ws_url,
            headers={"Authorization": "Bearer " + self.settings.token},
            ssl_context=self._ssl)
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(),
                                                      WELCOME_TIMEOUT))
        except Exception:
            ws.abort()
            raise
        if not isinstance(first, dict) or first.get("type") != "welcome":
            ws.abort()
            raise WsClosed("no welcome from agentline")
        self._ws = ws
        self._rebuild(first.get("calls") or [])
        self._reader = asyncio.ensure_future(self._read_loop(ws))
        for c in list(LINE.calls.values()):
            if self._wants(c):
                await self._command({"type": "takeover",
                                     "session_id": c.id})

    def _rebuild(self, calls):
        """The call map from the welcome: what agentline says is live."""
        with LINE.lock:
            old = LINE.calls
            LINE.calls = {}
            for f in calls:
                if not isinstance(f, dict) or not f.get("id"):
                    continue
                c = LINE.call(str(f["id"]), create=True)
                prev = old.get(c.id)
                if prev:
                    c.answered, c.stale = prev.answered, prev.stale
                    if prev.open_request is not None:
                        c.stale.add(prev.open_request)
                c.update(f)
                # agentline released everything when the old socket went
                c.taken_over = False

    def _wants(self, c):
        mode = self.settings.takeover
        if mode == "none":
            return False
        return mode == "all" or c.direction == "inbound"

    async def disconnect(self):
        self._closing = True
        reader, self._reader = self._reader, None
        if reader and reader is not asyncio.current_task():
            reader.cancel()
            try:
                await reader
            except BaseException:
                pass
        if self._ws:
            await self._ws.close()
            self._ws = None
        if LINE.adapter is self:
            LINE.adapter = None
        if hasattr(self, "_mark_disconnected"):
            self._mark_disconnected()
        else:
            self._running = False

    async def _read_loop(self, ws):
        try:
            while True:
                raw = await ws.recv()
                try:
                    m = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(m, dict):
                    try:
                        await self._on_message(m)
                    except Exception:
                        log.exception("[voip] message handling failed")
        except asyncio.CancelledError:
            raise
        except WsClosed as e:
            if self._closing or ws is not self._ws:
                return
            await self._lost(str(e))

    async def _lost(self, why):
        """The socket dropped: agentline released our calls and its own
        brain answers them.  Hermes' reconnect path brings us back (a
        retryable fatal error); without one we retry ourselves."""
        log.warning("[voip] agentline connection lost: %s", why)
        self._ws = None
        with LINE.lock:
            for c in LINE.calls.values():
                c.taken_over = False
                if c.open_request is not None:
                    c.stale.add(c.open_request)
                    c.open_request = None
        if LINE.adapter is self:
            LINE.adapter = None
        if getattr(self, "_fatal_error_handler", None) and \
                hasattr(self, "_set_fatal_error"):
            self._set_fatal_error("agentline_connection_lost",
                                  "agentline connection lost: " + why,
                                  retryable=True)
            await self._notify_fatal_error()
            return
        delay = 0.5
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._open()
                LINE.adapter = self
                log.info("[voip] reconnected to agentline")
                return
            except Exception as e:
                log.info("[voip] reconnect failed: %s", e)
                delay = min(delay * 2, RECONNECT_MAX)

    async def _command(self, msg, wait=False, timeout=5.0):
        ws = self._ws
        if ws is None:
            raise WsClosed("not connected to agentline")
        fut = None
        if wait:
            self._cmd_seq += 1
            msg = dict(msg, id="h%d" % self._cmd_seq)
            fut = self._loop.create_future()
            self._acks[msg["id"]] = fut
        await ws.send_text(json.dumps(msg))
        if not fut:
            return None
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._acks.pop(msg["id"], None)

    # ---- agentline -> Hermes -------------------------------------------

    async def _on_message(self, m):
        t = m.get("type")
        sid = str(m.get("session_id") or "")
        if t and t.endswith(".ack"):
            fut = self._acks.get(m.get("id"))
            if fut and not fut.done():
                fut.set_result(m)
            if t == "takeover.ack" and sid:
                c = LINE.call(sid)
                if c:
                    c.taken_over = bool(m.get("ok"))
            return
        if t in ("call.ringing", "call.dialing", "call.answered"):
            c = LINE.call(sid, create=True)
            c.update(m.get("call"))
            c.state = "answered" if t == "call.answered" else "ringing"
            if t != "call.dialing" and not c.taken_over and self._wants(c):
                c.taken_over = True      # until an ack says otherwise
                await self._command({"type": "takeover", "session_id": sid})
            return
        if t == "call.ended":
            with LINE.lock:
                LINE.calls.pop(sid, None)
            await self._placed_ended(sid, m)
            return
        if t == "released":
            c = LINE.call(sid)
            if c:
                c.taken_over = False
            return
        if t == "turn.request":
            await self._turn(sid, m)
            return
        if t in ("turn.superseded", "turn.timeout"):
            c = LINE.call(sid)
            rid = m.get("request_id")
            if c:
                with LINE.lock:
                    c.stale.add(rid)
                    if c.open_request == rid:
                        c.open_request = None
            return
        if t == "event":
            await self._bus_event(m.get("data") or {})
            return

    async def _turn(self, sid, m):
        rid = m.get("request_id")
        if not isinstance(rid, int):
            return
        c = LINE.call(sid, create=True)
        with LINE.lock:
            if c.open_request is not None and c.open_request != rid:
                c.stale.add(c.open_request)
            c.open_request = rid
        text = m.get("transcript") or ""
        if m.get("kind") == "dtmf":
            text = "(the caller pressed the keys %s)" % text
        source = self.build_source(
            chat_id=sid, chat_name=self._call_name(c), chat_type="dm",
            user_id=c.caller or sid, user_name=c.caller or "caller")
        event = MessageEvent(text=text, message_type=MessageType.VOICE,
                             source=source, raw_message=m,
                             message_id=str(rid))
        await self.handle_message(event)

    @staticmethod
    def _call_name(c):
        who = c.caller or "unknown caller"
        return "Phone call (%s, %s)" % (c.direction or "call", who)

    # ---- outcomes of what Hermes asked for ---------------------------

    async def _bus_event(self, d):
        ev = d.get("event")
        cid = str(d.get("call") or "")
        if ev == "tool_result":
            with LINE.lock:
                origin = LINE.tickets.pop(d.get("ticket"), None)
                if origin is None:
                    # before the tool's thread saw its 202: kept briefly
                    LINE.early[d.get("ticket")] = d
                    while len(LINE.early) > 64:
                        LINE.early.pop(next(iter(LINE.early)))
            if origin:
                await self.deliver(origin, _describe_result(
                    d.get("tool"), d.get("ok"), d.get("result")))
            return
        with LINE.lock:
            rec = LINE.placed.get(cid)
        if not rec:
            return
        if ev == "call_outcome":
            rec["outcome"] = d.get("outcome")
            if d.get("sip_code") is not None:
                rec["sip_code"] = d.get("sip_code")
        elif ev == "call_result":
            rec["result"] = d.get("outcome")
            rec["summary"] = d.get("summary")

    async def _placed_ended(self, cid, m):
        with LINE.lock:
            rec = LINE.placed.pop(cid, None)
        if not rec:
            return
        res = {"outcome": rec.get("outcome") or
               ("answered" if (m.get("call") or {}).get("answered")
                else "failed"),
               "reason": m.get("reason")}
        for k in ("sip_code", "result", "summary"):
            if rec.get(k) is not None:
                res[k] = rec[k]
        await self.deliver(rec["origin"],
                           _describe_result("place_call", True, res))

    async def deliver(self, origin, text):
        """An internal message to the Hermes session that asked."""
        if origin.platform == PLATFORM:
            if origin.chat_id not in LINE.calls:
                log.info("[voip] outcome for an ended call dropped")
                return
            source = self.build_source(chat_id=origin.chat_id,
                                       chat_type="dm",
                                       user_id=origin.user_id or
                                       origin.chat_id)
            event = MessageEvent(text=text, message_type=MessageType.TEXT,
                                 source=source,
                                 message_id=LINE.next_internal_id(),
                                 internal=True)
            await self.handle_message(event)
            return
        ctx = LINE.plugin_ctx
        inject = getattr(ctx, "inject_message", None)
        if inject and origin.session_key:
            if inject(text, session_key=origin.session_key):
                return
        log.warning("[voip] cannot deliver a call outcome to %s (enable "
                    "plugins.entries.<id>.allow_gateway_injection)",
                    origin.platform)

    # ---- Hermes -> agentline -------------------------------------------

    async def send(self, chat_id, content, reply_to=None, metadata=None):
        c = LINE.call(str(chat_id))
        if c is None:
            # the call is over (or never was): dropped quietly
            return SendResult(success=True, message_id=None,
                              raw_response={"dropped": "no live call"})
        text = content or ""
        if _BUSY.search(text):
            return SendResult(success=True, raw_response={
                "dropped": "busy notice"})
        rid = None
        if reply_to is not None and str(reply_to).isdigit():
            rid = int(reply_to)
        with LINE.lock:
            open_rid = c.open_request
            if rid is not None and rid == open_rid:
                mode = "reply"
                c.open_request = None
                c.answered.add(rid)
            elif rid is not None and rid in c.stale:
                mode = "stale"
            elif rid is not None and rid in c.answered and open_rid is None:
                mode = "say"         # the rest of a long answer
            elif reply_to is not None and str(reply_to) in \
                    LINE.internal_ids and open_rid is None:
                mode = "say"         # the answer to an outcome note
            elif open_rid is not None or reply_to is not None:
                mode = "progress"
            elif _starts_with_symbol(text):
                mode = "progress"    # tool progress lines start with emoji
            else:
                mode = "say"
        if mode in ("stale", "progress"):
            return SendResult(success=True, raw_response={"dropped": mode})
        spoken = speakable(text)
        try:
            if mode == "reply":
                await self._command({"request_id": rid,
                                     "reply": spoken or None})
            elif spoken:
                await self._command({"type": "say",
                                     "session_id": c.id, "text": spoken})
        except WsClosed as e:
            return SendResult(success=False, error=str(e), retryable=False)
        return SendResult(success=True, message_id=(
            str(rid) if rid is not None else None))

    async def on_processing_complete(self, event, outcome=None):
        """Hermes finished a run: a turn it did not answer (a tool-only
        turn, an empty answer) ends silently now instead of waiting for
        agentline's turn timeout."""
        src = getattr(event, "source", None)
        mid = getattr(event, "message_id", None)
        if src is None or not (mid and str(mid).isdigit()):
            return
        c = LINE.call(str(src.chat_id))
        if c is None:
            return
        rid = int(mid)
        with LINE.lock:
            if c.open_request != rid:
                return
            c.open_request = None
            c.answered.add(rid)
        try:
            await self._command({"request_id": rid, "reply": None})
        except WsClosed:
            pass

    async def send_typing(self, chat_id, metadata=None):
        return None

    async def get_chat_info(self, chat_id):
        c = LINE.call(str(chat_id))
        return {"name": self._call_name(c) if c else "Phone call",
                "type": "dm"}


def _describe_result(tool, ok, result):
    body = json.dumps(result if result is not None else {},
                      sort_keys=True)
    if tool == "place_call" and isinstance(result, dict):
        parts = ["outcome %s" % result.get("outcome", "unknown")]
        if result.get("result"):
            parts.append("result %s" % result["result"])
        if result.get("summary"):
            parts.append("summary: %s" % result["summary"])
        return ("[agentline] The call you placed is over: %s. (%s)"
                % ("; ".join(parts), body))
    return "[agentline] %s finished%s: %s" % (
        tool or "a tool", "" if ok else " with an error", body)


def deliver_early(origin, d):
    """From a tool's thread: a result that arrived before its ticket was
    known goes to the asking session now."""
    a = LINE.adapter
    if a is None or a._loop is None:
        return
    asyncio.run_coroutine_threadsafe(a.deliver(origin, _describe_result(
        d.get("tool"), d.get("ok"), d.get("result"))), a._loop)


def make_adapter(config):
    return VoipAdapter(config)


def origin_here(platform, chat_id, session_key="", user_id="", what=""):
    return Origin(platform=platform, chat_id=chat_id,
                  session_key=session_key, user_id=user_id, what=what)
