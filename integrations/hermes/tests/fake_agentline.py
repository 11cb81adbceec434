"""A fake agentline control API for the unit tests: one port serving the
agent WebSocket (/api/agent/ws: welcome, then whatever the test pushes)
and REST (answers from a test-supplied function).  It records every
message the plugin sends and every REST request."""
import asyncio
import base64
import hashlib
import json
import struct
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class FakeAgentline:
    def __init__(self, token="fake-token-0123456789", calls=None):
        self.token = token
        self.calls = list(calls or [])       # the welcome's live calls
        self.received = []                   # JSON the plugin sent
        self.requests = []                   # (method, path, body)
        self.connects = 0
        self.rest = lambda method, path, body: (404, {"error": {
            "code": "not_found", "message": "no such path"}})
        self._clients = set()
        self._cv = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self._t = threading.Thread(target=self.loop.run_forever,
                                   daemon=True)
        self._t.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._conn, "127.0.0.1", 0),
            self.loop).result(5)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port

    # ---- test side -------------------------------------------------
    def push(self, msg):
        async def go():
            for w in list(self._clients):
                self._send(w, json.dumps(msg))
        asyncio.run_coroutine_threadsafe(go(), self.loop).result(5)

    def drop(self):
        """Abort every agent socket (a dropped connection)."""
        async def go():
            for w in list(self._clients):
                w.transport.abort()
            self._clients.clear()
        asyncio.run_coroutine_threadsafe(go(), self.loop).result(5)

    def clients(self):
        return len(self._clients)

    def wait(self, pred, timeout=5.0):
        end = time.time() + timeout
        with self._cv:
            while True:
                for m in self.received:
                    if pred(m):
                        return m
                left = end - time.time()
                if left <= 0:
                    return None
                self._cv.wait(left)

    def of_type(self, t):
        with self._cv:
            return [m for m in self.received if m.get("type") == t]

    def replies(self):
        with self._cv:
            return [m for m in self.received if "request_id" in m and
                    m.get("type") in (None, "reply")]

    def close(self):
        self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._t.join(5)

    # ---- server side -----------------------------------------------
    def _send(self, w, text):
        data = text.encode()
        n = len(data)
        if n < 126:
            head = bytes([0x81, n])
        elif n < 65536:
            head = bytes([0x81, 126]) + struct.pack("!H", n)
        else:
            head = bytes([0x81, 127]) + struct.pack("!Q", n)
        w.write(head + data)

    async def _conn(self, r, w):
        try:
            head = await r.readuntil(b"\r\n\r\n")
        except Exception:
            w.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split()[:2]
        hdrs = {}
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if sep:
                hdrs[k.strip().lower()] = v.strip()
        if hdrs.get("authorization") != "Bearer " + self.token:
            w.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n")
            await w.drain()
            w.close()
            return
        if hdrs.get("upgrade", "").lower() == "websocket":
            await self._ws(r, w, hdrs)
            return
        body = None
        n = int(hdrs.get("content-length", "0"))
        if n:
            body = json.loads((await r.readexactly(n)).decode())
        with self._cv:
            self.requests.append((method, path, body))
            self._cv.notify_all()
        status, out = self.rest(method, path, body)
        data = json.dumps(out).encode()
        w.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                % (status, len(data)) + data)
        await w.drain()
        w.close()

    async def _ws(self, r, w, hdrs):
        acc = base64.b64encode(hashlib.sha1(
            (hdrs["sec-websocket-key"] + GUID).encode()).digest())
        w.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                b"\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acc +
                b"\r\n\r\n")
        self._clients.add(w)
        self.connects += 1
        self._send(w, json.dumps({"type": "welcome",
                                  "protocol": "agentline-agent/1",
                                  "calls": self.calls}))
        try:
            while True:
                b0, b1 = await r.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await r.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await r.readexactly(8))[0]
                mask = await r.readexactly(4)
                data = bytes(b ^ mask[i & 3] for i, b in
                             enumerate(await r.readexactly(n)))
                op = b0 & 0x0F
                if op == 8:
                    break
                if op != 1:
                    continue
                m = json.loads(data.decode())
                with self._cv:
                    self.received.append(m)
                    self._cv.notify_all()
                t = m.get("type")
                if t in ("takeover", "say", "inject", "release"):
                    self._send(w, json.dumps({
                        "type": t + ".ack", "ok": True, "id": m.get("id"),
                        "session_id": m.get("session_id")}))
        except Exception:
            pass
        finally:
            self._clients.discard(w)
            w.close()
