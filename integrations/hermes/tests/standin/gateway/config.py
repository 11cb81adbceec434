"""Stand-in: Platform and PlatformConfig (gateway/config.py)."""
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Platform(Enum):
    LOCAL = "local"
    TELEGRAM = "telegram"
    DISCORD = "discord"

    @classmethod
    def _missing_(cls, value):
        # plugin platforms get a pseudo-member, as Hermes does for
        # registry-provided platforms
        if isinstance(value, str) and value.islower():
            obj = object.__new__(cls)
            obj._name_ = value.upper()
            obj._value_ = value
            cls._value2member_map_[value] = obj
            return obj
        return None


@dataclass
class PlatformConfig:
    enabled: bool = True
    token: Any = None
    api_key: Any = None
    home_channel: Any = None
    extra: dict = field(default_factory=dict)
