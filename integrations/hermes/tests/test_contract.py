"""The plugin against the real Hermes, when it is installed (skipped
otherwise, saying why): the classes and signatures it relies on."""
import inspect
import os
import unittest

import _env


@unittest.skipUnless(_env.REAL_HERMES, "Hermes is not installed here "
                     "(%s); the stand-in tests cover the plugin" %
                     (_env.WHY_NOT or "gateway not importable"))
class RealHermes(unittest.TestCase):
    def test_adapter_contract(self):
        from gateway.config import PlatformConfig
        from gateway.platforms.base import (BasePlatformAdapter,
                                            MessageEvent, MessageType,
                                            SendResult)
        from hermes_agentline.adapter import VoipAdapter, platform_value
        self.assertTrue(issubclass(VoipAdapter, BasePlatformAdapter))
        self.assertIn("VOICE", MessageType.__members__)
        fields = inspect.signature(MessageEvent).parameters
        for f in ("text", "message_type", "source", "message_id",
                  "internal", "raw_message"):
            self.assertIn(f, fields)
        sr = inspect.signature(SendResult).parameters
        for f in ("success", "message_id", "error", "retryable"):
            self.assertIn(f, sr)
        base_send = inspect.signature(BasePlatformAdapter.send).parameters
        self.assertEqual(list(base_send)[:5],
                         ["self", "chat_id", "content", "reply_to",
                          "metadata"])
        bs = inspect.signature(BasePlatformAdapter.build_source).parameters
        for f in ("chat_id", "chat_name", "chat_type", "user_id",
                  "user_name"):
            self.assertIn(f, bs)
        os.environ.setdefault("AGENTLINE_TOKEN", "contract-test-token")
        a = VoipAdapter(PlatformConfig(extra={}), platform_value())
        src = a.build_source(chat_id="c1", chat_type="dm", user_id="u")
        ev = MessageEvent(text="hi", message_type=MessageType.VOICE,
                          source=src, message_id="1")
        self.assertEqual(ev.source.chat_id, "c1")

    def test_plugin_context_contract(self):
        from hermes_cli import plugins
        ctx = plugins.PluginContext
        for meth, args in (("register_platform",
                            ("name", "label", "adapter_factory",
                             "check_fn")),
                           ("register_tool",
                            ("name", "toolset", "schema", "handler")),
                           ("register_hook", ())):
            params = inspect.signature(getattr(ctx, meth)).parameters
            for a in args:
                self.assertIn(a, params)
        self.assertIn("pre_tool_call", plugins.VALID_HOOKS)
        from gateway.session_context import get_session_env
        self.assertTrue(callable(get_session_env))


if __name__ == "__main__":
    unittest.main()
