"""hermes_agentline: a Hermes plugin that puts a Hermes agent on the phone
through agentline (platform `voip`, nine call tools)."""

__version__ = "0.1.0"

PLATFORM = "voip"
TOOL_NAMES = ("place_call", "send_dtmf", "hang_up", "hold_call",
              "resume_call", "transfer_blind", "transfer_attended",
              "open_entry", "report_call_result")


def _check():
    """Passive probe: configured, and the gateway importable."""
    from . import config
    try:
        import gateway.platforms.base  # noqa: F401
    except ImportError:
        return False
    return config.available()


def register(ctx):
    """Hermes calls this once the plugin is enabled."""
    from . import tools
    from .line import LINE

    LINE.plugin_ctx = ctx

    def factory(config):
        from .adapter import VoipAdapter
        return VoipAdapter(config)

    ctx.register_platform(
        name=PLATFORM, label="Phone (agentline)", adapter_factory=factory,
        check_fn=_check, required_env=["AGENTLINE_URL"],
        install_hint="pip install ./integrations/hermes and set "
        "AGENTLINE_URL, AGENTLINE_TOKEN (or AGENTLINE_TOKEN_FILE)")
    for name in TOOL_NAMES:
        ctx.register_tool(name=name, toolset=tools.TOOLSET,
                          schema=tools.SCHEMAS[name],
                          handler=tools.make_handler(name),
                          description=tools.SCHEMAS[name]["description"])
    ctx.register_hook("pre_tool_call", tools.pre_tool_call)
