"""Settings from the environment.

AGENTLINE_URL          agentline's control API (default http://127.0.0.1:8996)
AGENTLINE_TOKEN        the control token, or
AGENTLINE_TOKEN_FILE   a file holding it (agentline's data_dir/control_token)
AGENTLINE_CA_FILE      PEM file to trust for https:// (agentline's
                       control_tls_cert when it is self-signed)
AGENTLINE_TAKEOVER     which calls Hermes answers: inbound (default), all, none
AGENTLINE_OPERATOR_CALLS  1 (default): place_call from a session that is not
                       a call dials with the token's authority; 0 refuses it
"""

import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class ConfigError(ValueError):
    pass


@dataclass
class Settings:
    url: str
    token: str
    takeover: str = "inbound"
    operator_calls: bool = True
    ca_file: str = ""

    def ssl_context(self):
        """None for http://; for https:// the system CAs, or ca_file."""
        if not self.url.startswith("https:"):
            return None
        if self.ca_file:
            return ssl.create_default_context(cafile=self.ca_file)
        return ssl.create_default_context()

    @property
    def ws_url(self):
        u = urlsplit(self.url)
        scheme = "wss" if u.scheme == "https" else "ws"
        return urlunsplit((scheme, u.netloc, u.path.rstrip("/") +
                           "/api/agent/ws", "", ""))


def load(env=None, extra=None):
    """Settings from env (os.environ) and a platform config's extra dict
    (which wins)."""
    env = os.environ if env is None else env
    extra = extra or {}
    url = (extra.get("url") or env.get("AGENTLINE_URL") or
           "http://127.0.0.1:8996").rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError("AGENTLINE_URL must be http:// or https://")
    token = extra.get("token") or env.get("AGENTLINE_TOKEN") or ""
    tfile = extra.get("token_file") or env.get("AGENTLINE_TOKEN_FILE")
    if not token and tfile:
        try:
            with open(os.path.expanduser(tfile), encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as e:
            raise ConfigError("cannot read AGENTLINE_TOKEN_FILE: %s"
                              % e.strerror) from None
    if not token:
        raise ConfigError("set AGENTLINE_TOKEN or AGENTLINE_TOKEN_FILE")
    takeover = (extra.get("takeover") or env.get("AGENTLINE_TAKEOVER") or
                "inbound").strip().lower()
    if takeover not in ("inbound", "all", "none"):
        raise ConfigError("AGENTLINE_TAKEOVER must be inbound, all or none")
    op = str(extra.get("operator_calls",
                       env.get("AGENTLINE_OPERATOR_CALLS", "1"))).strip()
    ca = extra.get("ca_file") or env.get("AGENTLINE_CA_FILE") or ""
    if ca and not os.path.isfile(os.path.expanduser(ca)):
        raise ConfigError("AGENTLINE_CA_FILE is not a file")
    return Settings(url=url, token=token, takeover=takeover,
                    operator_calls=op.lower() not in ("0", "no", "false",
                                                      "off"),
                    ca_file=os.path.expanduser(ca) if ca else "")


def available(env=None):
    """check_fn: configured enough to try (never raises)."""
    try:
        load(env)
        return True
    except ConfigError:
        return False
