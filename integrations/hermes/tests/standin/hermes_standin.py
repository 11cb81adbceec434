"""Stand-in for Hermes' plugin manager, tool registry and gateway runner
(hermes_cli/plugins.py, tools/registry.py, gateway/run.py), reduced to
what a platform plugin meets:

 - PluginContext.register_platform / register_tool / register_hook /
   inject_message;
 - dispatch of a tool call: pre_tool_call hooks first ({"action":"block",
   "message"} stops it, the model gets {"error": message}), then the
   handler (args dict -> JSON string);
 - the gateway: one adapter per platform from its factory
   (adapter_factory(PlatformConfig)), a message handler that sets the
   session context (HERMES_SESSION_*) and runs the agent in a worker
   thread, a busy-session notice, and the reconnect watcher that rebuilds
   an adapter which reported a retryable fatal error.

The "agent" is a function the test supplies: agent(turn) -> reply text,
where turn.event is the MessageEvent, turn.tool(name, args) calls a tool
the way the model would, turn.progress(text) sends a progress note, and
turn.interrupted tells whether a newer message arrived."""
import asyncio
import contextvars
import importlib
import json
import threading

from gateway.config import Platform, PlatformConfig
from gateway.platforms.base import MessageEvent, MessageType  # noqa: F401
from gateway.session import build_session_key
from gateway.session_context import set_session_vars

BUSY_NOTICE = ("⚡ Interrupting current task (1 tool call so far). I'll "
               "respond to your message shortly.")


class PluginContext:
    def __init__(self, manager):
        self._m = manager

    def register_platform(self, name, label, adapter_factory, check_fn,
                          validate_config=None, required_env=None,
                          install_hint="", **entry_kwargs):
        self._m.platforms[name] = dict(
            name=name, label=label, adapter_factory=adapter_factory,
            check_fn=check_fn, required_env=required_env or [],
            install_hint=install_hint, **entry_kwargs)

    def register_tool(self, name, toolset, schema, handler, check_fn=None,
                      requires_env=None, is_async=False, description="",
                      emoji="", override=False):
        self._m.tools[name] = dict(name=name, toolset=toolset,
                                   schema=schema, handler=handler,
                                   description=description)

    def register_hook(self, hook_name, callback):
        self._m.hooks.setdefault(hook_name, []).append(callback)

    def inject_message(self, content, role="user", *, session_key=None):
        if not session_key:
            return False
        self._m.injected.append((session_key, content))
        return True


class PluginManager:
    def __init__(self):
        self.platforms = {}
        self.tools = {}
        self.hooks = {}
        self.injected = []
        self.blocked = []

    def load(self, module_name):
        mod = importlib.import_module(module_name)
        mod.register(PluginContext(self))
        return mod

    def invoke_hook(self, name, **kwargs):
        out = []
        for cb in self.hooks.get(name, []):
            try:
                r = cb(**kwargs)
            except Exception as e:       # a hook never breaks the agent
                r = None
                out.append({"hook_error": repr(e)})
            if r is not None:
                out.append(r)
        return out

    def dispatch(self, name, args, bypass_hooks=False):
        if name not in self.tools:
            return json.dumps({"error": "unknown tool %s" % name})
        if not bypass_hooks:
            for r in self.invoke_hook("pre_tool_call", tool_name=name,
                                      args=args, task_id=""):
                if isinstance(r, dict) and r.get("action") == "block":
                    self.blocked.append(name)
                    return json.dumps({"error": r.get("message") or
                                       "blocked by a plugin"})
        return self.tools[name]["handler"](args)


