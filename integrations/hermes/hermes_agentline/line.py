"""State shared by the platform adapter (on Hermes' event loop) and the
tools (in Hermes' worker threads): the live calls as agentline describes
them, the open turn of each, and where the outcome of a call Hermes placed
must go.  One per process; it outlives an adapter that Hermes replaces
after a dropped connection.
"""

import itertools
import threading
from dataclasses import dataclass, field

# the trust tiers of agentline's tools (docs/tools.md)
TIERS = {"hang_up": 0, "report_call_result": 0, "send_dtmf": 2,
         "hold_call": 2, "resume_call": 2, "open_entry": 2,
         "place_call": 3, "transfer_blind": 3, "transfer_attended": 3}


@dataclass
class Call:
    id: str
    direction: str = ""
    state: str = ""
    group: str = ""
    privilege: int | None = None
    caller: str = ""
    taken_over: bool = False
    open_request: int | None = None   # the turn Hermes owes an answer
    answered: set = field(default_factory=set)   # requests we answered
    stale: set = field(default_factory=set)      # superseded / timed out

    def update(self, facts):
        if not isinstance(facts, dict):
            return
        for k in ("direction", "state", "group", "caller"):
            v = facts.get(k)
            if isinstance(v, str):
                setattr(self, k, v)
        p = facts.get("privilege")
        if isinstance(p, int) and not isinstance(p, bool):
            self.privilege = p
        if isinstance(facts.get("taken_over"), bool):
            self.taken_over = facts["taken_over"]


@dataclass
class Origin:
    """A Hermes session that asked for something whose result comes
    later."""
    platform: str
    chat_id: str
    session_key: str = ""
    user_id: str = ""
    what: str = ""


class Line:
    def __init__(self):
        self.lock = threading.RLock()
        self.calls = {}          # call id -> Call
        self.tickets = {}        # tool ticket -> Origin
        self.placed = {}         # call id placed by the operator path
        self.early = {}          # tool_result seen before its ticket
        self.internal_ids = set()
        self._seq = itertools.count(1)
        self.adapter = None      # the connected adapter, if any
        self.settings = None
        self.rest = None
        self.plugin_ctx = None

    def next_internal_id(self):
        with self.lock:
            mid = "agentline-note-%d" % next(self._seq)
            self.internal_ids.add(mid)
            return mid

    def call(self, cid, create=False):
        with self.lock:
            c = self.calls.get(cid)
            if c is None and create:
                c = self.calls[cid] = Call(cid)
            return c

    def privilege_of(self, cid):
        with self.lock:
            c = self.calls.get(cid)
            return c.privilege if c else None


LINE = Line()
