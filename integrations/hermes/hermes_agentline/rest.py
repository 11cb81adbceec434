"""agentline's REST API over urllib (blocking: tools run in Hermes' worker
threads)."""

import json
import ssl
import urllib.error
import urllib.request
from urllib.parse import quote


class RestError(Exception):
    def __init__(self, status, body):
        super().__init__("agentline answered %s" % status)
        self.status = status
        self.body = body


class Rest:
    def __init__(self, url, token, timeout=15.0, ssl_context=None):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.ssl_context = ssl_context

    def request(self, method, path, body=None):
        """(status, parsed JSON body or {}); a refused request is an answer,
        not an exception.  Raises RestError(0, ..) when nobody answers."""
        data = None
        headers = {"Authorization": "Bearer " + self.token,
                   "Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method, headers=headers)
        ctx = self.ssl_context
        if ctx is None and self.url.startswith("https:"):
            ctx = ssl.create_default_context()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout,
                                        context=ctx) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            raise RestError(0, {"error": {
                "code": "unreachable",
                "message": "agentline is not reachable: %s" %
                getattr(e, "reason", e)}}) from None
        try:
            parsed = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            parsed = {"raw": raw.decode("utf-8", "replace")[:200]}
        return status, parsed

    def tool(self, call_id, name, args):
        return self.request("POST", "/api/calls/%s/tools/%s" % (
            quote(call_id, safe=""), quote(name, safe="")), args or {})

    def place_call(self, number, objective=None):
        body = {"number": number}
        if objective:
            body["objective"] = objective
        return self.request("POST", "/api/calls", body)

    def call(self, call_id):
        return self.request("GET", "/api/calls/%s" % quote(call_id, safe=""))