class Turn:
    def __init__(self, gw, event, interrupt):
        self.gw = gw
        self.event = event
        self._interrupt = interrupt
        self.tool_results = []

    @property
    def interrupted(self):
        return self._interrupt.is_set()

    def tool(self, name, args=None, bypass_hooks=False):
        r = json.loads(self.gw.plugins.dispatch(name, dict(args or {}),
                                                bypass_hooks))
        self.tool_results.append((name, r))
        return r

    def progress(self, text):
        """A tool-progress note, as Hermes sends them (no reply_to)."""
        adapter = self.gw.adapters.get(
            getattr(self.event.source.platform, "value", ""))
        fut = asyncio.run_coroutine_threadsafe(
            adapter.send(self.event.source.chat_id, text), self.gw.loop)
        return fut.result(10)


class Gateway:
    """Runs on its own thread with its own event loop."""

    def __init__(self, plugins, agent, busy_notice=True,
                 reconnect_delay=0.5):
        self.plugins = plugins
        self.agent = agent
        self.busy_notice = busy_notice
        self.reconnect_delay = reconnect_delay
        self.adapters = {}
        self.seen = []             # every MessageEvent the agent got
        self.replaced = 0          # adapters rebuilt after a fatal error
        self.reconnect_gate = None  # a threading.Event holding it back
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever,
                                        daemon=True)
        self._thread.start()

    def run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(
            timeout)

    def start(self, name, extra=None):
        return self.run(self._start(name, extra or {}))

    async def _start(self, name, extra):
        entry = self.plugins.platforms[name]
        adapter = entry["adapter_factory"](PlatformConfig(extra=extra))
        adapter.set_message_handler(
            lambda ev, a=adapter: self._handle(a, ev))
        if self.busy_notice:
            adapter.set_busy_session_handler(
                lambda ev, key, a=adapter: self._busy(a, ev, key))
        adapter.set_fatal_error_handler(
            lambda a, n=name, x=extra: self._fatal(a, n, x))
        ok = await adapter.connect()
        self.adapters[name] = adapter
        return ok

    async def _busy(self, adapter, event, key):
        await adapter.send(event.source.chat_id, BUSY_NOTICE,
                           reply_to=event.message_id)
        return False           # and go on: interrupt the running turn

    async def _fatal(self, adapter, name, extra):
        """The reconnect watcher: drop the adapter, build a new one."""
        if not adapter.fatal_error_retryable:
            return
        try:
            await adapter.disconnect()
        except Exception:
            pass
        self.adapters.pop(name, None)
        asyncio.ensure_future(self._reconnect(name, extra))

    async def _reconnect(self, name, extra):
        if self.reconnect_gate is not None:
            await self.loop.run_in_executor(None, self.reconnect_gate.wait)
        while True:
            await asyncio.sleep(self.reconnect_delay)
            entry = self.plugins.platforms[name]
            adapter = entry["adapter_factory"](PlatformConfig(extra=extra))
            adapter.set_message_handler(
                lambda ev, a=adapter: self._handle(a, ev))
            adapter.set_busy_session_handler(
                lambda ev, key, a=adapter: self._busy(a, ev, key))
            adapter.set_fatal_error_handler(
                lambda a, n=name, x=extra: self._fatal(a, n, x))
            try:
                ok = await adapter.connect(is_reconnect=True)
            except TypeError:
                ok = await adapter.connect()
            if ok:
                self.adapters[name] = adapter
                self.replaced += 1
                return

    async def _handle(self, adapter, event):
        self.seen.append(event)
        src = event.source
        key = build_session_key(src)
        interrupt = adapter._active_sessions.get(key) or asyncio.Event()
        turn = Turn(self, event, interrupt)

        def work():
            set_session_vars(
                platform=getattr(src.platform, "value", ""),
                chat_id=src.chat_id, chat_name=src.chat_name or "",
                user_id=src.user_id or "", user_name=src.user_name or "",
                session_key=key)
            return self.agent(turn)
        ctx = contextvars.copy_context()
        return await self.loop.run_in_executor(None, ctx.run, work)

    def stop(self):
        async def down():
            for a in list(self.adapters.values()):
                await a.disconnect()
        try:
            self.run(down(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


def platform(name):
    return Platform(name)
