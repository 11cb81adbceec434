"""Test set-up: the package from this checkout, and Hermes itself when it
is installed, else the stand-in in standin/."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

REAL_HERMES = False
WHY_NOT = ""
if os.environ.get("HERMES_AGENTLINE_FORCE_STANDIN") != "1":
    try:
        import gateway.platforms.base  # noqa: F401
        import gateway.session_context  # noqa: F401
        REAL_HERMES = not getattr(sys.modules["gateway"], "STANDIN", False)
    except Exception as e:        # not installed (or broken): stand-in
        WHY_NOT = "%s: %s" % (type(e).__name__, e)
        for m in [m for m in sys.modules if m == "gateway" or
                  m.startswith("gateway.")]:
            del sys.modules[m]
else:
    WHY_NOT = "HERMES_AGENTLINE_FORCE_STANDIN=1"
if not REAL_HERMES:
    sys.path.insert(0, os.path.join(HERE, "standin"))
