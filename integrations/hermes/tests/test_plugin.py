"""The plugin against the Hermes stand-in (or Hermes itself when it is
installed) and a fake agentline speaking the agent protocol and REST."""
import json
import os
import tempfile
import threading
import time
import unittest
from unittest import mock

import _env  # noqa: F401  (sys.path: package + Hermes or the stand-in)
from fake_agentline import FakeAgentline
from hermes_standin import Gateway, PluginManager

import hermes_agentline
from hermes_agentline import config
from hermes_agentline.line import LINE

from gateway.session_context import set_session_vars

CALL = {"id": "c1", "direction": "inbound", "state": "answered",
        "group": "", "caller": "…42", "taken_over": False}


def wait_until(pred, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


class Base(unittest.TestCase):
    calls = [CALL]

    def setUp(self):
        self.fake = FakeAgentline(calls=[dict(c) for c in self.calls])
        env = {"AGENTLINE_URL": self.fake.url,
               "AGENTLINE_TOKEN": self.fake.token}
        self._env = mock.patch.dict(os.environ, env)
        self._env.start()
        with LINE.lock:
            LINE.calls.clear()
            LINE.tickets.clear()
            LINE.placed.clear()
            LINE.internal_ids.clear()
            LINE.early.clear()
            LINE.adapter = None
        self.plugins = PluginManager()
        self.plugins.load("hermes_agentline")
        self.agent_fn = lambda turn: "Hello from Hermes."
        self.gw = Gateway(self.plugins, lambda turn: self.agent_fn(turn))
        self.assertTrue(self.gw.start("voip"))

    def tearDown(self):
        self.gw.stop()
        self.fake.close()
        self._env.stop()

    def turn(self, rid, text, sid="c1", kind="speech"):
        self.fake.push({"type": "turn.request", "session_id": sid,
                        "request_id": rid, "turn": rid, "kind": kind,
                        "transcript": text, "ts": 1})

    def adapter(self):
        return self.gw.adapters["voip"]


class Registration(unittest.TestCase):
    def test_registers_platform_tools_hook(self):
        pm = PluginManager()
        pm.load("hermes_agentline")
        self.assertEqual(list(pm.platforms), ["voip"])
        self.assertEqual(sorted(pm.tools),
                         sorted(hermes_agentline.TOOL_NAMES))
        self.assertEqual(len(pm.tools), 9)
        self.assertIn("pre_tool_call", pm.hooks)
        for name, t in pm.tools.items():
            self.assertEqual(t["schema"]["name"], name)
            self.assertEqual(t["schema"]["parameters"]["type"], "object")
        with open(os.path.join(os.path.dirname(hermes_agentline.__file__),
                               "plugin.yaml"), encoding="utf-8") as f:
            ytext = f.read()
        for name in hermes_agentline.TOOL_NAMES:
            self.assertIn("  - %s\n" % name, ytext)
        self.assertTrue(ytext.startswith("name: agentline\n"))

    def test_entry_point_names_the_module(self):
        import tomllib
        root = os.path.dirname(os.path.dirname(hermes_agentline.__file__))
        with open(os.path.join(root, "pyproject.toml"), "rb") as f:
            pp = tomllib.load(f)
        eps = pp["project"]["entry-points"]["hermes_agent.plugins"]
        self.assertEqual(eps, {"agentline": "hermes_agentline"})
        self.assertEqual(pp["project"]["requires-python"], ">=3.11")
        self.assertEqual(pp["project"]["dependencies"], [])
        self.assertIn("plugin.yaml",
                      pp["tool"]["setuptools"]["package-data"]
                      ["hermes_agentline"])

    def test_standard_library_only(self):
        import ast
        import sys
        pkg = os.path.dirname(hermes_agentline.__file__)
        for fn in sorted(os.listdir(pkg)):
            if not fn.endswith(".py"):
                continue
            with open(os.path.join(pkg, fn), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module]
                for n in names:
                    top = n.split(".")[0]
                    self.assertTrue(top in sys.stdlib_module_names or
                                    top == "gateway",
                                    "%s imports %s" % (fn, n))

    def test_adapter_declares_no_editing(self):
        from hermes_agentline.adapter import VoipAdapter
        self.assertFalse(VoipAdapter.SUPPORTS_MESSAGE_EDITING)


class Config(unittest.TestCase):
    def test_token_file_and_errors(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("  file-token-0123456789\n")
        try:
            s = config.load({"AGENTLINE_URL": "https://pbx.example:8996/",
                             "AGENTLINE_TOKEN_FILE": f.name})
        finally:
            os.unlink(f.name)
        self.assertEqual(s.token, "file-token-0123456789")
        self.assertEqual(s.ws_url, "wss://pbx.example:8996/api/agent/ws")
        self.assertEqual(s.takeover, "inbound")
        with self.assertRaises(config.ConfigError):
            config.load({"AGENTLINE_URL": "http://x"})
        with self.assertRaises(config.ConfigError):
            config.load({"AGENTLINE_TOKEN": "t", "AGENTLINE_URL": "ftp://x"})
        with self.assertRaises(config.ConfigError):
            config.load({"AGENTLINE_TOKEN": "t",
                         "AGENTLINE_TOKEN_FILE": "/nonexistent"} and
                        {"AGENTLINE_TOKEN_FILE": "/nonexistent/x"})
        self.assertFalse(config.available({}))
        s = config.load({"AGENTLINE_TOKEN": "t", "AGENTLINE_TAKEOVER": "ALL",
                         "AGENTLINE_OPERATOR_CALLS": "0"})
        self.assertEqual((s.takeover, s.operator_calls), ("all", False))
        self.assertIsNone(s.ssl_context())
        with self.assertRaises(config.ConfigError):
            config.load({"AGENTLINE_TOKEN": "t",
                         "AGENTLINE_CA_FILE": "/nonexistent/ca.pem"})


class Turns(Base):
    def test_takeover_on_connect_and_reply(self):
        seen = {}

        def agent(turn):
            from gateway.session_context import get_session_env
            seen["chat"] = get_session_env("HERMES_SESSION_CHAT_ID")
            seen["platform"] = get_session_env("HERMES_SESSION_PLATFORM")
            return "Yes, **loud** and clear."
        self.agent_fn = agent
        m = self.fake.wait(lambda m: m.get("type") == "takeover")
        self.assertEqual(m and m["session_id"], "c1")
        self.turn(5, "hello can you hear me")
        r = self.fake.wait(lambda m: m.get("request_id") == 5)
        self.assertEqual(r, {"request_id": 5,
                             "reply": "Yes, loud and clear."})
        ev = self.gw.seen[0]
        self.assertEqual(ev.message_type.value, "voice")
        self.assertEqual(ev.message_id, "5")
        self.assertEqual(ev.source.chat_id, "c1")
        self.assertEqual(ev.source.chat_type, "dm")
        self.assertEqual(ev.text, "hello can you hear me")
        self.assertEqual(seen, {"chat": "c1", "platform": "voip"})

    def test_dtmf_turn_and_long_transcript(self):
        self.turn(3, "12#", kind="dtmf")
        self.assertTrue(self.fake.wait(lambda m: m.get("request_id") == 3))
        self.assertIn("12#", self.gw.seen[0].text)
        big = "word " * 20000          # over 64 KiB: 64-bit frame length
        self.turn(4, big)
        self.assertTrue(self.fake.wait(lambda m: m.get("request_id") == 4))
        self.assertEqual(self.gw.seen[1].text, big)

    def test_progress_notes_and_busy_notices_not_spoken(self):
        def agent(turn):
            turn.progress("💻 terminal: ls -la")
            turn.progress("Let me look that up for you.")
            return "It is sunny."
        self.agent_fn = agent
        self.turn(1, "what is the weather")
        self.assertTrue(self.fake.wait(lambda m: m.get("request_id") == 1))
        time.sleep(0.3)
        self.assertEqual(self.fake.replies(),
                         [{"request_id": 1, "reply": "It is sunny."}])
        self.assertEqual(self.fake.of_type("say"), [])

    def test_interrupt_newer_turn_wins(self):
        started = threading.Event()

        def agent(turn):
            if turn.event.message_id == "7":
                started.set()
                wait_until(lambda: turn.interrupted, 5)
                return "Old answer."
            return "New answer."
        self.agent_fn = agent
        self.turn(7, "first question")
        self.assertTrue(started.wait(5))
        self.fake.push({"type": "turn.superseded", "session_id": "c1",
                        "request_id": 7, "by": 8})
        self.turn(8, "actually second question")
        self.assertTrue(self.fake.wait(lambda m: m.get("request_id") == 8))
        time.sleep(0.3)
        self.assertEqual(self.fake.replies(),
                         [{"request_id": 8, "reply": "New answer."}])
        # Hermes' busy notice was sent to the adapter, and not spoken
        self.assertEqual(self.fake.of_type("say"), [])

    def test_late_reply_after_timeout_dropped(self):
        go = threading.Event()
        self.agent_fn = lambda turn: (go.wait(5), "Too late.")[1]
        self.turn(9, "hello")
        self.fake.push({"type": "turn.timeout", "session_id": "c1",
                        "request_id": 9})
        time.sleep(0.2)
        go.set()
        time.sleep(0.5)
        self.assertEqual(self.fake.replies(), [])
        self.assertEqual(self.fake.of_type("say"), [])

    def test_reply_for_ended_call_dropped(self):
        go = threading.Event()
        self.agent_fn = lambda turn: (go.wait(5), "Goodbye.")[1]
        self.turn(10, "bye")
        self.fake.push({"type": "call.ended", "session_id": "c1",
                        "call": CALL, "reason": "remote_bye"})
        self.assertTrue(wait_until(lambda: "c1" not in LINE.calls))
        go.set()
        time.sleep(0.5)
        self.assertEqual(self.fake.replies(), [])
        r = self.gw.run(self.adapter().send("c1", "Anyone there?"))
        self.assertTrue(r.success)
        self.assertEqual(self.fake.of_type("say"), [])

    def test_unanswered_turn_ends_silently(self):
        self.agent_fn = lambda turn: None
        self.turn(12, "hmm")
        r = self.fake.wait(lambda m: m.get("request_id") == 12)
        self.assertEqual(r, {"request_id": 12, "reply": None})
        self.assertEqual(self.fake.of_type("say"), [])

    def test_unprompted_text_is_said(self):
        r = self.gw.run(self.adapter().send("c1", "Your taxi is here."))
        self.assertTrue(r.success)
        m = self.fake.wait(lambda m: m.get("type") == "say")
        self.assertEqual((m["session_id"], m["text"]),
                         ("c1", "Your taxi is here."))

    def test_new_inbound_calls_taken_over_outbound_not(self):
        self.fake.push({"type": "call.ringing", "session_id": "c2",
                        "call": {"direction": "inbound"}})
        self.assertTrue(self.fake.wait(
            lambda m: m.get("type") == "takeover" and
            m.get("session_id") == "c2"))
        self.fake.push({"type": "call.answered", "session_id": "c3",
                        "call": {"direction": "outbound"}})
        time.sleep(0.3)
        self.assertFalse([m for m in self.fake.of_type("takeover")
                          if m["session_id"] == "c3"])

    def test_dropped_socket_reconnects_and_takes_over_again(self):
        self.assertTrue(self.fake.wait(lambda m: m.get("type") ==
                                       "takeover"))
        self.fake.drop()
        self.assertTrue(wait_until(lambda: self.fake.connects >= 2, 10))
        self.assertTrue(wait_until(
            lambda: len(self.fake.of_type("takeover")) >= 2, 5))
        self.assertTrue(wait_until(lambda: self.gw.replaced == 1))  # Hermes
        self.turn(11, "are you back")
        self.assertTrue(self.fake.wait(lambda m: m.get("request_id") == 11))


class SelfReconnect(unittest.TestCase):
    def test_without_a_hermes_handler_the_adapter_retries_itself(self):
        from gateway.config import PlatformConfig
        from hermes_agentline.adapter import VoipAdapter
        fake = FakeAgentline(calls=[dict(CALL)])
        gw = Gateway(PluginManager(), lambda turn: None)   # its loop only
        try:
            a = VoipAdapter(PlatformConfig(extra={"url": fake.url,
                                                  "token": fake.token}))

            async def nothing(event):
                return None
            a.set_message_handler(nothing)
            self.assertTrue(gw.run(a.connect()))
            self.assertTrue(fake.wait(lambda m: m.get("type") ==
                                      "takeover"))
            fake.drop()
            self.assertTrue(wait_until(lambda: fake.connects >= 2, 10))
            self.assertTrue(wait_until(
                lambda: len(fake.of_type("takeover")) >= 2, 5))
            self.assertIs(LINE.adapter, a)
            gw.run(a.disconnect())
        finally:
            gw.stop()
            fake.close()


class Tools(Base):
    calls = [dict(CALL, privilege=0)]

    def rest(self, answers):
        def h(method, path, body):
            return answers.get((method, path), (404, {"error": {
                "code": "not_found", "message": "no such path"}}))
        self.fake.rest = h

    def test_tool_on_the_call_goes_to_the_gate_endpoint(self):
        self.rest({("POST", "/api/calls/c1/tools/hang_up"):
                   (202, {"tool": "hang_up", "pending": True,
                          "ticket": 3})})
        out = {}

        def agent(turn):
            out["r"] = turn.tool("hang_up", {"reason": "done",
                                             "call_id": "other"})
            return None
        self.agent_fn = agent
        self.turn(1, "goodbye")
        self.assertTrue(wait_until(lambda: "r" in out))
        self.assertEqual(self.fake.requests,
                         [("POST", "/api/calls/c1/tools/hang_up",
                           {"reason": "done"})])
        self.assertEqual(out["r"]["status"], "pending")

    def test_hook_blocks_and_agentline_refuses_when_bypassed(self):
        self.rest({("POST", "/api/calls/c1/tools/transfer_blind"):
                   (403, {"error": {"code": "tool_denied",
                                    "category": "privilege",
                                    "message": "refused"}})})
        out = {}

        def agent(turn):
            out["hooked"] = turn.tool("transfer_blind", {"target": "200"})
            out["bypass"] = turn.tool("transfer_blind", {"target": "200"},
                                      bypass_hooks=True)
            return None
        self.agent_fn = agent
        self.turn(1, "put me through")
        self.assertTrue(wait_until(lambda: "bypass" in out))
        self.assertIn("not allowed", out["hooked"]["error"])
        self.assertEqual(self.plugins.blocked, ["transfer_blind"])
        self.assertTrue(out["bypass"]["refused"])
        self.assertIn("privilege", out["bypass"]["error"])
        self.assertEqual(len(self.fake.requests), 1)

    def test_place_call_outcome_returns_to_the_call_session(self):
        self.rest({("POST", "/api/calls/c1/tools/place_call"):
                   (202, {"tool": "place_call", "pending": True,
                          "ticket": 4})})
        self.assertTrue(wait_until(lambda: "c1" in LINE.calls))
        LINE.calls["c1"].privilege = 3

        def agent(turn):
            if turn.event.internal:
                return "Good news: the table is booked."
            r = turn.tool("place_call", {"number": "sip:r@x",
                                         "objective": "book"})
            return "Dialing now." if r.get("status") == "dialing" else "No."
        self.agent_fn = agent
        self.turn(1, "book me a table")
        self.assertTrue(self.fake.wait(
            lambda m: m.get("reply") == "Dialing now."))
        self.fake.push({"type": "event", "data": {
            "event": "tool_result", "call": "c1", "ticket": 4,
            "tool": "place_call", "ok": True,
            "result": {"outcome": "answered", "sip_code": 200,
                       "result": "booked", "summary": "table for 2"}}})
        m = self.fake.wait(lambda m: m.get("type") == "say")
        self.assertEqual(m and m["text"], "Good news: the table is booked.")
        note = self.gw.seen[-1]
        self.assertTrue(note.internal)
        self.assertIn("answered", note.text)
        self.assertIn("table for 2", note.text)

    def test_place_call_from_another_platform_uses_the_operator_path(self):
        self.rest({("POST", "/api/calls"): (201, {"id": "o9"})})
        set_session_vars(platform="telegram", chat_id="t1",
                         session_key="agent:main:telegram:dm:t1")
        r = json.loads(self.plugins.dispatch(
            "place_call", {"number": "+4930123", "objective": "ask"}))
        self.assertEqual((r["status"], r["call_id"]), ("dialing", "o9"))
        self.assertEqual(self.fake.requests[-1],
                         ("POST", "/api/calls",
                          {"number": "+4930123", "objective": "ask"}))
        self.fake.push({"type": "call.dialing", "session_id": "o9",
                        "call": {"direction": "outbound"}})
        self.fake.push({"type": "event", "data": {
            "event": "call_outcome", "call": "o9", "outcome": "busy",
            "sip_code": 486}})
        self.fake.push({"type": "call.ended", "session_id": "o9",
                        "call": {"direction": "outbound"},
                        "reason": "busy"})
        self.assertTrue(wait_until(lambda: self.plugins.injected))
        key, text = self.plugins.injected[0]
        self.assertEqual(key, "agent:main:telegram:dm:t1")
        self.assertIn("busy", text)
        self.assertIn("486", text)

    def test_tool_outside_a_call_needs_a_call_id(self):
        set_session_vars(platform="telegram", chat_id="t1")
        r = json.loads(self.plugins.dispatch("send_dtmf", {"digits": "1"}))
        self.assertIn("call_id", r["error"])
        self.assertEqual(self.fake.requests, [])


if __name__ == "__main__":
    unittest.main()
